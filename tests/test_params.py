from __future__ import annotations

import pytest
from pydantic import ValidationError

from rhetoric.encoders.embedding import BACKEND_RECIPES
from rhetoric.errors import ParamsError
from rhetoric.params import (
    BACKENDS,
    EmbedParams,
    EvaluateParams,
    FineTuneParams,
    PredictParams,
    SegmentParams,
    TrainParams,
    flatten,
    model_requirements,
    parse_labels,
)


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


def test_every_backend_has_a_store_recipe() -> None:
    assert set(BACKEND_RECIPES) == set(BACKENDS)
    assert EmbedParams.from_dict({"backend": BACKENDS[-1]}).backend == BACKENDS[-1]


@pytest.mark.parametrize(
    ("cls", "raw", "message"),
    [
        (TrainParams, [1, 2], r"^params\.yaml: train must be a mapping of keys.*got \[1, 2\] \(list\)\.$"),
        (SegmentParams, 5, r"^params\.yaml: segment must be a mapping of keys.*got 5 \(int\)\.$"),
        (EmbedParams, "fp32", r"^params\.yaml: embed must be a mapping"),
    ],
)
def test_a_section_of_the_wrong_type_is_named(cls: type, raw: object, message: str) -> None:
    with pytest.raises(ParamsError, match=message):
        cls.from_dict(raw)


@pytest.mark.parametrize(
    ("cls", "raw", "message"),
    [
        (EmbedParams, {"sentences": "yes"}, r"embed\.sentences must be bool, got 'yes' \(str\)"),
        (EmbedParams, {"batch_size": 0}, r"embed\.batch_size must be between 1 and 4096, got 0"),
        (EmbedParams, {"model": " "}, r"embed\.model must name a model"),
        (EmbedParams, {"device": "gpu"}, r"embed\.device is 'gpu'; expected one of auto, cpu, cuda"),
        (SegmentParams, {"max_document_mb": 0}, r"segment\.max_document_mb must be > 0, got 0"),
        (PredictParams, {"low_confidence": 1}, r"predict\.low_confidence must be > 0 and < 1, got 1"),
        (EvaluateParams, {"calibration_bins": 1.5}, r"evaluate\.calibration_bins must be int"),
        (TrainParams, {"features": []}, r"train\.features must list at least one item"),
        (TrainParams, {"features": "tfidf"}, r"train\.features must be a list, got 'tfidf'"),
        (TrainParams, {"hyperparameters": [1]}, r"train\.hyperparameters must be a mapping"),
        (TrainParams, {"calibration": "sigmoidd"}, r"train\.calibration.*Did you mean 'sigmoid'"),
        (FineTuneParams, {"objective": "contrastiv"}, r"finetune\.objective.*Did you mean 'contrastive'"),
        (FineTuneParams, {"temperature": 0}, r"finetune\.temperature must be > 0"),
        (FineTuneParams, {"epochs": 0}, r"finetune\.epochs must be > 0"),
        (FineTuneParams, {"epochs": "1"}, r"finetune\.epochs must be a number, got '1' \(str\)"),
    ],
)
def test_every_message_is_one_line_naming_the_key(cls: type, raw: dict, message: str) -> None:
    with pytest.raises(ParamsError, match=message) as caught:
        cls.from_dict(raw)
    assert "\n" not in str(caught.value)


def test_finetune_epochs_may_be_a_fraction_or_a_whole_number() -> None:
    assert FineTuneParams.from_dict({"epochs": 0.25}).epochs == 0.25
    assert FineTuneParams.from_dict({"epochs": 2}).epochs == 2


def test_params_are_frozen_and_round_trip() -> None:
    params = TrainParams.from_dict({"test_size": 0.3, "class_weight": None})
    with pytest.raises(ValidationError):
        params.seed = 1  # type: ignore[misc]
    assert TrainParams.from_dict(params.to_dict()) == params
    assert TrainParams.from_dict(None) == TrainParams()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({}, None),  # no project params: nothing to check a model against
        ({"labels": ["a", "b"]}, (("a", "b"), None)),
        ({"labels": ["a", "b"], "embed": {"batch_size": 8}}, (("a", "b"), None)),  # default model
        ({"labels": ["a", "b"], "embed": {"model": "my-encoder"}}, (("a", "b"), "my-encoder")),
    ],
)
def test_model_requirements_name_the_embedder_only_where_params_do(raw: dict, expected: object) -> None:
    assert model_requirements(raw) == expected


def test_model_requirements_check_the_embed_section_and_the_labels() -> None:
    with pytest.raises(ParamsError, match="embed.batch_size"):
        model_requirements({"labels": ["a", "b"], "embed": {"batch_size": 0}})
    with pytest.raises(ParamsError, match="labels"):
        model_requirements({"labels": ["a"]})


def test_max_document_bytes_follows_the_megabytes() -> None:
    assert SegmentParams.from_dict({"max_document_mb": 0.5}).max_document_bytes == 512 * 1024
