"""The cells people reviewed, in every folder ever opened: what a lab profile is fitted on.

Reviews are saved per folder (:mod:`hemoapp.core.review_store`); each names a file by its path
relative to the folder and the sha256 of the bytes that were classified. A reviewed cell is
used only while its file is still there with the same bytes (a replaced image is not the cell
that was reviewed). The same bytes reviewed in several folders count once: the latest review
wins. A confirmed cell (the model's class was right) and a corrected one are both reviewed.

:func:`export_reviewed_cells` copies them as a folder of class folders, which is what
``hemoapp adapt`` reads.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from hemoapp.core.classifier import sha256_of
from hemoapp.core.contract import CLASS_NAMES
from hemoapp.core.review_store import UNREADABLE_SUFFIX, ReviewStore, ReviewStoreError


@dataclass(frozen=True)
class ReviewedCell:
    """One reviewed cell whose file is still the one reviewed.

    Attributes:
        path: the file.
        sha256: its bytes' digest (the one the review was saved with).
        class_name: the class the person gave (or confirmed).
        by: who reviewed it.
    """

    path: Path
    sha256: str
    class_name: str
    by: str


@dataclass(frozen=True)
class ReviewedCells:
    """Every usable reviewed cell, and how many reviews could not be used.

    Attributes:
        cells: the cells, in a stable order (by class, then path).
        missing: reviews whose file is gone or has other bytes now.
        duplicates: reviews of bytes reviewed elsewhere too (the latest counted).
    """

    cells: tuple[ReviewedCell, ...]
    missing: int = 0
    duplicates: int = 0

    def counts(self) -> dict[str, int]:
        """Cells per class (contract order, classes with none left out)."""
        counts = {name: 0 for name in CLASS_NAMES}
        for cell in self.cells:
            counts[cell.class_name] = counts.get(cell.class_name, 0) + 1
        return {name: n for name, n in counts.items() if n}


def _file_sha256(path: Path) -> str | None:
    try:
        return sha256_of(path)
    except OSError:
        return None


def reviewed_cells(reviews_dir: str | os.PathLike[str]) -> ReviewedCells:
    """The reviewed cells saved in ``reviews_dir`` (a :class:`~hemoapp.core.review_store.ReviewStore`'s folder).

    Files that are not readable reviews files are skipped (opening their folder says so).
    """
    directory = Path(reviews_dir)
    store = ReviewStore(directory)
    latest: dict[str, tuple] = {}
    missing = duplicates = 0
    try:
        files = sorted(p for p in directory.glob("*.json") if not p.name.endswith(UNREADABLE_SUFFIX))
    except OSError:
        files = []
    for path in files:
        try:
            folder = str(json.loads(path.read_text(encoding="utf-8")).get("folder", ""))
            if not folder or store.path_for(folder) != path:
                continue
            saved = store.load_folder(folder)
        except (OSError, ValueError, AttributeError, ReviewStoreError):
            continue
        for (relpath, digest), review in saved.reviews.items():
            if review.class_name not in CLASS_NAMES:
                continue
            file = Path(folder) / relpath
            if _file_sha256(file) != digest:
                missing += 1
                continue
            if digest in latest:
                duplicates += 1
                if latest[digest][0] >= review.at:
                    continue
            latest[digest] = (review.at, ReviewedCell(file, digest, review.class_name, review.by))
    cells = sorted((cell for _, cell in latest.values()),
                   key=lambda c: (CLASS_NAMES.index(c.class_name), str(c.path)))
    return ReviewedCells(tuple(cells), missing, duplicates)


def export_reviewed_cells(cells: ReviewedCells, target: str | os.PathLike[str]) -> list[Path]:
    """Copy every cell into ``target/<class>/`` (its file name; ``NAME-<sha8>.EXT`` where taken).

    No file in ``target`` is ever replaced. Returns the files written.

    Raises:
        OSError: a copy failed (the files copied so far stay).
    """
    target = Path(target)
    written = []
    for cell in cells.cells:
        folder = target / cell.class_name
        folder.mkdir(parents=True, exist_ok=True)
        destination = folder / cell.path.name
        if destination.exists() and _file_sha256(destination) == cell.sha256:
            continue  # the same cell, copied before
        if destination.exists():
            destination = folder / f"{cell.path.stem}-{cell.sha256[:8]}{cell.path.suffix}"
        if destination.exists():
            continue  # the same cell under its digest's name, copied before
        shutil.copyfile(cell.path, destination)
        written.append(destination)
    return written
