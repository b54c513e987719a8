"""Commands `export` and `import`: Label Studio and doccano, both ways."""

from __future__ import annotations

import logging
from pathlib import Path

from rhetoric.io import atomic_open, check_output_target, read_input_text, text_lines
from rhetoric.labeling import annotation as a
from rhetoric.params import parse_labels, read_params

log = logging.getLogger(__name__)


def export(output: Path, fmt: str, predictions: Path, labels_file: Path, params_file: Path) -> None:
    a.check_format(fmt)
    labels = parse_labels(read_params(params_file).get("labels"))
    check_output_target(output, [predictions, labels_file, params_file])
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


def import_(source: Path, fmt: str, labels_file: Path, params_file: Path, paragraphs: Path) -> None:
    a.check_format(fmt)
    labels = parse_labels(read_params(params_file).get("labels"))
    imported = a.parse_tasks(read_input_text(source), fmt, labels, str(source))
    a.check_rows_match(imported.rows, a.known_paragraphs(paragraphs), str(source))
    existing = text_lines(read_input_text(labels_file)) if labels_file.exists() else []
    new = a.new_labels(existing, imported.rows, labels, str(labels_file))
    for row in new:
        a.append_label(labels_file, row)
    log.info("import: %s", a.import_summary(imported, len(new), str(labels_file)))
