"""Stage `finetune`: the encoder the model embeds with, fine-tuned on the training documents or not.

Writes `models/encoder/`: always `encoder.json` (which encoder `embed` uses), plus, when
`finetune.enabled`, the fine-tuned sentence-transformers folder (model.safetensors). Only
the documents of train's split are used, so the held-out test documents stay unseen.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from rhetoric.corpus.documents import match_labels, read_labels
from rhetoric.corpus.split import training_part
from rhetoric.encoders.choice import base_encoder_record
from rhetoric.encoders.finetuning import FineTuneRecipe, fine_tuned_record, kept_fine_tuned
from rhetoric.encoders.frozen_states import open_states, write_no_states
from rhetoric.io import atomic_folder, write_json
from rhetoric.params import EmbedParams, FineTuneParams, TrainParams, parse_labels, read_params

log = logging.getLogger(__name__)


def run(
    paragraphs: Path, labels_file: Path, output: Path, params_file: Path, states: Path | None = None
) -> None:
    """`states`: where the frozen layers' states of the paragraphs fine-tuning read go, for
    `embed` (encoders/frozen_states.py); a file without states when there are none."""
    raw = read_params(params_file)
    labels = parse_labels(raw.get("labels"))
    embed = EmbedParams.from_dict(raw.get("embed"))
    params = FineTuneParams.from_dict(raw.get("finetune"))
    train = TrainParams.from_dict(raw.get("train"))
    if not params.enabled:
        with atomic_folder(output) as folder:
            write_json(folder / "encoder.json", base_encoder_record(embed.model))
        if states is not None:
            write_no_states(states)
        return
    table = pd.read_parquet(paragraphs)
    labeled = match_labels(table, read_labels(labels_file, labels), str(labels_file))
    rows = training_part(labeled, train.test_size, train.seed)
    recipe = FineTuneRecipe(**params.model_dump(exclude={"enabled"}), seed=train.seed)
    texts, gold = rows["text"].tolist(), rows["label"].tolist()
    kept = kept_fine_tuned(output, embed.model, texts, gold, recipe)
    if kept is not None:
        log.info("finetune: kept %s (same base weights, recipe and training paragraphs)", output)
        if states is not None and open_states(states, kept["weights_sha256"]) is None:
            # Another encoder's, or none (a fresh copy): embed will compute every layer.
            log.info("finetune: %s holds no states of the kept encoder", states)
            write_no_states(states)
        return
    with atomic_folder(output) as folder:
        record = fine_tuned_record(embed.model, texts, gold, labels, recipe, folder, embed.device, states)
        write_json(folder / "encoder.json", record)
