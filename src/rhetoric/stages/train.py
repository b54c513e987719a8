"""Stage `train`: labeled paragraphs -> grouped split, CV model selection, skops head + card."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from rhetoric.corpus import match_labels, read_labels
from rhetoric.errors import ParamsError
from rhetoric.features import build_feature_frame
from rhetoric.io import read_json, write_json
from rhetoric.labeler import CARD_FILE, HEAD_FILE
from rhetoric.model import fit_selected, save_head
from rhetoric.params import TrainParams, parse_labels, read_params
from rhetoric.segment import paragraph_sha1
from rhetoric.split import cv_folds, leakage_groups, train_test_split_grouped
from rhetoric.training import build_card, data_digest, duplicate_report
from rhetoric.vectors import VectorStore

log = logging.getLogger(__name__)


def run(
    paragraphs: Path, labels_file: Path, store: Path, manifest_file: Path, model_dir: Path, params_file: Path
) -> None:
    raw = read_params(params_file)
    labels = parse_labels(raw.get("labels"))
    params = TrainParams.from_dict(raw.get("train"))
    manifest = read_json(manifest_file)
    labeled = match_labels(pd.read_parquet(paragraphs), read_labels(labels_file, labels), str(labels_file))
    groups = leakage_groups(labeled["doc"].tolist(), labeled["sha1"].tolist())
    train_idx, test_idx = train_test_split_grouped(labeled["label"], groups, params.test_size, params.seed)
    train = labeled.iloc[train_idx].reset_index(drop=True)
    folds = cv_folds(train["label"], groups[train_idx], params.cv_folds, params.seed)
    if "sentences" in params.features and not manifest.get("sentences"):
        raise ParamsError(
            "params.yaml: train.features has 'sentences' but embed.sentences is false; set "
            "embed.sentences: true so the embed stage also embeds sentences."
        )
    vectors = VectorStore(store, manifest["key"])
    X = build_feature_frame(
        train["text"],
        lambda texts: vectors.lookup([paragraph_sha1(t) for t in texts]),
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
    save_head(head, model_dir / HEAD_FILE)
    write_json(model_dir / CARD_FILE, card)
    log.info(
        "train: %d labeled paragraphs (%d train / %d test), CV macro-F1 %.3f with %s -> %s",
        len(labeled),
        len(train_idx),
        len(test_idx),
        search["cv_f1_macro"],
        search["best_params"],
        model_dir,
    )
