"""No output may replace an input: the check behind ``--out``, ``--report``, ``--agreement`` and the export dialogs.

A results CSV written over one of the images it describes destroys the image (the
rename is atomic, the loss permanent). An output is refused when it *is* one of the
input files, however it is spelled: compared by file identity (device and inode,
as :func:`os.path.samefile` does), so another spelling of the path (``..``, a link,
another letter case on a case-insensitive disk) and a hard link to an input (a
backup made with ``cp -l``, say) are caught too. Paths are also compared as text,
after making them absolute and folding case where the platform does, for files the
identity cannot tell apart. An output that does not exist yet overwrites nothing
and is allowed, inside the input folder too.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path


class OutputIsInputError(ValueError):
    """An output path names one of the input files; the message says which and what to do."""


def input_replaced_by(output: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str]]) -> Path | None:
    """The input file that writing ``output`` would replace, or ``None``.

    Costs one ``stat`` per input (12,000 inputs: a few tens of milliseconds on a local disk).
    """
    try:
        identity = _identity(os.stat(output))
    except OSError:
        identity = None  # nothing there, or it cannot be reached: only the spelling can match
    spelling = _spelling(output)
    for item in inputs:
        if _spelling(item) == spelling:
            return Path(item)
        if identity is None:
            continue
        try:
            if _identity(os.stat(item)) == identity:
                return Path(item)
        except OSError:
            continue  # an input gone since the scan cannot be overwritten
    return None


def check_not_input(output: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str]],
                    what: str = "The output") -> None:
    """Raise :class:`OutputIsInputError` when ``output`` is one of ``inputs``.

    Args:
        what: how the message names the output, e.g. ``--out`` or ``The results CSV``.
    """
    clash = input_replaced_by(output, inputs)
    if clash is None:
        return
    same = "" if _spelling(clash) == _spelling(output) else f" (the same file as the input {clash})"
    raise OutputIsInputError(
        f"{what} {output} is one of the input images{same}; HemoLens never writes over its input. "
        "Choose another file name."
    )


def _identity(status: os.stat_result) -> tuple[int, int] | None:
    # A file system without inode numbers (st_ino 0, e.g. FAT on some systems) would make
    # every file look the same: there only the spelling counts.
    return (status.st_dev, status.st_ino) if status.st_ino else None


def _spelling(path: str | os.PathLike[str]) -> str:
    return os.path.normcase(os.path.abspath(path))
