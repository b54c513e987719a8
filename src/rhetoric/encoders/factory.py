"""Choosing the encoder for a backend: torch (`embedding.Encoder`) or onnxruntime
(`onnx_encoder.OnnxEncoder`).

Its own module so that neither runtime module imports the other: `onnx_encoder` builds on
`embedding`'s windowing, and only this factory knows both (no import cycle).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rhetoric.encoders.embedding import EmbedderIdentity, Encoder
from rhetoric.encoders.onnx_encoder import OnnxEncoder, ensure_onnx_model
from rhetoric.errors import ModelError
from rhetoric.params import TORCH_BACKENDS


def make_encoder(
    identity: EmbedderIdentity, device: str, backend: str, batch_size: int, onnx_folder: Path | None
) -> Any:
    """The encoder for a resolved device and backend; ONNX backends export the model into
    `onnx_folder` (the caller's explicit cache, e.g. the vector store's `embedder/`) the
    first time (a few seconds) and reuse it after."""
    if backend in TORCH_BACKENDS:
        return Encoder(identity, device=device, backend=backend, batch_size=batch_size)
    if onnx_folder is None:
        raise ModelError(f"embed.backend {backend!r} needs a folder to export the model to; none was given.")
    if device == "cuda":
        raise ModelError(
            f"embed.backend {backend!r} runs on the CPU; use fp32 or bf16 with embed.device cuda."
        )
    return OnnxEncoder(ensure_onnx_model(identity, onnx_folder, backend), batch_size=batch_size)
