"""Reviews saved as they are made, so a crash or a closed window never loses a person's work.

One JSON file per opened folder, in a directory of the user's settings. Each entry
names the file (its path relative to the folder), the sha256 of the bytes that were
classified and the review. Opening the folder again restores a review only to a file
with the same path *and* the same bytes: a replaced image starts unreviewed. The same
file keeps the folder's sample details (:class:`~hemoapp.core.sample.SampleDetails`),
which belong to the folder as a whole.

Files are replaced atomically (:func:`~hemoapp.core.export.atomic_text_file`), so a
crash while saving leaves the previous version.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hemoapp.core.export import atomic_text_file, utc_timestamp
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

        ``sample`` replaces the folder's sample details (``None``: none). With no reviews
        and no sample details the file is removed: nothing of this folder is left to restore.

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
            if not entries and sample.is_empty():
                path.unlink(missing_ok=True)
                return path
            self.directory.mkdir(parents=True, exist_ok=True)
            document: dict[str, Any] = {"version": STORE_VERSION, "folder": str(Path(root).resolve())}
            if not sample.is_empty():
                document["sample"] = {"sample_id": sample.sample_id, "comment": sample.comment}
            document["reviews"] = entries
            with atomic_text_file(path, encoding="utf-8") as handle:
                json.dump(document, handle, ensure_ascii=False, indent=1)
        except OSError as exc:
            raise ReviewStoreError(f"could not save the reviews in {path}: {exc.strerror or exc}") from exc
        return path

    def load(self, root: str | os.PathLike[str]) -> SavedReviews:
        """The saved reviews of ``root`` (empty if there are none); see :meth:`load_folder`."""
        return self.load_folder(root).reviews

    def load_folder(self, root: str | os.PathLike[str]) -> SavedFolder:
        """The saved reviews and sample details of ``root`` (both empty if there are none).

        Raises:
            ReviewStoreError: the file exists but cannot be read or is not a reviews file.
        """
        path = self.path_for(root)
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return SavedFolder()
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
            }
            sample = document.get("sample") or {}
            # SampleDetails cleans what it is given, hand edits included.
            details = SampleDetails(str(sample.get("sample_id", "")), str(sample.get("comment", "")))
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise ReviewStoreError(f"{path} is not a HemoLens reviews file ({exc})") from exc
        return SavedFolder(reviews, details)

    def set_aside(self, root: str | os.PathLike[str]) -> Path | None:
        """Rename an unreadable file of ``root`` out of the way (kept for support); return its new path."""
        path = self.path_for(root)
        aside = path.with_suffix(".unreadable.json")
        try:
            os.replace(path, aside)
        except OSError:
            return None
        return aside


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
    return _dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=_dt.timezone.utc)
