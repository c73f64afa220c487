"""Reviewed cells of every folder: only files still holding the reviewed bytes, each once, exported as class folders."""

from __future__ import annotations

import datetime as _dt
import hashlib

from hemoapp.core.review import Review
from hemoapp.core.review_store import ReviewStore
from hemoapp.core.reviewed_cells import export_reviewed_cells, reviewed_cells


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_reviewed_cells_of_every_folder(tmp_path):
    store = ReviewStore(tmp_path / "reviews")
    first, second = tmp_path / "a", tmp_path / "b"
    for folder in (first, second):
        folder.mkdir()
    (first / "x.jpg").write_bytes(b"cell x")
    (first / "gone.jpg").write_bytes(b"cell gone")
    (first / "changed.jpg").write_bytes(b"new bytes")
    (second / "x-copy.jpg").write_bytes(b"cell x")
    (second / "y.jpg").write_bytes(b"cell y")
    early, late = _dt.datetime(2026, 1, 1, tzinfo=_dt.timezone.utc), _dt.datetime(2026, 2, 1, tzinfo=_dt.timezone.utc)
    store.save(first, {("x.jpg", _sha(b"cell x")): Review("neutrophil", early, "ann"),
                       ("gone.jpg", _sha(b"cell gone")): Review("monocyte", early, "ann"),
                       ("changed.jpg", _sha(b"old bytes")): Review("monocyte", early, "ann")})
    store.save(second, {("x-copy.jpg", _sha(b"cell x")): Review("eosinophil", late, "bob"),
                        ("y.jpg", _sha(b"cell y")): Review("lymphocyte", early, "bob")})
    (first / "gone.jpg").unlink()
    found = reviewed_cells(tmp_path / "reviews")
    assert found.counts() == {"eosinophil": 1, "lymphocyte": 1}  # the later review of x wins
    assert (found.missing, found.duplicates) == (2, 1)
    written = export_reviewed_cells(found, tmp_path / "out")
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in written) == [
        "eosinophil/x-copy.jpg", "lymphocyte/y.jpg"]
    # Exporting again never replaces a file: the same cells are already there.
    assert export_reviewed_cells(found, tmp_path / "out") == []


def test_no_reviews_no_cells(tmp_path):
    assert reviewed_cells(tmp_path / "none").cells == ()
