"""The content-addressed vector store: vectors found by paragraph sha1 and model identity.

Each model has its own folder of append-only Parquet shards (`sha1`, `vector`).
An embed run writes only the vectors that are missing, one shard per batch, each
written atomically, so adding a document embeds only its paragraphs and a killed
run keeps every shard it finished.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from rhetoric.errors import DataError
from rhetoric.io import atomic_path


class VectorStore:
    """Vectors of one embedder, under `root/<identity key>/part-*.parquet`."""

    def __init__(self, root: str | Path, key: str) -> None:
        self.folder = Path(root) / key
        self._index: dict[str, tuple[Path, int]] | None = None

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
