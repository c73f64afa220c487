"""Counts per class and the white-cell differential, as a lab reports them.

The differential is the percentage of each white-cell class among all white
cells (:data:`~hemoapp.core.contract.WHITE_CELL_CLASSES`). Erythroblasts
(nucleated red cells) are not white cells: labs report them per 100 white
cells. Platelets are counted apart. Low-confidence predictions count with their
predicted class (they are also counted as flagged, for review); unreadable files
count only as errors. A cell a person reviewed counts with the class they gave it
(:func:`~hemoapp.core.review.reported_class`), and the summary says how many were
reviewed, how many of those a person changed and how many flagged cells nobody has
checked yet. Each differential percentage comes with its 95% interval from counting
alone (:meth:`Summary.differential_interval`): a differential of 100 cells measures a
5% monocyte share only to within 2–11%.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from hemoapp.core.binomial import proportion_interval
from hemoapp.core.contract import CLASS_NAMES, WHITE_CELL_CLASSES
from hemoapp.core.flags import FLAG_ERROR, FLAG_REVIEW, flag_for
from hemoapp.core.review import Review, is_changed, reported_class, review_of

#: What each class's share is a share of, wherever it is shown (window, summary CSV, report, CLI): the
#: counted cells, i.e. the classified ones less the not-assessable ones nobody reviewed (:attr:`Summary.counted`).
SHARE_BASE = "counted cells"

#: The same, said in full where there is room (a tooltip, the report's note, the CLI's footnote).
SHARE_BASE_NOTE = (
    "Each class's share is of the counted cells: the classified cells less the not-assessable ones nobody "
    "reviewed, which are in no count (a reviewed one counts with the class the person gave it)."
)

#: What the differential's 95% interval means, wherever it is shown.
INTERVAL_NOTE = (
    "95% interval: where the class's true share of the white cells lies, with 95% confidence, given only how "
    "many white cells were counted (exact binomial limits, as in Rümke's table for differential counts). It "
    "does not include the model's classification errors. Counting more cells narrows it."
)


def confidence_percent(value: float) -> str:
    """A confidence or probability as a percentage, rounded *down*: 0.9896 reads "98.9%", never "99.0%".

    Rounding to the nearest would show a cell flagged below a 99% threshold as "99.0%", and
    one at 0.9996 as "100.0%": every view (table, gallery, detail panel, enlarged cell) and the
    report use this, always to one decimal, so no two views show one cell differently.
    """
    return f"{_directed_text(value * 100, 1, math.floor)}%"


def percent_text(percent: float | None) -> str:
    """A share already in percent as HemoLens shows every share: one decimal, "%" attached ("16.7%").

    Rounded to the nearest, except that only a share of everything reads "100.0%" and only a
    share of nothing "0.0%" (99.96 reads "99.9%", 0.04 "0.1%"), as with confidences. "—" for
    ``None`` (a share of no cells). The report, the summary tab and the agreement all use it.
    """
    if percent is None:
        return "—"
    text = f"{percent:.1f}"
    if text == "100.0" and percent < 100.0:
        text = _directed_text(percent, 1, math.floor)
    elif text == "0.0" and percent > 0.0:
        text = _directed_text(percent, 1, math.ceil)
    return f"{text}%"


def fraction_percent(fraction: float | None) -> str:
    """A fraction (0..1) as :func:`percent_text` shows it: 0.9922 reads "99.2%"; "—" for ``None``."""
    return percent_text(None if fraction is None else 100.0 * fraction)


def interval_percent(interval: tuple[float, float] | None) -> str:
    """An interval in percent as shown beside a share: "1.6–11.3%" (rounded outwards), "" for ``None``."""
    return f"{interval_text(interval)}%" if interval is not None else ""


def parameter_text(value: float) -> str:
    """A model parameter for a person to read, to 2 decimals: 1.1491684984465433 reads "1.15", 1.0 "1.00".

    The results CSV keeps the exact value in every row (``calibration_temperature``), for
    reproducing a confidence; the report and the summary show this.
    """
    return f"{value:.2f}"


def interval_bounds_text(interval: tuple[float, float] | None, decimals: int = 1) -> tuple[str, str]:
    """An interval's bounds (in percent) as text, rounded *outwards*: (7.56, 30.21) reads ("7.5", "30.3").

    Rounding outwards keeps the printed interval around the exact one; ``("", "")`` for ``None``.
    """
    if interval is None:
        return "", ""
    low, high = interval
    return _directed_text(low, decimals, math.floor), _directed_text(high, decimals, math.ceil)


def fraction_interval_bounds_text(interval: tuple[float, float] | None, decimals: int = 2) -> tuple[str, str]:
    """An interval of a fraction (0.9879, 0.9953) as percent bounds ("98.79", "99.53"), rounded outwards."""
    return interval_bounds_text(None if interval is None else (100.0 * interval[0], 100.0 * interval[1]), decimals)


def interval_text(interval: tuple[float, float] | None) -> str:
    """An interval (in percent) as one piece of text, "7.5–30.3" (rounded outwards), or "" for ``None``."""
    low, high = interval_bounds_text(interval)
    return f"{low}–{high}" if interval is not None else ""


def _directed_text(value: float, decimals: int, rounding: Callable[[float], int]) -> str:
    """``value`` to ``decimals`` places, rounded by ``rounding`` (``math.floor`` or ``math.ceil``)."""
    scale = 10**decimals
    # round() first: 0.29 * 1000 is 289.99999999999997 in floating point.
    return f"{rounding(round(value * scale, 6)) / scale:.{decimals}f}"


@dataclass(frozen=True)
class Summary:
    """What a batch found.

    Attributes:
        total: files in the batch (classified + errors).
        classified: files with a prediction.
        errors: files that could not be classified.
        flagged: classified files with confidence below ``review_threshold``.
        review_threshold: the threshold used for ``flagged``.
        counts: cells per class (the reviewed class where a person gave one, else the
            model's), every class in contract order (zeros included).
        percentages: percent of the :attr:`counted` cells per class (0.0 when none): of the
            counted cells, not of the classified ones (:data:`SHARE_BASE`).
        white_cells: classified files counted in a white-cell class.
        differential: percent of white cells for each white-cell class, in
            :data:`WHITE_CELL_CLASSES` order; ``None`` values when there are no white cells.
        erythroblasts_per_100_wbc: erythroblasts per 100 white cells, or ``None``
            when there are no white cells.
        platelets: cells counted as platelets.
        reviewed: classified files a person reviewed (confirmed or changed).
        changed: reviewed files whose class the person changed.
        flagged_unreviewed: flagged files nobody has reviewed yet.
        not_assessable: classified cells the model cannot judge (image quality, or unlike the
            training cells: :mod:`hemoapp.core.assessability`). Counted apart: one nobody
            reviewed is in no class count, no percentage and not in the differential; one a
            person reviewed counts with the class they gave it.
        not_assessable_unreviewed: of those, the ones nobody has reviewed (left out of the counts).
        not_assessable_reasons: how many for each reason (its first words, e.g. "blurred").
    """

    total: int
    classified: int
    errors: int
    flagged: int
    review_threshold: float
    counts: dict[str, int]
    percentages: dict[str, float]
    white_cells: int
    differential: dict[str, float | None]
    erythroblasts_per_100_wbc: float | None
    platelets: int
    reviewed: int = 0
    changed: int = 0
    flagged_unreviewed: int = 0
    not_assessable: int = 0
    not_assessable_unreviewed: int = 0
    not_assessable_reasons: dict[str, int] = field(default_factory=dict)

    @property
    def counted(self) -> int:
        """Cells in the class counts, the base of :attr:`percentages`: classified, less the not-assessable
        ones nobody reviewed."""
        return self.classified - self.not_assessable_unreviewed

    def differential_interval(self, name: str) -> tuple[float, float] | None:
        """The 95% interval, in percent of white cells, of white-cell class ``name``'s share.

        Exact (Clopper–Pearson), as in Rümke's table for differential counts: it covers
        only the error of counting this many white cells, not the model's errors.
        ``None`` when there are no white cells.
        """
        interval = proportion_interval(self.counts.get(name, 0), self.white_cells)
        if interval is None:
            return None
        low, high = interval
        return 100.0 * low, 100.0 * high

    def erythroblast_interval(self) -> tuple[float, float] | None:
        """The 95% interval of erythroblasts per 100 white cells, from counting alone.

        Among the cells that are erythroblasts or white cells, the erythroblasts' share
        ``p`` is binomial; per 100 white cells is ``100 p / (1 - p)``, which rises with
        ``p``, so the exact limits of ``p`` give the ratio's. ``None`` when there are no
        white cells (no ratio).
        """
        if not self.white_cells:
            return None
        erythroblasts = self.counts.get("erythroblast", 0)
        low, high = proportion_interval(erythroblasts, erythroblasts + self.white_cells)
        return 100.0 * low / (1.0 - low), 100.0 * high / (1.0 - high)


def summarize(
    predictions: Iterable, review_threshold: float, reviews: Mapping[str, Review] | None = None
) -> Summary:
    """Summarise predictions (objects with ``ok``, ``predicted`` and ``confidence``).

    Args:
        predictions: :class:`~hemoapp.core.pipeline.Prediction` objects.
        review_threshold: confidence below which a prediction is flagged.
        reviews: people's reviews by :func:`~hemoapp.core.review.review_key`; a
            reviewed cell counts with the class the person gave it.
    """
    counts = {name: 0 for name in CLASS_NAMES}
    total = errors = flagged = reviewed = changed = flagged_unreviewed = 0
    not_assessable = left_out = 0
    reasons: dict[str, int] = {}
    for prediction in predictions:
        total += 1
        flag = flag_for(prediction, review_threshold)
        if flag == FLAG_ERROR:
            errors += 1
            continue
        review = review_of(prediction, reviews)
        reviewed += review is not None
        changed += is_changed(prediction, review)
        if flag == FLAG_REVIEW:
            flagged += 1
            flagged_unreviewed += review is None
        if getattr(prediction, "assessable", None) is False:
            not_assessable += 1
            reason = reason_word(getattr(prediction, "assessable_reason", ""))
            reasons[reason] = reasons.get(reason, 0) + 1
            if review is None:
                # Never silently in the differential: only a person's class counts it.
                left_out += 1
                continue
        # A class outside the contract would be a model/card mismatch the
        # classifier already refuses; count it anyway rather than lose it.
        name = reported_class(prediction, review)
        counts[name] = counts.get(name, 0) + 1
    classified = total - errors
    counted = classified - left_out
    percentages = {name: (100.0 * n / counted if counted else 0.0) for name, n in counts.items()}
    white_cells = sum(counts.get(name, 0) for name in WHITE_CELL_CLASSES)
    differential = {
        name: (100.0 * counts.get(name, 0) / white_cells if white_cells else None) for name in WHITE_CELL_CLASSES
    }
    erythroblasts = counts.get("erythroblast", 0)
    return Summary(
        total=total,
        classified=classified,
        errors=errors,
        flagged=flagged,
        review_threshold=float(review_threshold),
        counts=counts,
        percentages=percentages,
        white_cells=white_cells,
        differential=differential,
        erythroblasts_per_100_wbc=(100.0 * erythroblasts / white_cells if white_cells else None),
        platelets=counts.get("platelet", 0),
        reviewed=reviewed,
        changed=changed,
        flagged_unreviewed=flagged_unreviewed,
        not_assessable=not_assessable,
        not_assessable_unreviewed=left_out,
        not_assessable_reasons=dict(sorted(reasons.items(), key=lambda item: (-item[1], item[0]))),
    )


def reason_word(reason: str) -> str:
    """The short form of a not-assessable reason: its words before any parenthesis ("blurred")."""
    return (reason or "not assessable").split(" (")[0].strip()


def not_assessable_text(summary: Summary) -> str:
    """One line on the cells the model cannot judge, with their reasons counted, or ``""`` when there are none.

    "3 not assessable, left out of the counts and the differential (blurred 2, too dark 1)";
    the summary tab, the report and ``hemoapp classify`` all say it so.
    """
    total = summary.not_assessable
    if not total:
        return ""
    reasons = ", ".join(f"{reason} {count}" for reason, count in summary.not_assessable_reasons.items())
    left_out = summary.not_assessable_unreviewed
    if left_out == total:
        return f"{total} not assessable, left out of the counts and the differential ({reasons})"
    reviewed = f"{total - left_out} reviewed, counted as the person classed them"
    if not left_out:
        return f"{total} not assessable ({reasons}): all {reviewed}"
    return (f"{total} not assessable ({reasons}): {left_out} not reviewed, left out of the counts and the "
            f"differential; {reviewed}")
