"""Where the app finds its bundled files: icon, resources, sample images.

A PyInstaller bundle unpacks its data under ``sys._MEIPASS``; a source checkout
keeps ``resources/`` at the repository root and the sample images in the shared
dataset folder beside the checkout.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtCore import QMimeData

from hemoapp.core.imageio import is_image_name

#: Environment variable that points "Open sample images" at another folder.
SAMPLES_ENV = "HEMOLENS_SAMPLES"

_REPO_ROOT = Path(__file__).resolve().parents[2]


def bundle_root() -> Path | None:
    """The PyInstaller unpack folder, or ``None`` when running from source."""
    meipass = getattr(sys, "_MEIPASS", None)
    return Path(meipass) if meipass else None


def resource_path(name: str) -> Path:
    """Path of a file in ``resources/`` (bundle or checkout)."""
    root = bundle_root()
    base = root / "resources" if root else _REPO_ROOT / "resources"
    return base / name


def sample_images_candidates() -> list[Path]:
    """The folders "Open sample images" looks in, in order of preference."""
    candidates: list[Path] = []
    override = os.environ.get(SAMPLES_ENV)
    if override:
        candidates.append(Path(override))
    root = bundle_root()
    if root:
        candidates.append(root / "samples")
    else:
        candidates.append(_REPO_ROOT.parent / "shared" / "datasets" / "pbc8-originals")
    return candidates


def _has_images(folder: Path) -> bool:
    for _dirpath, _dirnames, filenames in os.walk(folder):
        if any(is_image_name(name) for name in filenames):
            return True
    return False


def find_sample_images() -> Path | None:
    """The first sample folder that exists and holds at least one image, else ``None``."""
    for candidate in sample_images_candidates():
        try:
            if candidate.is_dir() and _has_images(candidate):
                return candidate
        except OSError:
            continue
    return None


def droppable_paths(mime: QMimeData) -> list[Path]:
    """Local folders and image files in a drag-and-drop payload (others are left out)."""
    if not mime.hasUrls():
        return []
    paths = [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]
    return [path for path in paths if path.is_dir() or is_image_name(path)]
