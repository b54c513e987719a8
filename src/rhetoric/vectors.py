"""The content-addressed vector store: vectors found by paragraph sha1 and model identity.

Each model has its own folder of append-only Parquet shards (`sha1`, `vector`).
An embed run writes only the vectors that are missing, one shard per batch, each
written atomically, so adding a document embeds only its paragraphs and a killed
run keeps every shard it finished.

Beside each paragraph's vector the store keeps its sentence vectors from the same encoder
pass (encoders/sentence_spans.py), under `sentence_key(sha1, span)`: the report's sentence
evidence reads them instead of encoding every sentence again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from rhetoric.corpus.segment import paragraph_sentences, paragraph_sha1
from rhetoric.encoders.sentence_spans import no_evidence_key, sentence_keys
from rhetoric.errors import DataError
from rhetoric.io import atomic_path

SHARD_ROWS = 4096  # texts per shard written by `embed_missing`


class VectorStore:
    """Vectors of one embedder, under `root/<identity key>/part-*.parquet`."""

    def __init__(self, root: str | Path, key: str) -> None:
        self.folder = Path(root) / key
        self._index: dict[str, tuple[Path, int]] | None = None

    @property
    def encoder_folder(self) -> Path:
        """The ONNX export of this store's encoder (onnx and int8 backends): the one ONNX
        cache, written by the embed stage and reused by every later use of these vectors."""
        return self.folder / "embedder"

    def shards(self) -> list[Path]:
        return sorted(self.folder.glob("part-*.parquet"))

    def index(self) -> dict[str, tuple[Path, int]]:
        """Where each sha1's vector is (shard, row), read once from the sha1 columns only,
        so repeated lookups (predict asks batch by batch) don't rescan every shard."""
        if self._index is None:
            self._index = {}
            for shard in self.shards():
                keys = pq.read_table(shard, columns=["sha1"]).column("sha1").to_pylist()
                self._index.update((key, (shard, row)) for row, key in enumerate(keys))
        return self._index

    def known(self) -> set[str]:
        """The sha1s that already have a vector."""
        return set(self.index())

    def add(self, sha1s: Sequence[str], vectors: np.ndarray) -> Path:
        """Write one new shard atomically."""
        if len(sha1s) != len(vectors):
            raise ValueError("one vector per sha1 is required")
        self.folder.mkdir(parents=True, exist_ok=True)
        existing = self.shards()
        number = int(existing[-1].stem.split("-")[1]) + 1 if existing else 0
        path = self.folder / f"part-{number:06d}.parquet"
        dim = vectors.shape[1]
        flat = pa.array(np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1))
        table = pa.table(
            {
                "sha1": pa.array(list(sha1s), pa.string()),
                "vector": pa.FixedSizeListArray.from_arrays(flat, dim),
            }
        )
        with atomic_path(path) as tmp:
            pq.write_table(table, tmp)
        self._index = None
        return path

    def find(self, sha1s: Sequence[str]) -> list[np.ndarray | None]:
        """Vectors for `sha1s`, in order, None where the store has none.

        Only the shards that hold a wanted vector are read."""
        index = self.index()
        by_shard: dict[Path, list[tuple[str, int]]] = {}
        for sha in set(sha1s):
            if sha in index:
                shard, row = index[sha]
                by_shard.setdefault(shard, []).append((sha, row))
        found: dict[str, np.ndarray] = {}
        for shard, hits in by_shard.items():
            column = pq.read_table(shard, columns=["vector"]).column("vector").combine_chunks()
            matrix = column.flatten().to_numpy().reshape(-1, column.type.list_size)
            for sha, row in hits:
                found[sha] = matrix[row]
        return [found.get(s) for s in sha1s]

    def lookup(self, sha1s: Sequence[str]) -> np.ndarray:
        """Vectors for `sha1s` as a matrix; a missing one is an error naming the fix."""
        vectors = self.find(sha1s)
        missing = [s for s, v in zip(sha1s, vectors, strict=True) if v is None]
        if missing:
            raise DataError(
                f"{self.folder}: no vector for {len(missing)} paragraph(s) (e.g. sha1 {missing[0]}); "
                "run the embed stage first (`dvc repro embed`)."
            )
        if not vectors:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack(vectors).astype(np.float32)


def rows_to_encode(sha_text: pd.DataFrame, known: set[str], with_sentences: bool) -> pd.DataFrame:
    """The rows whose vector is missing and, `with_sentences`, those of more than one
    sentence whose sentence vectors are missing (a store made before they were kept)."""
    missing = ~sha_text["sha1"].isin(known).to_numpy()
    if with_sentences:
        missing |= np.array(
            [
                no_evidence_key(sha) not in known
                and any(key not in known for key in sentence_keys(sha, text))
                for sha, text in zip(sha_text["sha1"], sha_text["text"], strict=True)
            ],
            dtype=bool,
        )
    return sha_text[missing]


def encoded_rows(
    sha1s: Sequence[str],
    texts: Sequence[str],
    vectors: np.ndarray,
    sentences: Sequence[np.ndarray],
    known: set[str],
) -> tuple[list[str], np.ndarray]:
    """The store rows of one encoded batch: each paragraph's vector unless the store has it,
    then its sentence vectors under `sentence_key`, or the `no_evidence_key` mark (a zero
    vector) where a paragraph of several sentences got none."""
    keys = [sha for sha in sha1s if sha not in known]
    rows = [v for sha, v in zip(sha1s, vectors, strict=True) if sha not in known]
    for sha, text, group in zip(sha1s, texts, sentences, strict=True):
        wanted = sentence_keys(sha, text)
        if len(group) == len(wanted):
            keys += wanted
            rows += list(group)
        elif wanted:
            keys.append(no_evidence_key(sha))
            rows.append(np.zeros(vectors.shape[1], dtype=np.float32))
    if not rows:
        return [], np.zeros((0, vectors.shape[1]), dtype=np.float32)
    return keys, np.stack(rows).astype(np.float32)


def texts_to_embed(paragraphs: pd.DataFrame, sentences: bool) -> pd.DataFrame:
    """The unique (sha1, text) rows that need a vector: every paragraph and, with
    `sentences`, every sentence of them (keyed like paragraphs, by the sha1 of its text)."""
    sha_text = paragraphs[["sha1", "text"]]
    if sentences:
        found = [s for group in paragraph_sentences(sha_text["text"].tolist()) for s in group]
        table = pd.DataFrame({"sha1": [paragraph_sha1(s) for s in found], "text": found})
        sha_text = pd.concat([sha_text, table])
    return sha_text.drop_duplicates("sha1")


@dataclass(frozen=True)
class Filled:
    """What `embed_missing` did: texts wanted, embedded now, cut into windows, and run
    only through the top layers over fine-tuning's frozen states (encoders/frozen_states.py)."""

    texts: int
    embedded: int
    chunked: int
    from_states: int = 0

    def describe(self) -> str:
        over = f" ({self.from_states} over fine-tuning's frozen states)" if self.from_states else ""
        return (
            f"{self.texts} unique texts (paragraphs and sentences), {self.embedded} embedded now{over}, "
            f"{self.texts - self.embedded} from the store, "
            f"{self.chunked} chunked (longer than the model's window)"
        )


def embed_missing(
    store: VectorStore,
    sha_text: pd.DataFrame,
    make_encoder: Callable[[], Any],
    progress: bool,
    elsewhere: Callable[[VectorStore, pd.DataFrame], int] | None = None,
) -> Filled:
    """Encode the texts the store has no vector for, one shard per SHARD_ROWS texts; the
    encoder is only made (seconds) when something is missing. `elsewhere(store, missing)`,
    when given, does the encoding and storing instead (the Ray engine) and returns how many
    texts were cut into windows."""
    known = store.known()
    missing = rows_to_encode(sha_text, known, with_sentences=True)
    if not len(missing):
        return Filled(len(sha_text), 0, 0)
    if elsewhere is not None:
        return Filled(len(sha_text), len(missing), elsewhere(store, missing))
    from tqdm import tqdm

    encoder = make_encoder()
    if not encoder.gives_tokens:  # an older export: no sentence vectors to fill in
        missing = rows_to_encode(sha_text, known, with_sentences=False)
    with tqdm(total=len(missing), unit="par", desc="embed", disable=not progress) as bar:
        for start in range(0, len(missing), SHARD_ROWS):
            chunk = missing[start : start + SHARD_ROWS]
            vectors, sentences = encoder.encode_with_sentences(chunk["text"].tolist())
            keys, rows = encoded_rows(
                chunk["sha1"].tolist(), chunk["text"].tolist(), vectors, sentences, known
            )
            if keys:
                store.add(keys, rows)
            bar.update(len(chunk))
    return Filled(len(sha_text), len(missing), encoder.chunked, getattr(encoder, "from_states", 0))
