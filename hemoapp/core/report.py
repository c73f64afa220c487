"""The batch report a lab files: the summary as one printable HTML page.

The report holds exactly the rows of the summary CSV (:func:`~hemoapp.core.export.batch_rows`
and :func:`~hemoapp.core.export.summary_rows`), so the two never disagree, laid out
for a person: the specimen's sample ID (and comment) on top, then warnings (an incomplete batch,
flagged cells nobody reviewed, unreadable files, no sample ID), then the totals, the differential,
the counts and the batch's provenance (folder, when it ran, the model's name, version and sha256,
who reviewed). When the cells sit in class folders (a lab's validation set), the comparison
with those classes follows (:mod:`hemoapp.core.report_agreement`), with every disagreeing cell
and its picture. Then the cells a reader checks one by one (:func:`cell_lists`): every flagged
cell with its picture, the model's class and confidence and what the reviewer made of it, the
other reviewed cells, and the files that could not be classified, each named by its path.
The GUI turns it into a PDF (``hemoapp.gui.report_pdf``); this module has no Qt.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hemoapp.core.agreement import Agreement
from hemoapp.core.contract import display_name
from hemoapp.core.export import batch_rows, exact_number, summary_rows, utc_timestamp
from hemoapp.core.folder_changes import FolderChanges
from hemoapp.core.report_agreement import agreement_sections
from hemoapp.core.report_markup import (
    ALERT_COLOUR,
    cell_text,
    cut_note,
    file_text,
    header_row,
    label_table,
    picture_cell,
    review_markup,
    row_tables,
    text,
)
from hemoapp.core.review import Review, review_of
from hemoapp.core.sample import NO_SAMPLE_ID, SampleDetails
from hemoapp.core.scan import ScanResult
from hemoapp.core.summary import (
    FLAG_REVIEW,
    INTERVAL_NOTE,
    SHARE_BASE_NOTE,
    Summary,
    confidence_percent,
    flag_for,
    not_assessable_text,
    reason_word,
)
from hemoapp.core.unsure_share import UnsureShare

#: Cells listed one by one per list at most (the results CSV has every cell): a report of
#: a large batch stays a document a person reads, and its pictures a few MB.
MAX_LISTED_CELLS = 1000

#: Said on every report: what the numbers are, and what they are not.
DISCLAIMER = (
    "Research use only, not a medical device. Counts are the model's classes, replaced by a person's "
    "where a cell was reviewed; flagged cells that nobody reviewed are counted with the model's class."
)


@dataclass(frozen=True)
class ReportContext:
    """Where the summarised cells came from, for the report's header and footer.

    Attributes:
        source: the folder (or files) that were opened, as shown to the user.
        batch_status: how the batch ended ("completed", "cancelled", "failed", "running"), or ``None``.
        files_found: image files the scan found, or ``None`` when unknown.
        entries_skipped: entries of the folder that are no row (each named by the scan), or ``None``.
        entries_unreadable: those of ``entries_skipped`` that could not be read (the rest were
            left out on purpose: other file types, folders reached again through a link), or ``None``.
        classified_at: when the batch started, or ``None``.
        reviewers: names under which the cells were reviewed, in first-seen order.
        created: when the report is written (default: now).
        unsure_share: the batch's cells below the model card's review threshold, against
            its validation images (:func:`~hemoapp.core.unsure_share.unsure_share`), or ``None``.
        sample: the specimen's sample ID and comment, as a person entered them (``None`` is
            taken as empty details, so readers need not check for it).
        folder_changes: how the folder differs from the batch's scan, by a later scan, or
            ``None`` when not checked.
    """

    source: str
    batch_status: str | None = None
    files_found: int | None = None
    entries_skipped: int | None = None
    classified_at: _dt.datetime | None = None
    reviewers: tuple[str, ...] = ()
    created: _dt.datetime | None = None
    unsure_share: UnsureShare | None = None
    sample: SampleDetails = field(default_factory=SampleDetails)
    folder_changes: FolderChanges | None = None
    entries_unreadable: int | None = None  # last: the fields before it are also given by position

    def __post_init__(self) -> None:
        if self.sample is None:  # a frozen dataclass: set through object.__setattr__
            object.__setattr__(self, "sample", SampleDetails())


def batch_context(
    source: str,
    scan: ScanResult | None,
    batch_status: str | None,
    classified_at: _dt.datetime | None,
    unsure_share: UnsureShare | None,
    sample: SampleDetails | None,
    reviews: Mapping[str, Review] | None = None,
    folder_changes: FolderChanges | None = None,
) -> ReportContext:
    """The report's context of one batch, as the window and ``hemoapp classify`` both give it.

    Args:
        source: the folder (or files) that were opened, as shown to the user.
        scan: the batch's scan (files found, entries skipped), or ``None`` when unknown.
        reviews: the batch's reviews; their reviewers are named in first-seen order.
        The others: as :class:`ReportContext` has them.
    """
    return ReportContext(
        source=source,
        batch_status=batch_status,
        files_found=len(scan.records) if scan is not None else None,
        entries_skipped=len(scan.skipped) if scan is not None else None,
        entries_unreadable=len(scan.unreadable) if scan is not None else None,
        classified_at=classified_at,
        reviewers=tuple(dict.fromkeys(review.by for review in (reviews or {}).values())),
        unsure_share=unsure_share,
        sample=sample,
        folder_changes=folder_changes,
    )


@dataclass(frozen=True)
class ListedCell:
    """A cell the report names one by one.

    Attributes:
        prediction: the core ``Prediction``.
        review: a person's review of it, or ``None``.
        picture: the name under which the document holds the cell's picture, or ``None``.
        picture_note: why there is no picture (e.g. the file changed since it was classified).
        heatmap: the name of the picture with its heatmap over it (flagged cells), or ``None``.
        heatmap_note: why a flagged cell has no heatmap (``""``: the table has no heatmap column).
    """

    prediction: Any
    review: Review | None = None
    picture: str | None = None
    picture_note: str = ""
    heatmap: str | None = None
    heatmap_note: str = ""


@dataclass(frozen=True)
class CellLists:
    """The cells the report lists, in file order, each list cut at ``MAX_LISTED_CELLS``.

    Each cell is listed once: a disagreeing cell is listed, with its review, among the
    disagreements only, not again among the flagged or reviewed cells.

    Attributes:
        flagged: cells below the review threshold, reviewed or not, except listed disagreeing ones.
        reviewed: other cells a person reviewed (confirmed or changed), except listed disagreeing ones.
        unreadable: files that could not be classified (``Prediction`` objects).
        disagreeing: cells HemoLens put in another class than their folder names
            (:class:`~hemoapp.core.agreement.Agreement`), flagged or not, reviewed or not.
        totals: how many of each there were before the cut, by list name.
        heatmaps_note: a line above the flagged cells about their heatmaps (none for another
            model's sidecar, only the first few), or ``""``.
    """

    flagged: tuple[ListedCell, ...] = ()
    reviewed: tuple[ListedCell, ...] = ()
    unreadable: tuple[Any, ...] = ()
    disagreeing: tuple[ListedCell, ...] = ()
    totals: Mapping[str, int] = field(default_factory=dict)
    heatmaps_note: str = ""


def cell_lists(predictions: Iterable[Any], review_threshold: float,
               reviews: Mapping[str, Review] | None = None, limit: int = MAX_LISTED_CELLS,
               agreement: Agreement | None = None) -> CellLists:
    """Sort a batch's predictions into the report's lists (see :class:`CellLists`).

    The disagreeing cells are the ``agreement``'s disagreements (none without one). One
    left out of the disagreements by the cut stays in the flagged or reviewed list, so a
    cell is only ever unlisted because a list was cut.
    """
    predictions = list(predictions)
    disagreeing_files = {cell.relpath for cell in agreement.disagreements} if agreement is not None else set()
    disagreeing = [ListedCell(prediction, review_of(prediction, reviews)) for prediction in predictions
                   if prediction.ok and prediction.record.relpath in disagreeing_files]
    listed_elsewhere = {cell.prediction.record.relpath for cell in disagreeing[:limit]}
    flagged: list[ListedCell] = []
    reviewed: list[ListedCell] = []
    unreadable: list[Any] = []
    for prediction in predictions:
        if not prediction.ok:
            unreadable.append(prediction)
            continue
        if prediction.record.relpath in listed_elsewhere:
            continue
        review = review_of(prediction, reviews)
        if flag_for(prediction, review_threshold) == FLAG_REVIEW:
            flagged.append(ListedCell(prediction, review))
        elif review is not None:
            reviewed.append(ListedCell(prediction, review))
    totals = {"flagged": len(flagged), "reviewed": len(reviewed), "unreadable": len(unreadable),
              "disagreeing": len(disagreeing)}
    return CellLists(tuple(flagged[:limit]), tuple(reviewed[:limit]), tuple(unreadable[:limit]),
                     tuple(disagreeing[:limit]), totals)


def report_title(context: ReportContext) -> str:
    """The report's title, in the PDF's properties and at the foot of every page: the sample ID and the source.

    On every page, so a page that comes apart from the others still says which specimen it is.
    """
    named = f"sample {context.sample.sample_id}, " if context.sample.sample_id else ""
    return f"HemoLens report: {named}{context.source}"


def report_warnings(summary: Summary, context: ReportContext) -> list[str]:
    """What a reader must know before trusting the counts, worst first (empty: nothing)."""
    warnings = []
    unusual = context.unsure_share.warning() if context.unsure_share is not None else None
    if unusual:
        warnings.append(unusual)  # first: the counts below may not mean what they seem
    if context.batch_status not in (None, "completed"):
        found = f" of {context.files_found}" if context.files_found is not None else ""
        warnings.append(
            f"Incomplete batch ({context.batch_status}): these counts cover {summary.total}{found} images."
        )
    if context.folder_changes:
        warnings.append(context.folder_changes.warning())
    if context.entries_unreadable:
        # Only what could not be read: a link loop or a .txt left out on purpose hides no image.
        warnings.append(
            f"{context.entries_unreadable} files or folders could not be read by the scan and are in no count."
        )
    if summary.flagged_unreviewed:
        warnings.append(
            f"{summary.flagged_unreviewed} of {summary.flagged} flagged cells have not been reviewed by a person."
        )
    if summary.errors:
        warnings.append(f"{summary.errors} images could not be classified and are in no count.")
    if summary.not_assessable_unreviewed:
        warnings.append(f"{not_assessable_text(summary)}.")
    if not context.sample.sample_id:
        warnings.append(NO_SAMPLE_ID)  # last: the counts are right, only what they belong to is unsaid
    return warnings


def report_html(summary: Summary, model_info: Any, context: ReportContext, cells: CellLists | None = None,
                agreement: Agreement | None = None) -> str:
    """The report as an HTML document (Qt's rich-text subset: tables, no CSS layout).

    Args:
        summary: the counts, as the summary CSV has them.
        model_info: the :class:`~hemoapp.core.classifier.ModelInfo` behind the predictions.
        context: where the cells came from.
        cells: the cells to list one by one (none when ``None``). Their pictures are
            ``<img>`` elements naming :attr:`ListedCell.picture`, which the caller provides
            as the document's resources.
        agreement: the comparison with the folders' classes, when the cells are in class
            folders: a section of its own after the batch's figures, listing ``cells.disagreeing``.
    """
    rows = summary_rows(summary)
    batch = batch_rows(
        context.batch_status,
        context.files_found,
        context.entries_skipped,
        model_info.card.calibration_temperature,
        context.unsure_share,
        context.folder_changes,
        context.entries_unreadable,
    )
    sample = context.sample
    # The specimen first: a printed report is matched to its sample by this line.
    specimen = [("Sample ID", sample.sample_id or "not given")]
    if sample.comment:
        specimen.append(("Comment", sample.comment))
    parts = [
        "<html><head><meta charset='utf-8'><title>HemoLens report</title></head><body>",
        "<h2>HemoLens: blood cell classification report</h2>",
        label_table(
            [
                *specimen,
                ("Source", context.source),
                ("Classified at (UTC)", utc_timestamp(context.classified_at) if context.classified_at else "—"),
                ("Report written (UTC)", utc_timestamp(context.created)),
                ("Reviewed by", ", ".join(context.reviewers) if context.reviewers else "nobody"),
            ]
        ),
    ]
    warnings = report_warnings(summary, context)
    if warnings:
        items = "".join(f"<li>{text(line)}</li>" for line in warnings)
        parts.append(f"<p style='color:{ALERT_COLOUR}'><b>Read first:</b></p>"
                     f"<ul style='color:{ALERT_COLOUR}'>{items}</ul>")
    parts.append("<h3>Totals</h3>")
    parts.append(_section_table(rows, ("totals",), ("", "Count")))
    if summary.not_assessable:
        parts.append("<h3>Not assessable</h3>")
        parts.append(f"<p>{text(not_assessable_text(summary))}.</p>")
        parts.append(_section_table(rows, ("not assessable",), ("Reason", "Cells")))
    parts.append("<h3>White-cell differential</h3>")
    parts.append(_section_table(rows, ("differential",), ("", "Cells", "Value", "Unit", "95% interval")))
    parts.append(f"<p><small>{text(INTERVAL_NOTE)}</small></p>")
    parts.append("<h3>Cells per class</h3>")
    parts.append(_section_table(rows, ("counts", "other"), ("Class", "Cells", "Share", "Of")))
    if summary.counted != summary.classified:
        parts.append(f"<p><small>{text(SHARE_BASE_NOTE)}</small></p>")
    parts.append("<h3>Batch and model</h3>")
    parts.append(
        label_table(
            [(label, _count_and_value(count, value, unit)) for _section, _cls, label, count, value, unit, *_ in batch]
            + [
                ("Review threshold", exact_number(summary.review_threshold)),
                ("Model", f"{model_info.name} {model_info.version}"),
                ("Model SHA-256", model_info.sha256),
            ]
        )
    )
    if agreement is not None:
        disagreeing = cells.disagreeing if cells is not None else ()
        total = cells.totals.get("disagreeing", 0) if cells is not None else 0
        parts += agreement_sections(agreement, disagreeing, total)
    if cells is not None:
        parts += _cell_sections(cells, summary.review_threshold)
    parts.append(f"<p><small>{text(DISCLAIMER)}</small></p></body></html>")
    return "\n".join(parts)


def _cell_sections(cells: CellLists, review_threshold: float) -> list[str]:
    """The listed cells: flagged, then other reviewed, then unreadable files (a section per non-empty list)."""
    parts = []
    cell_headers = ("Cell", "File", "Model", "Reviewed as", "Reviewed by, at (UTC)")
    flagged_above = sum(1 for cell in cells.disagreeing if flag_for(cell.prediction, review_threshold) == FLAG_REVIEW)
    reviewed_above = sum(1 for cell in cells.disagreeing
                         if cell.review is not None and flag_for(cell.prediction, review_threshold) != FLAG_REVIEW)
    if cells.flagged or flagged_above:
        parts.append(f"<h3>Flagged cells (confidence below {confidence_percent(review_threshold)})</h3>")
        parts.append(_listed_above_note(flagged_above, "flagged"))
        parts.append(cut_note(cells.flagged, cells.totals.get("flagged", 0)))
        if cells.heatmaps_note:
            parts.append(f"<p><i>{text(cells.heatmaps_note)}</i></p>")
        parts.append(_listed_table(cells.flagged, cell_headers))
    if cells.reviewed or reviewed_above:
        parts.append("<h3>Other reviewed cells</h3>")
        parts.append(_listed_above_note(reviewed_above, "other reviewed"))
        parts.append(cut_note(cells.reviewed, cells.totals.get("reviewed", 0)))
        parts.append(_listed_table(cells.reviewed, cell_headers))
    if cells.unreadable:
        parts.append("<h3>Files that could not be classified</h3>")
        parts.append(cut_note(cells.unreadable, cells.totals.get("unreadable", 0)))
        rows = "".join(
            f"<tr><td>{file_text(p.record.relpath)}</td><td>{text(p.error_kind)}: {text(p.error)}</td></tr>"
            for p in cells.unreadable
        )
        head = header_row(("File", "Reason"))
        parts.append(f"<table border='1' cellspacing='0' cellpadding='4'>{head}{rows}</table>")
    return parts


def _listed_above_note(count: int, kind: str) -> str:
    """A line saying that ``count`` cells of this ``kind`` are listed with the disagreements instead, or nothing."""
    if not count:
        return ""
    if count == 1:
        subject = f"The {kind} cell that disagrees with its folder's class is"
    else:
        subject = f"The {count} {kind} cells that disagree with their folder's class are"
    return f"<p><i>{subject} listed above with the disagreements and their reviews, not again here.</i></p>"


#: Column widths of a listed-cells table, in percent: picture, file, model, review, reviewer.
_LISTED_WIDTHS = (17, 27, 18, 18, 20)

#: The same with the heatmap beside the picture (flagged cells): picture, heatmap, file, model, review, reviewer.
_HEATMAP_WIDTHS = (15, 15, 20, 15, 16, 19)


def _listed_table(cells: Sequence[ListedCell], headers: tuple[str, ...]) -> str:
    """One row per cell: picture, file, the model's class and confidence, and the review (or its absence).

    When a cell has a heatmap (or a note why not), a heatmap column follows the picture.
    """
    heatmaps = any(cell.heatmap is not None or cell.heatmap_note for cell in cells)
    rows = []
    for cell in cells:
        prediction = cell.prediction
        model = f"{text(display_name(prediction.predicted))}<br>{confidence_percent(prediction.confidence)}"
        if getattr(prediction, "assessable", None) is False:
            why = text(reason_word(prediction.assessable_reason))
            model += f"<br><span style='color:{ALERT_COLOUR}'>not assessable: {why}</span>"
        verdict, who = review_markup(prediction, cell.review)
        pictures = [picture_cell(cell.picture, cell.picture_note)]
        if heatmaps:
            pictures.append(picture_cell(cell.heatmap, cell.heatmap_note or "no heatmap"))
        rows.append((*pictures, file_text(prediction.record.relpath), model, verdict, who))
    if heatmaps:
        return row_tables(rows, (headers[0], "Where the model looked", *headers[1:]), _HEATMAP_WIDTHS)
    return row_tables(rows, headers, _LISTED_WIDTHS)


def _count_and_value(count: str, value: str, unit: str) -> str:
    """A batch row's figures in one cell: "12", "1.15", "13.4% of validation images", "40 (62.5% of …)"."""
    if value and unit:
        value = f"{value}{unit}" if unit.startswith("%") else f"{value} {unit}"
    if count and value:
        return f"{count} ({value})"
    return count or value


def _section_table(rows: list[list[str]], sections: tuple[str, ...], headers: tuple[str, ...]) -> str:
    """The summary rows of ``sections`` as a bordered table: label, count, then value, unit and interval if headed."""
    lines = []
    for section, _cls, label, count, value, unit, low, high in rows:
        if section not in sections:
            continue
        # A share reads as every percentage of the report does ("16.7%", "1.6–11.3%": the "%" on
        # the number, as the agreement's and the confidences'), not a bare "16.7" beside a unit.
        share = unit.startswith("%")
        percent = "%" if share else ""
        interval = f"{low}–{high}{percent}" if low and high else ""
        if share:
            value, unit = (f"{value}%" if value else ""), unit[1:].strip()
        cells = [f"<td>{cell_text(label)}</td>", f"<td align='right'>{cell_text(count)}</td>"]
        cells += [
            f"<td align='right'>{cell_text(value)}</td>",
            f"<td>{cell_text(unit)}</td>",
            f"<td align='right'>{cell_text(interval)}</td>",
        ][: len(headers) - 2]
        lines.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table border='1' cellspacing='0' cellpadding='4'>{header_row(headers)}{''.join(lines)}</table>"
