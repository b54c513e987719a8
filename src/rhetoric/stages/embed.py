"""Stage `embed`: every paragraph -> a vector in the store, computing only missing ones."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable
from dataclasses import replace
from functools import partial
from pathlib import Path

import pandas as pd

from rhetoric.encoders.choice import encoder_to_embed
from rhetoric.encoders.embedding import (
    EmbedderIdentity,
    choose_backend,
    choose_device,
    resolve_model,
    store_key,
)
from rhetoric.encoders.factory import EncoderRecipe, check_int8_static
from rhetoric.encoders.openvino_encoder import calibration_for
from rhetoric.io import write_json
from rhetoric.params import EmbedParams, read_params
from rhetoric.vectors import SHARD_ROWS, VectorStore, embed_missing, texts_to_embed

log = logging.getLogger(__name__)

Filler = Callable[[VectorStore, pd.DataFrame], int]  # embeds a store's missing texts, returns how many


def run(
    paragraphs: Path,
    store: Path,
    manifest: Path,
    params_file: Path,
    encoder_dir: Path | None = None,
    engine: str | None = None,
    states: Path | None = None,
) -> None:
    """`engine` (local or ray) overrides embed.engine; `states`: the frozen layers' states
    `finetune` wrote (encoders/frozen_states.py), used where they are of this encoder."""
    params = EmbedParams.from_dict(read_params(params_file).get("embed"))
    # The `finetune` stage's choice (base or fine-tuned) when given, else embed.model itself.
    identity = resolve_model(encoder_to_embed(encoder_dir) if encoder_dir else params.model)
    device = choose_device(params.device)
    backend = choose_backend(params.backend, device)
    table = pd.read_parquet(paragraphs, columns=["sha1", "text"])
    texts = texts_to_embed(table, params.sentences)
    sha_texts = zip(table["sha1"], table["text"], strict=True)
    recipe = replace(
        encoder_recipe(store, identity, device, backend, params.batch_size, sha_texts),
        states=states.resolve() if states else None,
    )
    key = store_key(identity, recipe.backend)
    vectors = VectorStore(store, key)
    elsewhere = filler_on(engine or params.engine, recipe)
    filled = embed_missing(vectors, texts, recipe.make, progress=sys.stderr.isatty(), elsewhere=elsewhere)
    how = {"backend": recipe.backend, "batch_size": params.batch_size, "sentences": params.sentences}
    write_json(manifest, {"embedder": identity.to_dict(), "key": key, **how})
    log.info("embed: %s [%s]", filled.describe(), key)


def encoder_recipe(
    store: Path,
    identity: EmbedderIdentity,
    device: str,
    backend: str,
    batch_size: int,
    sha_texts: Iterable[tuple[str, str]],
) -> EncoderRecipe:
    """The encoder embed uses, its exported models cached in the store of its backend.
    int8-static quantizes the encoder on corpus paragraphs (`sha_texts`) the first
    time (cached after) and is kept only where it holds quality, else torch's backend.
    Here, not in encoders/factory.py: it joins the store's layout (vectors.py, which imports
    pandas) to the factory, which the predict path loads without pandas."""
    folder = partial(encoder_folder, store, identity)
    calibration = calibration_for(backend, sha_texts)
    recipe = EncoderRecipe(identity, device, backend, batch_size, folder(backend), calibration)
    return check_int8_static(recipe, folder)


def filler_on(engine: str, recipe: EncoderRecipe) -> Filler | None:
    """What embeds the missing texts elsewhere: Ray's actors for engine ray (Ray is imported
    only then: it is an optional extra), None for local (`embed_missing` embeds here)."""
    if engine != "ray":
        return None
    from rhetoric.engines.ray_embed import ray_filler

    return ray_filler(recipe, SHARD_ROWS)


def encoder_folder(store: Path, identity: EmbedderIdentity, backend: str) -> Path:
    """The exported-model cache of a backend's store (absolute: Ray workers use it too)."""
    return VectorStore(store, store_key(identity, backend)).encoder_folder.resolve()
