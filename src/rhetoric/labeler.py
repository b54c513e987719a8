"""A trained model put back together for labeling: the skops head plus its embedder.

The card (models/card.json) names the embedder by name and weight hash; loading
resolves the name on this machine and refuses a model whose weights differ.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rhetoric.errors import ModelError
from rhetoric.features import build_feature_frame
from rhetoric.io import read_json
from rhetoric.model import load_head
from rhetoric.segment import paragraph_sha1

HEAD_FILE = "classifier.skops"
# Cached vectors by text sha1, None where not cached (VectorStore.find).
Lookup = Callable[[Sequence[str]], list]
CARD_FILE = "card.json"


def read_card(model_dir: Path) -> dict[str, Any]:
    path = model_dir / CARD_FILE
    if not path.is_file():
        raise ModelError(f"{path}: no trained model in {model_dir}; run `dvc repro` to train one.")
    return read_json(path)


def score_columns(labels: Sequence[str]) -> list[str]:
    return [f"p_{label}" for label in labels]


class Labeler:
    """Labels paragraphs with a trained head; embeds them unless vectors are given."""

    def __init__(self, head: Any, card: dict[str, Any]) -> None:
        self.head = head
        self.card = card
        self.labels: list[str] = list(card["labels"])
        if list(head.classes_) != sorted(self.labels):
            raise ModelError("the classifier's classes do not match its card's labels; retrain it.")
        self._encoder: Any = None

    @classmethod
    def load(cls, model_dir: str | Path) -> Labeler:
        model_dir = Path(model_dir)
        card = read_card(model_dir)
        return cls(load_head(model_dir / HEAD_FILE), card)

    def check_compatible(self, labels: Sequence[str], embed_model: str | None = None) -> None:
        """Refuse to mix a model with params it was not trained for."""
        if list(labels) != self.labels:
            raise ModelError(
                f"the model was trained with labels {self.labels}, but params say "
                f"{list(labels)}; retrain with `dvc repro` or use a matching model."
            )
        trained = self.card["embedder"]["name"]
        if embed_model is not None and embed_model != trained:
            raise ModelError(
                f"the model was trained on embedder {trained!r}, but params "
                f"embed.model is {embed_model!r}; retrain with `dvc repro`."
            )

    def encoder(self) -> Any:
        if self._encoder is None:
            from rhetoric.embedding import Encoder, resolve_model

            wanted = self.card["embedder"]
            identity = resolve_model(wanted["name"])
            if identity.weights_sha256 != wanted["weights_sha256"]:
                raise ModelError(
                    f"embedder {wanted['name']!r} on this machine ({identity.path}) has weights "
                    f"{identity.weights_sha256[:12]}, the model was trained with "
                    f"{wanted['weights_sha256'][:12]}; install the same model or retrain."
                )
            embed = self.card.get("embed_params", {})
            self._encoder = Encoder(
                identity, backend=embed.get("backend", "auto"), batch_size=embed.get("batch_size", 32)
            )
        return self._encoder

    @property
    def uses_sentences(self) -> bool:
        return "sentences" in self.card.get("train_params", {}).get("features", ())

    def vectors_for(self, texts: Sequence[str], lookup: Lookup | None = None) -> np.ndarray:
        """Vectors of `texts`: cached ones from `lookup(sha1s)`, the rest encoded now."""
        found: list[np.ndarray | None] = (
            lookup([paragraph_sha1(t) for t in texts]) if lookup else [None] * len(texts)
        )
        todo = [i for i, v in enumerate(found) if v is None]
        if todo:
            fresh = self.encoder().encode([texts[i] for i in todo])
            for i, vector in zip(todo, fresh, strict=True):
                found[i] = vector
        return np.stack(found).astype(np.float32)

    def features(self, texts: Sequence[str], lookup: Lookup | None = None) -> pd.DataFrame:
        """The head's input for `texts` (paragraph and, if used, sentence vectors)."""
        return build_feature_frame(texts, lambda batch: self.vectors_for(batch, lookup), self.uses_sentences)

    def predict_proba(self, texts: Sequence[str], lookup: Lookup | None = None) -> np.ndarray:
        """Probabilities with columns in `self.labels` order."""
        if not len(texts):
            return np.zeros((0, len(self.labels)))
        proba = self.head.predict_proba(self.features(texts, lookup))
        order = [list(self.head.classes_).index(label) for label in self.labels]
        return proba[:, order]

    def label(self, texts: Sequence[str], lookup: Lookup | None = None) -> pd.DataFrame:
        """One row per text: `label`, then `p_<label>` for every label."""
        proba = self.predict_proba(texts, lookup)
        frame = pd.DataFrame(proba.round(6), columns=score_columns(self.labels))
        frame.insert(0, "label", [self.labels[i] for i in proba.argmax(axis=1)] if len(proba) else [])
        return frame
