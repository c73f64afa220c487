"""Is a written PDF whole? The check behind the report's atomic write.

Qt's ``QPdfWriter`` reports no write error: on a full disk (or past a file-size
limit) it leaves a PDF cut short and says nothing. A whole PDF starts with
``%PDF-``, ends with ``startxref`` / OFFSET / ``%%EOF``, and its cross-reference
table at OFFSET gives, for every object, the byte where ``N 0 obj`` starts. All of
it is checked, so a file that lost bytes anywhere (not only its end) is refused.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from hemoapp.core.atomic_write import IncompleteWriteError

_TRAILER = re.compile(rb"startxref\s+(\d+)\s+%%EOF\s*\Z")
_XREF_SECTION = re.compile(rb"(\d+) (\d+)\s*\n")
_XREF_ENTRY = re.compile(rb"(\d{10}) (\d{5}) ([nf])")

#: What the message says when a PDF is not whole: the usual cause (the caller says what was kept).
_HINT = "is the disk full?"


def check_pdf_complete(path: str | os.PathLike[str]) -> None:
    """Raise :class:`~hemoapp.core.atomic_write.IncompleteWriteError` unless ``path`` is a whole PDF.

    Usable as the ``validate`` of :func:`~hemoapp.core.atomic_write.atomic_path`.
    """
    data = Path(path).read_bytes()
    if not data.startswith(b"%PDF-"):
        raise IncompleteWriteError(f"no PDF was written ({_HINT})", path)
    trailer = _TRAILER.search(data[-1024:])
    if trailer is None:
        raise IncompleteWriteError(f"the PDF was cut short: it has no end (%%EOF) ({_HINT})", path)
    if not _objects_where_the_table_says(data, int(trailer.group(1))):
        raise IncompleteWriteError(f"the PDF is incomplete: its objects are not where its table says ({_HINT})",
                                   path)


def _objects_where_the_table_says(data: bytes, offset: int) -> bool:
    """True when the cross-reference table at ``offset`` is there and each object is at its offset."""
    if not data.startswith(b"xref", offset):
        return False
    position = offset + len(b"xref")
    while True:
        while data[position:position + 1].isspace():
            position += 1
        section = _XREF_SECTION.match(data, position)
        if section is None:
            return data.startswith(b"trailer", position)
        first, count = int(section.group(1)), int(section.group(2))
        position = section.end()
        for number in range(first, first + count):
            entry = _XREF_ENTRY.match(data, position)
            if entry is None:
                return False
            position = entry.end()
            while data[position:position + 1].isspace():
                position += 1
            if entry.group(3) == b"n" and not data.startswith(f"{number} {int(entry.group(2))} obj".encode(),
                                                               int(entry.group(1))):
                return False
