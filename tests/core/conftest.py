"""Fixtures shared by the core tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from hemoapp.core.classifier import ModelInfo
from hemoapp.core.contract import CLASS_NAMES, IMAGE_SIZE, ModelCard, contract_preprocessing


@pytest.fixture()
def model_info() -> ModelInfo:
    card = ModelCard(
        name="hemolens-lite0",
        version="1.0",
        classes=list(CLASS_NAMES),
        input_size=IMAGE_SIZE,
        preprocessing=contract_preprocessing(),
        sha256="ab" * 32,
        created="2025-01-01T00:00:00+00:00",
        review_threshold=0.8,
        calibration_temperature=1.3721,
    )
    return ModelInfo(card.name, card.version, card.sha256, Path("models/hemolens-lite0.tflite"), card)
