"""The batch report: the summary CSV's numbers, warnings first, the model and the reviewers named."""

from __future__ import annotations

import datetime as dt
import html
import re

from hemoapp.core.export import summary_rows
from hemoapp.core.report import DISCLAIMER, ReportContext, report_html, report_warnings
from hemoapp.core.review import Review, review_key
from hemoapp.core.summary import summarize

from hemotest.predictions import make

AT = dt.datetime(2026, 11, 24, 9, 30, 5, tzinfo=dt.timezone.utc)


def _cells(html_text: str) -> list[str]:
    """Every table cell's text, in order."""
    return [html.unescape(cell) for cell in re.findall(r"<t[dh][^>]*>(?:<b>)?(.*?)(?:</b>)?</t[dh]>", html_text)]


def _table_rows(html_text: str) -> list[list[str]]:
    """Every table row, as its cells' texts."""
    return [_cells(row) for row in re.findall(r"<tr>(.*?)</tr>", html_text)]


def _summary():
    predictions = make({"neutrophil": 6, "lymphocyte": 3, "platelet": 2}, low={"monocyte": 2}, errors=1)
    low = [p for p in predictions if p.ok and p.confidence < 0.9]
    reviews = {review_key(low[0]): Review("ig", AT, "J. Doe")}
    return summarize(predictions, 0.9, reviews)


def test_the_report_has_every_number_of_the_summary_csv(model_info):
    summary = _summary()
    text = report_html(summary, model_info, ReportContext("/lab/run 7", "completed", 14, 0, AT, ("J. Doe",), AT))
    rows = _table_rows(text)
    for _section, _cls, label, count, value, unit in summary_rows(summary):
        # Totals are label and count; the other tables add the value and its unit.
        assert any(row[:2] == [label, count] and row[2:] in ([], [value, unit]) for row in rows), label
    # The differential, by hand: 6 neutrophils, 3 lymphocytes, 1 monocyte and 1 cell reviewed as an
    # immature granulocyte make 11 white cells; the other low-confidence monocyte stays a monocyte.
    assert ["Neutrophil", "6", "54.5", "% of white cells"] in rows
    assert ["Immature granulocyte", "1", "9.1", "% of white cells"] in rows
    assert ["Immature granulocyte", "1", "7.7", "% of classified images"] in rows  # 13 classified
    cells = _cells(text)
    for expected in ("/lab/run 7", "2026-11-24T09:30:05Z", "J. Doe", "completed", model_info.sha256,
                     f"{model_info.name} {model_info.version}", "1.3721", "0.9"):
        assert expected in cells, expected
    assert html.escape(DISCLAIMER) in text


def test_warnings_come_first_and_say_what_is_missing(model_info):
    summary = _summary()
    context = ReportContext("/lab/run 7", "cancelled", files_found=40, entries_skipped=2)
    warnings = report_warnings(summary, context)
    assert warnings == [
        "Incomplete batch (cancelled): these counts cover 14 of 40 images.",
        "2 files or folders could not be read by the scan and are in no count.",
        "1 of 2 flagged cells have not been reviewed by a person.",
        "1 images could not be classified and are in no count.",
    ]
    text = report_html(summary, model_info, context)
    assert text.index("Read first") < text.index("Totals") < text.index("White-cell differential")
    assert "nobody" in _cells(text)  # no reviewer named
    done = summarize(make({"neutrophil": 3}), 0.9)
    assert report_warnings(done, ReportContext("/lab", "completed", 3, 0)) == []
    assert "Read first" not in report_html(done, model_info, ReportContext("/lab", "completed", 3, 0))


def test_hostile_names_are_text_not_markup(model_info):
    context = ReportContext("/lab/<img src=x onerror=alert(1)>", "completed", reviewers=("<b>me</b> & you",))
    text = report_html(_summary(), model_info, context)
    assert "<img" not in text and "<b>me</b>" not in text
    assert "/lab/<img src=x onerror=alert(1)>" in _cells(text) and "<b>me</b> & you" in _cells(text)
