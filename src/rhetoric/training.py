"""Assembling the labeled training table and the model card (pure functions over frames)."""

from __future__ import annotations

import hashlib
from typing import Any

import pandas as pd


def data_digest(labeled: pd.DataFrame) -> str:
    """A hash of exactly what the model learns from: each labeled paragraph and its label."""
    digest = hashlib.sha256()
    for row in labeled.sort_values(["doc", "idx"]).itertuples():
        digest.update(f"{row.doc}\t{row.idx}\t{row.sha1}\t{row.label}\n".encode())
    return digest.hexdigest()


def duplicate_report(labeled: pd.DataFrame) -> dict[str, int]:
    """How many labeled paragraphs repeat a text seen elsewhere (kept on one side of the split)."""
    repeats = labeled.duplicated("sha1", keep="first")
    return {
        "duplicate_paragraphs": int(repeats.sum()),
        "documents_with_duplicates": int(labeled.loc[repeats, "doc"].nunique()),
    }


def build_card(
    labels: list[str],
    manifest: dict[str, Any],
    train_params: dict[str, Any],
    digest: str,
    search: dict[str, Any],
    train_docs: list[str],
    test_docs: list[str],
    counts: dict[str, Any],
) -> dict[str, Any]:
    return {
        "labels": labels,
        "embedder": manifest["embedder"],
        "embed_params": {
            "backend": manifest["backend"],
            "batch_size": manifest["batch_size"],
            "store_key": manifest["key"],
        },
        "train_params": train_params,
        "data_digest": digest,
        "counts": counts,
        "split": {"train_docs": train_docs, "test_docs": test_docs},
        "selection": search,
    }
