"""File > Export Report PDF: a real PDF, written atomically, naming the batch, and never counted as the results."""

from __future__ import annotations

import dataclasses
import os
import shutil
import stat

from PySide6.QtCore import QSizeF, QUrl
from PySide6.QtGui import QGuiApplication, QImage, QTextDocument, QTextTable
from PySide6.QtWidgets import QFileDialog, QMessageBox

from hemoapp.core.agreement import compare
from hemoapp.core.contract import CENTER_CROP
from hemoapp.core.reference_labels import reference_class
from hemoapp.core.report import ListedCell, ReportContext, cell_lists, report_html
from hemoapp.core.summary import summarize
from hemoapp.gui.report_pdf import PICTURE_PIXELS, keep_tables_whole, outlined, with_pictures
from hemoapp.gui.table_model import Flag
from hemotest.predictions import failed, in_folder, make, predicted
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
    assert window.session.unexported_count() == window.results_model.rowCount() - window.results_model.flag_count(Flag.ERROR)


def test_a_report_that_cannot_be_written_is_said_and_leaves_nothing(qtbot, make_window, fake_classifier,
                                                                     cell_folder, tmp_path):
    window = make_window(fake_classifier())
    run_folder(qtbot, window, cell_folder)
    assert window.export_report(tmp_path / "missing folder" / "report.pdf") is None
    boxes = [box for box in window.findChildren(QMessageBox) if box.isVisible()]
    assert [box.windowTitle() for box in boxes] == ["Export report failed"]
    assert "missing folder" in boxes[0].text()
    assert not (tmp_path / "missing folder").exists()
    assert QGuiApplication.overrideCursor() is None  # the busy cursor is gone after a failure too


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


def test_listed_cells_show_their_picture_only_while_the_file_is_the_one_classified(
        qtbot, make_window, fake_classifier, cell_folder, tmp_path):
    window = make_window(fake_classifier())
    run_folder(qtbot, window, cell_folder)
    model = window.results_model
    # The cells sit in class folders, so the report also lists the disagreeing cells.
    agreement = window.current_agreement()
    lists = cell_lists(model.predictions(), model.review_threshold, model.reviews(), agreement=agreement)
    assert lists.flagged and lists.disagreeing and [p.record.relpath for p in lists.unreadable] == ["zz_broken.jpg"]
    # Each cell is listed once: a flagged cell that disagrees with its folder only among the disagreements.
    listed_files = [cell.prediction.record.path for cell in lists.flagged + lists.reviewed + lists.disagreeing]
    assert len(listed_files) == len(set(listed_files)) >= 3
    cells = lists.disagreeing + lists.flagged
    replaced, deleted = cells[0].prediction.record.path, cells[1].prediction.record.path
    shutil.copyfile(cells[2].prediction.record.path, replaced)  # same name, another cell
    deleted.unlink()
    listed, pictures = with_pictures(lists)
    by_file = {cell.prediction.record.path: cell for cell in listed.flagged + listed.reviewed + listed.disagreeing}
    assert by_file[replaced].picture is None and "changed since it was classified" in by_file[replaced].picture_note
    assert by_file[deleted].picture is None and "does not exist" in by_file[deleted].picture_note
    rest = [cell for path, cell in by_file.items() if path not in {replaced, deleted}]
    assert all(cell.picture in pictures for cell in rest)
    assert len(pictures) == len(rest) == len({cell.picture for cell in rest})
    assert all(0 < max(image.width(), image.height()) <= PICTURE_PIXELS for image in pictures.values())
    # The PDF embeds exactly those pictures, each once.
    written = window.export_report(tmp_path / "report.pdf")
    assert written.read_bytes().count(b"/Subtype /Image") == len(pictures)


def test_a_listed_cells_picture_outlines_the_region_the_model_analysed(qapp):
    grey = QImage(PICTURE_PIXELS, PICTURE_PIXELS, QImage.Format.Format_RGB888)
    grey.fill(0x808080)
    picture = outlined(grey)
    assert picture.size() == grey.size() and grey.pixelColor(0, 0).name() == "#808080"  # a copy

    def green_share(x: int) -> float:
        """How much of column ``x`` (its middle half) is the outline's green."""
        rows = range(PICTURE_PIXELS // 4, 3 * PICTURE_PIXELS // 4)
        colors = [picture.pixelColor(x, y) for y in rows]
        return sum(c.green() > 150 and c.red() < 80 for c in colors) / len(colors)

    edge = round(PICTURE_PIXELS * (1 - CENTER_CROP) / 2)
    assert green_share(edge) > 0.3  # dashed: on for part of the way
    assert green_share(edge - 6) == green_share(edge + 6) == green_share(PICTURE_PIXELS // 2) == 0.0


def test_a_listed_cell_is_never_split_across_pages(qapp, fake_classifier):
    image = QImage(PICTURE_PIXELS, PICTURE_PIXELS, QImage.Format.Format_RGB888)
    image.fill(0x808080)
    cells = cell_lists(make({}, low={"monocyte": 40}), 0.9)
    cells = dataclasses.replace(cells, flagged=tuple(
        ListedCell(cell.prediction, picture="hemolens-cell:0") for cell in cells.flagged))
    html_text = report_html(summarize(make({}, low={"monocyte": 40}), 0.9), fake_classifier().info,
                            ReportContext("/lab"), cells)

    def straddling(document: QTextDocument) -> list:
        height = document.pageSize().height()
        rects = [document.documentLayout().frameBoundingRect(frame) for frame in document.rootFrame().childFrames()
                 if isinstance(frame, QTextTable)]
        return [r for r in rects if int(r.top() // height) != int((r.bottom() - 1) // height)]

    documents = []
    for keep in (False, True):
        document = QTextDocument()
        document.addResource(QTextDocument.ResourceType.ImageResource, QUrl("hemolens-cell:0"), image)
        document.setHtml(html_text)
        document.setPageSize(QSizeF(700, 1000))
        moved = keep_tables_whole(document) if keep else 0
        documents.append((document, moved))
    (loose, _), (kept, moved) = documents
    assert straddling(loose), "the test needs a layout where Qt would split a cell's row"
    assert straddling(kept) == [] and moved >= len(straddling(loose))
    assert kept.pageCount() >= loose.pageCount()


def test_nothing_after_a_table_overlaps_it(qapp, fake_classifier):
    """Qt lets the block after a table whose last cell is empty overlap it: every table's empty cells are filled."""
    cells = [in_folder("neutrophil", predicted("neutrophil", index=i)) for i in range(3)]
    cells += [in_folder("neutrophil", predicted("ig", 0.6, index=10)), in_folder("platelet", predicted("platelet")),
              predicted("monocyte", 0.5), failed()]
    agreement = compare(cells, 0.9, reference_class)
    html_text = report_html(summarize(cells, 0.9), fake_classifier().info, ReportContext("/lab"),
                            cell_lists(cells, 0.9, agreement=agreement), agreement)
    assert "<td></td>" not in html_text
    document = QTextDocument()
    document.setHtml(html_text)
    layout = document.documentLayout()
    tables = [frame for frame in document.rootFrame().childFrames() if isinstance(frame, QTextTable)]
    assert len(tables) >= 8  # the figures, the agreement's and the listed cells' tables
    for table in tables:
        after = document.findBlock(table.lastPosition() + 1)  # the table's closing block (empty), then the next
        while after.isValid() and not after.text():
            after = after.next()
        if after.isValid():
            assert layout.blockBoundingRect(after).top() >= layout.frameBoundingRect(table).bottom(), after.text()


def test_a_heading_never_stays_at_a_pages_foot_when_its_table_goes_to_the_next(qapp):
    """Qt puts a table that does not fit on the next page by itself; its heading must follow it."""

    def pages(document: QTextDocument) -> tuple[int, int]:
        height = document.pageSize().height()
        table = next(frame for frame in document.rootFrame().childFrames() if isinstance(frame, QTextTable))
        cursor = table.firstCursorPosition()
        cursor.movePosition(cursor.MoveOperation.PreviousBlock)
        heading = document.documentLayout().blockBoundingRect(cursor.block())
        return int(heading.top() // height), int(document.documentLayout().frameBoundingRect(table).top() // height)

    def document_with(lines: int) -> QTextDocument:
        document = QTextDocument()
        rows = "".join(f"<tr><td>row {i}</td><td>{i}</td></tr>" for i in range(8))
        document.setHtml("<p>filler</p>" * lines + f"<h3>Confusion matrix</h3><table border='1'>{rows}</table>")
        document.setPageSize(QSizeF(700, 1000))
        return document

    stranded = next((n for n in range(20, 80) if len(set(pages(document_with(n)))) > 1), None)
    assert stranded is not None, "the test needs a layout where Qt leaves the heading behind"
    document = document_with(stranded)
    assert keep_tables_whole(document) == 1
    heading_page, table_page = pages(document)
    assert heading_page == table_page == 1
    # A heading already with its table is left alone.
    assert keep_tables_whole(document_with(stranded - 10)) == 0


def test_a_file_name_too_long_for_its_column_breaks_between_its_parts(qapp, fake_classifier):
    """A listed cell's file breaks after a folder, "_" or "-", never inside a part ("….jp" / "g")."""
    name = "basophil/BloodImage_00008_1.jpg"
    flagged = in_folder("basophil", dataclasses.replace(
        predicted("monocyte", 0.5), record=dataclasses.replace(predicted("monocyte").record,
                                                               relpath="BloodImage_00008_1.jpg")))
    agreement = compare([flagged], 0.9, reference_class)
    cells = cell_lists([flagged], 0.9, agreement=agreement)
    assert [cell.prediction.record.relpath for cell in cells.disagreeing] == [name]
    html_text = report_html(summarize([flagged], 0.9), fake_classifier().info, ReportContext("/lab"), cells, agreement)
    wrapped = 0
    for width in range(400, 720, 40):  # where Qt breaks depends on the width: try several
        document = QTextDocument()
        document.setHtml(html_text)
        document.setTextWidth(width)
        document.documentLayout().documentSize()  # lays the document out
        block = document.begin()
        while block.isValid() and block.text().replace("\u200b", "") != name:
            block = block.next()
        assert block.isValid(), "the listed cell's file is a block of its own"
        layout = block.layout()
        lines = [layout.lineAt(i) for i in range(layout.lineCount())]
        parts = [block.text()[line.textStart():line.textStart() + line.textLength()].replace("\u200b", "")
                 for line in lines]
        assert "".join(parts) == name
        assert all(part[-1] in "/_-" for part in parts[:-1]), (width, parts)
        wrapped += len(parts) > 2
    assert wrapped, "the test needs columns too narrow for the name's last folder and file"
