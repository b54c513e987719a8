"""The model card (card.json) as a frozen, validated dataclass.

The card is what makes a head usable: its labels, the encoder its vectors came from, the
recipe that computed them, the split and the search that chose it. It is read with string
keys in one place only (`ModelCard.from_dict`), so a truncated or hand-edited card is one
clear ModelError naming the file, not a KeyError deep inside evaluate or predict.

The on-disk JSON is the one `train` has always written (`to_dict` gives the same keys in
the same order), so existing models load and a retrained card is byte-identical.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from rhetoric.errors import ModelError


@dataclass(frozen=True)
class EncoderRef:
    """The encoder a model was trained with: its name as given in params, where it was found,
    and the sha256 of its weights (loading refuses other weights).

    `path` is absolute for an encoder that lives outside the model (a pinned package, a local
    folder, the Hugging Face cache) and relative to the model folder for one saved inside it
    (a fine-tuned encoder under models/): `ModelFolder.encoder_identity` resolves both.

    >>> EncoderRef("tuned", "encoder", "ab" * 32).inside_model
    True
    """

    name: str
    path: str
    weights_sha256: str

    @property
    def inside_model(self) -> bool:
        return not Path(self.path).is_absolute()

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "path": self.path, "weights_sha256": self.weights_sha256}


@dataclass(frozen=True)
class EncodingRecipe:
    """How the training vectors were computed: backend (precision), batch size, store key."""

    backend: str
    batch_size: int
    store_key: str

    def to_dict(self) -> dict[str, Any]:
        return {"backend": self.backend, "batch_size": self.batch_size, "store_key": self.store_key}


@dataclass(frozen=True)
class ModelCard:
    """Everything needed to rebuild, check and describe a trained model (JSON keys as fields)."""

    labels: tuple[str, ...]
    embedder: EncoderRef
    embed_params: EncodingRecipe
    train_params: Mapping[str, Any]
    data_digest: str
    counts: Mapping[str, Any]
    train_docs: tuple[str, ...]
    test_docs: tuple[str, ...]
    selection: Mapping[str, Any]  # best_params, cv_f1_macro, cv_f1_macro_std, candidates

    @property
    def uses_sentences(self) -> bool:
        """Whether the head also reads sentence vectors (train.features has `sentences`)."""
        return "sentences" in self.train_params.get("features", ())

    def to_dict(self) -> dict[str, Any]:
        """The card.json content, keys in the order `train` has always written them."""
        return {
            "labels": list(self.labels),
            "embedder": self.embedder.to_dict(),
            "embed_params": self.embed_params.to_dict(),
            "train_params": dict(self.train_params),
            "data_digest": self.data_digest,
            "counts": dict(self.counts),
            "split": {"train_docs": list(self.train_docs), "test_docs": list(self.test_docs)},
            "selection": dict(self.selection),
        }

    @classmethod
    def from_dict(cls, data: Any, source: str) -> ModelCard:
        """The card in `data` (parsed card.json), or a one-line ModelError naming `source`."""
        read = _Reader(source)
        data = read.mapping(data, "the card")
        embedder = read.mapping(data.get("embedder"), "embedder")
        recipe = read.mapping(data.get("embed_params"), "embed_params")
        split = read.mapping(data.get("split"), "split")
        selection = read.mapping(data.get("selection"), "selection")
        for key in ("cv_f1_macro", "cv_f1_macro_std"):
            read.typed(selection.get(key), (int, float), f"selection.{key}")
        labels = read.strings(data.get("labels"), "labels")
        if not labels:
            read.fail("labels is empty")
        return cls(
            labels=labels,
            embedder=EncoderRef(
                name=read.typed(embedder.get("name"), str, "embedder.name"),
                path=read.typed(embedder.get("path"), str, "embedder.path"),
                weights_sha256=read.typed(embedder.get("weights_sha256"), str, "embedder.weights_sha256"),
            ),
            embed_params=EncodingRecipe(
                backend=read.typed(recipe.get("backend"), str, "embed_params.backend"),
                batch_size=read.typed(recipe.get("batch_size"), int, "embed_params.batch_size"),
                store_key=read.typed(recipe.get("store_key"), str, "embed_params.store_key"),
            ),
            train_params=read.mapping(data.get("train_params"), "train_params"),
            data_digest=read.typed(data.get("data_digest"), str, "data_digest"),
            counts=read.mapping(data.get("counts"), "counts"),
            train_docs=read.strings(split.get("train_docs"), "split.train_docs"),
            test_docs=read.strings(split.get("test_docs"), "split.test_docs"),
            selection=selection,
        )


class _Reader:
    """Type checks that all fail with the same one-line message naming the card file."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, problem: str) -> NoReturn:
        raise ModelError(
            f"{self.source}: not a valid model card ({problem}); it is damaged or from another "
            "version of rhetoric; retrain with `dvc repro`."
        )

    def typed(self, value: Any, kind: type | tuple[type, ...], where: str) -> Any:
        if not isinstance(value, kind) or isinstance(value, bool):
            self.fail(f"{where} is missing or not a {getattr(kind, '__name__', 'number')}")
        return value

    def mapping(self, value: Any, where: str) -> dict[str, Any]:
        return self.typed(value, dict, where)

    def strings(self, value: Any, where: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(f"{where} is missing or not a list of strings")
        return tuple(value)
