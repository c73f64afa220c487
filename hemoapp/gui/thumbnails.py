"""Decode images off the GUI thread into ``QImage``; hand out ``QPixmap`` on the GUI thread.

As in Qt's ``mandelbrot`` example, the worker thread only makes ``QImage``
objects (safe on any thread); a ``QPixmap`` is created lazily, on the GUI
thread, the first time a view asks for it. Decoded images are kept in a
bounded LRU cache; one evicted and then asked for again is decoded again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, QTimer, Signal, Slot
from PySide6.QtGui import QImage, QPixmap

from hemoapp.core.imageio import ImageInfo, ImageReadError, load_display_image
from hemoapp.gui.workers import GeneratorWorker


@dataclass(frozen=True)
class LoadedImage:
    """One decoded file: the image (or ``None``) and its header info or error."""

    key: str
    image: QImage | None
    info: ImageInfo | None
    error: str | None


def pil_to_qimage(image) -> QImage:
    """Copy an RGB Pillow image into a ``QImage`` that owns its pixels."""
    rgb = image.convert("RGB") if image.mode != "RGB" else image
    data = rgb.tobytes("raw", "RGB")
    qimage = QImage(data, rgb.width, rgb.height, rgb.width * 3, QImage.Format.Format_RGB888)
    return qimage.copy()  # detach from the Python bytes buffer


def decode_images(paths: list[str], max_side: int, chunk: int,
                  digests: Mapping[str, str] | None = None) -> Iterator[list[LoadedImage]]:
    """Decode ``paths`` to at most ``max_side`` pixels, yielding ``chunk`` images at a time.

    A path in ``digests`` is only shown while its bytes still have that sha256 (the bytes
    that were classified); otherwise its entry says that the file has changed.
    """
    batch: list[LoadedImage] = []
    for path in paths:
        try:
            image, info = load_display_image(path, max_side, (digests or {}).get(path))
            batch.append(LoadedImage(path, pil_to_qimage(image), info, None))
        except ImageReadError as exc:
            batch.append(LoadedImage(path, None, None, exc.message))
        except Exception as exc:  # noqa: BLE001 - e.g. MemoryError's kin from a decoder or Qt
            # Any other failure is still this file's alone: report it on its tile and go
            # on, or the job would stop and leave every later tile "loading…" for good.
            batch.append(LoadedImage(path, None, None, f"cannot show this image ({type(exc).__name__}: {exc})"))
        if len(batch) >= chunk:
            yield batch
            batch = []
    if batch:
        yield batch


class ThumbnailCache(QObject):
    """Loads and caches downscaled images, keyed by ``str(path)``.

    Args:
        max_side: longest side of a decoded image, in pixels.
        capacity: how many decoded images to keep (least recently used go first).
        chunk: how many images one ``loaded`` signal reports (a classification
            batch is 32 files, so each batch's thumbnails arrive as one repaint).

    Signals:
        loaded(list[str]): keys whose images (or errors) just arrived.
    """

    # object, not list: Qt would convert a list to QStrings, which drop the lone
    # surrogates of a file name that is not UTF-8, and no view would find its key.
    loaded = Signal(object)

    def __init__(self, max_side: int = 96, capacity: int = 3000, chunk: int = 32, parent: QObject | None = None):
        super().__init__(parent)
        self.max_side = max_side
        self._capacity = capacity
        self._chunk = chunk
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._entries: OrderedDict[str, LoadedImage] = OrderedDict()
        self._pixmaps: OrderedDict[str, QPixmap] = OrderedDict()
        self._pending: set[str] = set()
        # Keys that were loaded once and then evicted: only these are loaded again
        # on a miss (error rows are never requested, so must not be decoded by a paint).
        self._evicted: set[str] = set()
        # Evicted keys asked for since the last event-loop turn: a paint asks for
        # many tiles, and they should go to the decoder as one job, not one each.
        self._reload: dict[str, None] = {}
        self._workers: dict[int, tuple[GeneratorWorker, int]] = {}  # job id -> (worker, generation)
        self._next_job_id = 1
        self._generation = 0
        self._cancel = threading.Event()
        # The sha256 each file had when it was classified (request_predictions), so that a
        # reload after eviction checks it too.
        self._digests: dict[str, str] = {}

    def request_predictions(self, predictions: Iterable[Any]) -> None:
        """Queue the files of core ``Prediction`` objects, each to be shown only while it is the one classified.

        A file replaced since it was classified (same path, another sha256) gets an entry
        whose error says so, instead of a picture of another cell beside this prediction.
        """
        predictions = list(predictions)
        for prediction in predictions:
            if prediction.file_sha256:
                self._digests[str(prediction.record.path)] = prediction.file_sha256
        self.request(prediction.record.path for prediction in predictions)

    def request(self, paths: Iterable[str | Path]) -> None:
        """Queue files for decoding; already cached or pending ones are skipped."""
        keys = [str(p) for p in paths]
        keys = [k for k in dict.fromkeys(keys) if k not in self._entries and k not in self._pending]
        if not keys:
            return
        self._pending.update(keys)
        job_id = self._next_job_id
        self._next_job_id += 1
        digests = {key: self._digests[key] for key in keys if key in self._digests}
        worker = GeneratorWorker(
            decode_images, keys, self.max_side, self._chunk, digests, job_id=job_id, cancel_event=self._cancel
        )
        worker.signals.yielded.connect(self._on_worker_yielded)
        worker.signals.finished.connect(self._on_worker_finished)
        self._workers[job_id] = (worker, self._generation)
        self._pool.start(worker)

    def entry(self, key: str | Path) -> LoadedImage | None:
        """The decoded image and info for ``key``, or ``None`` if not loaded yet."""
        entry = self._entries.get(str(key))
        if entry is not None:
            self._entries.move_to_end(entry.key)
        return entry

    def pixmap(self, key: str | Path) -> QPixmap | None:
        """A ``QPixmap`` for ``key`` (GUI thread only), or ``None`` if not loaded or unreadable.

        A key that was evicted is queued for decoding again; ``loaded`` reports
        it when it is back, so a view scrolled back to it repaints.
        """
        key = str(key)
        entry = self._entries.get(key)
        if entry is None:
            self._reload_later(key)
            return None
        # A tile on screen is in use: keep its decoded image from being evicted first.
        self._entries.move_to_end(key)
        pixmap = self._pixmaps.get(key)
        if pixmap is not None:
            self._pixmaps.move_to_end(key)
            return pixmap
        if entry.image is None:
            return None
        pixmap = QPixmap.fromImage(entry.image)
        self._pixmaps[key] = pixmap
        if len(self._pixmaps) > self._capacity:
            self._pixmaps.popitem(last=False)
        return pixmap

    def _reload_later(self, key: str) -> None:
        """Queue an evicted ``key`` for decoding at the next event-loop turn (once)."""
        if key not in self._evicted or key in self._pending or key in self._reload:
            return
        self._reload[key] = None
        if len(self._reload) == 1:
            QTimer.singleShot(0, self, self._flush_reloads)

    def _flush_reloads(self) -> None:
        keys = list(self._reload)
        self._reload.clear()
        # request() skips keys that became cached or pending meanwhile.
        self.request(keys)

    def clear(self) -> None:
        """Forget everything and drop the results of loads still running."""
        self._cancel.set()
        self._cancel = threading.Event()
        self._generation += 1
        # Queued workers see their cancel event and return at once; no pool.clear(),
        # so every worker still reports ``finished`` and releases its reference.
        self._entries.clear()
        self._pixmaps.clear()
        self._pending.clear()
        self._evicted.clear()
        self._reload.clear()
        self._digests.clear()

    def shutdown(self) -> None:
        """Stop loading and wait for the pool thread (call before the app quits)."""
        self.clear()
        self._pool.waitForDone()

    @Slot(int, object)
    def _on_worker_yielded(self, job_id: int, batch: list) -> None:
        worker = self._workers.get(job_id)
        if worker is None or worker[1] != self._generation:
            return  # loaded for a folder that is no longer shown
        keys = []
        for item in batch:
            self._pending.discard(item.key)
            self._evicted.discard(item.key)
            self._entries[item.key] = item
            keys.append(item.key)
        while len(self._entries) > self._capacity:
            old_key, _ = self._entries.popitem(last=False)
            self._pixmaps.pop(old_key, None)
            self._evicted.add(old_key)
        self.loaded.emit(keys)

    @Slot(int, bool)
    def _on_worker_finished(self, job_id: int, cancelled: bool) -> None:
        self._workers.pop(job_id, None)
