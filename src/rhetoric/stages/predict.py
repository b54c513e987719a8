"""Stage and command `predict`: documents or JSONL rows -> labels and scores per paragraph."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from rhetoric import project
from rhetoric.model import prediction
from rhetoric.model.folder import ModelFolder
from rhetoric.model.labeler import Labeler
from rhetoric.params import EmbedParams, PredictParams, SegmentParams, model_requirements, read_params

log = logging.getLogger(__name__)


def run(
    inputs: list[Path],
    model: Path | None,
    vectors: Path | None,
    params_file: Path | None,
    outputs: prediction.Outputs,
    engine: str | None = None,
) -> None:
    """Label `inputs`; without `model`/`params_file`, those of the project this runs in.
    `engine` (local or ray) overrides embed.engine from params."""
    model = model or project.default_model(Path.cwd(), os.environ)
    params_file = params_file or project.project_file(Path.cwd(), os.environ, project.PARAMS_FILE)
    raw = read_params(params_file) if params_file else {}
    max_bytes = SegmentParams.from_dict(raw.get("segment")).max_document_bytes
    predict = PredictParams.from_dict(raw.get("predict"))
    if str(model).startswith("models:/"):
        from rhetoric.tracking.runs import download_to_temporary_folder

        model = download_to_temporary_folder(str(model))
    labeler = Labeler.load(model, exported=True, store=vectors)
    if (required := model_requirements(raw)) is not None:
        labeler.check_compatible(*required)
    files = prediction.expand_inputs(inputs)
    read = [*files, *inputs, *ModelFolder(model).trained_files, *([params_file] if params_file else [])]
    prediction.check_outputs(outputs, read)
    evidence = outputs.report is not None and predict.sentence_evidence
    on_ray = (engine or EmbedParams.from_dict(raw.get("embed")).engine) == "ray"
    if on_ray:
        from rhetoric.engines.ray_predict import label_on_ray

        labeled_rows = label_on_ray(files, max_bytes, model, vectors)
    else:
        rows = prediction.input_rows(files, max_bytes)
        labeled_rows = prediction.label_rows(labeler, rows, evidence=evidence)
    with prediction.output_stream(outputs.output) as handle:
        labeled = prediction.write_labeled(labeled_rows, handle, labeler.labels, outputs)
    if evidence and on_ray:  # Ray's rows come back without it
        from rhetoric.report.evidence import add_sentence_evidence

        add_sentence_evidence(labeled.rows, labeler.sentence_evidence)
    if evidence:
        log.info("predict: %s", evidence_summary(labeled.rows))
    for line in prediction.write_extras(labeled, outputs, predict.low_confidence):
        log.info("predict: %s", line)


def evidence_summary(rows: list[dict]) -> str:
    """How many sentences the report shows, or why it shows none where it could have."""
    from rhetoric.encoders.sentence_spans import sentence_spans

    count = sum(len(row.get("sentences") or []) for row in rows)
    if count or not any(sentence_spans(row["text"]) for row in rows):
        return f"{count} sentences labeled for the report"
    return (
        "no sentence evidence: this model cannot say which sentences carried a label (its "
        "encoder is not mean-pooled, was exported before sentence evidence, or its head was "
        "trained on sentence features); re-export it with `rhetoric package` if it is old"
    )
