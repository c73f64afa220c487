"""Fixtures for the training tests: a tiny PBC-shaped data folder made of real images."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hemoapp.core.contract import CLASS_NAMES

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"


@pytest.fixture(scope="session")
def tiny_pbc(tmp_path_factory) -> Path:
    """``train/val/test`` with 2 images per class: real PBC crops when available, else synthetic."""
    root = tmp_path_factory.mktemp("pbc")
    rng = np.random.default_rng(0)
    for split in ("train", "val", "test"):
        for index, name in enumerate(CLASS_NAMES):
            folder = root / split / name
            folder.mkdir(parents=True)
            source = SHARED / "pbc8" / split / name
            real = sorted(source.glob("*.jpg"))[:2] if source.is_dir() else []
            for k in range(2):
                if real:
                    (folder / real[k].name).write_bytes(real[k].read_bytes())
                else:
                    pixels = rng.integers(0, 255, (96, 96, 3), dtype=np.uint8)
                    pixels[..., index % 3] = 30 * index  # a class-dependent colour (<= 210)
                    Image.fromarray(pixels).save(folder / f"{name}_{k}.png")
    return root
