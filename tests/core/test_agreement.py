"""A batch compared with a lab's own classes (hemoapp.core.agreement, hemoapp.core.agreement_export)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hemoapp.core.agreement import compare
from hemoapp.core.agreement_export import AGREEMENT_COLUMNS, write_agreement_csv
from hemoapp.core.binomial import proportion_interval
from hemoapp.core.contract import CLASS_NAMES
from hemoapp.core.pipeline import Prediction
from hemoapp.core.reference_labels import reference_class
from hemoapp.core.scan import ImageRecord
from hemotest.predictions import rows_of

THRESHOLD = 0.9


def cell(relpath: str, predicted: str, confidence: float = 0.95) -> Prediction:
    rest = (1 - confidence) / (len(CLASS_NAMES) - 1)
    record = ImageRecord(Path(relpath), relpath, 1)
    return Prediction.from_probabilities(record, [confidence if c == predicted else rest for c in CLASS_NAMES])


def unreadable(relpath: str) -> Prediction:
    return Prediction.failed(ImageRecord(Path(relpath), relpath, 0), "corrupt", "damaged")


def batch() -> list[Prediction]:
    """10 neutrophils (8 right, 1 called IG flagged, 1 called IG unflagged), 5 IGs (4 right, 1 called neutrophil,
    flagged), 5 lymphocytes (all right, 1 of them flagged), 2 files outside class folders, 1 unreadable."""
    cells = [cell(f"neutrophil/n{i}.jpg", "neutrophil") for i in range(8)]
    cells += [cell("neutrophil/n8.jpg", "ig", 0.6), cell("neutrophil/n9.jpg", "ig", 0.97)]
    cells += [cell(f"ig/g{i}.jpg", "ig") for i in range(4)] + [cell("ig/g4.jpg", "neutrophil", 0.5)]
    cells += [cell(f"lymphocyte/l{i}.jpg", "lymphocyte") for i in range(4)]
    cells += [cell("lymphocyte/l4.jpg", "lymphocyte", 0.7)]
    cells += [cell("loose.jpg", "monocyte"), cell("other/x.jpg", "platelet"), unreadable("ig/broken.jpg")]
    return cells


def test_counts_agreement_and_kappa_by_hand():
    result = compare(batch(), THRESHOLD, reference_class)
    ig, neut, lym = (CLASS_NAMES.index(name) for name in ("ig", "neutrophil", "lymphocyte"))
    assert result.compared == 20 and result.agreed == 17
    assert result.matrix[neut][neut] == 8 and result.matrix[neut][ig] == 2
    assert result.matrix[ig][ig] == 4 and result.matrix[ig][neut] == 1 and result.matrix[lym][lym] == 5
    assert sum(map(sum, result.matrix)) == 20
    assert result.overall == pytest.approx(17 / 20)
    assert result.overall_interval == proportion_interval(17, 20)
    # Reference mix 10/5/5 (neutrophil/ig/lymphocyte), HemoLens's 9/6/5: chance agreement
    # (10*9 + 5*6 + 5*5) / 400 = 145/400; kappa = (0.85 - 0.3625) / (1 - 0.3625).
    assert result.kappa == pytest.approx((0.85 - 0.3625) / 0.6375)
    assert result.without_reference == 2 and result.unreadable == 1


def test_kappa_agrees_with_scikit_learn():
    metrics = pytest.importorskip("sklearn.metrics")
    cells = [c for c in batch() if c.ok and reference_class(c.record.relpath)]
    expected = metrics.cohen_kappa_score([reference_class(c.record.relpath) for c in cells], [c.predicted for c in cells])
    assert compare(batch(), THRESHOLD, reference_class).kappa == pytest.approx(expected)


def test_sensitivity_and_ppv_per_class():
    rows = {row.name: row for row in compare(batch(), THRESHOLD, reference_class).classes}
    assert (rows["neutrophil"].reference, rows["neutrophil"].predicted, rows["neutrophil"].agreed) == (10, 9, 8)
    assert rows["neutrophil"].sensitivity == pytest.approx(0.8) and rows["neutrophil"].ppv == pytest.approx(8 / 9)
    assert rows["ig"].sensitivity == pytest.approx(0.8) and rows["ig"].ppv == pytest.approx(4 / 6)
    assert rows["ig"].sensitivity_interval == proportion_interval(4, 5)
    assert rows["ig"].ppv_interval == proportion_interval(4, 6)
    assert rows["lymphocyte"].sensitivity == 1.0 and rows["lymphocyte"].ppv == 1.0
    # A class nobody put anything in has neither figure, rather than 0% or 100%.
    assert rows["basophil"].sensitivity is None and rows["basophil"].ppv is None
    assert rows["basophil"].sensitivity_interval is None


def test_the_review_flag_on_the_disagreements():
    result = compare(batch(), THRESHOLD, reference_class)
    assert [(d.relpath, d.reference, d.predicted, d.flagged) for d in result.disagreements] == [
        ("neutrophil/n8.jpg", "neutrophil", "ig", True),
        ("neutrophil/n9.jpg", "neutrophil", "ig", False),
        ("ig/g4.jpg", "ig", "neutrophil", True),
    ]
    assert result.flagged == 3 and result.unflagged == 17 and result.unflagged_disagreements == 1
    assert result.unflagged_agreement == pytest.approx(16 / 17)
    assert result.unflagged_interval == proportion_interval(16, 17)
    # The threshold decides: at 0.99 every cell here is flagged, and so is every disagreement.
    strict = compare(batch(), 0.99, reference_class)
    assert strict.unflagged == 0 and strict.unflagged_agreement is None and strict.unflagged_disagreements == 0


def test_kappa_is_undefined_when_both_put_everything_in_one_class_and_nothing_compared():
    same = compare([cell(f"platelet/p{i}.jpg", "platelet") for i in range(3)], THRESHOLD, reference_class)
    assert same.overall == 1.0 and same.kappa is None
    empty = compare([cell("loose.jpg", "platelet")], THRESHOLD, reference_class)
    assert empty.compared == 0 and empty.overall is None and empty.kappa is None and empty.overall_interval is None


def test_the_agreement_csv_reads_back_as_the_comparison(tmp_path):
    result = compare(batch() + [cell("neutrophil/n10.jpg", "ig", 0.5)], THRESHOLD, reference_class)
    info = type("Info", (), {"name": "m", "version": "1", "sha256": "ab" * 32})()
    path = write_agreement_csv(tmp_path / "agreement.csv", result, info)
    rows = rows_of(path)
    assert tuple(rows[0]) == AGREEMENT_COLUMNS
    assert all(row["model_sha256"] == "ab" * 32 and row["review_threshold"] == "0.9" for row in rows)
    overall = {row["label"]: row for row in rows if row["section"] == "overall"}
    assert (overall["Agreement"]["count"], overall["Agreement"]["of"]) == ("17", "21")
    assert overall["Agreement"]["value"] == f"{100 * 17 / 21:.2f}"
    low, high = proportion_interval(17, 21)
    assert float(overall["Agreement"]["ci95_low"]) <= 100 * low < 100 * high <= float(overall["Agreement"]["ci95_high"])
    assert overall["Disagreements not flagged"]["count"] == "1"
    matrix = {(r["reference_class"], r["hemolens_class"]): int(r["count"]) for r in rows if r["section"] == "matrix"}
    assert len(matrix) == 64 and sum(matrix.values()) == 21 and matrix[("neutrophil", "ig")] == 3
    sensitivity = {r["reference_class"]: r for r in rows if r["label"] == "Sensitivity"}
    assert (sensitivity["neutrophil"]["count"], sensitivity["neutrophil"]["of"]) == ("8", "11")
    disagreements = [(r["file"], r["label"]) for r in rows if r["section"] == "disagreement"]
    assert disagreements == [
        ("neutrophil/n8.jpg", "flagged for review"),
        ("neutrophil/n9.jpg", "not flagged"),
        ("ig/g4.jpg", "flagged for review"),
        ("neutrophil/n10.jpg", "flagged for review"),
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["agreement.csv"]


def test_a_failed_write_leaves_the_earlier_file(tmp_path, monkeypatch):
    from hemoapp.core import agreement_export

    target = tmp_path / "agreement.csv"
    target.write_text("earlier\n")
    result = compare(batch(), THRESHOLD, reference_class)

    def broken_rows(_agreement):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(agreement_export, "agreement_rows", broken_rows)
    info = type("Info", (), {"name": "m", "version": "1", "sha256": "ab" * 32})()
    with pytest.raises(OSError):
        write_agreement_csv(target, result, info)
    assert target.read_text() == "earlier\n" and sorted(p.name for p in tmp_path.iterdir()) == ["agreement.csv"]
