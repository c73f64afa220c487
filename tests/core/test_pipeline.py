"""iter_predictions: one row per file, overlap, bounded look-ahead, cancellation."""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from hemoapp.core import pipeline
from hemoapp.core.contract import CLASS_NAMES, IMAGE_SIZE
from hemoapp.core.imageio import ErrorKind, ImageReadError, ModelInput
from hemoapp.core.pipeline import BatchResult, Prediction, iter_predictions
from hemoapp.core.scan import ImageRecord, scan_folder
from hemotest import corpus as c


class FakeClassifier:
    """Probabilities from the image's mean brightness: deterministic and checkable."""

    def __init__(self):
        self.batch_sizes: list[int] = []

    def predict_arrays(self, batch):
        assert batch.dtype == np.uint8 and batch.shape[1:] == (IMAGE_SIZE, IMAGE_SIZE, 3)
        self.batch_sizes.append(len(batch))
        out = np.full((len(batch), len(CLASS_NAMES)), 0.02, np.float32)
        for row, image in enumerate(batch):
            out[row, int(image.mean()) % len(CLASS_NAMES)] = 1 - 0.02 * (len(CLASS_NAMES) - 1)
        return out


def fake_records(count):
    return [ImageRecord(path=Path(f"/virtual/{i}.png"), relpath=f"{i}.png", size_bytes=1) for i in range(count)]


def solid(value):
    """A decoded file of one brightness; its stand-in digest encodes the value."""
    return ModelInput(np.full((IMAGE_SIZE, IMAGE_SIZE, 3), value, np.uint8), f"{value:064x}")


@pytest.fixture()
def virtual_files(monkeypatch):
    """Decode /virtual/<i>.png to a solid image of brightness i (no disk I/O)."""

    def load(path, size=IMAGE_SIZE, framing="centre-crop"):
        return solid(int(Path(path).stem) % 256)

    monkeypatch.setattr(pipeline, "load_model_input", load)
    return load


def run_all(*args, **kwargs) -> list[BatchResult]:
    return list(iter_predictions(*args, **kwargs))


def test_every_record_gets_one_prediction_in_order(virtual_files):
    records = fake_records(70)
    fake = FakeClassifier()
    batches = run_all(records, fake, batch_size=32)
    assert [b.done for b in batches] == [32, 64, 70]
    assert all(b.total == 70 for b in batches)
    assert fake.batch_sizes == [32, 32, 6]
    predictions = [p for b in batches for p in b.predictions]
    assert [p.record for p in predictions] == records
    for index, prediction in enumerate(predictions):
        assert prediction.ok
        assert prediction.predicted == CLASS_NAMES[index % len(CLASS_NAMES)]
        assert prediction.confidence == pytest.approx(0.86)
        assert len(prediction.probabilities) == len(CLASS_NAMES)
    assert batches[-1].elapsed_s >= batches[0].elapsed_s >= 0


def test_empty_input_yields_nothing():
    assert run_all([], FakeClassifier()) == []
    with pytest.raises(ValueError):
        run_all(fake_records(1), FakeClassifier(), batch_size=0)


def test_decode_failures_become_error_rows(monkeypatch):
    def load(path, size=IMAGE_SIZE, framing="centre-crop"):
        index = int(Path(path).stem)
        if index == 1:
            raise ImageReadError(ErrorKind.TRUNCATED, "the file is truncated")
        if index == 2:
            raise RuntimeError("a decoder bug")
        if index == 3:
            raise MemoryError()
        return solid(index)

    monkeypatch.setattr(pipeline, "load_model_input", load)
    fake = FakeClassifier()
    predictions = [p for b in run_all(fake_records(5), fake, batch_size=5) for p in b.predictions]
    assert [p.ok for p in predictions] == [True, False, False, False, True]
    assert predictions[1].error_kind == ErrorKind.TRUNCATED and predictions[1].error == "the file is truncated"
    assert predictions[2].error_kind == "unreadable" and "RuntimeError: a decoder bug" in predictions[2].error
    assert predictions[3].error_kind == "unreadable"
    assert predictions[1].probabilities is None and predictions[1].predicted is None
    assert fake.batch_sizes == [2]  # only the good files reach the model


def test_batch_of_only_bad_files_skips_the_model(monkeypatch):
    monkeypatch.setattr(pipeline, "load_model_input", lambda p, s=IMAGE_SIZE, f="centre-crop": (_ for _ in ()).throw(ImageReadError("corrupt", "bad")))
    fake = FakeClassifier()
    predictions = run_all(fake_records(3), fake)[0].predictions
    assert [p.error_kind for p in predictions] == ["corrupt"] * 3
    assert fake.batch_sizes == []


def test_non_finite_model_output_is_an_error_row_never_a_count(virtual_files):
    class PartlyNaN(FakeClassifier):
        def predict_arrays(self, batch):
            out = super().predict_arrays(batch)
            out[1] = np.nan  # e.g. a broken calibration temperature
            out[2, 0] = np.inf
            return out

    predictions = run_all(fake_records(4), PartlyNaN())[0].predictions
    assert [p.ok for p in predictions] == [True, False, False, True]
    assert {predictions[1].error_kind, predictions[2].error_kind} == {pipeline.INVALID_OUTPUT}
    assert predictions[1].predicted is None and "NaN" in predictions[1].error


def test_blank_pictures_are_error_rows(tmp_path):
    from PIL import Image

    from hemotest import corpus as c

    files = {
        "cell.png": c.rgb_image(200, 200),
        "black-12bit.png": Image.new("RGB", (200, 200), (12, 12, 12)),
        "white.png": Image.new("RGB", (200, 200), (252, 252, 252)),
        "flat.png": Image.new("RGB", (200, 200), (180, 120, 150)),
    }
    records = []
    for name, image in files.items():
        image.save(tmp_path / name)
        records.append(ImageRecord(path=tmp_path / name, relpath=name, size_bytes=1))
    predictions = run_all(records, FakeClassifier())[0].predictions
    assert predictions[0].ok
    assert [p.error_kind for p in predictions[1:]] == [ErrorKind.BLANK] * 3
    assert "almost black" in predictions[1].error and "8-bit" in predictions[1].error
    assert "almost white" in predictions[2].error and "flat colour" in predictions[3].error


def test_classifier_errors_propagate(virtual_files):
    class Broken:
        def predict_arrays(self, batch):
            raise RuntimeError("model exploded")

    with pytest.raises(RuntimeError, match="model exploded"):
        run_all(fake_records(3), Broken())

    class WrongShape:
        def predict_arrays(self, batch):
            return np.zeros((len(batch), 3))

    with pytest.raises(RuntimeError, match="shape"):
        run_all(fake_records(3), WrongShape())


def test_decoding_of_next_batch_overlaps_inference(monkeypatch):
    batch_size = 4
    next_batch_started = threading.Event()

    def load(path, size=IMAGE_SIZE, framing="centre-crop"):
        if int(Path(path).stem) >= batch_size:
            next_batch_started.set()
        return solid(1)

    class WaitsForOverlap(FakeClassifier):
        def predict_arrays(self, batch):
            if not self.batch_sizes:
                # Without overlap nothing of batch 2 is decoding now, and this times out.
                assert next_batch_started.wait(timeout=10), "next batch was not decoding during inference"
            return super().predict_arrays(batch)

    monkeypatch.setattr(pipeline, "load_model_input", load)
    assert len(run_all(fake_records(8), WaitsForOverlap(), batch_size=batch_size, decode_workers=2)) == 2


def test_look_ahead_is_bounded(monkeypatch):
    batch_size = 8
    started = []
    lock = threading.Lock()

    def load(path, size=IMAGE_SIZE, framing="centre-crop"):
        with lock:
            started.append(path)
        return solid(1)

    monkeypatch.setattr(pipeline, "load_model_input", load)
    done = 0
    for batch in iter_predictions(fake_records(200), FakeClassifier(), batch_size=batch_size, decode_workers=4):
        done = batch.done
        # Never more than one batch decoded ahead of what was yielded.
        assert len(started) <= done + batch_size
    assert done == 200


def test_cancel_stops_between_batches_and_keeps_results(virtual_files):
    cancel = threading.Event()
    seen = []
    for batch in iter_predictions(fake_records(100), FakeClassifier(), batch_size=10, cancel=cancel):
        seen.append(batch)
        if len(seen) == 2:
            cancel.set()
    assert [b.done for b in seen] == [10, 20]
    assert all(p.ok for b in seen for p in b.predictions)


def test_cancel_while_waiting_for_slow_decoding(monkeypatch):
    cancel = threading.Event()
    release = threading.Event()

    def slow(path, size=IMAGE_SIZE, framing="centre-crop"):
        release.wait(timeout=10)
        return solid(1)

    monkeypatch.setattr(pipeline, "load_model_input", slow)
    timer = threading.Timer(0.2, cancel.set)
    timer.start()
    started = time.perf_counter()
    try:
        assert run_all(fake_records(4), FakeClassifier(), batch_size=4, cancel=cancel) == []
        # Returns promptly although four decodes are still stuck.
        assert time.perf_counter() - started < 5
    finally:
        release.set()
        timer.cancel()


def test_closing_the_generator_leaves_no_threads(virtual_files):
    before = {t.ident for t in threading.enumerate()}
    generator = iter_predictions(fake_records(100), FakeClassifier(), batch_size=10, decode_workers=3)
    next(generator)
    generator.close()
    leftover = [t for t in threading.enumerate() if t.ident not in before and t.name.startswith("hemolens-decode")]
    assert leftover == []


def test_prediction_constructors():
    record = ImageRecord(Path("a.png"), "a.png", 1)
    ok = Prediction.from_probabilities(record, [0.1, 0.7, 0.2], ("x", "y", "z"))
    assert ok.ok and ok.predicted == "y" and ok.confidence == pytest.approx(0.7)
    failed = Prediction.failed(record, "empty-file", "the file is empty")
    assert not failed.ok and failed.confidence is None


def test_real_classifier_on_the_corpus(corpus, tiny_classifier):
    folder, expected = corpus
    records = scan_folder(folder).records
    predictions = [p for b in iter_predictions(records, tiny_classifier, batch_size=4) for p in b.predictions]
    assert len(predictions) == len(records) == len(expected)
    for prediction in predictions:
        outcome = expected[prediction.record.relpath]
        if outcome == c.OK:
            assert prediction.ok, (prediction.record.relpath, prediction.error)
            assert sum(prediction.probabilities) == pytest.approx(1.0, abs=1e-4)
            assert prediction.predicted in CLASS_NAMES
        else:
            assert prediction.error_kind == outcome, prediction.record.relpath
        # Every row names the bytes it came from: the file's own sha256 whenever it
        # could be read (a truncated or blank file too), none when it could not.
        # (The corpus's too-large files are small files whose headers claim huge sizes.)
        if outcome in (c.OK, ErrorKind.TRUNCATED, ErrorKind.NOT_AN_IMAGE, ErrorKind.BLANK, ErrorKind.TOO_LARGE):
            digest = hashlib.sha256(prediction.record.path.read_bytes()).hexdigest()
            assert prediction.file_sha256 == digest, prediction.record.relpath
        elif outcome in (ErrorKind.EMPTY, ErrorKind.MISSING, ErrorKind.NOT_A_FILE, ErrorKind.PERMISSION,
                         ErrorKind.UNREADABLE):
            assert prediction.file_sha256 is None, prediction.record.relpath
