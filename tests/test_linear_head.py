"""The exported linear head computes what the scikit-learn pipeline computes, without it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rhetoric.errors import ModelError
from rhetoric.model.features import feature_frame
from rhetoric.model.linear_head import LinearHead
from rhetoric.model.sklearn_head import fit_selected
from rhetoric.params import TrainParams

TRAIN = [
    "We extend warm congratulations on your national day.",
    "Best wishes to the friendly people for prosperity and happiness.",
    "Relations were established in 1961 and forged in common struggle.",
    "Over the past 50 years the two countries supported each other.",
    "We will continue to strengthen cooperation in every field.",
    "China is ready to work with Laos to build a shared future.",
    "Over 200 guests attended the reception at the embassy.",
    "HANOI, May 2 (VNA) --",
] * 3
LABELS = ["greeting", "greeting", "historical_claim", "historical_claim"]
LABELS += ["future_commitment", "future_commitment", "other", "other"]
UNSEEN = [
    "",
    "Ünïcode Wörds and UPPER CASE: WE WILL CONTINUE TO STRENGTHEN cooperation!",
    "words never seen in training whatsoever",
    "We will, we will, we will continue — continue to work with the people.",
]


def fit(features: list[str], labels: list[str] | None = None, **extra: object):
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(len(TRAIN), 8)).astype(np.float32)
    params = TrainParams.from_dict({"features": features, "hyperparameters": {"C": [0.5, 4.0]}, **extra})
    groups = np.repeat(np.arange(3), 8)
    folds = [(np.where(groups != g)[0], np.where(groups == g)[0]) for g in range(3)]
    y = (labels or LABELS) * 3
    head, _ = fit_selected(params, feature_frame(TRAIN, vectors), y, folds)
    return head


def compare(head, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    vectors = np.random.default_rng(1).normal(size=(len(texts), 8)).astype(np.float32)
    linear = LinearHead.from_pipeline(head)
    assert linear is not None
    return linear.predict_proba(texts, vectors), head.predict_proba(feature_frame(texts, vectors))


@pytest.mark.parametrize("features", [["embedding", "tfidf"], ["tfidf"], ["embedding"]])
def test_same_probabilities_as_the_pipeline(features: list[str]) -> None:
    ours, theirs = compare(fit(features), TRAIN[:8] + UNSEEN)
    np.testing.assert_allclose(
        ours, theirs, rtol=0, atol=1e-6
    )  # scikit-learn keeps a float32-only input in float32
    assert not np.allclose(theirs[0], theirs[4])  # the comparison is not between constants


def test_binary_head_uses_one_logit() -> None:
    binary = ["greeting"] * 4 + ["other"] * 4
    ours, theirs = compare(fit(["embedding", "tfidf"], binary), TRAIN[:8] + UNSEEN)
    assert ours.shape == (len(TRAIN[:8] + UNSEEN), 2)
    np.testing.assert_allclose(
        ours, theirs, rtol=0, atol=1e-6
    )  # scikit-learn computes a float32-only input in float32


@pytest.mark.parametrize(
    "settings",
    [
        {"features": ["embedding", "cues"]},
        {"features": ["embedding"], "classifier": "random_forest", "hyperparameters": {"max_depth": [3]}},
        {"features": ["embedding"], "calibration": "sigmoid"},
    ],
)
def test_heads_it_cannot_reproduce_are_not_exported(settings: dict) -> None:
    features = settings.pop("features")
    assert LinearHead.from_pipeline(fit(features, **settings)) is None


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    head = fit(["embedding", "tfidf"])
    linear = LinearHead.from_pipeline(head)
    linear.save(tmp_path)
    loaded = LinearHead.load(tmp_path)
    vectors = np.ones((len(UNSEEN), 8), dtype=np.float32)
    np.testing.assert_array_equal(
        loaded.predict_proba(UNSEEN, vectors), linear.predict_proba(UNSEEN, vectors)
    )
    assert loaded.vocabulary == linear.vocabulary


def test_pickled_arrays_are_refused(tmp_path: Path) -> None:
    LinearHead.from_pipeline(fit(["tfidf"])).save(tmp_path)
    with open(tmp_path / "head.npz", "wb") as handle:
        np.savez(handle, idf=np.array([{"x": 1}], dtype=object), coef=np.zeros(1), intercept=np.zeros(1))
    with pytest.raises(ModelError, match="re-export"):
        LinearHead.load(tmp_path)


def test_wrong_vector_width_is_an_error() -> None:
    linear = LinearHead.from_pipeline(fit(["embedding", "tfidf"]))
    with pytest.raises(ModelError, match="8-wide"):
        linear.predict_proba(["text"], np.zeros((1, 5), dtype=np.float32))
