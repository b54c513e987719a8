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

A retrained head is packaged with the embedder of the package it replaces when that was
exported from the same encoder by today's recipe and its files still match their hashes
(the `package` output is persisted, so it is still there): the stage took 36 s exporting
all-mpnet-base-v2 and 9 s keeping its export on 2 cores, on every `dvc exp run` that only
changed the head.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from rhetoric.encoders.onnx_encoder import export_folder, export_staleness, exported_meta
from rhetoric.errors import ModelError
from rhetoric.io import atomic_folder, read_json, write_json
from rhetoric.model.folder import ModelFolder, Package
from rhetoric.model.linear_head import LinearHead
from rhetoric.model.sklearn_head import load_head

log = logging.getLogger(__name__)


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


def reusable_embedder(previous: Path, embedder: dict[str, Any], backend: str) -> Path | None:
    """The embedder folder of the package at `previous` when it is an export of `embedder`
    (an identity's `to_dict()`) for `backend` by today's recipe whose files match that
    package's manifest; else None (nothing there, another encoder, an older recipe, a
    changed or damaged file)."""
    package = Package(previous)
    try:
        manifest = read_json(package.manifest_file) if package.manifest_file.is_file() else None
        meta = exported_meta(package.embedder)
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(manifest, dict) or not isinstance(meta, dict):
        return None
    if meta.get("embedder") != embedder or meta.get("backend") != backend or export_staleness(meta):
        return None
    try:
        package.verify(manifest, embedder=True)
    except ModelError:
        return None
    return package.embedder


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
        elif reused := reusable_embedder(output, manifest["embedder"], manifest["embedder_backend"]):
            log.info("package: the embedder of the package it replaces (same encoder and recipe)")
            shutil.copytree(reused, package.embedder, dirs_exist_ok=True)
        else:
            export_folder(identity, package.embedder, manifest["embedder_backend"])
        if linear is not None:
            linear.save(work)
        manifest["files"] = package.file_hashes()
        write_json(package.manifest_file, manifest)
    return manifest
