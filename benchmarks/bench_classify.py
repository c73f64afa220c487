"""Benchmark the headless classify path: scan + decode + resize + inference + CSV.

Builds a temporary folder of N files by linking (or copying) the 64 untouched
analyser JPEGs of ``../shared/datasets/pbc8-originals`` over and over, runs the
same core calls as ``hemoapp classify`` and prints throughput, wall time per
phase and memory (peak RSS, plus RSS samples during the run, to show that it
stays flat as N grows)::

    python benchmarks/bench_classify.py                      # 2,000 files, default model
    python benchmarks/bench_classify.py --count 10000        # memory stays flat
    python benchmarks/bench_classify.py --model path/to/m.tflite --threads 2

A script, not a test: numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from hemoapp.core.classifier import Classifier, ModelLoadError, load_default_classifier  # noqa: E402
from hemoapp.core.export import write_predictions_csv  # noqa: E402
from hemoapp.core.pipeline import iter_predictions  # noqa: E402
from hemoapp.core.scan import scan_folder  # noqa: E402

DEFAULT_SOURCE = REPO_ROOT.parent / "shared" / "datasets" / "pbc8-originals"


def current_rss_mb() -> float | None:
    """Resident memory now (Linux /proc), in MB; None elsewhere."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def peak_rss_mb() -> float:
    """Peak resident memory of this process, in MB (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1e6 if sys.platform == "darwin" else peak * 1024 / 1e6


def build_folder(source: Path, target: Path, count: int, copy: bool) -> None:
    """Fill ``target`` with ``count`` files cycling over the source JPEGs (1,000 per sub-folder)."""
    originals = sorted(source.glob("*/*.jpg"))
    if not originals:
        raise SystemExit(f"no JPEGs under {source}; pass --source")
    for index in range(count):
        original = originals[index % len(originals)]
        folder = target / f"part{index // 1000:03d}"
        if index % 1000 == 0:
            folder.mkdir(parents=True)
        destination = folder / f"{index:06d}_{original.name}"
        if copy:
            shutil.copyfile(original, destination)
        else:
            os.symlink(original, destination)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=2000, help="number of files (default 2000)")
    parser.add_argument("--model", type=Path, default=None, help="model file (default: the installed model)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=None, help="inference threads (default: all cores)")
    parser.add_argument("--decode-workers", type=int, default=None)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="folder of class folders of JPEGs")
    parser.add_argument("--copy", action="store_true", help="copy files instead of linking them")
    args = parser.parse_args(argv)

    try:
        classifier = Classifier(args.model, args.threads) if args.model else load_default_classifier(args.threads)
    except ModelLoadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"model: {classifier.info.name} {classifier.info.version} ({classifier.model_path})")
    print(f"threads: {classifier.num_threads}, batch size: {args.batch_size}, files: {args.count}")

    with tempfile.TemporaryDirectory(prefix="hemolens-bench-") as temporary:
        folder = Path(temporary) / "images"
        build_folder(args.source, folder, args.count, args.copy)
        rss_start = current_rss_mb()

        started = time.perf_counter()
        scan = scan_folder(folder)
        scanned = time.perf_counter()

        predictions = []
        samples: list[tuple[int, float | None]] = []
        next_sample = 0.0
        for batch in iter_predictions(
            scan.records, classifier, batch_size=args.batch_size, decode_workers=args.decode_workers
        ):
            predictions.extend(batch.predictions)
            if batch.done / batch.total >= next_sample:
                samples.append((batch.done, current_rss_mb()))
                next_sample += 0.25
        classified = time.perf_counter()

        write_predictions_csv(Path(temporary) / "results.csv", predictions, classifier.info)
        finished = time.perf_counter()

    errors = sum(1 for p in predictions if not p.ok)
    total = finished - started
    print(f"files classified: {len(predictions)} ({errors} errors)")
    print(
        f"wall time: {total:.2f} s (scan {scanned - started:.2f} s, decode+inference "
        f"{classified - scanned:.2f} s, CSV {finished - classified:.2f} s)"
    )
    print(f"throughput: {len(predictions) / total:.1f} images/s end to end")
    if rss_start is not None:
        trail = ", ".join(f"{done}: {rss:.0f}" for done, rss in samples if rss is not None)
        print(f"RSS MB before run: {rss_start:.0f}; during run (files done: MB): {trail}")
    print(f"peak RSS: {peak_rss_mb():.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
