"""Stage `embed`: every paragraph -> a vector in the store, computing only missing ones."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from rhetoric.embedding import batched, choose_backend, choose_device, make_encoder, resolve_model, store_key
from rhetoric.encoder_choice import encoder_to_embed
from rhetoric.io import write_json
from rhetoric.params import EmbedParams, read_params
from rhetoric.segment import paragraph_sentences, paragraph_sha1
from rhetoric.vectors import VectorStore

log = logging.getLogger(__name__)
SHARD_ROWS = 4096


def sentence_table(texts: pd.Series) -> pd.DataFrame:
    """Every sentence of the paragraphs, keyed like paragraphs by the sha1 of its text."""
    sentences = [s for group in paragraph_sentences(texts.tolist()) for s in group]
    return pd.DataFrame({"sha1": [paragraph_sha1(s) for s in sentences], "text": sentences})


def run(
    paragraphs: Path, store: Path, manifest: Path, params_file: Path, encoder_dir: Path | None = None
) -> None:
    params = EmbedParams.from_dict(read_params(params_file).get("embed"))
    # The `finetune` stage's choice (base or fine-tuned) when given, else embed.model itself.
    identity = resolve_model(encoder_to_embed(encoder_dir) if encoder_dir else params.model)
    device = choose_device(params.device)
    backend = choose_backend(params.backend, device)
    # Vectors differ (slightly) by precision, so each backend has its own store.
    key = store_key(identity, backend)
    vectors = VectorStore(store, key)
    sha_text = pd.read_parquet(paragraphs, columns=["sha1", "text"])
    if params.sentences:
        sha_text = pd.concat([sha_text, sentence_table(sha_text["text"])])
    sha_text = sha_text.drop_duplicates("sha1")
    missing = sha_text[~sha_text["sha1"].isin(vectors.known())]
    encoder = None
    if len(missing):
        encoder = make_encoder(identity, device, backend, params.batch_size, vectors.folder / "embedder")
        with tqdm(total=len(missing), unit="par", desc="embed", disable=not sys.stderr.isatty()) as bar:
            for chunk in batched(missing, SHARD_ROWS):
                vectors.add(chunk["sha1"].tolist(), encoder.encode(chunk["text"].tolist()))
                bar.update(len(chunk))
    write_json(
        manifest,
        {
            "embedder": identity.to_dict(),
            "key": key,
            "backend": backend,
            "batch_size": params.batch_size,
            "sentences": params.sentences,
        },
    )
    log.info(
        "embed: %d unique texts (paragraphs and sentences), %d embedded now, %d from the store, %d chunked "
        "(longer than the model's window) [%s]",
        len(sha_text),
        len(missing),
        len(sha_text) - len(missing),
        encoder.chunked if encoder else 0,
        key,
    )
