"""Not assessable: image quality (blur, exposure, no single centred cell) and the energy score."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from hemoapp.core import cellfind
from hemoapp.core.assessability import (
    DEFAULT_QUALITY,
    _find_cells,
    assess,
    assess_input,
    energy_score,
    measure_quality,
    ood_limit,
)
from hemoapp.core.cellfind import label_blobs
from hemoapp.core.imageio import frame_input


def synthetic_cell(size: int = 360, offset: tuple[int, int] = (0, 0), radius: int = 60) -> Image.Image:
    """A PBC-like field: pale pink background, pink red cells, one violet nucleus in the middle."""
    rng = np.random.default_rng(3)
    image = Image.new("RGB", (size, size), (232, 214, 222))
    draw = ImageDraw.Draw(image)
    for _ in range(18):
        x, y = rng.integers(0, size, 2)
        if np.hypot(x - size / 2, y - size / 2) > radius * 1.8:
            draw.ellipse((x - 32, y - 32, x + 32, y + 32), fill=(214, 160, 180), outline=(190, 130, 150))
    cx, cy = size // 2 + offset[0], size // 2 + offset[1]
    draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=(205, 175, 215))  # cytoplasm
    draw.ellipse((cx - radius // 2, cy - radius // 2, cx + radius // 2, cy + radius // 2), fill=(95, 40, 140))
    pixels = np.asarray(image, dtype=np.float32) + rng.normal(0, 5, (size, size, 3))  # the camera's grain
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def quality_of(image: Image.Image):
    return measure_quality(frame_input(image.convert("RGB")))


def verdict(image: Image.Image, logits=None, block=None):
    return assess_input(frame_input(image.convert("RGB")), logits, block or {})


def test_a_sharp_centred_cell_is_assessable():
    assert verdict(synthetic_cell()).assessable, quality_of(synthetic_cell())


@pytest.mark.parametrize("colour", [(0, 0, 0), (255, 255, 255), (200, 190, 200)])
def test_a_blank_picture_is_not_assessable(colour):
    result = verdict(Image.new("RGB", (360, 360), colour))
    assert not result.assessable and result.reason


def test_a_blurred_picture_is_not_assessable_for_blur():
    blurred = synthetic_cell().filter(ImageFilter.GaussianBlur(6))
    result = verdict(blurred)
    assert not result.assessable
    assert result.reason.startswith("blurred")


def test_a_whole_field_is_not_assessable():
    # Nine cells shrunk into one field: no single centred cell.
    cell = synthetic_cell()
    field = Image.new("RGB", (360, 360))
    for i in range(3):
        for j in range(3):
            field.paste(cell.resize((120, 120)), (120 * i, 120 * j))
    result = verdict(field)
    assert not result.assessable
    assert result.reason.startswith("no single centred cell")


def test_an_off_centre_cell_is_not_assessable():
    result = verdict(synthetic_cell(offset=(110, 100), radius=40))
    assert not result.assessable and "centred" in result.reason


def test_a_noise_texture_is_not_assessable():
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 256, (360, 360, 3), dtype=np.uint8))
    result = verdict(noise)
    assert not result.assessable and result.reason


def test_a_non_blood_photograph_is_not_assessable():
    cbook = pytest.importorskip("matplotlib.cbook")
    with cbook.get_sample_data("grace_hopper.jpg") as handle:
        photo = Image.open(handle).convert("RGB")
    assert not verdict(photo).assessable


def test_the_shipped_model_finds_the_noise_and_the_photograph_unlike_its_training_cells(repo_root):
    # The energy score alone, from the logits the app already has (no quality check).
    from hemoapp.core.classifier import Classifier

    shipped = repo_root / "models" / "hemolens-lite0.tflite"
    classifier = Classifier(shipped, num_threads=1)
    block = classifier.card.assessability
    assert ood_limit(block) is not None
    cbook = pytest.importorskip("matplotlib.cbook")
    with cbook.get_sample_data("grace_hopper.jpg") as handle:
        photo = Image.open(handle).convert("RGB")
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 256, (360, 360, 3), dtype=np.uint8))
    for picture in (photo, noise):
        x = frame_input(picture, classifier.input_size, classifier.framing)
        result = assess(None, classifier.predict_logits(x[None])[0], block)
        assert not result.assessable and result.reason.startswith("unlike the training cells")


def test_a_card_without_the_block_declares_nothing_by_energy():
    far_out = np.zeros(8)  # energy -log(8): unlike anything the model is sure of
    assert ood_limit({}) is None
    assert assess(None, far_out, {}).assessable
    block = {"ood": {"score": "energy", "max_energy": -4.0}}
    assert not assess(None, far_out, block).assessable
    assert assess(None, np.array([20.0] + [0.0] * 7), block).assessable


def test_the_card_overrides_the_quality_limits():
    quality = quality_of(synthetic_cell())
    assert assess(quality, None, {}).assessable
    strict = {"quality": {"min_sharpness": quality.sharpness + 1}}
    assert assess(quality, None, strict).reason.startswith("blurred")
    assert set(DEFAULT_QUALITY) >= set(strict["quality"])


def test_energy_is_minus_logsumexp():
    logits = np.array([[1.0, 2.0, 3.0], [1000.0, 0.0, 0.0]])
    np.testing.assert_allclose(energy_score(logits), [-np.log(np.exp(logits[0]).sum()), -1000.0])


def test_blob_labelling_is_four_connected():
    mask = np.zeros((6, 6), dtype=bool)
    mask[0, 0:2] = mask[1, 1] = True  # one blob
    mask[2, 2] = True  # touches (1, 1) only diagonally: another
    mask[4:6, 0:6] = True
    mask[3, 5] = True  # joins the bottom band from above
    labels, count = label_blobs(mask)
    assert count == 3
    assert labels[0, 0] == labels[1, 1] != labels[2, 2]
    assert labels[3, 5] == labels[5, 0]


def test_the_centred_cell_is_the_one_cellfind_finds():
    for image in (synthetic_cell(), synthetic_cell(offset=(60, -30), radius=45)):
        rgb = frame_input(image)
        mine, theirs = _find_cells(rgb), cellfind.find_cell(Image.fromarray(rgb))
        assert (mine.found, mine.cx, mine.cy, mine.extent) == (theirs.found, theirs.cx, theirs.cy, theirs.extent)


def test_the_results_csv_and_the_summary_keep_not_assessable_cells_apart(tmp_path, model_info):
    import csv
    from dataclasses import replace

    from hemoapp.core.export import write_predictions_csv
    from hemoapp.core.pipeline import Prediction
    from hemoapp.core.scan import ImageRecord
    from hemoapp.core.summary import summarize

    def cell(name, assessable, reason=""):
        record = ImageRecord(path=tmp_path / name, relpath=name, size_bytes=1)
        probabilities = [0.0] * 8
        probabilities[6] = 1.0  # neutrophil, sure
        return replace(Prediction.from_probabilities(record, probabilities), assessable=assessable,
                       assessable_reason=reason)

    predictions = [cell("a.jpg", True), cell("b.jpg", False, "blurred (sharpness 3.0, at least 14.8 needed)")]
    path = write_predictions_csv(tmp_path / "r.csv", predictions, model_info)
    rows = list(csv.DictReader(path.open(encoding="utf-8-sig")))
    assert [(r["assessable"], r["assessable_reason"]) for r in rows] == [
        ("yes", ""), ("no", "blurred (sharpness 3.0, at least 14.8 needed)")]
    summary = summarize(predictions, 0.9)
    assert summary.not_assessable == 1 and summary.not_assessable_reasons == {"blurred": 1}
    assert summary.counts["neutrophil"] == 1 and summary.white_cells == 1  # never silently in the differential
