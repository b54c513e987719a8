"""Reading documents and labels, and matching label rows to paragraphs.

The data contracts: documents are `<doc_id>.txt` files of UTF-8 text, or `<doc_id>.html`,
`.htm`, `.pdf`, `.docx` files converted to paragraphs by `formats`; labels are JSON lines
`{"doc", "text", "label", "secondary"}` matched to their document's paragraph by
normalized text.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rhetoric.corpus import formats
from rhetoric.corpus.segment import normalize_paragraph, paragraph_sha1, segment_document
from rhetoric.errors import DataError
from rhetoric.io import decode_text, read_input_bytes, read_input_text, text_lines

if TYPE_CHECKING:  # imported where used: reading one document for `predict` needs no pandas
    import pandas as pd

log = logging.getLogger(__name__)

DOC_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")  # used with fullmatch: no trailing newline
PARAGRAPH_COLUMNS = ["doc", "idx", "text", "sha1", "n_tokens"]


@dataclass
class SegmentSummary:
    """What the segment stage did, for its log line and for tests."""

    documents: int = 0
    paragraphs: int = 0
    skipped_empty: list[str] = field(default_factory=list)


def check_doc_id(doc_id: str, where: str) -> None:
    if not isinstance(doc_id, str) or not DOC_ID.fullmatch(doc_id):
        raise DataError(
            f"{where}: {doc_id!r} is not a valid document id; use letters, digits, '.', '_' "
            "or '-' (starting with a letter or digit), at most 128 characters. Rename the file."
        )


def decode_document(raw: bytes, path: Path | str) -> str:
    """Decode document bytes as UTF-8 (a BOM is accepted) or BOM-marked UTF-16, or say where
    and how it fails."""
    if b"\x00" in raw[:8192] and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DataError(
            f"{path}: looks like a binary file (NUL bytes); documents must be plain UTF-8 text. "
            "Convert it to .txt or remove it from the documents folder."
        )
    text = decode_text(raw, path)
    if "\x00" in text:
        raise DataError(
            f"{path}: contains NUL characters; documents must be plain text. "
            "Convert it to .txt or remove it from the documents folder."
        )
    return text


def read_document(path: Path, max_bytes: int) -> str:
    """Read one document file (regular files only, at most `max_bytes`); a .txt file with the
    binary and encoding checks, another format (`formats.CONVERTED_SUFFIXES`) converted to
    paragraphs."""
    raw = read_input_bytes(path, max_bytes, "segment.max_document_mb in params.yaml")
    if path.suffix.lower() in formats.CONVERTED_SUFFIXES:
        return formats.document_text(raw, path)
    return decode_document(raw, path)


def paragraph_rows(doc_id: str, text: str) -> list[dict[str, object]]:
    """The paragraph table rows of one document."""
    return [
        {"doc": doc_id, "idx": i, "text": p, "sha1": paragraph_sha1(p), "n_tokens": len(p.split())}
        for i, p in enumerate(segment_document(text))
    ]


def segment_folder(folder: Path, max_bytes: int) -> tuple[pd.DataFrame, SegmentSummary]:
    """Every document in `folder` (`formats.DOCUMENT_SUFFIXES`) as one paragraph table, in
    file-name order; two files with one doc id (`a.txt`, `a.pdf`) are refused."""
    if not folder.is_dir():
        raise DataError(f"{folder}: documents folder not found; create it and add .txt files.")
    summary = SegmentSummary()
    rows: list[dict[str, object]] = []
    paths = sorted(p for p in folder.iterdir() if formats.is_document(p))
    formats.check_distinct_ids(paths)
    for path in paths:
        check_doc_id(path.stem, str(path))
        doc_rows = paragraph_rows(path.stem, read_document(path, max_bytes))
        if not doc_rows:
            log.warning("%s: empty or whitespace-only; skipped", path)
            summary.skipped_empty.append(path.stem)
            continue
        summary.documents += 1
        rows.extend(doc_rows)
    summary.paragraphs = len(rows)
    if not rows:
        raise DataError(
            f"{folder}: no non-empty documents; add UTF-8 .txt files "
            f"(or {', '.join(formats.CONVERTED_SUFFIXES)})."
        )
    return paragraph_frame(rows), summary


def paragraph_frame(rows: Sequence[dict[str, object]]) -> pd.DataFrame:
    import pandas as pd

    frame = pd.DataFrame(list(rows), columns=PARAGRAPH_COLUMNS)
    return frame.astype({"idx": "int32", "n_tokens": "int32"})


def parse_label_lines(lines: Iterable[str], labels: Sequence[str], source: str) -> pd.DataFrame:
    """Parse label JSON lines, validating each row; identical repeats are dropped."""
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{source}, line {number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise DataError(f"{where}: invalid JSON ({error.msg} at column {error.colno}).") from None
        except RecursionError:
            raise DataError(f"{where}: invalid JSON (nested too deeply).") from None
        if not isinstance(row, dict):
            raise DataError(f"{where}: expected a JSON object, got {type(row).__name__}.")
        for key in ("doc", "text", "label"):
            if not isinstance(row.get(key), str) or not row[key].strip():
                raise DataError(f"{where}: missing or empty field {key!r} (a string is required).")
        if row["label"] not in labels:
            raise DataError(
                f"{where}: label {row['label']!r} is not one of params labels "
                f"({', '.join(labels)}); fix the row or add the label to params.yaml."
            )
        secondary = row.get("secondary", [])
        if not isinstance(secondary, list) or any(s not in labels for s in secondary):
            raise DataError(
                f"{where}: 'secondary' must be a list of labels from ({', '.join(labels)}), "
                f"got {secondary!r}."
            )
        rows.append(
            {
                "doc": row["doc"],
                "text": normalize_paragraph(row["text"]),
                "label": row["label"],
                "secondary": list(secondary),
                "line": number,
            }
        )
    import pandas as pd

    frame = pd.DataFrame(rows, columns=["doc", "text", "label", "secondary", "line"])
    return drop_repeated_labels(frame, source)


def drop_repeated_labels(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """Drop exact repeats of a label row; refuse the same paragraph with two labels."""
    for (doc, _text), group in frame.groupby(["doc", "text"], sort=False):
        if group["label"].nunique() > 1:
            lines = ", ".join(str(n) for n in group["line"])
            raise DataError(
                f"{source}, lines {lines}: the same paragraph of {doc!r} is labeled "
                f"{' and '.join(sorted(group['label'].unique()))}; keep one row."
            )
    repeats = frame.duplicated(["doc", "text"])
    if repeats.any():
        log.warning("%s: %d repeated label rows dropped", source, int(repeats.sum()))
    return frame[~repeats].reset_index(drop=True)


def read_labels(path: Path, labels: Sequence[str]) -> pd.DataFrame:
    if not path.exists() and not path.is_symlink():
        raise DataError(f"{path}: labels file not found; create it (one JSON row per line).")
    return parse_label_lines(text_lines(read_input_text(path)), labels, str(path))


def gold_labels(paths: Sequence[Path], labels: Sequence[str]) -> dict[tuple[str, str], str]:
    """The label of every paragraph labeled in `paths`, keyed by (doc, normalized text); a
    later file wins where two disagree (as data/dev/labels.jsonl after data/labels.jsonl)."""
    gold: dict[tuple[str, str], str] = {}
    for path in paths:
        frame = read_labels(path, labels)
        gold.update(zip(zip(frame["doc"], frame["text"], strict=True), frame["label"], strict=True))
    return gold


def match_labels(paragraphs: pd.DataFrame, labels: pd.DataFrame, source: str) -> pd.DataFrame:
    """Attach each label row to its document's paragraph(s) with the same normalized text.

    A row naming an unknown document, or text that is no longer in its document
    (stale after an edit), is an error: silently dropping it would shrink the data.
    """
    known_docs = set(paragraphs["doc"])
    for row in labels.itertuples():
        if row.doc not in known_docs:
            raise DataError(
                f"{source}, line {row.line}: document {row.doc!r} does not exist "
                f"(expected data/documents/{row.doc}.txt, .html, .pdf or .docx); add it or remove the row."
            )
    merged = labels.merge(paragraphs, on=["doc", "text"], how="left", indicator=True)
    stale = merged[merged["_merge"] == "left_only"]
    if len(stale):
        first = stale.iloc[0]
        raise DataError(
            f"{source}, line {first['line']}: text matches no paragraph of {first['doc']!r} "
            f"(starts {first['text'][:60]!r}); the document was probably edited. Update or remove "
            f"the row ({len(stale)} such rows in all)."
        )
    merged = merged.drop(columns=["_merge", "line"]).astype({"idx": "int32", "n_tokens": "int32"})
    return merged.sort_values(["doc", "idx"]).reset_index(drop=True)
