from __future__ import annotations

import pytest

from rhetoric.errors import ParamsError
from rhetoric.params import EmbedParams, TrainParams, flatten, parse_labels


def test_defaults_and_lists_become_tuples() -> None:
    params = TrainParams.from_dict({"features": ["embedding", "cues"], "hyperparameters": {"C": 2}})
    assert params.features == ("embedding", "cues")
    assert params.grid() == {"C": [2]}


def test_unknown_key_suggests_the_right_one() -> None:
    with pytest.raises(ParamsError, match=r"train\.test_sise.*Did you mean 'test_size'"):
        TrainParams.from_dict({"test_sise": 0.2})


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"test_size": "big"}, r"train\.test_size must be float"),
        ({"test_size": 0.9}, r"between 0.05 and 0.5"),
        ({"cv_folds": True}, r"train\.cv_folds must be int"),
        ({"classifier": "logistic_regresion"}, r"Did you mean 'logistic_regression'"),
        ({"features": ["embeding"]}, r"train\.features.*expected one of"),
    ],
)
def test_bad_train_values_are_named(raw: dict, message: str) -> None:
    with pytest.raises(ParamsError, match=message):
        TrainParams.from_dict(raw)


def test_embed_backend_choices() -> None:
    assert EmbedParams.from_dict({"backend": "bf16"}).backend == "bf16"
    with pytest.raises(ParamsError, match="embed.backend"):
        EmbedParams.from_dict({"backend": "fp8"})


def test_labels_must_be_distinct_names() -> None:
    assert parse_labels(["a", "b"]) == ("a", "b")
    with pytest.raises(ParamsError):
        parse_labels(["a", "a"])
    with pytest.raises(ParamsError):
        parse_labels("a,b")


def test_flatten_uses_dotted_names() -> None:
    assert flatten({"a": {"b": {"c": 1}}, "d": 2}) == {"a.b.c": 1, "d": 2}
