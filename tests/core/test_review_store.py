"""Saved reviews: written atomically per folder, restored only to the same file with the same bytes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os

import pytest

from hemoapp.core.review import Review, review_key
from hemoapp.core.review_store import (
    ReviewStore,
    ReviewStoreError,
    SavedElsewhere,
    SavedFolder,
    restorable,
    saved_key,
    updated,
)
from hemoapp.core.sample import MAX_COMMENT, MAX_SAMPLE_ID, SampleDetails
from hemotest.predictions import failed, predicted

AT = dt.datetime(2026, 11, 24, 9, 30, 5, tzinfo=dt.timezone.utc)


def with_digest(prediction, digest: str):
    return dataclasses.replace(prediction, file_sha256=digest)


def test_round_trip_per_folder(tmp_path):
    store = ReviewStore(tmp_path / "reviews")
    saved = {("ig/a.jpg", "aa" * 32): Review("ig", AT, "jdoe"), ("b.jpg", "bb" * 32): Review("monocyte", AT, "Zoë")}
    path = store.save(tmp_path / "folder", saved)
    assert path.parent == tmp_path / "reviews" and store.load(tmp_path / "folder") == saved
    assert store.load(tmp_path / "another folder") == {}
    assert store.path_for(tmp_path / "folder") != store.path_for(tmp_path / "another folder")
    assert json.loads(path.read_text(encoding="utf-8"))["folder"] == str((tmp_path / "folder").resolve())
    # Everything undone: the file stays, saying so (see test_reviews_saved_under_other_paths_are_found_by_file).
    assert not store.has_saved(tmp_path / "another folder")
    store.save(tmp_path / "folder", {})
    assert store.has_saved(tmp_path / "folder") and store.load(tmp_path / "folder") == {}


def test_restored_only_to_the_same_path_with_the_same_bytes():
    cell = with_digest(predicted("neutrophil", confidence=0.6), "aa" * 32)
    saved = {saved_key(cell): Review("ig", AT)}
    assert restorable([cell], saved) == {review_key(cell): Review("ig", AT)}
    replaced = with_digest(cell, "cc" * 32)  # same name, other bytes
    assert restorable([replaced], saved) == {}
    assert saved_key(predicted("neutrophil")) is None  # no digest: nothing to match a review to
    assert saved_key(failed()) is None


def test_updated_keeps_reviews_of_files_not_shown_yet():
    shown = with_digest(predicted("lymphocyte"), "aa" * 32)
    undone = with_digest(predicted("monocyte"), "bb" * 32)
    saved = {("later.jpg", "dd" * 32): Review("platelet", AT), saved_key(undone): Review("ig", AT)}
    result = updated(saved, [shown, undone], {review_key(shown): Review("monocyte", AT)})
    assert result == {("later.jpg", "dd" * 32): Review("platelet", AT), saved_key(shown): Review("monocyte", AT)}


def test_a_hand_edited_reviewer_name_comes_back_as_one_clean_line(tmp_path):
    store = ReviewStore(tmp_path / "reviews")
    path = store.save(tmp_path / "folder", {("a.jpg", "aa" * 32): Review("ig", AT, "jdoe")})
    document = json.loads(path.read_text(encoding="utf-8"))
    document["reviews"][0]["by"] = "j\ndoe\r\n=HYPERLINK()"
    document["reviews"].append({**document["reviews"][0], "file": "b.jpg", "by": "\n\t"})
    path.write_text(json.dumps(document), encoding="utf-8")
    loaded = store.load(tmp_path / "folder")
    assert loaded[("a.jpg", "aa" * 32)].by == "j doe =HYPERLINK()"  # the CSV export escapes the formula
    assert loaded[("b.jpg", "aa" * 32)].by == "unknown"


UNKNOWN_CLASS = {"file": "x", "file_sha256": "y", "class": "band", "at": "2026-11-24T09:30:05Z", "by": "a"}


@pytest.mark.parametrize(
    "content",
    ["{", '{"version": 99, "reviews": []}', '{"version": 1, "reviews": [{"file": "x"}]}',
     json.dumps({"version": 1, "reviews": [UNKNOWN_CLASS]})],
)
def test_an_unreadable_file_is_an_error_and_can_be_set_aside(tmp_path, content):
    store = ReviewStore(tmp_path)
    store.path_for(tmp_path / "folder").write_text(content, encoding="utf-8")
    with pytest.raises(ReviewStoreError):
        store.load(tmp_path / "folder")
    aside = store.set_aside(tmp_path / "folder")
    assert aside.read_text(encoding="utf-8") == content and store.load(tmp_path / "folder") == {}


def test_a_second_unreadable_file_is_set_aside_beside_the_first_not_over_it(tmp_path):
    store = ReviewStore(tmp_path)
    folder = tmp_path / "folder"
    names = []
    for content in ("{ first", "{ second", "{ third"):
        store.path_for(folder).write_text(content, encoding="utf-8")
        names.append(store.set_aside(folder))
    assert [p.read_text(encoding="utf-8") for p in names] == ["{ first", "{ second", "{ third"]
    assert len(set(names)) == 3 and all(p.name.endswith(".unreadable.json") for p in names)
    assert not store.path_for(folder).exists()


def test_a_failed_save_is_an_error_and_keeps_the_previous_file(tmp_path, monkeypatch):
    store = ReviewStore(tmp_path)
    first = {("a.jpg", "aa" * 32): Review("ig", AT)}
    store.save(tmp_path / "folder", first)

    def full_disk(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(json, "dump", full_disk)
    with pytest.raises(ReviewStoreError, match="No space left"):
        store.save(tmp_path / "folder", {("b.jpg", "bb" * 32): Review("monocyte", AT)})
    assert store.load(tmp_path / "folder") == first


def test_the_folders_sample_details_are_kept_beside_its_reviews(tmp_path):
    store = ReviewStore(tmp_path / "reviews")
    folder = tmp_path / "folder"
    sample = SampleDetails("S-0042", "haemolysed\nrecount")
    path = store.save(folder, {}, sample)  # details alone are worth a file
    assert store.load_folder(folder) == SavedFolder({}, sample)
    reviews = {("a.jpg", "aa" * 32): Review("ig", AT, "jdoe")}
    store.save(folder, reviews, sample)
    assert store.load_folder(folder) == SavedFolder(reviews, sample) and store.load(folder) == reviews
    store.save(folder, reviews)  # the details removed, the reviews stay
    assert store.load_folder(folder) == SavedFolder(reviews, SampleDetails())
    assert "sample" not in json.loads(path.read_text(encoding="utf-8"))
    store.save(folder, {}, SampleDetails())
    assert store.load_folder(folder) == SavedFolder()


def test_a_file_without_sample_details_still_loads(tmp_path):
    # As written before the details existed (same version): no "sample" entry.
    store = ReviewStore(tmp_path / "reviews")
    entry = {"file": "a.jpg", "file_sha256": "aa" * 32, "class": "ig", "at": "2026-11-24T09:30:05Z", "by": "jdoe"}
    store.directory.mkdir()
    store.path_for(tmp_path / "f").write_text(json.dumps({"version": 1, "folder": "x", "reviews": [entry]}))
    assert store.load_folder(tmp_path / "f") == SavedFolder({("a.jpg", "aa" * 32): Review("ig", AT, "jdoe")})


@pytest.mark.parametrize("sample", ["not a mapping", ["S-1"], 7])
def test_sample_details_that_are_not_a_mapping_make_the_file_unreadable(tmp_path, sample):
    store = ReviewStore(tmp_path / "reviews")
    path = store.save(tmp_path / "f", {}, SampleDetails("S-1"))
    document = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**document, "sample": sample}), encoding="utf-8")
    with pytest.raises(ReviewStoreError, match="not a HemoLens reviews file"):
        store.load_folder(tmp_path / "f")


def test_hand_edited_sample_details_come_back_cleaned(tmp_path):
    store = ReviewStore(tmp_path / "reviews")
    path = store.save(tmp_path / "f", {}, SampleDetails("S-1"))
    document = json.loads(path.read_text(encoding="utf-8"))
    document["sample"] = {"sample_id": "S-1\r\n=cmd" + "x" * 200, "comment": "\x1b[31m" + "y" * 900}
    path.write_text(json.dumps(document), encoding="utf-8")
    loaded = store.load_folder(tmp_path / "f").sample
    assert loaded.sample_id.startswith("S-1 =cmd") and len(loaded.sample_id) == MAX_SAMPLE_ID
    assert loaded.comment.startswith("[31m") and len(loaded.comment) == MAX_COMMENT


def test_reviews_saved_under_other_paths_are_found_by_file(tmp_path):
    store = ReviewStore(tmp_path / "reviews")
    names = ["a.jpg", "b.jpg"]
    assert store.saved_elsewhere(tmp_path / "new", names) == {}  # nothing saved yet, not even the directory
    old, older, new = tmp_path / "old", tmp_path / "older", tmp_path / "new"
    later = AT + dt.timedelta(minutes=5)
    store.save(older, {("a.jpg", "aa" * 32): Review("ig", AT, "jdoe"), ("b.jpg", "bb" * 32): Review("monocyte", AT)})
    store.save(old, {("a.jpg", "aa" * 32): Review("neutrophil", later, "amy")}, SampleDetails("S-7", "moved"))
    store.save(tmp_path / "empty", {})
    store.path_for(tmp_path / "broken").write_text("not json", encoding="utf-8")  # skipped, not an error
    (store.directory / "x.unreadable.json").write_text("{}", encoding="utf-8")

    found = store.saved_elsewhere(new, names)
    assert found == {
        # The same file reviewed under two paths: the latest review wins.
        ("a.jpg", "aa" * 32): SavedElsewhere(
            Review("neutrophil", later, "amy"), str(old.resolve()), SampleDetails("S-7", "moved"), folder_reviews=1
        ),
        ("b.jpg", "bb" * 32): SavedElsewhere(Review("monocyte", AT), str(older.resolve()), SampleDetails(), folder_reviews=2),
    }
    # A folder's own file is not "elsewhere".
    assert set(store.saved_elsewhere(old, names)) == {("a.jpg", "aa" * 32), ("b.jpg", "bb" * 32)}
    assert store.saved_elsewhere(old, names)[("a.jpg", "aa" * 32)].folder == str(older.resolve())
    # Only files of the opened folder are looked for, and only in the most recently saved files.
    assert set(store.saved_elsewhere(new, ["b.jpg", "c.jpg"])) == {("b.jpg", "bb" * 32)}
    os.utime(store.path_for(older), (1, 1))  # saved long ago
    assert set(store.saved_elsewhere(new, names, limit=3)) == {("a.jpg", "aa" * 32)}
