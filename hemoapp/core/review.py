"""A person's review of a cell: the class they saw, kept beside the model's prediction.

The model's prediction is never changed: a review is stored next to it, so every
export still shows what the model said (``predicted_class``, its confidence and the
model's sha256) and, separately, what a person decided (``reviewed_class``, when).
The class a lab reports for a cell, and that the counts use, is the reviewed one
where there is a review, else the model's (:func:`reported_class`).

Reviews are keyed by the file's path (:func:`review_key`): one row per file in a batch.
"""

from __future__ import annotations

import datetime as _dt
import getpass
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hemoapp.core.contract import CLASS_NAMES
from hemoapp.core.sample import one_line


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


#: The longest reviewer name kept (initials, a name, a staff number all fit).
MAX_REVIEWER_NAME = 64


def current_user() -> str:
    """The login name of the person using the app (``"unknown"`` where the system cannot say)."""
    try:
        return getpass.getuser() or "unknown"
    except Exception:  # noqa: BLE001 - getuser raises OSError, KeyError or ImportError by platform
        return "unknown"


def clean_reviewer_name(text: str) -> str:
    """``text`` as a reviewer name: one line, no control characters, spaces collapsed, at most 64 characters.

    Returns ``""`` when nothing printable is left (the caller then falls back to the login name).
    """
    return one_line(text, MAX_REVIEWER_NAME)


@dataclass(frozen=True)
class Review:
    """A person's decision on one classified cell.

    Attributes:
        class_name: the class they assigned (one of the contract's classes); the same
            as the prediction when they confirmed it.
        at: when they decided (UTC).
        by: who decided: the reviewer name set in the app, else the login name of the
            account the app ran under.
    """

    class_name: str
    at: _dt.datetime = field(default_factory=_now)
    by: str = field(default_factory=current_user)

    def __post_init__(self) -> None:
        if self.class_name not in CLASS_NAMES:
            raise ValueError(f"not a class of the model: {self.class_name!r}")


def review_key(prediction: Any) -> str:
    """The key of ``prediction``'s review in a reviews mapping: its file's path."""
    return str(prediction.record.path)


def review_of(prediction: Any, reviews: Mapping[str, Review] | None) -> Review | None:
    """The review of ``prediction`` in ``reviews``, or ``None``.

    A file that could not be classified has no review: there is no prediction to check.
    """
    if not reviews or not prediction.ok:
        return None
    return reviews.get(review_key(prediction))


def reported_class(prediction: Any, review: Review | None) -> str | None:
    """The class a cell counts as: the reviewed one if any, else the model's (``None`` for an error row)."""
    if not prediction.ok:
        return None
    return review.class_name if review is not None else prediction.predicted


def is_changed(prediction: Any, review: Review | None) -> bool:
    """True when a person put the cell in another class than the model did."""
    return review is not None and prediction.ok and review.class_name != prediction.predicted
