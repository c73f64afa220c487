"""A PDF is whole only with its start, its end and every object where its table says."""

from __future__ import annotations

import pytest

from hemoapp.core.atomic_write import IncompleteWriteError
from hemoapp.core.pdf_check import check_pdf_complete


def minimal_pdf() -> bytes:
    """A small PDF laid out as Qt writes one: objects, a cross-reference table, the trailer."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>",
               b"<< /Producer (test) >>"]
    data = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(data))
        data += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(data)
    data += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    data += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    data += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d \n%%%%EOF\n" % (len(objects) + 1, xref)
    return data


def test_a_whole_pdf_passes(tmp_path):
    path = tmp_path / "r.pdf"
    path.write_bytes(minimal_pdf())
    check_pdf_complete(path)


@pytest.mark.parametrize("damage, reason", [
    (lambda data: data[: len(data) // 2], "cut short"),  # the disk filled up
    (lambda data: data[:-6], "cut short"),  # only the end is missing
    (lambda data: data[:20] + data[40:], "not where its table says"),  # a chunk lost in the middle
    (lambda data: b"", "no PDF"),
])
def test_a_pdf_that_lost_bytes_is_refused(tmp_path, damage, reason):
    path = tmp_path / "r.pdf"
    path.write_bytes(damage(minimal_pdf()))
    with pytest.raises(IncompleteWriteError, match=reason) as raised:
        check_pdf_complete(path)
    assert "disk full" in raised.value.strerror
