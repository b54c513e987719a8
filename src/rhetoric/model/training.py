"""Training a model from labeled paragraphs: the grouped split, CV selection and the card."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rhetoric.corpus.segment import paragraph_sha1
from rhetoric.corpus.split import cv_folds, leakage_groups, train_test_split_grouped
from rhetoric.errors import ParamsError
from rhetoric.model.card import EncoderRef, EncodingRecipe, ModelCard
from rhetoric.model.features import build_feature_frame
from rhetoric.model.sklearn_head import fit_selected
from rhetoric.params import TrainParams


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
) -> ModelCard:
    """The card of a model trained on the vectors described by the embed stage's `manifest`."""
    embedder = manifest["embedder"]
    return ModelCard(
        labels=tuple(labels),
        embedder=EncoderRef(embedder["name"], embedder["path"], embedder["weights_sha256"]),
        embed_params=EncodingRecipe(manifest["backend"], manifest["batch_size"], manifest["key"]),
        train_params=train_params,
        data_digest=digest,
        counts=counts,
        train_docs=tuple(train_docs),
        test_docs=tuple(test_docs),
        selection=search,
    )


@dataclass(frozen=True)
class TrainedModel:
    """A fitted head and its card, ready to be saved into a model folder."""

    head: Any
    card: ModelCard

    def describe(self) -> str:
        counts, selection = self.card.counts, self.card.selection
        return (
            f"{counts['labeled']} labeled paragraphs ({counts['train']} train / {counts['test']} test), "
            f"CV macro-F1 {selection['cv_f1_macro']:.3f} with {selection['best_params']}"
        )


def train_model(
    labeled: pd.DataFrame,
    labels: Sequence[str],
    params: TrainParams,
    manifest: dict[str, Any],
    lookup: Callable[[list[str]], np.ndarray],
) -> TrainedModel:
    """Split `labeled` by document, choose and fit the head by grouped CV on the training
    documents, with vectors from `lookup(sha1s)` (the store described by `manifest`)."""
    groups = leakage_groups(labeled["doc"].tolist(), labeled["sha1"].tolist())
    train_idx, test_idx = train_test_split_grouped(labeled["label"], groups, params.test_size, params.seed)
    train = labeled.iloc[train_idx].reset_index(drop=True)
    folds = cv_folds(train["label"], groups[train_idx], params.cv_folds, params.seed)
    if "sentences" in params.features and not manifest.get("sentences"):
        raise ParamsError(
            "params.yaml: train.features has 'sentences' but embed.sentences is false; set "
            "embed.sentences: true so the embed stage also embeds sentences."
        )
    X = build_feature_frame(
        train["text"],
        lambda texts: lookup([paragraph_sha1(t) for t in texts]),
        "sentences" in params.features,
    )
    head, search = fit_selected(params, X, train["label"], folds)
    counts = {
        "labeled": len(labeled),
        "train": len(train_idx),
        "test": len(test_idx),
        **duplicate_report(labeled),
    }
    card = build_card(
        list(labels),
        manifest,
        params.to_dict(),
        data_digest(labeled),
        search,
        sorted(set(train["doc"])),
        sorted(set(labeled.iloc[test_idx]["doc"])),
        counts,
    )
    return TrainedModel(head, card)
