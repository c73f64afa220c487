"""Keeps the opened folder's reviews and sample details on disk as they are made; brings them back on reopening.

The window tells the keeper when a folder opens (:meth:`ReviewKeeper.open`), when rows
arrive (:meth:`ReviewKeeper.add_predictions`: their saved reviews are looked up first and
go into the model with them, in one insert), when the user changed a review
(:meth:`ReviewKeeper.save`) and when they entered the sample details
(:meth:`ReviewKeeper.set_sample`); the keeper talks to the core's
:class:`~hemoapp.core.review_store.ReviewStore` and remembers what went wrong, in
words for the status bar.

A folder opened for the first time at this path may have been reviewed elsewhere: moved,
renamed, copied, or on a USB stick that now has another drive letter. Its reviews are
then found by file (same relative path, same bytes) among those saved for other paths,
restored, and saved under the new path; the sample details come with them when the
folder has left its old path with all its reviewed files.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from hemoapp.core.pipeline import Prediction
from hemoapp.core.review import Review, review_key
from hemoapp.core.review_store import (
    ReviewStore,
    ReviewStoreError,
    SavedElsewhere,
    SavedReviews,
    restorable,
    saved_key,
    updated,
)
from hemoapp.core.sample import SampleDetails
from hemoapp.gui.table_model import ResultsModel


class ReviewKeeper:
    """Saves and restores the reviews in ``model`` for one opened folder at a time.

    Attributes:
        sample: the opened folder's sample details (saved, or entered since it opened).
        restored: reviews brought back since the folder was opened (from any path).
        moved_from: where the folder was when the reviews restored from another path
            were saved → how many of them; empty when none came from elsewhere.
        load_problem: why the folder's saved reviews could not be restored ("" if they could).
        save_problem: why the last save failed ("" once a save works).
    """

    def __init__(self, store: ReviewStore, model: ResultsModel) -> None:
        self.store = store
        self._model = model
        self._root: Path | None = None
        self._saved: SavedReviews = {}
        self.sample = SampleDetails()
        self.restored = 0
        self.moved_from: dict[str, int] = {}
        self._elsewhere: dict[tuple[str, str], SavedElsewhere] = {}
        self.load_problem = ""
        self.save_problem = ""

    def clear(self) -> None:
        """Forget the folder (another one is about to open)."""
        self._root = None
        self._saved = {}
        self.sample = SampleDetails()
        self.restored = 0
        self.moved_from = {}
        self._elsewhere = {}
        self.load_problem = ""

    def open(self, root: Path, relpaths: Collection[str] = ()) -> None:
        """Read the saved reviews and sample details of ``root``.

        If nothing was ever saved for ``root`` at this path, the reviews of its files
        (``relpaths``, relative to ``root``) saved for other paths are read too, in case
        the folder moved. An unreadable file of ``root`` is set aside and said in
        :attr:`load_problem`.
        """
        self.clear()
        self._root = root
        try:
            saved = self.store.load_folder(root)
            self._saved, self.sample = saved.reviews, saved.sample
        except ReviewStoreError as exc:
            aside = self.store.set_aside(root)
            kept = f" (kept as {aside})" if aside else ""
            self.load_problem = f"Earlier reviews of this folder could not be restored: {exc}{kept}"
            return
        if not self.store.has_saved(root):
            self._elsewhere = self.store.saved_elsewhere(root, relpaths)

    def add_predictions(self, predictions: list[Prediction]) -> int:
        """Add newly arrived ``predictions`` to the model with their saved reviews (same path, same bytes).

        The reviews are looked up first, so the rows arrive with them: one insert, and no
        ``reviews_changed`` (nothing was reviewed). Reviews found under another path (see
        :meth:`open`) are then saved under this folder, with that folder's sample details
        if this one has none yet; a failed save is said in :attr:`save_problem`.

        Returns:
            How many of the predictions had a saved review.
        """
        found = restorable(predictions, self._saved)
        moved = self._restorable_elsewhere(predictions) if self._elsewhere else {}
        found.update(moved)
        self._model.append_predictions(predictions, found)
        self.restored += len(found)
        if moved:
            self.save()
        return len(found)

    def _restorable_elsewhere(self, predictions: list[Prediction]) -> dict[str, Review]:
        """The reviews of ``predictions`` saved under another path, counted in :attr:`moved_from`.

        The sample details of that path come along only if the folder is no longer there
        (moved, not copied) and every review saved for it found its file here: one image
        shared by two specimens' folders must not carry one's sample ID to the other.
        """
        found: dict[str, Review] = {}
        complete: dict[str, SampleDetails] = {}
        for prediction in predictions:
            elsewhere = self._elsewhere.get(saved_key(prediction))
            if elsewhere is None:
                continue
            found[review_key(prediction)] = elsewhere.review
            count = self.moved_from.get(elsewhere.folder, 0) + 1
            self.moved_from[elsewhere.folder] = count
            if count == elsewhere.folder_reviews:
                complete[elsewhere.folder] = elsewhere.sample
        if self.sample.is_empty():
            for folder, sample in complete.items():
                if not sample.is_empty() and not Path(folder).exists():
                    self.sample = sample
                    break
        return found

    def set_sample(self, sample: SampleDetails) -> bool:
        """Make ``sample`` the folder's sample details and save them; False (see :attr:`save_problem`) if that failed.

        They are kept for this session either way, and go into the exports.
        """
        self.sample = sample
        return self.save()

    def save(self) -> bool:
        """Write the folder's reviews as they are now in the model, and its sample details.

        Returns False (see :attr:`save_problem`) if that failed.
        """
        if self._root is None:
            return True
        self._saved = updated(self._saved, self._model.predictions(), self._model.reviews())
        try:
            self.store.save(self._root, self._saved, self.sample)
        except ReviewStoreError as exc:
            self.save_problem = f"Reviews are not being saved: {exc}. Export the results before closing."
            return False
        self.save_problem = ""
        return True


def moved_text(moved_from: dict[str, int]) -> str:
    """Where reviews restored from other paths were saved, for the end-of-batch line ("" if none were)."""
    if not moved_from:
        return ""
    folders = sorted(moved_from, key=lambda folder: (-moved_from[folder], folder))
    where = folders[0] or "another folder"
    if len(folders) > 1:
        where += f" and {len(folders) - 1} other folder{'s' if len(folders) > 2 else ''}"
    count = sum(moved_from.values())
    return f" ({count} of them saved when these files were in {where})"
