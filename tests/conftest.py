"""Shared fixtures: paths, the real datasets (skip when absent), a tiny real model.

Qt runs offscreen in every test (no display needed); set before anything imports Qt.
"""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]

#: Shared, read-only datasets (never copied into the repository).
DATASETS = REPO_ROOT.parent / "shared" / "datasets"
PBC8_ORIGINALS = DATASETS / "pbc8-originals"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def pbc8_originals() -> Path:
    """The 64 untouched analyser JPEGs (8 per class); skips when the datasets are absent."""
    if not PBC8_ORIGINALS.is_dir() or not any(PBC8_ORIGINALS.glob("*/*.jpg")):
        pytest.skip(f"dataset not available: {PBC8_ORIGINALS}")
    return PBC8_ORIGINALS


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """A tiny Keras model exported by ``training.export`` to ``.tflite`` + card.

    The app's real loading and inference code runs on it. Skips when the training
    extra (TensorFlow/Keras) is not installed.
    """
    pytest.importorskip("keras", reason="the training extra (keras, tensorflow) is needed to build a test model")
    from hemotest.tiny_model import export_tiny_model

    return export_tiny_model(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture(scope="session")
def tiny_classifier(tiny_model):
    """A :class:`~hemoapp.core.classifier.Classifier` on the tiny model (one thread)."""
    from hemoapp.core.classifier import Classifier

    return Classifier(tiny_model.model_path, num_threads=1)


@pytest.fixture()
def corpus(tmp_path):
    """A folder of odd and hostile files; returns ``(folder, {relpath: expected})``."""
    from hemotest.corpus import build_corpus

    folder = tmp_path / "corpus"
    return folder, build_corpus(folder)
