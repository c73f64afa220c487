"""The pieces the report's HTML is built from (Qt's rich-text subset: tables, no CSS layout).

Shared by the batch report (:mod:`hemoapp.core.report`) and its agreement section
(:mod:`hemoapp.core.report_agreement`), so both escape text and lay out tables alike.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from typing import Any

from hemoapp.core.contract import display_name
from hemoapp.core.export import utc_timestamp
from hemoapp.core.review import Review, is_changed

#: Width of a listed cell's picture in the document (pixels at screen resolution, about 2 cm printed).
PICTURE_WIDTH = 80

#: Where a file's path may break across lines: after a folder, an underscore or a hyphen.
_NAME_BREAKS = re.compile(r"([/\\_-])")

#: A break opportunity that prints nothing; Qt leaves it out of the PDF's text, so a search still finds the name.
_ZERO_WIDTH_SPACE = "\u200b"

#: Colour of what a reader must not miss (warnings, unreviewed or unflagged cells).
ALERT_COLOUR = "#b00020"


def text(value: Any) -> str:
    """``value`` as HTML text: never markup, whatever a file or folder is called."""
    return html.escape(str(value), quote=True)


def file_text(relpath: Any) -> str:
    """A file's path as HTML text that breaks between its parts in a column too narrow for it.

    Qt otherwise breaks a word longer than its column at any letter, so a name could be
    printed as "BloodImage_0" over "0008_1.jpg". Break opportunities go after each folder,
    underscore and hyphen instead; a part longer than the column still breaks anywhere.
    """
    return text(_NAME_BREAKS.sub(lambda match: match.group(1) + _ZERO_WIDTH_SPACE, str(relpath)))


def cell_text(value: Any) -> str:
    """``value`` as a table cell's HTML text; an empty cell holds a no-break space.

    Qt's HTML importer lets the block after a table whose last cell is empty overlap the
    table, so a heading there would sit on the table's bottom border.
    """
    return text(value) or "&nbsp;"


def header_row(headers: Sequence[str], widths: Sequence[int] = ()) -> str:
    """A table's heading row, with column widths in percent when given."""
    sized = [f" width='{width}%'" for width in widths] if widths else [""] * len(headers)
    return "<tr>" + "".join(f"<th align='left'{size}>{text(h)}</th>" for h, size in zip(headers, sized)) + "</tr>"


def label_table(pairs: Iterable[tuple[str, str]]) -> str:
    """Label–value rows without borders; a value's line breaks (a comment's) are kept."""
    body = "".join(
        f"<tr><td valign='top'><b>{text(label)}</b></td><td>{cell_text(value).replace(chr(10), '<br>')}</td></tr>"
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
        # An empty cell gets a no-break space, as in cell_text: the next table or heading would overlap it.
        row = "".join(f"<td width='{width}%'>{value or '&nbsp;'}</td>" for width, value in zip(widths, values))
        head = header_row(headers, widths) if index == 0 else ""
        tables.append(f"<table width='100%' border='1' cellspacing='0' cellpadding='4'>{head}<tr>{row}</tr></table>")
    return "\n".join(tables)


def review_markup(prediction: Any, review: Review | None, alert_unreviewed: bool = True) -> tuple[str, str]:
    """A listed cell's review as two HTML cells: the class it was reviewed as, and by whom and when.

    Without a review the first says "not reviewed", in the alert colour when
    ``alert_unreviewed`` (a flagged cell that a person was asked to look at), and the second is empty.
    """
    if review is None:
        if alert_unreviewed:
            return f"<span style='color:{ALERT_COLOUR}'><b>not reviewed</b></span>", ""
        return "not reviewed", ""
    name = text(display_name(review.class_name))
    verdict = f"<b>{name}</b> (changed)" if is_changed(prediction, review) else f"{name} (confirmed)"
    # Date and time on lines of their own: a narrow column would break the stamp anywhere.
    day, _, time = utc_timestamp(review.at).partition("T")
    return verdict, f"{text(review.by)}<br>{day}<br>{time}"
