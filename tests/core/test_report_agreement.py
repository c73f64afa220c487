"""The report's section on the agreement with the folders' classes (hemoapp.core.report_agreement)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import re

from hemoapp.core.agreement import compare
from hemoapp.core.contract import CLASS_NAMES, SHORT_NAMES, display_name
from hemoapp.core.reference_labels import reference_class
from hemoapp.core.report import ReportContext, cell_lists, report_html
from hemoapp.core.report_agreement import agreement_sections, agreement_text
from hemoapp.core.review import Review, review_key
from hemoapp.core.summary import summarize
from hemotest.predictions import failed, in_folder, predicted

THRESHOLD = 0.9
AT = dt.datetime(2026, 11, 24, 9, 30, 5, tzinfo=dt.timezone.utc)


def validation_batch():
    """Neutrophil folder: 3 right, 1 called IG flagged, 1 called IG *unflagged*; IG folder: 2 right, 1 called
    neutrophil flagged; a lymphocyte flagged but right; a loose cell; an unreadable file in a class folder."""
    cells = [in_folder("neutrophil", predicted("neutrophil", index=i)) for i in range(3)]
    cells += [in_folder("neutrophil", predicted("ig", 0.6, index=10)),
              in_folder("neutrophil", predicted("ig", 0.97, index=11))]
    cells += [in_folder("Immature granulocytes", predicted("ig", index=i)) for i in range(2)]
    cells += [in_folder("Immature granulocytes", predicted("neutrophil", 0.5, index=12))]
    cells += [in_folder("lymphocytes", predicted("lymphocyte", 0.7)), predicted("monocyte")]
    cells += [in_folder("neutrophil", failed())]
    return cells


def _rows(html_text: str) -> list[list[str]]:
    """Every table row, as its cells' texts, as a reader sees them (markup and zero-width spaces removed)."""
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", html_text, flags=re.S):
        cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, flags=re.S)
        rows.append([html.unescape(re.sub(r"<[^>]+>", " ", cell)).replace("\u200b", "").strip() for cell in cells])
    return rows


def test_the_section_has_the_headline_every_class_and_the_matrix():
    agreement = compare(validation_batch(), THRESHOLD, reference_class)
    section = "\n".join(agreement_sections(agreement))
    assert html.escape(agreement_text(agreement), quote=True) in section
    rows = _rows(section)
    class_rows = {row[0]: row[1:] for row in rows if len(row) == 7 and row[0] != "Class"}
    assert set(class_rows) == {display_name(name) for name in CLASS_NAMES}
    # Neutrophil folder: 5 cells, HemoLens calls 4 cells neutrophils (3 + 1 from the IG folder).
    assert class_rows[display_name("neutrophil")][:3] == ["5", "4", "60.0%"]
    assert class_rows[display_name("neutrophil")][4] == "75.0%"  # PPV 3 of 4
    assert class_rows[display_name("ig")][:3] == ["3", "4", "66.7%"]
    assert class_rows[display_name("monocyte")] == ["0", "0", "—", "", "—", ""]  # the loose cell is not compared
    header, *matrix = [row for row in rows if len(row) == len(CLASS_NAMES) + 1]
    assert header[1:] == [SHORT_NAMES[name] for name in CLASS_NAMES]
    as_counts = [[0 if value == "·" else int(value) for value in row[1:]] for row in matrix]
    assert [row[0] for row in matrix] == [display_name(name) for name in CLASS_NAMES]
    assert tuple(map(tuple, as_counts)) == agreement.matrix


def test_unflagged_disagreements_are_called_out_and_unreadable_files_counted():
    agreement = compare(validation_batch(), THRESHOLD, reference_class)
    section = "\n".join(agreement_sections(agreement))
    assert "1 disagreements were not flagged for review" in section
    assert "1 files in class folders could not be read" in section
    caught = [cell for cell in validation_batch() if cell.ok and not cell.record.relpath.endswith("11.jpg")]
    clean = "\n".join(agreement_sections(compare(caught, THRESHOLD, reference_class)))
    assert "not flagged for review" not in clean and "could not be read" not in clean


def test_nothing_compared_gives_no_section():
    assert agreement_sections(compare([predicted("neutrophil")], THRESHOLD, reference_class)) == []


def test_the_report_lists_each_disagreement_in_batch_order_with_both_classes(model_info):
    cells = validation_batch()
    agreement = compare(cells, THRESHOLD, reference_class)
    lists = cell_lists(cells, THRESHOLD, agreement=agreement)
    assert [cell.prediction.record.relpath for cell in lists.disagreeing] == [
        "neutrophil/ig10.jpg", "neutrophil/ig11.jpg", "Immature granulocytes/neutrophil12.jpg"]
    assert lists.totals["disagreeing"] == 3
    cut = cell_lists(cells, THRESHOLD, agreement=agreement, limit=1)
    assert len(cut.disagreeing) == 1 and cut.totals["disagreeing"] == 3

    text = report_html(summarize(cells, THRESHOLD), model_info, ReportContext(source="/lab/validation"), lists,
                       agreement)
    # After the batch's figures, before the flagged cells.
    assert text.index("<h3>Batch and model</h3>") < text.index("Agreement with the folders' classes") < text.index(
        "<h3>Flagged cells")
    listed = text[text.index("<h3>Disagreements"):text.index("<h3>Flagged cells")]
    rows = [row for row in _rows(listed) if row[0] != "Cell"]
    assert [row[1:] for row in rows] == [
        ["neutrophil/ig10.jpg", "Neutrophil", "Immature granulocyte 60.0%", "flagged", "not reviewed"],
        ["neutrophil/ig11.jpg", "Neutrophil", "Immature granulocyte 97.0%", "NOT flagged", "not reviewed"],
        ["Immature granulocytes/neutrophil12.jpg", "Immature granulocyte", "Neutrophil 50.0%", "flagged",
         "not reviewed"],
    ]
    assert "no picture" in rows[0][0]  # no picture was provided for it
    # Without an agreement the report is as before: no section.
    assert "folders' classes" not in report_html(summarize(cells, THRESHOLD), model_info,
                                                 ReportContext(source="x"), cell_lists(cells, THRESHOLD))


def test_a_disagreeing_cell_is_listed_once_with_its_review(model_info):
    cells = validation_batch()
    reviewed_as_folder = next(cell for cell in cells if cell.record.relpath == "neutrophil/ig10.jpg")
    unflagged = next(cell for cell in cells if cell.record.relpath == "neutrophil/ig11.jpg")
    reviews = {review_key(reviewed_as_folder): Review("neutrophil", AT, "J. Doe"),
               review_key(unflagged): Review("ig", AT, "A. Roe")}
    agreement = compare(cells, THRESHOLD, reference_class)
    lists = cell_lists(cells, THRESHOLD, reviews, agreement=agreement)
    disagreeing = {cell.prediction.record.relpath for cell in lists.disagreeing}
    # Flagged or reviewed, a disagreeing cell is listed once: among the disagreements.
    assert [cell.prediction.record.relpath for cell in lists.flagged] == ["lymphocytes/lymphocyte0.jpg"]
    assert lists.reviewed == () and not disagreeing & {cell.prediction.record.relpath for cell in lists.flagged}

    text = report_html(summarize(cells, THRESHOLD, reviews), model_info, ReportContext(source="/lab"), lists,
                       agreement)
    listed = text[text.index("<h3>Disagreements"):text.index("<h3>Flagged cells")]
    rows = {row[1]: [" ".join(value.split()) for value in row[4:]] for row in _rows(listed) if row[0] != "Cell"}
    day = "2026-11-24"
    assert rows["neutrophil/ig10.jpg"] == ["flagged", f"Neutrophil (changed) J. Doe {day} 09:30:05Z"]
    assert rows["neutrophil/ig11.jpg"] == ["NOT flagged", f"Immature granulocyte (confirmed) A. Roe {day} 09:30:05Z"]
    assert rows["Immature granulocytes/neutrophil12.jpg"] == ["flagged", "not reviewed"]
    flagged = text[text.index("<h3>Flagged cells"):text.index("<h3>Other reviewed cells")]
    assert "The 2 flagged cells that disagree with their folder's class are listed above" in flagged
    assert [row[1] for row in _rows(flagged) if row[0] != "Cell"] == ["lymphocytes/lymphocyte0.jpg"]
    # The section stays, with the note, when all its cells are listed above.
    other = text[text.index("<h3>Other reviewed cells"):text.index("<h3>Files that could not be classified")]
    assert "The other reviewed cell that disagrees with its folder's class is listed above" in other
    assert [row for row in _rows(other)] == []
    # Not listed among the disagreements (cut), a flagged cell stays in the flagged list.
    cut = cell_lists(cells, THRESHOLD, reviews, limit=1, agreement=agreement)
    assert [cell.prediction.record.relpath for cell in cut.disagreeing] == ["neutrophil/ig10.jpg"]
    assert [cell.prediction.record.relpath for cell in cut.flagged] == ["Immature granulocytes/neutrophil12.jpg"]
    assert cut.totals["flagged"] == 2  # it and the lymphocyte, cut to 1
    assert [cell.prediction.record.relpath for cell in cut.reviewed] == ["neutrophil/ig11.jpg"]


def test_hostile_folder_and_file_names_are_text_not_markup(model_info):
    cells = [in_folder("neutrophil/<b>x</b>&", predicted("ig", 0.5)),
             in_folder("neutrophil", predicted("neutrophil"))]
    agreement = compare(cells, THRESHOLD, reference_class)
    text = report_html(summarize(cells, THRESHOLD), model_info, ReportContext(source="s"),
                       cell_lists(cells, THRESHOLD, agreement=agreement), agreement)
    assert "<b>x</b>&" not in text and "neutrophil/&lt;b&gt;x&lt;/b&gt;&amp;/ig0.jpg" in text.replace("\u200b", "")


def test_every_percentage_of_the_report_has_one_format(model_info):
    # The counts' table once read "16.7" (the "%" in a unit column), the agreement's "100.00 %", and the
    # calibration temperature 1.1491684984465433: a reader of one report sees one way of writing each.
    cells = validation_batch()
    agreement = compare(cells, THRESHOLD, reference_class)
    info = dataclasses.replace(
        model_info, card=dataclasses.replace(model_info.card, calibration_temperature=1.1491684984465433))
    text = report_html(summarize(cells, THRESHOLD), info, ReportContext(source="/lab/validation"),
                       cell_lists(cells, THRESHOLD, agreement=agreement), agreement)
    words = html.unescape(re.sub(r"<[^>]+>", " ", text)).replace("\u200b", "")
    shown = re.findall(r"\d[\d.]*(?:–[\d.]+)?\s*%", words)
    assert shown and "100.0%" in shown and "60.0%" in shown  # the neutrophils' sensitivity, 3 of 5
    # "95%" of "95% interval" is a name, not a figure; every figure has one decimal and its "%" attached.
    figures = [value for value in shown if value != "95%"]
    assert all(re.fullmatch(r"\d+\.\d(–\d+\.\d)?%", value) for value in figures), figures
    assert "1.15" in words and "1.149" not in words
