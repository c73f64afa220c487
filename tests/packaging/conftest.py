"""Fixtures for the packaging tests: ``packaging/`` on the import path, small sample folders.

Nothing here builds a bundle (that is ``packaging/build.sh``, minutes long); the
tests cover the self-test's logic and the bundle recipe's decisions.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

PACKAGING_DIR = Path(__file__).resolve().parents[2] / "packaging"
if str(PACKAGING_DIR) not in sys.path:
    # packaging/ is a folder of build scripts, not a package (its name would shadow
    # the PyPI "packaging" module), so its helper is imported by path.
    sys.path.insert(0, str(PACKAGING_DIR))


@pytest.fixture()
def samples(tmp_path, pbc8_originals) -> Path:
    """A samples folder like the bundle's: one real analyser JPEG per class in ``<class>/``."""
    folder = tmp_path / "samples"
    for class_dir in sorted(p for p in pbc8_originals.iterdir() if p.is_dir()):
        (folder / class_dir.name).mkdir(parents=True)
        first = sorted(class_dir.glob("*.jpg"))[0]
        shutil.copyfile(first, folder / class_dir.name / first.name)
    return folder
