"""`rhetoric embed --engine ray`: texts to vectors on Ray actors, committed as store shards.
See engines/ray_data.py for the engine as a whole."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from rhetoric.engines.ray_data import actor_plan, actor_pool, require_ray, reraise_user_errors, start_ray

if TYPE_CHECKING:
    import pandas as pd

    from rhetoric.encoders.factory import EncoderRecipe
    from rhetoric.vectors import VectorStore


def ray_filler(recipe: EncoderRecipe, shard_rows: int) -> Callable[[VectorStore, pd.DataFrame], int]:
    """What `vectors.embed_missing` calls to embed the missing texts on Ray (`elsewhere`).
    Checks now that Ray is installed; exports (or quantizes) the model here, once, before
    the actors load it."""
    require_ray()

    def fill(store: VectorStore, missing: pd.DataFrame) -> int:
        recipe.prepare()
        return embed_on_ray(store, missing, recipe.make, recipe.device, shard_rows)

    return fill


class EmbedActor:
    """One encoder per actor; a batch of (sha1, text) rows -> store rows (sha1 or sentence
    key, vector, chunked): each paragraph's vector, then its sentence vectors."""

    def __init__(self, make_encoder: Callable[..., Any], threads: int) -> None:
        self.encoder = make_encoder(threads=threads)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, Any]:
        from rhetoric.vectors import encoded_rows

        before = self.encoder.chunked
        texts = [str(t) for t in batch["text"]]
        vectors, sentences = self.encoder.encode_with_sentences(texts)
        keys, rows = encoded_rows([str(s) for s in batch["sha1"]], texts, vectors, sentences, set())
        chunked = np.zeros(len(rows), dtype=np.int64)
        chunked[:1] = self.encoder.chunked - before
        return {"sha1": np.asarray(keys, dtype=object), "vector": rows, "chunked": chunked}


def embed_on_ray(
    store: VectorStore, missing: pd.DataFrame, make_encoder: Callable[..., Any], device: str, shard_rows: int
) -> int:
    """Encode `missing` (sha1, text) on Ray actors, one store shard per `shard_rows` texts;
    returns how many texts were cut into windows. `make_encoder(threads=...)` builds an
    encoder (exported models must already be in their cache: see `factory.prepare_export`)."""
    ray = start_ray()
    actors, resources = actor_plan(ray.cluster_resources(), device)
    chunks = [missing.iloc[start : start + shard_rows] for start in range(0, len(missing), shard_rows)]
    dataset = ray.data.from_pandas(chunks).map_batches(
        EmbedActor,
        fn_constructor_args=(make_encoder, int(resources["num_cpus"])),
        batch_size=None,  # a whole chunk: the same texts per encoder call as the local engine
        batch_format="numpy",
        compute=actor_pool(ray, actors),
        **resources,
    )

    known = store.known()  # a paragraph vector already stored is kept as it is

    def commit() -> int:
        chunked = 0
        for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
            keep = [i for i, key in enumerate(batch["sha1"]) if str(key) not in known]
            if keep:
                vectors = np.asarray(batch["vector"], dtype=np.float32)[keep]
                store.add([str(batch["sha1"][i]) for i in keep], vectors)
            chunked += int(batch["chunked"].sum())
        return chunked

    return int(reraise_user_errors(commit))
