"""A trained model put back together for labeling: its head plus its embedder.

The card (models/card.json) names the embedder by name and weight hash; loading
resolves the name on this machine and refuses a model whose weights differ.

Where the `export` stage has packaged the model (models/export: the embedder as ONNX,
a linear head as arrays) and the package matches the trained head, `load(...,
exported=True)` uses it, so labeling imports neither torch, sentence-transformers,
scikit-learn nor pandas; that is what lets `rhetoric predict` answer in about a second.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rhetoric.errors import ModelError
from rhetoric.io import file_sha256, read_json
from rhetoric.linear_head import LinearHead
from rhetoric.segment import paragraph_sha1

if TYPE_CHECKING:
    import pandas as pd

HEAD_FILE = "classifier.skops"
# Cached vectors by text sha1, None where not cached (VectorStore.find).
Lookup = Callable[[Sequence[str]], list]
CARD_FILE = "card.json"
EXPORT_DIR = "export"
EXPORT_FILE = "export.json"
EMBEDDER_DIR = "embedder"


def current_export(model_dir: Path) -> dict[str, Any] | None:
    """The manifest of models/export when it was made from the head now in `model_dir`, else
    None (a stale package is never used: it would label with an older model)."""
    manifest_file = model_dir / EXPORT_DIR / EXPORT_FILE
    if not manifest_file.is_file() or not (model_dir / HEAD_FILE).is_file():
        return None
    manifest = read_json(manifest_file)
    if manifest.get("head_sha256") != file_sha256(model_dir / HEAD_FILE):
        return None
    return manifest


def trained_embedder(card: dict[str, Any]) -> Any:
    """The `EmbedderIdentity` of the model the card was trained with, resolved on this
    machine; a ModelError when the weights found here differ from the card's."""
    from rhetoric.embedding import resolve_model

    wanted = card["embedder"]
    identity = resolve_model(wanted["name"])
    if identity.weights_sha256 != wanted["weights_sha256"]:
        raise ModelError(
            f"embedder {wanted['name']!r} on this machine ({identity.path}) has weights "
            f"{identity.weights_sha256[:12]}, the model was trained with "
            f"{wanted['weights_sha256'][:12]}; install the same model or retrain with `dvc repro`."
        )
    return identity


def read_card(model_dir: Path) -> dict[str, Any]:
    path = model_dir / CARD_FILE
    if not path.is_file():
        raise ModelError(f"{path}: no trained model in {model_dir}; run `dvc repro` to train one.")
    return read_json(path)


def score_columns(labels: Sequence[str]) -> list[str]:
    return [f"p_{label}" for label in labels]


class Labeler:
    """Labels paragraphs with a trained head (skops pipeline or exported `LinearHead`);
    embeds them unless vectors are given, with the exported ONNX embedder where there is one."""

    def __init__(self, head: Any, card: dict[str, Any], onnx_embedder: Path | None = None) -> None:
        self.head = head
        self.card = card
        self.labels: list[str] = list(card["labels"])
        classes = head.classes if isinstance(head, LinearHead) else list(head.classes_)
        if list(classes) != sorted(self.labels):
            raise ModelError("the classifier's classes do not match its card's labels; retrain it.")
        self.classes: list[str] = list(classes)
        self.onnx_embedder = onnx_embedder
        self._encoder: Any = None

    @classmethod
    def load(cls, model_dir: str | Path, exported: bool = False) -> Labeler:
        """The model in `model_dir`; with `exported`, its current export where there is one."""
        model_dir = Path(model_dir)
        card = read_card(model_dir)
        manifest = current_export(model_dir) if exported else None
        package = model_dir / EXPORT_DIR
        embedder = package / EMBEDDER_DIR if manifest else None
        if manifest and manifest.get("linear_head"):
            return cls(LinearHead.load(package), card, embedder)
        from rhetoric.model import load_head

        return cls(load_head(model_dir / HEAD_FILE), card, embedder)

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
        if self._encoder is None and self.onnx_embedder is not None:
            from rhetoric.onnx_encoder import OnnxEncoder

            self._encoder = OnnxEncoder(self.onnx_embedder)
            if self._encoder.identity.weights_sha256 != self.card["embedder"]["weights_sha256"]:
                raise ModelError(
                    f"{self.onnx_embedder}: exported from other weights than the model was trained "
                    "with; re-export it with `dvc repro`."
                )
        if self._encoder is None:
            from rhetoric.embedding import choose_backend, choose_device, make_encoder

            identity = trained_embedder(self.card)
            embed = self.card.get("embed_params", {})
            device = choose_device("auto")
            backend = choose_backend(embed.get("backend", "auto"), device)
            # Without a package, a model trained on ONNX vectors exports its embedder once to a
            # cache folder (reused while the weights match).
            onnx_cache = Path(tempfile.gettempdir()) / "rhetoric-onnx" / f"{identity.key}-{backend}"
            self._encoder = make_encoder(identity, device, backend, embed.get("batch_size", 32), onnx_cache)
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
        """The skops head's input for `texts` (paragraph and, if used, sentence vectors)."""
        from rhetoric.features import build_feature_frame

        return build_feature_frame(texts, lambda batch: self.vectors_for(batch, lookup), self.uses_sentences)

    def predict_proba(self, texts: Sequence[str], lookup: Lookup | None = None) -> np.ndarray:
        """Probabilities with columns in `self.labels` order."""
        if not len(texts):
            return np.zeros((0, len(self.labels)))
        if isinstance(self.head, LinearHead):
            vectors = self.vectors_for(texts, lookup) if self.head.dimension else None
            proba = self.head.predict_proba(list(texts), vectors)
        else:
            proba = self.head.predict_proba(self.features(texts, lookup))
        order = [self.classes.index(label) for label in self.labels]
        return proba[:, order]

    def label(self, texts: Sequence[str], lookup: Lookup | None = None) -> pd.DataFrame:
        """One row per text: `label`, then `p_<label>` for every label."""
        import pandas as pd

        proba = self.predict_proba(texts, lookup)
        frame = pd.DataFrame(proba.round(6), columns=score_columns(self.labels))
        frame.insert(0, "label", [self.labels[i] for i in proba.argmax(axis=1)] if len(proba) else [])
        return frame
