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

The card names the sha256 of the head it belongs to (`files`), and reading the card checks
it: a head and card from two different trainings (a stage killed between the two renames,
a file copied by hand) are refused with one line instead of being used together. Likewise
the package's manifest names the sha256 of every file in the package, checked as each part
is loaded (`Package.verify`). Our own code: it is a few lines over hashlib.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rhetoric.errors import ModelError
from rhetoric.io import atomic_open, atomic_path, file_sha256, read_json, write_json
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

    def file_hashes(self) -> dict[str, str]:
        """sha256 of every file under the package (but its manifest), by POSIX relative path."""
        return {
            path.relative_to(self.root).as_posix(): file_sha256(path)
            for path in sorted(self.root.rglob("*"))
            if path.is_file() and path != self.manifest_file
        }

    def verify(self, manifest: dict[str, Any], embedder: bool) -> None:
        """Check the files the manifest lists, those of the embedder (`embedder`) or the rest
        (the head), against their hashes: a ModelError naming the first one that differs.
        Split so that a prediction served from cached vectors never hashes the ONNX graph."""
        files = manifest.get("files")
        if not isinstance(files, dict) or not files:
            raise ModelError(
                f"{self.manifest_file}: lists no file hashes (made by an older rhetoric or damaged); "
                "re-export with `dvc repro` (or `rhetoric package`)."
            )
        for name, expected in sorted(files.items()):
            if str(name).startswith(f"{EMBEDDER_DIR}/") != embedder:
                continue
            path = self.root / str(name)
            if ".." in Path(str(name)).parts or not path.is_file() or path.is_symlink():
                raise ModelError(f"{path}: missing from the package; re-export with `dvc repro`.")
            if file_sha256(path) != expected:
                raise ModelError(
                    f"{path}: does not match the package manifest ({self.manifest_file.name}); it was "
                    "changed after packaging. Re-export with `dvc repro` (or `rhetoric package`)."
                )


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
    def trained_files(self) -> tuple[Path, Path]:
        """The card and the head: what labeling reads here, which no output may overwrite."""
        return self.card_file, self.head_file

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

    @property
    def previous_head_file(self) -> Path:
        """The head before the last `save`, kept (hard-linked) only while a save is under way."""
        return self.root / f".{HEAD_FILE}.previous"

    def read_card(self) -> ModelCard:
        """The validated card of this folder's head; a one-line ModelError when it is missing,
        damaged, or does not belong to the head beside it."""
        return self.card_and_head()[0]

    def card_and_head(self) -> tuple[ModelCard, Path, str]:
        """The card, the head file it describes and that file's sha256 (checked)."""
        path = self.card_file
        if not path.is_file():
            raise ModelError(f"{path}: no trained model in {self.root}; run `dvc repro` to train one.")
        try:
            data = read_json(path)
        except (OSError, ValueError) as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            raise ModelError(
                f"{path}: unreadable model card ({type(error).__name__}); retrain with `dvc repro`."
            ) from None
        except RecursionError:
            raise ModelError(
                f"{path}: unreadable model card (nested too deeply); retrain with `dvc repro`."
            ) from None
        card = ModelCard.from_dict(data, str(path))
        head, sha = self.verified_head(data.get("files"))
        return card, head, sha

    def verified_head(self, files: Any) -> tuple[Path, str]:
        """The head file whose sha256 is the one the card names: the head, or the previous
        head while a `save` was cut between its two renames (the card is then still the old
        one, and so is the model in use)."""
        expected = files.get(HEAD_FILE) if isinstance(files, dict) else None
        if not isinstance(expected, str):
            raise ModelError(
                f"{self.card_file}: names no sha256 of {HEAD_FILE} (made by an older rhetoric or "
                "damaged); retrain with `dvc repro`."
            )
        if not self.head_file.is_file():
            raise ModelError(f"{self.head_file}: no trained classifier; run `dvc repro` to train one.")
        for candidate in (self.head_file, self.previous_head_file):
            if candidate.is_file() and file_sha256(candidate) == expected:
                return candidate, expected
        raise ModelError(
            f"{self.head_file}: is not the classifier {self.card_file.name} describes (its sha256 "
            "differs): the two come from different trainings or were changed. Retrain with `dvc repro`."
        )

    def save(self, head: bytes, card: ModelCard) -> None:
        """Write the head's bytes and its card (naming their sha256) so that a kill at any
        moment leaves a model that loads: both are written in full to temporary files; the
        current head is hard-linked aside; the head is renamed into place, then the card; the
        link is removed. Cut between the renames, the old card still finds its head aside."""
        self.root.mkdir(parents=True, exist_ok=True)
        data = {**card.to_dict(), "files": {HEAD_FILE: hashlib.sha256(head).hexdigest()}}
        with atomic_open(self.card_file) as card_handle:
            json.dump(data, card_handle, indent=2, ensure_ascii=False, sort_keys=True)
            card_handle.write("\n")
            with atomic_path(self.head_file) as head_tmp:
                with open(head_tmp, "wb") as handle:
                    handle.write(head)
                    handle.flush()
                    os.fsync(handle.fileno())
                self._keep_previous_head()
            # here the new head is in place; the card is renamed when this block closes
        self.previous_head_file.unlink(missing_ok=True)

    def _keep_previous_head(self) -> None:
        if not self.head_file.is_file():
            return
        link = self.root / f".{HEAD_FILE}.previous.tmp"
        link.unlink(missing_ok=True)
        try:
            os.link(self.head_file, link)
        except OSError:  # a file system without hard links
            shutil.copyfile(self.head_file, link)
        os.replace(link, self.previous_head_file)

    def write_card(self, card: ModelCard) -> None:
        """Write the card of the head already in this folder."""
        data = {**card.to_dict(), "files": {HEAD_FILE: file_sha256(self.head_file)}}
        write_json(self.card_file, data)

    def current_package(self) -> dict[str, Any] | None:
        """The manifest of the package when it was made from the head now in this folder, else
        None (a stale package is never used: it would label with an older model)."""
        manifest_file = self.package.manifest_file
        if not manifest_file.is_file() or not self.head_file.is_file():
            return None
        try:
            manifest = read_json(manifest_file)
        except (OSError, ValueError, RecursionError):
            manifest = None
        if not isinstance(manifest, dict):
            raise ModelError(
                f"{manifest_file}: unreadable package manifest; re-export with `dvc repro` "
                "(or `rhetoric package`)."
            )
        if manifest.get("head_sha256") != self.card_and_head()[2]:
            return None
        self.package.verify(manifest, embedder=False)
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
