"""Labeling new input: documents (.txt, .html, .pdf, .docx) or paragraph rows (.jsonl), streamed
in batches."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from rhetoric.corpus import formats
from rhetoric.corpus.documents import check_doc_id, paragraph_rows, read_document
from rhetoric.errors import DataError
from rhetoric.io import atomic_open, check_output_target, read_input_text, text_lines, write_csv
from rhetoric.model.labeler import MAX_TEXT_CHARS, Labeler, evidence_rows

if TYPE_CHECKING:
    import pandas as pd

ROWS_SUFFIX = ".jsonl"
SUPPORTED = (*formats.DOCUMENT_SUFFIXES, ROWS_SUFFIX)


def is_input(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED


def expand_inputs(paths: Sequence[Path]) -> list[Path]:
    """Files named directly, plus the documents and .jsonl files inside named folders, sorted;
    two documents of one folder with the same doc id (`a.txt`, `a.pdf`) are refused."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if is_input(p))
        elif not path.exists():
            raise DataError(f"{path}: no such file or folder.")
        elif not is_input(path):
            raise DataError(
                f"{path}: unsupported file type {path.suffix!r}; give documents "
                f"({', '.join(formats.DOCUMENT_SUFFIXES)}) or .jsonl rows with a 'text' field."
            )
        else:
            files.append(path)
    if not files:
        raise DataError(
            f"no documents ({', '.join(formats.DOCUMENT_SUFFIXES)}) or .jsonl files in "
            f"{', '.join(map(str, paths))}."
        )
    formats.check_distinct_ids(f for f in files if formats.is_document(f))
    check_distinct_documents(files)
    return files


def check_distinct_documents(files: Sequence[Path]) -> None:
    """Refuse two different document inputs with the same document id (the same name in two
    folders): their paragraphs would merge into one document in the summary and the report.
    The same file named twice is labeled twice, as asked."""
    seen: dict[str, Path] = {}
    for path in files:
        if not formats.is_document(path):
            continue
        if path.stem in seen and not _same_file(path, seen[path.stem]):
            raise DataError(
                f"{path}: has the same document id {path.stem!r} as {seen[path.stem]}; "
                "document ids must be unique across inputs. Rename one of the files."
            )
        seen[path.stem] = path


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def jsonl_rows(path: Path) -> Iterator[dict[str, Any]]:
    for number, line in enumerate(text_lines(read_input_text(path)), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as error:
            problem = error.msg if isinstance(error, json.JSONDecodeError) else "nested too deeply"
            raise DataError(f"{path}, line {number}: invalid JSON ({problem}).") from None
        if not isinstance(row, dict) or not isinstance(row.get("text"), str):
            raise DataError(f"{path}, line {number}: each row needs a string field 'text'.")
        yield row


def input_rows(files: Sequence[Path], max_bytes: int) -> Iterator[dict[str, Any]]:
    """Rows to label: a document's paragraphs (doc, idx, text) or a JSONL file's rows; a text
    longer than `MAX_TEXT_CHARS` is a DataError naming its file and paragraph or line."""
    for path in files:
        if path.suffix.lower() == ROWS_SUFFIX:
            for number, row in enumerate(jsonl_rows(path), start=1):
                check_length(row["text"], f"{path}, row {number}")
                yield row
        else:
            check_doc_id(path.stem, str(path))
            for row in paragraph_rows(path.stem, read_document(path, max_bytes)):
                check_length(row["text"], f"{path}, paragraph {row['idx'] + 1}")
                yield {"doc": row["doc"], "idx": row["idx"], "text": row["text"]}


def check_length(text: str, where: str) -> None:
    if len(text) > MAX_TEXT_CHARS:
        raise DataError(
            f"{where}: {len(text):,} characters, over the limit of {MAX_TEXT_CHARS:,} per paragraph; "
            "split it into paragraphs (blank lines between them)."
        )


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
    labeler: Labeler, rows: Iterable[dict[str, Any]], batch_size: int = 1024, evidence: bool = False
) -> Iterator[dict[str, Any]]:
    """Each input row with its `LabeledParagraph` (`label`, `scores`) added, in input order;
    with `evidence`, also its `sentences` (`Labeler.sentence_evidence`), labeled batch by
    batch so that no more than a batch's sentence vectors are held.

    Cached vectors come from the labeler's store, if it was loaded with one."""
    if evidence:
        labeler.keep_sentence_vectors()  # the evidence then needs no second encoder pass
    for batch in batches(rows, batch_size):
        texts = [r["text"] for r in batch]
        results = labeler.label(texts)
        found = labeler.sentence_evidence(texts) if evidence else [None] * len(batch)
        for row, result, sentences in zip(batch, results, found, strict=True):
            labeled = {**row, **result.to_dict()}
            if sentences is not None:
                labeled["sentences"] = evidence_rows(sentences)
            yield labeled


@dataclass(frozen=True)
class Outputs:
    """Where `rhetoric predict` writes: the JSONL (standard output when None) and, each
    optional, the per-document summary CSV, the HTML report folder, the timeline CSV (PNG
    beside it); `metadata` (data/documents.csv) feeds the report and timeline, `gold`
    (labels files) the report's gold labels."""

    output: Path | None = None
    summary: Path | None = None
    report: Path | None = None
    metadata: Path | None = None
    timeline: Path | None = None
    gold: tuple[Path, ...] = ()


def check_outputs(outputs: Outputs, inputs: Sequence[Path]) -> None:
    """Refuse, before any work, outputs that are devices, folders, or the command's inputs."""
    sources = [*inputs] + ([outputs.metadata] if outputs.metadata else [])
    for path in (outputs.output, outputs.summary, outputs.timeline):
        if path is not None:
            check_output_target(path, sources)
    if outputs.timeline is not None:
        check_output_target(outputs.timeline.with_suffix(".png"), sources)
    if outputs.report is not None:
        check_output_target(outputs.report, sources, folder=True)
    named = [p for p in (outputs.output, outputs.summary, outputs.timeline) if p is not None]
    if len({str(p.resolve()) for p in named}) < len(named):
        raise DataError("--output, --summary and --timeline must name different files.")


@dataclass(frozen=True)
class Predictions:
    """What predict keeps of every labeled row, for its summary, report and timeline."""

    labels: list[str]
    rows: list[dict[str, Any]]  # doc, idx, label, scores, text ("" unless the report needs it)
    count: int = 0  # rows labeled, kept or not


def write_labeled(
    labeled: Iterable[dict[str, Any]], handle: IO[str], labels: Sequence[str], outputs: Outputs
) -> Predictions:
    """Stream every labeled row to `handle` as JSONL; keep compact rows (no vectors, no
    text unless the report needs it) only where a summary, report or timeline needs them,
    so that labeling into JSONL alone runs in memory that does not grow with the input."""
    keep = any(o is not None for o in (outputs.summary, outputs.report, outputs.timeline))
    kept, count = [], 0
    for row in labeled:
        count += 1
        sentences = row.pop("sentences", None)  # the report's, not the JSONL's
        handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        if keep:
            text = row["text"] if outputs.report is not None else ""
            kept.append(
                {
                    "doc": row.get("doc", ""),
                    "idx": row.get("idx"),
                    "label": row["label"],
                    "scores": row["scores"],
                    "text": text,
                    **({"sentences": sentences} if sentences is not None and outputs.report else {}),
                }
            )
    return Predictions(list(labels), kept, count)


def output_stream(output: Path | None) -> contextlib.AbstractContextManager[IO[str]]:
    """The JSONL target: a file replaced atomically at the end, or standard output."""
    return atomic_open(output) if output else contextlib.nullcontext(sys.stdout)


def write_extras(predictions: Predictions, outputs: Outputs, low_confidence: float) -> list[str]:
    """Write the summary, report and timeline asked for in `outputs`; returns log lines."""
    rows, labels, lines = predictions.rows, predictions.labels, []
    if outputs.summary is not None:
        write_csv(outputs.summary, document_summary(rows, labels, low_confidence))
    meta = None
    if outputs.metadata is not None and outputs.metadata.exists():
        import io

        import pandas as pd

        try:
            meta = pd.read_csv(io.StringIO(read_input_text(outputs.metadata)))
        except (ValueError, pd.errors.ParserError) as error:
            problem = " ".join(str(error).split())[:200]
            raise DataError(f"{outputs.metadata}: not a readable CSV ({problem}).") from None
    if outputs.report is not None:
        from rhetoric.corpus.documents import gold_labels
        from rhetoric.report.html import write_report

        gold = gold_labels(outputs.gold, labels)
        pages = write_report(rows, labels, outputs.report, low_confidence, meta, gold)
        lines.append(f"report of {pages} pages -> {outputs.report / 'index.html'}")
    if outputs.timeline is not None:
        if meta is None or "date" not in meta.columns:
            raise DataError("--timeline needs --metadata with a 'date' column (data/documents.csv).")
        from rhetoric.evaluation.plots import save_label_mix_png
        from rhetoric.report.html import label_colours, label_mix_by_period

        mix = label_mix_by_period(rows, labels, meta)
        write_csv(
            outputs.timeline, mix.reset_index().melt(id_vars="period", var_name="label", value_name="share")
        )
        save_label_mix_png(mix, outputs.timeline.with_suffix(".png"), label_colours(labels))
    output = f" -> {outputs.output}" if outputs.output else ""
    return [*lines, f"{predictions.count} paragraphs labeled{output}"]


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
