"""Stage and command `predict`: documents or JSONL rows -> labels and scores per paragraph."""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from pathlib import Path

from rhetoric.errors import DataError
from rhetoric.io import atomic_open, write_csv
from rhetoric.labeler import Labeler
from rhetoric.params import PredictParams, SegmentParams, parse_labels, read_params
from rhetoric.prediction import document_summary, expand_inputs, input_rows, label_rows

log = logging.getLogger(__name__)


def run(
    inputs: list[Path],
    output: Path | None,
    summary: Path | None,
    model_dir: Path,
    vectors: Path | None,
    params_file: Path | None,
    report: Path | None = None,
    metadata: Path | None = None,
    timeline: Path | None = None,
) -> None:
    raw = read_params(params_file) if params_file else {}
    segment = SegmentParams.from_dict(raw.get("segment"))
    predict = PredictParams.from_dict(raw.get("predict"))
    if str(model_dir).startswith("models:/"):
        import tempfile

        from rhetoric.tracking import download_registered_model

        model_dir = download_registered_model(
            str(model_dir), Path(tempfile.mkdtemp(prefix="rhetoric-model-"))
        )
    labeler = Labeler.load(model_dir, exported=True)
    if "labels" in raw:
        labeler.check_compatible(parse_labels(raw["labels"]), raw.get("embed", {}).get("model"))
    lookup = None
    if vectors is not None:
        from rhetoric.vectors import VectorStore

        lookup = VectorStore(vectors, labeler.card["embed_params"]["store_key"]).find
    rows = input_rows(expand_inputs(inputs), int(segment.max_document_mb * 1024 * 1024))
    written = []
    target = atomic_open(output) if output else contextlib.nullcontext(sys.stdout)
    with target as handle:
        for row in label_rows(labeler, rows, lookup=lookup):
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            written.append(
                {
                    "doc": row.get("doc", ""),
                    "label": row["label"],
                    "scores": row["scores"],
                    "text": row["text"] if report else "",
                }
            )
    if summary is not None:
        write_csv(summary, document_summary(written, labeler.labels, predict.low_confidence))
    meta = None
    if metadata is not None and metadata.is_file():
        import pandas as pd

        meta = pd.read_csv(metadata)
    if report is not None:
        from rhetoric.report import write_report

        pages = write_report(written, labeler.labels, report, predict.low_confidence, meta)
        log.info("predict: report of %d pages -> %s", pages, report / "index.html")
    if timeline is not None:
        if meta is None or "date" not in meta.columns:
            raise DataError("--timeline needs --metadata with a 'date' column (data/documents.csv).")
        from rhetoric.plots import save_label_mix_png
        from rhetoric.report import label_colours, label_mix_by_period

        mix = label_mix_by_period(written, labeler.labels, meta)
        long = mix.reset_index().melt(id_vars="period", var_name="label", value_name="share")
        write_csv(timeline, long)
        save_label_mix_png(mix, timeline.with_suffix(".png"), label_colours(labeler.labels))
    log.info("predict: %d paragraphs labeled%s", len(written), f" -> {output}" if output else "")
