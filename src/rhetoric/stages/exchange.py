"""Commands `export` and `import`: Label Studio and doccano, both ways."""

from __future__ import annotations

import logging
from pathlib import Path

from rhetoric.errors import DataError
from rhetoric.io import atomic_open
from rhetoric.labeling import annotation as a
from rhetoric.params import parse_labels, read_params

log = logging.getLogger(__name__)


def export(output: Path, fmt: str, predictions: Path, labels_file: Path, params_file: Path) -> None:
    a.check_format(fmt)
    labels = parse_labels(read_params(params_file).get("labels"))
    _rows, queue = a.read_labeling_queue(predictions, labels_file, labels)
    with atomic_open(output) as handle:
        handle.write(a.render_tasks(queue, fmt))
    log.info("export: %d unlabeled paragraphs -> %s (%s)", len(queue), output, fmt)
    if fmt == "labelstudio":
        log.info("export: the Label Studio project's labeling config is %s", a.LABEL_STUDIO_CONFIG)
        if a.label_studio_choices() != list(labels):
            log.warning(
                "export: %s offers the labels %s, params.yaml has %s; edit its <Choice> values to match.",
                a.LABEL_STUDIO_CONFIG,
                ", ".join(a.label_studio_choices()),
                ", ".join(labels),
            )


def import_(source: Path, fmt: str, labels_file: Path, params_file: Path) -> None:
    a.check_format(fmt)
    labels = parse_labels(read_params(params_file).get("labels"))
    if not source.is_file():
        raise DataError(f"{source}: no such file.")
    rows = a.parse_tasks(source.read_text(encoding="utf-8"), fmt, labels, str(source))
    existing = labels_file.read_text(encoding="utf-8").splitlines() if labels_file.is_file() else []
    new = a.new_labels(existing, rows, labels, str(labels_file))
    for row in new:
        a.append_label(labels_file, row)
    log.info("import: %d labels read, %d new appended to %s", len(rows), len(new), labels_file)
