"""Records → predictions, one batch per ``yield``; decoding overlaps inference.

:func:`iter_predictions` is the whole batch job as a generator: each ``yield`` is
a progress point and a safe place to cancel (the GUI runs it on a worker thread,
the CLI in a loop). While the model runs on one batch, a thread pool decodes the
next (Pillow releases the GIL while decoding); at most two batches are in memory,
so a run over 100,000 files uses as much memory as a run over 100.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from hemoapp.core.assessability import Assessment, Quality, assess, measure_quality
from hemoapp.core.classifier import softmax
from hemoapp.core.contract import CLASS_NAMES, FRAMING_CENTRE_CROP, IMAGE_SIZE
from hemoapp.core.imageio import ErrorKind, ImageReadError, load_model_input
from hemoapp.core.scan import ImageRecord

#: Error kind of a row whose model output is not a probability vector (NaN, inf):
#: never counted as a class, always an error row.
INVALID_OUTPUT = "invalid-model-output"

#: How often a wait for decoding looks at the cancel event, in seconds.
_CANCEL_POLL_S = 0.05


class ArrayClassifier(Protocol):
    """What :func:`iter_predictions` needs from a classifier (tests pass fakes).

    ``input_size`` and ``class_names`` are optional attributes; the contract's
    values are used when a classifier lacks them.
    """

    def predict_arrays(self, batch: np.ndarray) -> np.ndarray:
        """uint8 ``(N, S, S, 3)`` → probabilities ``(N, C)``."""


@dataclass(frozen=True)
class Prediction:
    """The result for one file: probabilities, or why there are none.

    Attributes:
        record: the file.
        probabilities: one probability per class in contract order, or ``None``.
        predicted: the most probable class name, or ``None``.
        confidence: the probability of ``predicted``, or ``None``.
        error_kind: an :class:`~hemoapp.core.imageio.ErrorKind` code, or ``None``.
        error: a human-readable reason, or ``None``.
        file_sha256: hex digest of the bytes that were classified (or failed to
            decode); ``None`` when the file could not be read at all.
        assessable: False when the model cannot judge the cell (image quality, or unlike
            the training cells: :mod:`hemoapp.core.assessability`); ``None`` when not
            checked (an error row, or a classifier without a card).
        assessable_reason: why it is not assessable (``""`` otherwise).
    """

    record: ImageRecord
    probabilities: tuple[float, ...] | None
    predicted: str | None
    confidence: float | None
    error_kind: str | None
    error: str | None
    file_sha256: str | None = None
    assessable: bool | None = None
    assessable_reason: str = ""

    @property
    def ok(self) -> bool:
        """True when the file was classified."""
        return self.error_kind is None and self.probabilities is not None

    @classmethod
    def from_probabilities(
        cls,
        record: ImageRecord,
        probabilities: Sequence[float],
        class_names: Sequence[str] = CLASS_NAMES,
        file_sha256: str | None = None,
        assessment: Assessment | None = None,
    ) -> "Prediction":
        """A successful prediction; the predicted class is the most probable one."""
        values = tuple(float(p) for p in probabilities)
        best = int(np.argmax(values))
        if assessment is None:
            return cls(record, values, class_names[best], values[best], None, None, file_sha256)
        return cls(record, values, class_names[best], values[best], None, None, file_sha256,
                   assessment.assessable, assessment.reason)

    @classmethod
    def failed(cls, record: ImageRecord, kind: str, message: str, file_sha256: str | None = None) -> "Prediction":
        """An error row for a file that could not be classified."""
        return cls(record, None, None, None, kind, message, file_sha256)


@dataclass(frozen=True)
class BatchResult:
    """One ``yield`` of :func:`iter_predictions`.

    Attributes:
        predictions: this batch's predictions, in record order.
        done: files finished so far, this batch included.
        total: files in the run.
        elapsed_s: seconds since the run started.
    """

    predictions: list[Prediction]
    done: int
    total: int
    elapsed_s: float


@dataclass(frozen=True)
class _Decoded:
    array: np.ndarray
    sha256: str
    quality: Quality | None


@dataclass(frozen=True)
class _Failure:
    kind: str
    message: str
    sha256: str | None = None


def default_decode_workers() -> int:
    """Decoder threads: one per core, at most four (more only adds memory)."""
    return max(1, min(4, os.cpu_count() or 1))


def _decode(record: ImageRecord, size: int, framing: str, check_quality: bool) -> _Decoded | _Failure:
    try:
        item = load_model_input(record.path, size, framing)
        # The quality check runs here, in the decoder threads (about 1 ms a cell).
        return _Decoded(item.array, item.sha256, measure_quality(item.array) if check_quality else None)
    except ImageReadError as exc:
        return _Failure(exc.kind, exc.message, exc.sha256)
    except Exception as exc:  # noqa: BLE001 - one odd file must never stop a batch
        return _Failure(ErrorKind.UNREADABLE, f"unexpected error while reading ({type(exc).__name__}: {exc})")


def _wait_all(futures: list[Future], cancel: threading.Event | None) -> bool:
    """Wait for ``futures``; return False as soon as ``cancel`` is set."""
    pending = set(futures)
    while pending:
        if cancel is not None and cancel.is_set():
            return False
        _, pending = wait(pending, timeout=_CANCEL_POLL_S, return_when=FIRST_EXCEPTION)
    return True


def _classify(
    records: Sequence[ImageRecord],
    decoded: Sequence[_Decoded | _Failure],
    classifier: ArrayClassifier,
    class_names: Sequence[str],
    block: dict | None = None,
) -> list[Prediction]:
    good = [index for index, item in enumerate(decoded) if not isinstance(item, _Failure)]
    probabilities = logits = None
    if good:
        batch = np.stack([decoded[i].array for i in good])
        if block is not None:
            # A checked Classifier: the logits (for the energy score), then its own calibrated softmax.
            logits = np.asarray(classifier.predict_logits(batch))
            probabilities = softmax(logits, classifier.temperature)
        else:
            probabilities = np.asarray(classifier.predict_arrays(batch))
        if probabilities.shape != (len(good), len(class_names)):
            raise RuntimeError(
                f"the classifier returned shape {probabilities.shape}, expected {(len(good), len(class_names))}"
            )
    row_of = {index: row for row, index in enumerate(good)}
    predictions = []
    for index, (record, item) in enumerate(zip(records, decoded)):
        if isinstance(item, _Failure):
            predictions.append(Prediction.failed(record, item.kind, item.message, item.sha256))
            continue
        row = probabilities[row_of[index]]
        if not np.all(np.isfinite(row)):
            # NaN compares false with every threshold, so it would be counted, unflagged,
            # as whichever class argmax picks: an error row instead, never a result.
            predictions.append(Prediction.failed(
                record, INVALID_OUTPUT, "the model gave no valid probabilities (NaN or infinity) for this image",
                item.sha256,
            ))
            continue
        assessment = None if block is None else assess(item.quality, logits[row_of[index]], block)
        predictions.append(Prediction.from_probabilities(record, row, class_names, item.sha256, assessment))
    return predictions


def _assessability_block(classifier) -> dict | None:
    """The card's ``assessability`` block (``{}`` for a card without one), or ``None``: no check.

    Only a checked :class:`~hemoapp.core.classifier.Classifier` (a card, logits, a temperature)
    is assessed; test fakes with ``predict_arrays`` alone are not.
    """
    card = getattr(getattr(classifier, "info", None), "card", None)
    if card is None or not hasattr(classifier, "predict_logits") or not hasattr(classifier, "temperature"):
        return None
    return dict(getattr(card, "assessability", None) or {})


def iter_predictions(
    records: Iterable[ImageRecord],
    classifier: ArrayClassifier,
    batch_size: int = 32,
    cancel: threading.Event | None = None,
    decode_workers: int | None = None,
) -> Iterator[BatchResult]:
    """Classify files batch by batch.

    Every record yields exactly one :class:`Prediction`, in order: a file that
    cannot be decoded becomes an error row (kind ``unreadable`` for an unexpected
    exception) and the batch goes on. An error of the classifier itself is not a
    file's fault and propagates.

    Args:
        records: the files (read once into a list).
        classifier: anything with ``predict_arrays`` (see :class:`ArrayClassifier`).
        batch_size: files per batch and per ``yield``.
        cancel: when set, the run stops before the next batch (or while waiting
            for decoding); batches already yielded stay valid.
        decode_workers: decoder threads (default :func:`default_decode_workers`).

    Yields:
        One :class:`BatchResult` per batch; nothing for an empty ``records``.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    records = list(records)
    total = len(records)
    if total == 0:
        return
    size = int(getattr(classifier, "input_size", IMAGE_SIZE))
    class_names = tuple(getattr(classifier, "class_names", CLASS_NAMES))
    framing = str(getattr(classifier, "framing", FRAMING_CENTRE_CROP))
    block = _assessability_block(classifier)
    start = time.perf_counter()
    executor = ThreadPoolExecutor(
        max_workers=decode_workers or default_decode_workers(), thread_name_prefix="hemolens-decode"
    )

    def submit(first: int) -> list[Future]:
        return [executor.submit(_decode, record, size, framing, block is not None) for record in records[first : first + batch_size]]

    try:
        pending = submit(0)
        for first in range(0, total, batch_size):
            if cancel is not None and cancel.is_set():
                return
            if not _wait_all(pending, cancel):
                return
            decoded = [future.result() for future in pending]
            # Look ahead by exactly one batch: it decodes while the model runs on
            # this one (and while the consumer handles the yield), no further.
            pending = submit(first + batch_size)
            batch = records[first : first + batch_size]
            predictions = _classify(batch, decoded, classifier, class_names, block)
            yield BatchResult(predictions, first + len(batch), total, time.perf_counter() - start)
    finally:
        # Also runs when the consumer closes the generator. Queued decodes are
        # dropped; the few running ones are waited for (so no thread outlives the
        # run) unless the run was cancelled: then stopping promptly matters more
        # than a decoder stuck on a slow network file, which ends on its own.
        executor.shutdown(wait=not (cancel is not None and cancel.is_set()), cancel_futures=True)
