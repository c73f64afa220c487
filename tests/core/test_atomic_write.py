"""One atomic write for every file: complete and on the disk before it replaces anything, no leftovers."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from hemoapp.core import atomic_write
from hemoapp.core.atomic_write import (
    STALE_AFTER_S,
    IncompleteWriteError,
    atomic_open,
    atomic_path,
    remove_stale_temp_files,
    write_bytes,
)
from hemoapp.core.export import write_predictions_csv
from hemotest.full_disk import file_size_limit
from hemotest.predictions import make


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EFBIG, errno.EIO])
def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary_file(tmp_path, code):
    target = tmp_path / "results.csv"
    target.write_text("the earlier, complete results\n")
    with pytest.raises(OSError) as raised:
        with atomic_open(target) as handle:
            handle.write("half of the new")
            raise OSError(code, os.strerror(code))
    assert raised.value.errno == code
    assert target.read_text() == "the earlier, complete results\n"
    assert names(tmp_path) == ["results.csv"]


def test_a_file_that_fails_its_check_replaces_nothing(tmp_path):
    target = tmp_path / "report.pdf"
    target.write_bytes(b"%PDF-1.4 the earlier report %%EOF")

    def never_whole(path: Path) -> None:
        raise IncompleteWriteError("cut short", path)

    with pytest.raises(IncompleteWriteError, match="cut short"):
        with atomic_path(target, validate=never_whole) as temporary:
            temporary.write_bytes(b"%PDF-1.4 half")
    assert target.read_bytes() == b"%PDF-1.4 the earlier report %%EOF"
    assert names(tmp_path) == ["report.pdf"]


def test_a_full_disk_while_writing_a_csv_is_an_error_and_the_old_csv_stays(tmp_path, model_info):
    target = tmp_path / "r.csv"
    target.write_text("previous results\n")
    many = make({"neutrophil": 300, "lymphocyte": 200})  # about 200 KB of rows
    with file_size_limit(16 * 1024), pytest.raises(OSError) as raised:
        write_predictions_csv(target, many, model_info)
    assert raised.value.errno == errno.EFBIG
    assert target.read_text() == "previous results\n" and names(tmp_path) == ["r.csv"]


def test_the_data_is_on_the_disk_before_the_rename_and_the_rename_after_it(tmp_path, monkeypatch):
    calls = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(descriptor):
        calls.append("fsync folder" if os.path.isdir(f"/proc/self/fd/{descriptor}") else "fsync file")
        real_fsync(descriptor)

    def replace(source, target):
        calls.append("rename")
        real_replace(source, target)

    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("tells files from folders through /proc")
    monkeypatch.setattr(atomic_write.os, "fsync", fsync)
    monkeypatch.setattr(atomic_write.os, "replace", replace)
    write_bytes(tmp_path / "model.tflite", b"model bytes")
    assert calls[-2:] == ["rename", "fsync folder"] and "fsync file" in calls[:-2]
    assert (tmp_path / "model.tflite").read_bytes() == b"model bytes"


def test_temporary_files_are_hidden_and_named_for_hemolens(tmp_path):
    target = tmp_path / "cells-results.csv"
    with atomic_path(target, suffix=".npy") as temporary:
        assert temporary.parent == tmp_path
        assert temporary.name.startswith(".cells-results.csv.hemolens-") and temporary.name.endswith(".tmp.npy")
        temporary.write_bytes(b"x")
    assert names(tmp_path) == ["cells-results.csv"]


# Writes a results CSV as the exports do, and stops halfway until told to finish (or killed).
_WRITER = textwrap.dedent("""
    import sys
    from hemoapp.core.export import atomic_csv_writer
    with atomic_csv_writer(sys.argv[1]) as writer:
        writer.writerow(["the new results"])
        print("writing", flush=True)
        sys.stdin.readline()
""")


def _start_writer(target: Path) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", _WRITER, str(target)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline() == "writing\n"
    return process


def _backdate(path: Path, seconds: float) -> None:
    past = time.time() - seconds
    os.utime(path, (past, past))


@pytest.mark.skipif(sys.platform == "win32", reason="kill -9 and POSIX locks")
def test_the_leftover_of_a_killed_write_is_removed_by_the_next_write_and_nothing_else(tmp_path):
    target = tmp_path / "results.csv"
    target.write_text("the earlier results\n")
    writer = _start_writer(target)
    writer.kill()  # kill -9 in the middle of the write
    writer.wait()
    (leftover,) = tmp_path.glob(".results.csv.hemolens-*.tmp")
    assert target.read_text() == "the earlier results\n"
    _backdate(leftover, STALE_AFTER_S + 1)
    others = [
        tmp_path / ".other.csv.hemolens-abc12345.tmp",  # another target's
        tmp_path / ".results.csv.abc12345.tmp",  # not named by HemoLens
        tmp_path / ".results.csv.hemolens-abc12345.tmp.keep",  # not a temporary name
        tmp_path / "results.csv.hemolens-abc12345.tmp",  # not hidden: not one of ours
    ]
    for other in others:
        other.write_text("someone else's")
        _backdate(other, 3600)
    write_bytes(target, b"the new results\n")
    assert target.read_bytes() == b"the new results\n"
    assert not leftover.exists()
    assert all(other.exists() for other in others)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX locks")
def test_a_temporary_file_that_a_live_writer_holds_is_never_removed(tmp_path):
    target = tmp_path / "results.csv"
    writer = _start_writer(target)
    (temporary,) = tmp_path.glob(".results.csv.hemolens-*.tmp")
    _backdate(temporary, 3600)  # old, but its writer is alive
    assert remove_stale_temp_files(target) == []
    write_bytes(target, b"another write meanwhile\n")
    assert temporary.exists()
    writer.communicate("finish\n", timeout=30)
    assert writer.returncode == 0
    assert target.read_text(encoding="utf-8-sig") == "the new results\n"  # the live write finished
    assert names(tmp_path) == ["results.csv"]


def test_a_fresh_unheld_leftover_is_kept_for_a_while(tmp_path):
    target = tmp_path / "results.csv"
    fresh = tmp_path / ".results.csv.hemolens-abcd1234.tmp"
    fresh.write_text("maybe just created by a writer that has not locked it yet")
    assert remove_stale_temp_files(target) == []
    assert remove_stale_temp_files(target, now=time.time() + STALE_AFTER_S + 1) == [fresh]


def test_write_bytes_refuses_a_short_file(tmp_path, monkeypatch):
    target = tmp_path / "model.tflite"
    target.write_bytes(b"old model")
    real_open = open

    class Short:
        def __init__(self, handle):
            self.handle = handle

        def write(self, data):
            return self.handle.write(data[: len(data) // 2])  # a short write nobody noticed

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

    monkeypatch.setattr(atomic_write, "open", lambda path, mode="r", **kw: Short(real_open(path, mode, **kw))
                        if mode == "wb" else real_open(path, mode, **kw), raising=False)
    with pytest.raises(IncompleteWriteError, match="only 5 of 10 bytes"):
        write_bytes(target, b"new model!")
    assert target.read_bytes() == b"old model" and names(tmp_path) == ["model.tflite"]


def test_training_run_files_go_through_the_same_write(tmp_path):
    pytest.importorskip("keras", reason="the training extra")
    from training import atomic

    atomic.save_npy(tmp_path / "run" / "features.npy", np.arange(3))
    atomic.save_json(tmp_path / "run" / "state.json", {"epoch": 2})
    assert names(tmp_path / "run") == ["features.npy", "state.json"]
    np.testing.assert_array_equal(np.load(tmp_path / "run" / "features.npy"), np.arange(3))
