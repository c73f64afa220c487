"""Where the CPU goes per image, and the end-to-end / bare-inference ratio the CPU allows at best.

Wall-clock rates on a shared 2-core machine swing by 2x between runs; CPU time per image
barely moves, because it counts only this process's work. On a machine whose cores are all
busy (inference uses every core), end to end can be at most ``bare CPU / end-to-end CPU``
of bare inference however well decoding overlaps inference: that is the *CPU ceiling*
printed here. Stages are timed with ``time.thread_time`` on one thread, so they add up
to what one image costs::

    python benchmarks/bench_cpu_budget.py                  # 2,000 full-size originals and 224 px files
    python benchmarks/bench_cpu_budget.py --count 500 --inputs originals

A script, not a test.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import reference  # noqa: E402
from bench_classify import run_once  # noqa: E402


def _process_cpu() -> float:
    times = os.times()
    return times.user + times.system


def stage_costs(paths: list[Path], size: int, framing: str) -> dict[str, float]:
    """Milliseconds of one thread's CPU per image for decoding and for the quality check."""
    from hemoapp.core.assessability import measure_quality
    from hemoapp.core.imageio import load_model_input

    start = time.thread_time()
    arrays = [load_model_input(path, size, framing).array for path in paths]
    decoded = time.thread_time()
    for array in arrays:
        measure_quality(array)
    checked = time.thread_time()
    return {"decode": (decoded - start) / len(paths) * 1e3, "quality": (checked - decoded) / len(paths) * 1e3}


def end_to_end_cpu(folder: Path, classifier, batch_size: int) -> tuple[float, float, int]:
    """``(images/s, ms of process CPU per image, images)`` of scan + decode + inference + CSV
    (:func:`bench_classify.run_once`, the same calls as ``hemoapp classify``)."""
    cpu = _process_cpu()
    result = run_once(folder, classifier, batch_size, decode_workers=None)
    used = _process_cpu() - cpu
    return result["images"] / result["seconds"], used / result["images"] * 1e3, result["images"]


def bare_cpu(classifier, images: int) -> tuple[float, float]:
    """``(images/s, ms of process CPU per image)`` of the model alone (:func:`reference.bare_inference_rate`)."""
    cpu = _process_cpu()
    rate = reference.bare_inference_rate(classifier.model_path, classifier.num_threads, images=images, rounds=1)
    done = max(1, images // reference.REFERENCE_BATCH) * reference.REFERENCE_BATCH + reference.REFERENCE_BATCH
    return rate.median, (_process_cpu() - cpu) / done * 1e3  # the warm-up call is in the CPU time too


def main(argv: list[str] | None = None) -> int:
    """Print the CPU budget per image for each kind of input."""
    from hemoapp.core.classifier import load_default_classifier

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=2000, help="files of each kind (default 2000)")
    parser.add_argument("--inputs", default="originals,224", help="originals (full-size copies), 224 (pbc8/train)")
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args(argv)

    classifier = load_default_classifier()
    size = classifier.input_size
    print(f"model: {classifier.info.name} {classifier.info.version}, {classifier.num_threads} threads, "
          f"framing {classifier.framing}; machine: {reference.conditions()}")
    rate, bare_ms = bare_cpu(classifier, images=2048)
    print(f"bare inference: {rate:.0f} images/s, {bare_ms:.2f} ms CPU per image")
    for kind in [k.strip() for k in args.inputs.split(",") if k.strip()]:
        with reference.bench_folder(kind, args.count) as folder:
            paths = sorted(p for p in folder.rglob("*") if p.is_file() or p.is_symlink())[:500]
            stages = stage_costs(paths, size, classifier.framing)
            e2e_rate, e2e_ms, images = end_to_end_cpu(folder, classifier, args.batch_size)
        rest = e2e_ms - bare_ms - stages["decode"] - stages["quality"]
        print(f"{kind}: {images} files, {e2e_rate:.0f} images/s = {e2e_rate / rate:.2f} of bare inference now; "
              f"{e2e_ms:.2f} ms CPU per image = inference {bare_ms:.2f} + decode {stages['decode']:.2f} + quality "
              f"check {stages['quality']:.2f} + the rest {rest:.2f} (scan, queues, softmax, CSV)")
        print(f"  CPU ceiling: end to end can reach at most {bare_ms / e2e_ms:.2f} of bare inference on this "
              f"machine; 0.85 needs at most {bare_ms / 0.85 - bare_ms:.2f} ms besides inference")
    return 0


if __name__ == "__main__":
    sys.exit(main())
