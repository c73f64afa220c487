"""The agreement with a lab's class folders is over the assessable cells; the not-assessable ones are counted apart.

A cell the model cannot judge is left out of the differential; so it is of the agreement, or "24 of 24 cells"
would count cells whose class the model does not report (issue 43).
"""

from __future__ import annotations

from dataclasses import replace
from html import escape

import pytest

from hemoapp.core.agreement import compare, disagrees
from hemoapp.core.agreement_export import agreement_rows
from hemoapp.core.binomial import proportion_interval
from hemoapp.core.contract import CLASS_NAMES
from hemoapp.core.reference_labels import reference_class
from hemoapp.core.report_agreement import agreement_sections, agreement_text, not_assessable_note
from hemoapp.core.review import Review, review_key
from hemoapp.core.summary import summarize
from hemotest.predictions import in_folder, predicted

THRESHOLD = 0.9


def not_assessable(prediction, reason: str = "blurred (sharpness 3.0, at least 14.8 needed)"):
    return replace(prediction, assessable=False, assessable_reason=reason)


def lab_batch():
    """24 cells in class folders: 21 assessable (19 right, 2 neutrophils called IG, one of them flagged) and 3 not
    assessable (2 neutrophils, one called a lymphocyte, and a lymphocyte called a monocyte)."""
    cells = [in_folder("neutrophil", predicted("neutrophil", index=i)) for i in range(10)]
    cells += [in_folder("neutrophil", predicted("ig", 0.95, index=20)),
              in_folder("neutrophil", predicted("ig", 0.6, index=21))]
    cells += [in_folder("lymphocyte", predicted("lymphocyte", index=i)) for i in range(9)]
    cells += [in_folder("neutrophil", not_assessable(predicted("neutrophil", index=30))),
              in_folder("neutrophil", not_assessable(predicted("lymphocyte", index=31))),
              in_folder("lymphocyte", not_assessable(predicted("monocyte", index=32), "unlike the training cells"))]
    return cells


def test_not_assessable_cells_are_counted_apart_not_compared():
    result = compare(lab_batch(), THRESHOLD, reference_class)
    assert result.compared == 21 and result.agreed == 19 and result.not_assessable == 3
    assert result.with_reference == 24
    assert result.overall == pytest.approx(19 / 21)
    assert result.overall_interval == proportion_interval(19, 21)
    by_class = {row.name: row for row in result.classes}
    assert (by_class["neutrophil"].reference, by_class["neutrophil"].not_assessable) == (12, 2)
    assert (by_class["lymphocyte"].reference, by_class["lymphocyte"].not_assessable) == (9, 1)
    assert by_class["monocyte"].predicted == 0  # the not-assessable "monocyte" is in no column
    assert sum(row.not_assessable for row in result.classes) == 3
    # Only the assessable disagreements are listed, flagged or not.
    assert [cell.relpath for cell in result.disagreements] == ["neutrophil/ig20.jpg", "neutrophil/ig21.jpg"]
    assert result.flagged == 1 and result.unflagged == 20
    # The Disagreeing filter shows the cells the figure counts.
    listed = [p.record.relpath for p in lab_batch() if disagrees(p, reference_class)]
    assert listed == [cell.relpath for cell in result.disagreements]


def test_a_reviewed_not_assessable_cell_is_still_not_compared():
    # The agreement measures the model: a person's class for a cell the model could not judge does not make
    # the model's class one to compare, though the differential counts it with the person's class.
    cells = lab_batch()
    reviews = {review_key(cell): Review("neutrophil", by="J. Doe") for cell in cells if cell.assessable is False}
    assert compare(cells, THRESHOLD, reference_class).compared == 21
    assert summarize(cells, THRESHOLD, reviews).counted == 24


def test_the_words_say_assessable_and_how_many_were_left_out_per_folder():
    result = compare(lab_batch(), THRESHOLD, reference_class)
    note = not_assessable_note(result)
    assert note == ("3 of the 24 cells in class folders are not assessable and left out of the agreement "
                    "(Neutrophil 2, Lymphocyte 1)")
    words = agreement_text(result)
    assert "on 90.5% of 21 assessable cells (19;" in words and f"{note}." in words
    assert "24 cells (" not in words
    html = "\n".join(agreement_sections(result))
    assert "Not assessable (not compared)" in html and escape("Folder's cells compared") in html
    # Without not-assessable cells, the words are as before.
    plain = compare([c for c in lab_batch() if c.assessable is not False], THRESHOLD, reference_class)
    assert not_assessable_note(plain) == "" and "of 21 cells (19;" in agreement_text(plain)
    assert "Not assessable" not in "\n".join(agreement_sections(plain))


def test_when_most_cells_are_left_out_the_words_say_the_agreement_says_little():
    """bccd-wbc: 349 of 351 not assessable, and "100%" on the other 2 must not read as a verdict."""
    cells = lab_batch()
    mostly_left_out = [cell if index < 4 else not_assessable(cell) for index, cell in enumerate(cells)]
    result = compare(mostly_left_out, THRESHOLD, reference_class)
    assert result.compared == 4 and result.not_assessable == 20
    note = not_assessable_note(result)
    assert note.endswith("Most cells were left out: the agreement covers only the 4 compared and says little "
                         "about this folder's cells")
    assert "Most cells" not in not_assessable_note(compare(cells, THRESHOLD, reference_class))


def test_the_agreement_csv_counts_them_overall_and_per_folder_class():
    rows = agreement_rows(compare(lab_batch(), THRESHOLD, reference_class))
    overall = {row[3]: row for row in rows if row[0] == "overall"}
    assert overall["Cells compared (reference class and a prediction)"][4] == "21"
    assert overall["Agreement"][4:6] == ["19", "21"]
    assert overall["Not assessable (reference class, not compared)"][4:6] == ["3", "24"]
    per_class = {row[1]: row[4:6] for row in rows if row[0] == "class" and row[3] == "Not assessable (not compared)"}
    assert per_class["neutrophil"] == ["2", "14"] and per_class["lymphocyte"] == ["1", "10"]
    assert set(per_class) == set(CLASS_NAMES)


def test_every_cell_not_assessable_still_shows_the_section():
    cells = [c for c in lab_batch() if c.assessable is False]
    result = compare(cells, THRESHOLD, reference_class)
    assert result.compared == 0 and result.with_reference == 3 and result.overall is None
    words = agreement_text(result)
    assert "No cell was compared." in words and "3 of the 3 cells in class folders are not assessable" in words
    assert agreement_sections(result)  # the report says why nothing was compared
