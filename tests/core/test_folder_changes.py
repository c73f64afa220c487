"""A folder that changed after its batch's scan: found by comparing two scans, said in the report and CSV."""

from __future__ import annotations

import os

from hemoapp.core.export import batch_rows
from hemoapp.core.folder_changes import FolderChanges, folder_changes
from hemoapp.core.report import ReportContext, report_html, report_warnings
from hemoapp.core.sample import SampleDetails
from hemoapp.core.scan import records_from_paths, scan_folder
from hemoapp.core.summary import summarize

from hemotest.predictions import make


def _write(path, data: bytes, mtime_s: int = 1_700_000_000) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (mtime_s, mtime_s))


def test_an_unchanged_folder_has_no_changes(tmp_path):
    _write(tmp_path / "a" / "cell_1.jpg", b"one")
    _write(tmp_path / "cell_2.png", b"two")
    changes = folder_changes(scan_folder(tmp_path), scan_folder(tmp_path))
    assert changes == FolderChanges() and not changes
    assert changes.warning() == "" and changes.counts_text() == ""


def test_new_gone_and_replaced_files_are_found(tmp_path):
    for name in ("cell_1.jpg", "cell_2.jpg", "cell_3.jpg", "cell_4.jpg"):
        _write(tmp_path / name, b"cell")
    before = scan_folder(tmp_path)
    _write(tmp_path / "cell_5.jpg", b"new")  # the analyser is still exporting
    _write(tmp_path / "sub" / "cell_6.jpg", b"new")
    (tmp_path / "cell_2.jpg").unlink()
    _write(tmp_path / "cell_3.jpg", b"other bytes")  # another size
    _write(tmp_path / "cell_4.jpg", b"cexl", mtime_s=1_700_000_100)  # same size, written again
    (tmp_path / "notes.txt").write_text("not an image")  # not an image: no change
    changes = folder_changes(before, scan_folder(tmp_path))
    assert changes == FolderChanges(added=("cell_5.jpg", "sub/cell_6.jpg"), removed=("cell_2.jpg",),
                                    modified=("cell_3.jpg", "cell_4.jpg"))
    assert changes.counts_text() == "2 new image files, 2 changed and 1 no longer there"
    assert changes.examples_text() == "(cell_5.jpg, sub/cell_6.jpg, cell_3.jpg, … 2 more)"
    assert changes.warning().startswith(
        "The folder has changed since it was classified: 2 new image files, 2 changed and 1 no longer there "
        "(cell_5.jpg, sub/cell_6.jpg, cell_3.jpg, … 2 more)."
    )


def test_the_counts_read_well_alone():
    assert FolderChanges(added=("a.jpg",)).counts_text() == "1 new image file"
    assert FolderChanges(modified=("a.jpg",)).counts_text() == "1 image file changed"
    assert FolderChanges(removed=("a.jpg", "b.jpg")).counts_text() == "2 image files no longer there"
    assert FolderChanges(added=("a.jpg",), removed=("b.jpg",)).counts_text() == "1 new image file and 1 no longer there"
    assert FolderChanges(modified=("a.jpg",)).examples_text() == "(a.jpg)"


def test_dropped_files_are_compared_by_their_labels(tmp_path):
    files = [tmp_path / "x" / "cell_1.jpg", tmp_path / "y" / "cell_1.jpg"]
    for file in files:
        _write(file, b"cell")
    before = records_from_paths(files)
    _write(files[1], b"cell, again")
    assert folder_changes(before, records_from_paths(files)) == FolderChanges(modified=("y/cell_1.jpg",))


def test_the_report_and_the_summary_rows_say_the_folder_changed(model_info):
    summary = summarize(make({"neutrophil": 3}), 0.9)
    changes = FolderChanges(added=("cell_9.jpg",))
    context = ReportContext("/lab", "completed", 3, 0, sample=SampleDetails("S-1"), folder_changes=changes)
    assert report_warnings(summary, context) == [changes.warning()]
    assert "1 new image file (cell_9.jpg)" in report_html(summary, model_info, context)
    rows = {row[2]: row[3] for row in batch_rows("completed", 3, folder_changes=changes)}
    assert rows["Image files new in the folder since the batch started"] == "1"
    assert rows["Image files changed since the batch started"] == "0"
    assert rows["Image files gone since the batch started"] == "0"
    # Checked and unchanged: the rows say 0 and the report warns of nothing.
    unchanged = ReportContext("/lab", "completed", 3, 0, sample=SampleDetails("S-1"), folder_changes=FolderChanges())
    assert report_warnings(summary, unchanged) == []
    assert {row[2]: row[3] for row in batch_rows(None, None, folder_changes=FolderChanges())} == {
        "Image files new in the folder since the batch started": "0",
        "Image files changed since the batch started": "0",
        "Image files gone since the batch started": "0",
    }
    # Not checked: no rows about it.
    assert not any("since the batch started" in row[2] for row in batch_rows("completed", 3))
