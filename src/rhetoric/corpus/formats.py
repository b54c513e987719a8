"""Documents as they arrive (HTML pages, PDF files, Word files) turned into paragraphs.

Each reader returns the document's paragraphs in reading order; `document_text` joins
them with blank lines, so `segment.segment_document` cuts them back exactly and its
guarantees (normalized whitespace, stable paragraph ids and sha1) hold for every format.

The extraction itself is left to maintained libraries: trafilatura finds a page's main
text and drops navigation and boilerplate, pypdf lays out a PDF page's text, python-docx
reads a Word file's body paragraphs. What is our own is the PDF's paragraph rebuilding:
pypdf returns positioned lines, not paragraphs, so lines are joined here across line and
page breaks, hyphenation is undone, and the running headers, footers and page numbers at
the page edges are dropped (the rules are in `pdf_paragraphs`).

The libraries are imported inside the readers: reading a .txt document (and so
`rhetoric predict` on .txt) never loads them.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from rhetoric.corpus.segment import normalize_paragraph
from rhetoric.errors import DataError

TEXT_SUFFIX = ".txt"
CONVERTED_SUFFIXES = (".html", ".htm", ".pdf", ".docx")
DOCUMENT_SUFFIXES = (TEXT_SUFFIX, *CONVERTED_SUFFIXES)

# A line that is only a page number: "7", "- 7 -", "Page 7", "page 7 of 12", "7/12".
_PAGE_NUMBER = re.compile(r"^[\W_]*(page\s*)?\d{1,4}(\s*(of|/)\s*\d{1,4})?[\W_]*$", re.IGNORECASE)
_DIGITS = re.compile(r"\d+")
_SENTENCE_END = re.compile(r"[.!?:;\"'”’)\]]$")
_HYPHENATED = re.compile(r"[^\W\d_][-\u00ad]$")  # a letter, then a hyphen or soft hyphen, at line end
EDGE_LINES = 2  # lines at the top and at the bottom of a page that may be running headers/footers


def is_document(path: Path) -> bool:
    """Whether `path` has the suffix of a document format rhetoric reads."""
    return path.suffix.lower() in DOCUMENT_SUFFIXES


def check_distinct_ids(paths: Iterable[Path]) -> None:
    """Refuse two documents with one doc id (the file name without its suffix), such as
    `a.txt` and `a.pdf`: their paragraphs would be mixed under one id."""
    seen: dict[tuple[Path, str], Path] = {}
    for path in paths:
        key = (path.parent, path.stem)
        if key in seen and seen[key] != path:  # the same file named twice is labeled twice
            raise DataError(
                f"{seen[key]} and {path}: two documents with the doc id {path.stem!r}; "
                "keep one of them or rename the other."
            )
        seen[key] = path


def document_text(raw: bytes, path: Path) -> str:
    """The text of a converted document (`CONVERTED_SUFFIXES`): its paragraphs joined by
    blank lines. A file its library cannot read is a one-line DataError naming it."""
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm"):
        paragraphs = html_paragraphs(raw, path)
    elif suffix == ".pdf":
        paragraphs = pdf_paragraphs(pdf_page_lines(raw, path))
        if not paragraphs:
            raise DataError(
                f"{path}: the PDF has no text layer (a scan?); run OCR on it first "
                "(e.g. `ocrmypdf in.pdf out.pdf`) or save its text as .txt."
            )
    elif suffix == ".docx":
        paragraphs = docx_paragraphs(raw, path)
    else:
        raise DataError(
            f"{path}: unsupported document type {path.suffix!r}; use {', '.join(DOCUMENT_SUFFIXES)}."
        )
    return join_paragraphs(paragraphs)


def join_paragraphs(paragraphs: Iterable[str]) -> str:
    """Normalized, non-empty paragraphs separated by blank lines (what segment cuts at).

    >>> join_paragraphs(["  A  b ", "", "C\\nd"])
    'A b\\n\\nC d'
    """
    return "\n\n".join(p for p in map(normalize_paragraph, paragraphs) if p)


@contextlib.contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    """Silence a library's warnings while it reads one file: a damaged file is reported
    once, by our error, not by a library's lines before it."""
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.ERROR + 10)
    try:
        yield
    finally:
        logger.setLevel(level)


def _unreadable(path: Path, kind: str, error: Exception, what_to_do: str) -> DataError:
    detail = normalize_paragraph(str(error))[:160] or type(error).__name__
    return DataError(f"{path}: not a readable {kind} ({detail}); {what_to_do}")


# --- HTML ------------------------------------------------------------------------------


def html_paragraphs(raw: bytes, path: Path) -> list[str]:
    """The main text of a web page, one paragraph per block (heading, paragraph, list item,
    quote) as the page has them; navigation, menus, footers and comments dropped."""
    import trafilatura
    from lxml import etree

    with _quiet("trafilatura"):
        try:
            xml = trafilatura.extract(
                raw, output_format="xml", include_comments=False, include_tables=False, deduplicate=False
            )
        except Exception as error:  # a page lxml cannot parse at all
            raise _unreadable(path, "web page", error, "save the page again, or its text as .txt.") from None
    main = etree.fromstring(xml.encode("utf-8")).find("main") if xml else None
    paragraphs = [p for p in _blocks(main) if p.strip()] if main is not None else []
    if not paragraphs:
        raise DataError(
            f"{path}: no main text found in the page (empty, or only navigation and scripts); "
            "save the article's page itself, or its text as .txt."
        )
    return paragraphs


_HTML_BLOCKS = {"p", "head", "item", "quote", "cell"}


def _blocks(element) -> Iterable[str]:  # an lxml element of trafilatura's XML
    """Text of each block element; containers (lists, tables, divs) give their blocks."""
    for child in element:
        if child.tag in _HTML_BLOCKS:
            for line_break in child.iter("lb"):  # <br>: a space, even where the page has none
                line_break.tail = " " + (line_break.tail or "")
            yield "".join(child.itertext())
        else:
            yield from _blocks(child)


# --- PDF -------------------------------------------------------------------------------


def pdf_page_lines(raw: bytes, path: Path) -> list[list[str]]:
    """Each page's text lines as pypdf lays them out (a blank line where the page leaves a
    vertical gap; leading spaces where a line is indented)."""
    import pypdf

    with _quiet("pypdf"):
        try:
            reader = pypdf.PdfReader(io.BytesIO(raw), strict=False)
            encrypted = reader.is_encrypted and not reader.decrypt("")
            pages = (
                [] if encrypted else [page.extract_text(extraction_mode="layout") for page in reader.pages]
            )
        except Exception as error:  # pypdf raises many kinds on damaged files; all mean the same here
            raise _unreadable(
                path, "PDF", error, "open and re-save it as PDF, or save its text as .txt."
            ) from None
    if encrypted:
        raise DataError(f"{path}: the PDF is password-protected; save an unprotected copy.")
    return [[line.rstrip() for line in text.splitlines()] for text in pages]


def _shape(line: str) -> str:
    """A line with its numbers masked: "Page 3 of 9" and "Page 4 of 9" have one shape."""
    return _DIGITS.sub("#", normalize_paragraph(line).lower())


def _edge_indices(lines: Sequence[str]) -> list[int]:
    filled = [i for i, line in enumerate(lines) if line.strip()]
    return sorted(set(filled[:EDGE_LINES] + filled[-EDGE_LINES:]))


def drop_running_lines(pages: Sequence[Sequence[str]]) -> list[list[str]]:
    """Pages without their running headers and footers: among the top and bottom
    `EDGE_LINES` lines of each page, page numbers, and lines whose shape recurs at the edge
    of at least half the pages (and of two or more)."""
    counts = Counter(shape for page in pages for shape in {_shape(page[i]) for i in _edge_indices(page)})
    needed = max(2, (len(pages) + 1) // 2)
    cleaned = []
    for page in pages:
        drop = {
            i
            for i in _edge_indices(page)
            if _PAGE_NUMBER.match(page[i].strip()) or counts[_shape(page[i])] >= needed
        }
        cleaned.append([line for i, line in enumerate(page) if i not in drop])
    return cleaned


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def page_blocks(lines: Sequence[str]) -> list[list[str]]:
    """A page's lines grouped into paragraphs: a blank line ends one, and so does a line
    indented deeper than the page's left margin after one that is not (a first-line indent)."""
    margin = min((_indent(line) for line in lines if line.strip()), default=0)
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in lines:
        indented = _indent(line) > margin + 1
        if not line.strip() or (current and indented and _indent(current[-1]) <= margin + 1):
            if current:
                blocks.append(current)
            current = []
        if line.strip():
            current.append(line.strip())
    if current:
        blocks.append(current)
    return blocks


def join_lines(lines: Sequence[str]) -> str:
    """One paragraph from its lines; a word hyphenated at a line end is joined again.

    >>> join_lines(["the coopera-", "tion between", "the two long-", "Standing partners"])
    'the cooperation between the two long- Standing partners'
    """
    text = ""
    for line in lines:
        if _HYPHENATED.search(text) and line[:1].islower():
            text = text[:-1] + line
        else:
            text = f"{text} {line}" if text else line
    return text


def continues(previous: Sequence[str], following: Sequence[str]) -> bool:
    """Whether the paragraph cut by a page break goes on: the page ended mid-sentence, or
    the next page starts in lower case."""
    return not _SENTENCE_END.search(previous[-1]) or following[0][:1].islower()


def pdf_paragraphs(pages: Sequence[Sequence[str]]) -> list[str]:
    """A PDF's paragraphs from its pages' lines: running headers, footers and page numbers
    dropped, lines joined within a paragraph and across a page break it runs over."""
    blocks: list[list[str]] = []
    for page in drop_running_lines(pages):
        here = page_blocks(page)
        if blocks and here and continues(blocks[-1], here[0]):
            blocks[-1] = blocks[-1] + here.pop(0)
        blocks += here
    return [p for p in (normalize_paragraph(join_lines(b)) for b in blocks) if p]


# --- DOCX ------------------------------------------------------------------------------


def docx_paragraphs(raw: bytes, path: Path) -> list[str]:
    """A Word file's body paragraphs in order (headers, footers, footnotes and tables are
    not body paragraphs; empty paragraphs used as spacing are dropped)."""
    import docx

    try:
        document = docx.Document(io.BytesIO(raw))
        return [paragraph.text for paragraph in document.paragraphs]
    except Exception as error:  # python-docx raises zip, XML and package errors alike
        raise _unreadable(
            path, "Word .docx file", error, "open it in Word or LibreOffice and save it again as .docx."
        ) from None
