"""Find the white cell in a field and bring it to the training scale and position.

PBC's analyser exports centre one white cell in a 360 px field at one magnification.
Other labs' exports do not: tight crops (the cell fills the picture), off-centre cells,
whole fields with one white cell, other magnifications. The model only ever learnt
PBC's framing, so before the crop and resize of :mod:`hemoapp.core.imageio` this module
decides *which square of the picture* to show the model:

1. a small working copy (:data:`WORK_SIZE` px) is scored for stain: white-cell nuclei
   are the darkest, most violet pixels of a Romanowsky-stained smear (blue well above
   green), red cells and background are not;
2. a threshold on that score (Otsu's, floored so a field with no stained nucleus finds
   nothing) gives a nucleus mask; the stained blob nearest the centre, with its lobes
   (4-connected: a neutrophil's lobes touch at this size), is the cell;
3. the square is centred on that blob and sized so the blob's extent is what PBC's
   cells have at the training scale, but only where the picture is outside PBC's
   own range (:data:`PBC_EXTENT_RANGE`): a PBC export keeps its framing, a tight crop
   is zoomed out, a whole field zoomed in.

Everything is numpy on a 64 px copy (about 0.3 ms a picture), so it costs the window
little. The square may reach past the picture's edges; :func:`crop_square` pads it
with the picture's own background colour (the median of its border).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

#: Side of the working copy the cell is looked for in.
WORK_SIZE: int = 64

#: The nucleus extent (the larger side of its bounding box, as a fraction of the square
#: the model sees) that PBC's cells span: measured on PBC train through
#: :func:`find_cell` with the contract's 75% centre crop as the square (5th to 95th
#: percentile over all 8 classes; see training/EXPERIMENTS.md, "Cell finding").
#: Inside this range the picture's own framing is kept.
PBC_EXTENT_RANGE: tuple[float, float] = (0.17, 0.62)

#: Below this stain score (blue minus green, 0..255) no pixel counts as nucleus, however
#: the threshold falls: a field of red cells only has no white cell to find.
MIN_STAIN_SCORE: float = 90.0

#: Fewer nucleus pixels than this (of WORK_SIZE**2) is no cell.
MIN_CELL_PIXELS: int = 6


#: Everything above that changes the pixels this module gives: training's decoded-image
#: cache is keyed by it, so a cache made under other settings is never reused.
PARAMETERS: str = f"v1|{WORK_SIZE}|{PBC_EXTENT_RANGE}|{MIN_STAIN_SCORE}|{MIN_CELL_PIXELS}|4-connected|r+b/2-g+(255-g)/2"


@dataclass(frozen=True)
class CellBox:
    """Where the cell is, in the source picture's pixels.

    Attributes:
        cx, cy: centre of the cell (the nucleus blob's bounding-box centre).
        extent: larger side of the nucleus blob's bounding box, in pixels.
        found: False when no stained cell was found (then the box is the picture's centre).
        blob_sizes: pixels (of the WORK_SIZE copy) of every stained blob, for counting cells.
    """

    cx: float
    cy: float
    extent: float
    found: bool
    blob_sizes: tuple[int, ...] = ()


def stain_score(rgb: np.ndarray) -> np.ndarray:
    """Per-pixel nucleus score: the mean of red and blue, minus green.

    Romanowsky-stained nuclei are violet to magenta (green absorbed, red and blue let
    through): high. Red cells are pink (PBC, BCCD) or lavender-grey (LISC) and glass is
    white: near 0. Blue alone would count LISC's bluish red cells as nuclei. Half of
    the green channel's darkness is added: nuclei are also the darkest part of the
    field, which keeps pale lavender red cells below them.
    """
    rgb = rgb.astype(np.float32)
    green = rgb[..., 1]
    return (rgb[..., 0] + rgb[..., 2]) * 0.5 - green + 0.5 * (255.0 - green)


def otsu_threshold(values: np.ndarray) -> float:
    """Otsu's threshold of a 1-D array of scores (256 bins over its range)."""
    low, high = float(values.min()), float(values.max())
    if high - low < 1e-6:
        return high
    hist, edges = np.histogram(values, bins=256, range=(low, high))
    hist = hist.astype(np.float64)
    centres = (edges[:-1] + edges[1:]) / 2
    weight = np.cumsum(hist)
    mean = np.cumsum(hist * centres)
    total_weight, total_mean = weight[-1], mean[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (total_mean * weight - mean * total_weight) ** 2 / (weight * (total_weight - weight))
    between = np.nan_to_num(between[:-1], nan=0.0, posinf=0.0)
    return float(centres[int(np.argmax(between))])


def label_blobs(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """4-connected components of a 2-D boolean mask: ``(labels, count)``, labels 1..count, 0 outside.

    Runs of each row are joined to the overlapping runs of the row above (union-find over
    runs): about 0.1 ms for a 64 px mask, where growing each blob pixel by pixel took ms.
    """
    height = mask.shape[0]
    runs: list[tuple[int, int, int]] = []  # (row, start, stop)
    parent: list[int] = []

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    padded = np.zeros((height, mask.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    step = np.diff(padded, axis=1)
    starts_r, starts_c = np.nonzero(step == 1)  # row-major: the runs in reading order
    _, stops_c = np.nonzero(step == -1)
    previous: list[int] = []
    current: list[int] = []
    last_row = -1
    for row, start, stop in zip(starts_r.tolist(), starts_c.tolist(), stops_c.tolist()):
        if row != last_row:
            previous, current = (current if row == last_row + 1 else []), []
            last_row = row
        index = len(runs)
        runs.append((row, start, stop))
        parent.append(index)
        for other in previous:
            _, o_start, o_stop = runs[other]
            if o_start < stop and start < o_stop:  # the columns overlap: 4-connected
                a, b = root(index), root(other)
                parent[max(a, b)] = min(a, b)
        current.append(index)
    labels = np.zeros(mask.shape, dtype=np.int32)
    names: dict[int, int] = {}
    for index, (row, start, stop) in enumerate(runs):
        labels[row, start:stop] = names.setdefault(root(index), len(names) + 1)
    return labels, len(names)


def find_cell(image: Image.Image) -> CellBox:
    """Locate the white cell nearest the centre of ``image`` (RGB).

    Returns a :class:`CellBox` in ``image``'s pixels; ``found`` is False when nothing
    in the picture is stained like a nucleus.
    """
    width, height = image.size
    small = np.asarray(image.resize((WORK_SIZE, WORK_SIZE), Image.Resampling.BILINEAR, reducing_gap=2.0))
    score = stain_score(small)
    threshold = max(otsu_threshold(score.ravel()), MIN_STAIN_SCORE)
    mask = score > threshold
    if int(mask.sum()) < MIN_CELL_PIXELS:
        return CellBox(width / 2, height / 2, 0.0, False)
    # The blob that is most stained near the centre: each nucleus pixel votes with its
    # score, less the further it is from the centre (a neighbour at the edge must not
    # win). Blobs are 4-connected with no dilation: at 64 px a neutrophil's lobes still
    # touch through their filaments, while a dilation joined cells that touch a neighbour
    # (PBC's BNE_113314: a neutrophil and a lymphocyte became one 230 px "cell").
    ys, xs = np.nonzero(mask)
    centre = (WORK_SIZE - 1) / 2
    distance = np.hypot(ys - centre, xs - centre) / WORK_SIZE
    best = int(np.argmax(score[ys, xs] * (1.0 - distance)))
    labels, _ = label_blobs(mask)
    sizes = tuple(int(n) for n in np.bincount(labels.ravel())[1:])
    ys, xs = np.nonzero(labels == labels[ys[best], xs[best]])
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    scale_x, scale_y = width / WORK_SIZE, height / WORK_SIZE
    extent = max((x1 - x0) * scale_x, (y1 - y0) * scale_y)
    return CellBox((x0 + x1) / 2 * scale_x, (y0 + y1) / 2 * scale_y, float(extent), True, sizes)


def square_for(image_size: tuple[int, int], cell: CellBox, crop: float) -> tuple[float, float, float, float]:
    """The square (left, top, right, bottom) the model should see for ``cell``.

    ``crop`` is the contract's centre-crop fraction: a picture already framed like PBC's
    gets the same square the plain centre crop would give (moved to the cell).
    """
    width, height = image_size
    side = min(width, height) * crop
    if cell.found and cell.extent > 0:
        low, high = PBC_EXTENT_RANGE
        fraction = cell.extent / side
        if fraction > high:
            side = cell.extent / high
        elif fraction < low:
            side = cell.extent / low
        cx, cy = cell.cx, cell.cy
    else:
        cx, cy = width / 2, height / 2
    # Crop a non-square picture's central square as the plain crop does.
    half_w = side / 2 if cell.found else width * crop / 2
    half_h = side / 2 if cell.found else height * crop / 2
    return (cx - half_w, cy - half_h, cx + half_w, cy + half_h)


def border_colour(image: Image.Image) -> tuple[int, int, int]:
    """The picture's background: the median colour of its outer ring of pixels."""
    small = np.asarray(image.resize((WORK_SIZE, WORK_SIZE), Image.Resampling.BILINEAR))
    ring = np.concatenate([small[0], small[-1], small[:, 0], small[:, -1]])
    return tuple(int(v) for v in np.median(ring, axis=0))


def crop_square(image: Image.Image, box: tuple[float, float, float, float], size: int,
                resample: Image.Resampling) -> Image.Image:
    """Resample ``box`` of ``image`` to ``size`` x ``size``, padding outside with the background colour."""
    left, top, right, bottom = box
    width, height = image.size
    if left >= 0 and top >= 0 and right <= width and bottom <= height:
        return image.resize((size, size), resample, box=box)
    # Paste the picture onto a background canvas big enough to hold the box.
    pad_left, pad_top = int(np.ceil(max(0.0, -left))), int(np.ceil(max(0.0, -top)))
    pad_right = int(np.ceil(max(0.0, right - width)))
    pad_bottom = int(np.ceil(max(0.0, bottom - height)))
    canvas = Image.new("RGB", (width + pad_left + pad_right, height + pad_top + pad_bottom), border_colour(image))
    canvas.paste(image, (pad_left, pad_top))
    shifted = (left + pad_left, top + pad_top, right + pad_left, bottom + pad_top)
    return canvas.resize((size, size), resample, box=shifted)
