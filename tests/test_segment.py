from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rhetoric.corpus.segment import normalize_paragraph, paragraph_sha1, segment_document


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A.\n\nB.", ["A.", "B."]),
        ("A.\n   \n\n\nB.", ["A.", "B."]),  # whitespace-only lines separate too
        ("Head line\nBody one\nBody two", ["Head line", "Body one", "Body two"]),  # no blank line
        ("A first\nline.\n\nB.", ["A first line.", "B."]),  # blank lines win over line breaks
        ("\ufeffA.\r\n\r\nB.\r\n", ["A.", "B."]),  # BOM and CRLF
        ("  spaced \t out  \n\nx", ["spaced out", "x"]),
        ("", []),
        (" \n\n \t\n", []),
    ],
)
def test_segment_document(text: str, expected: list[str]) -> None:
    assert segment_document(text) == expected


def test_sha1_is_of_normalized_text() -> None:
    assert paragraph_sha1(normalize_paragraph(" a  b ")) == paragraph_sha1("a b")
    assert paragraph_sha1("a b") != paragraph_sha1("a c")


@given(st.text())
def test_segmenting_is_idempotent(text: str) -> None:
    paragraphs = segment_document(text)
    assert segment_document("\n\n".join(paragraphs)) == paragraphs
    assert all(p and p == normalize_paragraph(p) for p in paragraphs)
