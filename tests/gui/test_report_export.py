"""File > Export Report PDF: a real PDF, written atomically, naming the batch, and never counted as the results."""

from __future__ import annotations

import os
import stat

from PySide6.QtWidgets import QFileDialog, QMessageBox

from hemoapp.gui.table_model import Flag
from hemotest.qt import run_folder


def test_report_pdf_is_written_whole_and_names_the_batch(qtbot, make_window, fake_classifier, cell_folder, tmp_path):
    window = make_window(fake_classifier())
    run_folder(qtbot, window, cell_folder)
    window.set_reviewer("J. Doe")
    window.results_view.select_next_flagged(0)
    window.confirm_selected()
    out = tmp_path / "out"
    out.mkdir()
    written = window.export_report(out / "report.pdf")
    assert written == out / "report.pdf"
    data = written.read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert b"/Type /Page" in data
    assert f"HemoLens report: {cell_folder}".encode("utf-16-be") in data  # the title (UTF-16 in PDF)
    assert [p.name for p in out.iterdir()] == ["report.pdf"]  # no temporary file left
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(written.stat().st_mode) == 0o666 & ~umask  # as readable as a CSV, not private
    assert str(written) in window.statusBar().currentMessage()
    # A report is not the results: closing would still ask about the unexported results.
    assert window._unexported_count() == window.results_model.rowCount() - window.results_model.flag_count(Flag.ERROR)


def test_a_report_that_cannot_be_written_is_said_and_leaves_nothing(qtbot, make_window, fake_classifier,
                                                                     cell_folder, tmp_path):
    window = make_window(fake_classifier())
    run_folder(qtbot, window, cell_folder)
    assert window.export_report(tmp_path / "missing folder" / "report.pdf") is None
    boxes = [box for box in window.findChildren(QMessageBox) if box.isVisible()]
    assert [box.windowTitle() for box in boxes] == ["Export report failed"]
    assert "missing folder" in boxes[0].text()
    assert not (tmp_path / "missing folder").exists()


def test_report_dialog_offers_a_pdf_named_for_the_folder(qtbot, make_window, fake_classifier, cell_folder, tmp_path,
                                                         monkeypatch):
    window = make_window(fake_classifier())
    run_folder(qtbot, window, cell_folder)
    offered = []

    def fake_save_dialog(_parent, _title, start, file_filter, **_kwargs):
        offered.append((start, file_filter))
        return str(tmp_path / "typed without extension"), file_filter

    monkeypatch.setattr(QFileDialog, "getSaveFileName", fake_save_dialog)
    window.actions.export_report.trigger()
    assert offered[0][0].endswith(f"{cell_folder.name}-report.pdf") and "*.pdf" in offered[0][1]
    assert (tmp_path / "typed without extension.pdf").read_bytes().startswith(b"%PDF-")
