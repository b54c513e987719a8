"""Choosing the encoder for a backend: torch (`embedding.Encoder`), onnxruntime
(`onnx_encoder.OnnxEncoder`) or OpenVINO (`openvino_encoder.OpenVinoEncoder`).

Its own module so that neither runtime module imports the other: `onnx_encoder` builds on
`embedding`'s windowing, and only this factory knows both (no import cycle).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rhetoric.encoders.embedding import EmbedderIdentity, Encoder, choose_torch_backend
from rhetoric.encoders.onnx_encoder import OnnxEncoder, ensure_onnx_model, exported_meta
from rhetoric.encoders.openvino_encoder import (
    MIN_CALIBRATION,
    OpenVinoEncoder,
    ensure_openvino_model,
    is_current,
)
from rhetoric.errors import ModelError
from rhetoric.params import OPENVINO_BACKENDS, TORCH_BACKENDS

log = logging.getLogger(__name__)

# int8-static is kept only where the quantized model's vectors stay this close to fp32
# (minimum cosine on held-out corpus paragraphs, measured when quantizing).
MIN_COSINE = 0.99


def make_encoder(
    identity: EmbedderIdentity,
    device: str,
    backend: str,
    batch_size: int,
    onnx_folder: Path | None,
    calibration: Sequence[str] = (),
    threads: int | None = None,
    states: Path | None = None,
) -> Any:
    """The encoder for a resolved device and backend; exported backends write the model into
    `onnx_folder` (the caller's explicit cache, e.g. the vector store's `embedder/`) the
    first time (seconds; int8-static quantizes on `calibration` paragraphs, a minute or
    two) and reuse it after. `threads`: CPU threads (default: the machine's, up to 8).
    `states`: frozen layers' states from `finetune` (encoders/frozen_states.py), which the
    fp32 torch encoder uses; the others compute every layer."""
    if backend in TORCH_BACKENDS:
        return Encoder(
            identity, device=device, backend=backend, batch_size=batch_size, threads=threads, states=states
        )
    if onnx_folder is None:
        raise ModelError(f"embed.backend {backend!r} needs a folder to export the model to; none was given.")
    if device == "cuda":
        raise ModelError(
            f"embed.backend {backend!r} runs on the CPU; use fp32 or bf16 with embed.device cuda."
        )
    if backend in OPENVINO_BACKENDS:
        folder = ensure_openvino_model(identity, onnx_folder, calibration)
        return OpenVinoEncoder(folder, batch_size=batch_size, threads=threads)
    folder = ensure_onnx_model(identity, onnx_folder, backend)
    return OnnxEncoder(folder, batch_size=batch_size, threads=threads, prepack=True)  # bulk embedding


def prepare_export(
    identity: EmbedderIdentity, backend: str, folder: Path | None, calibration: Sequence[str] = ()
) -> None:
    """Export (or quantize) the model for an exported backend into `folder` now, once, so
    that encoders made later elsewhere (Ray actors) find it there; nothing for torch."""
    if backend in OPENVINO_BACKENDS and folder is not None:
        ensure_openvino_model(identity, folder, calibration)
    elif backend not in TORCH_BACKENDS and folder is not None:
        ensure_onnx_model(identity, folder, backend)


def load_exported(folder: Path, batch_size: int = 32, threads: int | None = None) -> OnnxEncoder:
    """The encoder of an exported folder (a package's `embedder/`), by the runtime it was
    exported for."""
    try:
        meta = exported_meta(folder)
    except ValueError:
        meta = None  # a damaged meta: OnnxEncoder reports it in one line
    if meta is not None and meta.get("backend") in OPENVINO_BACKENDS:
        return OpenVinoEncoder(folder, batch_size=batch_size, threads=threads)
    return OnnxEncoder(folder, batch_size=batch_size, threads=threads)


@dataclass(frozen=True)
class EncoderRecipe:
    """What makes the encoder of one backend, anywhere: here, or in a Ray actor (it pickles,
    the encoder does not). `folder` is the exported models' cache (absolute, so that a
    worker in another folder finds it); `calibration`, int8-static's paragraphs."""

    identity: EmbedderIdentity
    device: str
    backend: str
    batch_size: int
    folder: Path | None
    calibration: tuple[str, ...] = ()
    states: Path | None = None  # the frozen layers' states from `finetune`, if any

    def make(self, threads: int | None = None) -> Any:
        return make_encoder(
            self.identity,
            self.device,
            self.backend,
            self.batch_size,
            self.folder,
            self.calibration,
            threads,
            self.states,
        )

    def prepare(self) -> None:
        """Export (or quantize) now, once, before workers make encoders in parallel."""
        prepare_export(self.identity, self.backend, self.folder, self.calibration)


def check_int8_static(recipe: EncoderRecipe, folder_for: Callable[[str], Path]) -> EncoderRecipe:
    """int8-static (asked for, or `auto`'s choice on a VNNI CPU) only where it holds quality:
    quantize now (once: cached) and read the cosine to fp32 recorded on held-out paragraphs; below
    MIN_COSINE, or with too few paragraphs to calibrate, the torch backend instead (bf16 or
    fp32, with one warning line), with its own folder from `folder_for(backend)`. Any
    other backend is kept as asked."""
    if recipe.backend not in OPENVINO_BACKENDS or recipe.folder is None:
        return recipe
    fallback = replace(recipe, backend=choose_torch_backend(recipe.device), calibration=())
    fallback = replace(fallback, folder=folder_for(fallback.backend))
    cached = is_current(exported_meta(recipe.folder), recipe.identity)
    if not cached and len(recipe.calibration) < MIN_CALIBRATION:
        log.warning(
            "embed: %d paragraphs are too few to calibrate int8-static (%d needed); using %s instead.",
            len(recipe.calibration),
            MIN_CALIBRATION,
            fallback.backend,
        )
        return fallback
    recipe.prepare()
    quality = (exported_meta(recipe.folder) or {}).get("cosine_to_fp32") or {}
    if "min" not in quality or quality["min"] >= MIN_COSINE:
        return recipe
    log.warning(
        "embed: int8-static vectors of %s reach cosine %.4f (min) to fp32 on held-out paragraphs, "
        "below %.2f; using %s instead.",
        recipe.identity.name,
        quality["min"],
        MIN_COSINE,
        fallback.backend,
    )
    return fallback
