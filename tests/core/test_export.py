"""CSV export: columns, BOM, formula injection, atomic replacement."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import os
import stat
from pathlib import Path

import pytest

from hemoapp.core import export
from hemoapp.core.contract import CLASS_NAMES, WHITE_CELL_CLASSES
from hemoapp.core.export import (
    PREDICTION_COLUMNS,
    SUMMARY_COLUMNS,
    safe_cell,
    sample_rows,
    write_predictions_csv,
    write_summary_csv,
)
from hemoapp.core.pipeline import Prediction
from hemoapp.core.sample import SampleDetails
from hemoapp.core.scan import ImageRecord
from hemoapp.core.summary import summarize
from hemoapp.core.unsure_share import UnsureShare
from hemotest.predictions import rows_of

CREATED = dt.datetime(2025, 3, 4, 5, 6, 7, 890, tzinfo=dt.timezone(dt.timedelta(hours=2)))


def prediction(relpath: str, winner: str, confidence: float) -> Prediction:
    rest = (1 - confidence) / (len(CLASS_NAMES) - 1)
    probabilities = [confidence if name == winner else rest for name in CLASS_NAMES]
    digest = hashlib.sha256(relpath.encode()).hexdigest()
    return Prediction.from_probabilities(ImageRecord(Path(relpath), relpath, 10), probabilities, file_sha256=digest)


@pytest.fixture()
def predictions() -> list[Prediction]:
    return [
        prediction("sub/Zelle_ä.jpg", "neutrophil", 0.95),
        prediction("=HYPERLINK(evil).jpg", "ig", 0.5),
        Prediction.failed(ImageRecord(Path("bad.jpg"), "bad.jpg", 0), "truncated", "-the file is truncated"),
    ]


def test_predictions_csv_columns_and_values(tmp_path, predictions, model_info):
    out = write_predictions_csv(tmp_path / "r.csv", predictions, model_info, created=CREATED)
    assert out == tmp_path / "r.csv"
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads it as UTF-8
    assert "Zelle_ä".encode("utf-8") in raw
    with open(out, encoding="utf-8-sig", newline="") as handle:
        header = next(csv.reader(handle))
    assert tuple(header) == PREDICTION_COLUMNS
    assert header[4:12] == [f"p_{name}" for name in CLASS_NAMES]

    good, low, bad = rows_of(out)
    assert good["file"] == "sub/Zelle_ä.jpg"
    assert good["predicted_class"] == "neutrophil" and good["predicted_display_name"] == "Neutrophil"
    assert good["confidence"] == "0.950000" and good["p_neutrophil"] == "0.950000"
    assert sum(float(good[f"p_{n}"]) for n in CLASS_NAMES) == pytest.approx(1.0, abs=1e-5)
    assert good["flag"] == "" and good["error_kind"] == "" and good["error"] == ""
    assert good["model_name"] == "hemolens-lite0" and good["model_version"] == "1.0"
    assert good["model_sha256"] == "ab" * 32
    assert good["file_sha256"] == hashlib.sha256(b"sub/Zelle_\xc3\xa4.jpg").hexdigest()
    assert bad["file_sha256"] == ""  # an error row without readable bytes has no digest
    # what the numbers depend on besides the model file, unrounded
    assert good["calibration_temperature"] == "1.3721" and good["review_threshold"] == "0.8"
    assert header[header.index("model_sha256") + 1 :][:2] == ["calibration_temperature", "review_threshold"]
    assert {r["calibration_temperature"] for r in (low, bad)} == {"1.3721"}
    assert good["classified_at"] == "2025-03-04T03:06:07Z"  # converted to UTC

    assert low["flag"] == "review"  # 0.5 < the card's threshold 0.8
    assert low["predicted_display_name"] == "Immature granulocyte"
    assert bad["flag"] == "error" and bad["error_kind"] == "truncated"
    assert bad["predicted_class"] == "" and bad["confidence"] == "" and bad["p_basophil"] == ""


def test_formula_injection_is_neutralised(tmp_path, predictions, model_info):
    out = write_predictions_csv(tmp_path / "r.csv", predictions, model_info, created=CREATED)
    _, low, bad = rows_of(out)
    assert low["file"] == "'=HYPERLINK(evil).jpg"
    assert bad["error"] == "'-the file is truncated"
    for text in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"]:
        assert safe_cell(text) == "'" + text
    for text in ["cell.jpg", "", "1.5", "a=b"]:
        assert safe_cell(text) == text


def test_threshold_override_and_default_time(tmp_path, predictions, model_info):
    out = write_predictions_csv(tmp_path / "r.csv", predictions, model_info, review_threshold=0.99)
    rows = rows_of(out)
    assert [r["flag"] for r in rows] == ["review", "review", "error"]
    assert {r["review_threshold"] for r in rows} == {"0.99"}  # the threshold that set the flags
    stamp = dt.datetime.strptime(rows[0]["classified_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
    assert abs((dt.datetime.now(dt.timezone.utc) - stamp).total_seconds()) < 60


def test_write_is_atomic(tmp_path, predictions, model_info, monkeypatch):
    target = tmp_path / "r.csv"
    target.write_text("previous results\n")

    class Exploding:
        def __init__(self, items):
            self.items = items

        def __iter__(self):
            yield self.items[0]
            raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        write_predictions_csv(target, Exploding(predictions), model_info)
    assert target.read_text() == "previous results\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.csv"]  # no temp file left

    write_predictions_csv(target, predictions, model_info)
    assert len(rows_of(target)) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.csv"]


def test_new_file_gets_normal_permissions(tmp_path, predictions, model_info):
    out = write_predictions_csv(tmp_path / "r.csv", predictions, model_info)
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask
    out.chmod(0o600)
    write_predictions_csv(out, predictions, model_info)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # an existing file keeps its mode


def test_missing_folder_raises_oserror(tmp_path, predictions, model_info):
    with pytest.raises(OSError):
        write_predictions_csv(tmp_path / "nope" / "r.csv", predictions, model_info)


def test_summary_csv(tmp_path, predictions, model_info):
    summary = summarize(predictions, review_threshold=0.8)
    out = write_summary_csv(tmp_path / "s.csv", summary, model_info, created=CREATED)
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    rows = rows_of(out)
    assert tuple(rows[0]) == SUMMARY_COLUMNS
    by_label = {(r["section"], r["label"]): r for r in rows}
    assert by_label[("totals", "Images")]["count"] == "3"
    assert by_label[("totals", "Could not be read")]["count"] == "1"
    assert by_label[("totals", "Flagged for review (confidence below 80.0%)")]["count"] == "1"
    neutrophil = by_label[("differential", "Neutrophil")]
    assert neutrophil["count"] == "1" and neutrophil["value"] == "50.0" and neutrophil["unit"] == "% of white cells"
    # 1 of 2 white cells: exact 95% limits 1.26-98.74% (scipy.stats.binomtest), rounded outwards.
    assert (neutrophil["ci95_low"], neutrophil["ci95_high"]) == ("1.2", "98.8")
    with_interval = {(r["section"], r["class"]) for r in rows if r["ci95_low"] or r["ci95_high"]}
    assert with_interval == {("differential", name) for name in (*WHITE_CELL_CLASSES, "erythroblast")}
    assert by_label[("counts", "Immature granulocyte")]["value"] == "50.0"
    assert by_label[("differential", "Erythroblasts per 100 white cells")]["value"] == "0.0"
    assert all(r["model_sha256"] == "ab" * 32 and r["created_at"] == "2025-03-04T03:06:07Z" for r in rows)


def test_summary_csv_says_how_complete_the_batch_is(tmp_path, predictions, model_info):
    summary = summarize(predictions, review_threshold=0.8)
    out = write_summary_csv(
        tmp_path / "s.csv", summary, model_info, batch_status="cancelled", files_found=40, entries_skipped=2
    )
    rows = rows_of(out)
    assert [(r["section"], r["label"], r["count"], r["value"]) for r in rows[:6]] == [
        ("sample", "Sample ID", "", ""),  # always there: "none entered" is said, not left out
        ("sample", "Comment", "", ""),
        ("batch", "Batch status", "", "cancelled"),
        ("batch", "Image files found", "40", ""),
        ("batch", "Entries skipped", "2", ""),
        ("batch", "Calibration temperature", "", "1.37"),  # to read; every results row has it exact
    ]
    assert rows[6]["label"] == "Images" and rows[6]["count"] == "3"
    # without that knowledge (e.g. a summary of a hand-made list) only the model's temperature is there
    plain = rows_of(write_summary_csv(tmp_path / "p.csv", summary, model_info))
    assert [r["label"] for r in plain if r["section"] == "batch"] == ["Calibration temperature"]
    # zero skipped is written as 0: "none skipped" differs from "not known"
    zero = rows_of(write_summary_csv(tmp_path / "z.csv", summary, model_info, entries_skipped=0))
    assert [r["count"] for r in zero if r["label"] == "Entries skipped"] == ["0"]


def test_summary_csv_compares_the_unsure_share_with_the_validation_images(tmp_path, predictions, model_info):
    summary = summarize(predictions, review_threshold=0.8)
    for share, verdict in ((UnsureShare(40, 64, 0.99, 0.1338), "yes"), (UnsureShare(8, 64, 0.99, 0.1338), "no")):
        rows = rows_of(write_summary_csv(tmp_path / "s.csv", summary, model_info, unsure_share=share))
        batch = [(r["label"], r["count"], r["value"], r["unit"]) for r in rows if r["section"] == "batch"]
        assert batch[-3:] == [
            ("Below the model's review threshold (0.99)", str(share.unsure),
             f"{100 * share.unsure / 64:.1f}", "% of classified images"),
            ("Below it on the model's validation images", "", "13.4", "% of validation images"),
            ("Unlike the validation images (check the cells)", "", verdict, ""),
        ]
    # A model whose card has no validation share: no such rows.
    plain = rows_of(write_summary_csv(tmp_path / "p.csv", summary, model_info))
    assert not any("validation" in r["label"] for r in plain)


def test_summary_csv_without_white_cells(tmp_path, model_info):
    summary = summarize([prediction("p.jpg", "platelet", 0.99)], 0.8)
    rows = rows_of(write_summary_csv(tmp_path / "s.csv", summary, model_info))
    differential = [r for r in rows if r["section"] == "differential" and r["class"] in ("neutrophil", "erythroblast")]
    assert [r["value"] for r in differential] == ["", ""]
    assert not any(r["ci95_low"] or r["ci95_high"] for r in rows)


def test_utc_timestamp_treats_naive_as_utc():
    assert export.utc_timestamp(dt.datetime(2025, 1, 2, 3, 4, 5)) == "2025-01-02T03:04:05Z"


def test_csv_handles_newlines_and_quotes_in_names(tmp_path, model_info):
    odd = prediction('a "quoted"\nname,with comma.jpg', "basophil", 0.99)
    rows = rows_of(write_predictions_csv(tmp_path / "r.csv", [odd], model_info))
    assert rows[0]["file"] == 'a "quoted"\nname,with comma.jpg'


def test_the_sample_id_is_in_every_results_row_and_atop_the_summary(tmp_path, predictions, model_info):
    sample = SampleDetails("=HYPERLINK(1)\tS-0042", "Smear partly\r\nhaemolysed; recount?")
    results = rows_of(write_predictions_csv(tmp_path / "r.csv", predictions, model_info, sample=sample))
    # Added after the review columns (only the assessable columns came later): earlier columns keep their places.
    assert PREDICTION_COLUMNS[-3:] == ("sample_id", "assessable", "assessable_reason")
    # every row, error rows too, cleaned to one line and safe in a spreadsheet
    assert len(results) == len(predictions)
    assert {row["sample_id"] for row in results} == {"'=HYPERLINK(1) S-0042"}
    summary = rows_of(write_summary_csv(tmp_path / "s.csv", summarize(predictions, 0.8), model_info, sample=sample))
    assert [(r["section"], r["label"], r["value"]) for r in summary[:2]] == [
        ("sample", "Sample ID", "'=HYPERLINK(1) S-0042"),
        ("sample", "Comment", "Smear partly\nhaemolysed; recount?"),  # its line break kept, inside one cell
    ]
    # without sample details the column is there, empty
    plain = rows_of(write_predictions_csv(tmp_path / "p.csv", predictions, model_info))
    assert {row["sample_id"] for row in plain} == {""}


def test_sample_rows_of_nothing_are_empty_rows():
    assert sample_rows(None) == sample_rows(SampleDetails()) == [
        ["sample", "", "Sample ID", "", "", "", "", ""],
        ["sample", "", "Comment", "", "", "", "", ""],
    ]
