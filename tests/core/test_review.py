"""A person's review beside the model's prediction: what counts, and what the CSVs say."""

from __future__ import annotations

import datetime as dt

import pytest

from hemoapp.core.export import PREDICTION_COLUMNS, write_predictions_csv, write_summary_csv
from hemoapp.core.review import (
    MAX_REVIEWER_NAME,
    Review,
    clean_reviewer_name,
    current_user,
    is_changed,
    reported_class,
    review_key,
    review_of,
)
from hemoapp.core.summary import summarize

from hemotest.predictions import failed, make, predicted, rows_of

AT = dt.datetime(2026, 11, 24, 9, 30, 5, 123, tzinfo=dt.timezone.utc)


def test_a_review_must_name_a_class_of_the_model():
    with pytest.raises(ValueError, match="not a class"):
        Review("band")
    review = Review("ig")
    assert review.at.tzinfo is not None  # stamped now, in UTC
    assert review.by == current_user() and review.by  # and by whom


def test_reviewer_names_are_one_clean_line():
    assert clean_reviewer_name("  Jane   Doe ") == "Jane Doe"
    # Line breaks, tabs and other control characters would split a CSV row or a log line.
    assert clean_reviewer_name("J. Doe\r\n=cmd|x\t\x00\x1b[31m") == "J. Doe =cmd|x [31m"
    assert clean_reviewer_name("\n\t ") == ""
    long_name = clean_reviewer_name("x" * 200)
    assert long_name == "x" * MAX_REVIEWER_NAME
    assert clean_reviewer_name("Zoë Ångström-Ørsted") == "Zoë Ångström-Ørsted"  # names are not ASCII


def test_reported_class_is_the_reviewed_one_and_the_prediction_is_kept():
    cell = predicted("neutrophil", confidence=0.6)
    assert reported_class(cell, None) == "neutrophil" and not is_changed(cell, None)
    assert reported_class(cell, Review("ig")) == "ig" and is_changed(cell, Review("ig"))
    assert not is_changed(cell, Review("neutrophil"))  # confirmed
    assert cell.predicted == "neutrophil"
    # An unreadable file has nothing to review, even if a mapping holds an entry for it.
    broken = failed()
    assert review_of(broken, {review_key(broken): Review("ig")}) is None and reported_class(broken, None) is None


def test_summary_counts_reviewed_classes_and_says_what_is_left_to_review():
    # 10 neutrophils, 4 of them below the threshold; 5 lymphocytes; 1 unreadable file.
    cells = make({"neutrophil": 6, "lymphocyte": 5}, low={"neutrophil": 4}, errors=1)
    flagged = [c for c in cells if c.ok and c.confidence < 0.9]
    reviews = {
        review_key(flagged[0]): Review("ig"),  # changed
        review_key(flagged[1]): Review("neutrophil"),  # confirmed
        review_key(cells[6]): Review("monocyte"),  # an unflagged lymphocyte, changed
    }
    before = summarize(cells, 0.9)
    after = summarize(cells, 0.9, reviews)
    assert before.counts["neutrophil"] == 10 and before.reviewed == before.changed == 0
    assert before.flagged_unreviewed == before.flagged == 4
    assert after.counts["neutrophil"] == 9 and after.counts["ig"] == 1
    assert after.counts["lymphocyte"] == 4 and after.counts["monocyte"] == 1
    assert after.reviewed == 3 and after.changed == 2
    assert after.flagged == 4 and after.flagged_unreviewed == 2  # the model's flags stay
    assert after.white_cells == before.white_cells == 15
    assert after.differential["neutrophil"] == pytest.approx(60.0)
    assert after.differential["ig"] == pytest.approx(100 / 15)
    assert after.classified == 15 and after.errors == 1


def test_results_csv_keeps_the_prediction_beside_the_review(tmp_path, model_info):
    cells = [predicted("neutrophil", confidence=0.6), predicted("lymphocyte", index=1), failed()]
    reviews = {review_key(cells[0]): Review("ig", AT, "jdoe")}
    rows = rows_of(write_predictions_csv(tmp_path / "r.csv", cells, model_info, reviews=reviews))
    assert tuple(rows[0]) == PREDICTION_COLUMNS
    changed, untouched, broken = rows
    assert changed["predicted_class"] == "neutrophil" and changed["flag"] == "review"
    assert (changed["reviewed_class"], changed["reviewed_at"], changed["reviewed_by"], changed["reported_class"]) == (
        "ig", "2026-11-24T09:30:05Z", "jdoe", "ig"
    )
    assert (untouched["reviewed_class"], untouched["reviewed_at"], untouched["reviewed_by"]) == ("", "", "")
    assert untouched["reported_class"] == "lymphocyte"
    assert broken["reported_class"] == "" and broken["flag"] == "error"
    # Without reviews (the command line) every cell is reported as predicted.
    plain = rows_of(write_predictions_csv(tmp_path / "p.csv", cells, model_info))
    assert [r["reported_class"] for r in plain] == ["neutrophil", "lymphocyte", ""]


def test_summary_csv_says_how_much_was_reviewed(tmp_path, model_info):
    cells = make({"lymphocyte": 2}, low={"neutrophil": 3})
    reviews = {review_key(cells[2]): Review("monocyte")}
    rows = rows_of(write_summary_csv(tmp_path / "s.csv", summarize(cells, 0.9, reviews), model_info))
    totals = {r["label"]: r["count"] for r in rows if r["section"] == "totals"}
    assert totals["Flagged and not yet reviewed"] == "2"
    assert totals["Reviewed by a person"] == "1"
    assert totals["Class changed by review (counted as reviewed)"] == "1"
    counts = {r["class"]: r["count"] for r in rows if r["section"] == "counts"}
    assert counts["neutrophil"] == "2" and counts["monocyte"] == "1"
