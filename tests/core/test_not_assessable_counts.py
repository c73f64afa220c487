"""Not-assessable cells counted apart, with their reasons, in the same words in the summary, report and CLI."""

from __future__ import annotations

import re
from dataclasses import replace
from html import escape

from hemoapp.core.report import ReportContext, report_html, report_warnings
from hemoapp.core.review import Review, review_key
from hemoapp.core.summary import not_assessable_text, summarize
from hemotest.predictions import predicted


def _batch():
    sure = [predicted("neutrophil", index=i) for i in range(4)]
    blurred = [replace(predicted("lymphocyte", index=10 + i), assessable=False,
                       assessable_reason="blurred (sharpness 3.0, at least 14.8 needed)") for i in range(2)]
    unlike = replace(predicted("monocyte", index=20), assessable=False,
                     assessable_reason="unlike the training cells (energy -2.1, at most -4.0)")
    return sure + blurred + [unlike]


def test_the_line_counts_them_apart_with_their_reasons():
    cells = _batch()
    summary = summarize(cells, 0.9)
    assert not_assessable_text(summary) == (
        "3 not assessable, left out of the counts and the differential (blurred 2, unlike the training cells 1)")
    reviews = {review_key(cells[-1]): Review("monocyte", by="J. Doe")}
    partly = summarize(cells, 0.9, reviews)
    assert not_assessable_text(partly) == (
        "3 not assessable (blurred 2, unlike the training cells 1): 2 not reviewed, left out of the counts and "
        "the differential; 1 reviewed, counted as the person classed them")
    assert not_assessable_text(summarize(cells[:4], 0.9)) == ""


def test_the_report_warns_and_lists_the_reasons(model_info):
    summary = summarize(_batch(), 0.9)
    context = ReportContext(source="/data/slide 7")
    assert f"{not_assessable_text(summary)}." in report_warnings(summary, context)
    html = report_html(summary, model_info, context)
    assert "<h3>Not assessable</h3>" in html
    assert "<td>blurred</td><td align='right'>2</td>" in html
    assert "<td>unlike the training cells</td><td align='right'>1</td>" in html
    # A batch where every cell could be judged says nothing of it.
    plain = summarize(_batch()[:4], 0.9)
    assert "Not assessable</h3>" not in report_html(plain, model_info, context)
    assert not any("not assessable" in line for line in report_warnings(plain, context))


def test_the_cli_summary_counts_them_apart():
    from hemoapp import cli

    summary = summarize(_batch(), 0.9)
    text = cli.format_summary(summary)
    assert "3 not assessable" in text and "blurred 2" in text and "unlike the training cells 1" in text
    assert "left out of the" in text


def test_the_summary_csv_counts_them_and_each_reason(tmp_path, model_info):
    import csv

    from hemoapp.core.export import write_summary_csv

    path = write_summary_csv(tmp_path / "summary.csv", summarize(_batch(), 0.9), model_info)
    rows = list(csv.DictReader(path.open(encoding="utf-8-sig")))
    by_label = {(row["section"], row["label"]): row["count"] for row in rows}
    assert by_label[("totals", "Not assessable (image quality, or unlike the training cells)")] == "3"
    assert by_label[("totals", "Not assessable and not reviewed (in no count)")] == "3"
    assert by_label[("not assessable", "blurred")] == "2"
    assert by_label[("not assessable", "unlike the training cells")] == "1"
    assert by_label[("counts", "Lymphocyte")] == "0" and by_label[("counts", "Neutrophil")] == "4"


def test_a_listed_cell_that_is_not_assessable_says_so_with_its_reason(model_info):
    from hemoapp.core.report import cell_lists

    cells = _batch()
    summary = summarize(cells, 1.01)  # every cell flagged, so every cell is listed
    html = report_html(summary, model_info, ReportContext(source="x"), cell_lists(cells, 1.01))
    assert html.count("not assessable: blurred</span>") == 2
    assert html.count("not assessable: unlike the training cells</span>") == 1


def _lab_slide():
    """24 classified cells, 3 not assessable: the class shares are of the 21 counted cells."""
    cells = [predicted("neutrophil", index=i) for i in range(18)]
    cells += [predicted("lymphocyte", index=30 + i) for i in range(3)]
    return cells + [replace(predicted("monocyte", index=40 + i), assessable=False,
                            assessable_reason="blurred (sharpness 3.0)") for i in range(3)]


def test_the_class_shares_say_they_are_of_the_counted_cells(tmp_path, model_info):
    # 3 lymphocytes of 21 counted cells is 14.3%: labelled "of classified images" (24) it read as 12.5%.
    import csv

    from hemoapp import cli
    from hemoapp.core.export import summary_rows, write_summary_csv
    from hemoapp.core.summary import SHARE_BASE_NOTE

    summary = summarize(_lab_slide(), 0.9)
    assert (summary.classified, summary.counted) == (24, 21)
    assert summary.percentages["lymphocyte"] == 100 * 3 / 21
    counts = {row[1]: row for row in summary_rows(summary) if row[0] == "counts"}
    assert counts["lymphocyte"][3:6] == ["3", "14.3", "% of counted cells"]
    assert all(row[5] == "% of counted cells" for row in counts.values())
    rows = list(csv.DictReader(write_summary_csv(tmp_path / "s.csv", summary, model_info).open(encoding="utf-8-sig")))
    totals = {row["label"]: row["count"] for row in rows if row["section"] == "totals"}
    assert totals["Counted cells (classified, less those in no count): the base of the class shares"] == "21"
    assert totals["Classified"] == "24" and totals["Not assessable and not reviewed (in no count)"] == "3"

    html = report_html(summary, model_info, ReportContext(source="x"))
    assert "<td>Lymphocyte</td><td align='right'>3</td><td align='right'>14.3%</td><td>of counted cells</td>" in html
    assert "of classified images</td>" not in html.split("<h3>Batch and model</h3>")[0]
    assert escape(SHARE_BASE_NOTE) in html  # said in full under the table

    text = cli.format_summary(summary)
    assert "(% of counted cells)" in text.splitlines()[0]
    assert re.search(r"^Counted \(base of %\) +21$", text, re.MULTILINE)
    assert re.search(r"^Lymphocyte +3 +14\.3$", text, re.MULTILINE)
    # With every cell counted the two agree, and the report adds no note.
    plain = summarize(_lab_slide()[:21], 0.9)
    assert plain.counted == plain.classified == 21
    assert escape(SHARE_BASE_NOTE) not in report_html(plain, model_info, ReportContext(source="x"))
