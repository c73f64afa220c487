"""Fixtures for the GUI tests: isolated settings, fake classifiers, folders of real cells.

Qt runs offscreen (``tests/conftest.py`` sets ``QT_QPA_PLATFORM``). Settings go
to a temporary directory so tests never touch the user's HemoLens settings.
"""

from __future__ import annotations

import datetime as _dt
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from hemoapp.core.classifier import ModelInfo
from hemoapp.core.contract import CLASS_NAMES, IMAGE_SIZE, ModelCard, contract_preprocessing
from hemoapp.gui.settings import AppSettings

#: Files per class copied from the real dataset into a test folder.
PER_CLASS = 2


def fake_probabilities(batch: np.ndarray) -> np.ndarray:
    """Deterministic probabilities from pixel means: class = mean % 8, confidence 0.5..0.99."""
    out = np.full((len(batch), len(CLASS_NAMES)), 0.0, dtype=np.float64)
    for row, image in enumerate(batch):
        level = int(image.mean())
        confidence = 0.5 + (level % 50) / 100.0
        out[row, :] = (1.0 - confidence) / (len(CLASS_NAMES) - 1)
        out[row, level % len(CLASS_NAMES)] = confidence
    return out.astype(np.float32)


def fake_model_info(name: str = "fake-model") -> ModelInfo:
    """A ``ModelInfo`` with a contract-conforming card, for exports."""
    card = ModelCard(
        name=name,
        version="9.9.9-test",
        classes=list(CLASS_NAMES),
        input_size=IMAGE_SIZE,
        preprocessing=contract_preprocessing(),
        sha256="ab" * 32,
        created=_dt.datetime(2025, 1, 1, tzinfo=_dt.timezone.utc).isoformat(),
        review_threshold=0.9,
        architecture="fake",
        training_data={"dataset": "none", "images": 0},
        training={"recipe": {"seed": 4321}, "epochs": {"stage2": 3},
                  "sessions": [{"code": "c0ffee", "software": {"keras": "0.0-fake"}}, {"code": "c0ffee+changes"}]},
        citation="Fake et al. (2025)",
        licence="CC0",
        metrics={"accuracy": 0.5},
    )
    return ModelInfo(name=card.name, version=card.version, sha256=card.sha256, path=Path("fake.tflite"), card=card)


class FakeClassifier:
    """Duck-typed classifier: deterministic output, optional delay per batch."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s
        self.info = fake_model_info()
        self.calls = 0

    def predict_arrays(self, batch: np.ndarray) -> np.ndarray:
        """Sleep ``delay_s`` (like a slow model, releasing the GIL), then answer."""
        self.calls += 1
        if self.delay_s:
            time.sleep(self.delay_s)
        return fake_probabilities(batch)


@pytest.fixture()
def fake_classifier():
    """Factory: ``fake_classifier(delay_s=0.0)`` → a :class:`FakeClassifier`."""
    return FakeClassifier


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path) -> AppSettings:
    """Settings in a temporary INI file; default-constructed ``QSettings`` go to tmp too."""
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "qsettings"))
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path / "qsettings"))
    return AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))


def copy_cells(source: Path, target: Path, per_class: int = PER_CLASS, prefix: str = "") -> list[Path]:
    """Copy ``per_class`` images of each class into ``target/<class>/``."""
    copied = []
    for class_dir in sorted(p for p in source.iterdir() if p.is_dir()):
        (target / class_dir.name).mkdir(parents=True, exist_ok=True)
        for image in sorted(class_dir.glob("*.jpg"))[:per_class]:
            destination = target / class_dir.name / f"{prefix}{image.name}"
            shutil.copyfile(image, destination)
            copied.append(destination)
    return copied


@pytest.fixture()
def cell_folder(tmp_path, pbc8_originals) -> Path:
    """16 real cells (2 per class) and one corrupt JPEG, ``zz_broken.jpg``."""
    folder = tmp_path / "cells"
    copy_cells(pbc8_originals, folder)
    (folder / "zz_broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg" + bytes(range(256)))
    return folder


@pytest.fixture()
def other_folder(tmp_path, pbc8_originals) -> Path:
    """A second folder: 8 different cells (the last one of each class), renamed ``other_*``."""
    folder = tmp_path / "other"
    for class_dir in sorted(p for p in pbc8_originals.iterdir() if p.is_dir()):
        image = sorted(class_dir.glob("*.jpg"))[-1]
        folder.mkdir(exist_ok=True)
        shutil.copyfile(image, folder / f"other_{image.name}")
    return folder


@pytest.fixture()
def make_window(qtbot, isolated_settings):
    """Factory for a shown ``MainWindow``; qtbot closes it (and its workers) afterwards."""
    from hemoapp.gui.main_window import MainWindow

    def make(classifier=None, model_error=None, batch_size: int = 32, settings: AppSettings | None = None):
        window = MainWindow(classifier=classifier, model_error=model_error, settings=settings or isolated_settings)
        window.controller.batch_size = batch_size
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        return window

    return make


class _UnexpectedQuestion:
    """Stands in for ``QMessageBox.question``: an unplanned question fails the test.

    Offscreen, a real modal question would wait for an answer forever. Tests that
    expect a question monkeypatch ``QMessageBox.question`` with their own answer.
    """

    def __call__(self, _parent, title, text, *_args, **_kwargs):
        raise AssertionError(f"unexpected question {title!r}: {text!r}")


@pytest.fixture(autouse=True)
def no_unexpected_questions(monkeypatch):
    """Make any ``QMessageBox.question`` a test did not plan for fail instead of hang."""
    monkeypatch.setattr(QMessageBox, "question", _UnexpectedQuestion())


class Answer:
    """A fake ``QMessageBox.question`` that records each question and gives ``button``."""

    def __init__(self, button: QMessageBox.StandardButton) -> None:
        self.button = button
        self.questions: list[str] = []

    def __call__(self, _parent, _title, text, *_args, **_kwargs):
        self.questions.append(text)
        return self.button


@pytest.fixture()
def answer_questions(monkeypatch):
    """Factory: ``answer_questions(button)`` → an :class:`Answer` installed as ``QMessageBox.question``."""

    def install(button: QMessageBox.StandardButton) -> Answer:
        answer = Answer(button)
        monkeypatch.setattr(QMessageBox, "question", answer)
        return answer

    return install
