"""Packaging a trained model for fast, torch-free labeling: models/export.

The package holds the embedder as an ONNX graph (`embedder/`, run by onnxruntime) and,
when the head is linear (the default embedding + TF-IDF logistic regression), the head
as plain arrays (`head.json`, `head.npz`). `export.json` records the sha256 of the skops
head it was made from; `Labeler.load(..., exported=True)` uses the package only while
that still matches, so a retrained model is never labeled through a stale package.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rhetoric.io import atomic_folder, file_sha256, write_json
from rhetoric.labeler import EMBEDDER_DIR, EXPORT_FILE, HEAD_FILE, read_card, trained_embedder
from rhetoric.linear_head import LinearHead
from rhetoric.model import load_head
from rhetoric.onnx_encoder import export_folder


def onnx_backend_for(trained_backend: str) -> str:
    """The ONNX precision closest to the vectors the head was trained on.

    >>> onnx_backend_for("bf16"), onnx_backend_for("int8")
    ('onnx', 'int8')
    """
    return "int8" if trained_backend == "int8" else "onnx"


def export_model(model_dir: Path, output: Path) -> dict[str, Any]:
    """Write the package for the model in `model_dir` to `output` (replaced atomically)."""
    card = read_card(model_dir)
    head_file = model_dir / HEAD_FILE
    identity = trained_embedder(card)
    linear = LinearHead.from_pipeline(load_head(head_file))
    manifest = {
        "head_sha256": file_sha256(head_file),
        "linear_head": linear is not None,
        "embedder_backend": onnx_backend_for(card["embed_params"]["backend"]),
        "embedder": identity.to_dict(),
    }
    with atomic_folder(output) as work:
        (work / EMBEDDER_DIR).mkdir()
        export_folder(identity, work / EMBEDDER_DIR, manifest["embedder_backend"])
        if linear is not None:
            linear.save(work)
        write_json(work / EXPORT_FILE, manifest)
    return manifest
