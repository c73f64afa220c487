"""Time classifying a folder in the real main window, against the same work without a window.

The window classifies on a worker thread while its own thread takes each batch: new table and gallery
rows, repaints, the progress bar, the flag counts and, a few times a second, the summary. On two cores
that work competes with decoding and inference for the CPU and for Python's GIL. This script opens
``FOLDER`` in a :class:`~hemoapp.gui.main_window.MainWindow` (offscreen, settings in a temporary folder,
the installed model) and times it from the start to the end of the batch; then it runs the window's
job (:func:`hemoapp.gui.controller.classification_job`, the same scan, batches and classifier) with
no window, and prints both::

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_window.py ../shared/datasets/pbc8/train
    QT_QPA_PLATFORM=offscreen python benchmarks/bench_window.py originals --count 4096  # full-size copies
    QT_QPA_PLATFORM=offscreen python benchmarks/bench_window.py FOLDER --tab gallery  # watching the gallery
    QT_QPA_PLATFORM=offscreen python benchmarks/bench_window.py FOLDER --profile 25   # the window thread's top 25

``--profile`` runs cProfile on the window's thread only (the worker thread is not profiled), so its
total is the time the window itself spent. ``FOLDER`` may also be ``originals`` (``--count`` copies of
the 64 full-size analyser exports) or ``224`` (``--count`` files of pbc8/train), in a temporary folder.
Both rates are printed beside the bare inference rate of the same model measured before and after
(:mod:`reference`) and as ratios to it.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import pstats
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference  # noqa: E402

from PySide6.QtCore import QEventLoop, QSettings
from PySide6.QtWidgets import QApplication

from hemoapp.core.classifier import load_default_classifier
from hemoapp.gui.controller import JobSource, classification_job
from hemoapp.gui.settings import AppSettings


def time_without_window(folder: Path, classifier, batch_size: int) -> tuple[int, float]:
    """Run the window's job with no window: (images, seconds)."""
    start = time.perf_counter()
    images = 0
    for value in classification_job(JobSource(folder=folder), classifier, batch_size, threading.Event()):
        images += len(getattr(value, "predictions", ()))
    return images, time.perf_counter() - start


def time_in_window(
    app: QApplication, folder: Path, classifier, settings_dir: Path, tab: str, profile: cProfile.Profile | None
) -> tuple[int, float]:
    """Open ``folder`` in a shown main window, on results tab ``tab``; wait for the batch to end: (images, seconds)."""
    from hemoapp.gui.main_window import MainWindow
    from hemoapp.gui.widgets.results_view import Tab

    settings = AppSettings(QSettings(str(settings_dir / "settings.ini"), QSettings.Format.IniFormat))
    window = MainWindow(classifier=classifier, settings=settings)
    window.resize(1280, 900)
    window.show()
    window.results_view.tabs.setCurrentIndex(getattr(Tab, tab.upper()))
    app.processEvents()
    ended = []
    loop = QEventLoop()
    window.controller.job_finished.connect(lambda state, _error: (ended.append(state), loop.quit()))
    if profile is not None:
        profile.enable()
    start = time.perf_counter()
    window.open_folder(folder)
    loop.exec()  # the window's own event loop, as in the app
    seconds = time.perf_counter() - start
    if profile is not None:
        profile.disable()
    images = window.results_model.rowCount()
    window.controller.shutdown()
    window.close()
    if ended[0] != "completed":
        sys.exit(f"the batch ended {ended[0]}")
    return images, seconds


def main() -> None:
    """Print images per second with and without the window."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", help="a folder of cell images (scanned recursively), or originals / 224")
    parser.add_argument("--count", type=int, default=4096, help="files for originals / 224 (default 4096)")
    parser.add_argument("--tab", choices=("table", "gallery", "summary"), default="table",
                        help="the results tab shown while the cells arrive (default table)")
    parser.add_argument("--profile", type=int, metavar="N", help="print the window thread's N most costly functions")
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    classifier = load_default_classifier()
    ref = reference.Reference(classifier.model_path, classifier.num_threads)
    print(f"machine: {reference.conditions()}")
    ref.measure("before")
    with contextlib.ExitStack() as stack:
        if args.folder in reference.SOURCES:
            folder = stack.enter_context(reference.bench_folder(args.folder, args.count))
        else:
            folder = Path(args.folder)
        with tempfile.TemporaryDirectory() as settings_dir:
            QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, settings_dir)
            profile = cProfile.Profile() if args.profile else None
            images, seconds = time_in_window(app, folder, classifier, Path(settings_dir), args.tab, profile)
        window_rate = images / seconds
        print(f"in the window ({args.tab}):   {images:,} images in {seconds:.1f} s, {window_rate:.0f} images/s",
              flush=True)
        images, seconds = time_without_window(folder, classifier, 32)
        bare_rate = images / seconds
        print(f"without window:  {images:,} images in {seconds:.1f} s, {bare_rate:.0f} images/s", flush=True)
    ref.measure("after")
    print(f"{ref.summary()}; machine: {reference.conditions()}")
    print(f"  in the window ({args.tab}): {ref.describe(window_rate)}")
    print(f"  without window: {ref.describe(bare_rate)}")
    if profile is not None:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(args.profile)

if __name__ == "__main__":
    main()
