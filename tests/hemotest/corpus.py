"""Generate odd and hostile image files (nothing is copied from the datasets).

:func:`build_corpus` writes a folder that exercises every path of the scanner and
the decoder and returns what each file should become: ``"ok"`` or the expected
:class:`~hemoapp.core.imageio.ErrorKind`.
"""

from __future__ import annotations

import io
import os
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from hemoapp.core.imageio import ErrorKind

OK = "ok"

#: Non-UTF-8 file name (Latin-1 "café.jpg") and how the scanner shows it.
NON_UTF8_NAME = b"caf\xe9.jpg"
NON_UTF8_RELPATH = "caf\\xe9.jpg"

#: A 250-character file name (ext4 allows 255 bytes).
LONG_NAME = "L" * 246 + ".png"

HUGE_SIDE = 30_000


def rgb_image(width: int = 96, height: int = 64, seed: int = 0) -> Image.Image:
    """A small RGB image with smooth structure (JPEG-friendly)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1), (x + y) % 256], axis=-1)
    noise = rng.integers(0, 20, size=base.shape)
    return Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8), "RGB")


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    """Encode an image to bytes."""
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    """One PNG chunk with its CRC."""
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def huge_png_header(side: int = HUGE_SIDE) -> bytes:
    """A valid PNG header claiming ``side``x``side`` RGB pixels, with almost no data."""
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + png_chunk(b"IEND", b"")
    )


def huge_tiff_header(side: int = HUGE_SIDE) -> bytes:
    """A little-endian TIFF whose only IFD claims ``side``x``side`` 8-bit gray pixels."""
    entries = [  # (tag, type, count, value); type 3 = SHORT, 4 = LONG
        (256, 4, 1, side),  # ImageWidth
        (257, 4, 1, side),  # ImageLength
        (258, 3, 1, 8),  # BitsPerSample
        (259, 3, 1, 1),  # Compression: none
        (262, 3, 1, 1),  # Photometric: BlackIsZero
        (273, 4, 1, 8),  # StripOffsets
        (277, 3, 1, 1),  # SamplesPerPixel
        (278, 4, 1, side),  # RowsPerStrip
        (279, 4, 1, side * side),  # StripByteCounts
    ]
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        packed = struct.pack("<HI", value, 0)[:4] if kind == 3 else struct.pack("<I", value)
        ifd += struct.pack("<HHI", tag, kind, count) + packed
    ifd += struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", 8) + ifd


def exif_rotated_jpeg(width: int = 120, height: int = 60) -> bytes:
    """A landscape JPEG, left half red and right half blue, tagged orientation 6.

    Orientation 6 means "rotate 90° clockwise to display": shown upright it is a
    portrait image with red on top and blue at the bottom.
    """
    array = np.zeros((height, width, 3), dtype=np.uint8)
    array[:, : width // 2] = (255, 0, 0)
    array[:, width // 2 :] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(Image.fromarray(array, "RGB"), "JPEG", quality=95, exif=exif.tobytes())


def sixteen_bit_gray(width: int = 64, height: int = 48) -> Image.Image:
    """A 16-bit grayscale ramp spanning the full 0..65535 range."""
    ramp = np.linspace(0, 65535, width * height).reshape(height, width).astype(np.uint16)
    return Image.fromarray(ramp)


def multipage_tiff() -> bytes:
    """Two pages: solid red first, solid blue second (the first page is the image)."""
    first = Image.new("RGB", (40, 30), (255, 0, 0))
    second = Image.new("RGB", (40, 30), (0, 0, 255))
    return encode(first, "TIFF", save_all=True, append_images=[second])


def palette_png_with_transparency() -> bytes:
    """A palette PNG whose index 0 is fully transparent (left half), index 1 is green."""
    image = Image.new("P", (40, 40), 0)
    image.putpalette([0, 0, 0, 0, 255, 0] + [0] * (256 * 3 - 6))
    image.paste(1, (20, 0, 40, 40))
    return encode(image, "PNG", transparency=0)


def rgba_png() -> bytes:
    """An RGBA PNG: top half transparent black, bottom half opaque red."""
    array = np.zeros((40, 40, 4), dtype=np.uint8)
    array[20:] = (255, 0, 0, 255)
    return encode(Image.fromarray(array, "RGBA"), "PNG")


def cmyk_jpeg() -> bytes:
    """A CMYK JPEG of pure cyan (0% magenta, yellow, black)."""
    return encode(Image.new("CMYK", (48, 48), (255, 0, 0, 0)), "JPEG", quality=95)


def truncated_jpeg() -> bytes:
    """A JPEG cut in the middle of its scan data."""
    data = encode(rgb_image(200, 200), "JPEG", quality=90)
    return data[: len(data) // 2]


def build_corpus(root: Path) -> dict[str, str]:
    """Write the corpus into ``root`` and return ``{relpath: expected}``.

    ``expected`` is :data:`OK` or an ``ErrorKind`` code. Entries the scanner must
    ignore (hidden files, junk, other extensions, a link back up the tree) are
    written too but are not in the mapping.
    """
    root.mkdir(parents=True, exist_ok=True)
    expected: dict[str, str] = {}

    def put(relpath: str, data: bytes, outcome: str) -> Path:
        path = root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        expected[relpath] = outcome
        return path

    good = put("cell_rgb.jpg", encode(rgb_image(), "JPEG", quality=90), OK)
    put("gray.png", encode(rgb_image().convert("L"), "PNG"), OK)
    put("palette_transparent.png", palette_png_with_transparency(), OK)
    put("rgba.png", rgba_png(), OK)
    # Textured, not flat: the app refuses pictures of one flat colour (blank-image).
    put("cmyk.jpg", encode(rgb_image(seed=8).convert("CMYK"), "JPEG", quality=95), OK)
    put("exif_rotated.jpg", exif_rotated_jpeg(), OK)
    put("sixteen_bit.tif", encode(sixteen_bit_gray(), "TIFF"), OK)
    put("sixteen_bit.png", encode(sixteen_bit_gray(), "PNG"), OK)
    put("multipage.tif", encode(rgb_image(seed=9), "TIFF", save_all=True, append_images=[rgb_image(seed=10)]), OK)
    put("blank_black.png", encode(Image.new("RGB", (64, 64), (10, 10, 10)), "PNG"), "blank-image")
    put("bitmap.bmp", encode(rgb_image(), "BMP"), OK)
    put("UPPER_CASE.JPG", encode(rgb_image(seed=3), "JPEG"), OK)
    put("=formula.png", encode(rgb_image(seed=4), "PNG"), OK)
    put(f"sub/deeper/{LONG_NAME}", encode(rgb_image(seed=5), "PNG"), OK)
    put("sub/img2.png", encode(rgb_image(seed=6), "PNG"), OK)
    put("sub/img10.png", encode(rgb_image(seed=7), "PNG"), OK)

    put("truncated.jpg", truncated_jpeg(), ErrorKind.TRUNCATED)
    put("empty.jpg", b"", ErrorKind.EMPTY)
    put("text.jpg", b"This is not an image, just a note somebody saved as .jpg\n" * 4, ErrorKind.NOT_AN_IMAGE)
    put("huge_header.png", huge_png_header(), ErrorKind.TOO_LARGE)
    put("huge_header.tif", huge_tiff_header(), ErrorKind.TOO_LARGE)

    # Ignored by the scanner.
    (root / ".hidden.jpg").write_bytes(good.read_bytes())
    (root / "Thumbs.db").write_bytes(b"\x00" * 16)
    (root / "desktop.ini").write_text("[.ShellClassInfo]\n")
    (root / "notes.txt").write_text("not an image\n")
    (root / ".git").mkdir()
    (root / ".git" / "inside_hidden_dir.jpg").write_bytes(good.read_bytes())
    (root / "__MACOSX").mkdir()
    (root / "__MACOSX" / "._cell_rgb.jpg").write_bytes(b"\x00\x05\x16\x07")
    (root / "__MACOSX" / "resource_fork.jpg").write_bytes(good.read_bytes())

    if sys.platform != "win32":
        put(os.fsdecode(NON_UTF8_NAME), good.read_bytes(), OK)
        # The scanner shows the undecodable byte as \xe9.
        expected[NON_UTF8_RELPATH] = expected.pop(os.fsdecode(NON_UTF8_NAME))
        os.symlink("cell_rgb.jpg", root / "link_to_cell.jpg")
        expected["link_to_cell.jpg"] = OK
        os.symlink("does_not_exist.jpg", root / "broken_link.jpg")
        expected["broken_link.jpg"] = ErrorKind.MISSING
        os.symlink("self_loop.jpg", root / "self_loop.jpg")
        expected["self_loop.jpg"] = ErrorKind.UNREADABLE
        # A link back up the tree: the scanner must not loop (and not list it).
        os.symlink("..", root / "sub" / "back_to_root")
        os.mkfifo(root / "pipe.jpg")
        expected["pipe.jpg"] = ErrorKind.NOT_A_FILE
        if os.geteuid() != 0:  # root reads anything: chmod cannot make a file unreadable
            locked = put("locked.jpg", good.read_bytes(), ErrorKind.PERMISSION)
            locked.chmod(0)
    return expected
