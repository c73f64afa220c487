"""The window's exports: a full disk is an error the user sees with the old file kept; no export replaces an image."""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog, QMessageBox

from hemoapp.gui import dialogs
from hemotest.full_disk import file_size_limit
from hemotest.qt import run_folder


def visible_boxes(window) -> list[QMessageBox]:
    return [box for box in window.findChildren(QMessageBox) if box.isVisible()]


def test_a_report_on_a_full_disk_is_an_error_and_the_old_report_stays(qtbot, make_window, fake_classifier,
                                                                      cell_folder, tmp_path):
    window = make_window(fake_classifier())
    run_folder(qtbot, window, cell_folder)
    out = tmp_path / "out"
    out.mkdir()
    report = window.export_report(out / "report.pdf")
    good = report.read_bytes()
    # The disk fills halfway through the next report: Qt says nothing and leaves it cut short.
    with file_size_limit(len(good) // 2):
        assert window.export_report(report) is None
    (box,) = visible_boxes(window)
    assert box.windowTitle() == "Export report failed"
    assert "the PDF was cut short" in box.text() and "is the disk full?" in box.text()
    assert report.read_bytes() == good
    assert [p.name for p in out.iterdir()] == ["report.pdf"]  # no temporary file left


def test_an_export_never_replaces_an_opened_image(qtbot, make_window, fake_classifier, cell_folder):
    window = make_window(fake_classifier())
    run_folder(qtbot, window, cell_folder)
    image = sorted((cell_folder / "basophil").glob("*.jpg"))[0]
    before = image.read_bytes()
    assert window.export_results(image) is None
    (box,) = visible_boxes(window)
    assert box.windowTitle() == "Export results refused"
    assert f"The file {image} is one of the input images; HemoLens never writes over its input" in box.text()
    assert image.read_bytes() == before


def test_the_dialog_refuses_an_image_before_asking_to_overwrite_it(qtbot, make_window, fake_classifier, cell_folder,
                                                                   monkeypatch):
    window = make_window(fake_classifier())
    run_folder(qtbot, window, cell_folder)
    image = sorted((cell_folder / "neutrophil").glob("*.jpg"))[0]
    before = image.read_bytes()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: (str(image), "CSV (*.csv)"))
    asked = []
    monkeypatch.setattr(dialogs, "confirm_overwrite", lambda parent, path: asked.append(path) or True)
    window.actions.export_summary.trigger()
    assert asked == []  # "Replace it?" is never asked about an image
    assert [box.windowTitle() for box in visible_boxes(window)] == ["Export summary refused"]
    assert image.read_bytes() == before
