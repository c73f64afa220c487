"""The comparison with the folders' classes in words: the window's headline and the report's section.

:func:`agreement_text` is the summary tab's headline; :func:`agreement_sections` puts the
same headline, each class's sensitivity and PPV with their exact intervals, the confusion
matrix and every disagreement (with its picture and its review) into the batch report, so a lab can
file the comparison (:mod:`hemoapp.core.agreement`) with the model's identity beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hemoapp.core.agreement import Agreement
from hemoapp.core.contract import CLASS_NAMES, SHORT_NAMES, display_name
from hemoapp.core.report_markup import (
    ALERT_COLOUR,
    cell_text,
    cut_note,
    file_text,
    header_row,
    picture_cell,
    review_markup,
    row_tables,
    text,
)
from hemoapp.core.summary import confidence_percent, fraction_percent, interval_percent

#: How the reference and the compared class are defined, said wherever the figures are shown.
REFERENCE_NOTE = (
    "The reference is the class each cell's folder names (the innermost folder that names one, e.g. "
    "neutrophil/ or NRBC/); HemoLens's class is the model's, not a person's review."
)


def share_text(value: float | None) -> str:
    """A fraction in percent as every share is shown (:func:`~hemoapp.core.summary.fraction_percent`:
    "99.2%"), or "—" when undefined."""
    return fraction_percent(value)


def interval_text(interval: tuple[float, float] | None) -> str:
    """An exact 95% interval of a fraction in percent, rounded outwards ("98.7–99.6%"), or ""."""
    if interval is None:
        return ""
    return interval_percent((100.0 * interval[0], 100.0 * interval[1]))


def not_assessable_note(agreement: Agreement) -> str:
    """The cells in class folders that were not compared because the model cannot judge them, or ``""``.

    "3 of the 24 cells in class folders are not assessable and left out of the agreement (Neutrophil 2,
    Lymphocyte 1)", by the folders' class: the window, the report and ``hemoapp validate`` say it so.
    """
    if not agreement.not_assessable:
        return ""
    by_class = ", ".join(f"{display_name(row.name)} {row.not_assessable}"
                         for row in sorted(agreement.classes, key=lambda row: -row.not_assessable)
                         if row.not_assessable)
    verb = "is" if agreement.not_assessable == 1 else "are"
    note = (f"{agreement.not_assessable} of the {agreement.with_reference} cells in class folders {verb} not "
            f"assessable and left out of the agreement ({by_class})")
    if agreement.not_assessable > agreement.compared:
        # bccd-wbc: 349 of 351 left out, and "100% agreement" on the 2 others would read as a verdict on the lab.
        note += (f". Most cells were left out: the agreement covers only the {agreement.compared} compared and "
                 "says little about this folder's cells")
    return note


def agreement_text(agreement: Agreement) -> str:
    """The comparison in a few sentences: agreement, kappa, what the review flag caught, what was not compared."""
    kappa = "—" if agreement.kappa is None else f"{agreement.kappa:.3f}"
    cells = "assessable cells" if agreement.not_assessable else "cells"
    words = (
        f"HemoLens agrees with the folders' classes on {share_text(agreement.overall)} of {agreement.compared} "
        f"{cells} ({agreement.agreed}; 95% interval {interval_text(agreement.overall_interval)}), Cohen's kappa "
        f"{kappa}. "
    )
    disagreements = len(agreement.disagreements)
    if not agreement.compared:
        words += "No cell was compared."
    elif not disagreements:
        words += "No cell disagrees."
    elif not agreement.unflagged:
        subject = "The disagreement is" if disagreements == 1 else f"All {disagreements} disagreements are"
        words += f"{subject} flagged for review, as is every cell."
    else:
        words += (f"{agreement.flagged_disagreements} of the {disagreements} disagreements are flagged for review; "
                  f"{agreement.unflagged_disagreements} of the {agreement.unflagged} unflagged cells disagree "
                  f"(95% interval of agreement {interval_text(agreement.unflagged_interval)}).")
    if agreement.without_reference:
        loose = agreement.without_reference
        words += f" {loose} classified {'cell is' if loose == 1 else 'cells are'} in no class folder and not compared."
    if agreement.not_assessable:
        words += f" {not_assessable_note(agreement)}."
    return words


#: Column widths of the disagreements' table, in percent: picture, file, folder, HemoLens, flag, review.
_DISAGREEMENT_WIDTHS = (16, 24, 15, 15, 12, 18)


def agreement_sections(agreement: Agreement, disagreeing: Sequence[Any] = (), total_disagreeing: int = 0) -> list[str]:
    """The report's section on the comparison, as HTML parts; empty when no cell is in a class folder.

    Args:
        agreement: the comparison.
        disagreeing: the disagreeing cells to list one by one, with their pictures
            (:class:`~hemoapp.core.report.ListedCell`, in batch order; may be cut short).
        total_disagreeing: how many there were before the cut.
    """
    if not agreement.with_reference:
        return []
    parts = [
        "<h3>Agreement with the folders' classes</h3>",
        f"<p>{text(agreement_text(agreement))}</p>",
    ]
    if agreement.unflagged_disagreements:
        parts.append(
            f"<p style='color:{ALERT_COLOUR}'><b>{agreement.unflagged_disagreements} disagreements were not flagged "
            "for review:</b> a technician would not have been asked to look at them.</p>"
        )
    if agreement.unreadable:
        parts.append(f"<p>{agreement.unreadable} files in class folders could not be read and are not compared.</p>")
    parts.append(f"<p><small>{text(REFERENCE_NOTE)}</small></p>")
    parts.append(_class_table(agreement))
    parts.append("<h3>Confusion matrix (rows: the folders' class; columns: HemoLens)</h3>")
    parts.append(_matrix_table(agreement))
    if disagreeing:
        parts.append("<h3>Disagreements with the folders' classes</h3>")
        parts.append(cut_note(disagreeing, total_disagreeing))
        parts.append(_disagreement_tables(agreement, disagreeing))
    return parts


def _class_table(agreement: Agreement) -> str:
    """Per class: cells in its folder, HemoLens's cells, sensitivity and PPV with their intervals.

    With not-assessable cells, a column counts the folder's cells left out as not assessable.
    """
    apart = agreement.not_assessable > 0
    headers = ("Class", "Folder's cells", "HemoLens's cells", "Sensitivity", "95% interval", "PPV", "95% interval")
    if apart:
        headers = (headers[0], "Folder's cells compared", "Not assessable (not compared)", *headers[2:])
    lines = []
    for row in agreement.classes:
        values = (
            display_name(row.name), row.reference, *((row.not_assessable,) if apart else ()), row.predicted,
            share_text(row.sensitivity), interval_text(row.sensitivity_interval),
            share_text(row.ppv), interval_text(row.ppv_interval),
        )
        lines.append("<tr><td>" + text(values[0]) + "</td>"
                     + "".join(f"<td align='right'>{cell_text(value)}</td>" for value in values[1:]) + "</tr>")
    return f"<table border='1' cellspacing='0' cellpadding='4'>{header_row(headers)}{''.join(lines)}</table>"


def _matrix_table(agreement: Agreement) -> str:
    """The confusion matrix: a row per folder class, a column per HemoLens class; the agreements in bold."""
    head = "<tr><th></th>" + "".join(f"<th align='right'>{text(SHORT_NAMES[name])}</th>" for name in CLASS_NAMES)
    lines = [head + "</tr>"]
    for i, (name, counts) in enumerate(zip(CLASS_NAMES, agreement.matrix)):
        cells = "".join(
            f"<td align='right'>{f'<b>{count}</b>' if i == j and count else (count or '·')}</td>"
            for j, count in enumerate(counts)
        )
        lines.append(f"<tr><td>{text(display_name(name))}</td>{cells}</tr>")
    return f"<table border='1' cellspacing='0' cellpadding='4'>{''.join(lines)}</table>"


def _disagreement_tables(agreement: Agreement, cells: Sequence[Any]) -> str:
    """A row per disagreeing cell: picture, file, the folder's class, HemoLens's class, whether it was flagged,
    and what a reviewer made of it (by whom, when)."""
    by_file = {cell.relpath: cell for cell in agreement.disagreements}
    rows = []
    for cell in cells:
        prediction = cell.prediction
        disagreement = by_file[prediction.record.relpath]
        flag = ("flagged" if disagreement.flagged
                else f"<span style='color:{ALERT_COLOUR}'><b>NOT flagged</b></span>")
        # Unreviewed is an alert only where a person was asked to look (flagged); the unflagged cell's alert is its flag.
        verdict, who = review_markup(prediction, cell.review, alert_unreviewed=disagreement.flagged)
        rows.append((
            picture_cell(cell.picture, cell.picture_note),
            file_text(prediction.record.relpath),
            text(display_name(disagreement.reference)),
            f"{text(display_name(disagreement.predicted))}<br>{confidence_percent(disagreement.confidence)}",
            flag,
            f"{verdict}<br>{who}" if who else verdict,
        ))
    headers = ("Cell", "File", "Folder's class", "HemoLens", "Review flag", "Reviewed as")
    return row_tables(rows, headers, _DISAGREEMENT_WIDTHS)
