"""Packaging a trained model for fast, torch-free labeling: models/export.

The package holds the embedder as an ONNX graph (`embedder/`, run by onnxruntime) and,
when the head is linear (the default embedding + TF-IDF logistic regression), the head
as plain arrays (`head.json`, `head.npz`). `export.json` records the sha256 of the skops
head it was made from and of every file in the package (checked as each is loaded);
`Labeler.load(..., exported=True)` uses the package only while
that still matches, so a retrained model is never labeled through a stale package
(`model.folder` names the files).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rhetoric.encoders.onnx_encoder import export_folder
from rhetoric.io import atomic_folder, write_json
from rhetoric.model.folder import ModelFolder, Package
from rhetoric.model.linear_head import LinearHead
from rhetoric.model.sklearn_head import load_head


def onnx_backend_for(trained_backend: str) -> str:
    """The ONNX precision closest to the vectors the head was trained on.

    >>> onnx_backend_for("bf16"), onnx_backend_for("int8")
    ('onnx', 'int8')
    """
    return "int8" if trained_backend == "int8" else "onnx"


def export_model(model_dir: Path, output: Path) -> dict[str, Any]:
    """Write the package for the model in `model_dir` to `output` (replaced atomically)."""
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
        export_folder(identity, package.embedder, manifest["embedder_backend"])
        if linear is not None:
            linear.save(work)
        manifest["files"] = package.file_hashes()
        write_json(package.manifest_file, manifest)
    return manifest
