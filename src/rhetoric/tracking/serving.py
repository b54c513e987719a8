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

from rhetoric.errors import RhetoricError
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
        """Label the `text` column. Bad input is an MlflowException with error code BAD_REQUEST
        and our one-line message (no stack trace in the server's response): a missing column,
        a null or non-string text, a text over `labeler.MAX_TEXT_CHARS`."""
        if self.labeler is None:
            raise ValueError("the model is not loaded; load it with mlflow.pyfunc.load_model")
        if not isinstance(model_input, pd.DataFrame) or "text" not in model_input.columns:
            raise bad_request("input needs a 'text' column of paragraphs")
        try:
            results = self.labeler.label(model_input["text"].tolist())
        except RhetoricError as error:
            raise bad_request(str(error)) from None
        return to_frame(results, self.labeler.labels)


def bad_request(message: str) -> Exception:
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import BAD_REQUEST

    return MlflowException(message, error_code=BAD_REQUEST)


mlflow.models.set_model(ParagraphClassifier())
