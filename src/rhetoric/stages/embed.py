"""Stage `embed`: every paragraph -> a vector in the store, computing only missing ones."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from rhetoric.encoders.choice import encoder_to_embed
from rhetoric.encoders.embedding import (
    EmbedderIdentity,
    choose_backend,
    choose_device,
    resolve_model,
    store_key,
)
from rhetoric.encoders.factory import make_encoder, prepare_export
from rhetoric.encoders.openvino_encoder import calibration_sample
from rhetoric.io import write_json
from rhetoric.params import EmbedParams, read_params
from rhetoric.vectors import SHARD_ROWS, VectorStore, embed_missing, texts_to_embed

log = logging.getLogger(__name__)


def run(
    paragraphs: Path,
    store: Path,
    manifest: Path,
    params_file: Path,
    encoder_dir: Path | None = None,
    engine: str | None = None,
) -> None:
    """`engine` (local or ray) overrides embed.engine."""
    params = EmbedParams.from_dict(read_params(params_file).get("embed"))
    # The `finetune` stage's choice (base or fine-tuned) when given, else embed.model itself.
    identity = resolve_model(encoder_to_embed(encoder_dir) if encoder_dir else params.model)
    device = choose_device(params.device)
    backend = choose_backend(params.backend, device)
    # Vectors differ (slightly) by precision, so each backend has its own store.
    key = store_key(identity, backend)
    vectors = VectorStore(store, key)
    table = pd.read_parquet(paragraphs, columns=["sha1", "text"])
    texts = texts_to_embed(table, params.sentences)
    # int8-static quantizes the encoder on corpus paragraphs the first time (cached after).
    calibration = (
        calibration_sample(zip(table["sha1"], table["text"], strict=True)) if backend == "int8-static" else []
    )
    encoder = partial(
        # Absolute: Ray workers make encoders in folders of their own.
        make_encoder,
        identity,
        device,
        backend,
        params.batch_size,
        vectors.encoder_folder.resolve(),
        calibration,
    )
    elsewhere = None
    if (engine or params.engine) == "ray":
        from rhetoric.engines.ray_data import require_ray

        require_ray()
        elsewhere = partial(on_ray, encoder, identity, backend, vectors, calibration, device)
    filled = embed_missing(vectors, texts, encoder, progress=sys.stderr.isatty(), elsewhere=elsewhere)
    recipe = {"backend": backend, "batch_size": params.batch_size, "sentences": params.sentences}
    write_json(manifest, {"embedder": identity.to_dict(), "key": key, **recipe})
    log.info("embed: %s [%s]", filled.describe(), key)


def on_ray(
    encoder: Callable[..., Any],
    identity: EmbedderIdentity,
    backend: str,
    vectors: VectorStore,
    calibration: list[str],
    device: str,
    store: VectorStore,
    missing: pd.DataFrame,
) -> int:
    """Embed `missing` on Ray actors; an exported model is exported (or quantized) here
    first, once, so the actors only load it."""
    from rhetoric.engines.ray_embed import embed_on_ray

    prepare_export(identity, backend, vectors.encoder_folder, calibration)
    return embed_on_ray(store, missing, encoder, device, SHARD_ROWS)
