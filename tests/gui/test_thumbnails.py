"""The thumbnail cache: bounded, and an evicted thumbnail comes back when asked for."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from hemoapp.core.pipeline import Prediction
from hemoapp.core.scan import ImageRecord
from hemoapp.gui import thumbnails as thumbnails_module
from hemoapp.gui.table_model import ResultsModel, Role
from hemoapp.gui.thumbnails import ThumbnailCache
from hemotest import corpus as c


@pytest.fixture()
def images(tmp_path) -> list[Path]:
    paths = []
    for index in range(6):
        path = tmp_path / f"cell{index}.png"
        path.write_bytes(c.encode(c.rgb_image(40, 30, seed=index), "PNG"))
        paths.append(path)
    return paths


@pytest.fixture()
def decoded(monkeypatch) -> list[str]:
    """Every path handed to the decoder, in order (request() looks the function up per call)."""
    seen: list[str] = []
    real = thumbnails_module.decode_images

    def counting(paths, max_side, chunk, digests=None):
        seen.extend(paths)
        yield from real(paths, max_side, chunk, digests)

    monkeypatch.setattr(thumbnails_module, "decode_images", counting)
    return seen


@pytest.fixture()
def cache(qapp):
    cache = ThumbnailCache(max_side=32, capacity=3, chunk=1)
    yield cache
    cache.shutdown()


def _load_all(qtbot, cache: ThumbnailCache, paths: list[Path]) -> None:
    arrived: set[str] = set()
    cache.loaded.connect(arrived.update)
    cache.request(paths)
    qtbot.waitUntil(lambda: arrived >= {str(p) for p in paths}, timeout=5000)


def test_evicted_thumbnail_is_loaded_again_when_asked_for(qtbot, cache, images, decoded):
    _load_all(qtbot, cache, images)
    first = str(images[0])
    assert cache.entry(first) is None, "capacity 3 of 6: the first image must have been evicted"
    assert cache.pixmap(images[-1]) is not None
    # Before the fix the evicted tile stayed "loading…" for ever.
    qtbot.waitUntil(lambda: cache.pixmap(first) is not None, timeout=5000)
    assert decoded.count(first) == 2


def test_a_file_replaced_since_it_was_classified_is_not_shown_as_that_cell(qtbot, cache, images, decoded):
    """A picture beside a prediction must be the image that was classified, also after an eviction."""
    predictions = [
        Prediction.from_probabilities(ImageRecord(path, path.name, path.stat().st_size), [1.0] + [0.0] * 7,
                                      file_sha256=hashlib.sha256(path.read_bytes()).hexdigest())
        for path in images
    ]
    images[0].write_bytes(images[1].read_bytes())  # same name, another cell's bytes
    arrived: set[str] = set()
    cache.loaded.connect(arrived.update)
    cache.request_predictions(predictions)
    qtbot.waitUntil(lambda: arrived >= {str(p) for p in images}, timeout=5000)
    assert cache.entry(images[-1]).image is not None
    # Capacity 3 of 6: the first two were evicted; asking again decodes them again, digest checked.
    assert cache.pixmap(images[0]) is None and cache.pixmap(images[1]) is None
    qtbot.waitUntil(lambda: cache.entry(images[0]) is not None and cache.entry(images[1]) is not None, timeout=5000)
    assert decoded.count(str(images[0])) == 2
    assert cache.entry(images[0]).image is None
    assert cache.entry(images[0]).error == "the file has changed since it was classified"
    assert cache.entry(images[1]).image is not None


def test_repeated_misses_queue_one_reload(qtbot, cache, images, decoded):
    """A paint asks for a tile many times: it must be decoded once, not once per ask."""
    _load_all(qtbot, cache, images)
    evicted = [str(p) for p in images[:3]]
    decoded.clear()
    for _ in range(20):
        for key in evicted:
            assert cache.pixmap(key) is None
    arrived: list[str] = []
    cache.loaded.connect(arrived.extend)
    qtbot.waitUntil(lambda: sorted(arrived) == sorted(evicted), timeout=5000)
    qtbot.wait(100)  # give any duplicate job time to show up
    assert sorted(decoded) == sorted(evicted)


def test_a_never_requested_key_is_not_loaded_by_asking(qtbot, cache, images, decoded):
    # The model asks for every row's thumbnail, failed rows too: those are never decoded.
    assert cache.pixmap(images[0]) is None
    qtbot.wait(100)
    assert decoded == [] and cache.pixmap(images[0]) is None


def test_model_gets_an_evicted_thumbnail_back(qtbot, cache, images):
    model = ResultsModel(thumbnails=cache)
    predictions = [
        Prediction.from_probabilities(ImageRecord(path, path.name, path.stat().st_size), [0.9] + [0.1 / 7] * 7)
        for path in images
    ]
    arrived: set[str] = set()
    cache.loaded.connect(arrived.update)
    model.append_predictions(predictions)
    qtbot.waitUntil(lambda: len(arrived) == len(images), timeout=5000)
    index = model.index(0, 0)
    assert model.data(index, Role.THUMBNAIL) is None  # evicted: capacity 3
    with qtbot.waitSignal(model.dataChanged, timeout=5000):
        pass  # the model repaints the row when the thumbnail is back
    assert model.data(index, Role.THUMBNAIL) is not None


def test_an_unexpected_decoder_failure_is_that_files_error_and_the_rest_load(images, monkeypatch):
    real = thumbnails_module.load_display_image

    def failing_on_the_second(path, max_side=None, expected_sha256=None):
        if path == str(images[1]):
            raise MemoryError("decoder ran out of memory")
        return real(path, max_side, expected_sha256)

    monkeypatch.setattr(thumbnails_module, "load_display_image", failing_on_the_second)
    loaded = [item for batch in thumbnails_module.decode_images([str(p) for p in images[:3]], 32, 1) for item in batch]
    assert [item.key for item in loaded] == [str(p) for p in images[:3]]
    assert loaded[1].image is None and "MemoryError" in loaded[1].error
    assert loaded[0].image is not None and loaded[2].image is not None
