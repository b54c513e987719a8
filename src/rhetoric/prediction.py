"""Labeling new input: documents (.txt) or paragraph rows (.jsonl), streamed in batches."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rhetoric.corpus import check_doc_id, paragraph_rows, read_document
from rhetoric.errors import DataError
from rhetoric.labeler import Labeler
from rhetoric.segment import normalize_paragraph

if TYPE_CHECKING:
    import pandas as pd

SUPPORTED = (".txt", ".jsonl")


def expand_inputs(paths: Sequence[Path]) -> list[Path]:
    """Files named directly, plus the .txt/.jsonl files inside named folders, sorted."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix in SUPPORTED)
        elif not path.exists():
            raise DataError(f"{path}: no such file or folder.")
        elif path.suffix not in SUPPORTED:
            raise DataError(
                f"{path}: unsupported file type {path.suffix!r}; give .txt documents "
                "or .jsonl rows with a 'text' field."
            )
        else:
            files.append(path)
    if not files:
        raise DataError(f"no .txt or .jsonl files in {', '.join(map(str, paths))}.")
    return files


def jsonl_rows(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise DataError(f"{path}, line {number}: invalid JSON ({error.msg}).") from None
            if not isinstance(row, dict) or not isinstance(row.get("text"), str):
                raise DataError(f"{path}, line {number}: each row needs a string field 'text'.")
            yield row


def input_rows(files: Sequence[Path], max_bytes: int) -> Iterator[dict[str, Any]]:
    """Rows to label: a document's paragraphs (doc, idx, text) or a JSONL file's rows."""
    for path in files:
        if path.suffix == ".jsonl":
            yield from jsonl_rows(path)
        else:
            check_doc_id(path.stem, str(path))
            for row in paragraph_rows(path.stem, read_document(path, max_bytes)):
                yield {"doc": row["doc"], "idx": row["idx"], "text": row["text"]}


def batches(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def label_rows(
    labeler: Labeler, rows: Iterable[dict[str, Any]], batch_size: int = 1024, lookup: Any = None
) -> Iterator[dict[str, Any]]:
    """Each input row with `label` and `scores` added, in input order.

    `lookup(sha1s) -> (vectors or None per row)` may supply cached vectors.
    """
    for batch in batches(rows, batch_size):
        texts = [normalize_paragraph(r["text"]) for r in batch]
        proba = labeler.predict_proba(texts, lookup)
        for row, p in zip(batch, proba, strict=True):
            yield {
                **row,
                "label": labeler.labels[int(p.argmax())],
                "scores": {label: round(float(v), 6) for label, v in zip(labeler.labels, p, strict=True)},
            }


def document_summary(rows: Iterable[dict[str, Any]], labels: Sequence[str], low: float) -> pd.DataFrame:
    """Per document: paragraph count, count and share of each label, confidence."""
    import pandas as pd

    records = [
        {"doc": r.get("doc", ""), "label": r["label"], "confidence": max(r["scores"].values())} for r in rows
    ]
    frame = pd.DataFrame(records, columns=["doc", "label", "confidence"])
    counts = pd.crosstab(frame["doc"], frame["label"]).reindex(columns=list(labels), fill_value=0)
    summary = pd.DataFrame({"paragraphs": counts.sum(axis=1)})
    for label in labels:
        summary[f"n_{label}"] = counts[label]
    for label in labels:
        summary[f"share_{label}"] = (counts[label] / summary["paragraphs"]).round(4)
    grouped = frame.groupby("doc")["confidence"]
    summary["mean_confidence"] = grouped.mean().round(4)
    summary["low_confidence"] = frame.assign(low=frame["confidence"] < low).groupby("doc")["low"].sum()
    return summary.reset_index()
