from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rhetoric.errors import DataError
from rhetoric.vectors import VectorStore


def test_store_adds_shards_and_finds_by_sha1(tmp_path: Path) -> None:
    store = VectorStore(tmp_path, "model-abc")
    store.add(["a", "b"], np.array([[1, 0], [0, 1]], dtype=np.float32))
    store.add(["c"], np.array([[0.5, 0.5]], dtype=np.float32))
    assert store.known() == {"a", "b", "c"}
    assert len(store.shards()) == 2
    np.testing.assert_array_equal(store.lookup(["c", "a"]), [[0.5, 0.5], [1, 0]])
    assert store.find(["b", "zz"])[1] is None


def test_other_model_key_shares_nothing(tmp_path: Path) -> None:
    VectorStore(tmp_path, "m1").add(["a"], np.ones((1, 2), dtype=np.float32))
    assert VectorStore(tmp_path, "m2").known() == set()
    with pytest.raises(DataError, match="run the embed stage"):
        VectorStore(tmp_path, "m2").lookup(["a"])


def test_index_sees_shards_added_after_it_was_read(tmp_path: Path) -> None:
    store = VectorStore(tmp_path, "m")
    store.add(["a"], np.ones((1, 2), dtype=np.float32))
    assert store.known() == {"a"}
    store.add(["b"], np.zeros((1, 2), dtype=np.float32))
    np.testing.assert_array_equal(store.lookup(["b", "a"]), [[0, 0], [1, 1]])
