"""The MLflow model, defined from code (no cloudpickle): raw text in, label and scores out.

The embedder is not copied into the run: the card names it and its weight hash, and
it resolves on the loading machine (offline) like any rhetoric model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel


class ParagraphClassifier(PythonModel):
    def load_context(self, context: Any) -> None:
        from rhetoric.io import read_json
        from rhetoric.labeler import Labeler
        from rhetoric.model import load_head

        card = read_json(Path(context.artifacts["card"]))
        self.labeler = Labeler(load_head(Path(context.artifacts["classifier"])), card)

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        if "text" not in model_input.columns:
            raise ValueError("input needs a 'text' column of paragraphs")
        return self.labeler.label(model_input["text"].astype(str).tolist())


mlflow.models.set_model(ParagraphClassifier())
