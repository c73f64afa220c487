"""A batch far less sure than the model's validation images is called unusual, and only then."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace

import pytest

from hemoapp.core.unsure_share import (
    RATIO,
    UnsureShare,
    unsure_share,
    validation_unsure_fraction,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
BCCD_WBC = REPO_ROOT.parent / "shared" / "datasets" / "bccd-wbc"


def card_with(review: object = None, threshold: float = 0.9):
    """A card-like object whose validation metrics hold ``review``."""
    metrics = {"val": {"review": review}} if review is not None else {}
    return SimpleNamespace(review_threshold=threshold, metrics=metrics)


def cell(confidence: float, ok: bool = True):
    return SimpleNamespace(ok=ok, confidence=confidence)


VALIDATED = {"threshold": 0.9, "flagged_fraction": 0.125}


def test_the_validation_share_comes_from_the_card_at_its_own_threshold():
    assert validation_unsure_fraction(card_with(VALIDATED)) == 0.125
    # Measured at another threshold than the card's: the figures would not compare.
    assert validation_unsure_fraction(card_with(VALIDATED, threshold=0.95)) is None


@pytest.mark.parametrize(
    "metrics",
    [
        {},
        {"accuracy": 0.5},
        {"val": "high"},
        {"val": {"review": ["0.1"]}},
        {"val": {"review": {"threshold": 0.9}}},
        {"val": {"review": {"threshold": 0.9, "flagged_fraction": "0.1"}}},
        {"val": {"review": {"threshold": True, "flagged_fraction": 0.1}}},
        {"val": {"review": {"threshold": 0.9, "flagged_fraction": 0.0}}},
        {"val": {"review": {"threshold": 0.9, "flagged_fraction": 1.0}}},
        {"val": {"review": {"threshold": 0.9, "flagged_fraction": float("nan")}}},
    ],
)
def test_a_card_without_a_usable_validation_share_gives_no_check(metrics):
    card = SimpleNamespace(review_threshold=0.9, metrics=metrics)
    assert validation_unsure_fraction(card) is None
    assert unsure_share([cell(0.1)] * 50, card) is None


def test_cells_are_counted_against_the_cards_threshold_and_unreadable_files_are_no_cells():
    share = unsure_share([cell(0.5), cell(0.89), cell(0.9), cell(0.99), cell(0.0, ok=False)], card_with(VALIDATED))
    assert (share.unsure, share.classified, share.threshold, share.validation_fraction) == (2, 4, 0.9, 0.125)
    assert share.fraction == 0.5


def test_a_batch_like_the_validation_images_is_not_unusual():
    share = UnsureShare(unsure=341, classified=2563, threshold=0.99, validation_fraction=0.1338)
    assert not share.unusual
    assert share.warning() is None


def test_a_batch_where_most_cells_are_unsure_is_unusual_and_says_so():
    share = UnsureShare(unsure=351, classified=351, threshold=0.99, validation_fraction=0.1338)
    assert share.unusual
    text = share.warning()
    assert text.startswith("100% of the cells (351 of 351) are below the model's review threshold of 99%")
    assert "13.4% of the images it was validated on" in text
    assert "check the cells before using the counts" in text


def test_a_few_more_flags_in_a_small_batch_are_chance_not_a_warning():
    # 3 of 10 is over twice 12.5%, but a batch like the validation images does that often.
    small = UnsureShare(unsure=3, classified=10, threshold=0.9, validation_fraction=0.125)
    assert small.fraction > RATIO * small.validation_fraction
    assert small.p_value > 0.1
    assert not small.unusual
    # The same share in a large batch is no chance.
    assert dataclasses.replace(small, unsure=300, classified=1000).unusual


def test_a_share_under_twice_the_validation_share_is_no_warning_however_large_the_batch():
    # 20% against 12.5%: certain to be more than validation, but not the step change the warning is for.
    share = UnsureShare(unsure=20_000, classified=100_000, threshold=0.9, validation_fraction=0.125)
    assert share.p_value < 1e-100
    assert not share.unusual


def test_an_empty_batch_is_not_unusual():
    share = UnsureShare(unsure=0, classified=0, threshold=0.9, validation_fraction=0.125)
    assert share.fraction == 0.0 and not share.unusual


def test_the_shipped_model_warns_on_another_labs_cells_and_not_on_its_own(repo_root, pbc8_originals):
    """Differential, on real images: bccd-wbc (another lab) is unusual, PBC analyser exports are not."""
    from hemoapp.core.classifier import Classifier
    from hemoapp.core.pipeline import iter_predictions
    from hemoapp.core.scan import scan_folder

    shipped = repo_root / "models" / "hemolens-lite0.tflite"
    if not shipped.exists() or not BCCD_WBC.is_dir():
        pytest.skip("needs the shipped model and ../shared/datasets/bccd-wbc")
    classifier = Classifier(shipped, num_threads=2)

    def share_of(folder: Path) -> UnsureShare:
        batches = iter_predictions(scan_folder(folder).records, classifier, batch_size=64)
        return unsure_share([p for batch in batches for p in batch.predictions], classifier.info.card)

    own_lab, other_lab = share_of(pbc8_originals), share_of(BCCD_WBC)
    assert own_lab.classified == 64 and not own_lab.unusual
    assert other_lab.classified > 300 and other_lab.unusual
