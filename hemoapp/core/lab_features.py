"""Pooled features of cells from the base model's sidecar, for lab profiles (numpy + LiteRT only).

The shipped model's heatmap sidecar (:mod:`hemoapp.core.heatmap`) gives the last feature map
``F`` (4 x 4 x 1280 for Lite0 at 128 px); the model's logits are ``mean(F) @ W + b``. A lab
profile (:mod:`hemoapp.core.lab_profile`) is a new head on ``mean(F)``, so one sidecar run per
cell gives both the base model's logits and the profile's. Nothing here imports TensorFlow.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence

import numpy as np

from hemoapp.core.heatmap import Sidecar

#: The eight symmetries of the square (rotations by 0/90/180/270 degrees, each also mirrored):
#: a cell under the microscope has no "up", so each is as much that cell as the picture itself.
DIHEDRAL: tuple[tuple[int, bool], ...] = tuple((k, flip) for flip in (False, True) for k in range(4))


def dihedral(batch: np.ndarray, k: int, flip: bool) -> np.ndarray:
    """``batch`` (N, S, S, 3) rotated ``k`` quarter turns, mirrored left-right first when ``flip``."""
    out = batch[:, :, ::-1] if flip else batch
    return np.ascontiguousarray(np.rot90(out, k, axes=(1, 2)))


class FeatureExtractor:
    """Mean-pooled last feature maps of the base model, from its checked heatmap sidecar.

    Args:
        model_path: the base model's ``.tflite`` (its sidecar sits in ``heatmap/`` beside it).
        base_sha256: the base model's sha256: a sidecar made for another model is refused.
        num_threads: LiteRT threads.

    Raises:
        SidecarError: no usable sidecar for this model (the message says why).
    """

    def __init__(self, model_path: str | os.PathLike[str], base_sha256: str, num_threads: int = 1) -> None:
        self._sidecar = Sidecar(model_path, base_sha256, max(1, int(num_threads)))
        self.card = self._sidecar.card
        self.kernel = self._sidecar.kernel
        self.bias = self._sidecar.bias

    @property
    def width(self) -> int:
        """Features per cell (the feature map's channels)."""
        return int(self.kernel.shape[0])

    def base_logits(self, pooled: np.ndarray) -> np.ndarray:
        """The base model's logits from pooled features: ``pooled @ W + b`` (float64)."""
        return np.asarray(pooled, dtype=np.float64) @ self.kernel.astype(np.float64) + self.bias.astype(np.float64)

    def pooled(self, batch: np.ndarray) -> np.ndarray:
        """float32 ``(N, C)``: the mean of the last feature map of each uint8 input ``(N, S, S, 3)``."""
        batch = np.asarray(batch)
        out = np.zeros((len(batch) if batch.ndim == 4 else 0, self.width), dtype=np.float32)
        for row, model_input in enumerate(batch if batch.ndim == 4 else ()):
            out[row] = self._sidecar.feature_map(model_input).mean(axis=(0, 1))
        return out

    def pooled_views(self, batch: np.ndarray, views: Sequence[tuple[int, bool]] = DIHEDRAL) -> np.ndarray:
        """float32 ``(N, V, C)``: :meth:`pooled` of each of ``views`` (dihedral symmetries) of ``batch``."""
        return np.stack([self.pooled(dihedral(batch, k, flip)) for k, flip in views], axis=1)


def load_cells(paths: Sequence[str | os.PathLike[str]], size: int, framing: str,
               fallback_framing: str | None = None) -> tuple[list[np.ndarray | None], list[str | None], list[str]]:
    """Decode cells the way the app classifies them (:func:`hemoapp.core.imageio.load_model_input`).

    Returns ``(inputs, sha256s, errors)``: per path the uint8 model input (``None`` when it cannot be
    used), the file's sha256 (``None`` when unreadable) and the reason (``""`` when fine). With
    ``fallback_framing``, a cell that ``framing`` cannot frame (no cell found) is framed that way.
    """
    from hemoapp.core.imageio import ErrorKind, ImageReadError, load_model_input

    inputs: list[np.ndarray | None] = []
    digests: list[str | None] = []
    errors: list[str] = []
    for path in paths:
        try:
            try:
                item = load_model_input(path, size, framing)
            except ImageReadError as exc:
                if fallback_framing is None or exc.kind != ErrorKind.NO_CELL:
                    raise
                item = load_model_input(path, size, fallback_framing)
            inputs.append(item.array)
            digests.append(item.sha256)
            errors.append("")
        except ImageReadError as exc:
            inputs.append(None)
            digests.append(exc.sha256)
            errors.append(exc.message)
    return inputs, digests, errors


def extract_views(extractor: FeatureExtractor, inputs: Sequence[np.ndarray], views: Sequence[tuple[int, bool]],
                  batch_size: int = 16, progress: Callable[[int, int], None] | None = None,
                  cancel: threading.Event | None = None) -> np.ndarray | None:
    """float32 ``(N, V, C)`` pooled features of ``inputs`` under ``views``, batch by batch.

    ``progress(done, total)`` is called after each batch; returns ``None`` when ``cancel`` is set.
    """
    total = len(inputs)
    out = np.zeros((total, len(views), extractor.width), dtype=np.float32)
    for first in range(0, total, batch_size):
        if cancel is not None and cancel.is_set():
            return None
        batch = np.stack(inputs[first : first + batch_size])
        out[first : first + len(batch)] = extractor.pooled_views(batch, views)
        if progress is not None:
            progress(min(total, first + batch_size), total)
    return out
