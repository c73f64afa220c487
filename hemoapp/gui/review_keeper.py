"""Keeps the opened folder's reviews and sample details on disk as they are made; brings them back on reopening.

The window tells the keeper when a folder opens (:meth:`ReviewKeeper.open`), when rows
arrive (:meth:`ReviewKeeper.restore`), when the user changed a review
(:meth:`ReviewKeeper.save`) and when they entered the sample details
(:meth:`ReviewKeeper.set_sample`); the keeper talks to the core's
:class:`~hemoapp.core.review_store.ReviewStore` and remembers what went wrong, in
words for the status bar.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hemoapp.core.review_store import ReviewStore, ReviewStoreError, SavedReviews, restorable, updated
from hemoapp.core.sample import SampleDetails
from hemoapp.gui.table_model import ResultsModel


class ReviewKeeper:
    """Saves and restores the reviews in ``model`` for one opened folder at a time.

    Attributes:
        sample: the opened folder's sample details (saved, or entered since it opened).
        restored: reviews brought back since the folder was opened.
        restoring: True while :meth:`restore` puts reviews into the model (nothing new to save).
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
        self.restoring = False
        self.load_problem = ""
        self.save_problem = ""

    def clear(self) -> None:
        """Forget the folder (another one is about to open)."""
        self._root = None
        self._saved = {}
        self.sample = SampleDetails()
        self.restored = 0
        self.load_problem = ""

    def open(self, root: Path) -> None:
        """Read the saved reviews and sample details of ``root``.

        An unreadable file is set aside and said in :attr:`load_problem`.
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

    def restore(self, predictions: list[Any]) -> int:
        """Give the newly arrived ``predictions`` their saved reviews (same path, same bytes); return how many."""
        found = restorable(predictions, self._saved)
        self.restoring = True
        try:
            self._model.restore_reviews(found)
        finally:
            self.restoring = False
        self.restored += len(found)
        return len(found)

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
