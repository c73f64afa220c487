"""Whether the model can judge a cell at all: image quality and how unlike PBC's cells it is.

A cell is *not assessable* when the square the model sees fails an image-quality check
(blur, noise, exposure, no single centred cell) or when its logits say it is unlike the
training cells (the energy score, ``-logsumexp(logits)``, above the card's limit; Liu et
al., NeurIPS 2020). Such a cell keeps its prediction (a person may still review it) but is
counted apart, never silently in the differential (:mod:`hemoapp.core.summary`).

The quality checks run on the model input (128 px), in the decoder threads; the energy
needs only the logits the model already gives. Limits come from the card's optional
``assessability`` block (fitted on PBC val by ``training/assessability.py``); a card
without one uses :data:`DEFAULT_QUALITY` for the quality checks and declares no cell not
assessable by the energy score.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from hemoapp.core import cellfind

#: Quality limits on the model input, used when the card has none. Fitted on PBC val
#: (1.1.0's card repeats them with the measured rates; see training/assessability.py).
DEFAULT_QUALITY: dict[str, float] = {
    "min_sharpness": 14.78,  # variance of the Laplacian of the grey picture
    "max_sharpness": 1834.0,
    "min_brightness": 122.8,  # mean grey, 0..255
    "max_brightness": 241.0,
    "max_clipped": 0.5,  # share of pixels at 0-5 or 250-255
    "max_cell_offset": 0.335,  # nucleus centre from the square's centre, in sides
    "min_cell_extent": 0.0896,  # nucleus extent, in sides
    "max_cell_extent": 0.9336,
    "max_cells": 7,  # stained blobs in the square (a lobed nucleus counts several; a whole field reaches 8)
}

#: Blobs smaller than this share of the working copy are specks, not nuclei.
MIN_BLOB_FRACTION: float = 0.004

#: Counts above this are written as this (a whole field has many nuclei).
MAX_COUNTED_BLOBS: int = 8


@dataclass(frozen=True)
class Quality:
    """Image-quality measures of one model input (see :func:`measure_quality`)."""

    sharpness: float
    brightness: float
    clipped: float
    cell_found: bool
    cell_offset: float
    cell_extent: float
    cells: int = 1

    def as_dict(self) -> dict[str, float]:
        return {
            "sharpness": self.sharpness, "brightness": self.brightness, "clipped": self.clipped,
            "cell_found": float(self.cell_found), "cell_offset": self.cell_offset, "cell_extent": self.cell_extent,
            "cells": float(self.cells),
        }


@dataclass(frozen=True)
class Assessment:
    """Whether a cell is assessable, and if not, why (``reason`` is empty when it is)."""

    assessable: bool
    reason: str = ""
    energy: float | None = None


ASSESSABLE = Assessment(True)


def laplacian_variance(grey: np.ndarray) -> float:
    """Variance of the 4-neighbour Laplacian of a 2-D float array (a standard focus measure)."""
    centre = grey[1:-1, 1:-1]
    lap = grey[:-2, 1:-1] + grey[2:, 1:-1] + grey[1:-1, :-2] + grey[1:-1, 2:] - 4.0 * centre
    return float(lap.var())


@dataclass(frozen=True)
class _Cells:
    found: bool
    cx: float
    cy: float
    extent: float
    count: int


def _find_cells(rgb: np.ndarray) -> _Cells:
    """The centred cell as :func:`cellfind.find_cell` finds it, and how many nucleus-sized stained
    blobs the picture holds (from the same labelling)."""
    cell = cellfind.find_cell(Image.fromarray(rgb, mode="RGB"))
    threshold = max(cellfind.MIN_CELL_PIXELS, MIN_BLOB_FRACTION * cellfind.WORK_SIZE ** 2)
    count = sum(1 for size in cell.blob_sizes if size >= threshold)
    return _Cells(cell.found, cell.cx, cell.cy, cell.extent, min(count, MAX_COUNTED_BLOBS))


def measure_quality(model_input: np.ndarray) -> Quality:
    """Sharpness, exposure and where the cell is, of a uint8 ``(S, S, 3)`` model input (about 1 ms)."""
    rgb = np.asarray(model_input)
    grey = rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    size = rgb.shape[0]
    clipped = float(np.mean((grey <= 5.0) | (grey >= 250.0)))
    cell = _find_cells(rgb)
    offset = float(np.hypot(cell.cx - size / 2, cell.cy - size / 2) / size) if cell.found else 1.0
    return Quality(laplacian_variance(grey), float(grey.mean()), clipped, cell.found, offset,
                   float(cell.extent / size) if cell.found else 0.0, cell.count)


def quality_limits(block: Mapping[str, Any] | None) -> dict[str, float]:
    """The quality limits of a card's ``assessability`` block, the defaults where it names none."""
    limits = dict(DEFAULT_QUALITY)
    for key, value in ((block or {}).get("quality") or {}).items():
        if key in limits:
            limits[key] = float(value)
    return limits


def quality_reason(quality: Quality, limits: Mapping[str, float]) -> str:
    """Why the picture cannot be judged, or ``""``: the first failed check, in the order a person fixes them."""
    if quality.brightness < limits["min_brightness"]:
        return f"too dark (mean brightness {quality.brightness:.0f} of 255)"
    if quality.brightness > limits["max_brightness"]:
        return f"too bright (mean brightness {quality.brightness:.0f} of 255)"
    if quality.clipped > limits["max_clipped"]:
        return f"over- or under-exposed ({quality.clipped:.0%} of pixels clipped)"
    if quality.sharpness < limits["min_sharpness"]:
        return f"blurred (sharpness {quality.sharpness:.1f}, at least {limits['min_sharpness']:.1f} needed)"
    if quality.sharpness > limits["max_sharpness"]:
        return f"noisy or grainy (sharpness {quality.sharpness:.0f}, at most {limits['max_sharpness']:.0f})"
    if not quality.cell_found:
        return "no stained cell in the square the model sees"
    if quality.cell_offset > limits["max_cell_offset"]:
        return "no single centred cell (the nearest stained cell is off centre)"
    if quality.cell_extent < limits["min_cell_extent"]:
        return "no single centred cell (the cell is too small for the frame: a whole field?)"
    if quality.cell_extent > limits["max_cell_extent"]:
        return "no single centred cell (the stain fills the frame)"
    if quality.cells > limits["max_cells"]:
        return f"no single centred cell ({quality.cells} stained cells in the frame: a whole field?)"
    return ""


def energy_score(logits: np.ndarray) -> np.ndarray:
    """``-logsumexp(logits)`` per row (higher: less like the training cells), float64."""
    logits = np.asarray(logits, dtype=np.float64)
    top = logits.max(axis=-1, keepdims=True)
    return -(top[..., 0] + np.log(np.exp(logits - top).sum(axis=-1)))


def ood_limit(block: Mapping[str, Any] | None) -> float | None:
    """The card's energy limit, or ``None`` (no cell is then declared not assessable by it)."""
    ood = (block or {}).get("ood") or {}
    if ood.get("score") != "energy" or ood.get("max_energy") is None:
        return None
    value = float(ood["max_energy"])
    return value if np.isfinite(value) else None


def assess(quality: Quality | None, logits: np.ndarray | None, block: Mapping[str, Any] | None) -> Assessment:
    """The verdict on one cell from its :class:`Quality` and its logits (either may be unknown: ``None``)."""
    energy = None if logits is None else float(energy_score(np.asarray(logits)[None])[0])
    if quality is not None:
        reason = quality_reason(quality, quality_limits(block))
        if reason:
            return Assessment(False, reason, energy)
    limit = ood_limit(block)
    if energy is not None and limit is not None and energy > limit:
        return Assessment(False, f"unlike the training cells (energy {energy:.2f}, limit {limit:.2f})", energy)
    return Assessment(True, "", energy)


def assess_input(model_input: np.ndarray, logits: np.ndarray | None, block: Mapping[str, Any] | None) -> Assessment:
    """:func:`assess` of a model input (its quality measured here)."""
    return assess(measure_quality(model_input), logits, block)
