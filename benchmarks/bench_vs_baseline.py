"""HemoLens against the approach of the published projects, in one run, with one table.

Both sides classify the same folder of real analyser exports (the 64 untouched
JPEGs of ``../shared/datasets/pbc8-originals``, linked over and over) end to
end: read + decode + resize + inference + CSV rows.

* HemoLens: the app's core, ``scan_folder`` → ``iter_predictions`` →
  ``write_predictions_csv``, with the default model (or ``--model``).
* Baseline (what the published blood-cell projects do): Keras InceptionV3 at
  299 px in full TensorFlow, one image at a time through ``model.predict``, PIL
  decode + resize per image, a CSV row per image. ``weights=None``: speed does
  not depend on the weight values, so no download is needed. One warm-up
  ``predict`` is excluded from its time (in its favour).

Each side runs in its own subprocess, so each peak RSS (the kernel's high-water
mark, read with ``wait4``) is its own. Start-up of the packaged app is timed
with :mod:`bench_startup`. Targets: >= 300 images/s, >= 30x the baseline, peak
RSS <= 1 GB for 10,000 images, bundle <= 250 MB, start-up <= 2 s::

    python benchmarks/bench_vs_baseline.py                          # 10,000 vs 200 images
    python benchmarks/bench_vs_baseline.py --count 500 --baseline-count 20   # a quick check

HemoLens's rate is also given as a ratio to the bare inference rate of the same model
(:mod:`reference`, measured before and after its run): absolute rates swing by almost 2x
between machines and runs, the ratio much less.

A script, not a test: figures are only meaningful on an otherwise idle machine
(the load average is printed before and after).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_startup  # noqa: E402
import reference  # noqa: E402
from bench_classify import build_folder  # noqa: E402

DEFAULT_SOURCE = REPO_ROOT.parent / "shared" / "datasets" / "pbc8-originals"
BASELINE_SIZE = 299
RESULT_PREFIX = "BENCH_RESULT "

TARGET_RATE = 300.0
TARGET_SPEEDUP = 30.0
TARGET_PEAK_MB = 1024.0
TARGET_BUNDLE_MB = 250.0
TARGET_STARTUP_S = 2.0


# ---- the two workers (each runs in its own subprocess) ------------------------------------


def run_hemolens(folder: Path, out_csv: Path, model: Path | None, threads: int | None, batch_size: int) -> dict:
    """Classify ``folder`` with the HemoLens core; return counts and timings."""
    from hemoapp.core.classifier import Classifier, load_default_classifier
    from hemoapp.core.export import write_predictions_csv
    from hemoapp.core.pipeline import iter_predictions
    from hemoapp.core.scan import scan_folder

    started = time.perf_counter()
    classifier = Classifier(model, num_threads=threads) if model else load_default_classifier(threads)
    loaded = time.perf_counter()
    scan = scan_folder(folder)
    predictions = []
    for batch in iter_predictions(scan.records, classifier, batch_size=batch_size):
        predictions.extend(batch.predictions)
    write_predictions_csv(out_csv, predictions, classifier.info)
    finished = time.perf_counter()
    return {
        "images": len(predictions),
        "errors": sum(not p.ok for p in predictions),
        "setup_s": loaded - started,
        "run_s": finished - loaded,
        "detail": f"{classifier.info.name} {classifier.info.version}, {classifier.num_threads} threads, "
        f"batch {batch_size}",
        # A card without metrics is a test model: its speed is not the shipped model's.
        "test_model": not classifier.card.metrics,
    }


def run_baseline(folder: Path, out_csv: Path) -> dict:
    """Classify ``folder`` the published projects' way; return counts and timings."""
    import csv

    import numpy as np
    from PIL import Image

    started = time.perf_counter()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    model = keras.applications.InceptionV3(
        weights=None, include_top=True, input_shape=(BASELINE_SIZE, BASELINE_SIZE, 3), classes=8
    )
    preprocess = keras.applications.inception_v3.preprocess_input
    model.predict(np.zeros((1, BASELINE_SIZE, BASELINE_SIZE, 3), np.float32), verbose=0)  # warm-up, not timed
    loaded = time.perf_counter()
    paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    with open(out_csv, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "predicted", "confidence"])
        for path in paths:
            image = Image.open(path).convert("RGB").resize((BASELINE_SIZE, BASELINE_SIZE))
            x = preprocess(np.asarray(image, dtype=np.float32)[None])
            probabilities = model.predict(x, verbose=0)[0]
            best = int(np.argmax(probabilities))
            writer.writerow([path.name, best, f"{probabilities[best]:.6f}"])
    finished = time.perf_counter()
    return {
        "images": len(paths),
        "errors": 0,
        "setup_s": loaded - started,
        "run_s": finished - loaded,
        "detail": f"InceptionV3 {BASELINE_SIZE}px, keras {keras.__version__}, weights=None, model.predict per image",
    }


# ---- orchestration --------------------------------------------------------------------------


def run_worker(side: str, folder: Path, args: argparse.Namespace) -> dict:
    """Run one side in a fresh interpreter; add its peak RSS (from ``wait4``) to its result."""
    command = [sys.executable, __file__, "--worker", side, "--folder", str(folder), "--batch-size", str(args.batch_size)]
    if args.model:
        command += ["--model", str(args.model)]
    if args.threads:
        command += ["--threads", str(args.threads)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stdout, stderr = process.stdout.read(), process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    lines = [line for line in stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if process.returncode != 0 or not lines:
        tail = " | ".join(stderr.strip().splitlines()[-5:])
        return {"failed": f"{side} worker exited {process.returncode}: {tail}"}
    result = json.loads(lines[-1][len(RESULT_PREFIX):])
    # ru_maxrss is KiB on Linux, bytes on macOS.
    result["peak_rss_mb"] = usage.ru_maxrss / 1e6 if sys.platform == "darwin" else usage.ru_maxrss * 1024 / 1e6
    result["rate"] = result["images"] / result["run_s"] if result["run_s"] > 0 else 0.0
    return result


def _model_path(model: Path | None) -> Path:
    """The model HemoLens's side classifies with: ``--model``, or the one the app finds."""
    from hemoapp.core.classifier import find_default_model

    path = model or find_default_model()
    if path is None:
        raise SystemExit("no model found: give --model")
    return path


def _load() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


def _bundle_mb(exe: Path) -> float | None:
    root = exe.parent if exe.parent.name == "hemolens" else exe
    if not root.exists():
        return None
    if root.is_file():
        return root.stat().st_size / 2**20
    total = sum(p.lstat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())
    return total / 2**20


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


def render(hemo: dict, base: dict, startup, self_test, bundle_mb: float | None, loads: tuple[str, str],
           bare: "reference.Reference | None" = None) -> str:
    """The result table (plain text)."""
    rows = [("measure", "HemoLens", "baseline", "target", "")]
    if "failed" in hemo or "failed" in base:
        problems = [r["failed"] for r in (hemo, base) if "failed" in r]
        return "\n".join(["benchmark failed:", *problems])
    speedup = hemo["rate"] / base["rate"] if base["rate"] else float("inf")
    rows += [
        ("images classified (errors)", f"{hemo['images']} ({hemo['errors']})", f"{base['images']} ({base['errors']})", "", ""),
        ("end-to-end images/s", f"{hemo['rate']:.1f}", f"{base['rate']:.2f}", f">= {TARGET_RATE:.0f}",
         _verdict(hemo["rate"] >= TARGET_RATE)),
        ("end to end / bare inference", f"{bare.ratio(hemo['rate']):.2f}" if bare else "n/a", "", ">= 0.85",
         _verdict(bare.ratio(hemo["rate"]) >= 0.85 if bare else None)),
        ("speed-up vs baseline", f"{speedup:.1f}x", "1x", f">= {TARGET_SPEEDUP:.0f}x", _verdict(speedup >= TARGET_SPEEDUP)),
        ("peak RSS MB (whole process)", f"{hemo['peak_rss_mb']:.0f}", f"{base['peak_rss_mb']:.0f}",
         f"<= {TARGET_PEAK_MB:.0f}", _verdict(hemo["peak_rss_mb"] <= TARGET_PEAK_MB) + _count_note(hemo["images"])),
        ("model load + warm-up s", f"{hemo['setup_s']:.2f}", f"{base['setup_s']:.2f}", "", ""),
        ("start-up to shown window s", startup.summary(), "", f"<= {TARGET_STARTUP_S:.0f}",
         _verdict(None if startup.median is None else startup.first <= TARGET_STARTUP_S)),
        ("bundle --self-test s", self_test.summary(), "", "", ""),
        ("bundle size MB", "n/a (not built)" if bundle_mb is None else f"{bundle_mb:.0f}", "",
         f"<= {TARGET_BUNDLE_MB:.0f}", _verdict(None if bundle_mb is None else bundle_mb <= TARGET_BUNDLE_MB)),
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    lines += [
        "",
        f"HemoLens: {hemo['detail']}"
        + (" -- A TEST MODEL (card without metrics): not the shipped model's speed" if hemo.get("test_model") else ""),
        f"baseline: {base['detail']}; weights=None because speed does not depend on weight values;"
        " one warm-up predict excluded",
        "both: same folder of real analyser JPEGs, read + decode + resize + inference + CSV; peak RSS per subprocess",
        *([f"HemoLens's {bare.summary()}"] if bare else []),
        f"machine: {os.cpu_count()} CPUs; load average before {loads[0]}, after {loads[1]}"
        " (figures are comparable only on an idle machine)",
    ]
    return "\n".join(lines)


def _count_note(images: int) -> str:
    return "" if images >= 10_000 else f" (at {images} images, target is for 10,000)"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options (``--worker`` and ``--folder`` are internal)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000, help="images for HemoLens (default 10000)")
    parser.add_argument("--baseline-count", type=int, default=200, help="images for the baseline (default 200)")
    parser.add_argument("--model", type=Path, default=None, help="HemoLens model (default: the installed one)")
    parser.add_argument("--threads", type=int, default=None, help="HemoLens inference threads (default: all)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="class folders of analyser JPEGs")
    parser.add_argument("--exe", type=Path, default=bench_startup.DEFAULT_BUNDLE_EXE, help="bundle executable")
    parser.add_argument("--startup-runs", type=int, default=5)
    parser.add_argument("--drop-caches", action="store_true", help="cold page cache for the first start (root)")
    parser.add_argument("--skip-baseline", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, default=None, help="also write the raw results as JSON")
    parser.add_argument("--worker", choices=("hemolens", "baseline"), help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def worker_main(args: argparse.Namespace) -> int:
    """Inside a worker subprocess: classify ``--folder`` and print one JSON result line."""
    with tempfile.TemporaryDirectory(prefix="hemolens-bench-csv-") as temporary:
        out_csv = Path(temporary) / "results.csv"
        if args.worker == "hemolens":
            result = run_hemolens(args.folder, out_csv, args.model, args.threads, args.batch_size)
        else:
            result = run_baseline(args.folder, out_csv)
    print(RESULT_PREFIX + json.dumps(result), flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run both sides and the start-up checks; print the table. Exit 1 if a side failed."""
    args = parse_args(argv)
    if args.worker:
        return worker_main(args)
    load_before = _load()
    with tempfile.TemporaryDirectory(prefix="hemolens-bench-") as temporary:
        hemo_folder, base_folder = Path(temporary) / "hemolens", Path(temporary) / "baseline"
        build_folder(args.source, hemo_folder, args.count, copy=False)
        build_folder(args.source, base_folder, args.baseline_count, copy=False)
        bare = reference.Reference(_model_path(args.model), args.threads or os.cpu_count() or 1)
        bare.measure("before")
        print(f"HemoLens: {args.count} images ...", flush=True)
        hemo = run_worker("hemolens", hemo_folder, args)
        bare.measure("after")
        if args.skip_baseline:
            base = {"images": 0, "errors": 0, "setup_s": 0.0, "run_s": 0.0, "rate": 0.0, "peak_rss_mb": 0.0,
                    "detail": "skipped"}
        else:
            print(f"baseline: {args.baseline_count} images (slow) ...", flush=True)
            base = run_worker("baseline", base_folder, args)
    print("start-up of the packaged app ...", flush=True)
    startup = bench_startup.bundle_startup(args.exe, args.startup_runs, args.drop_caches)
    self_test = bench_startup.bundle_self_test(args.exe)
    bundle_mb = _bundle_mb(args.exe)
    print()
    print(render(hemo, base, startup, self_test, bundle_mb, (load_before, _load()), bare))
    if args.json:
        args.json.write_text(json.dumps({
            "hemolens": hemo, "baseline": base, "bundle_mb": bundle_mb,
            "bare_inference": bare.as_dict(), "bare_inference_rate": bare.rate,
            "startup_s": startup.seconds, "startup_errors": startup.errors, "self_test_s": self_test.seconds,
        }, indent=2))
    return 1 if "failed" in hemo or "failed" in base else 0


if __name__ == "__main__":
    sys.exit(main())
