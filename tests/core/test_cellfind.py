"""Cell finding: the white cell is found and framed like a PBC crop, wherever and however big it is."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from hemoapp.core import cellfind
from hemoapp.core.contract import CENTER_CROP, FRAMING_CELL_CENTRED, FRAMING_CENTRE_CROP, IMAGE_SIZE
from hemoapp.core.imageio import ErrorKind, ImageReadError, frame_input, load_model_input

ORIGINALS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "pbc8-originals"

PINK_FIELD = (236, 200, 190)
RED_CELL = (214, 150, 150)
VIOLET = (92, 40, 140)
BLUE_VIOLET = (70, 60, 170)  # another lab's stain: bluer nucleus


def smear(side: int, cell_radius: float, centre: tuple[float, float], nucleus=VIOLET) -> Image.Image:
    """A synthetic field: pink glass, a few red cells far from the white cell, one round white cell."""
    image = Image.new("RGB", (side, side), PINK_FIELD)
    draw = ImageDraw.Draw(image)
    cx, cy = centre
    # Cytoplasm (pale lilac) and a nucleus of half its radius.
    draw.ellipse([cx - cell_radius, cy - cell_radius, cx + cell_radius, cy + cell_radius], fill=(215, 190, 215))
    r = cell_radius * 0.55
    draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=nucleus)
    return image


def nucleus_mask(array: np.ndarray) -> np.ndarray:
    return cellfind.stain_score(array) > 120


def framed(image: Image.Image) -> np.ndarray:
    return frame_input(image, IMAGE_SIZE, FRAMING_CELL_CENTRED)


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    ma, mb = nucleus_mask(a), nucleus_mask(b)
    return float((ma & mb).sum() / max(1, (ma | mb).sum()))


def test_a_tight_crop_at_two_magnifications_comes_out_the_same():
    """Two tight crops (the cell fills the picture, as in BCCD) at 1x and 1.6x are framed alike."""
    small = smear(200, 90, (100, 100))
    large = smear(320, 144, (160, 160))
    a, b = framed(small), framed(large)
    assert mask_iou(a, b) > 0.9
    # ...and the nucleus is brought into PBC's range instead of filling the square.
    ys, xs = np.nonzero(nucleus_mask(a))
    extent = (max(xs.max() - xs.min(), ys.max() - ys.min()) + 1) / IMAGE_SIZE
    low, high = cellfind.PBC_EXTENT_RANGE
    assert low - 0.03 <= extent <= high + 0.03


def test_an_off_centre_cell_is_centred():
    centred = framed(smear(360, 60, (180, 180)))
    off = framed(smear(360, 60, (110, 250)))
    assert mask_iou(centred, off) > 0.9
    ys, xs = np.nonzero(nucleus_mask(off))
    assert abs(xs.mean() - (IMAGE_SIZE - 1) / 2) < 3 and abs(ys.mean() - (IMAGE_SIZE - 1) / 2) < 3


def test_another_stain_colour_is_found_at_the_same_place_and_size():
    violet = framed(smear(300, 130, (150, 150), VIOLET))
    bluer = framed(smear(300, 130, (150, 150), BLUE_VIOLET))
    assert mask_iou(violet, bluer) > 0.9


def nucleus_extent(array: np.ndarray) -> float:
    ys, xs = np.nonzero(nucleus_mask(array))
    return (max(xs.max() - xs.min(), ys.max() - ys.min()) + 1) / IMAGE_SIZE


def test_a_whole_field_with_one_small_white_cell_is_zoomed_in():
    """A field at a quarter of PBC's magnification: the cell is brought up towards PBC's size."""
    field = smear(720, 22, (300, 420))
    plain = nucleus_extent(frame_input(field, IMAGE_SIZE, FRAMING_CENTRE_CROP)) if nucleus_mask(
        frame_input(field, IMAGE_SIZE, FRAMING_CENTRE_CROP)).any() else 0.0
    zoomed = nucleus_extent(framed(field))
    assert zoomed >= 0.12
    assert zoomed > 2.5 * plain


@pytest.mark.skipif(not ORIGINALS.is_dir(), reason="needs ../shared/datasets/pbc8-originals")
def test_pbc_originals_are_left_essentially_as_they_were():
    """On the training lab's own exports cell finding keeps the framing: a small shift at most.

    Only PBC's largest nuclei (a few monocytes and immature granulocytes, above the 95th
    percentile of PBC train) are zoomed out, by at most 1.5x.
    """
    kept, scales = 0, []
    originals = sorted(ORIGINALS.glob("*/*.jpg"))
    for path in originals:
        image = Image.open(path).convert("RGB")
        cell = cellfind.find_cell(image)
        assert cell.found, path.name
        assert abs(cell.cx - image.width / 2) < 0.1 * image.width, path.name
        assert abs(cell.cy - image.height / 2) < 0.1 * image.height, path.name
        box = cellfind.square_for(image.size, cell, CENTER_CROP)
        scale = (box[2] - box[0]) / (min(image.size) * CENTER_CROP)
        scales.append(scale)
        kept += abs(scale - 1.0) < 0.02
    assert kept >= 0.8 * len(originals)
    assert max(scales) <= 1.5 and min(scales) >= 0.98
    # The picture itself: the framed input is close to the plain centre crop.
    image = Image.open(ORIGINALS / "neutrophil" / sorted(p.name for p in (ORIGINALS / "neutrophil").iterdir())[0])
    image = image.convert("RGB")
    difference = np.abs(frame_input(image, IMAGE_SIZE, FRAMING_CENTRE_CROP).astype(np.float32) - framed(image))
    assert difference.mean() < 25


def test_a_blank_field_is_a_clear_per_file_error(tmp_path):
    for colour, name in (((255, 255, 255), "white.png"), ((236, 200, 190), "pink.png")):
        path = tmp_path / name
        Image.new("RGB", (300, 300), colour).save(path)
        with pytest.raises(ImageReadError) as caught:
            load_model_input(path, IMAGE_SIZE, FRAMING_CELL_CENTRED)
        assert caught.value.kind == ErrorKind.BLANK
        assert caught.value.sha256


def test_red_cells_without_a_white_cell_are_no_cell_found(tmp_path):
    image = Image.new("RGB", (300, 300), PINK_FIELD)
    draw = ImageDraw.Draw(image)
    for x in range(20, 300, 60):
        for y in range(20, 300, 60):
            draw.ellipse([x, y, x + 40, y + 40], fill=RED_CELL)
    path = tmp_path / "rbc.png"
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    path.write_bytes(buffer.getvalue())
    with pytest.raises(ImageReadError) as caught:
        load_model_input(path, IMAGE_SIZE, FRAMING_CELL_CENTRED)
    assert caught.value.kind == ErrorKind.NO_CELL
    assert "no stained cell" in caught.value.message


def test_otsu_splits_two_clusters():
    values = np.concatenate([np.full(100, 10.0), np.full(50, 200.0)])
    assert 10 < cellfind.otsu_threshold(values) < 200


@pytest.mark.skipif(not ORIGINALS.is_dir(), reason="needs ../shared/datasets/pbc8-originals")
def test_the_app_and_training_frame_a_file_identically():
    """load_model_input (the app) and load_rgb (training's loader) give the same cell-centred pixels."""
    from hemoapp.core.imageio import load_rgb

    for path in sorted(ORIGINALS.glob("*/*.jpg"))[::16]:
        app = load_model_input(path, IMAGE_SIZE, FRAMING_CELL_CENTRED).array
        np.testing.assert_array_equal(app, load_rgb(path, IMAGE_SIZE, FRAMING_CELL_CENTRED))
