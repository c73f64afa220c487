"""Reviews saved as they are made, so a crash or a closed window never loses a person's work.

One JSON file per opened folder, in a directory of the user's settings. Each entry
names the file (its path relative to the folder), the sha256 of the bytes that were
classified and the review. Opening the folder again restores a review only to a file
with the same path *and* the same bytes: a replaced image starts unreviewed. The same
file keeps the folder's sample details (:class:`~hemoapp.core.sample.SampleDetails`),
which belong to the folder as a whole.

Files are replaced atomically (:func:`~hemoapp.core.atomic_write.atomic_open`), so a
crash or a full disk while saving leaves the previous version.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hemoapp.core.atomic_write import atomic_open
from hemoapp.core.export import utc_timestamp
from hemoapp.core.review import Review, clean_reviewer_name, review_key
from hemoapp.core.sample import SampleDetails

#: Version of the file layout, written into every file. The optional ``sample`` entry came
#: later within version 1: older versions of HemoLens still read such a file (they skip the
#: entry, and drop it when they save the folder's reviews).
STORE_VERSION = 1


class ReviewStoreError(Exception):
    """A saved-reviews file could not be read or written."""


#: Saved reviews of one folder: ``(relative path, file sha256)`` → review.
SavedReviews = dict[tuple[str, str], Review]


@dataclass(frozen=True)
class SavedFolder:
    """Everything saved for one folder: its reviews and its sample details."""

    reviews: SavedReviews = field(default_factory=dict)
    sample: SampleDetails = field(default_factory=SampleDetails)


@dataclass(frozen=True)
class SavedElsewhere:
    """A review saved while its folder was at another path (see :meth:`ReviewStore.saved_elsewhere`).

    Attributes:
        review: the review.
        folder: where the folder was when it was saved.
        sample: that folder's sample details.
        folder_reviews: how many reviews were saved for that folder in all.
    """

    review: Review
    folder: str
    sample: SampleDetails
    folder_reviews: int


#: Ending of a saved-reviews file that could not be read and was set aside.
UNREADABLE_SUFFIX = ".unreadable.json"

#: How many of the most recently saved folders :meth:`ReviewStore.saved_elsewhere` reads.
ELSEWHERE_LIMIT = 1000


class ReviewStore:
    """Reads and writes the saved reviews of opened folders.

    Args:
        directory: where the files live (created on the first save).
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    def path_for(self, root: str | os.PathLike[str]) -> Path:
        """The file that holds the reviews of folder ``root``."""
        digest = hashlib.sha256(str(Path(root).resolve()).encode("utf-8", "surrogateescape")).hexdigest()
        return self.directory / f"{digest[:24]}.json"

    def save(self, root: str | os.PathLike[str], saved: Mapping[tuple[str, str], Review],
             sample: SampleDetails | None = None) -> Path:
        """Replace the saved reviews of ``root`` with ``saved`` ((relative path, sha256) → review).

        ``sample`` replaces the folder's sample details (``None``: none). A file with no
        reviews and no sample details is still written: it records that everything was
        undone here, so reviews saved for the same files under another path (see
        :meth:`saved_elsewhere`) do not come back.

        Raises:
            ReviewStoreError: the file could not be written.
        """
        path = self.path_for(root)
        entries = [
            {
                "file": relpath,
                "file_sha256": digest,
                "class": review.class_name,
                "at": utc_timestamp(review.at),
                "by": review.by,
            }
            for (relpath, digest), review in sorted(saved.items())
        ]
        sample = sample or SampleDetails()
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            document: dict[str, Any] = {"version": STORE_VERSION, "folder": str(Path(root).resolve())}
            if not sample.is_empty():
                document["sample"] = {"sample_id": sample.sample_id, "comment": sample.comment}
            document["reviews"] = entries
            with atomic_open(path, encoding="utf-8") as handle:
                json.dump(document, handle, ensure_ascii=False, indent=1)
        except OSError as exc:
            raise ReviewStoreError(f"could not save the reviews in {path}: {exc.strerror or exc}") from exc
        return path

    def has_saved(self, root: str | os.PathLike[str]) -> bool:
        """Whether anything was ever saved for folder ``root`` at this path (even if all was undone)."""
        return self.path_for(root).exists()

    def load(self, root: str | os.PathLike[str]) -> SavedReviews:
        """The saved reviews of ``root`` (empty if there are none); see :meth:`load_folder`."""
        return self.load_folder(root).reviews

    def load_folder(self, root: str | os.PathLike[str]) -> SavedFolder:
        """The saved reviews and sample details of ``root`` (both empty if there are none).

        Raises:
            ReviewStoreError: the file exists but cannot be read or is not a reviews file.
        """
        try:
            return self._read(self.path_for(root))[1]
        except FileNotFoundError:
            return SavedFolder()

    def saved_elsewhere(
        self, root: str | os.PathLike[str], relpaths: Collection[str], limit: int = ELSEWHERE_LIMIT
    ) -> dict[tuple[str, str], SavedElsewhere]:
        """Reviews of files named ``relpaths`` saved while their folder was at another path than ``root``.

        This is how a folder that was moved, renamed or reached under another drive
        letter finds its reviews again. The result is keyed by (relative path, sha256),
        so a review still only comes back to a file with the same relative path and the
        same bytes. Where several folders reviewed the same file, the latest review wins.

        Only the ``limit`` files saved most recently are read, which bounds the time a
        long history costs. Files that cannot be read are skipped here: they belong to
        other folders, and opening those says so.
        """
        wanted = set(relpaths)
        own = self.path_for(root)
        try:
            candidates = [p for p in self.directory.glob("*.json") if p != own and not p.name.endswith(UNREADABLE_SUFFIX)]
            by_age = sorted(candidates, key=lambda p: p.stat().st_mtime, reverse=True)[:limit]
        except OSError:
            return {}
        found: dict[tuple[str, str], SavedElsewhere] = {}
        for path in by_age:
            try:
                folder, saved, total = self._read(path, wanted)
            except (FileNotFoundError, ReviewStoreError):
                continue
            for key, review in saved.reviews.items():
                current = found.get(key)
                if current is None or review.at > current.review.at:
                    found[key] = SavedElsewhere(review, folder, saved.sample, total)
        return found

    def _read(self, path: Path, wanted: Collection[str] | None = None) -> tuple[str, SavedFolder, int]:
        """The folder named in the file at ``path``, what was saved for it and its number of reviews.

        With ``wanted``, only the reviews of those relative paths are read (the rest are
        left unparsed: reading a review's time is what costs).

        Raises:
            FileNotFoundError: there is no such file.
            ReviewStoreError: the file cannot be read or is not a reviews file.
        """
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise
        except (OSError, ValueError) as exc:
            raise ReviewStoreError(f"could not read the saved reviews in {path}: {exc}") from exc
        try:
            if document["version"] != STORE_VERSION:
                raise ValueError(f"version {document['version']!r}")
            reviews = {
                (str(entry["file"]), str(entry["file_sha256"])): Review(
                    # A name edited into the file by hand is cleaned as one typed in the app would be.
                    str(entry["class"]), _parse_time(entry["at"]), clean_reviewer_name(str(entry["by"])) or "unknown"
                )
                for entry in document["reviews"]
                if wanted is None or entry["file"] in wanted
            }
            sample = document.get("sample") or {}
            # SampleDetails cleans what it is given, hand edits included.
            details = SampleDetails(str(sample.get("sample_id", "")), str(sample.get("comment", "")))
            folder = str(document.get("folder", ""))
            total = len(document["reviews"])
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise ReviewStoreError(f"{path} is not a HemoLens reviews file ({exc})") from exc
        return folder, SavedFolder(reviews, details), total

    def set_aside(self, root: str | os.PathLike[str]) -> Path | None:
        """Rename an unreadable file of ``root`` out of the way (kept for support); return its new path.

        A file set aside before is never replaced: the second becomes ``NAME.2.unreadable.json``,
        and so on (each may hold reviews someone wants back).
        """
        path = self.path_for(root)
        for number in range(1, 10_000):
            infix = "" if number == 1 else f".{number}"
            aside = path.with_name(f"{path.stem}{infix}{UNREADABLE_SUFFIX}")
            try:
                # A hard link fails on an existing name, so no earlier file is ever overwritten.
                os.link(path, aside)
            except FileExistsError:
                continue
            except OSError:
                # No hard links on this file system (some network shares): rename if the name is free.
                if os.path.lexists(aside):
                    continue
                try:
                    os.replace(path, aside)
                except OSError:
                    return None
                return aside
            try:
                os.unlink(path)
            except OSError:
                pass  # both names hold the file; the next load reads the same content and sets it aside again
            return aside
        return None


def saved_key(prediction: Any) -> tuple[str, str] | None:
    """The key of ``prediction``'s review in a store: (relative path, sha256); ``None`` without a digest."""
    if not prediction.ok or not prediction.file_sha256:
        return None  # nothing identifies the bytes that would be reviewed
    return prediction.record.relpath, prediction.file_sha256


def restorable(predictions: Iterable[Any], saved: Mapping[tuple[str, str], Review]) -> dict[str, Review]:
    """The saved reviews that belong to ``predictions``, by :func:`~hemoapp.core.review.review_key`.

    A review comes back only to a classified file with the same relative path and
    the same sha256 as the file that was reviewed.
    """
    if not saved:
        return {}
    found = {}
    for prediction in predictions:
        review = saved.get(saved_key(prediction))
        if review is not None:
            found[review_key(prediction)] = review
    return found


def updated(
    saved: Mapping[tuple[str, str], Review], predictions: Iterable[Any], reviews: Mapping[str, Review]
) -> SavedReviews:
    """``saved`` with the reviews of ``predictions`` replaced by ``reviews`` (by review key).

    Entries of files that are not among ``predictions`` stay: a batch still running,
    or cancelled, has not shown them yet.
    """
    result = dict(saved)
    for prediction in predictions:
        key = saved_key(prediction)
        if key is None:
            continue
        review = reviews.get(review_key(prediction))
        if review is None:
            result.pop(key, None)
        else:
            result[key] = review
    return result


def _parse_time(text: str) -> _dt.datetime:
    """A time as :func:`~hemoapp.core.export.utc_timestamp` writes it ("2026-11-24T09:30:05Z")."""
    # The shape is checked here and the fields by fromisoformat, which is far faster than
    # strptime: a folder opened after a move reads many files' reviews.
    if not (isinstance(text, str) and len(text) == 20 and text[10] == "T" and text[19] == "Z"):
        raise ValueError(f"not a UTC time: {text!r}")
    return _dt.datetime.fromisoformat(text[:19]).replace(tzinfo=_dt.timezone.utc)
