"""The model folder's layout: the one module that knows its file names.

    models/
      card.json           the ModelCard (labels, encoder, recipe, split, selection)
      classifier.skops    the scikit-learn head (skops, no pickle)
      onnx-encoder/       only in a loaded MLflow model's own copy: its encoder exported
                          there for a model trained on ONNX vectors (see serving.py)
      quantized-encoder/  only in a registered model of int8-static vectors: its encoder
      export/             the package written by the `export` stage:
        export.json       its manifest (hash of the skops head it was made from, ...)
        embedder/         the encoder as ONNX (an `onnx_encoder` folder)
        head.json, .npz   a linear head as arrays (named by `linear_head`)

A registered MLflow model's artifacts folder holds card.json and classifier.skops under
the same names, so it is a model folder too. Every other module asks this one for paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rhetoric.errors import ModelError
from rhetoric.io import file_sha256, read_json, write_json
from rhetoric.model.card import ModelCard

CARD_FILE = "card.json"
HEAD_FILE = "classifier.skops"
EXPORT_DIR = "export"
MANIFEST_FILE = "export.json"
EMBEDDER_DIR = "embedder"
ONNX_CACHE_DIR = "onnx-encoder"
QUANTIZED_DIR = "quantized-encoder"


@dataclass(frozen=True)
class Package:
    """A packaged model (the `export` stage's output folder)."""

    root: Path

    @property
    def manifest_file(self) -> Path:
        return self.root / MANIFEST_FILE

    @property
    def embedder(self) -> Path:
        """The ONNX encoder folder inside the package."""
        return self.root / EMBEDDER_DIR


@dataclass(frozen=True)
class ModelFolder:
    """A trained model on disk: card, skops head and (optionally) its package."""

    root: Path

    @property
    def card_file(self) -> Path:
        return self.root / CARD_FILE

    @property
    def head_file(self) -> Path:
        return self.root / HEAD_FILE

    @property
    def package(self) -> Package:
        return Package(self.root / EXPORT_DIR)

    @property
    def quantized_encoder(self) -> Path:
        """Only in a registered MLflow model of int8-static vectors: the store's quantized
        encoder, logged with it (it cannot be remade without the corpus)."""
        return self.root / QUANTIZED_DIR

    @property
    def onnx_cache(self) -> Path:
        """Where the MLflow model exports its encoder when it was trained on ONNX vectors
        and no other folder is given: inside the model's own (loaded, local) copy."""
        return self.root / ONNX_CACHE_DIR

    def read_card(self) -> ModelCard:
        """The validated card; a one-line ModelError when it is missing or damaged."""
        path = self.card_file
        if not path.is_file():
            raise ModelError(f"{path}: no trained model in {self.root}; run `dvc repro` to train one.")
        try:
            data = read_json(path)
        except (OSError, ValueError) as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            raise ModelError(
                f"{path}: unreadable model card ({type(error).__name__}); retrain with `dvc repro`."
            ) from None
        return ModelCard.from_dict(data, str(path))

    def write_card(self, card: ModelCard) -> None:
        write_json(self.card_file, card.to_dict())

    def current_package(self) -> dict[str, Any] | None:
        """The manifest of the package when it was made from the head now in this folder, else
        None (a stale package is never used: it would label with an older model)."""
        manifest_file = self.package.manifest_file
        if not manifest_file.is_file() or not self.head_file.is_file():
            return None
        manifest = read_json(manifest_file)
        if manifest.get("head_sha256") != file_sha256(self.head_file):
            return None
        return manifest

    def with_local_encoder(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """The embed manifest with its encoder's path made relative to this folder when the
        encoder lives inside it (a fine-tuned encoder under models/), so the card names it
        wherever the project is checked out."""
        path = Path(manifest["embedder"]["path"]).resolve()
        if not path.is_relative_to(self.root.resolve()):
            return manifest
        local = path.relative_to(self.root.resolve()).as_posix()
        return {**manifest, "embedder": {**manifest["embedder"], "path": local}}

    def encoder_identity(self, card: ModelCard) -> Any:
        """The `EmbedderIdentity` of the card's encoder on this machine: a folder inside this
        model (a fine-tuned encoder) or one resolved by name (package, local folder, hub
        cache); a ModelError when its weights differ from the card's."""
        from rhetoric.encoders.embedding import EmbedderIdentity, resolve_model, weights_sha256

        wanted = card.embedder
        if wanted.inside_model:
            folder = self.root / wanted.path
            if not folder.is_dir():
                raise ModelError(
                    f"{folder}: the model's encoder folder is missing; retrain with `dvc repro`."
                )
            identity = EmbedderIdentity(wanted.name, str(folder), weights_sha256(folder))
        else:
            identity = resolve_model(wanted.name)
        if identity.weights_sha256 != wanted.weights_sha256:
            raise ModelError(
                f"embedder {wanted.name!r} on this machine ({identity.path}) has weights "
                f"{identity.weights_sha256[:12]}, the model was trained with "
                f"{wanted.weights_sha256[:12]}; install the same model or retrain with `dvc repro`."
            )
        return identity
