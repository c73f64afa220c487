"""A small lab folder of class folders copied from ``bccd-wbc`` (another lab's cells), for lab-profile tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

DATASETS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
BCCD = DATASETS / "bccd-wbc"


def make_lab_folder(target: Path, per_class: int = 6,
                    classes: tuple[str, ...] = ("eosinophil", "lymphocyte", "neutrophil"),
                    source: Path = BCCD) -> Path:
    """Copy the first ``per_class`` images of each of ``classes`` of ``source`` into ``target/<class>/``.

    Skips the test when the dataset is absent.
    """
    if not source.is_dir():
        pytest.skip(f"dataset not available: {source}")
    for name in classes:
        files = sorted((source / name).iterdir())[:per_class]
        (target / name).mkdir(parents=True, exist_ok=True)
        for path in files:
            shutil.copyfile(path, target / name / path.name)
    return target
