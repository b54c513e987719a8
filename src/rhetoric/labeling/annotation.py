"""The labeling loop's pure parts: which paragraphs to ask about first, appending and
undoing label rows safely, and converting to and from Label Studio and doccano."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rhetoric.corpus.segment import normalize_paragraph
from rhetoric.errors import DataError
from rhetoric.io import atomic_open, check_output_target, read_input_text, text_lines
from rhetoric.model.labeler import LabeledParagraph

# Label Studio: the controls' names in label_studio.xml, which the tasks and imports use.
LABEL_CONTROL, SECONDARY_CONTROL = "label", "secondary"
LABEL_STUDIO_CONFIG = Path(__file__).with_name("label_studio.xml")


def uncertainty(scores: dict[str, float]) -> float:
    """Margin-based uncertainty: 1 minus the gap between the two most likely labels.

    >>> round(uncertainty({"a": 0.5, "b": 0.4, "c": 0.1}), 2), round(uncertainty({"a": 0.9, "b": 0.1}), 2)
    (0.9, 0.2)
    """
    top = sorted(scores.values(), reverse=True) + [0.0]
    return 1.0 - (top[0] - top[1])


def queue_for_labeling(predictions: Iterable[dict[str, Any]], labeled: set[tuple[str, str]]) -> list[dict]:
    """Unlabeled predicted paragraphs, most uncertain first (ties by document order)."""
    rows = [r for r in predictions if (r.get("doc", ""), r["text"]) not in labeled]
    return sorted(rows, key=lambda r: (-uncertainty(r["scores"]), str(r.get("doc", "")), r.get("idx", 0)))


def read_labeling_queue(
    predictions: Path, labels_file: Path, labels: Sequence[str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """All predicted rows, and the unlabeled ones in the order to ask about them."""
    from rhetoric.corpus.documents import read_labels

    if not predictions.is_file():
        raise DataError(f"{predictions}: no predictions yet; run `dvc repro` first.")
    rows = []
    for number, line in enumerate(text_lines(read_input_text(predictions)), start=1):
        if not line.strip():
            continue
        where = f"{predictions}, line {number}"
        try:
            row = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            raise DataError(f"{where}: invalid JSON; re-run `rhetoric predict`.") from None
        if not isinstance(row, dict) or not isinstance(row.get("text"), str):
            raise DataError(f"{where}: each row needs a string field 'text'; re-run `rhetoric predict`.")
        LabeledParagraph.from_row(row, where)  # each row must be predict's LabeledParagraph
        rows.append(row)
    existing = read_labels(labels_file, labels) if labels_file.is_file() else None
    done = set() if existing is None else set(zip(existing["doc"], existing["text"], strict=True))
    return rows, queue_for_labeling(rows, done)


def append_label(path: Path, row: dict[str, Any]) -> None:
    """Append one label row and force it to disk, so Ctrl-C or a crash loses nothing. A file
    whose last line has no final newline (edited by hand) gets one first: the new row must
    not be glued onto it."""
    check_output_target(path)
    line = json.dumps(row, ensure_ascii=False) + "\n"
    with open(path, "ab") as handle:
        if handle.tell() > 0:
            with open(path, "rb") as existing:
                existing.seek(-1, os.SEEK_END)
                if existing.read(1) != b"\n":
                    line = "\n" + line
        handle.write(line.encode("utf-8"))
        handle.flush()
        os.fsync(handle.fileno())


def known_paragraphs(paragraphs_file: Path) -> set[tuple[str, str]]:
    """(doc, text) of every paragraph in the paragraph table, or a DataError saying how to make it."""
    if not paragraphs_file.is_file():
        raise DataError(
            f"{paragraphs_file}: no paragraph table to check label rows against; run `dvc repro` "
            "(the segment stage) first, or name it with --paragraphs."
        )
    import pandas as pd

    try:
        frame = pd.read_parquet(paragraphs_file, columns=["doc", "text"])
    except Exception as error:  # pyarrow raises several kinds for a damaged or foreign file
        raise DataError(
            f"{paragraphs_file}: not a paragraph table ({type(error).__name__}); run `dvc repro`."
        ) from None
    return set(zip(frame["doc"], frame["text"], strict=True))


def check_rows_match(rows: Sequence[dict[str, Any]], known: set[tuple[str, str]], source: str) -> None:
    """Every label row names an existing document and the text of one of its paragraphs
    (the promise `rhetoric tasks import` makes before it appends anything)."""
    docs = {doc for doc, _ in known}
    for number, row in enumerate(rows, start=1):
        where = f"{source}, labeled row {number}"
        if row["doc"] not in docs:
            raise DataError(
                f"{where}: document {row['doc']!r} does not exist (expected data/documents/"
                f"{row['doc']}.txt); fix the row or add the document and run `dvc repro`. "
                "Nothing was appended."
            )
        if (row["doc"], row["text"]) not in known:
            raise DataError(
                f"{where}: text matches no paragraph of {row['doc']!r} (starts {row['text'][:60]!r}); "
                "the document was probably edited. Fix the row; nothing was appended."
            )


def remove_last_label(path: Path, row: dict[str, Any]) -> bool:
    """Undo: drop the last line if it is `row` (rewritten atomically); False if it is not."""
    lines = read_input_text(path).splitlines(keepends=True)
    try:
        last = json.loads(lines[-1]) if lines else None
    except ValueError:
        return False
    if last != row:
        return False
    with atomic_open(path) as handle:
        handle.writelines(lines[:-1])
    return True


def to_label_studio(rows: Iterable[dict[str, Any]], model_version: str) -> list[dict[str, Any]]:
    """Label Studio tasks (text classification, `choices` named "label") with the model's
    prediction as a pre-annotation."""
    tasks = []
    for r in rows:
        task: dict[str, Any] = {"data": {"text": r["text"], "doc": r.get("doc", ""), "idx": r.get("idx", 0)}}
        if "label" in r:
            task["predictions"] = [
                {
                    "model_version": model_version,
                    "score": round(max(r["scores"].values()), 6) if "scores" in r else None,
                    "result": [
                        {
                            "from_name": LABEL_CONTROL,
                            "to_name": "text",
                            "type": "choices",
                            "value": {"choices": [r["label"]]},
                        }
                    ],
                }
            ]
        tasks.append(task)
    return tasks


@dataclass(frozen=True)
class ImportedLabels:
    """The label rows read from a labeling tool's export, and what the rest of it was, so the
    import can say why fewer rows came back than the export holds."""

    rows: list[dict[str, Any]]
    items: int  # tasks (Label Studio) or lines / rows (doccano; also called tasks) in the export
    skipped: int = 0  # Label Studio tasks whose every annotation was skipped
    unlabeled: int = 0  # items with no annotation, or whose annotation chose no label
    disagreeing: int = 0  # tasks whose annotations chose different labels (the latest is taken)


NOT_A_TASK = (
    "is not a Label Studio task (no 'data' object); export the project as JSON "
    "(not JSON-MIN or CSV) and import that file."
)


def from_label_studio(tasks: Any, labels: Sequence[str], source: str) -> ImportedLabels:
    """Label rows from a Label Studio JSON export: each task's latest annotation (by
    `updated_at`, so an annotation revised after another one wins) that was not skipped.
    Anything that is not a task of that export (a JSON-MIN row, a foreign file) is a DataError
    rather than a task quietly left out."""
    if not isinstance(tasks, list):
        raise DataError(f"{source}: expected a Label Studio JSON export (a list of tasks).")
    rows, skipped, unlabeled, disagreeing = [], 0, 0, 0
    for number, task in enumerate(tasks, start=1):
        where = f"{source}, task {number}"
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            raise DataError(f"{where} {NOT_A_TASK}")
        annotations = _objects(task.get("annotations", []), "annotations", where)
        done = [a for a in annotations if not a.get("was_cancelled")]
        if not done:
            skipped += bool(annotations)
            unlabeled += not annotations
            continue
        chosen = [annotation_choices(_objects(a.get("result", []), "result", where), where) for a in done]
        disagreeing += len({tuple(c[:1]) for c in chosen}) > 1
        latest = max(range(len(done)), key=lambda i: (str(done[i].get("updated_at") or ""), i))
        row = _label_row(task["data"].get("doc"), task["data"].get("text"), chosen[latest], labels, where)
        unlabeled += row is None
        rows += [row] if row else []
    return ImportedLabels(rows, len(tasks), skipped, unlabeled, disagreeing)


def _objects(value: Any, name: str, where: str) -> list[dict[str, Any]]:
    """`value` as a list of JSON objects, or a DataError naming the field."""
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise DataError(f"{where}: '{name}' must be a list of objects, as Label Studio exports it.")
    return value


def annotation_choices(results: list[dict[str, Any]], where: str = "annotation") -> list[str]:
    """The label, then the secondary labels, of one Label Studio annotation's results: from
    the controls `label` and `secondary` of label_studio.xml (a secondary repeating the label
    is dropped); results without control names give their choices in order. A result whose
    `value.choices` is not a list is a DataError naming `where`.

    >>> annotation_choices([{"from_name": "secondary", "value": {"choices": ["other", "greeting"]}},
    ...                     {"from_name": "label", "value": {"choices": ["greeting"]}}])
    ['greeting', 'other']
    """

    def choices_of(result: dict[str, Any]) -> list[Any]:
        value = result.get("value", {})
        found = value.get("choices", []) if isinstance(value, dict) else None
        if not isinstance(found, list):
            raise DataError(f"{where}: 'value.choices' must be a list of labels.")
        return found

    def chosen(name: str | None) -> list[Any]:
        picked = (r for r in results if name is None or r.get("from_name") == name)
        return [c for r in picked for c in choices_of(r)]

    if not any(r.get("from_name") in (LABEL_CONTROL, SECONDARY_CONTROL) for r in results):
        return chosen(None)
    label = chosen(LABEL_CONTROL)
    secondary = [c for c in chosen(SECONDARY_CONTROL) if c not in label]
    return [*label, *secondary] if label else []


def label_studio_choices(config: Path = LABEL_STUDIO_CONFIG) -> list[str]:
    """The labels the Label Studio config offers for the control `label`, in order."""
    from xml.etree import ElementTree

    view = ElementTree.parse(config).getroot()
    control = next(c for c in view.iter("Choices") if c.get("name") == LABEL_CONTROL)
    return [choice.get("value", "") for choice in control.iter("Choice")]


def to_doccano(rows: Iterable[dict[str, Any]], fmt: str) -> str:
    """doccano text-classification import data: JSONL (`text`, `label` list) or CSV (`text`, `label`)."""
    rows = list(rows)
    if fmt == "jsonl":
        return "".join(
            json.dumps(
                {
                    "text": r["text"],
                    "label": [r["label"]] if "label" in r else [],
                    "doc": r.get("doc", ""),
                    "idx": r.get("idx", 0),
                },
                ensure_ascii=False,
            )
            + "\n"
            for r in rows
        )
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["text", "label", "doc", "idx"], lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow(
            {"text": r["text"], "label": r.get("label", ""), "doc": r.get("doc", ""), "idx": r.get("idx", 0)}
        )
    return buffer.getvalue()


def from_doccano(text: str, fmt: str, labels: Sequence[str], source: str) -> ImportedLabels:
    """Label rows from a doccano export (JSONL with `label` list, or CSV with `label`); an
    item with no label is counted as unlabeled."""
    rows = []
    if fmt == "jsonl":
        for number, line in enumerate(text_lines(text), start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as error:
                raise DataError(f"{source}, line {number}: invalid JSON ({error.msg}).") from None
            except RecursionError:
                raise DataError(f"{source}, line {number}: invalid JSON (nested too deeply).") from None
            if not isinstance(item, dict):
                raise DataError(f"{source}, line {number}: expected a JSON object with 'text' and 'label'.")
            choices = item.get("label", [])
            choices = [choices] if isinstance(choices, str) else choices
            rows.append(
                _label_row(item.get("doc"), item.get("text"), choices, labels, f"{source}, line {number}")
            )
    else:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        try:
            for number, item in enumerate(reader, start=2):
                label = item.get("label")
                choices = [label] if isinstance(label, str) and label else []
                rows.append(
                    _label_row(item.get("doc"), item.get("text"), choices, labels, f"{source}, line {number}")
                )
        except csv.Error as error:
            raise DataError(f"{source}, line {reader.line_num}: not valid CSV ({error}).") from None
    labeled = [r for r in rows if r is not None]
    return ImportedLabels(labeled, len(rows), unlabeled=len(rows) - len(labeled))


def _label_row(doc: Any, text: Any, choices: Any, labels: Sequence[str], where: str) -> dict | None:
    if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
        raise DataError(f"{where}: the label must be a name or a list of names, got {choices!r:.60}.")
    if not choices:
        return None
    if not doc or not isinstance(text, str):
        raise DataError(f"{where}: needs 'doc' and 'text' to match a paragraph of data/documents/.")
    unknown = [c for c in choices if c not in labels]
    if unknown:
        raise DataError(f"{where}: label {unknown[0]!r} is not one of params labels ({', '.join(labels)}).")
    return {"doc": str(doc), "text": normalize_paragraph(text), "label": choices[0], "secondary": choices[1:]}


FORMATS = ("labelstudio", "doccano-jsonl", "doccano-csv")  # `rhetoric tasks export` / `tasks import --format`


def check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise DataError(f"--format {fmt!r} is not supported; use one of {', '.join(FORMATS)}.")


def render_tasks(queue: Iterable[dict[str, Any]], fmt: str) -> str:
    """The labeling tool's import file for `queue` (Label Studio JSON or doccano)."""
    check_format(fmt)
    if fmt == "labelstudio":
        return json.dumps(to_label_studio(queue, "rhetoric"), ensure_ascii=False, indent=1)
    return to_doccano(queue, fmt.split("-")[1])


def parse_tasks(text: str, fmt: str, labels: Sequence[str], source: str) -> ImportedLabels:
    """Label rows from a labeling tool's export file's `text`."""
    check_format(fmt)
    if fmt != "labelstudio":
        return from_doccano(text, fmt.split("-")[1], labels, source)
    try:
        tasks = json.loads(text)
    except json.JSONDecodeError as error:
        raise DataError(
            f"{source}: invalid JSON ({error.msg} at line {error.lineno}); export the Label Studio "
            "project as JSON and import that file."
        ) from None
    except RecursionError:
        raise DataError(f"{source}: invalid JSON (nested too deeply).") from None
    return from_label_studio(tasks, labels, source)


def import_summary(imported: ImportedLabels, appended: int, labels_file: str) -> str:
    """One line on what an import did: what the export held, what was left out and why.

    >>> import_summary(ImportedLabels([{}] * 3, 6, skipped=1, unlabeled=2), 2, "l.jsonl")
    '6 tasks: 3 labeled (2 new, appended to l.jsonl), 1 skipped, 2 without a label'
    """
    parts = [
        f"{imported.items} tasks: {len(imported.rows)} labeled ({appended} new, appended to {labels_file})"
    ]
    parts += [f"{imported.skipped} skipped"] if imported.skipped else []
    parts += [f"{imported.unlabeled} without a label"] if imported.unlabeled else []
    line = ", ".join(parts)
    if imported.disagreeing:
        line += f"; {imported.disagreeing} with annotations that disagree (the latest was taken)"
    return line


def new_labels(
    existing: list[str], rows: list[dict[str, Any]], labels: Sequence[str], labels_file: str
) -> list[dict[str, Any]]:
    """The imported `rows` not yet among the `existing` lines of the labels file (each
    paragraph once); a DataError (naming the file and line) when one contradicts an existing
    label. Rows the file already holds are left out before the check, so importing the same
    export again says nothing about repeats."""
    from rhetoric.corpus.documents import parse_label_lines

    current = parse_label_lines(existing, labels, labels_file)
    known = set(zip(current["doc"], current["text"], current["label"], strict=True))
    fresh = [r for r in rows if (r["doc"], r["text"], r["label"]) not in known]
    # A fresh row for a paragraph the file already holds has another label: this check stops the import.
    parse_label_lines(existing + [json.dumps(r) for r in fresh], labels, labels_file)
    return list({(r["doc"], r["text"]): r for r in fresh}.values())
