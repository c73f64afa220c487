"""No output replaces an input, however its path is spelled."""

from __future__ import annotations

import os

import pytest

from hemoapp.core.output_guard import OutputIsInputError, check_not_input, input_replaced_by


@pytest.fixture()
def images(tmp_path):
    folder = tmp_path / "cells" / "basophil"
    folder.mkdir(parents=True)
    paths = [folder / f"BA_{n}.jpg" for n in range(3)]
    for path in paths:
        path.write_bytes(b"\xff\xd8 an image")
    return paths


def test_an_input_named_by_its_path_or_another_spelling_is_refused(images, tmp_path, monkeypatch):
    assert input_replaced_by(images[1], images) == images[1]
    monkeypatch.chdir(tmp_path / "cells")
    assert input_replaced_by("basophil/../basophil/BA_2.jpg", images) == images[2]
    with pytest.raises(OutputIsInputError, match="is one of the input images; HemoLens never writes over its input"):
        check_not_input(images[0], images, "--out")


def test_a_link_to_an_input_is_refused(images, tmp_path):
    hard = tmp_path / "backup-of-BA_0.jpg"
    os.link(images[0], hard)  # a backup made with cp -l: replacing it loses the backup
    assert input_replaced_by(hard, images) == images[0]
    soft = tmp_path / "link.jpg"
    soft.symlink_to(images[1])
    with pytest.raises(OutputIsInputError, match=f"the same file as the input {images[1]}"):
        check_not_input(soft, images)


def test_other_files_and_new_names_are_allowed_inside_the_folder_too(images, tmp_path):
    other = tmp_path / "cells" / "results.csv"
    other.write_text("old results")
    assert input_replaced_by(other, images) is None
    assert input_replaced_by(tmp_path / "cells" / "basophil" / "new.csv", images) is None
    images[2].unlink()  # an input gone since the scan cannot be overwritten: no error either
    assert input_replaced_by(tmp_path / "elsewhere.csv", images) is None
