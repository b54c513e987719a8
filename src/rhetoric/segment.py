"""Segmenting a document into paragraphs (the unit every label applies to).

Pure standard library so that corpus tools can use it without the package's
heavy dependencies.
"""

from __future__ import annotations

import hashlib
import re

_BLANK_LINE = re.compile(r"\n[ \t\f\v\u00a0\u3000]*\n")


def normalize_paragraph(text: str) -> str:
    """Collapse every run of whitespace to one space (the labels' matching key)."""
    return " ".join(text.split())


def segment_document(text: str) -> list[str]:
    """Split a document into normalized, non-empty paragraphs.

    Paragraphs are separated by blank lines; a document with no blank line is
    split on line breaks instead, as scraped feeds often put one paragraph per line.

    >>> segment_document("Title\\n\\nFirst  line\\ncontinues.\\n\\n\\nSecond.")
    ['Title', 'First line continues.', 'Second.']
    >>> segment_document("One.\\r\\nTwo.\\r\\n")
    ['One.', 'Two.']
    """
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    stripped = text.strip()
    if not stripped:
        return []
    blocks = _BLANK_LINE.split(stripped) if _BLANK_LINE.search(stripped) else stripped.split("\n")
    paragraphs = (normalize_paragraph(block) for block in blocks)
    return [p for p in paragraphs if p]


def paragraph_sha1(text: str) -> str:
    """Content address of a normalized paragraph (keys the vector cache)."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()
