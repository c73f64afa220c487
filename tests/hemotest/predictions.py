"""Hand-made core ``Prediction`` objects and a CSV reader, for tests of counts and exports."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

from hemoapp.core.contract import CLASS_NAMES
from hemoapp.core.pipeline import Prediction
from hemoapp.core.scan import ImageRecord


def predicted(name: str, confidence: float = 0.99, index: int = 0) -> Prediction:
    """A cell of class ``name`` at ``confidence`` (the rest spread evenly), file ``<name><index>.jpg``."""
    record = ImageRecord(Path(f"{name}{index}.jpg"), f"{name}{index}.jpg", 1)
    rest = (1 - confidence) / (len(CLASS_NAMES) - 1)
    probabilities = [confidence if c == name else rest for c in CLASS_NAMES]
    return Prediction.from_probabilities(record, probabilities)


def cell(relpath: str, class_index: int, confidence: float) -> Prediction:
    """A cell of the ``class_index``-th class at ``confidence`` (the rest spread evenly), file ``/x/<relpath>``."""
    probabilities = [(1 - confidence) / (len(CLASS_NAMES) - 1)] * len(CLASS_NAMES)
    probabilities[class_index] = confidence
    return Prediction.from_probabilities(ImageRecord(Path("/x") / relpath, relpath, 1234), probabilities)


def unreadable(relpath: str) -> Prediction:
    """A file ``/x/<relpath>`` that could not be read (its image data damaged)."""
    return Prediction.failed(ImageRecord(Path("/x") / relpath, relpath, 0), "corrupt", "the image data is damaged")


def in_folder(folder: str, prediction: Prediction) -> Prediction:
    """``prediction`` with its file moved into ``folder`` (its ``relpath`` then starts ``folder/``)."""
    record = dataclasses.replace(prediction.record, relpath=f"{folder}/{prediction.record.relpath}")
    return dataclasses.replace(prediction, record=record)


def failed(index: int = 0) -> Prediction:
    """An unreadable file ``bad<index>.jpg``."""
    return Prediction.failed(ImageRecord(Path(f"bad{index}.jpg"), f"bad{index}.jpg", 0), "corrupt", "damaged")


def make(counts: dict[str, int], low: dict[str, int] | None = None, errors: int = 0) -> list[Prediction]:
    """``counts`` confident cells per class, then ``low`` ones at 0.5 confidence, then ``errors`` unreadable files."""
    out = []
    for name, count in counts.items():
        out += [predicted(name, index=i) for i in range(count)]
    for name, count in (low or {}).items():
        out += [predicted(name, confidence=0.5, index=100 + i) for i in range(count)]
    return out + [failed(i) for i in range(errors)]


def rows_of(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV that HemoLens wrote (UTF-8 with a BOM), as dicts."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))
