"""Packaging a trained model for fast, torch-free labeling: models/export.

The package holds the embedder as an ONNX graph (`embedder/`, run by onnxruntime; for a
model trained on int8-static vectors, the store's quantized OpenVINO embedder, copied so
that predict computes exactly the vectors the head was trained on) and,
when the head is linear (the default embedding + TF-IDF logistic regression), the head
as plain arrays (`head.json`, `head.npz`). `export.json` records the sha256 of the skops
head it was made from and of every file in the package (checked as each is loaded);
`Labeler.load(..., exported=True)` uses the package only while
that still matches, so a retrained model is never labeled through a stale package
(`model.folder` names the files).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from rhetoric.encoders.onnx_encoder import export_folder, exported_meta
from rhetoric.errors import ModelError
from rhetoric.io import atomic_folder, write_json
from rhetoric.model.folder import ModelFolder, Package
from rhetoric.model.linear_head import LinearHead
from rhetoric.model.sklearn_head import load_head


def onnx_backend_for(trained_backend: str) -> str:
    """The exported precision closest to the vectors the head was trained on.

    >>> onnx_backend_for("bf16"), onnx_backend_for("int8"), onnx_backend_for("int8-static")
    ('onnx', 'int8', 'int8-static')
    """
    return trained_backend if trained_backend in ("int8", "int8-static") else "onnx"


def copy_quantized(source: Path, target: Path, weights_sha256: str) -> None:
    """Copy the vector store's quantized embedder (it cannot be remade without the corpus
    paragraphs it was calibrated on) into the package."""
    meta = exported_meta(source)
    if meta is None or meta["embedder"]["weights_sha256"] != weights_sha256:
        raise ModelError(
            f"{source}: no quantized embedder of the model's weights; the model was trained on "
            "int8-static vectors: run `rhetoric embed` (or `dvc repro`) first, and give the vector "
            "store with --store."
        )
    shutil.copytree(source, target, dirs_exist_ok=True)


def export_model(model_dir: Path, output: Path, store: Path | None = None) -> dict[str, Any]:
    """Write the package for the model in `model_dir` to `output` (replaced atomically);
    `store` is the vector store root, needed for a model trained on int8-static vectors."""
    folder = ModelFolder(model_dir)
    card, head_file, head_sha256 = folder.card_and_head()
    identity = folder.encoder_identity(card)
    linear = LinearHead.from_pipeline(load_head(head_file))
    manifest = {
        "head_sha256": head_sha256,
        "linear_head": linear is not None,
        "embedder_backend": onnx_backend_for(card.embed_params.backend),
        "embedder": identity.to_dict(),
    }
    with atomic_folder(output) as work:
        package = Package(work)
        package.embedder.mkdir()
        if manifest["embedder_backend"] == "int8-static":
            if store is None:
                raise ModelError(
                    "the model was trained on int8-static vectors: give the vector store (--store)."
                )
            from rhetoric.vectors import VectorStore

            quantized = VectorStore(store, card.embed_params.store_key).encoder_folder
            copy_quantized(quantized, package.embedder, identity.weights_sha256)
        else:
            export_folder(identity, package.embedder, manifest["embedder_backend"])
        if linear is not None:
            linear.save(work)
        manifest["files"] = package.file_hashes()
        write_json(package.manifest_file, manifest)
    return manifest
