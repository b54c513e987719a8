"""The MLflow model, defined from code (no cloudpickle): raw text in, label and scores out.

The embedder is not copied into the run: the card names it and its weight hash, and
it resolves on the loading machine (offline) like any rhetoric model. Labeling goes
through the same `Labeler` as `rhetoric predict` (whitespace normalized there); only the
output is flattened, from its `LabeledParagraph`s, into MLflow's DataFrame contract.

A model trained on ONNX vectors (embed.backend onnx or int8) exports its encoder once
into the folder given at load time, `model_config={"onnx_cache": DIR}`, or else into
`onnx-encoder/` beside its artifacts in the local copy MLflow loads (`ModelFolder.onnx_cache`).
A model trained on int8-static vectors carries the store's quantized encoder as the
artifact `quantized-encoder/` (`ModelFolder.quantized_encoder`), which `Labeler.load` uses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel

from rhetoric.model.folder import ModelFolder
from rhetoric.model.labeler import Labeler, to_frame


class ParagraphClassifier(PythonModel):
    """Labels a DataFrame's `text` column; built with a `Labeler` (tests) or from the run's
    artifacts (`load_context`, which finds card.json and classifier.skops side by side)."""

    def __init__(self, labeler: Labeler | None = None) -> None:
        self.labeler = labeler

    def load_context(self, context: Any) -> None:
        cache = (getattr(context, "model_config", None) or {}).get("onnx_cache")
        folder = ModelFolder(Path(context.artifacts["card"]).parent)
        self.labeler = Labeler.load(folder.root, onnx_cache=Path(cache) if cache else folder.onnx_cache)

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        if self.labeler is None:
            raise ValueError("the model is not loaded; load it with mlflow.pyfunc.load_model")
        if "text" not in model_input.columns:
            raise ValueError("input needs a 'text' column of paragraphs")
        results = self.labeler.label(model_input["text"].astype(str).tolist())
        return to_frame(results, self.labeler.labels)


mlflow.models.set_model(ParagraphClassifier())
