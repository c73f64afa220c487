"""Folder scanning: order, filters, links, odd names, errors reported not raised."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from hemoapp.core import scan as scan_module
from hemoapp.core.scan import (
    FolderError,
    ImageRecord,
    absolute_path,
    display_text,
    natural_key,
    records_from_paths,
    scan_folder,
)

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX links and byte file names")


def touch(path, data=b"x"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def relpaths(result):
    return [record.relpath for record in result.records]


def test_natural_order_case_insensitive_and_interleaved(tmp_path):
    for name in ["img10.jpg", "img2.jpg", "IMG1.png", "img02.jpg", "b/x.jpg", "a10/y.jpg", "a9/z.jpg"]:
        touch(tmp_path / name)
    assert relpaths(scan_folder(tmp_path)) == [
        "a9/z.jpg",
        "a10/y.jpg",
        "b/x.jpg",
        "IMG1.png",
        "img02.jpg",
        "img2.jpg",
        "img10.jpg",
    ]


def test_natural_key_never_compares_int_with_text():
    names = ["1", "a", "a1", "1a", "", "10b2", "b", "2"]
    assert sorted(names, key=natural_key) == ["", "1", "1a", "2", "10b2", "a", "a1", "b"]


def test_filters_hidden_junk_and_other_extensions(tmp_path):
    touch(tmp_path / "keep.JPEG")
    touch(tmp_path / "keep.bmp")
    for junk in [".hidden.jpg", "Thumbs.db", "desktop.ini", ".DS_Store", "notes.txt", "x.jpg.part", "jpg"]:
        touch(tmp_path / junk)
    touch(tmp_path / ".cache" / "inside.jpg")
    touch(tmp_path / "__MACOSX" / "inside.jpg")
    result = scan_folder(tmp_path)
    assert relpaths(result) == ["keep.bmp", "keep.JPEG"]
    # Junk is ignored; a file of another type is named, as left out on purpose, not as unreadable.
    assert result.skipped == result.left_out == [
        ("jpg", "not an image file type"), ("notes.txt", "not an image file type"),
        ("x.jpg.part", "not an image file type"),
    ]
    assert result.unreadable == []


def test_gif_and_webp_are_listed_as_images(tmp_path):
    for name in ("a.gif", "b.WEBP", "c.svg"):
        touch(tmp_path / name)
    result = scan_folder(tmp_path)
    assert relpaths(result) == ["a.gif", "b.WEBP"]
    assert result.skipped == [("c.svg", "not an image file type")]


def test_records_have_size_time_path_and_posix_relpath(tmp_path):
    file = touch(tmp_path / "one" / "two" / "cell.png", b"12345")
    os.utime(file, ns=(1_700_000_000_123_456_789, 1_700_000_000_123_456_789))
    result = scan_folder(tmp_path)
    assert result.records == [
        ImageRecord(path=file, relpath="one/two/cell.png", size_bytes=5, mtime_ns=os.stat(file).st_mtime_ns)
    ]
    assert result.records[0].mtime_ns // 1_000_000_000 == 1_700_000_000
    assert result.root == tmp_path
    assert result.skipped == []


def test_not_recursive_lists_top_level_only(tmp_path):
    touch(tmp_path / "top.jpg")
    touch(tmp_path / "sub" / "below.jpg")
    assert relpaths(scan_folder(tmp_path, recursive=False)) == ["top.jpg"]


@posix_only
def test_links_followed_cycles_end_broken_links_kept(tmp_path):
    touch(tmp_path / "real" / "a.jpg")
    os.symlink(tmp_path / "real" / "a.jpg", tmp_path / "link.jpg")
    os.symlink(tmp_path / "missing.jpg", tmp_path / "broken.jpg")
    os.symlink(tmp_path, tmp_path / "real" / "loop")  # cycle back to the root
    os.symlink(tmp_path / "real", tmp_path / "zz_alias")  # the same folder twice
    result = scan_folder(tmp_path)
    assert relpaths(result) == ["broken.jpg", "link.jpg", "real/a.jpg"]
    broken = result.records[0]
    assert broken.size_bytes == 0
    skipped = dict(result.skipped)
    assert set(skipped) == {"real/loop", "zz_alias"}
    assert all("already scanned" in reason for reason in skipped.values())
    assert sorted(result.left_out) == sorted(result.skipped) and result.unreadable == []  # on purpose, not lost


def test_absolute_path_drops_dot_dot_from_a_path_given_relative_to_the_start(tmp_path, monkeypatch):
    (tmp_path / "cells").mkdir()
    (tmp_path / "run").mkdir()
    monkeypatch.chdir(tmp_path / "run")
    assert absolute_path("../cells") == tmp_path / "cells"
    assert absolute_path("./../cells/.") == tmp_path / "cells"
    assert absolute_path("../run") == tmp_path / "run"
    assert absolute_path(tmp_path / "cells") == tmp_path / "cells"


@posix_only
def test_absolute_path_keeps_dot_dot_after_a_link_where_dropping_it_names_another_folder(tmp_path):
    (tmp_path / "deep" / "inner").mkdir(parents=True)
    (tmp_path / "deep" / "cells").mkdir()
    (tmp_path / "cells").mkdir()  # what "link/../cells" would name if ".." were dropped as text
    os.symlink(tmp_path / "deep" / "inner", tmp_path / "link")
    given = tmp_path / "link" / ".." / "cells"  # the system goes up from deep/inner: deep/cells
    assert absolute_path(given) == given
    assert os.path.samefile(absolute_path(given), tmp_path / "deep" / "cells")


def test_absolute_path_keeps_a_missing_path_as_given(tmp_path):
    given = tmp_path / "gone" / ".." / "cells"
    assert absolute_path(given) == given


@posix_only
def test_non_utf8_and_long_names_are_listed_with_safe_text(tmp_path):
    raw = os.fsencode(str(tmp_path)) + b"/caf\xe9.jpg"
    with open(raw, "wb") as handle:
        handle.write(b"x")
    long_name = "n" * 246 + ".png"
    touch(tmp_path / long_name)
    result = scan_folder(tmp_path)
    assert relpaths(result) == ["caf\\xe9.jpg", long_name]
    for record in result.records:
        record.relpath.encode("utf-8")  # always writable to a CSV
        assert os.path.exists(record.path)  # and the path still opens the file


def test_display_text_keeps_valid_names():
    assert display_text("Zellbild_ä_ü.jpg") == "Zellbild_ä_ü.jpg"
    assert display_text(os.fsdecode(b"a\xffb")) == "a\\xffb"


def test_unlistable_subfolder_goes_to_skipped(tmp_path, monkeypatch):
    # Tests may run as root, where chmod cannot deny access: simulate the OS refusing.
    touch(tmp_path / "ok" / "a.jpg")
    touch(tmp_path / "locked" / "b.jpg")
    touch(tmp_path / "gone" / "c.jpg")
    real_scandir = os.scandir

    def fake_scandir(path):
        name = os.path.basename(os.fspath(path))
        if name == "locked":
            raise PermissionError(13, "Permission denied", path)
        if name == "gone":
            raise OSError(5, "Input/output error", path)
        return real_scandir(path)

    monkeypatch.setattr(scan_module.os, "scandir", fake_scandir)
    result = scan_folder(tmp_path)
    assert relpaths(result) == ["ok/a.jpg"]
    assert result.skipped == [
        ("gone", "cannot list the folder (Input/output error)"),
        ("locked", "permission denied"),
    ]


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root ignores permissions")
def test_real_permission_denied_subfolder(tmp_path):
    locked = tmp_path / "locked"
    touch(locked / "b.jpg")
    locked.chmod(0)
    try:
        result = scan_folder(tmp_path)
    finally:
        locked.chmod(0o755)
    assert result.skipped == [("locked", "permission denied")]


def test_root_problems_raise_folder_error(tmp_path, monkeypatch):
    with pytest.raises(FolderError, match="does not exist"):
        scan_folder(tmp_path / "nope")
    with pytest.raises(FolderError, match="is not a folder"):
        scan_folder(touch(tmp_path / "file.jpg"))
    real_scandir = os.scandir

    def refuse(path):
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(scan_module.os, "scandir", refuse)
    with pytest.raises(FolderError, match="permission denied"):
        scan_folder(tmp_path)
    monkeypatch.setattr(scan_module.os, "scandir", real_scandir)


def test_many_files_scan_fast(tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for index in range(5_000):
        (folder / f"cell_{index}.jpg").touch()
    (folder / "sub").mkdir()
    started = time.perf_counter()
    result = scan_folder(tmp_path)
    elapsed = time.perf_counter() - started
    assert len(result.records) == 5_000
    assert result.records[1].relpath == "many/cell_1.jpg"
    assert result.records[-1].relpath == "many/cell_4999.jpg"
    # ~0.1 s on a laptop; generous for a loaded CI box (100,000 files: ~2 s).
    assert elapsed < 5


def test_records_from_paths_mixes_files_and_folders(tmp_path):
    a = touch(tmp_path / "drop" / "a.jpg")
    touch(tmp_path / "drop" / "folder" / "img10.png")
    touch(tmp_path / "drop" / "folder" / "img2.png")
    touch(tmp_path / "drop" / "folder" / ".hidden.png")
    notes = touch(tmp_path / "drop" / "notes.txt")
    hidden = touch(tmp_path / "drop" / ".explicit.jpg")
    result = records_from_paths(
        [tmp_path / "drop" / "folder", a, a, notes, tmp_path / "drop" / "missing.jpg", hidden, tmp_path / "drop" / "folder" / "img2.png"]
    )
    assert relpaths(result) == [".explicit.jpg", "a.jpg", "folder/img2.png", "folder/img10.png"]
    assert result.root == tmp_path / "drop"
    assert sorted(result.skipped) == [("missing.jpg", "not found"), ("notes.txt", "not an image file type")]


def test_records_from_paths_never_raises(tmp_path, monkeypatch):
    touch(tmp_path / "locked" / "a.jpg")
    real_scandir = os.scandir
    monkeypatch.setattr(
        scan_module.os,
        "scandir",
        lambda path: (_ for _ in ()).throw(PermissionError(13, "Permission denied", path))
        if os.path.basename(os.fspath(path)) == "locked"
        else real_scandir(path),
    )
    result = records_from_paths([tmp_path / "locked"])
    assert result.records == []
    assert result.skipped[0][0] == "locked" and "permission denied" in result.skipped[0][1]
    assert records_from_paths([]).records == []


def test_dropped_files_with_the_same_name_get_distinct_labels(tmp_path):
    """The label is the CSV's only link to the file: two img1.jpg must not look alike."""
    first = touch(tmp_path / "d" / "a" / "img1.jpg")
    second = touch(tmp_path / "d" / "b" / "img1.jpg")
    result = records_from_paths([first, second])
    assert result.root == tmp_path / "d"
    assert {record.relpath: record.path for record in result.records} == {"a/img1.jpg": first, "b/img1.jpg": second}


def test_dropped_folders_with_the_same_name_get_distinct_labels(tmp_path):
    touch(tmp_path / "x" / "data" / "c.jpg")
    touch(tmp_path / "y" / "data" / "c.jpg")
    result = records_from_paths([tmp_path / "x" / "data", tmp_path / "y" / "data"])
    assert result.root == tmp_path
    assert relpaths(result) == ["x/data/c.jpg", "y/data/c.jpg"]
    for record in result.records:
        assert record.path == tmp_path / record.relpath


def test_single_drops_keep_their_short_labels(tmp_path):
    """One dropped folder reads like the folder scan under its name; one file is its name."""
    touch(tmp_path / "run" / "sub" / "img2.jpg")
    touch(tmp_path / "run" / "img10.jpg")
    folder_labels = relpaths(scan_folder(tmp_path / "run"))
    assert folder_labels == ["img10.jpg", "sub/img2.jpg"]
    assert relpaths(records_from_paths([tmp_path / "run"])) == [f"run/{label}" for label in folder_labels]
    assert relpaths(records_from_paths([tmp_path / "run" / "img10.jpg"])) == ["img10.jpg"]


def test_drops_without_a_common_parent_are_labelled_absolute(tmp_path, monkeypatch):
    # Different Windows drives have no common path; os.path.commonpath says so with ValueError.
    a = touch(tmp_path / "a" / "img1.jpg")
    b = touch(tmp_path / "b" / "img1.jpg")
    with monkeypatch.context() as patch:
        patch.setattr(scan_module.os.path, "commonpath", lambda paths: (_ for _ in ()).throw(ValueError("drives")))
        result = records_from_paths([a, b])
    assert result.root == Path()
    assert relpaths(result) == sorted([a.as_posix(), b.as_posix()])
