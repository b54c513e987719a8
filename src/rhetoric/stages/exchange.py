"""Commands `export` and `import`: Label Studio and doccano, both ways."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from rhetoric.annotation import (
    append_label,
    from_doccano,
    from_label_studio,
    read_labeling_queue,
    to_doccano,
    to_label_studio,
)
from rhetoric.corpus import parse_label_lines
from rhetoric.errors import DataError
from rhetoric.io import atomic_open
from rhetoric.params import parse_labels, read_params

log = logging.getLogger(__name__)
FORMATS = ("labelstudio", "doccano-jsonl", "doccano-csv")


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise DataError(f"--format {fmt!r} is not supported; use one of {', '.join(FORMATS)}.")


def export(output: Path, fmt: str, predictions: Path, labels_file: Path, params_file: Path) -> None:
    _check_format(fmt)
    labels = parse_labels(read_params(params_file).get("labels"))
    _rows, queue = read_labeling_queue(predictions, labels_file, labels)
    with atomic_open(output) as handle:
        if fmt == "labelstudio":
            json.dump(to_label_studio(queue, "rhetoric"), handle, ensure_ascii=False, indent=1)
        else:
            handle.write(to_doccano(queue, fmt.split("-")[1]))
    log.info("export: %d unlabeled paragraphs -> %s (%s)", len(queue), output, fmt)


def import_(source: Path, fmt: str, labels_file: Path, params_file: Path) -> None:
    _check_format(fmt)
    labels = parse_labels(read_params(params_file).get("labels"))
    if not source.is_file():
        raise DataError(f"{source}: no such file.")
    text = source.read_text(encoding="utf-8")
    if fmt == "labelstudio":
        try:
            tasks = json.loads(text)
        except json.JSONDecodeError as error:
            raise DataError(f"{source}: invalid JSON ({error.msg} at line {error.lineno}).") from None
        rows = from_label_studio(tasks, labels, str(source))
    else:
        rows = from_doccano(text, fmt.split("-")[1], labels, str(source))
    existing = labels_file.read_text(encoding="utf-8").splitlines() if labels_file.is_file() else []
    # Validate the combined file first: a conflict with an existing label stops the import.
    parse_label_lines(existing + [json.dumps(r) for r in rows], labels, str(labels_file))
    current = parse_label_lines(existing, labels, str(labels_file))
    known = set(zip(current["doc"], current["text"], strict=True))
    new = [r for r in rows if (r["doc"], r["text"]) not in known]
    for row in new:
        append_label(labels_file, row)
    log.info("import: %d labels read, %d new appended to %s", len(rows), len(new), labels_file)
