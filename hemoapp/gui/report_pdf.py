"""Print the batch report (``hemoapp.core.report``) to a PDF file, atomically.

Qt lays the HTML out (``QTextDocument``) and writes the PDF (``QPdfWriter``), so the
report needs no extra library in the bundle. As with the CSVs, the PDF is written
to a hidden temporary file beside the target and renamed over it only once it is whole
(:mod:`hemoapp.core.pdf_check`) and on the disk (:mod:`hemoapp.core.atomic_write`).
The listed cells' pictures are decoded here, from their files, and only while a file
still has the bytes that were classified (its sha256), so a picture is always of the
cell whose prediction stands beside it; each shows the analysed region outlined, as the
app's views do. Beside each flagged cell's picture is its heatmap, where the model looked
for the class it chose (:func:`with_heatmaps`, the first :data:`MAX_HEATMAPS` flagged cells),
from the model's heatmap sidecar; without a usable sidecar the report says why instead.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from PySide6.QtCore import QMarginsF, QRectF, QSizeF, Qt, QUrl
from PySide6.QtGui import (
    QFont,
    QImage,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
    QTextCursor,
    QTextDocument,
    QTextFormat,
    QTextTable,
)

import hemoapp
from hemoapp.core.agreement import Agreement
from hemoapp.core.contract import CENTER_CROP
from hemoapp.core.atomic_write import atomic_path
from hemoapp.core.pdf_check import check_pdf_complete
from hemoapp.core.report import (
    CellLists,
    ListedCell,
    ReportContext,
    cell_lists,
    report_html,
    report_title,
)
from hemoapp.core.report_markup import PICTURE_WIDTH
from hemoapp.core.review import Review
from hemoapp.core.summary import Summary
from hemoapp.gui.thumbnails import decode_images
from hemoapp.gui.widgets.heatmap_controls import pil_to_qimage
from hemoapp.gui.widgets.image_view import draw_region_outline

#: Print resolution: sharp text, small file.
RESOLUTION_DPI = 300

#: Pixels on the long side of a listed cell's picture: sharp at its printed size of about 2 cm.
PICTURE_PIXELS = 192

#: Flagged cells that get a heatmap at most: each is one more decode and pass of the sidecar
#: (about 10 ms), so a large batch's report is still written in seconds.
MAX_HEATMAPS = 100


def write_report_pdf(path: str | os.PathLike[str], html_text: str, title: str,
                     pictures: Mapping[str, QImage] | None = None) -> Path:
    """Lay out ``html_text`` on A4 pages and write them to ``path`` as a PDF; return the path.

    ``pictures`` are the images its ``<img src=NAME>`` elements name. A table that fits on
    a page is never split across two (:func:`keep_tables_whole`), and every page ends with
    the title and "page N of M".

    Raises:
        OSError: the folder cannot be written, or Qt wrote no whole PDF (e.g. the disk is full:
            :class:`~hemoapp.core.atomic_write.IncompleteWriteError`); the old file is kept.
    """
    path = Path(path)
    # Qt reports no write error (a full disk leaves a PDF cut short): the whole file is checked
    # before it replaces anything.
    with atomic_path(path, validate=check_pdf_complete) as temporary:
        writer = QPdfWriter(str(temporary))
        writer.setResolution(RESOLUTION_DPI)
        writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
        writer.setPageMargins(QMarginsF(15, 15, 15, 15), QPageLayout.Unit.Millimeter)
        writer.setTitle(title)
        writer.setCreator(f"HemoLens {hemoapp.__version__}")
        document = QTextDocument()
        # Laid out for the writer itself: fonts, image sizes and table lengths are then
        # scaled from screen to print resolution, as QTextDocument.print_ does.
        document.documentLayout().setPaintDevice(writer)
        document.setDocumentMargin(0)  # the writer's page margins are the margins
        for name, image in (pictures or {}).items():
            document.addResource(QTextDocument.ResourceType.ImageResource, QUrl(name), image)
        document.setHtml(html_text)
        body = writer.pageLayout().paintRectPixels(writer.resolution())
        footer_height = 8 / 25.4 * writer.resolution()  # 8 mm under the text for the page line
        document.setPageSize(QSizeF(body.width(), body.height() - footer_height))
        keep_tables_whole(document)
        _paint_pages(writer, document, title, footer_height)
        del writer  # the PDF is finished when the writer goes
    return path


def keep_tables_whole(document: QTextDocument) -> int:
    """Keep every table that fits on a page on one page, under its heading; return how many moved.

    Qt paginates a table cell by cell, line by line, so a listed cell's picture could land
    on one page and its file name and review on the next: such a table starts on a new
    page instead. A heading just above a table moves with it, also when Qt itself put the
    table on the next page and left the heading alone at a page's foot. A table taller
    than a page is left to split.
    """
    page_height = document.pageSize().height()
    layout = document.documentLayout()
    moved = 0
    for frame in document.rootFrame().childFrames():
        if not isinstance(frame, QTextTable):
            continue
        rect = layout.frameBoundingRect(frame)  # lays the document out up to here, moves included
        first_page, last_page = int(rect.top() // page_height), int((rect.bottom() - 1) // page_height)
        if rect.height() > page_height:
            continue
        heading = frame.firstCursorPosition()
        heading.movePosition(QTextCursor.MoveOperation.PreviousBlock)  # the block before the table
        block = heading.block()
        if not (block.blockFormat().headingLevel() and block.text()):
            if first_page != last_page:
                frame_format = frame.frameFormat()
                frame_format.setPageBreakPolicy(QTextFormat.PageBreakFlag.PageBreak_AlwaysBefore)
                frame.setFrameFormat(frame_format)
                moved += 1
            continue
        heading_top = layout.blockBoundingRect(block).top()
        stranded = int(heading_top // page_height) != first_page
        # Already at a page's top: moving it would only leave a blank page.
        at_page_top = heading_top % page_height <= block.blockFormat().topMargin() + 1
        if (first_page != last_page or stranded) and not at_page_top:
            block_format = heading.blockFormat()
            block_format.setPageBreakPolicy(QTextFormat.PageBreakFlag.PageBreak_AlwaysBefore)
            heading.setBlockFormat(block_format)
            moved += 1
    return moved


def _paint_pages(writer: QPdfWriter, document: QTextDocument, title: str, footer_height: float) -> None:
    """Paint ``document``'s pages on ``writer``, each with a footer: ``title``, page N of M."""
    page = document.pageSize()
    pages = document.pageCount()
    painter = QPainter(writer)
    try:
        footer_font = QFont(document.defaultFont())
        footer_font.setPointSizeF(max(footer_font.pointSizeF() - 2, 6))
        for number in range(pages):
            if number:
                writer.newPage()
            painter.save()
            painter.translate(0, -number * page.height())
            document.drawContents(painter, QRectF(0, number * page.height(), page.width(), page.height()))
            painter.restore()
            painter.setFont(QFont(footer_font, writer))
            footer = QRectF(0, page.height(), page.width(), footer_height)
            painter.drawText(footer, Qt.AlignmentFlag.AlignBottom | Qt.AlignmentFlag.AlignLeft, title)
            painter.drawText(footer, Qt.AlignmentFlag.AlignBottom | Qt.AlignmentFlag.AlignRight,
                             f"page {number + 1} of {pages}")
    finally:
        painter.end()


def write_summary_report(path: str | os.PathLike[str], summary: Summary, model_info: Any,
                         context: ReportContext, predictions: Iterable[Any] = (),
                         reviews: Mapping[str, Review] | None = None, agreement: Agreement | None = None) -> Path:
    """Write the batch report of ``summary`` as a PDF (the signature of the CSV writers).

    ``predictions`` and ``reviews`` give the cells listed one by one (flagged, reviewed,
    unreadable); without them the report has the numbers only. ``agreement`` adds the
    comparison with the folders' classes and lists its disagreeing cells (none when
    ``None`` or when no cell was compared).
    """
    lists = cell_lists(predictions, summary.review_threshold, reviews, agreement=agreement)
    cells, pictures = with_pictures(lists)
    cells = with_heatmaps(cells, model_info, pictures)
    html_text = report_html(summary, model_info, context, cells, agreement)
    return write_report_pdf(path, html_text, report_title(context), pictures)


def with_pictures(cells: CellLists) -> tuple[CellLists, dict[str, QImage]]:
    """``cells`` with each listed cell's picture named, and the pictures by name.

    The pictures are decoded as the views decode theirs (:func:`~hemoapp.gui.thumbnails.decode_images`,
    each file checked against the sha256 that was classified), with the analysed region
    outlined (:func:`outlined`). A cell whose file cannot be
    shown keeps a note saying why instead (changed since it was classified, gone,
    unreadable); that never stops the report.
    """
    # The lists never share a cell (cell_lists lists each once), so each file is decoded and held once.
    listed = [cell.prediction for cell in (*cells.flagged, *cells.reviewed, *cells.disagreeing)]
    paths = [str(prediction.record.path) for prediction in listed]
    digests = {str(p.record.path): p.file_sha256 for p in listed if p.file_sha256}
    loaded = {item.key: item for batch in decode_images(paths, PICTURE_PIXELS, 64, digests) for item in batch}
    pictures: dict[str, QImage] = {}

    def pictured(cell: ListedCell) -> ListedCell:
        entry = loaded[str(cell.prediction.record.path)]
        if entry.image is None:
            return dataclasses.replace(cell, picture_note=f"no picture: {entry.error}")
        name = f"hemolens-cell:{len(pictures)}"
        pictures[name] = outlined(entry.image)
        return dataclasses.replace(cell, picture=name)

    return dataclasses.replace(
        cells,
        flagged=tuple(map(pictured, cells.flagged)),
        reviewed=tuple(map(pictured, cells.reviewed)),
        disagreeing=tuple(map(pictured, cells.disagreeing)),
    ), pictures


def with_heatmaps(cells: CellLists, model_info: Any, pictures: dict[str, QImage],
                  limit: int = MAX_HEATMAPS) -> CellLists:
    """``cells`` with a heatmap beside each flagged cell's picture (the first ``limit``), added to ``pictures``.

    The heatmap is the class activation map of the class the model chose, from the
    sidecar of ``model_info``'s model (:class:`~hemoapp.core.heatmap.Sidecar`), drawn over
    the cell's file as classified (its sha256 checked). A missing sidecar, or one made
    for another model, gives no heatmaps and :attr:`CellLists.heatmaps_note` says why; a
    cell whose file cannot be shown says so in its heatmap's place. Never stops the report.
    """
    from hemoapp.core.heatmap import DEFAULT_OPACITY, Sidecar, SidecarError, explain_for_card, overlay
    from hemoapp.core.imageio import ImageReadError, load_display_image

    if not cells.flagged or model_info is None:
        return cells
    try:
        sidecar = Sidecar(model_info.path, model_info.sha256)
    except SidecarError as exc:
        return dataclasses.replace(cells, heatmaps_note=f"No heatmaps: {exc}")

    def drawn(index: int, cell: ListedCell) -> ListedCell:
        if index >= limit:
            return dataclasses.replace(cell, heatmap_note=f"heatmaps of the first {limit} flagged cells only")
        if cell.picture is None:
            return dataclasses.replace(cell, heatmap_note=cell.picture_note or "no picture")
        prediction = cell.prediction
        try:
            image, _ = load_display_image(prediction.record.path, expected_sha256=prediction.file_sha256)
            explanation = explain_for_card(image, prediction.predicted, sidecar, model_info.card)
        except (ImageReadError, SidecarError, ValueError) as exc:
            return dataclasses.replace(cell, heatmap_note=f"no heatmap: {getattr(exc, 'message', None) or exc}")
        shown = overlay(image, explanation.heat, DEFAULT_OPACITY)
        shown.thumbnail((PICTURE_PIXELS, PICTURE_PIXELS))
        name = f"hemolens-heatmap:{len(pictures)}"
        pictures[name] = outlined(pil_to_qimage(shown))
        return dataclasses.replace(cell, heatmap=name)

    flagged = tuple(drawn(index, cell) for index, cell in enumerate(cells.flagged))
    note = ("Beside each picture, where the model looked for the class it chose (class activation map: "
            "the warmer the colour, the more that place pushed the class).")
    if len(flagged) > limit:
        note += f" Heatmaps of the first {limit} flagged cells only; hemoapp explain draws any other."
    return dataclasses.replace(cells, flagged=flagged, heatmaps_note=note)


def outlined(image: QImage) -> QImage:
    """A copy of a listed cell's picture with the region the model analysed outlined (dashed)."""
    picture = image.convertToFormat(QImage.Format.Format_RGB32)  # a format QPainter draws on directly
    painter = QPainter(picture)
    try:
        # 1.5 px wide once the picture is shown PICTURE_WIDTH wide, as the views draw it on screen.
        width = 1.5 * picture.width() / PICTURE_WIDTH
        draw_region_outline(painter, QRectF(picture.rect()), CENTER_CROP, width=width)
    finally:
        painter.end()
    return picture
