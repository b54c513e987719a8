"""Stage `evaluate`: the held-out test documents -> metrics, plots, errors, one MLflow run."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from rhetoric.corpus.documents import match_labels, read_labels
from rhetoric.evaluation.results import describe, evaluate_model, write_reports
from rhetoric.io import file_sha256
from rhetoric.model.labeler import Labeler
from rhetoric.params import EvaluateParams, parse_labels, read_params
from rhetoric.vectors import VectorStore

log = logging.getLogger(__name__)


def run(
    paragraphs: Path,
    labels_file: Path,
    store: Path,
    model_dir: Path,
    reports: Path,
    params_file: Path,
    dev_labels: Path | None = None,
) -> None:
    raw = read_params(params_file)
    labels = parse_labels(raw.get("labels"))
    params = EvaluateParams.from_dict(raw.get("evaluate"))
    labeler = Labeler.load(model_dir, store=store)
    labeler.check_compatible(labels)
    labeled = match_labels(pd.read_parquet(paragraphs), read_labels(labels_file, labels), str(labels_file))
    dev = read_labels(dev_labels, labels) if dev_labels is not None else None
    dev_file = None if dev_labels is None else {"file": str(dev_labels), "sha256": file_sha256(dev_labels)}
    evaluation = evaluate_model(labeler, labeled, dev, params.calibration_bins, dev_file)
    artifacts = write_reports(evaluation, reports)
    from rhetoric.tracking.runs import log_evaluation

    recipe = labeler.card.embed_params  # an int8-static model's quantized encoder goes along
    quantized = (
        VectorStore(store, recipe.store_key).encoder_folder if recipe.backend == "int8-static" else None
    )
    run_id = log_evaluation(evaluation, labeler.card, raw, artifacts, model_dir, quantized)
    for line in describe(evaluation, run_id):
        log.info("evaluate: %s", line)
