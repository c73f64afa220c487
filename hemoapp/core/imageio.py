"""Decode one image file into the RGB array the model sees, or a typed error.

This is the single preprocessing path shared by the app and by training
(``training.data`` calls :func:`load_rgb` too), so both see the same pixels.

Nothing here raises anything but :class:`ImageReadError` for a bad file: a batch
turns each error into a row with a human-readable message and goes on.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from hemoapp.core import cellfind
from hemoapp.core.image_formats import (  # noqa: F401 - the names imageio has always given
    ANIMATION_FORMATS,
    DECODE_FORMATS,
    IMAGE_EXTENSIONS,
    READ_FORMATS_TEXT,
    is_image_name,
)
from hemoapp.core.contract import CENTER_CROP, FRAMING_CELL_CENTRED, FRAMING_CENTRE_CROP, IMAGE_SIZE, RESIZE_METHOD

# Decoding a partial image would hand the model invented pixels: refuse instead.
ImageFile.LOAD_TRUNCATED_IMAGES = False

#: Refuse images with more pixels than this before decoding them (a 30000x30000
#: header would need gigabytes). Analyser exports are well under 1 megapixel.
MAX_PIXELS: int = 64_000_000

#: Refuse files larger than this without reading them.
MAX_FILE_BYTES: int = 256 * 1024 * 1024

_RESAMPLE = {
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
}[RESIZE_METHOD]


class ErrorKind:
    """Short, stable codes for why a file could not be used (they go into the CSV)."""

    MISSING = "missing"
    PERMISSION = "permission-denied"
    NOT_A_FILE = "not-a-file"
    EMPTY = "empty-file"
    TOO_LARGE = "too-large"
    NOT_AN_IMAGE = "not-an-image"
    UNSUPPORTED = "unsupported-format"
    TRUNCATED = "truncated"
    CORRUPT = "corrupt"
    UNREADABLE = "unreadable"
    BLANK = "blank-image"
    #: Cell-centred framing found nothing stained like a white cell's nucleus.
    NO_CELL = "no-cell-found"
    #: An animated GIF or WebP: several pictures, none of them the cell's by right.
    ANIMATED = "animated-image"
    #: Not from classifying: a file whose bytes differ from those that were classified.
    CHANGED = "changed-since-classified"


class ImageReadError(Exception):
    """A file that cannot be turned into a model input.

    Attributes:
        kind: one of the :class:`ErrorKind` codes.
        message: a sentence a lab technician can act on.
        sha256: hex digest of the bytes that were read, when the file could be read
            (a corrupt file is still identified by its contents), else ``None``.
    """

    def __init__(self, kind: str, message: str, sha256: str | None = None) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message
        self.sha256 = sha256


@dataclass(frozen=True)
class ImageInfo:
    """What the header of a decoded file said (shown in the app's detail panel)."""

    width: int
    height: int
    format: str
    mode: str
    frames: int


def read_bytes(path: str | os.PathLike[str]) -> bytes:
    """Read a whole file, turning every OS-level failure into :class:`ImageReadError`."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        # os.stat follows links: a dangling symlink lands here too.
        raise ImageReadError(ErrorKind.MISSING, "the file does not exist (or is a broken link)") from None
    except PermissionError:
        raise ImageReadError(ErrorKind.PERMISSION, "permission denied") from None
    except OSError as exc:
        raise ImageReadError(ErrorKind.UNREADABLE, f"cannot access the file ({exc.strerror or exc})") from None
    if not _is_regular(stat.st_mode):
        raise ImageReadError(ErrorKind.NOT_A_FILE, "not a regular file")
    if stat.st_size == 0:
        raise ImageReadError(ErrorKind.EMPTY, "the file is empty (0 bytes)")
    if stat.st_size > MAX_FILE_BYTES:
        raise ImageReadError(
            ErrorKind.TOO_LARGE, f"the file is {stat.st_size / 1e6:.0f} MB, over the {MAX_FILE_BYTES / 1e6:.0f} MB limit"
        )
    try:
        with open(path, "rb") as handle:
            # Ask for the size just seen (plus one byte, to notice growth): read(n)
            # reserves n bytes up front, so asking for the limit cost 256 MB per file.
            data = handle.read(stat.st_size + 1)
    except PermissionError:
        raise ImageReadError(ErrorKind.PERMISSION, "permission denied") from None
    except OSError as exc:
        raise ImageReadError(ErrorKind.UNREADABLE, f"cannot read the file ({exc.strerror or exc})") from None
    if len(data) > stat.st_size:
        raise ImageReadError(
            ErrorKind.UNREADABLE, "the file grew while it was read (still being copied?); classify it again later"
        )
    return data


def _is_regular(mode: int) -> bool:
    import stat as stat_module

    return stat_module.S_ISREG(mode)


def open_image(data: bytes, draft_size: int | None = None) -> tuple[Image.Image, ImageInfo]:
    """Decode bytes into an RGB Pillow image with EXIF orientation applied.

    Args:
        data: the file's bytes.
        draft_size: if given, JPEGs are decoded at the smallest DCT scale that is
            still at least this many pixels on each side (much faster, same look).

    Raises:
        ImageReadError: for anything that is not a usable image.
    """
    if not data:
        raise ImageReadError(ErrorKind.EMPTY, "the file is empty (0 bytes)")
    try:
        # No warnings.catch_warnings() here: it swaps process-wide state and is not
        # thread-safe, and decoding runs on several threads. Pillow's bomb warning
        # (89-179 megapixels) cannot matter: MAX_PIXELS refuses those images anyway.
        image = Image.open(io.BytesIO(data), formats=DECODE_FORMATS)
        info = ImageInfo(
            width=image.width,
            height=image.height,
            format=image.format or "unknown",
            mode=image.mode,
            frames=_page_count(image),
        )
        if image.width <= 0 or image.height <= 0:
            raise ImageReadError(ErrorKind.CORRUPT, "the image has no pixels")
        if image.width * image.height > MAX_PIXELS:
            raise ImageReadError(ErrorKind.TOO_LARGE, _too_large_message(image.width, image.height))
        if draft_size and image.format == "JPEG":
            image.draft(image.mode, (draft_size, draft_size))
        # Multi-page files (TIFF): the first page is the image.
        image.seek(0)
        image.load()
        image = ImageOps.exif_transpose(image) or image
        return _to_rgb(image), info
    except ImageReadError:
        raise
    except UnidentifiedImageError:
        raise _unidentified_error(data) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Raised by Image.open from the header alone, before any pixel is decoded.
        match = re.search(r"\((\d+) pixels\)", str(exc))
        pixels = f"{int(match.group(1)) / 1e6:.0f} megapixels" if match else "too many pixels"
        raise ImageReadError(
            ErrorKind.TOO_LARGE, f"{pixels} is over the {MAX_PIXELS // 1_000_000} megapixel limit"
        ) from None
    except MemoryError:
        raise ImageReadError(ErrorKind.TOO_LARGE, "the image is too large to decode in memory") from None
    except OSError as exc:
        text = str(exc)
        if "truncated" in text or "broken data stream" in text or "premature end" in text.lower():
            raise ImageReadError(ErrorKind.TRUNCATED, "the file is truncated (incomplete copy or export?)") from None
        if "not supported" in text or "unknown" in text.lower() or "cannot" in text.lower():
            raise ImageReadError(ErrorKind.UNSUPPORTED, f"unsupported image variant ({text})") from None
        raise ImageReadError(ErrorKind.CORRUPT, f"the image data is damaged ({text})") from None
    except Exception as exc:  # noqa: BLE001 - see below
        # Pillow's format plugins signal malformed data with a zoo of exception types
        # (SyntaxError, ValueError, struct.error, zlib.error, IndexError, ...), and a
        # warning turned into an error by -W error is an exception too: to a user
        # they all mean the same thing, and the promise of this module is that a
        # bad file raises ImageReadError and nothing else.
        raise ImageReadError(ErrorKind.CORRUPT, f"the image data is damaged ({type(exc).__name__}: {exc})") from None


def _unidentified_error(data: bytes) -> ImageReadError:
    """The error for bytes none of the :data:`DECODE_FORMATS` decoders recognised.

    Another image format (say EPS or GIF saved as ``.jpg``) is told apart from
    non-image data, so the technician knows to re-export rather than look for a
    damaged file.
    """
    other = _sniff_other_format(data)
    if other is None:
        return ImageReadError(ErrorKind.NOT_AN_IMAGE, "not an image, or a format HemoLens cannot read")
    return ImageReadError(
        ErrorKind.UNSUPPORTED,
        f"the file looks like a {other} image; HemoLens reads only {READ_FORMATS_TEXT}",
    )


def _sniff_other_format(data: bytes) -> str | None:
    """Name a Pillow format whose magic bytes match ``data``, or None.

    Only the plugins' ``accept`` prefix checks run (pure byte comparisons); no
    decoder is instantiated, so nothing external (Ghostscript) can be started.
    """
    Image.init()
    prefix = data[:16]
    for name, (_factory, accept) in Image.OPEN.items():
        if accept is None or name in DECODE_FORMATS:
            continue  # no magic to check (the plugin would just try to parse)
        try:
            matched = accept(prefix)
        except Exception:  # noqa: BLE001 - a sniff must never turn into a crash
            continue
        # (a str result means "this format, but its codec is not installed": still a match)
        if matched:
            return name
    return None


#: Pages counted in a multi-page file; more are shown as "at least" this many.
MAX_COUNTED_PAGES = 100


def _page_count(image: Image.Image) -> int:
    """Pages of a multi-page file, counted up to :data:`MAX_COUNTED_PAGES`.

    Pillow's ``n_frames`` walks every page of a TIFF, which takes minutes for a
    small hostile file with tens of thousands of pages; only the first page is
    used, and the count is only shown, so counting stops early.
    """
    if not getattr(image, "is_animated", False):
        return 1
    pages = 1
    try:
        while pages < MAX_COUNTED_PAGES:
            image.seek(pages)
            pages += 1
    except EOFError:
        pass
    return pages


def _too_large_message(width: int, height: int) -> str:
    return f"{width}x{height} pixels is over the {MAX_PIXELS // 1_000_000} megapixel limit"


def _to_rgb(image: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB (16-bit scaled, alpha over white)."""
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        return Image.fromarray(_wide_gray_to_8bit(np.asarray(image), mode), mode="L").convert("RGB")
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode == "P" and "transparency" in image.info):
        # Transparent pixels become white, like an empty slide background.
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


#: Rows converted at a time from 16/32-bit gray: bounds the float temporaries (a 64
#: megapixel image converted at once took 1.7 GB; in slices it takes a few tens of MB).
_ROWS_PER_SLICE = 512


def _wide_gray_to_8bit(array: np.ndarray, mode: str) -> np.ndarray:
    """16-bit (0..65535), 32-bit integer or float gray → 8-bit, slice by slice.

    Float images in 0..1 are scaled to 0..255; NaN becomes black.
    """
    if mode == "F":
        scale = 255.0 if array.size and np.nanmax(array) <= 1.0 else 1.0
    else:
        scale = 1.0 / 257.0  # map 0..65535 onto 0..255 (a plain convert() would clip)
    gray = np.empty(array.shape, dtype=np.uint8)
    for start in range(0, array.shape[0], _ROWS_PER_SLICE):
        part = array[start : start + _ROWS_PER_SLICE].astype(np.float32) * scale
        np.clip(np.rint(np.nan_to_num(part, nan=0.0)), 0, 255, out=part)
        gray[start : start + _ROWS_PER_SLICE] = part
    return gray


#: Limits of a usable picture, on the model input (0..255). Every PBC image (train, val,
#: test) and every bccd-wbc image has a mean of 138-225 and, in its most varied colour
#: channel, a standard deviation of at least 18 (PBC: 35); these limits are far outside that, so they only catch pictures with no cell
#: to see: black (e.g. 12-bit camera data in a 16-bit file, read as 0..4095 of 65535),
#: white, or one flat colour.
BLANK_MEAN_RANGE: tuple[float, float] = (40.0, 245.0)
BLANK_MIN_STD = 4.0


def check_not_blank(model_input: np.ndarray) -> None:
    """Raise :class:`ImageReadError` (``blank-image``) for a picture with nothing to classify.

    A model asked about a black or flat picture still answers, and often confidently;
    a clear error instead keeps such files out of the counts.
    """
    # Every 4th pixel each way is plenty for a mean and a spread, and keeps this check a
    # small fraction of the decode (the whole 128x128 picture in float64 took ~1 ms).
    sample = model_input[::4, ::4].reshape(-1, model_input.shape[-1]).astype(np.float32)
    mean = float(sample.mean())
    # Spread across the picture, per colour channel (pooling the channels would count a
    # flat pink as varied): the largest of the three.
    std = float(sample.std(axis=0).max())
    low, high = BLANK_MEAN_RANGE
    if mean < low:
        raise ImageReadError(
            ErrorKind.BLANK,
            f"the image is almost black (mean brightness {mean:.0f} of 255); if it is a 12- or 16-bit export, "
            "export it as 8-bit",
        )
    if mean > high or std < BLANK_MIN_STD:
        raise ImageReadError(
            ErrorKind.BLANK,
            f"the image is almost {'white' if mean > high else 'one flat colour'} "
            f"(mean {mean:.0f}, spread {std:.1f} of 255): no cell to classify",
        )


def check_single_picture(info: ImageInfo) -> None:
    """Raise :class:`ImageReadError` (``animated-image``) for an animated GIF or WebP.

    Its frames are different pictures: classifying the first would report a cell nobody
    chose, so the file gets an error row saying what to do instead. (A multi-page TIFF's
    first page is its picture, and is classified.)
    """
    if info.format in ANIMATION_FORMATS and info.frames > 1:
        frames = f"{info.frames}" if info.frames < MAX_COUNTED_PAGES else f"at least {info.frames}"
        raise ImageReadError(
            ErrorKind.ANIMATED,
            f"an animated {info.format.replace('WEBP', 'WebP')} of {frames} frames: HemoLens classifies one picture "
            "per file; save the frame to classify as an image of its own",
        )


def to_model_input(image: Image.Image, size: int = IMAGE_SIZE, crop: float = CENTER_CROP) -> np.ndarray:
    """Crop the central ``crop`` fraction of each side and resize it to ``size``x``size``; uint8 HxWx3."""
    width, height = image.size
    crop_w, crop_h = width * crop, height * crop
    box = ((width - crop_w) / 2, (height - crop_h) / 2, (width + crop_w) / 2, (height + crop_h) / 2)
    if image.size != (size, size) or crop != 1.0:
        # resize(box=...) resamples the crop straight from the source: one pass, no copy.
        image = image.resize((size, size), _RESAMPLE, box=box)
    array = np.asarray(image, dtype=np.uint8)
    return np.ascontiguousarray(array)


def model_square(image: Image.Image, framing: str = FRAMING_CENTRE_CROP) -> tuple[float, float, float, float]:
    """The box (left, top, right, bottom, in ``image``'s pixels) that the model sees of ``image``.

    The one place the framing's geometry is decided: :func:`frame_input` resamples this
    box, and the window outlines it. With ``cell-centred`` framing it may reach past the
    picture's edges (a tight crop is zoomed out and padded with its background).

    Raises:
        ImageReadError: ``cell-centred`` framing of a picture with no stained cell in it
            (kind :attr:`ErrorKind.NO_CELL`).
    """
    width, height = image.size
    if framing == FRAMING_CELL_CENTRED:
        cell = cellfind.find_cell(image)
        if not cell.found:
            raise ImageReadError(ErrorKind.NO_CELL, "no stained cell found in the picture (nothing violet enough)")
        return cellfind.square_for(image.size, cell, CENTER_CROP)
    crop_w, crop_h = width * CENTER_CROP, height * CENTER_CROP
    return ((width - crop_w) / 2, (height - crop_h) / 2, (width + crop_w) / 2, (height + crop_h) / 2)


def frame_input(image: Image.Image, size: int = IMAGE_SIZE, framing: str = FRAMING_CENTRE_CROP) -> np.ndarray:
    """A decoded picture → the model's input, framed as ``framing`` says (see the contract).

    Raises:
        ImageReadError: ``cell-centred`` framing of a picture with no stained cell in it
            (kind :attr:`ErrorKind.NO_CELL`).
    """
    if framing == FRAMING_CELL_CENTRED:
        square = cellfind.crop_square(image, model_square(image, framing), size, _RESAMPLE)
        return np.ascontiguousarray(np.asarray(square, dtype=np.uint8))
    return to_model_input(image, size)


def decode_bytes(data: bytes, size: int = IMAGE_SIZE, framing: str = FRAMING_CENTRE_CROP) -> np.ndarray:
    """Bytes of an image file → the model's ``size``x``size``x3 uint8 input."""
    # The JPEG draft must leave at least ``size`` pixels across the cropped part.
    image, _ = open_image(data, draft_size=math.ceil(size / CENTER_CROP))
    return frame_input(image, size, framing)


def load_rgb(path: str | os.PathLike[str], size: int = IMAGE_SIZE, framing: str = FRAMING_CENTRE_CROP) -> np.ndarray:
    """Read one file and return the model's input array (the shared preprocessing).

    Raises:
        ImageReadError: the file cannot be used; ``kind`` says why.
    """
    return decode_bytes(read_bytes(path), size, framing)


@dataclass(frozen=True)
class ModelInput:
    """One file ready for the model.

    Attributes:
        array: the ``size``x``size``x3 uint8 input (the shared preprocessing).
        sha256: hex digest of the exact bytes it was decoded from, so a result can be
            traced to the file's contents even if the file is later renamed or replaced.
    """

    array: np.ndarray
    sha256: str


def load_model_input(
    path: str | os.PathLike[str], size: int = IMAGE_SIZE, framing: str = FRAMING_CENTRE_CROP
) -> ModelInput:
    """:func:`load_rgb` plus the file's sha256, refusing a picture with nothing to classify.

    What the app classifies (:func:`check_not_blank` refuses black, white and flat
    pictures). Training reads with :func:`load_rgb` (its data are curated).

    Raises:
        ImageReadError: the file cannot be used; its ``sha256`` is set when the bytes
            could be read.
    """
    data = read_bytes(path)
    # One pass over bytes already in memory (~0.05 ms for a PBC JPEG); hashlib releases
    # the GIL, so it runs in parallel on the decoder threads.
    digest = hashlib.sha256(data).hexdigest()
    try:
        image, info = open_image(data, draft_size=math.ceil(size / CENTER_CROP))
        check_single_picture(info)
        try:
            array = frame_input(image, size, framing)
        except ImageReadError as exc:
            if exc.kind == ErrorKind.NO_CELL:
                # A black, white or flat field has no cell either: that reason says more.
                check_not_blank(to_model_input(image, size))
            raise
        check_not_blank(array)
    except ImageReadError as exc:
        exc.sha256 = digest
        raise
    return ModelInput(array, digest)


def load_display_image(
    path: str | os.PathLike[str], max_side: int | None = None, expected_sha256: str | None = None
) -> tuple[Image.Image, ImageInfo]:
    """Decode a file for display (full resolution, or shrunk to ``max_side``).

    With ``expected_sha256`` (the digest of the bytes that were classified), a file
    replaced since (same name, other bytes) is refused rather than shown beside a
    prediction that is not about it.

    Raises:
        ImageReadError: the file cannot be read or decoded, or its bytes are no longer
            those of ``expected_sha256`` (kind :attr:`ErrorKind.CHANGED`).
    """
    data = read_bytes(path)
    if expected_sha256 is not None and hashlib.sha256(data).hexdigest() != expected_sha256:
        raise ImageReadError(ErrorKind.CHANGED, "the file has changed since it was classified")
    image, info = open_image(data, draft_size=max_side)
    if max_side:
        image = image.copy()
        image.thumbnail((max_side, max_side), Image.Resampling.BILINEAR)
    return image, info
