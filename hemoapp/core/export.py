"""CSV writers for results and summaries: Excel-friendly, injection-safe, atomic.

Files are UTF-8 with a byte-order mark, so Excel on Windows shows accented names
right (without the mark it assumes the local code page). A text cell that
starts with ``= + - @``, a tab or a carriage return is prefixed with ``'`` so a
spreadsheet shows it instead of running it as a formula (file names come from
whoever produced the folder). Each file is written to a temporary file in the
same folder and renamed over the target once it is on the disk
(:mod:`hemoapp.core.atomic_write`): a crash or a full disk never leaves a
half-written CSV.
"""

from __future__ import annotations

import csv
import datetime as _dt
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from hemoapp.core.atomic_write import atomic_open
from hemoapp.core.contract import CLASS_NAMES, WHITE_CELL_CLASSES, display_name
from hemoapp.core.folder_changes import FolderChanges
from hemoapp.core.review import Review, reported_class, review_of
from hemoapp.core.sample import SampleDetails
from hemoapp.core.summary import (
    SHARE_BASE,
    Summary,
    confidence_percent,
    flag_for,
    interval_bounds_text,
    parameter_text,
    percent_text,
)
from hemoapp.core.unsure_share import UnsureShare

#: Encoding of every CSV HemoLens writes (UTF-8 with a BOM, for Excel).
CSV_ENCODING = "utf-8-sig"

#: Columns of the per-file results CSV, in order.
PREDICTION_COLUMNS: tuple[str, ...] = (
    "file",
    "predicted_class",
    "predicted_display_name",
    "confidence",
    *(f"p_{name}" for name in CLASS_NAMES),
    "flag",
    "error_kind",
    "error",
    "file_sha256",
    "model_name",
    "model_version",
    "model_sha256",
    "calibration_temperature",
    "review_threshold",
    "classified_at",
    # Last, so the columns above keep their places for importers that read by position.
    "reviewed_class",
    "reviewed_at",
    "reviewed_by",
    "reported_class",
    # Added after the review columns, for the same reason.
    "sample_id",
    # Whether the model can judge the cell (hemoapp.core.assessability), added last likewise.
    "assessable",
    "assessable_reason",
)

#: Columns of the summary CSV, in order.
SUMMARY_COLUMNS: tuple[str, ...] = (
    "section",
    "class",
    "label",
    "count",
    "value",
    "unit",
    "ci95_low",
    "ci95_high",
    "model_name",
    "model_version",
    "model_sha256",
    "created_at",
)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(text: str) -> str:
    """Neutralise spreadsheet formula injection in one text cell."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def utc_timestamp(moment: _dt.datetime | None = None) -> str:
    """ISO 8601 UTC time to the second, e.g. ``2025-01-31T14:05:09Z`` (naive means UTC)."""
    moment = moment or _dt.datetime.now(_dt.timezone.utc)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.timezone.utc)
    return moment.astimezone(_dt.timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _number(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _share_number(percent: float | None) -> str:
    """A share in percent as every view shows it (:func:`~hemoapp.core.summary.percent_text`), without
    the "%", which the row's unit says; "" for ``None``."""
    return "" if percent is None else percent_text(percent).removesuffix("%")


def exact_number(value: float) -> str:
    """A parameter as the shortest text that reads back as the same float (``0.9``, ``1.2345``).

    Used for the settings behind the numbers (calibration temperature, review
    threshold): rounding them would make a result impossible to reproduce.
    """
    return repr(float(value))


def model_identity_cells(model_info) -> list[str]:
    """The model's name, version and sha256 as CSV cells: what every row of every CSV carries."""
    return [safe_cell(str(model_info.name)), safe_cell(str(model_info.version)), safe_cell(model_info.sha256)]


def write_predictions_csv(
    path: str | os.PathLike[str],
    predictions: Iterable,
    model_info,
    created: _dt.datetime | None = None,
    review_threshold: float | None = None,
    reviews: Mapping[str, Review] | None = None,
    sample: SampleDetails | None = None,
) -> Path:
    """Write one row per file.

    Columns are :data:`PREDICTION_COLUMNS`. ``flag`` is ``review`` when the
    confidence is below the threshold and ``error`` for a file that could not be
    classified. Probabilities have six decimals. ``file_sha256`` identifies the
    bytes that were classified (empty when the file could not be read at all), so a
    row stays traceable to its input even if the file is renamed or replaced.
    Every row also carries what the numbers depend on besides the model file: the
    card's calibration temperature (it scales every confidence) and the review
    threshold that set the flags. A person's review stands beside the prediction,
    which it never replaces: ``reviewed_class``, ``reviewed_at`` (UTC) and ``reviewed_by``
    (the login name) are empty for a cell nobody reviewed, and ``reported_class`` is the class the summary counts
    it as (the reviewed one, else the predicted one; empty for an error row). ``sample_id``
    is the same in every row, so rows of several batches pasted together stay tied to their specimen.
    ``assessable`` is ``no`` for a cell the model cannot judge (``assessable_reason`` says why: blur,
    exposure, no single centred cell, unlike the training cells); such a cell is not in the summary's
    counts unless a person reviewed it.

    Args:
        path: the CSV to (over)write.
        predictions: :class:`~hemoapp.core.pipeline.Prediction` objects.
        model_info: the :class:`~hemoapp.core.classifier.ModelInfo` that made them.
        created: time written in ``classified_at``: when the batch was started
            (default: now, for callers that write as soon as they classify).
        review_threshold: default: the model card's.
        reviews: people's reviews by :func:`~hemoapp.core.review.review_key`.
        sample: the specimen the batch is (its ``sample_id``; empty when ``None``).

    Returns:
        The path written.
    """
    sample_id = safe_cell((sample or SampleDetails()).sample_id)
    threshold = model_info.card.review_threshold if review_threshold is None else float(review_threshold)
    stamp = utc_timestamp(created)
    model_cells = [
        *model_identity_cells(model_info),
        exact_number(model_info.card.calibration_temperature),
        exact_number(threshold),
    ]
    with atomic_csv_writer(path) as writer:
        writer.writerow(PREDICTION_COLUMNS)
        for prediction in predictions:
            if prediction.ok:
                cells = [
                    safe_cell(prediction.predicted),
                    safe_cell(display_name(prediction.predicted)),
                    _number(prediction.confidence, 6),
                    *(_number(p, 6) for p in prediction.probabilities),
                ]
            else:
                cells = [""] * (3 + len(CLASS_NAMES))
            writer.writerow(
                [
                    safe_cell(prediction.record.relpath),
                    *cells,
                    flag_for(prediction, threshold),
                    safe_cell(prediction.error_kind or ""),
                    safe_cell(prediction.error or ""),
                    prediction.file_sha256 or "",
                    *model_cells,
                    stamp,
                    *_review_cells(prediction, review_of(prediction, reviews)),
                    sample_id,
                    *assessable_cells(prediction),
                ]
            )
    return Path(path)


def assessable_cells(prediction) -> list[str]:
    """``assessable`` (``yes``/``no``; empty for an error row or a cell nobody checked) and its reason."""
    assessable = getattr(prediction, "assessable", None)
    if not prediction.ok or assessable is None:
        return ["", ""]
    return ["yes", ""] if assessable else ["no", safe_cell(getattr(prediction, "assessable_reason", "") or "")]


def _review_cells(prediction, review: Review | None) -> list[str]:
    reported = reported_class(prediction, review) or ""
    if review is None:
        return ["", "", "", safe_cell(reported)]
    return [safe_cell(review.class_name), utc_timestamp(review.at), safe_cell(review.by), safe_cell(reported)]


def _row(
    section: str,
    class_name: str,
    label: str,
    count: str = "",
    value: str = "",
    unit: str = "",
    interval: tuple[str, str] = ("", ""),
) -> list[str]:
    """One summary row: the columns of :data:`SUMMARY_COLUMNS` up to the model's identity."""
    return [section, class_name, label, count, value, unit, *interval]


def summary_rows(summary: Summary) -> list[list[str]]:
    """The summary as ``(section, class, label, count, value, unit, ci95_low, ci95_high)`` rows of text.

    Only the differential's classes and the erythroblasts per 100 white cells have an interval
    (:meth:`Summary.differential_interval`, :meth:`Summary.erythroblast_interval`; rounded
    outwards); the other rows leave it empty.
    """
    rows = [
        _row("totals", "", "Images", str(summary.total)),
        _row("totals", "", "Classified", str(summary.classified)),
        _row("totals", "", "Could not be read", str(summary.errors)),
        _row(
            "totals",
            "",
            f"Flagged for review (confidence below {confidence_percent(summary.review_threshold)})",
            str(summary.flagged),
        ),
        _row("totals", "", "Flagged and not yet reviewed", str(summary.flagged_unreviewed)),
        _row("totals", "", "Reviewed by a person", str(summary.reviewed)),
        _row("totals", "", "Class changed by review (counted as reviewed)", str(summary.changed)),
        _row("totals", "", "Not assessable (image quality, or unlike the training cells)",
             str(summary.not_assessable)),
        _row("totals", "", "Not assessable and not reviewed (in no count)", str(summary.not_assessable_unreviewed)),
        _row("totals", "", "Counted cells (classified, less those in no count): the base of the class shares",
             str(summary.counted)),
    ]
    for reason, count in summary.not_assessable_reasons.items():
        rows.append(_row("not assessable", "", safe_cell(reason), str(count)))
    for name in CLASS_NAMES:
        rows.append(
            _row(
                "counts",
                name,
                display_name(name),
                str(summary.counts.get(name, 0)),
                _share_number(summary.percentages.get(name)),
                f"% of {SHARE_BASE}",
            )
        )
    for name in WHITE_CELL_CLASSES:
        rows.append(
            _row(
                "differential",
                name,
                display_name(name),
                str(summary.counts.get(name, 0)),
                _share_number(summary.differential.get(name)),
                "% of white cells",
                interval_bounds_text(summary.differential_interval(name)),
            )
        )
    rows.append(_row("differential", "", "White cells", str(summary.white_cells)))
    rows.append(
        _row(
            "differential",
            "erythroblast",
            "Erythroblasts per 100 white cells",
            str(summary.counts.get("erythroblast", 0)),
            _number(summary.erythroblasts_per_100_wbc, 1),
            "per 100 white cells",
            interval_bounds_text(summary.erythroblast_interval()),
        )
    )
    rows.append(_row("other", "platelet", "Platelets (not in the differential)", str(summary.platelets)))
    return rows


def sample_rows(sample: SampleDetails | None) -> list[list[str]]:
    """The specimen's rows: its sample ID and the comment, always both (empty when not given).

    Always there, so a reader of the summary CSV sees that no sample ID was entered,
    rather than wondering whether this version of HemoLens records one. Their columns
    are :func:`summary_rows`'.
    """
    sample = sample or SampleDetails()
    return [
        _row("sample", "", "Sample ID", "", safe_cell(sample.sample_id)),
        _row("sample", "", "Comment", "", safe_cell(sample.comment)),
    ]


def batch_rows(
    batch_status: str | None,
    files_found: int | None,
    entries_skipped: int | None = None,
    calibration_temperature: float | None = None,
    unsure: UnsureShare | None = None,
    folder_changes: FolderChanges | None = None,
    entries_unreadable: int | None = None,
) -> list[list[str]]:
    """Rows saying how complete the batch behind a summary is and how it was classified.

    ``entries_skipped`` counts every entry of the folder that is no row (each is named by
    the scan); ``entries_unreadable`` those among them that could not be read, the rest
    were left out on purpose (files of other types, folders reached again through a link).

    A cancelled or failed batch keeps what it classified, so its summary counts
    only part of the folder; a folder the scan could not list holds images that
    were never counted. These rows say so in the file itself, and so does a batch
    whose cells are far less sure than the model's validation images
    (:mod:`hemoapp.core.unsure_share`), and a folder that changed after its scan
    (:mod:`hemoapp.core.folder_changes`). Each row is left out when its value is
    unknown (``None``). Their columns are :func:`summary_rows`'.
    """
    rows = []
    if batch_status is not None:
        rows.append(_row("batch", "", "Batch status", "", safe_cell(batch_status)))
    if files_found is not None:
        rows.append(_row("batch", "", "Image files found", str(files_found)))
    if entries_skipped is not None:
        rows.append(_row("batch", "", "Entries skipped", str(entries_skipped)))
    if entries_unreadable is not None:
        rows.append(_row("batch", "", "Entries skipped that could not be read", str(entries_unreadable)))
    if calibration_temperature is not None:
        # To read, 2 decimals ("1.15"); every row of the results CSV has the exact value.
        rows.append(_row("batch", "", "Calibration temperature", "", parameter_text(calibration_temperature)))
    if unsure is not None:
        rows += [
            _row(
                "batch",
                "",
                f"Below the model's review threshold ({exact_number(unsure.threshold)})",
                str(unsure.unsure),
                _share_number(100.0 * unsure.fraction),
                "% of classified images",
            ),
            _row(
                "batch",
                "",
                "Below it on the model's validation images",
                "",
                _share_number(100.0 * unsure.validation_fraction),
                "% of validation images",
            ),
            _row("batch", "", "Unlike the validation images (check the cells)", "", "yes" if unsure.unusual else "no"),
        ]
    if folder_changes is not None:
        rows += [
            _row("batch", "", "Image files new in the folder since the batch started", str(len(folder_changes.added))),
            _row("batch", "", "Image files changed since the batch started", str(len(folder_changes.modified))),
            _row("batch", "", "Image files gone since the batch started", str(len(folder_changes.removed))),
        ]
    return rows


def write_summary_csv(
    path: str | os.PathLike[str],
    summary: Summary,
    model_info,
    created: _dt.datetime | None = None,
    batch_status: str | None = None,
    files_found: int | None = None,
    entries_skipped: int | None = None,
    unsure_share: UnsureShare | None = None,
    sample: SampleDetails | None = None,
    folder_changes: FolderChanges | None = None,
    entries_unreadable: int | None = None,
) -> Path:
    """Write the summary (totals, counts per class, differential) as a CSV.

    Columns are :data:`SUMMARY_COLUMNS`; every row repeats the model's identity.
    The specimen's rows come first (:func:`sample_rows`), then the batch rows, which
    always include the model card's calibration temperature: the confidences, and so
    the review flags, depend on it.

    Args:
        path: the CSV to (over)write.
        summary: what to write.
        model_info: the :class:`~hemoapp.core.classifier.ModelInfo` behind the predictions.
        created: time written in ``created_at`` (default: now).
        batch_status: how the batch ended ("completed", "cancelled", "failed", "running");
            written first, so a partial count is never mistaken for the whole folder.
        files_found: image files the scan found (the summary's total counts those processed).
        entries_skipped: entries of the folder that are no row: other file types, folders
            reached again through a link, and those the scan could not look into.
        entries_unreadable: those of ``entries_skipped`` that could not be read (their
            images are in no count).
        unsure_share: the batch's cells below the card's review threshold, against its
            validation images (:func:`~hemoapp.core.unsure_share.unsure_share`), or ``None``.
        sample: the specimen's sample ID and comment (empty when ``None``).
        folder_changes: how the folder differs from the batch's scan, by a later scan
            (``None``: not checked, and no rows about it).

    Returns:
        The path written.
    """
    tail = [*model_identity_cells(model_info), utc_timestamp(created)]
    with atomic_csv_writer(path) as writer:
        writer.writerow(SUMMARY_COLUMNS)
        batch = batch_rows(
            batch_status, files_found, entries_skipped, model_info.card.calibration_temperature, unsure_share,
            folder_changes, entries_unreadable,
        )
        for row in sample_rows(sample) + batch + summary_rows(summary):
            writer.writerow([*row, *tail])
    return Path(path)


@contextmanager
def atomic_csv_writer(path: str | os.PathLike[str]) -> Iterator:
    """A ``csv.writer`` whose file replaces ``path`` only if the block completes and the file is on the disk.

    See :func:`~hemoapp.core.atomic_write.atomic_open`: on any failure (a full disk
    included) ``path`` is untouched and an :class:`OSError` is raised.
    """
    with atomic_open(path, encoding=CSV_ENCODING) as handle:
        yield csv.writer(handle)
