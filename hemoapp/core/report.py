"""The batch report a lab files: the summary as one printable HTML page.

The report holds exactly the rows of the summary CSV (:func:`~hemoapp.core.export.batch_rows`
and :func:`~hemoapp.core.export.summary_rows`), so the two never disagree, laid out
for a person: warnings first (an incomplete batch, flagged cells nobody reviewed,
unreadable files), then the totals, the differential, the counts and the batch's provenance
(folder, when it ran, the model's name, version and sha256, who reviewed).
The GUI turns it into a PDF (``hemoapp.gui.report_pdf``); this module has no Qt.
"""

from __future__ import annotations

import datetime as _dt
import html
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from hemoapp.core.export import batch_rows, exact_number, summary_rows, utc_timestamp
from hemoapp.core.summary import Summary

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
        entries_skipped: files or folders the scan could not look into, or ``None``.
        classified_at: when the batch started, or ``None``.
        reviewers: names under which the cells were reviewed, in first-seen order.
        created: when the report is written (default: now).
    """

    source: str
    batch_status: str | None = None
    files_found: int | None = None
    entries_skipped: int | None = None
    classified_at: _dt.datetime | None = None
    reviewers: tuple[str, ...] = ()
    created: _dt.datetime | None = None


def report_warnings(summary: Summary, context: ReportContext) -> list[str]:
    """What a reader must know before trusting the counts, worst first (empty: nothing)."""
    warnings = []
    if context.batch_status not in (None, "completed"):
        found = f" of {context.files_found}" if context.files_found is not None else ""
        warnings.append(
            f"Incomplete batch ({context.batch_status}): these counts cover {summary.total}{found} images."
        )
    if context.entries_skipped:
        warnings.append(f"{context.entries_skipped} files or folders could not be read by the scan and are in no count.")
    if summary.flagged_unreviewed:
        warnings.append(
            f"{summary.flagged_unreviewed} of {summary.flagged} flagged cells have not been reviewed by a person."
        )
    if summary.errors:
        warnings.append(f"{summary.errors} images could not be classified and are in no count.")
    return warnings


def report_html(summary: Summary, model_info: Any, context: ReportContext) -> str:
    """The report as a self-contained HTML document (Qt's rich-text subset: tables, no CSS layout).

    Args:
        summary: the counts, as the summary CSV has them.
        model_info: the :class:`~hemoapp.core.classifier.ModelInfo` behind the predictions.
        context: where the cells came from.
    """
    rows = summary_rows(summary)
    batch = batch_rows(
        context.batch_status, context.files_found, context.entries_skipped, model_info.card.calibration_temperature
    )
    parts = [
        "<html><head><meta charset='utf-8'><title>HemoLens report</title></head><body>",
        "<h2>HemoLens: blood cell classification report</h2>",
        _table(
            [
                ("Source", context.source),
                ("Classified at (UTC)", utc_timestamp(context.classified_at) if context.classified_at else "—"),
                ("Report written (UTC)", utc_timestamp(context.created)),
                ("Reviewed by", ", ".join(context.reviewers) if context.reviewers else "nobody"),
            ]
        ),
    ]
    warnings = report_warnings(summary, context)
    if warnings:
        items = "".join(f"<li>{_text(line)}</li>" for line in warnings)
        parts.append(f"<p style='color:#b00020'><b>Read first:</b></p><ul style='color:#b00020'>{items}</ul>")
    parts.append("<h3>Totals</h3>")
    parts.append(_section_table(rows, ("totals",), ("", "Count")))
    parts.append("<h3>White-cell differential</h3>")
    parts.append(_section_table(rows, ("differential",), ("", "Cells", "Value", "Unit")))
    parts.append("<h3>Cells per class</h3>")
    parts.append(_section_table(rows, ("counts", "other"), ("Class", "Cells", "%", "Unit")))
    parts.append("<h3>Batch and model</h3>")
    parts.append(
        _table(
            [(label, count or value) for _section, _cls, label, count, value, _unit in batch]
            + [
                ("Review threshold", exact_number(summary.review_threshold)),
                ("Model", f"{model_info.name} {model_info.version}"),
                ("Model SHA-256", model_info.sha256),
            ]
        )
    )
    parts.append(f"<p><small>{_text(DISCLAIMER)}</small></p></body></html>")
    return "\n".join(parts)


def _text(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _table(pairs: Iterable[tuple[str, str]]) -> str:
    body = "".join(f"<tr><td><b>{_text(label)}</b></td><td>{_text(value)}</td></tr>" for label, value in pairs)
    return f"<table cellspacing='0' cellpadding='3'>{body}</table>"


def _section_table(rows: list[list[str]], sections: tuple[str, ...], headers: tuple[str, ...]) -> str:
    """The summary rows of ``sections`` as a bordered table: label, count, then value and unit if headed."""
    head = "".join(f"<th align='left'>{_text(h)}</th>" for h in headers)
    lines = []
    for section, _cls, label, count, value, unit in rows:
        if section not in sections:
            continue
        cells = [f"<td>{_text(label)}</td>", f"<td align='right'>{_text(count)}</td>"]
        cells += [f"<td align='right'>{_text(value)}</td>", f"<td>{_text(unit)}</td>"][: len(headers) - 2]
        lines.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table border='1' cellspacing='0' cellpadding='4'><tr>{head}</tr>{''.join(lines)}</table>"
