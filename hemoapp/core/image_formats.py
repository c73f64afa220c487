"""Which image files HemoLens reads: the extensions the scanner lists and the decoders Pillow may use.

Kept apart from :mod:`hemoapp.core.imageio` (which decodes) so the scanner and the README's list
read the same declaration.
"""

from __future__ import annotations

import os
from pathlib import Path

#: File extensions the scanner picks up (lower case, with the dot); a file of any other
#: type is named among the scan's skipped entries.
IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".bmp", ".dib", ".tif", ".tiff", ".gif", ".webp"}
)

#: The formats read, as said to a person (the README lists the same).
READ_FORMATS_TEXT = "JPEG, PNG, BMP, TIFF, GIF and WebP"

#: Pillow format names :func:`hemoapp.core.imageio.open_image` may decode, matching IMAGE_EXTENSIONS.
#: Pillow picks the decoder from the file's content, not its name: without this
#: list an EPS file named ``cell.jpg`` would be handed to Ghostscript (an external
#: program), and exotic decoders are attack surface the app does not need.
#: (JPEG also covers MPO, the multi-picture JPEG some cameras write.)
DECODE_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "BMP", "DIB", "TIFF", "GIF", "WEBP")

#: Formats whose frames are an animation (other pictures), not pages of one picture
#: (TIFF) or a JPEG's preview (MPO): an animated file is not classified by its first frame.
ANIMATION_FORMATS: frozenset[str] = frozenset({"GIF", "WEBP"})


def is_image_name(name: str | Path) -> bool:
    """True if the file name has an image extension the scanner accepts."""
    return os.path.splitext(str(name))[1].lower() in IMAGE_EXTENSIONS
