"""Write run and model files so that a kill leaves either the old file or the new one.

Keras and numpy write straight to the path they are given, so a process killed mid-write
would leave a truncated file under the final name, which a resumed run or the app then
takes for a finished one. These adapters let them write through HemoLens's one
atomic-write module (:mod:`hemoapp.core.atomic_write`: a temporary file in the same
folder, fsynced, renamed into place; a failure or a full disk keeps the old file).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from hemoapp.core.atomic_write import atomic_path, write_text


def save_model(model, path: str | os.PathLike[str]) -> Path:
    """``model.save(path)`` via a temporary ``.keras`` file beside ``path`` and a rename."""
    # Keras picks the format from the suffix, so the temporary name ends in .keras too.
    with atomic_path(path, suffix=".keras", make_parents=True) as temporary:
        model.save(temporary)
    return Path(path)


def save_npy(path: str | os.PathLike[str], array: np.ndarray) -> Path:
    """``np.save(path, array)`` via a temporary ``.npy`` file beside ``path`` and a rename."""
    # np.save appends .npy to a name without it, so the temporary name ends in .npy.
    with atomic_path(path, suffix=".npy", make_parents=True) as temporary:
        np.save(temporary, array)
    return Path(path)


def save_json(path: str | os.PathLike[str], value) -> Path:
    """Write ``value`` as indented JSON via a temporary file beside ``path`` and a rename."""
    return write_text(path, json.dumps(value, indent=2), make_parents=True)
