"""Which specimen a batch is: the sample ID a lab files it under, and a free comment.

A folder of cell images is one specimen's export, but the folder's name is whatever the
analyser or a person made of it, and a report copied or printed away from its folder
keeps no trace of it. The sample ID a technician enters ties the numbers to the specimen:
it is in every row of the results CSV, in the summary CSV and at the top of the report.
The comment carries what the counts cannot say (e.g. "smear partly haemolysed").

Both are typed by a person or read back from a file anyone can edit, so they are cleaned
on the way in (:class:`SampleDetails` does it itself): no control characters, bounded
lengths, the ID on one line.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The longest sample ID kept (a lab's accession numbers and barcodes are far shorter).
MAX_SAMPLE_ID = 64

#: The longest comment kept: a few sentences, not a document.
MAX_COMMENT = 500


def one_line(text: str, limit: int) -> str:
    """``text`` on one line: control characters and line breaks as spaces, spaces collapsed, cut to ``limit``."""
    printable = "".join(char if char.isprintable() else " " for char in str(text))
    return " ".join(printable.split())[:limit].strip()


def short_text(text: str, limit: int) -> str:
    """``text`` with its line breaks kept (as ``\\n``) but each line cleaned as by :func:`one_line`.

    Blank lines at either end are dropped, runs of blank lines inside become one, and the
    result is cut to ``limit`` characters.
    """
    lines: list[str] = []
    for line in str(text).splitlines():
        cleaned = one_line(line, limit)
        if cleaned or (lines and lines[-1]):
            lines.append(cleaned)
    return "\n".join(lines).strip()[:limit].strip()


@dataclass(frozen=True)
class SampleDetails:
    """What a person said about the specimen behind a batch; both fields may be empty.

    The values are cleaned when the object is made (:func:`one_line`, :func:`short_text`),
    so whatever reaches an export is one bounded line of ID and a bounded comment.

    Attributes:
        sample_id: the ID the lab files the specimen under (one line, at most 64 characters).
        comment: a remark on the batch (line breaks kept, at most 500 characters).
    """

    sample_id: str = ""
    comment: str = ""

    def __post_init__(self) -> None:
        # A frozen dataclass: set the cleaned values through object.__setattr__.
        object.__setattr__(self, "sample_id", one_line(self.sample_id, MAX_SAMPLE_ID))
        object.__setattr__(self, "comment", short_text(self.comment, MAX_COMMENT))

    def is_empty(self) -> bool:
        """True when neither a sample ID nor a comment was given."""
        return not self.sample_id and not self.comment


#: Said wherever a report or summary has no sample ID.
NO_SAMPLE_ID = "No sample ID was entered: make sure which specimen these results belong to before filing them."
