"""Write run and model files so that a kill leaves either the old file or the new one.

Keras and numpy write straight to the path they are given, so a process killed mid-write
leaves a truncated file under the final name, which a resumed run or the app then takes
for a finished one. These helpers write a temporary file in the same folder (same file
system, so :func:`os.replace` is an atomic rename) and move it into place at the end.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np


def save_model(model, path: str | os.PathLike[str]) -> Path:
    """``model.save(path)`` via a temporary ``.keras`` file beside ``path`` and a rename."""
    # Keras picks the format from the suffix, so the temporary name ends in .keras too.
    return _write_via_temp(Path(path), ".keras", model.save)


def save_npy(path: str | os.PathLike[str], array: np.ndarray) -> Path:
    """``np.save(path, array)`` via a temporary ``.npy`` file beside ``path`` and a rename."""
    # np.save appends .npy to a name without it, so the temporary name ends in .npy.
    return _write_via_temp(Path(path), ".npy", lambda tmp: np.save(tmp, array))


def save_json(path: str | os.PathLike[str], value) -> Path:
    """Write ``value`` as indented JSON via a temporary file beside ``path`` and a rename."""
    text = json.dumps(value, indent=2)
    return _write_via_temp(Path(path), ".json", lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def _write_via_temp(path: Path, suffix: str, write) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{suffix}", dir=path.parent)
    os.close(handle)
    try:
        write(tmp)
        with open(tmp, "rb+") as written:
            os.fsync(written.fileno())  # the rename must not land before the data
        os.chmod(tmp, 0o644)  # mkstemp makes files private; run and model files are for everyone to read
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
