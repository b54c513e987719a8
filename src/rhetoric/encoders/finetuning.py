"""Fine-tuning a sentence-transformers encoder end to end on the labeled paragraphs.

The recipe is the one measured for the real-text issue: mean-pooled encoder plus a
linear layer over the four labels, class-weighted cross-entropy, AdamW (a larger rate for
the new layer), 10% linear warm-up then linear decay. Only the encoder is kept: the
classifier that labels paragraphs is still the head trained by the `train` stage on the
fine-tuned encoder's vectors, so frozen and fine-tuned models share one labeling path.

The result is a plain sentence-transformers folder with `model.safetensors` (no pickle),
so it is resolved, hashed, embedded and exported to ONNX exactly like a packaged encoder.
Seeded and run with deterministic torch kernels, so the same data and params give the
same weights on the same machine.

Our own loop rather than SentenceTransformerTrainer / SetFit: those train a contrastive
or pair objective (or need `datasets` and `accelerate`), while the measured recipe is a plain
classification loss on the pooled vector; the loop is forty lines of torch.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rhetoric.errors import ModelError
from rhetoric.io import read_json

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FineTuneRecipe:
    """What a fine-tuning run needs besides the data (params.yaml `finetune`)."""

    epochs: int = 1
    learning_rate: float = 4e-5
    head_learning_rate: float = 2e-3
    batch_size: int = 16
    max_tokens: int = 256
    warmup_share: float = 0.1
    seed: int = 42
    # Train only the top N transformer layers (None: every layer). The embeddings, the
    # layers below and any position bias keep their base weights, and autograd keeps no
    # graph below the first trained layer, so a step costs little more than a forward pass.
    top_layers: int | None = None


def class_weights(y: Sequence[int], n_classes: int) -> np.ndarray:
    """Balanced weights, n / (k * count): rare labels count as much as common ones.

    >>> class_weights([0, 0, 0, 1], 2).tolist()
    [0.6666666666666666, 2.0]
    """
    counts = np.bincount(np.asarray(y), minlength=n_classes).astype(float)
    return len(y) / (n_classes * np.maximum(counts, 1.0))


def learning_rate_factor(step: int, total: int, warmup_share: float) -> float:
    """Linear warm-up over the first `warmup_share` of the steps, then linear decay to 0.

    >>> [round(learning_rate_factor(s, 10, 0.2), 2) for s in (0, 1, 2, 6, 10)]
    [0.0, 0.5, 1.0, 0.5, 0.0]
    """
    warmup = max(1, math.ceil(total * warmup_share))
    if step < warmup:
        return step / warmup
    return max(0.0, (total - step) / max(1, total - warmup))


def batch_order(n: int, batch_size: int, epochs: int, seed: int) -> list[np.ndarray]:
    """The row indices of every batch of every epoch, shuffled by a seeded generator.

    >>> [b.tolist() for b in batch_order(4, 3, 1, 0)] == [b.tolist() for b in batch_order(4, 3, 1, 0)]
    True
    """
    rng = np.random.default_rng(seed)
    batches = []
    for _ in range(epochs):
        order = rng.permutation(n)
        batches += [order[i : i + batch_size] for i in range(0, n, batch_size)]
    return batches


def fine_tune(
    base_folder: Path,
    texts: Sequence[str],
    labels: Sequence[str],
    label_set: Sequence[str],
    recipe: FineTuneRecipe,
    output: Path,
    device: str = "cpu",
) -> dict[str, float]:
    """Fine-tune the encoder in `base_folder` on (texts, labels); save it to `output`.

    Returns a small record (steps, final training loss) for the card. `output` should be
    a fresh folder: the caller writes it atomically.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from tqdm import tqdm

    from rhetoric.encoders.embedding import load_sentence_transformer

    torch.manual_seed(recipe.seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    model = load_sentence_transformer(base_folder, device)
    if recipe.top_layers is not None:
        train_only_top_layers(model, recipe.top_layers)
    window = int(model.max_seq_length)
    model.max_seq_length = min(window, recipe.max_tokens)  # for training only, see below
    index = {label: i for i, label in enumerate(label_set)}
    y = np.array([index[label] for label in labels])
    head = torch.nn.Linear(int(model.get_embedding_dimension()), len(label_set)).to(device)
    weights = torch.tensor(class_weights(y, len(label_set)), dtype=torch.float32, device=device)
    loss_fn = torch.nn.CrossEntropyLoss(weight=weights)
    optimizer = torch.optim.AdamW(
        [
            {"params": [w for w in model.parameters() if w.requires_grad], "lr": recipe.learning_rate},
            {"params": head.parameters(), "lr": recipe.head_learning_rate},
        ]
    )
    batches = batch_order(len(texts), recipe.batch_size, recipe.epochs, recipe.seed)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: learning_rate_factor(step, len(batches), recipe.warmup_share)
    )
    model.train()
    losses: list[float] = []
    bar = tqdm(batches, unit="batch", desc="fine-tune", disable=not sys.stderr.isatty())
    for rows in bar:
        prepare = getattr(model, "preprocess", None) or model.tokenize  # renamed in sentence-transformers 6
        features = prepare([texts[i] for i in rows])
        features = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in features.items()}
        pooled = model(features)["sentence_embedding"]
        loss = loss_fn(head(pooled), torch.as_tensor(y[rows], device=device))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(float(loss.detach()))
    model.eval()
    # Embedding cuts long paragraphs into windows of the base model's size; keep it.
    model.max_seq_length = window
    output.mkdir(parents=True, exist_ok=True)
    model.save(str(output), safe_serialization=True)
    tail = losses[-max(1, len(losses) // 10) :]
    log.info("fine-tune: %d steps, final training loss %.4f", len(batches), float(np.mean(tail)))
    return {"steps": len(batches), "final_loss": float(np.mean(tail))}


def train_only_top_layers(model: Any, top: int) -> None:
    """Freeze every weight of the sentence-transformers `model` but its top `top`
    transformer layers; a one-line ModelError where the model has no layer stack
    (`encoder.layer`, as BERT, MPNet and MiniLM have) or fewer layers than `top`."""
    transformer = getattr(model[0], "auto_model", None)
    layers = getattr(getattr(transformer, "encoder", None), "layer", None)
    if layers is None or top > len(layers):
        found = "no encoder.layer stack" if layers is None else f"{len(layers)} layers"
        raise ModelError(
            f"finetune.top_layers is {top}, but the encoder has {found}; "
            "set finetune.top_layers to at most its layer count, or to null for every layer."
        )
    trained = tuple(f"encoder.layer.{i}." for i in range(len(layers) - top, len(layers)))
    for name, weight in transformer.named_parameters():
        weight.requires_grad = name.startswith(trained)


def training_digest(texts: Sequence[str], labels: Sequence[str]) -> str:
    """sha256 of the labeled paragraphs an encoder is fine-tuned on, in order.

    >>> training_digest(["a"], ["x"]) == training_digest(["a"], ["y"])
    False
    """
    digest = hashlib.sha256()
    for text, label in zip(texts, labels, strict=True):
        digest.update(json.dumps([text, label], ensure_ascii=False).encode() + b"\n")
    return digest.hexdigest()


def kept_fine_tuned(
    folder: Path, name: str, texts: Sequence[str], labels: Sequence[str], recipe: FineTuneRecipe
) -> dict[str, Any] | None:
    """The record of the fine-tuned encoder already in `folder` when it was made from the
    same base weights, recipe and labeled paragraphs and its weights are the ones the
    record names; else None. Adding an unlabeled document changes the paragraph table but
    not what fine-tuning sees: it should not cost a fine-tuning run (about 45 minutes an
    epoch for all-mpnet-base-v2 on 2 cores)."""
    from rhetoric.encoders.embedding import resolve_model, weights_sha256

    try:
        record = read_json(folder / "encoder.json")
        if not (
            isinstance(record, dict)
            and record.get("fine_tuned") is True
            and record.get("base") == {"name": name, "weights_sha256": resolve_model(name).weights_sha256}
            and record.get("recipe") == json.loads(json.dumps(asdict(recipe)))
            and record.get("training", {}).get("data_sha256") == training_digest(texts, labels)
            and record.get("weights_sha256") == weights_sha256(folder)
        ):
            return None
    except (OSError, ValueError, RecursionError, AttributeError, ModelError):
        return None
    return record


def fine_tuned_record(
    name: str,
    texts: Sequence[str],
    labels: Sequence[str],
    label_set: Sequence[str],
    recipe: FineTuneRecipe,
    folder: Path,
    device: str,
) -> dict[str, Any]:
    """Fine-tune the encoder `name` into `folder`; the record names base and result by hash."""
    from rhetoric.encoders.embedding import choose_device, resolve_model, weights_sha256

    base = resolve_model(name)
    training = fine_tune(Path(base.path), texts, labels, label_set, recipe, folder, choose_device(device))
    return {
        "fine_tuned": True,
        "base": {"name": name, "weights_sha256": base.weights_sha256},
        "weights_sha256": weights_sha256(folder),
        "recipe": asdict(recipe),
        "training": {"paragraphs": len(texts), "data_sha256": training_digest(texts, labels), **training},
    }
