"""The states entering an encoder's first trained layer: computed once by fine-tuning,
swapped in for the layers below, and handed from the `finetune` stage to `embed`.

Fine-tuning only the top layers (finetune.top_layers) leaves the layers below with their
base weights, so the states entering the first trained layer are the same every epoch
(`lower_layer_states` computes them once), and the same again when `embed` gives the
fine-tuned encoder's vectors to those paragraphs. `states_swapped_in` runs a model from
that layer up over given states: every fine-tuning step does, and so does embed
(embedding.Encoder, fp32) for the paragraphs whose states `finetune` wrote
(`write_states`, `open_states`). That spares half a pass of the encoder for each paragraph
fine-tuning read: about 2 minutes of `make run` on 2 cores for the default's 1,797.

The hand-off file is safetensors (no pickle): one tensor of tokens x width per paragraph,
named by the sha1 of its text, with the encoder's weight hash and the layer in the header's
metadata. embed uses it only for the encoder it names, and reads it lazily (safe_open maps
the file), so only the states of paragraphs it embeds are loaded. Our own layout over
safetensors: no library hands a model's layer states from one process to another.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rhetoric.errors import ModelError
from rhetoric.io import atomic_path

log = logging.getLogger(__name__)

STATES_FORMAT = "rhetoric-frozen-states-1"


def layer_stack(model: Any) -> Any:
    """The transformer layers (`encoder.layer`, as BERT, MPNet and MiniLM have) of the
    sentence-transformers `model`, or None."""
    transformer = getattr(model[0], "auto_model", None)
    return getattr(getattr(transformer, "encoder", None), "layer", None)


def checked_layer_stack(model: Any, first: int) -> Any:
    """layer_stack(model), after checking that layer `first` is in it (one-line ModelError)."""
    layers = layer_stack(model)
    if layers is None or not 0 <= first < len(layers):
        found = "no encoder.layer stack" if layers is None else f"{len(layers)} layers"
        raise ModelError(f"cached states were asked for at layer {first}, but the encoder has {found}.")
    return layers


def tokenized(model: Any, texts: Sequence[str], device: str) -> dict[str, Any]:
    """The `model`'s own tokenization of `texts`, as tensors on `device`."""
    import torch

    prepare = getattr(model, "preprocess", None) or model.tokenize  # renamed in sentence-transformers 6
    features = prepare(list(texts))
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in features.items()}


class _StatesCaptured(Exception):
    """Raised by the hook of lower_layer_states to stop a forward pass at the first
    trained layer: the layers above it would be computed for nothing."""


def lower_layer_states(model: Any, texts: Sequence[str], first: int, batch_size: int = 32) -> list[Any]:
    """The hidden states entering layer `first` of `model` for each of `texts` (one
    tensor of tokens x width per text, padding dropped), computed once in eval mode.

    The lower layers are frozen, so these states are the same every epoch: training the
    top layers over them costs the top layers' share of a pass, not a whole pass. The
    states are caught by a pre-hook on layer `first` rather than by running the layers
    by hand, so the model's own embeddings, attention mask and position bias make them.
    They are kept on the CPU (about 0.7 GB for 3,589 paragraphs of mpnet).
    """
    import torch
    from tqdm import tqdm

    layers = checked_layer_stack(model, first)
    captured: dict[str, Any] = {}

    def capture(_module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        captured["states"] = args[0] if args else kwargs["hidden_states"]
        raise _StatesCaptured

    was_training = model.training
    model.eval()
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # little padding per batch
    states: list[Any] = [None] * len(texts)
    device = next(model.parameters()).device
    handle = layers[first].register_forward_pre_hook(capture, with_kwargs=True)
    try:
        with torch.no_grad():
            starts = range(0, len(order), batch_size)
            for start in tqdm(starts, unit="batch", desc="frozen layers", disable=not sys.stderr.isatty()):
                rows = order[start : start + batch_size]
                features = tokenized(model, [texts[i] for i in rows], str(device))
                with contextlib.suppress(_StatesCaptured):
                    model[0](features)
                mask = features["attention_mask"].bool()
                for j, i in enumerate(rows):
                    states[i] = captured["states"][j][mask[j]].cpu().clone()
    finally:
        handle.remove()
        model.train(was_training)
    return states


@contextlib.contextmanager
def states_swapped_in(
    model: Any, first: int, states: Sequence[Any], attention_mask: Any, texts: Sequence[str]
) -> Iterator[None]:
    """While inside, `model` runs from layer `first` up over `states` (one tensor of tokens x
    width per row of the batch, from lower_layer_states) instead of its layers below.

    The model runs as usual (tokenizer, embeddings, attention mask, position bias, pooling,
    normalizing) with its layer list cut to the layers from `first` up; a pre-hook on layer
    `first` swaps the embeddings' output for the states, put back at the tokens' places
    (`attention_mask`, any padding). States whose length is not the row's token count (made
    for other paragraphs, or at another max_seq_length) are a one-line ModelError.
    """
    import torch

    layers = checked_layer_stack(model, first)
    mask = attention_mask.bool()
    for text, state, tokens in zip(texts, states, mask.sum(dim=1).tolist(), strict=True):
        if len(state) != tokens:
            raise ModelError(
                f"the cached states of a paragraph have {len(state)} tokens, the model reads {tokens} "
                f"({text[:40]!r}...); compute them with lower_layer_states at the same max_seq_length."
            )

    def swap_in(_module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, Any]:
        given = args[0] if args else kwargs["hidden_states"]
        cached = torch.zeros_like(given)
        for j, state in enumerate(states):
            cached[j][mask[j]] = state.to(given.device, given.dtype)
        if args:
            return (cached, *args[1:]), kwargs
        return args, {**kwargs, "hidden_states": cached}

    transformer = model[0].auto_model
    handle = layers[first].register_forward_pre_hook(swap_in, with_kwargs=True)
    try:
        transformer.encoder.layer = torch.nn.ModuleList(list(layers)[first:])
        yield
    finally:
        transformer.encoder.layer = layers
        handle.remove()


def text_key(text: str) -> str:
    """The name of a paragraph's states in the hand-off file: the sha1 of its text.

    >>> text_key("a")
    '86f7e437faa5a7fce15d1ddcb9eaeaea377667b8'
    """
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def write_states(
    path: Path, texts: Sequence[str], states: Sequence[Any], encoder_sha256: str, first: int
) -> None:
    """Write the states of `texts` entering layer `first` of the encoder whose weights hash
    to `encoder_sha256`, atomically (no texts: a file that gives embed nothing)."""
    from safetensors.torch import save_file

    tensors = {text_key(text): state.contiguous() for text, state in zip(texts, states, strict=True)}
    metadata = {"format": STATES_FORMAT, "encoder_weights_sha256": encoder_sha256, "first_layer": str(first)}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)


def write_no_states(path: Path) -> None:
    """A hand-off file with no states (a frozen or wholly fine-tuned encoder)."""
    write_states(path, [], [], "", 0)


@dataclass(frozen=True)
class FrozenStates:
    """The states of one encoder in a hand-off file, read one paragraph at a time."""

    first: int  # the layer they enter
    file: Any  # safetensors' safe_open handle
    keys: frozenset[str]

    def has(self, text: str) -> bool:
        return text_key(text) in self.keys

    def get(self, text: str) -> Any:
        return self.file.get_tensor(text_key(text))


def open_states(path: Path | None, encoder_sha256: str) -> FrozenStates | None:
    """The states in `path` when they are of the encoder whose weights hash to
    `encoder_sha256`; else None, and embed computes every layer as usual. A missing,
    empty, damaged or other encoder's file only costs time, so it is a log line, not an
    error."""
    if path is None or not path.is_file():
        return None
    from safetensors import SafetensorError, safe_open

    try:
        file = safe_open(str(path), framework="pt")
        meta = file.metadata() or {}
        keys = frozenset(file.keys())
        first = int(meta.get("first_layer", "-1"))
    except (SafetensorError, OSError, ValueError) as error:
        log.warning("embed: %s is not a readable states file (%s); computing every layer.", path, error)
        return None
    if meta.get("format") != STATES_FORMAT or meta.get("encoder_weights_sha256") != encoder_sha256:
        log.info("embed: %s holds no states of this encoder; computing every layer.", path)
        return None
    return FrozenStates(first, file, keys) if keys else None
