"""Decoding: every odd input becomes the model's array or a typed ImageReadError."""

from __future__ import annotations

import hashlib
import io
import os
import threading
import time
import tracemalloc
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import EpsImagePlugin, Image

from hemoapp.core.contract import CENTER_CROP, IMAGE_SIZE
from hemoapp.core.imageio import (
    ErrorKind,
    ImageReadError,
    decode_bytes,
    is_image_name,
    load_display_image,
    load_model_input,
    READ_FORMATS_TEXT,
    load_rgb,
    open_image,
)
from hemotest import corpus as c


def decode_error(data: bytes) -> ImageReadError:
    with pytest.raises(ImageReadError) as caught:
        decode_bytes(data)
    return caught.value


def test_plain_jpeg_becomes_model_input():
    array = decode_bytes(c.encode(c.rgb_image(360, 363), "JPEG", quality=90))
    assert array.shape == (IMAGE_SIZE, IMAGE_SIZE, 3)
    assert array.dtype == np.uint8
    assert array.flags["C_CONTIGUOUS"]


def test_exif_orientation_is_applied():
    image, info = open_image(c.exif_rotated_jpeg(120, 60))
    # The header says landscape; upright (orientation 6) the picture is portrait.
    assert (info.width, info.height) == (120, 60)
    assert image.size == (60, 120)
    array = decode_bytes(c.exif_rotated_jpeg(120, 60))
    top, bottom = array[: IMAGE_SIZE // 4].mean(axis=(0, 1)), array[-IMAGE_SIZE // 4 :].mean(axis=(0, 1))
    assert top[0] > 200 and top[2] < 60, f"top should be red, got {top}"
    assert bottom[2] > 200 and bottom[0] < 60, f"bottom should be blue, got {bottom}"


def test_sixteen_bit_is_scaled_not_clipped():
    for fmt in ("TIFF", "PNG"):
        array = decode_bytes(c.encode(c.sixteen_bit_gray(), fmt))
        # A 0..65535 ramp: the contract's central crop keeps the middle part of it,
        # linearly mapped onto 0..255 (clipping would saturate most of it at 255).
        low, high = 255 * (1 - CENTER_CROP) / 2, 255 * (1 + CENTER_CROP) / 2
        assert abs(int(array.min()) - low) <= 4 and abs(int(array.max()) - high) <= 4, (fmt, array.min(), array.max())
        assert np.array_equal(array[..., 0], array[..., 1]) and np.array_equal(array[..., 1], array[..., 2])


def test_multipage_tiff_uses_first_page():
    image, info = open_image(c.multipage_tiff())
    assert info.frames == 2
    assert image.getpixel((5, 5)) == (255, 0, 0)


def test_transparency_becomes_white_background():
    palette, _ = open_image(c.palette_png_with_transparency())
    assert palette.mode == "RGB"
    assert palette.getpixel((5, 5)) == (255, 255, 255)  # transparent index → white
    assert palette.getpixel((30, 5)) == (0, 255, 0)
    rgba, _ = open_image(c.rgba_png())
    assert rgba.getpixel((5, 5)) == (255, 255, 255)
    assert rgba.getpixel((5, 30)) == (255, 0, 0)


def test_cmyk_and_grayscale_become_rgb():
    cyan, info = open_image(c.cmyk_jpeg())
    assert info.mode == "CMYK" and cyan.mode == "RGB"
    red, green, blue = cyan.getpixel((24, 24))
    assert red < 40 and green > 200 and blue > 200
    gray = decode_bytes(c.encode(c.rgb_image().convert("L"), "PNG"))
    assert np.array_equal(gray[..., 0], gray[..., 2])


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"", ErrorKind.EMPTY),
        (b"hello, not an image\n" * 10, ErrorKind.NOT_AN_IMAGE),
        (c.truncated_jpeg(), ErrorKind.TRUNCATED),
    ],
    ids=["empty", "text", "truncated"],
)
def test_bad_bytes_give_typed_errors(data, kind):
    error = decode_error(data)
    assert error.kind == kind
    assert error.message and kind in str(error)


@pytest.mark.parametrize("header", [c.huge_png_header, c.huge_tiff_header], ids=["png", "tiff"])
def test_huge_header_refused_fast_without_allocating(header):
    data = header()
    assert len(data) < 200
    tracemalloc.start()
    started = time.perf_counter()
    try:
        error = decode_error(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert error.kind == ErrorKind.TOO_LARGE
    assert "megapixel limit" in error.message
    assert time.perf_counter() - started < 1.0
    assert peak < 10_000_000  # 30000x30000 RGB would be 2.7 GB


def test_load_rgb_file_errors(tmp_path):
    with pytest.raises(ImageReadError) as missing:
        load_rgb(tmp_path / "nope.jpg")
    assert missing.value.kind == ErrorKind.MISSING
    with pytest.raises(ImageReadError) as folder:
        load_rgb(tmp_path)
    assert folder.value.kind == ErrorKind.NOT_A_FILE
    empty = tmp_path / "empty.jpg"
    empty.touch()
    with pytest.raises(ImageReadError) as zero:
        load_rgb(empty)
    assert zero.value.kind == ErrorKind.EMPTY


def test_corpus_files_decode_or_fail_as_expected(corpus):
    folder, expected = corpus
    from hemoapp.core.scan import scan_folder

    for record in scan_folder(folder).records:
        outcome = expected[record.relpath]
        if outcome == c.OK:
            loaded = load_model_input(record.path)
            assert loaded.array.shape == (IMAGE_SIZE, IMAGE_SIZE, 3), record.relpath
            assert loaded.sha256 == hashlib.sha256(record.path.read_bytes()).hexdigest(), record.relpath
            # The app's input is training's input (load_rgb), pixel for pixel.
            assert np.array_equal(loaded.array, load_rgb(record.path)), record.relpath
        else:
            with pytest.raises(ImageReadError) as caught:
                load_model_input(record.path)
            assert caught.value.kind == outcome, record.relpath


def test_display_image_is_full_size_or_thumbnail(tmp_path):
    path = tmp_path / "cell.png"
    path.write_bytes(c.encode(c.rgb_image(300, 200), "PNG"))
    full, info = load_display_image(path)
    assert full.size == (300, 200) and info.format == "PNG"
    thumb, _ = load_display_image(path, max_side=64)
    assert max(thumb.size) == 64


def test_is_image_name():
    assert is_image_name("a.JPG") and is_image_name("b.tiff") and is_image_name("c.bmp")
    assert is_image_name("d.gif") and is_image_name("g.WebP")
    assert not is_image_name("d.svg") and not is_image_name("e") and not is_image_name("f.jpg.txt")


def test_decoding_in_threads_leaves_warning_filters_alone():
    # warnings.catch_warnings() is process-wide and not thread-safe; decoding runs
    # on a thread pool, so it must not touch the filters at all.
    before = list(warnings.filters)
    data = [c.encode(c.rgb_image(seed=i), "PNG") for i in range(4)]
    threads = [threading.Thread(target=lambda d=d: [decode_bytes(d) for _ in range(20)]) for d in data]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert warnings.filters == before


_SEEDS = [
    c.encode(c.rgb_image(), "JPEG", quality=85),
    c.encode(c.rgb_image(), "PNG"),
    c.encode(c.sixteen_bit_gray(), "TIFF"),
    c.multipage_tiff(),
    c.exif_rotated_jpeg(),
    c.palette_png_with_transparency(),
    c.encode(c.rgb_image(), "BMP"),
    c.huge_tiff_header(64),
]


def _check_only_image_read_error(data: bytes) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow warns about corrupt EXIF; not our concern here
        try:
            array = decode_bytes(data)
        except ImageReadError as error:
            assert error.kind in vars(ErrorKind).values()
            return
    assert array.shape == (IMAGE_SIZE, IMAGE_SIZE, 3) and array.dtype == np.uint8


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048))
def test_random_bytes_raise_only_image_read_error(data):
    _check_only_image_read_error(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.sampled_from(_SEEDS),
    edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=8),
    cut=st.floats(0.05, 1.0),
)
def test_mutated_real_images_raise_only_image_read_error(seed, edits, cut):
    data = bytearray(seed)
    for where, value in edits:
        data[int(where * len(data))] = value
    _check_only_image_read_error(bytes(data[: max(1, int(cut * len(data)))]))


def test_training_preprocessing_is_the_apps(pbc8_originals):
    """Training must see exactly the pixels the app sees (DESIGN: one preprocessing)."""
    data = pytest.importorskip("training.data", reason="training/data.py is not written yet")
    if not hasattr(data, "load_example"):
        pytest.skip("training.data has no load_example yet")
    if data.load_example is load_rgb:
        return
    for path in sorted(pbc8_originals.glob("*/*.jpg"))[::8]:
        assert np.array_equal(data.load_example(path), load_rgb(path)), path


def test_real_analyser_images_decode(pbc8_originals):
    paths = sorted(pbc8_originals.glob("*/*.jpg"))
    assert len(paths) == 64
    for path in paths[::8]:
        array = load_rgb(path)
        assert array.shape == (IMAGE_SIZE, IMAGE_SIZE, 3)
        # A stained smear: neither blank nor saturated.
        assert 60 < array.mean() < 250
    assert Image.open(paths[0]).format == "JPEG"


def test_model_input_is_the_central_crop():
    """The outer ring of the field (outside CENTER_CROP) never reaches the model."""
    side = 400
    field = np.zeros((side, side, 3), np.uint8)
    field[..., 0] = 255  # red ring everywhere ...
    margin = int(np.ceil(side * (1 - CENTER_CROP) / 2))
    field[margin:-margin, margin:-margin] = (0, 0, 255)  # ... except the central crop: blue
    array = decode_bytes(c.encode(Image.fromarray(field), "PNG"))
    assert array.shape == (IMAGE_SIZE, IMAGE_SIZE, 3)
    # (the resampling filter of the outermost output pixels reaches a pixel or two past the crop)
    inner = array[1:-1, 1:-1]
    assert inner[..., 0].max() <= 8, "red from outside the crop leaked in"
    assert inner[..., 2].min() >= 247
    # and the same crop through the JPEG draft path (decoded at a reduced DCT scale)
    jpeg = decode_bytes(c.encode(Image.fromarray(np.kron(field, np.ones((4, 4, 1), np.uint8))), "JPEG", quality=95))
    assert jpeg[4:-4, 4:-4, 0].max() <= 40 and jpeg[4:-4, 4:-4, 2].min() >= 215


def _encoded_as(fmt: str) -> bytes:
    buffer = io.BytesIO()
    c.rgb_image(32, 32).save(buffer, fmt)
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["EPS", "PCX", "ICO", "SGI"])
def test_other_formats_named_jpg_are_refused_without_their_decoder(fmt, tmp_path, monkeypatch):
    """Pillow picks decoders by content: an EPS named .jpg must never reach Ghostscript."""
    data = _encoded_as(fmt)
    Image.init()
    real_factory, accept = Image.OPEN[fmt]
    assert accept(data[:16]), "the sample must really be recognisable as " + fmt
    opened = []

    def spy_factory(*args, **kwargs):
        opened.append(fmt)
        return real_factory(*args, **kwargs)

    # Image.open looks the factory up at call time, so the spy sees any attempt.
    monkeypatch.setitem(Image.OPEN, fmt, (spy_factory, accept))
    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", lambda *a, **k: pytest.fail("Ghostscript was started"))
    path = tmp_path / "evil.jpg"
    path.write_bytes(data)
    with pytest.raises(ImageReadError) as caught:
        load_rgb(path)
    assert caught.value.kind == ErrorKind.UNSUPPORTED
    assert fmt in caught.value.message and READ_FORMATS_TEXT in caught.value.message
    assert opened == [], f"the {fmt} decoder was run"


def test_a_large_16_bit_image_is_converted_in_bounded_memory(tmp_path):
    path = tmp_path / "big16.png"
    ramp = (np.arange(4000 * 4000, dtype=np.uint32) % 65536).astype(np.uint16).reshape(4000, 4000)
    Image.fromarray(ramp).save(path)
    tracemalloc.start()
    try:
        image, _ = load_display_image(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # 16 megapixels: the uint16 copy is 32 MB and the 8-bit result 16 MB. Before, the read
    # reserved 256 MB (read(limit)) and the float64 conversion of the whole image added
    # over 100 MB: 385 MB at the peak.
    assert peak < 120e6, f"peak {peak / 1e6:.0f} MB"  # measured 76 MB
    gray = np.asarray(image)[:, :, 0]
    np.testing.assert_array_equal(gray[0, :600], np.rint(ramp[0, :600] / 257.0).astype(np.uint8))


def test_pages_are_counted_only_up_to_a_limit(tmp_path):
    from hemoapp.core import imageio

    path = tmp_path / "pages.tif"
    pages = [Image.new("L", (4, 4), value) for value in range(imageio.MAX_COUNTED_PAGES + 50)]
    pages[0].save(path, save_all=True, append_images=pages[1:])
    _, info = load_display_image(path)
    assert info.frames == imageio.MAX_COUNTED_PAGES
    two = tmp_path / "two.tif"
    pages[0].save(two, save_all=True, append_images=pages[1:2])
    assert load_display_image(two)[1].frames == 2


def test_a_file_that_grows_while_read_is_refused(tmp_path, monkeypatch):
    from hemoapp.core import imageio

    path = tmp_path / "copying.png"
    path.write_bytes(c.encode(c.rgb_image(), "PNG"))
    real_stat = imageio.os.stat

    def stat_before_the_copy_finished(target, *args, **kwargs):
        result = real_stat(target, *args, **kwargs)
        return os.stat_result((result.st_mode, *result[1:6], result.st_size // 2, *result[7:]))

    monkeypatch.setattr(imageio.os, "stat", stat_before_the_copy_finished)
    with pytest.raises(ImageReadError, match="grew while it was read") as caught:
        imageio.read_bytes(path)
    assert caught.value.kind == ErrorKind.UNREADABLE


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_a_still_gif_or_webp_is_classified(fmt, tmp_path):
    """Pillow reads both; a lab's export in either once got no row at all."""
    path = tmp_path / f"cell.{fmt.lower()}"
    c.rgb_image(300, 300).save(path, fmt, **({"lossless": True} if fmt == "WEBP" else {}))
    loaded = load_model_input(path)
    array, digest = loaded.array, loaded.sha256
    assert array.shape == (IMAGE_SIZE, IMAGE_SIZE, 3) and array.dtype == np.uint8
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_an_animated_gif_or_webp_is_an_error_row_that_says_why(fmt, tmp_path):
    path = tmp_path / f"moving.{fmt.lower()}"
    frames = [Image.new("RGB", (64, 64), colour) for colour in ("red", "green", "blue")]
    frames[0].save(path, fmt, save_all=True, append_images=frames[1:], duration=100)
    with pytest.raises(ImageReadError) as caught:
        load_model_input(path)
    assert caught.value.kind == ErrorKind.ANIMATED
    assert "animated" in caught.value.message and "3 frames" in caught.value.message
    assert "save the frame" in caught.value.message
