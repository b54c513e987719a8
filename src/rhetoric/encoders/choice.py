"""Which encoder the model embeds with: a pinned base encoder, or that encoder fine-tuned.

The `finetune` stage records its choice in `<encoder dir>/encoder.json`; `embed` reads it
back with `encoder_to_embed`. A fine-tuned encoder is named by its folder, so its identity
(and the vector store key) carries its own weight hash: vectors of different fine-tunings
never mix, and adding an unlabeled document embeds only that document's paragraphs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rhetoric.errors import ModelError
from rhetoric.io import read_json

RECORD_FILE = "encoder.json"


def base_encoder_record(name: str) -> dict[str, Any]:
    """The record of a frozen encoder: embed uses `name` as params give it."""
    from rhetoric.encoders.embedding import resolve_model

    identity = resolve_model(name)
    return {"fine_tuned": False, "base": {"name": name, "weights_sha256": identity.weights_sha256}}


def encoder_to_embed(encoder_dir: Path) -> str:
    """The name `embed` resolves: the base encoder's, or the fine-tuned folder's path."""
    path = encoder_dir / RECORD_FILE
    try:
        record = read_json(path)
        fine_tuned = bool(record["fine_tuned"])
        base = str(record["base"]["name"])
    except (OSError, ValueError, KeyError, TypeError):
        raise ModelError(f"{path}: missing or unreadable; run `dvc repro finetune` to write it.") from None
    return str(encoder_dir) if fine_tuned else base
