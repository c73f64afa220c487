"""Reviewing the selected cell, the name reviews are recorded under, and the opened folder's sample details.

The reviews and the sample details are saved with the folder as they are made
(:class:`~hemoapp.gui.review_keeper.ReviewKeeper`); what went wrong is said, not raised.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QWidget

from hemoapp.core.contract import display_name
from hemoapp.core.pipeline import Prediction
from hemoapp.core.review import clean_reviewer_name, current_user
from hemoapp.core.sample import SampleDetails
from hemoapp.core.scan import ScanResult
from hemoapp.gui.controllers.status import MESSAGE_MS
from hemoapp.gui.dialogs import ask_reviewer_name
from hemoapp.gui.review_keeper import ReviewKeeper
from hemoapp.gui.settings import AppSettings
from hemoapp.gui.filter_proxy import ResultsFilterProxy
from hemoapp.gui.table_model import Flag, ResultsModel
from hemoapp.gui.widgets.results_view import ResultsView
from hemoapp.gui.widgets.sample_dialog import ask_sample_details


class ReviewController(QObject):
    """Records reviews of the selected cell and keeps them, and the sample details, saved with the folder.

    Args:
        keeper: saves and restores the opened folder's reviews and sample details.
        view: the results view (its selection is the cell reviewed).
        parent: the window; the reviewer-name and sample dialogs belong to it.

    Signals:
        message(str, int): a status bar message and how long it stays.
        reviews_at_risk(str): why reviews are not being saved or were not restored.
        reviews_edited(): a person changed a review or the sample details (the exports are out of date).
        sample_changed(): the folder's sample details changed.
    """

    message = Signal(str, int)
    reviews_at_risk = Signal(str)
    reviews_edited = Signal()
    sample_changed = Signal()

    def __init__(self, keeper: ReviewKeeper, model: ResultsModel, proxy: ResultsFilterProxy, view: ResultsView,
                 settings: AppSettings, parent: QWidget) -> None:
        super().__init__(parent)
        self.keeper = keeper
        self._model = model
        self._proxy = proxy
        self._view = view
        self._settings = settings
        self._folder: str | None = None  # the scanned folder the sample details belong to
        model.reviews_changed.connect(self._on_model_reviews_changed)
        view.review_requested.connect(self.review_selected)
        view.detail.review_box.set_reviewer(self.reviewer())

    # ----- the opened folder --------------------------------------------
    def clear(self) -> None:
        """Forget the folder (another one is about to open)."""
        self._folder = None
        self.keeper.clear()

    def open_scan(self, scan: ScanResult) -> None:
        """Read the scanned folder's saved reviews and sample details (said if they cannot be)."""
        self._folder = str(scan.root)
        self.keeper.open(scan.root, [record.relpath for record in scan.records])
        self.sample_changed.emit()
        if self.keeper.load_problem:
            self.reviews_at_risk.emit(self.keeper.load_problem)

    def add_predictions(self, predictions: list[Prediction]) -> None:
        """Put newly arrived rows into the model with their saved reviews."""
        sample = self.keeper.sample
        if self.keeper.add_predictions(predictions) and self.keeper.moved_from:
            if self.keeper.sample != sample:
                self.sample_changed.emit()  # the details came with reviews saved where the folder was before
            if self.keeper.save_problem:
                self.reviews_at_risk.emit(self.keeper.save_problem)

    # ----- reviews ------------------------------------------------------
    @Slot(object)
    def review_selected(self, class_name: str | None) -> bool:
        """Record that the user put the selected cell in ``class_name`` (``None``: forget its review).

        After a flagged cell is reviewed, the next flagged cell nobody has reviewed is
        selected, so a run of reviews needs no mouse. Returns False, and says why in the
        status bar, if no cell that can be reviewed is selected or there is no review to undo.
        """
        return self._review_selected(lambda _pred: class_name)

    @Slot()
    def confirm_selected(self) -> bool:
        """Record that the model's class of the selected cell is right (see :meth:`review_selected`)."""
        return self._review_selected(lambda pred: pred.predicted)

    @Slot()
    def undo_selected(self) -> bool:
        """Forget the review of the selected cell (see :meth:`review_selected`)."""
        return self.review_selected(None)

    @Slot()
    def review_as_sender(self) -> bool:
        """Review the selected cell as the class the triggering action carries (its ``data()``)."""
        return self.review_selected(self.sender().data())

    @Slot()
    def select_next_flagged(self) -> None:
        """Select the next shown cell flagged for review that nobody has reviewed, keys on the cells."""
        if not self._view.select_next_flagged():
            self.message.emit("No cell shown is flagged for review.", MESSAGE_MS)
            return
        self._view.focus_cells()  # so Enter or a digit reviews it next

    def _review_selected(self, choose_class: Callable[[Prediction], str | None]) -> bool:
        """Review the selected cell as ``choose_class(its prediction)``; see :meth:`review_selected`."""
        model = self._model
        row = self._view.selected_source_row()
        if row is None:
            self.message.emit("Select a cell to review first.", MESSAGE_MS)
            return False
        pred = model.prediction_at(row)
        if not pred.ok:
            self.message.emit("An unreadable file has nothing to review.", MESSAGE_MS)
            return False
        class_name = choose_class(pred)
        if class_name is None and model.review_of(pred) is None:
            self.message.emit(f"{pred.record.relpath} has no review to undo.", MESSAGE_MS)
            return False
        view_row = self._proxy.mapFromSource(model.index(row, 0)).row()
        model.set_review(row, class_name, by=self.reviewer())  # saved at once, see _on_model_reviews_changed
        # Said with every review until saving works again: the user must not count on it meanwhile.
        problem = self.keeper.save_problem
        warning = f"{problem} " if problem else ""
        if class_name is None:
            self.message.emit(
                f"{warning}{pred.record.relpath}: review undone; it counts as {display_name(pred.predicted)} again.",
                MESSAGE_MS,
            )
            return True
        left = model.unreviewed_flagged_count()
        verb = "confirmed as" if class_name == pred.predicted else "changed to"
        message = (
            f"{warning}{pred.record.relpath}: {verb} {display_name(class_name)}. Flagged cells left to review: {left}."
        )
        if model.flag_of(pred) == Flag.REVIEW and left:
            # The row may have left the view (the "not reviewed" filter, a class filter): go on from its place.
            # Sorted by the reviewed class, the review has moved the cell: look it up again.
            shown = self._proxy.mapFromSource(model.index(model.row_of(pred), 0))
            if not self._view.select_next_flagged(shown.row() + 1 if shown.isValid() else view_row):
                message += " None of them is shown with the current filters."
        self.message.emit(message, MESSAGE_MS)
        return True

    @Slot()
    def _on_model_reviews_changed(self) -> None:
        self.reviews_edited.emit()  # the exported CSV no longer has every review
        if not self.keeper.save():
            self.reviews_at_risk.emit(self.keeper.save_problem)

    # ----- the reviewer -------------------------------------------------
    def reviewer(self) -> str:
        """The name new reviews are recorded under: the one set in Review > Reviewer Name, else the login name.

        Technicians who share one computer account set their own, so ``reviewed_by`` tells them apart.
        """
        # Cleaned again on the way out: the settings file is plain text anyone can edit.
        return clean_reviewer_name(self._settings.reviewer_name()) or current_user()

    def set_reviewer(self, text: str) -> str:
        """Record later reviews under ``text`` (cleaned; empty: the login name); return the name now in use.

        Reviews already made keep the name they were made under.
        """
        self._settings.set_reviewer_name(clean_reviewer_name(text))
        name = self.reviewer()
        self._view.detail.review_box.set_reviewer(name)
        return name

    @Slot()
    def ask_reviewer(self) -> None:
        """Ask for the reviewer's name (Review > Reviewer Name…)."""
        text = ask_reviewer_name(self.parent(), self._settings.reviewer_name(), current_user())
        if text is None:
            return
        name = self.set_reviewer(text)
        self.message.emit(f"Reviews from now on are recorded as {name}.", MESSAGE_MS)

    # ----- the sample details -------------------------------------------
    def has_folder(self) -> bool:
        """True once a folder is scanned: the sample details belong to it."""
        return self._folder is not None

    def sample_details(self) -> SampleDetails:
        """The sample ID and comment of the opened folder's specimen (empty until entered)."""
        return self.keeper.sample

    def set_sample_details(self, sample: SampleDetails) -> bool:
        """Make ``sample`` the opened folder's sample details; False (status bar says why) if they were not saved.

        They are saved with the folder's reviews, so they come back when it is opened again,
        and go into every export from now on. Without an opened folder nothing changes.
        """
        if self._folder is None:
            self.message.emit("Open a folder first: the sample details belong to it.", MESSAGE_MS)
            return False
        if sample != self.keeper.sample:
            self.reviews_edited.emit()  # the exported CSV has the old sample ID
        saved = self.keeper.set_sample(sample)
        self.sample_changed.emit()
        if not saved:
            self.reviews_at_risk.emit(self.keeper.save_problem)
        elif sample.sample_id:
            self.message.emit(f"Sample ID {sample.sample_id} goes into the report and the CSVs.", MESSAGE_MS)
        else:
            self.message.emit("No sample ID: the report will say so.", MESSAGE_MS)
        return saved

    @Slot()
    def ask_sample_details(self) -> None:
        """Ask for the sample ID and comment (File > Sample ID and Comment…)."""
        sample = ask_sample_details(self.parent(), self.keeper.sample, self._folder or "")
        if sample is not None:
            self.set_sample_details(sample)
