"""The pieces the report's HTML is built from (Qt's rich-text subset: tables, no CSS layout).

Shared by the batch report (:mod:`hemoapp.core.report`) and its agreement section
(:mod:`hemoapp.core.report_agreement`), so both escape text and lay out tables alike.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any

#: Width of a listed cell's picture in the document (pixels at screen resolution, about 2 cm printed).
PICTURE_WIDTH = 80

#: Colour of what a reader must not miss (warnings, unreviewed or unflagged cells).
ALERT_COLOUR = "#b00020"


def text(value: Any) -> str:
    """``value`` as HTML text: never markup, whatever a file or folder is called."""
    return html.escape(str(value), quote=True)


def header_row(headers: Sequence[str], widths: Sequence[int] = ()) -> str:
    """A table's heading row, with column widths in percent when given."""
    sized = [f" width='{width}%'" for width in widths] if widths else [""] * len(headers)
    return "<tr>" + "".join(f"<th align='left'{size}>{text(h)}</th>" for h, size in zip(headers, sized)) + "</tr>"


def label_table(pairs: Iterable[tuple[str, str]]) -> str:
    """Label–value rows without borders; a value's line breaks (a comment's) are kept."""
    body = "".join(
        f"<tr><td valign='top'><b>{text(label)}</b></td><td>{text(value).replace(chr(10), '<br>')}</td></tr>"
        for label, value in pairs
    )
    return f"<table cellspacing='0' cellpadding='3'>{body}</table>"


def cut_note(shown: Sequence[Any], total: int) -> str:
    """A line saying that a list was cut, or nothing."""
    if total <= len(shown):
        return ""
    return f"<p><i>The first {len(shown):,} of {total:,} are listed; the results CSV has every one.</i></p>"


def picture_cell(picture: str | None, note: str) -> str:
    """A listed cell's picture (the document resource named ``picture``), or why there is none."""
    if picture is not None:
        return f"<img src='{text(picture)}' width='{PICTURE_WIDTH}'>"
    return f"<small>{text(note or 'no picture')}</small>"


def row_tables(rows: Sequence[Sequence[str]], headers: Sequence[str], widths: Sequence[int]) -> str:
    """Rows of HTML cells, each row a bordered table of its own with fixed column widths.

    The rows line up as one table, but a printer can keep each row whole (a cell's
    picture beside its text) and move it to the next page, which it cannot do with a
    row inside a table. The column headings go with the first row, so they never
    stand alone at a page's foot.
    """
    tables = []
    for index, values in enumerate(rows):
        row = "".join(f"<td width='{width}%'>{value}</td>" for width, value in zip(widths, values))
        head = header_row(headers, widths) if index == 0 else ""
        tables.append(f"<table width='100%' border='1' cellspacing='0' cellpadding='4'>{head}<tr>{row}</tr></table>")
    return "\n".join(tables)
