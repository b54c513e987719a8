"""Stage `train`: labeled paragraphs -> grouped split, CV model selection, skops head + card."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from rhetoric.corpus.documents import match_labels, read_labels
from rhetoric.io import read_json
from rhetoric.model.folder import ModelFolder
from rhetoric.model.sklearn_head import head_bytes, search_grid
from rhetoric.model.training import train_model
from rhetoric.params import TrainParams, parse_labels, read_params
from rhetoric.vectors import VectorStore

log = logging.getLogger(__name__)


def run(
    paragraphs: Path, labels_file: Path, store: Path, manifest_file: Path, model_dir: Path, params_file: Path
) -> None:
    raw = read_params(params_file)
    labels = parse_labels(raw.get("labels"))
    params = TrainParams.from_dict(raw.get("train"))
    search_grid(params)  # hyperparameters checked by scikit-learn before any data is read
    folder = ModelFolder(model_dir)
    manifest = folder.with_local_encoder(read_json(manifest_file))
    labeled = match_labels(pd.read_parquet(paragraphs), read_labels(labels_file, labels), str(labels_file))
    trained = train_model(labeled, labels, params, manifest, VectorStore(store, manifest["key"]).lookup)
    folder.save(head_bytes(trained.head), trained.card)
    log.info("train: %s -> %s", trained.describe(), model_dir)
