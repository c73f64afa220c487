"""The batch report: the summary CSV's numbers, warnings first, the model and the reviewers named."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import re

from hemoapp.core.export import summary_rows
from hemoapp.core.report import (
    DISCLAIMER,
    ReportContext,
    cell_lists,
    report_html,
    report_warnings,
)
from hemoapp.core.review import Review, review_key
from hemoapp.core.sample import NO_SAMPLE_ID, SampleDetails
from hemoapp.core.summary import INTERVAL_NOTE, summarize
from hemoapp.core.unsure_share import UnsureShare

from hemotest.predictions import make

AT = dt.datetime(2026, 11, 24, 9, 30, 5, tzinfo=dt.timezone.utc)


def _cells(html_text: str) -> list[str]:
    """Every table cell's text, in order (an empty cell's no-break space as nothing)."""
    return [html.unescape(cell).strip() for cell in re.findall(r"<t[dh][^>]*>(?:<b>)?(.*?)(?:</b>)?</t[dh]>", html_text)]


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
    for _section, _cls, label, count, value, unit, low, high in summary_rows(summary):
        # Totals are label and count; the other tables add the value and its unit, the differential its interval.
        # A share has its "%" on the number, as every percentage of the report does.
        if unit.startswith("%"):
            value, unit, percent = f"{value}%", unit[1:].strip(), "%"
        else:
            percent = ""
        interval = f"{low}–{high}{percent}" if low else ""
        shown = ([], [value, unit], [value, unit, interval])
        assert any(row[:2] == [label, count] and row[2:] in shown for row in rows), label
    # The differential, by hand: 6 neutrophils, 3 lymphocytes, 1 monocyte and 1 cell reviewed as an
    # immature granulocyte make 11 white cells; the other low-confidence monocyte stays a monocyte.
    # Exact 95% limits (scipy.stats.binomtest(k, 11) "exact": 23.38-83.25 and 0.23-41.28), rounded outwards.
    assert ["Neutrophil", "6", "54.5%", "of white cells", "23.3–83.3%"] in rows
    assert ["Immature granulocyte", "1", "9.1%", "of white cells", "0.2–41.3%"] in rows
    assert html.escape(INTERVAL_NOTE) in text
    assert ["Immature granulocyte", "1", "7.7%", "of counted cells"] in rows  # 13 classified, all counted
    cells = _cells(text)
    for expected in ("/lab/run 7", "2026-11-24T09:30:05Z", "J. Doe", "completed", model_info.sha256,
                     f"{model_info.name} {model_info.version}", "1.37", "0.9"):
        assert expected in cells, expected
    assert html.escape(DISCLAIMER) in text


def test_warnings_come_first_and_say_what_is_missing(model_info):
    summary = _summary()
    context = ReportContext("/lab/run 7", "cancelled", files_found=40, entries_skipped=5, entries_unreadable=2)
    warnings = report_warnings(summary, context)
    assert warnings == [
        "Incomplete batch (cancelled): these counts cover 14 of 40 images.",
        "2 files or folders could not be read by the scan and are in no count.",
        "1 of 2 flagged cells have not been reviewed by a person.",
        "1 images could not be classified and are in no count.",
        NO_SAMPLE_ID,  # last: the counts are right, only the specimen is unnamed
    ]
    text = report_html(summary, model_info, context)
    assert text.index("Read first") < text.index("Totals") < text.index("White-cell differential")
    assert "nobody" in _cells(text)  # no reviewer named
    done = summarize(make({"neutrophil": 3}), 0.9)
    named = ReportContext("/lab", "completed", 3, 0, sample=SampleDetails("S-1"))
    assert report_warnings(done, named) == []
    # A symlink loop or a notes.txt left out on purpose hides no image: no "could not be read" warning.
    on_purpose = ReportContext("/lab", "completed", 3, entries_skipped=1, entries_unreadable=0,
                               sample=SampleDetails("S-1"))
    assert report_warnings(done, on_purpose) == []
    assert "Read first" not in report_html(done, model_info, named)
    assert report_warnings(done, dataclasses.replace(named, sample=None)) == [NO_SAMPLE_ID]
    assert report_warnings(done, dataclasses.replace(named, sample=SampleDetails("", "a comment"))) == [NO_SAMPLE_ID]


def test_the_sample_id_heads_the_report_and_the_comment_keeps_its_lines(model_info):
    sample = SampleDetails("S-2026/0042", "Smear partly haemolysed.\nRecount <b>later</b> & compare")
    text = report_html(_summary(), model_info, ReportContext("/lab/run 7", "completed", 14, 0, sample=sample))
    rows = _table_rows(text)
    assert rows[0] == ["Sample ID", "S-2026/0042"]  # the first line of the first table
    assert rows[1] == ["Comment", "Smear partly haemolysed.<br>Recount <b>later</b> & compare"]
    assert "Recount &lt;b&gt;later&lt;/b&gt; &amp; compare" in text  # text, not markup
    assert rows[2][0] == "Source"
    unnamed = _table_rows(report_html(_summary(), model_info, ReportContext("/lab/run 7", "completed", 14, 0)))
    assert unnamed[0] == ["Sample ID", "not given"] and unnamed[1][0] == "Source"  # no comment row


def test_a_batch_unlike_the_validation_images_is_the_first_warning(model_info):
    summary = _summary()
    unusual = UnsureShare(unsure=12, classified=13, threshold=0.99, validation_fraction=0.1338)
    context = ReportContext("/lab/run 7", "cancelled", files_found=40, unsure_share=unusual)
    warnings = report_warnings(summary, context)
    assert warnings[0] == unusual.warning()
    assert warnings[1].startswith("Incomplete batch")
    rows = _table_rows(report_html(summary, model_info, context))
    assert ["Below the model's review threshold (0.99)", "12 (92.3% of classified images)"] in rows
    assert ["Below it on the model's validation images", "13.4% of validation images"] in rows
    assert ["Unlike the validation images (check the cells)", "yes"] in rows
    # A batch like the validation images: the figures, no warning.
    usual = dataclasses.replace(unusual, unsure=2)
    assert report_warnings(summary, dataclasses.replace(context, unsure_share=usual))[0].startswith("Incomplete")
    assert ["Unlike the validation images (check the cells)", "no"] in _table_rows(
        report_html(summary, model_info, dataclasses.replace(context, unsure_share=usual))
    )


def test_hostile_names_are_text_not_markup(model_info):
    context = ReportContext("/lab/<img src=x onerror=alert(1)>", "completed", reviewers=("<b>me</b> & you",))
    cell = make({"neutrophil": 1}, low={"monocyte": 1})[1]
    cell = dataclasses.replace(cell, record=dataclasses.replace(cell.record, relpath="<img src=y>.jpg"))
    lists = cell_lists([cell], 0.9, {review_key(cell): Review("ig", AT, "<script>x</script>")})
    text = report_html(_summary(), model_info, context, lists)
    assert "<img" not in text and "<b>me</b>" not in text and "<script>" not in text
    texts = html.unescape(re.sub(r"<[^>]+>", "|", text))
    for hostile in ("/lab/<img src=x onerror=alert(1)>", "<b>me</b> & you", "<img src=y>.jpg", "<script>x</script>"):
        assert f"|{hostile}|" in texts, hostile


def _review_batch():
    """Five cells in file order: a confident one reviewed, three flagged (one confirmed, one changed, one
    not reviewed), and an unreadable file; with their reviews."""
    confident = make({"lymphocyte": 2})
    low = make({}, low={"monocyte": 3})
    bad = make({}, errors=1)
    reviews = {
        review_key(confident[1]): Review("lymphocyte", AT, "A. Roe"),
        review_key(low[0]): Review("monocyte", AT, "J. Doe"),
        review_key(low[2]): Review("ig", AT, "J. Doe"),
    }
    return confident + low + bad, reviews


def test_cells_are_listed_flagged_reviewed_and_unreadable_in_file_order():
    predictions, reviews = _review_batch()
    lists = cell_lists(predictions, 0.9, reviews)
    names = lambda cells: [cell.prediction.record.relpath for cell in cells]  # noqa: E731
    assert names(lists.flagged) == ["monocyte100.jpg", "monocyte101.jpg", "monocyte102.jpg"]
    assert [cell.review.class_name if cell.review else None for cell in lists.flagged] == ["monocyte", None, "ig"]
    assert names(lists.reviewed) == ["lymphocyte1.jpg"]  # the confident cell nobody reviewed is not listed
    assert [p.record.relpath for p in lists.unreadable] == ["bad0.jpg"]
    assert dict(lists.totals) == {"flagged": 3, "reviewed": 1, "unreadable": 1, "disagreeing": 0}
    # Cut at the limit, with the totals kept, so the report can say that the list is cut.
    cut = cell_lists(predictions, 0.9, reviews, limit=2)
    assert names(cut.flagged) == ["monocyte100.jpg", "monocyte101.jpg"] and cut.totals["flagged"] == 3


def test_listed_cells_say_what_the_model_and_the_reviewer_said(model_info):
    predictions, reviews = _review_batch()
    lists = cell_lists(predictions, 0.9, reviews)
    # The caller names a picture for one cell and says why another has none.
    flagged = (dataclasses.replace(lists.flagged[0], picture="hemolens-cell:0"),
               dataclasses.replace(lists.flagged[1], picture_note="no picture: the file has changed"),
               lists.flagged[2])
    lists = dataclasses.replace(lists, flagged=flagged)
    text = report_html(summarize(predictions, 0.9, reviews), model_info, ReportContext("/lab"), lists)
    rows = [re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", row))).strip()
            for row in re.findall(r"<tr>(.*?)</tr>", text)]
    assert "monocyte100.jpg Monocyte 50.0% Monocyte (confirmed) J. Doe 2026-11-24 09:30:05Z" in rows
    assert "no picture: the file has changed monocyte101.jpg Monocyte 50.0% not reviewed" in rows
    assert "no picture monocyte102.jpg Monocyte 50.0% Immature granulocyte (changed) J. Doe 2026-11-24 09:30:05Z" in rows
    assert "no picture lymphocyte1.jpg Lymphocyte 99.0% Lymphocyte (confirmed) A. Roe 2026-11-24 09:30:05Z" in rows
    assert "bad0.jpg corrupt: damaged" in rows
    assert text.count("<img ") == 1 and "<img src='hemolens-cell:0'" in text
    assert (text.index("Flagged cells (confidence below 90.0%)") < text.index("Other reviewed cells")
            < text.index("Files that could not be classified"))
    assert "are listed" not in text
    cut = report_html(summarize(predictions, 0.9, reviews), model_info, ReportContext("/lab"),
                      cell_lists(predictions, 0.9, reviews, limit=1))
    assert "The first 1 of 3 are listed; the results CSV has every one." in cut


def test_a_confidence_is_never_rounded_up_to_the_next_tenth(model_info):
    cell = make({}, low={"monocyte": 1})[0]
    sure = dataclasses.replace(cell, confidence=0.9996)
    text = report_html(_summary(), model_info, ReportContext("/lab"), cell_lists([sure], 1.0))
    assert "99.9%" in text and "100.0%" not in text
