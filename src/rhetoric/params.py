"""params.yaml, parsed once per stage into frozen, typed dataclasses.

`from_dict` rejects unknown keys (with a did-you-mean) and values of the wrong
type or range, naming the field, so a typo in params.yaml never silently falls
back to a default.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from pathlib import Path
from typing import Any, ClassVar, Self

import yaml

from rhetoric.errors import ParamsError

DEFAULT_LABELS = ("greeting", "historical_claim", "future_commitment", "other")


@dataclasses.dataclass(frozen=True)
class Section:
    """Shared parsing: a params section with typed, validated fields."""

    section: ClassVar[str] = ""

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None) -> Self:
        raw = dict(raw or {})
        names = [f.name for f in dataclasses.fields(cls)]
        for key in raw:
            if key not in names:
                hint = difflib.get_close_matches(key, names, n=1)
                did_you_mean = f" Did you mean {hint[0]!r}?" if hint else ""
                raise ParamsError(
                    f"params.yaml: unknown key {cls.section}.{key}.{did_you_mean} "
                    f"Known keys: {', '.join(names)}."
                )
        hints = typing.get_type_hints(cls)
        for key, value in raw.items():
            raw[key] = _coerce(f"{cls.section}.{key}", value, hints[key])
        return cls(**raw)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _coerce(field: str, value: Any, expected: Any) -> Any:
    """Check `value` against a simple type hint; lists from YAML become tuples."""
    origin = typing.get_origin(expected)
    if origin in (types.UnionType, typing.Union):
        errors = []
        for option in typing.get_args(expected):
            try:
                return _coerce(field, value, option)
            except ParamsError as error:
                errors.append(str(error))
        raise ParamsError(errors[-1])
    if origin is tuple:
        (item_type, _ellipsis) = typing.get_args(expected)
        if not isinstance(value, list | tuple):
            raise ParamsError(f"params.yaml: {field} must be a list, got {value!r}.")
        return tuple(_coerce(f"{field}[{i}]", v, item_type) for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise ParamsError(f"params.yaml: {field} must be a mapping, got {value!r}.")
        return dict(value)
    if expected is type(None):
        if value is not None:
            raise ParamsError(f"params.yaml: {field} must be null, got {value!r}.")
        return None
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if expected is Any:
        return value
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise ParamsError(
            f"params.yaml: {field} must be {expected.__name__}, got {value!r} ({type(value).__name__})."
        )
    return value


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ParamsError(f"params.yaml: {message}")


def _choice(field: str, value: str, options: tuple[str, ...]) -> None:
    if value not in options:
        hint = difflib.get_close_matches(value, options, n=1)
        did_you_mean = f" Did you mean {hint[0]!r}?" if hint else ""
        raise ParamsError(
            f"params.yaml: {field} is {value!r}; expected one of {', '.join(options)}.{did_you_mean}"
        )


@dataclasses.dataclass(frozen=True)
class SegmentParams(Section):
    section: ClassVar[str] = "segment"
    max_document_mb: float = 5.0

    def __post_init__(self) -> None:
        _require(self.max_document_mb > 0, "segment.max_document_mb must be > 0.")


EMBED_DEVICES = ("auto", "cpu", "cuda")
EMBED_BACKENDS = ("auto", "fp32", "bf16", "onnx", "int8")


@dataclasses.dataclass(frozen=True)
class EmbedParams(Section):
    section: ClassVar[str] = "embed"
    model: str = "all-MiniLM-L6-v2"
    backend: str = "auto"
    device: str = "auto"
    batch_size: int = 32
    sentences: bool = True

    def __post_init__(self) -> None:
        _require(bool(self.model.strip()), "embed.model must name a model.")
        _choice("embed.backend", self.backend, EMBED_BACKENDS)
        _choice("embed.device", self.device, EMBED_DEVICES)
        _require(1 <= self.batch_size <= 4096, "embed.batch_size must be between 1 and 4096.")


CLASSIFIERS = ("logistic_regression", "linear_svm", "random_forest")
FEATURES = ("embedding", "sentences", "cues", "tfidf", "context")


@dataclasses.dataclass(frozen=True)
class TrainParams(Section):
    section: ClassVar[str] = "train"
    seed: int = 42
    test_size: float = 0.2
    cv_folds: int = 5
    classifier: str = "logistic_regression"
    hyperparameters: dict[str, Any] = dataclasses.field(default_factory=lambda: {"C": [1.0]})
    features: tuple[str, ...] = ("embedding",)
    class_weight: str | None = "balanced"
    calibration: str | None = None

    def __post_init__(self) -> None:
        _require(0.05 <= self.test_size <= 0.5, "train.test_size must be between 0.05 and 0.5.")
        _require(2 <= self.cv_folds <= 20, "train.cv_folds must be between 2 and 20.")
        _choice("train.classifier", self.classifier, CLASSIFIERS)
        _require(bool(self.features), "train.features must list at least one feature set.")
        for name in self.features:
            _choice("train.features", name, FEATURES)
        if self.class_weight is not None:
            _choice("train.class_weight", self.class_weight, ("balanced",))
        if self.calibration is not None:
            _choice("train.calibration", self.calibration, ("sigmoid", "isotonic"))

    def grid(self) -> dict[str, list[Any]]:
        """Hyperparameters as a search grid: a scalar is a one-value list."""
        return {k: list(v) if isinstance(v, list | tuple) else [v] for k, v in self.hyperparameters.items()}


@dataclasses.dataclass(frozen=True)
class EvaluateParams(Section):
    section: ClassVar[str] = "evaluate"
    calibration_bins: int = 10

    def __post_init__(self) -> None:
        _require(2 <= self.calibration_bins <= 50, "evaluate.calibration_bins must be 2-50.")


@dataclasses.dataclass(frozen=True)
class PredictParams(Section):
    section: ClassVar[str] = "predict"
    low_confidence: float = 0.6

    def __post_init__(self) -> None:
        _require(0 < self.low_confidence < 1, "predict.low_confidence must be between 0 and 1.")


def parse_labels(raw: Any) -> tuple[str, ...]:
    """The taxonomy from params `labels`: at least two distinct names."""
    if not isinstance(raw, list) or not all(isinstance(x, str) and x for x in raw):
        raise ParamsError(f"params.yaml: labels must be a list of names, got {raw!r}.")
    if len(set(raw)) != len(raw) or len(raw) < 2:
        raise ParamsError(f"params.yaml: labels must be at least two distinct names, got {raw}.")
    return tuple(raw)


def read_params(path: str | Path = "params.yaml") -> dict[str, Any]:
    """Load params.yaml as a mapping, with a clear error when it is missing or malformed."""
    path = Path(path)
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ParamsError(f"{path}: not found; run from the project root or pass --params.") from None
    except yaml.YAMLError as error:
        raise ParamsError(f"{path}: not valid YAML: {error}") from None
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
