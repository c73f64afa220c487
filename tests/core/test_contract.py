"""The contract and the model-card schema."""

from __future__ import annotations

import json

import pytest

from hemoapp.core.contract import (
    CLASS_NAMES,
    DISPLAY_NAMES,
    IMAGE_SIZE,
    SHORT_NAMES,
    WHITE_CELL_CLASSES,
    ModelCard,
    ModelCardError,
    check_card,
    contract_preprocessing,
    display_name,
)


def card_dict(**changes):
    data = {
        "name": "m",
        "version": "1",
        "classes": list(CLASS_NAMES),
        "input_size": IMAGE_SIZE,
        "preprocessing": contract_preprocessing(),
        "sha256": "0f" * 32,
        "created": "2025-01-01T00:00:00+00:00",
    }
    data.update(changes)
    return data


def test_class_lists_are_consistent():
    assert len(CLASS_NAMES) == 8 and len(set(CLASS_NAMES)) == 8
    assert set(DISPLAY_NAMES) == set(SHORT_NAMES) == set(CLASS_NAMES)
    assert set(WHITE_CELL_CLASSES) <= set(CLASS_NAMES)
    assert "erythroblast" not in WHITE_CELL_CLASSES and "platelet" not in WHITE_CELL_CLASSES
    assert display_name("ig") == "Immature granulocyte" and display_name("other") == "other"


def test_valid_card_round_trips(tmp_path):
    card = ModelCard.from_dict(card_dict(calibration_temperature="1.25"))
    check_card(card)
    assert card.calibration_temperature == 1.25
    path = tmp_path / "m.card.json"
    path.write_text(card.to_json())
    assert ModelCard.load(path) == card


@pytest.mark.parametrize(
    "data",
    [
        {k: v for k, v in card_dict().items() if k != "sha256"},
        card_dict(input_size="big"),
        card_dict(preprocessing="rgb"),
        card_dict(classes="basophil"),
        card_dict(classes=[1, 2]),
        card_dict(name=None),
        card_dict(sha256=12),
    ],
    ids=["missing-key", "non-numeric", "preprocessing-type", "classes-type", "class-type", "name-type", "sha-type"],
)
def test_malformed_cards_raise_card_error(data):
    with pytest.raises(ModelCardError):
        check_card(ModelCard.from_dict(data))


@pytest.mark.parametrize(
    "changes",
    [
        {"classes": list(CLASS_NAMES[:-1])},
        {"input_size": 224},
        {"preprocessing": {**contract_preprocessing(), "resize": "nearest"}},
        {"calibration_temperature": float("nan")},
        {"calibration_temperature": float("inf")},
        {"calibration_temperature": 1e-320},  # every logit becomes inf, every probability NaN
        {"calibration_temperature": 0.0},
        {"calibration_temperature": 1e6},
        {"review_threshold": -0.1},
        {"review_threshold": float("nan")},
        {"sha256": "0f" * 31},
    ],
)
def test_cards_that_disagree_are_refused(changes):
    with pytest.raises(ModelCardError, match="disagrees"):
        check_card(ModelCard.from_dict(card_dict(**changes)))


def test_load_errors(tmp_path):
    with pytest.raises(ModelCardError, match="not found"):
        ModelCard.load(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    with pytest.raises(ModelCardError, match="not a JSON object"):
        ModelCard.load(bad)
    bad.write_bytes(b"\xff\xfe{")
    with pytest.raises(ModelCardError, match="cannot be read"):
        ModelCard.load(bad)
    bad.write_text(json.dumps(card_dict())[:-3])
    with pytest.raises(ModelCardError, match="cannot be read"):
        ModelCard.load(bad)
    bad.write_text(json.dumps(card_dict())[:-1] + ', "deep": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(ModelCardError, match="nested too deeply"):
        ModelCard.load(bad)
    bad.write_text(json.dumps(card_dict()).replace('"input_size": 128', '"input_size": 1e999'))
    with pytest.raises(ModelCardError, match="non-numeric"):
        ModelCard.load(bad)
