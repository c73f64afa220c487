"""Regenerate the screenshots in docs/screenshots/ from the real app.

Runs the real MainWindow on a folder of cell images with the installed model
(or the one ``HEMOLENS_MODEL`` names) and saves ``QWidget.grab()`` images of the
main views. Settings go to a temporary folder, so the user's are not touched.

Usage (a display is needed; on a headless machine use Xvfb):

    xvfb-run -a -s "-screen 0 1600x1000x24" python tools/screenshots.py [--folder DIR] [--out DIR]

``QT_QPA_PLATFORM=offscreen`` works too (no window manager decorations either way).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtGui import QColor, QPalette  # noqa: E402
from PySide6.QtWidgets import QApplication, QStyleFactory  # noqa: E402

from hemoapp.core.contract import CLASS_NAMES  # noqa: E402
from hemoapp.core.sample import SampleDetails  # noqa: E402
from hemoapp.gui.app import create_application, load_classifier  # noqa: E402
from hemoapp.gui.locations import find_sample_images  # noqa: E402
from hemoapp.gui.settings import AppSettings  # noqa: E402
from hemoapp.gui.table_model import Flag, Role  # noqa: E402
from hemoapp.gui.widgets.results_view import Tab  # noqa: E402
from hemoapp.gui.widgets.sample_dialog import SampleDetailsDialog  # noqa: E402


def settle(app: QApplication, seconds: float = 0.3) -> None:
    """Run the event loop for a while (layouts, thumbnails, repaints)."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.01)


def dark_palette() -> QPalette:
    """A plain dark palette, to check that nothing relies on black-on-white."""
    palette = QPalette()
    roles = {
        QPalette.ColorRole.Window: "#2b2b2b",
        QPalette.ColorRole.WindowText: "#e6e6e6",
        QPalette.ColorRole.Base: "#1e1e1e",
        QPalette.ColorRole.AlternateBase: "#262626",
        QPalette.ColorRole.Text: "#e6e6e6",
        QPalette.ColorRole.Button: "#353535",
        QPalette.ColorRole.ButtonText: "#e6e6e6",
        QPalette.ColorRole.Highlight: "#2f65ca",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.ToolTipBase: "#353535",
        QPalette.ColorRole.ToolTipText: "#e6e6e6",
        QPalette.ColorRole.PlaceholderText: "#9a9a9a",
    }
    for role, color in roles.items():
        palette.setColor(role, QColor(color))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor("#7a7a7a"))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor("#7a7a7a"))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText, QColor("#7a7a7a"))
    return palette


def main(argv: list[str] | None = None) -> int:
    """Take the screenshots; return a process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=None, help="images to classify (default: the sample images)")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    parser.add_argument("--other-lab", type=Path, default=REPO.parent / "shared" / "datasets" / "bccd-wbc",
                        help="another lab's cells, for the batch warning's screenshot (skipped if absent)")
    parser.add_argument("--size", default="1280x800", help="window size, WIDTHxHEIGHT")
    args = parser.parse_args(argv)
    folder = args.folder or find_sample_images()
    if folder is None:
        print("no images: pass --folder", file=sys.stderr)
        return 2
    width, height = (int(v) for v in args.size.lower().split("x"))
    args.out.mkdir(parents=True, exist_ok=True)

    from hemoapp.gui.main_window import MainWindow

    app = create_application([sys.argv[0]])
    app.setStyle(QStyleFactory.create("Fusion"))
    tmp = tempfile.TemporaryDirectory(prefix="hemolens-shots-")
    settings = AppSettings(QSettings(str(Path(tmp.name) / "settings.ini"), QSettings.Format.IniFormat))
    settings.add_recent_folder(folder)
    classifier, error = load_classifier()
    if classifier is None:
        print(f"no model: {error}", file=sys.stderr)
    window = MainWindow(classifier=classifier, model_error=error, settings=settings, icon=app.windowIcon())
    window.resize(width, height)
    window.show()
    settle(app, 0.5)
    shots: list[Path] = []

    def shoot(name: str, widget=None) -> None:
        settle(app, 0.3)
        path = args.out / f"{name}.png"
        (widget or window).grab().save(str(path))
        shots.append(path)

    shoot("start-screen")
    if classifier is None:
        print("\n".join(str(p) for p in shots))
        return 1
    window.open_folder(folder)
    while window.controller.is_running():
        app.processEvents()
        time.sleep(0.01)
    settle(app, 1.5)  # thumbnails
    view = window.results_view
    flagged = next(
        (r for r in range(window.proxy.rowCount()) if window.proxy.index(r, 0).data(Role.FLAG) == Flag.REVIEW), 1
    )
    view.select_proxy_row(flagged)
    # A review under way: the first flagged cell confirmed, the next one moved to the model's
    # runner-up class; the window then selects the third, still to be checked. Signed with a
    # reviewer name, as a shared lab account would be, rather than this machine's login.
    window.set_reviewer("J. Doe")
    window.confirm_selected()
    second = view.current_prediction()
    if second is not None and second.ok:
        window.review_selected(CLASS_NAMES[sorted(range(len(CLASS_NAMES)), key=second.probabilities.__getitem__)[-2]])
    view.tabs.setCurrentIndex(Tab.TABLE)
    shoot("results-table")
    view.tabs.setCurrentIndex(Tab.GALLERY)
    shoot("gallery")
    # The specimen, as a technician records it (a made-up ID: the sample images come from many donors).
    window.set_sample_details(SampleDetails("S-2026-0042", "Demonstration: the bundled sample cells."))
    view.tabs.setCurrentIndex(Tab.SUMMARY)
    shoot("summary")
    dialog = SampleDetailsDialog(window.sample_details(), str(folder), window)
    dialog.show()
    shoot("sample-details", dialog)
    dialog.close()
    window.actions.model_card.trigger()
    shoot("model-card", window._dialog)
    window._dialog.close()
    window.actions.shortcuts.trigger()
    shoot("keyboard-shortcuts", window._dialog)
    window._dialog.close()
    app.setPalette(dark_palette())
    view.tabs.setCurrentIndex(Tab.TABLE)
    shoot("results-table-dark")
    view.tabs.setCurrentIndex(Tab.GALLERY)
    shoot("gallery-dark")
    app.setPalette(QApplication.style().standardPalette())
    if args.other_lab.is_dir():
        # Another lab's cells: the warning that the batch is unlike the model's validation images.
        window.open_folder(args.other_lab)
        while window.controller.is_running():
            app.processEvents()
            time.sleep(0.01)
        settle(app, 1.5)
        view.tabs.setCurrentIndex(Tab.TABLE)
        shoot("batch-warning")
        # Its folders name the cells' classes: the summary compares HemoLens with them.
        view.tabs.setCurrentIndex(Tab.SUMMARY)
        view.summary.ensureWidgetVisible(view.summary.agreement_box)
        settle(app)
        shoot("agreement")
    # An analyser still exporting: one more cell arrives after the batch (in a copy of the folder).
    changing = Path(tmp.name) / "run-0043"
    shutil.copytree(folder, changing)
    window.folder_watch.interval_ms = 100
    window.open_folder(changing)
    while window.controller.is_running():
        app.processEvents()
        time.sleep(0.01)
    shutil.copyfile(sorted(changing.rglob("*.jpg"))[0], changing / "late_cell_0065.jpg")
    deadline = time.monotonic() + 10
    while view.folder_warning.isHidden() and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    view.tabs.setCurrentIndex(Tab.TABLE)
    shoot("folder-changed")
    window.close()
    # The start screen as a technician sees it when no model is installed.
    os.environ["HEMOLENS_MODEL"] = str(REPO / "models" / "hemolens-lite0.tflite.missing")
    _, missing = load_classifier()
    bare = MainWindow(classifier=None, model_error=missing, settings=settings, icon=app.windowIcon())
    bare.resize(width, height)
    bare.show()
    shoot("start-screen-no-model", bare)
    bare.close()
    settle(app, 0.1)
    print("\n".join(str(p) for p in shots))
    return 0


if __name__ == "__main__":
    sys.exit(main())
