"""params.yaml, parsed once per stage into frozen, validated pydantic models.

Validation is declared, not hand-written: `extra="forbid"` rejects unknown keys,
`Literal` types hold the choices and `Field` the ranges. pydantic's errors are turned
into one line that names the key (`train.classifier`) and, for a typo, suggests the
intended name, so a mistake in params.yaml never silently falls back to a default and
never surfaces as a traceback.

>>> TrainParams.from_dict({"classifier": "linear_svm"}).classifier
'linear_svm'
>>> TrainParams.from_dict({"clasifier": "linear_svm"})  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
rhetoric.errors.ParamsError: params.yaml: unknown key train.clasifier. Did you mean 'classifier'? ...
"""

from __future__ import annotations

import difflib
import math
import typing
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Self

import annotated_types
import yaml
from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationError, field_validator

from rhetoric.errors import ParamsError

DEFAULT_LABELS = ("greeting", "historical_claim", "future_commitment", "other")

# The one list of embedding backends. The encoders divide them by runtime (torch or
# onnxruntime), so the two halves are named here too and everything else imports them.
TorchBackend = Literal["fp32", "bf16"]
OnnxBackend = Literal["onnx", "int8"]
# OpenVINO, int8 with static (calibrated) activation scales: see encoders/openvino_encoder.py.
OpenvinoBackend = Literal["int8-static"]
Backend = Literal[TorchBackend, OnnxBackend, OpenvinoBackend]
TORCH_BACKENDS: tuple[str, ...] = typing.get_args(TorchBackend)
ONNX_BACKENDS: tuple[str, ...] = typing.get_args(OnnxBackend)
OPENVINO_BACKENDS: tuple[str, ...] = typing.get_args(OpenvinoBackend)
# Backends that run an exported copy of the model, cached in the vector store's `embedder/`.
EXPORTED_BACKENDS: tuple[str, ...] = ONNX_BACKENDS + OPENVINO_BACKENDS
BACKENDS: tuple[str, ...] = TORCH_BACKENDS + EXPORTED_BACKENDS
EMBED_BACKENDS: tuple[str, ...] = ("auto", *BACKENDS)

Device = Literal["auto", "cpu", "cuda"]
Engine = Literal["local", "ray"]
Classifier = Literal["logistic_regression", "linear_svm", "random_forest"]
Feature = Literal["embedding", "sentences", "cues", "tfidf", "context"]
EMBED_DEVICES: tuple[str, ...] = typing.get_args(Device)
ENGINES: tuple[str, ...] = typing.get_args(Engine)
CLASSIFIERS: tuple[str, ...] = typing.get_args(Classifier)
FEATURES: tuple[str, ...] = typing.get_args(Feature)

# YAML gives bools for `true`, which pydantic's lax mode would take as 1 or 1.0; a
# strict number still accepts an int where a float is expected (`test_size: 1` is 1.0).
Int = Annotated[int, Strict()]
Float = Annotated[float, Strict()]
Bool = Annotated[bool, Strict()]
Str = Annotated[str, Strict()]

# How pydantic's error types read in a message: "must be <this>".
_EXPECTED = {
    "int_type": "int",
    "int_parsing": "int",
    "int_from_float": "int",
    "float_type": "float",
    "float_parsing": "float",
    "bool_type": "bool",
    "bool_parsing": "bool",
    "string_type": "str",
    "tuple_type": "a list",
    "list_type": "a list",
    "dict_type": "a mapping",
}


class Section(BaseModel):
    """One params section: unknown keys are refused, values typed, the result frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    section: ClassVar[str] = ""

    @classmethod
    def from_dict(cls, raw: Any) -> Self:
        """Validate params.yaml's `section` mapping (None or missing: all defaults)."""
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise ParamsError(
                f"params.yaml: {cls.section} must be a mapping of keys "
                f"(e.g. `{cls.section}: {{key: value}}`), got {_show(raw)} ({type(raw).__name__})."
            )
        try:
            return cls.model_validate(raw)
        except ValidationError as error:
            raise ParamsError(_explain(cls, error.errors()[0])) from None

    def to_dict(self) -> dict[str, Any]:
        """The values as plain Python, as recorded in the model card and MLflow."""
        return self.model_dump()


def _show(value: Any) -> str:
    """A value as it appears in a one-line message (long values cut)."""
    text = repr(value).replace("\n", " ")
    return text if len(text) <= 80 else text[:77] + "..."


def _did_you_mean(value: Any, options: typing.Iterable[str]) -> str:
    hint = difflib.get_close_matches(str(value), list(options), n=1)
    return f" Did you mean {hint[0]!r}?" if hint else ""


def _literal_choices(annotation: Any) -> tuple[str, ...]:
    """Every Literal value inside a type (`tuple[Feature, ...]`, `Literal[...] | None`)."""
    if typing.get_origin(annotation) is Literal:
        return tuple(str(arg) for arg in typing.get_args(annotation))
    return tuple(choice for arg in typing.get_args(annotation) for choice in _literal_choices(arg))


def _bounds(cls: type[Section], name: str) -> str:
    """A field's range as words: 'between 0.05 and 0.5', '> 0 and < 1'."""
    low = high = ""
    for rule in cls.model_fields[name].metadata:
        if isinstance(rule, annotated_types.Ge):
            low = f">= {rule.ge}"
        elif isinstance(rule, annotated_types.Gt):
            low = f"> {rule.gt}"
        elif isinstance(rule, annotated_types.Le):
            high = f"<= {rule.le}"
        elif isinstance(rule, annotated_types.Lt):
            high = f"< {rule.lt}"
    if low.startswith(">=") and high.startswith("<="):
        return f"between {low[3:]} and {high[3:]}"
    return " and ".join(bound for bound in (low, high) if bound)


def _explain(cls: type[Section], error: Any) -> str:
    """One of pydantic's errors as our one-line message, naming the dotted key."""
    loc = error["loc"]
    name = str(loc[0]) if loc else ""
    key = f"{cls.section}.{name}" + "".join(f"[{part}]" for part in loc[1:] if isinstance(part, int))
    kind, value = error["type"], error["input"]
    prefix = "params.yaml:"
    if kind == "extra_forbidden":
        names = list(cls.model_fields)
        return (
            f"{prefix} unknown key {cls.section}.{name}.{_did_you_mean(name, names)} "
            f"Known keys: {', '.join(names)}."
        )
    if kind == "literal_error":
        options = _literal_choices(cls.model_fields[name].annotation)
        return (
            f"{prefix} {key} is {_show(value)}; expected one of {', '.join(options)}."
            f"{_did_you_mean(value, options)}"
        )
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return f"{prefix} {key} must be {_bounds(cls, name)}, got {_show(value)}."
    if kind == "too_short":
        return f"{prefix} {key} must list at least one item, got {_show(value)}."
    if kind in ("int_type", "float_type") and {"int", "float"} & set(loc[1:]):  # int | float
        return f"{prefix} {key} must be a number, got {_show(value)} ({type(value).__name__})."
    if kind in _EXPECTED:
        return f"{prefix} {key} must be {_EXPECTED[kind]}, got {_show(value)} ({type(value).__name__})."
    if kind == "value_error":
        return f"{prefix} {key} {error['ctx']['error']}"
    return f"{prefix} {key}: {error['msg']} (got {_show(value)})."


class SegmentParams(Section):
    section: ClassVar[str] = "segment"
    max_document_mb: Float = Field(default=5.0, gt=0)

    @property
    def max_document_bytes(self) -> int:
        return int(self.max_document_mb * 1024 * 1024)


class EmbedParams(Section):
    section: ClassVar[str] = "embed"
    model: Str = "all-MiniLM-L6-v2"
    backend: Literal["auto", Backend] = "auto"
    device: Device = "auto"
    batch_size: Int = Field(default=32, ge=1, le=4096)
    sentences: Bool = True
    # local: this process; ray: Ray Data actors (`pip install -e '.[ray]'`, RAY_ADDRESS for a cluster).
    engine: Engine = "local"

    @field_validator("model")
    @classmethod
    def _names_a_model(cls, value: str) -> str:
        if not value.strip():
            raise ValueError(
                "must name a model: all-mpnet-base-v2, all-MiniLM-L6-v2, a local folder or a cached hub id."
            )
        return value


class FineTuneParams(Section):
    """Whether the `finetune` stage fine-tunes `embed.model` on the training documents."""

    section: ClassVar[str] = "finetune"
    enabled: Bool = False
    epochs: Int | Float = Field(default=1, gt=0, le=20)  # a fraction: a random part of the paragraphs
    learning_rate: Float = Field(default=4e-5, gt=0, le=1e-2)
    head_learning_rate: Float = Field(default=2e-3, gt=0, le=1.0)
    batch_size: Int = Field(default=16, ge=1, le=1024)
    max_tokens: Int = Field(default=256, ge=8, le=512)
    top_layers: Int | None = Field(default=None, ge=1, le=64)  # None: every layer
    objective: Literal["classification", "contrastive"] = "classification"
    temperature: Float = Field(default=0.1, gt=0, le=10.0)  # of the contrastive objective


class TrainParams(Section):
    section: ClassVar[str] = "train"
    seed: Int = Field(default=42, ge=0, le=2**32 - 1)  # numpy's RandomState range
    test_size: Float = Field(default=0.2, ge=0.05, le=0.5)
    cv_folds: Int = Field(default=5, ge=2, le=20)
    classifier: Classifier = "logistic_regression"
    hyperparameters: dict[str, Any] = Field(default_factory=lambda: {"C": [1.0]})
    features: tuple[Feature, ...] = Field(default=("embedding",), min_length=1)
    class_weight: Literal["balanced"] | None = "balanced"
    calibration: Literal["sigmoid", "isotonic"] | None = None

    @field_validator("hyperparameters")
    @classmethod
    def _values_or_lists_of_values(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key, item in value.items():
            values = item if isinstance(item, list | tuple) else [item]
            if not values:
                raise ValueError(f"entry {key} is an empty list; give one value or a list of values to try.")
            for one in values:
                if not isinstance(one, str | int | float | bool) and one is not None:
                    raise ValueError(
                        f"entry {key} must be a value or a list of values (numbers, names), "
                        f"got {_show(item)}."
                    )
                if isinstance(one, float) and not math.isfinite(one):
                    raise ValueError(f"entry {key} must be a finite number, got {_show(item)}.")
        return value

    def grid(self) -> dict[str, list[Any]]:
        """Hyperparameters as a search grid: a scalar is a one-value list."""
        return {k: list(v) if isinstance(v, list | tuple) else [v] for k, v in self.hyperparameters.items()}


class EvaluateParams(Section):
    section: ClassVar[str] = "evaluate"
    calibration_bins: Int = Field(default=10, ge=2, le=50)


class PredictParams(Section):
    section: ClassVar[str] = "predict"
    low_confidence: Float = Field(default=0.6, gt=0, lt=1)
    # The report labels every sentence of a multi-sentence paragraph (its evidence); costs
    # encoding those sentences unless `embed.sentences: true` put them in the vector store.
    sentence_evidence: Bool = True


def parse_labels(raw: Any) -> tuple[str, ...]:
    """The taxonomy from params `labels`: at least two distinct names."""
    if not isinstance(raw, list) or not all(isinstance(x, str) and x for x in raw):
        raise ParamsError(f"params.yaml: labels must be a list of names, got {_show(raw)}.")
    if len(set(raw)) != len(raw) or len(raw) < 2:
        raise ParamsError(f"params.yaml: labels must be at least two distinct names, got {raw}.")
    return tuple(raw)


def model_requirements(raw: dict[str, Any]) -> tuple[tuple[str, ...], str | None] | None:
    """What params say a trained model must have been made with, for `Labeler.check_compatible`:
    its labels and, where embed.model is written out, its embedder (a default model name says
    nothing: the model's card is right). None where params list no labels (no project)."""
    if "labels" not in raw:
        return None
    embed = EmbedParams.from_dict(raw.get("embed"))  # validated: a bad section is one line
    named = isinstance(raw.get("embed"), dict) and "model" in raw["embed"]
    return parse_labels(raw["labels"]), embed.model if named else None


PARAMS_LIMIT = 1024 * 1024  # bytes: params.yaml is a few hundred
EXPANDED_LIMIT = 100_000  # YAML nodes once aliases are expanded (an "alias bomb" has billions)


def expanded_size(
    node: yaml.Node, sizes: dict[int, int] | None = None, open_: frozenset = frozenset()
) -> int:
    """How many nodes a composed YAML document has once its aliases are expanded, computed on
    the shared graph (never expanded), so a 1 KB alias bomb is measured, not built."""
    sizes = {} if sizes is None else sizes
    if id(node) in sizes:
        return sizes[id(node)]
    if id(node) in open_:
        return EXPANDED_LIMIT + 1  # a recursive anchor
    children: list[yaml.Node] = []
    if isinstance(node, yaml.SequenceNode):
        children = list(node.value)
    elif isinstance(node, yaml.MappingNode):
        children = [part for pair in node.value for part in pair]
    inner = open_ | {id(node)}
    total = 1
    for child in children:
        total += expanded_size(child, sizes, inner)
        if total > EXPANDED_LIMIT:
            break
    sizes[id(node)] = total
    return total


def read_params(path: str | Path = "params.yaml") -> dict[str, Any]:
    """Load params.yaml as a mapping, with a clear error when it is missing or malformed.

    Its size and its size once YAML aliases are expanded are limited before anything is
    built from it, so a hostile file cannot exhaust memory (or the error output)."""
    from rhetoric.errors import DataError
    from rhetoric.io import read_input_text

    path = Path(path)
    if not path.exists() and not path.is_symlink():
        raise ParamsError(f"{path}: not found; run from the project root or pass --params.")
    try:
        text = read_input_text(path, PARAMS_LIMIT, "params files are small")
    except DataError as error:
        raise ParamsError(str(error)) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is not None and expanded_size(node) > EXPANDED_LIMIT:
            raise ParamsError(
                f"{path}: expands to more than {EXPANDED_LIMIT:,} values through YAML aliases (*name); "
                "write the values out instead of repeating anchors."
            )
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as error:
        problem = " ".join(str(error).split())
        raise ParamsError(f"{path}: not valid YAML: {problem[:300]}") from None
    except RecursionError:
        raise ParamsError(f"{path}: nested too deeply to be params; check its indentation.") from None
    if not isinstance(loaded, dict):
        raise ParamsError(f"{path}: expected a mapping of sections, got {type(loaded).__name__}.")
    return loaded


def flatten(params: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested params as dotted keys (how MLflow and `dvc exp run -S` name them).

    >>> flatten({"train": {"seed": 1, "hyperparameters": {"C": [1, 2]}}})
    {'train.seed': 1, 'train.hyperparameters.C': [1, 2]}
    """
    flat: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat
