"""Fine-tuning a sentence-transformers encoder on the labeled paragraphs, end to end or
its top layers only.

The default recipe is the one measured for the real-text issue: mean-pooled encoder plus a
linear layer over the four labels, class-weighted cross-entropy, AdamW (a larger rate for
the new layer), 10% linear warm-up then linear decay. `objective: contrastive` trains the
pooled vectors with a supervised contrastive loss instead (no temporary layer). Only the
encoder is kept: the classifier that labels paragraphs is still the head trained by the
`train` stage on the fine-tuned encoder's vectors, so frozen and fine-tuned models share
one labeling path.

With `top_layers`, the states entering the first trained layer are computed once and
every step runs the model with its layer list cut to the trained layers (its tokenizer and
embeddings still run, cheaply, and their output is replaced by the cached states).

The result is a plain sentence-transformers folder with `model.safetensors` (no pickle),
so it is resolved, hashed, embedded and exported to ONNX exactly like a packaged encoder.
Seeded and run with deterministic torch kernels, so the same data and params give the
same weights on the same machine.

Our own loop rather than SentenceTransformerTrainer / SetFit: those need `datasets` and
`accelerate` and build pairs or triplets, while both objectives here are batch losses on the
pooled vectors, and top-layer training needs the cached states fed in at a layer; the loop
is forty lines of torch.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rhetoric.encoders.frozen_states import (
    layer_stack,
    lower_layer_states,
    states_swapped_in,
    tokenized,
    write_states,
)
from rhetoric.errors import ModelError
from rhetoric.io import read_json

log = logging.getLogger(__name__)


OBJECTIVES = ("classification", "contrastive")


@dataclass(frozen=True)
class FineTuneRecipe:
    """What a fine-tuning run needs besides the data (params.yaml `finetune`)."""

    epochs: float = 1  # passes over the paragraphs; a fraction trains on a random part of them
    learning_rate: float = 4e-5
    head_learning_rate: float = 2e-3
    batch_size: int = 16
    max_tokens: int = 256
    warmup_share: float = 0.1
    seed: int = 42
    # Train only the top N transformer layers (None: every layer). The embeddings, the
    # layers below and any position bias keep their base weights; the states entering the
    # first trained layer are computed once (eval mode, no dropout) and every epoch runs
    # the top layers over them, not the layers below.
    top_layers: int | None = None
    # "classification": cross-entropy of a temporary linear layer over the pooled vector;
    # "contrastive": supervised contrastive loss on the pooled vectors of each batch
    # (paragraphs of one label pulled together, of other labels pushed apart; no layer).
    objective: str = "classification"
    temperature: float = 0.1  # of the contrastive loss


def supervised_contrastive_loss(vectors: Any, gold: Any, weights: Any, temperature: float) -> Any | None:
    """Supervised contrastive loss (Khosla et al., 2020) of a batch of sentence vectors.

    Each paragraph is an anchor; the batch's other paragraphs of its label are its
    positives, all other paragraphs the contrast. The loss of an anchor is the mean
    negative log-probability of its positives under a softmax of cosine similarities over
    `temperature`; anchors are weighted by their label's weight (`class_weights`), and an
    anchor alone with its label in the batch is left out. It trains the vectors themselves
    to cluster by function, which the head (logistic regression on those vectors) then
    reads, rather than a throw-away linear layer. None where no label occurs twice.
    """
    import torch

    unit = torch.nn.functional.normalize(vectors, dim=1)
    logits = unit @ unit.T / temperature
    itself = torch.eye(len(gold), dtype=torch.bool, device=vectors.device)
    logits = logits.masked_fill(itself, float("-inf"))
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    positive = (gold[:, None] == gold[None, :]) & ~itself
    count = positive.sum(dim=1)
    anchored = count > 0
    if not bool(anchored.any()):
        return None  # no label twice in the batch: nothing to learn from
    per_anchor = -(log_prob.masked_fill(~positive, 0.0).sum(dim=1)[anchored] / count[anchored])
    weight = weights[gold[anchored]]
    return (per_anchor * weight).sum() / weight.sum()


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


# Batches per chunk of shuffled rows that batch_order sorts by length.
BATCHES_PER_CHUNK = 8
# What batch_order does, for the record: an encoder fine-tuned on batches drawn otherwise
# (plain shuffled rows, before length-sorted chunks) is not the one today's code makes.
BATCHING = f"shuffled rows, sorted by length in chunks of {BATCHES_PER_CHUNK} batches, batches shuffled"


def batch_order(lengths: Sequence[int], batch_size: int, epochs: float, seed: int) -> list[np.ndarray]:
    """The row indices of every batch of every epoch, in training order, drawn by a seeded
    generator from the rows' token counts `lengths`.

    Each epoch shuffles the rows, cuts them into chunks of BATCHES_PER_CHUNK batches,
    sorts each chunk by length, cuts it into batches and shuffles the batches. A batch
    pads to its longest paragraph: batches of plain shuffled rows of train's training
    documents hold 2.1 times their tokens, these 1.2 times, while each batch still comes
    from rows drawn at random. A fractional `epochs` ends part way through the last
    epoch, so it trains on a random part of the rows.

    >>> [b.tolist() for b in batch_order([5, 1, 3, 2], 2, 1, 0)] == [
    ...     b.tolist() for b in batch_order([5, 1, 3, 2], 2, 1, 0)]
    True
    >>> sorted(len(b) for b in batch_order([5, 1, 3, 2], 2, 0.5, 0))
    [2]
    """
    lengths = np.asarray(lengths)
    n = len(lengths)
    if n == 0:
        return []
    per_epoch = math.ceil(n / batch_size)
    total = max(1, math.ceil(round(epochs * per_epoch, 6)))
    chunk = batch_size * BATCHES_PER_CHUNK
    rng = np.random.default_rng(seed)
    batches: list[np.ndarray] = []
    while len(batches) < total:
        order = rng.permutation(n)
        epoch = []
        for start in range(0, n, chunk):
            part = order[start : start + chunk]
            part = part[np.argsort(lengths[part], kind="stable")]
            epoch += [part[i : i + batch_size] for i in range(0, len(part), batch_size)]
        batches += [epoch[i] for i in rng.permutation(len(epoch))]
    return batches[:total]


def token_counts(model: Any, texts: Sequence[str]) -> np.ndarray:
    """Tokens per text as the model feeds it (special tokens in, cut at max_seq_length)."""
    counts = []
    for start in range(0, len(texts), 256):
        mask = tokenized(model, texts[start : start + 256], "cpu")["attention_mask"]
        counts.append(mask.sum(dim=1).numpy())
    return np.concatenate(counts) if counts else np.zeros(0, dtype=int)


def fine_tune(
    base_folder: Path,
    texts: Sequence[str],
    labels: Sequence[str],
    label_set: Sequence[str],
    recipe: FineTuneRecipe,
    output: Path,
    device: str = "cpu",
    lower_states: Sequence[Any] | None = None,
    states_output: Path | None = None,
) -> dict[str, float]:
    """Fine-tune the encoder in `base_folder` on (texts, labels); save it to `output`.

    Returns a small record (steps, final training loss) for the card. `output` should be
    a fresh folder: the caller writes it atomically. With `recipe.top_layers`,
    `lower_states` may give lower_layer_states of `texts` for the same base and cut
    (a sweep of recipes computes them once); otherwise they are computed here, and
    `states_output` (when given) receives those of the paragraphs read whole, for `embed`
    (frozen_states.write_states; a file without states when there are none).
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from tqdm import tqdm

    from rhetoric.encoders.embedding import load_sentence_transformer, weights_sha256

    if recipe.objective not in OBJECTIVES:
        raise ModelError(f"finetune.objective is {recipe.objective!r}; use one of {', '.join(OBJECTIVES)}.")
    torch.manual_seed(recipe.seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    model = load_sentence_transformer(base_folder, device)
    window = int(model.max_seq_length)
    model.max_seq_length = min(window, recipe.max_tokens)  # for training only, see below
    counts = token_counts(model, texts)
    batches = batch_order(counts, recipe.batch_size, recipe.epochs, recipe.seed)
    used = sorted({int(i) for rows in batches for i in rows})  # fewer than texts for a fraction
    first_trained = None
    states: dict[int, Any] = {}
    if recipe.top_layers is not None:
        first_trained = train_only_top_layers(model, recipe.top_layers)
        if lower_states is None:
            # Only the rows the batches hold: a fraction of an epoch needs a part of them.
            started = time.monotonic()
            found = lower_layer_states(
                model, [texts[i] for i in used], first_trained, max(recipe.batch_size, 32)
            )
            seconds = time.monotonic() - started
            log.info(
                "fine-tune: states below layer %d of %d paragraphs in %.0fs",
                first_trained,
                len(used),
                seconds,
            )
            states = dict(zip(used, found, strict=True))
        else:
            if len(lower_states) != len(texts):
                raise ModelError(
                    f"fine-tune was given states of {len(lower_states)} paragraphs for {len(texts)}; "
                    "compute them with lower_layer_states from the same paragraphs."
                )
            states = dict(enumerate(lower_states))
    index = {label: i for i, label in enumerate(label_set)}
    y = np.array([index[label] for label in labels])
    head = torch.nn.Linear(int(model.get_embedding_dimension()), len(label_set)).to(device)
    weights = torch.tensor(class_weights(y, len(label_set)), dtype=torch.float32, device=device)
    loss_fn = torch.nn.CrossEntropyLoss(weight=weights)
    groups = [{"params": [w for w in model.parameters() if w.requires_grad], "lr": recipe.learning_rate}]
    if recipe.objective == "classification":
        groups.append({"params": list(head.parameters()), "lr": recipe.head_learning_rate})
    optimizer = torch.optim.AdamW(groups)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: learning_rate_factor(step, len(batches), recipe.warmup_share)
    )
    model.train()
    losses: list[float] = []
    bar = tqdm(batches, unit="batch", desc="fine-tune", disable=not sys.stderr.isatty())
    for rows in bar:
        batch_texts = [texts[i] for i in rows]
        if first_trained is None:
            features = tokenized(model, batch_texts, device)
            pooled = model(features)["sentence_embedding"]
        else:
            pooled = vectors_from_states(model, batch_texts, [states[i] for i in rows], first_trained, device)
        gold = torch.as_tensor(y[rows], device=device)
        if recipe.objective == "contrastive":
            loss = supervised_contrastive_loss(pooled, gold, weights, recipe.temperature)
        else:
            loss = loss_fn(head(pooled), gold)
        if loss is not None:  # else a batch with no label twice: no step, the schedule goes on
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
        scheduler.step()
    model.eval()
    # Embedding cuts long paragraphs into windows of the base model's size; keep it.
    model.max_seq_length = window
    output.mkdir(parents=True, exist_ok=True)
    model.save(str(output), safe_serialization=True)
    if states_output is not None:
        # embed reads a paragraph whole (in windows of the base's size), so only states of
        # paragraphs fine-tuning did not cut at max_tokens are the ones it would compute.
        cap = min(window, recipe.max_tokens)
        whole = [i for i in states if counts[i] < cap] if lower_states is None else []
        write_states(
            states_output,
            [texts[i] for i in whole],
            [states[i] for i in whole],
            weights_sha256(output) if whole else "",
            first_trained or 0,
        )
    tail = losses[-max(1, len(losses) // 10) :] or [float("nan")]
    log.info("fine-tune: %d steps, final training loss %.4f", len(batches), float(np.mean(tail)))
    return {"steps": len(batches), "paragraphs_used": len(used), "final_loss": float(np.mean(tail))}


def train_only_top_layers(model: Any, top: int) -> int:
    """Freeze every weight of the sentence-transformers `model` but its top `top`
    transformer layers and return the index of the first trained layer; a one-line
    ModelError where the model has no layer stack or fewer layers than `top`."""
    layers = layer_stack(model)
    if layers is None or top > len(layers):
        found = "no encoder.layer stack" if layers is None else f"{len(layers)} layers"
        raise ModelError(
            f"finetune.top_layers is {top}, but the encoder has {found}; "
            "set finetune.top_layers to at most its layer count, or to null for every layer."
        )
    first = len(layers) - top
    trained = tuple(f"encoder.layer.{i}." for i in range(first, len(layers)))
    for name, weight in model[0].auto_model.named_parameters():
        weight.requires_grad = name.startswith(trained)
    return first


def vectors_from_states(
    model: Any, texts: Sequence[str], states: Sequence[Any], first: int, device: str
) -> Any:
    """The `model`'s sentence vectors of `texts`, with the states from
    lower_layer_states standing in for its layers below `first` (see
    frozen_states.states_swapped_in)."""
    features = tokenized(model, texts, device)
    with states_swapped_in(model, first, states, features["attention_mask"], texts):
        return model(features)["sentence_embedding"]


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
    same base weights, recipe, labeled paragraphs, way of computing the frozen layers and
    way of drawing batches (BATCHING), and its weights are the ones the record names; else
    None. Adding an unlabeled document changes the paragraph table but not what
    fine-tuning sees: it should not cost a fine-tuning run (about 8 minutes for the
    default, half an epoch of all-mpnet-base-v2's top 6 layers, on 2 cores)."""
    from rhetoric.encoders.embedding import resolve_model, weights_sha256

    try:
        record = read_json(folder / "encoder.json")
        if not (
            isinstance(record, dict)
            and record.get("fine_tuned") is True
            and record.get("base") == {"name": name, "weights_sha256": resolve_model(name).weights_sha256}
            and recorded_recipe(record.get("recipe")) == effective_recipe(asdict(recipe))
            and record.get("training", {}).get("data_sha256") == training_digest(texts, labels)
            and record["training"].get("lower_layers") == lower_layers_note(recipe)
            and record["training"].get("batching") == BATCHING
            and record.get("weights_sha256") == weights_sha256(folder)
        ):
            return None
    except (OSError, ValueError, RecursionError, AttributeError, ModelError):
        return None
    return record


def recorded_recipe(recipe: Any) -> Any:
    """The recipe of a record with the fields added to FineTuneRecipe since it was written
    at their defaults, which are what the code did before each field existed."""
    if not isinstance(recipe, dict):
        return recipe
    return effective_recipe({**asdict(FineTuneRecipe()), **recipe})


def effective_recipe(recipe: dict[str, Any]) -> dict[str, Any]:
    """The recipe as JSON without the fields its objective does not use (the contrastive
    loss has no temporary layer, the classification loss no temperature), so that
    changing an unused param does not cost a fine-tuning run."""
    unused = {"classification": ("temperature",), "contrastive": ("head_learning_rate",)}
    dropped = unused.get(recipe.get("objective", "classification"), ())
    return json.loads(json.dumps({k: v for k, v in recipe.items() if k not in dropped}))


def fine_tuned_record(
    name: str,
    texts: Sequence[str],
    labels: Sequence[str],
    label_set: Sequence[str],
    recipe: FineTuneRecipe,
    folder: Path,
    device: str,
    states_output: Path | None = None,
) -> dict[str, Any]:
    """Fine-tune the encoder `name` into `folder`; the record names base and result by hash.
    `states_output`: where embed finds the frozen layers' states (see fine_tune)."""
    from rhetoric.encoders.embedding import choose_device, resolve_model, weights_sha256

    base = resolve_model(name)
    training = fine_tune(
        Path(base.path),
        texts,
        labels,
        label_set,
        recipe,
        folder,
        choose_device(device),
        states_output=states_output,
    )
    return {
        "fine_tuned": True,
        "base": {"name": name, "weights_sha256": base.weights_sha256},
        "weights_sha256": weights_sha256(folder),
        "recipe": asdict(recipe),
        "training": {
            "paragraphs": len(texts),
            "data_sha256": training_digest(texts, labels),
            "batching": BATCHING,
            **({"lower_layers": lower_layers_note(recipe)} if recipe.top_layers is not None else {}),
            **training,
        },
    }


def lower_layers_note(recipe: FineTuneRecipe) -> str | None:
    """How the frozen layers ran, for the record: an encoder whose top layers were trained
    with dropout in the frozen layers (before their states were cached) is not the one
    today's code makes from the same recipe, so kept_fine_tuned does not keep it."""
    return None if recipe.top_layers is None else "states computed once, eval mode"
