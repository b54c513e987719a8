"""Documents in HTML, PDF and Word: paragraphs as the document has them, our errors for bad files.

Every file is made in the test from text written here (the PDF with fpdf2, the Word file
with python-docx), so what each reader must return is known exactly.
"""

from __future__ import annotations

import io
from pathlib import Path

import docx
import pytest
from fpdf import FPDF
from typer.testing import CliRunner

from rhetoric.cli import app
from rhetoric.corpus import formats
from rhetoric.corpus.documents import segment_folder
from rhetoric.corpus.segment import normalize_paragraph, paragraph_sha1
from rhetoric.errors import DataError
from rhetoric.model.prediction import expand_inputs, input_rows

TITLE = "Statement on the anniversary of relations"
RECALL = (
    "The ambassador recalled that the two countries established diplomatic relations in the "
    "spring of that year and have since signed eleven agreements."
)
COMMIT = "Both governments will continue to work together on trade and education in the years ahead."
CLOSING = "The reception ended with a concert by students of the conservatory."
PARAGRAPHS = [TITLE, RECALL, COMMIT, CLOSING]
MB = 1024 * 1024


# --- making the files ------------------------------------------------------------------


def html_page(paragraphs: list[str]) -> bytes:
    """An article page wrapped in the navigation, menus, scripts and footer of a real site;
    the second paragraph carries a line break and inline markup inside it."""
    first, second, *rest = paragraphs[1:]
    half = len(second) // 2
    cut = second.index(" ", half)
    body = "".join(f"<p>{p}</p>" for p in rest)
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Press</title>
<script>var tracker = "analytics settings";</script></head><body>
<nav><ul><li><a href="/">Home page</a></li><li><a href="/press">Press room</a></li>
<li><a href="/contact">Contact the ministry</a></li></ul></nav>
<header><div class="menu">Menu | Search | Change language</div></header>
<main><article><h1>{paragraphs[0]}</h1>
<p>{first}</p>
<p><em>{second[:cut]}</em><br>{second[cut + 1 :]}</p>{body}</article></main>
<aside><h3>Related news</h3><ul><li><a href="/a">Minister opens a fair</a></li></ul></aside>
<footer><p>All rights reserved by the press office of the ministry, twenty twenty-six.</p>
<a href="/privacy">Privacy policy</a></footer></body></html>""".encode()


class _Bulletin(FPDF):
    """A PDF with a running header and a page-number footer on every page."""

    def header(self) -> None:
        self.set_font("Helvetica", size=9)
        self.cell(0, 8, "Embassy Bulletin - Press Office", align="C")

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("Helvetica", size=9)
        self.cell(0, 8, f"Page {self.page_no()}", align="C")


def pdf_file(pages: list[list[str | None]]) -> bytes:
    """One PDF page per list: each string a line where it is placed (leading spaces indent
    it), None a blank line's gap."""
    pdf = _Bulletin(format="A4")
    pdf.set_auto_page_break(False)
    for lines in pages:
        pdf.add_page()
        pdf.set_font("Helvetica", size=11)
        y = 30.0
        for line in lines:
            if line is not None:
                indent = len(line) - len(line.lstrip())
                pdf.text(20 + 2.5 * indent, y, line.strip())
            y += 6
    return bytes(pdf.output())


def docx_file(paragraphs: list[str]) -> bytes:
    """A Word file with the paragraphs, blank spacing paragraphs, a soft line break, a
    header and a footer (not body text) and a table (not prose)."""
    document = docx.Document()
    document.sections[0].header.paragraphs[0].text = "Embassy Bulletin - Press Office"
    document.sections[0].footer.paragraphs[0].text = "Page 1"
    document.add_heading(paragraphs[0], level=1)
    for text in paragraphs[1:]:
        paragraph = document.add_paragraph()
        half = text.index(" ", len(text) // 2)
        paragraph.add_run(text[:half])
        paragraph.add_run().add_break()  # a soft line break inside the paragraph
        paragraph.add_run(text[half + 1 :])
        document.add_paragraph("")
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Venue", "Embassy hall"
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def image_only_pdf() -> bytes:
    """A page with a drawing and no text, as a scan without OCR is."""
    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 60, style="F")
    return bytes(pdf.output())


WRAPPED_PDF = [
    [
        TITLE,
        None,
        "The ambassador recalled that the two countries established diplo-",
        "matic relations in the spring of that year and have since signed",
        "eleven agreements.",
        None,
        "Both governments will continue to work together on trade and",
    ],
    ["education in the years ahead.", None, CLOSING],
]


def made(kind: str) -> tuple[str, bytes]:
    """The four paragraphs as a file of `kind`: (file suffix, bytes)."""
    if kind == "html":
        return ".html", html_page(PARAGRAPHS)
    if kind == "pdf":
        return ".pdf", pdf_file(WRAPPED_PDF)
    return ".docx", docx_file(PARAGRAPHS)


# --- each format -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["html", "pdf", "docx"])
def test_each_format_gives_the_documents_paragraphs(kind: str, tmp_path: Path) -> None:
    suffix, content = made(kind)
    path = tmp_path / f"doc{suffix}"
    path.write_bytes(content)
    assert formats.document_text(content, path).split("\n\n") == PARAGRAPHS


def test_html_drops_navigation_menus_scripts_and_footer(tmp_path: Path) -> None:
    text = formats.document_text(html_page(PARAGRAPHS), tmp_path / "page.htm")
    for boilerplate in ("Home page", "Press room", "Change language", "tracker", "Related news", "Privacy"):
        assert boilerplate not in text


def test_html_keeps_list_items_as_paragraphs(tmp_path: Path) -> None:
    items = ["The two sides agreed on three points of future work.", "First, trade.", "Second, culture."]
    page = html_page(PARAGRAPHS).replace(
        f"<p>{CLOSING}</p>".encode(),
        f"<p>{items[0]}</p><ul><li>{items[1]}</li><li>{items[2]}</li></ul>".encode(),
    )
    assert formats.document_text(page, tmp_path / "page.html").split("\n\n") == [*PARAGRAPHS[:3], *items]


def test_pdf_drops_running_header_footer_and_page_numbers(tmp_path: Path) -> None:
    text = formats.document_text(pdf_file(WRAPPED_PDF), tmp_path / "b.pdf")
    assert "Embassy Bulletin" not in text and "Page" not in text


def test_pdf_page_break_at_a_sentence_end_starts_a_new_paragraph(tmp_path: Path) -> None:
    pages: list[list[str | None]] = [[TITLE, None, COMMIT], [CLOSING]]
    assert formats.document_text(pdf_file(pages), tmp_path / "b.pdf").split("\n\n") == [
        TITLE,
        COMMIT,
        CLOSING,
    ]


def test_pdf_first_line_indent_starts_a_paragraph(tmp_path: Path) -> None:
    pages: list[list[str | None]] = [
        [
            "    Both governments will continue to work together",
            "on trade and education.",
            "    The reception",
        ],
        ["ended late.", "    The guests left."],
    ]
    assert formats.document_text(pdf_file(pages), tmp_path / "b.pdf").split("\n\n") == [
        "Both governments will continue to work together on trade and education.",
        "The reception ended late.",
        "The guests left.",
    ]


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["the coopera-", "tion grew"], "the cooperation grew"),  # hyphenation undone
        (["the long-", "Standing Committee"], "the long- Standing Committee"),  # not before a capital
        (["in 2024-", "2025 both"], "in 2024- 2025 both"),  # not after a digit
        (["the coopera\u00ad", "tion grew"], "the cooperation grew"),  # a soft hyphen too
    ],
)
def test_join_lines(lines: list[str], expected: str) -> None:
    assert formats.join_lines(lines) == expected


def test_running_lines_need_to_recur_on_half_the_pages() -> None:
    pages = [["Bulletin no. 7", "Body one.", "3"], ["Bulletin no. 8", "Body two.", "4"], ["Body three.", "5"]]
    assert formats.drop_running_lines(pages) == [["Body one."], ["Body two."], ["Body three."]]
    # One page alone: only its page number goes, a title at its top stays.
    assert formats.drop_running_lines([["Bulletin no. 7", "Body one.", "- 3 -"]]) == [
        ["Bulletin no. 7", "Body one."]
    ]


def test_docx_keeps_body_paragraphs_only(tmp_path: Path) -> None:
    text = formats.document_text(docx_file(PARAGRAPHS), tmp_path / "a.docx")
    assert "Embassy Bulletin" not in text and "Venue" not in text and "Page 1" not in text


# --- the segmenter's guarantees for every format ----------------------------------------


def test_every_format_segments_like_the_same_text_as_txt(tmp_path: Path) -> None:
    """Same paragraphs, same ids, same sha1, whatever format they arrive in; twice the same."""
    as_text, as_files = tmp_path / "text", tmp_path / "files"
    as_text.mkdir(), as_files.mkdir()
    for kind in ("html", "pdf", "docx"):
        suffix, content = made(kind)
        (as_files / f"{kind}_doc{suffix}").write_bytes(content)
        (as_text / f"{kind}_doc.txt").write_text("\n\n".join(PARAGRAPHS), encoding="utf-8")
    converted, summary = segment_folder(as_files, MB)
    plain, _ = segment_folder(as_text, MB)
    assert summary.documents == 3 and converted.equals(plain)
    assert converted.equals(segment_folder(as_files, MB)[0])
    assert all(t == normalize_paragraph(t) for t in converted["text"])
    assert list(converted["sha1"]) == [paragraph_sha1(t) for t in converted["text"]]
    assert list(converted["idx"]) == [0, 1, 2, 3] * 3


def test_upper_case_suffix_is_read_too(tmp_path: Path) -> None:
    (tmp_path / "memo.DOCX").write_bytes(docx_file(PARAGRAPHS))
    frame, _ = segment_folder(tmp_path, MB)
    assert list(frame["doc"].unique()) == ["memo"] and list(frame["text"]) == PARAGRAPHS


def test_same_doc_id_in_two_formats_is_refused(tmp_path: Path) -> None:
    (tmp_path / "visit.txt").write_text(COMMIT, encoding="utf-8")
    (tmp_path / "visit.docx").write_bytes(docx_file(PARAGRAPHS))
    with pytest.raises(DataError, match=r"visit.docx and .*visit.txt: two documents with the doc id 'visit'"):
        segment_folder(tmp_path, MB)
    with pytest.raises(DataError, match="two documents with the doc id 'visit'"):
        expand_inputs([tmp_path])


def test_size_limit_applies_to_converted_formats(tmp_path: Path) -> None:
    (tmp_path / "big.pdf").write_bytes(pdf_file(WRAPPED_PDF))
    with pytest.raises(DataError, match=r"big.pdf: .* over the limit"):
        segment_folder(tmp_path, 1000)


def test_empty_docx_is_skipped_like_an_empty_txt(tmp_path: Path) -> None:
    (tmp_path / "empty.docx").write_bytes(docx_file([" "]))
    (tmp_path / "full.txt").write_text(COMMIT, encoding="utf-8")
    _, summary = segment_folder(tmp_path, MB)
    assert summary.skipped_empty == ["empty"] and summary.documents == 1


# --- bad files ---------------------------------------------------------------------------


BAD_FILES = [
    ("corrupt.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\ngarbage", "corrupt.pdf: not a readable PDF"),
    ("truncated.pdf", pdf_file(WRAPPED_PDF)[:400], "truncated.pdf: not a readable PDF"),
    ("scan.pdf", image_only_pdf(), "scan.pdf: the PDF has no text layer"),
    ("letter.docx", b"this is plain text, not a zip", "letter.docx: not a readable Word .docx file"),
    ("empty.html", b"", "empty.html: no main text found"),
    (
        "menu.htm",
        b"<html><body><nav><a href='/'>Home</a></nav></body></html>",
        "menu.htm: no main text found",
    ),
]


@pytest.mark.parametrize(("name", "content", "message"), BAD_FILES)
def test_bad_files_get_one_line_errors(name: str, content: bytes, message: str, tmp_path: Path) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(DataError, match=message) as error:
        segment_folder(tmp_path, MB)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(("name", "content", "message"), BAD_FILES[:1] + BAD_FILES[3:5])
def test_bad_files_through_the_command(
    name: str, content: bytes, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text("segment:\n  max_document_mb: 1\n", encoding="utf-8")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / name).write_bytes(content)
    result = CliRunner().invoke(app, ["segment", "--documents", "docs", "--output", "p.parquet"])
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2 and lines == [lines[0]] and message in lines[0]
    assert not (tmp_path / "p.parquet").exists()


# --- predict reads them too ---------------------------------------------------------------


def test_predict_reads_every_format(tmp_path: Path) -> None:
    for kind in ("html", "pdf", "docx"):
        suffix, content = made(kind)
        (tmp_path / f"{kind}{suffix}").write_bytes(content)
    (tmp_path / "notes.md").write_text("not a document", encoding="utf-8")
    files = expand_inputs([tmp_path])
    assert [f.name for f in files] == ["docx.docx", "html.html", "pdf.pdf"]
    rows = list(input_rows(files, MB))
    assert [r["doc"] for r in rows] == ["docx"] * 4 + ["html"] * 4 + ["pdf"] * 4
    assert [r["text"] for r in rows] == PARAGRAPHS * 3


def test_predict_names_the_formats_it_accepts(tmp_path: Path) -> None:
    (tmp_path / "notes.md").write_text("x", encoding="utf-8")
    with pytest.raises(DataError, match=r"notes.md: unsupported file type '.md'; .*\.pdf.*\.docx"):
        expand_inputs([tmp_path / "notes.md"])
