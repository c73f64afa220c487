"""Counts, flags and the white-cell differential."""

from __future__ import annotations

import pytest

from hemoapp.core.contract import CLASS_NAMES, WHITE_CELL_CLASSES
from hemoapp.core.summary import (
    confidence_percent,
    flag_for,
    fraction_percent,
    interval_bounds_text,
    interval_percent,
    parameter_text,
    percent_text,
    summarize,
)
from hemotest.predictions import failed, make, predicted


def test_lab_style_differential():
    # 40 white cells: 20 neutrophils (4 of them low confidence), 10 lymphocytes, 4 monocytes,
    # 3 eosinophils, 1 basophil, 2 IG; plus 6 erythroblasts, 9 platelets and 2 unreadable files.
    predictions = make(
        {"neutrophil": 16, "lymphocyte": 10, "monocyte": 4, "eosinophil": 3, "basophil": 1, "ig": 2,
         "erythroblast": 6, "platelet": 9},
        low={"neutrophil": 4},
        errors=2,
    )
    summary = summarize(predictions, review_threshold=0.9)
    assert summary.total == 57 and summary.classified == 55 and summary.errors == 2
    assert summary.flagged == 4
    assert summary.counts["neutrophil"] == 20
    assert list(summary.counts) == list(CLASS_NAMES)
    assert summary.percentages["platelet"] == pytest.approx(100 * 9 / 55)
    assert sum(summary.percentages.values()) == pytest.approx(100)
    assert summary.white_cells == 40
    assert list(summary.differential) == list(WHITE_CELL_CLASSES)
    assert summary.differential == pytest.approx(
        {"neutrophil": 50.0, "lymphocyte": 25.0, "monocyte": 10.0, "eosinophil": 7.5, "basophil": 2.5, "ig": 5.0}
    )
    assert sum(summary.differential.values()) == pytest.approx(100)
    assert summary.erythroblasts_per_100_wbc == pytest.approx(15.0)
    assert summary.platelets == 9


def test_no_white_cells_gives_no_differential():
    summary = summarize(make({"platelet": 3, "erythroblast": 1}, errors=1), review_threshold=0.9)
    assert summary.white_cells == 0
    assert all(value is None for value in summary.differential.values())
    assert summary.erythroblasts_per_100_wbc is None
    assert summary.platelets == 3 and summary.errors == 1


def test_empty_and_all_errors():
    empty = summarize([], 0.9)
    assert empty.total == 0 and empty.classified == 0 and all(v == 0.0 for v in empty.percentages.values())
    broken = summarize([failed(0), failed(1)], 0.9)
    assert broken.errors == 2 and broken.classified == 0 and broken.flagged == 0


def test_threshold_is_strict_and_flags_name_the_row_state():
    at = predicted("monocyte", confidence=0.9)
    below = predicted("monocyte", confidence=0.8999)
    assert flag_for(at, 0.9) == ""
    assert flag_for(below, 0.9) == "review"
    assert flag_for(failed(), 0.9) == "error"
    assert summarize([at, below], 0.9).flagged == 1
    assert summarize([at, below], 0.0).flagged == 0


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.9896, "98.9%"),
        (0.99, "99.0%"),
        (0.9996, "99.9%"),  # not 100.0%: only a certain answer reads 100
        (0.999, "99.9%"),  # the gallery once showed this cell as "99%", the table as 99.9%
        (1.0, "100.0%"),
        (0.29, "29.0%"),  # 0.29 * 1000 is 289.99999999999997 in floating point
        (0.0, "0.0%"),
    ],
)
def test_confidences_are_shown_rounded_down(value, text):
    assert confidence_percent(value) == text


def test_confidences_have_one_format_only():
    # No second precision to pick: a view cannot show one cell as "99%" and another as "99.9%".
    with pytest.raises(TypeError):
        confidence_percent(0.999, 0)


@pytest.mark.parametrize(
    ("percent", "text"),
    [
        (16.666, "16.7%"),  # to the nearest, one decimal, the "%" on the number
        (54.5454, "54.5%"),
        (100.0, "100.0%"),
        (99.96, "99.9%"),  # not 100.0%: only a share of everything reads 100
        (0.04, "0.1%"),  # not 0.0%: only a share of nothing reads 0
        (0.0, "0.0%"),
        (None, "—"),
    ],
)
def test_shares_have_one_format(percent, text):
    assert percent_text(percent) == text


def test_fractions_and_intervals_read_as_shares():
    assert fraction_percent(0.9922) == "99.2%"
    assert fraction_percent(1.0) == "100.0%"
    assert fraction_percent(None) == "—"
    assert interval_percent((1.6432, 11.2835)) == "1.6–11.3%"  # rounded outwards
    assert interval_percent(None) == ""


def test_a_parameter_reads_to_two_decimals():
    assert parameter_text(1.1491684984465433) == "1.15"
    assert parameter_text(1.0) == "1.00"


def test_a_flagged_confidence_never_reads_as_its_threshold():
    for threshold in (0.9, 0.95, 0.99, 1.0):
        below = threshold - 1e-7
        assert flag_for(predicted("neutrophil", below), threshold) == "review"
        assert float(confidence_percent(below).rstrip("%")) < threshold * 100


def test_the_differential_interval_is_the_exact_one_for_the_white_cells_counted():
    # 5 monocytes among 100 white cells (95 neutrophils); platelets and erythroblasts are not white cells.
    summary = summarize(make({"monocyte": 5, "neutrophil": 95, "platelet": 40, "erythroblast": 7}), 0.9)
    low, high = summary.differential_interval("monocyte")
    assert (low, high) == (pytest.approx(1.6432, abs=1e-4), pytest.approx(11.2835, abs=1e-4))  # Rümke: 2-11
    assert summary.differential_interval("basophil")[0] == 0.0
    assert interval_bounds_text((low, high)) == ("1.6", "11.3")
    assert summarize(make({"platelet": 3}), 0.9).differential_interval("monocyte") is None


def test_the_erythroblast_ratio_interval_follows_from_their_share_of_nucleated_cells():
    # 7 erythroblasts and 100 white cells: 7.0 per 100; exact limits of 7 of 107 (scipy.stats.binomtest),
    # turned into per-100 ratios, are 2.744-14.963.
    summary = summarize(make({"erythroblast": 7, "neutrophil": 100, "platelet": 9}), 0.9)
    assert summary.erythroblasts_per_100_wbc == pytest.approx(7.0)
    low, high = summary.erythroblast_interval()
    assert (low, high) == (pytest.approx(2.7438, abs=1e-4), pytest.approx(14.9628, abs=1e-4))
    assert summarize(make({"neutrophil": 10}), 0.9).erythroblast_interval()[0] == 0.0
    assert summarize(make({"erythroblast": 3}), 0.9).erythroblast_interval() is None  # no white cells, no ratio


@pytest.mark.parametrize(
    ("interval", "expected"),
    [
        ((7.56, 30.21), ("7.5", "30.3")),
        ((0.0, 100.0), ("0.0", "100.0")),
        ((2.9, 29.0), ("2.9", "29.0")),
        (None, ("", "")),
    ],
)
def test_interval_bounds_are_rounded_outwards(interval, expected):
    assert interval_bounds_text(interval) == expected
