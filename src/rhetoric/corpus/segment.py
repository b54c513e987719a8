"""Segmenting a document into paragraphs (the unit every label applies to).

Pure standard library so that corpus tools can use it without the package's
heavy dependencies.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

_BLANK_LINE = re.compile(r"\n[ \t\f\v\u00a0\u3000]*\n")
_SENTENCE_END = re.compile(r"(?<=[.!?;])[\"'”’)]*\s+(?=[\"'“‘(]?[A-Z0-9])")


def normalize_paragraph(text: str) -> str:
    """Collapse every run of whitespace to one space (the labels' matching key)."""
    return " ".join(text.split())


def segment_document(text: str) -> list[str]:
    """Cut a document into normalized, non-empty paragraphs.

    Paragraphs are separated by blank lines; a document with no blank line is
    cut at line breaks instead, as scraped feeds often put one paragraph per line.

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


_ABBREVIATION = re.compile(
    r"(\b(Mr|Mrs|Ms|Dr|Hon|Rt|St|No|Nos|Gen|Lt|Col|Maj|Amb|Sen|Rep|Gov|Prof|Jr|Sr|Co|Inc|Ltd|"
    r"Jan|Feb|Mar|Apr|Aug|Sept|Sep|Oct|Nov|Dec|vs|etc|[A-Z])|^\(?\d{1,3}[.)]?)\.$"
)


def sentences_of(text: str) -> list[str]:
    """Sentences of a paragraph: end punctuation followed by a capital, except after
    abbreviations ("Mr.", "H.E.") and list numbers ("1.").

    >>> sentences_of("We met in 1961. We will continue! Thanks.")
    ['We met in 1961.', 'We will continue!', 'Thanks.']
    >>> sentences_of("1. Mr. Li met H.E. Ms. Tran. They agreed.")
    ['1. Mr. Li met H.E. Ms. Tran.', 'They agreed.']
    """
    sentences: list[str] = []
    for piece in _SENTENCE_END.split(text.strip()):
        if sentences and _ABBREVIATION.search(sentences[-1]):
            sentences[-1] = f"{sentences[-1]} {piece}"
        elif piece:
            sentences.append(piece)
    return sentences


def paragraph_sentences(texts: Sequence[str]) -> list[list[str]]:
    """Each paragraph's sentences (the paragraph itself when it has no sentence break)."""
    return [sentences_of(t) or [t] for t in texts]
