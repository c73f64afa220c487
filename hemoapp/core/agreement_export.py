"""The agreement CSV: a batch compared with a lab's own classes, one fact per row.

Long format, so a spreadsheet filters it by ``section`` and a script reads it without
parsing layout: the overall figures (the cells not compared because they are not
assessable among them), a sensitivity, a positive predictive value and a not-assessable
row per class (with the count they are ``of``), the 64 cells of the confusion matrix,
then one row per disagreement with its file. Every row repeats the model's identity
and the review threshold. Written like the other CSVs (:mod:`hemoapp.core.export`):
UTF-8 with a byte-order mark, formula-safe cells, atomically.
"""

from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path

from hemoapp.core.agreement import Agreement
from hemoapp.core.contract import CLASS_NAMES
from hemoapp.core.export import atomic_csv_writer, exact_number, model_identity_cells, safe_cell, utc_timestamp
from hemoapp.core.summary import fraction_interval_bounds_text

#: Columns of the agreement CSV, in order.
AGREEMENT_COLUMNS: tuple[str, ...] = (
    "section",
    "reference_class",
    "hemolens_class",
    "label",
    "count",
    "of",
    "value",
    "unit",
    "ci95_low",
    "ci95_high",
    "file",
    "model_name",
    "model_version",
    "model_sha256",
    "review_threshold",
    "created_at",
)


def _percent(value: float | None) -> str:
    return "" if value is None else f"{100.0 * value:.2f}"


def _row(section: str, label: str, count="", of="", value="", unit="", interval=None,
         reference: str = "", hemolens: str = "", file: str = "") -> list[str]:
    low, high = fraction_interval_bounds_text(interval)
    return [section, reference, hemolens, label, str(count), str(of), value, unit, low, high, safe_cell(file)]


def agreement_rows(agreement: Agreement) -> list[list[str]]:
    """The comparison as rows of :data:`AGREEMENT_COLUMNS` up to ``file`` (text; percentages to 2 places)."""
    kappa = agreement.kappa
    rows = [
        _row("overall", "Cells compared (reference class and a prediction)", agreement.compared),
        _row("overall", "Not assessable (reference class, not compared)", agreement.not_assessable,
             agreement.with_reference),
        _row("overall", "Agreement", agreement.agreed, agreement.compared, _percent(agreement.overall), "%",
             agreement.overall_interval),
        _row("overall", "Cohen's kappa", value="" if kappa is None else f"{kappa:.4f}"),
        _row("overall", "Flagged for review", agreement.flagged, agreement.compared),
        _row("overall", "Disagreements flagged for review", agreement.flagged_disagreements,
             len(agreement.disagreements)),
        _row("overall", "Disagreements not flagged", agreement.unflagged_disagreements, agreement.unflagged),
        _row("overall", "Agreement on cells not flagged", agreement.unflagged_agreed, agreement.unflagged,
             _percent(agreement.unflagged_agreement), "%", agreement.unflagged_interval),
        _row("overall", "Classified, but no folder names a class", agreement.without_reference),
        _row("overall", "Reference class, but the file could not be classified", agreement.unreadable),
    ]
    for row in agreement.classes:
        rows.append(_row("class", "Sensitivity", row.agreed, row.reference, _percent(row.sensitivity), "%",
                         row.sensitivity_interval, reference=row.name))
        rows.append(_row("class", "Positive predictive value", row.agreed, row.predicted, _percent(row.ppv), "%",
                         row.ppv_interval, hemolens=row.name))
        rows.append(_row("class", "Not assessable (not compared)", row.not_assessable,
                         row.reference + row.not_assessable, reference=row.name))
    for i, reference in enumerate(CLASS_NAMES):
        for j, predicted in enumerate(CLASS_NAMES):
            rows.append(_row("matrix", "Cells", agreement.matrix[i][j], reference=reference, hemolens=predicted))
    for cell in agreement.disagreements:
        rows.append(_row(
            "disagreement", "flagged for review" if cell.flagged else "not flagged", value=f"{cell.confidence:.6f}",
            unit="confidence", reference=cell.reference, hemolens=cell.predicted, file=cell.relpath,
        ))
    return rows


def write_agreement_csv(
    path: str | os.PathLike[str],
    agreement: Agreement,
    model_info,
    created: _dt.datetime | None = None,
) -> Path:
    """Write ``agreement`` as the agreement CSV (:data:`AGREEMENT_COLUMNS`), atomically.

    Args:
        path: the CSV to (over)write.
        agreement: the comparison (:func:`~hemoapp.core.agreement.compare`).
        model_info: the :class:`~hemoapp.core.classifier.ModelInfo` whose predictions were compared.
        created: time written in ``created_at`` (default: now).

    Returns:
        The path written.
    """
    tail = [*model_identity_cells(model_info), exact_number(agreement.review_threshold), utc_timestamp(created)]
    with atomic_csv_writer(path) as writer:
        writer.writerow(AGREEMENT_COLUMNS)
        for row in agreement_rows(agreement):
            writer.writerow([*row, *tail])
    return Path(path)
