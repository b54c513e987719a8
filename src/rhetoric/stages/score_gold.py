"""Command `evaluate --labels FILE`: score the trained model on the user's own gold rows."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from rhetoric import project
from rhetoric.errors import DataError
from rhetoric.evaluation.metrics import confusion_table, per_source
from rhetoric.evaluation.results import format_report, score
from rhetoric.model.labeler import Labeler
from rhetoric.model.prediction import jsonl_rows
from rhetoric.params import EvaluateParams, read_params


def run(
    labels_file: Path, model_dir: Path | None, params_file: Path | None, store: Path | None = None
) -> None:
    """Score `labels_file`; the model, params and vector store not given are the project's."""
    start = Path.cwd()
    model_dir = model_dir or project.default_model(start, os.environ)
    params_file = params_file or project.project_file(start, os.environ, project.PARAMS_FILE)
    store = store or project.project_file(start, os.environ, project.VECTOR_STORE)
    raw = read_params(params_file) if params_file and params_file.is_file() else {}
    params = EvaluateParams.from_dict(raw.get("evaluate"))
    labeler = Labeler.load(model_dir, store=store)
    if not labels_file.is_file():
        raise DataError(f"{labels_file}: no such file.")
    rows = list(jsonl_rows(labels_file))
    for number, row in enumerate(rows, start=1):
        if row.get("label") not in labeler.labels:
            raise DataError(
                f"{labels_file}, row {number}: label {row.get('label')!r} is not one of "
                f"the model's labels ({', '.join(labeler.labels)})."
            )
    if not rows:
        raise DataError(f"{labels_file}: no rows to score.")
    truth = [r["label"] for r in rows]
    scores = score(labeler, [r["text"] for r in rows], truth, params.calibration_bins)
    predicted = scores.predictions["predicted"].tolist()
    confusion = confusion_table(truth, predicted, labeler.labels)
    typer.echo(format_report(scores.metrics, confusion, per_source(rows, truth, predicted, labeler.labels)))
