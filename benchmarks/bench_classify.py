"""Benchmark the headless classify path: scan + decode + resize + inference + CSV.

Runs the same core calls as ``hemoapp classify`` on temporary folders of N files (see
:mod:`reference`): copies of the 64 full-size analyser exports of
``../shared/datasets/pbc8-originals`` and links to the 224 px files of ``pbc8/train``,
with the model card's framing and, with ``--framing both``, cell-centred framing too.
Each end-to-end rate is printed beside the bare inference rate of the same model
measured in the same run (before and after; see :mod:`reference`) and as a ratio to it,
with wall time per phase and memory (peak RSS, plus RSS samples during the run, to show
that it stays flat as N grows)::

    python benchmarks/bench_classify.py                      # 2,000 files of each kind
    python benchmarks/bench_classify.py --count 10000 --inputs originals
    python benchmarks/bench_classify.py --framing both       # + cell-centred framing
    python benchmarks/bench_classify.py --profile 25         # cProfile of the main thread

A script, not a test: numbers depend on the machine and its load; the ratios compare.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import resource
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference  # noqa: E402
from reference import build_folder  # noqa: E402,F401 - re-exported for older callers

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


def run_once(folder: Path, classifier, batch_size: int, decode_workers: int | None, profile=None) -> dict:
    """Classify ``folder`` as ``hemoapp classify`` does; counts, phase times and RSS samples."""
    rss_start = current_rss_mb()
    if profile is not None:
        profile.enable()
    started = time.perf_counter()
    scan = scan_folder(folder)
    scanned = time.perf_counter()
    predictions = []
    samples: list[tuple[int, float | None]] = []
    next_sample = 0.0
    for batch in iter_predictions(scan.records, classifier, batch_size=batch_size, decode_workers=decode_workers):
        predictions.extend(batch.predictions)
        if batch.done / batch.total >= next_sample:
            samples.append((batch.done, current_rss_mb()))
            next_sample += 0.25
    classified = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hemolens-bench-csv-") as temporary:
        write_predictions_csv(Path(temporary) / "results.csv", predictions, classifier.info)
    finished = time.perf_counter()
    if profile is not None:
        profile.disable()
    return {
        "images": len(predictions), "errors": sum(1 for p in predictions if not p.ok),
        "seconds": finished - started, "scan_s": scanned - started, "classify_s": classified - scanned,
        "csv_s": finished - classified, "rss_start": rss_start, "samples": samples,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=2000, help="files of each kind (default 2000)")
    parser.add_argument("--inputs", default="originals,224",
                        help="comma-separated folder kinds: originals (full-size copies), 224 (pbc8/train)")
    parser.add_argument("--framing", choices=("card", "cell-centred", "both"), default="card",
                        help="the card's framing, cell-centred framing (a copy of the card), or both")
    parser.add_argument("--model", type=Path, default=None, help="model file (default: the installed model)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=None, help="inference threads (default: all cores)")
    parser.add_argument("--decode-workers", type=int, default=None)
    parser.add_argument("--source", type=Path, default=None, help="folder of images instead of the kind's own")
    parser.add_argument("--profile", type=int, metavar="N", help="print the main thread's N most costly functions")
    args = parser.parse_args(argv)

    try:
        classifier = Classifier(args.model, args.threads) if args.model else load_default_classifier(args.threads)
    except ModelLoadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"model: {classifier.info.name} {classifier.info.version} ({classifier.model_path}), "
          f"framing {classifier.framing}")
    print(f"threads: {classifier.num_threads}, batch size: {args.batch_size}, files: {args.count} of each kind")
    print(f"machine: {reference.conditions()}")
    framings = {"card": [classifier.framing], "cell-centred": ["cell-centred"],
                "both": list(dict.fromkeys([classifier.framing, "cell-centred"]))}[args.framing]
    ref = reference.Reference(classifier.model_path, classifier.num_threads)
    ref.measure("before")
    profile = cProfile.Profile() if args.profile else None
    results = []
    for kind in [k.strip() for k in args.inputs.split(",") if k.strip()]:
        with reference.bench_folder(kind, args.count, args.source) as folder:
            for framing in framings:
                with reference.framed_model(classifier.model_path, framing) as model_path:
                    framed = classifier if framing == classifier.framing else Classifier(model_path, args.threads)
                    result = run_once(folder, framed, args.batch_size, args.decode_workers, profile)
                rate = result["images"] / result["seconds"]
                results.append((kind, framing, rate))
                print(f"\n{kind}, {framing}: {result['images']} files ({result['errors']} errors) in "
                      f"{result['seconds']:.2f} s (scan {result['scan_s']:.2f} s, decode+inference "
                      f"{result['classify_s']:.2f} s, CSV {result['csv_s']:.2f} s)")
                print(f"  end to end: {ref.describe(rate)}", flush=True)
                if result["rss_start"] is not None:
                    trail = ", ".join(f"{done}: {rss:.0f}" for done, rss in result["samples"] if rss is not None)
                    print(f"  RSS MB before run: {result['rss_start']:.0f}; during run (files done: MB): {trail}")
    print()
    ref.measure("after")
    print(f"\n{ref.summary()}; machine: {reference.conditions()}")
    for kind, framing, rate in results:
        print(f"  {kind:9s} {framing:12s} {rate:6.0f} images/s  {ref.ratio(rate):.2f} of bare inference")
    print(f"peak RSS: {peak_rss_mb():.0f} MB")
    if profile is not None:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
