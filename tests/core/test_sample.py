"""Sample details: one bounded line of ID, a bounded comment with its line breaks, nothing hidden."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hemoapp.core.sample import MAX_COMMENT, MAX_SAMPLE_ID, SampleDetails, one_line, short_text


def test_the_sample_id_is_one_clean_line():
    assert SampleDetails("  S-2026 / 0042 \n").sample_id == "S-2026 / 0042"
    assert SampleDetails("S-1\r\n=cmd|x\t\x00\x1b[31m").sample_id == "S-1 =cmd|x [31m"
    assert SampleDetails("Ørsted-Ångström 7").sample_id == "Ørsted-Ångström 7"  # not ASCII, kept
    assert SampleDetails("x" * 200).sample_id == "x" * MAX_SAMPLE_ID
    assert SampleDetails("\t \n").sample_id == ""


def test_the_comment_keeps_its_lines_but_nothing_else_hidden():
    comment = SampleDetails(comment="\n\n  Smear   partly haemolysed. \r\n\r\n\r\n\r\nRecount\x00 later\t\n\n").comment
    assert comment == "Smear partly haemolysed.\n\nRecount later"
    assert SampleDetails(comment="y" * 2000).comment == "y" * MAX_COMMENT
    assert SampleDetails(comment="\u2028\x85").comment == ""  # Unicode line breaks are line breaks


def test_empty_means_neither_field():
    assert SampleDetails().is_empty() and SampleDetails(" \n", "\n\t").is_empty()
    assert not SampleDetails("S-1").is_empty() and not SampleDetails(comment="note").is_empty()
    assert SampleDetails("S-1 ", "a") == SampleDetails("S-1", "a\n")  # compared as cleaned


@given(st.text(max_size=300), st.integers(min_value=1, max_value=100))
def test_one_line_is_printable_bounded_and_stable(text, limit):
    line = one_line(text, limit)
    assert len(line) <= limit and line.isprintable() and line == line.strip() and "  " not in line
    assert one_line(line, limit) == line


@given(st.text(max_size=700))
def test_short_text_is_bounded_lines_of_printable_text_and_stable(text):
    cleaned = short_text(text, MAX_COMMENT)
    assert len(cleaned) <= MAX_COMMENT and cleaned == cleaned.strip()
    assert all(line.isprintable() for line in cleaned.split("\n")) and "\n\n\n" not in cleaned
    assert short_text(cleaned, MAX_COMMENT) == cleaned
