from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import skops.io as sio
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import FunctionTransformer

from rhetoric.errors import ModelError, ParamsError
from rhetoric.model.features import feature_frame
from rhetoric.model.sklearn_head import fit_selected, load_head, save_head, search_grid
from rhetoric.params import TrainParams

TEXTS = [
    "We extend warm congratulations on your national day.",
    "Best wishes to the friendly people for prosperity.",
    "Relations were established in 1961 and forged in struggle.",
    "Over the past 50 years the two countries supported each other.",
    "We will continue to strengthen cooperation in every field.",
    "China is ready to work with Laos to build a shared future.",
    "Over 200 guests attended the reception.",
    "HANOI, May 2 (VNA) --",
] * 3


def fitted(features=("embedding", "cues", "tfidf"), **extra):
    rng = np.random.default_rng(0)
    labels = ["greeting"] * 2 + ["historical_claim"] * 2 + ["future_commitment"] * 2 + ["other"] * 2
    y = labels * 3
    X = feature_frame(TEXTS, rng.normal(size=(len(TEXTS), 8)).astype(np.float32))
    params = TrainParams.from_dict(
        {"features": list(features), "hyperparameters": {"C": [0.5, 2.0]}, **extra}
    )
    groups = np.repeat(np.arange(3), 8)
    folds = [(np.where(groups != g)[0], np.where(groups == g)[0]) for g in range(3)]
    return fit_selected(params, X, y, folds), X


def test_selection_records_each_candidate() -> None:
    (head, record), X = fitted()
    assert {c["params"]["C"] for c in record["candidates"]} == {0.5, 2.0}
    chosen = next(c for c in record["candidates"] if c["params"] == record["best_params"])
    assert chosen["f1_macro_mean"] == max(c["f1_macro_mean"] for c in record["candidates"])
    assert record["cv_f1_macro"] == chosen["f1_macro_mean"]
    assert head.predict_proba(X).shape == (len(X), 4)


def test_skops_round_trip_predicts_the_same(tmp_path: Path) -> None:
    (head, _), X = fitted(calibration="sigmoid")
    save_head(head, tmp_path / "c.skops")
    loaded = load_head(tmp_path / "c.skops")
    np.testing.assert_allclose(loaded.predict_proba(X), head.predict_proba(X))


def test_untrusted_types_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.skops"
    sio.dump(FunctionTransformer(func=eval), path)
    with pytest.raises(ModelError, match=r"does not trust: .*eval"):
        load_head(path)
    sio.dump(KNeighborsClassifier(), path)
    with pytest.raises(ModelError, match="KNeighborsClassifier"):
        load_head(path)


def test_missing_and_garbage_files(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="run `dvc repro`"):
        load_head(tmp_path / "none.skops")
    (tmp_path / "junk.skops").write_bytes(b"not a zip")
    with pytest.raises(ModelError, match="not a readable skops file"):
        load_head(tmp_path / "junk.skops")


def test_unknown_hyperparameter_is_named() -> None:
    with pytest.raises(ParamsError, match=r"hyperparameters.CC is not a parameter"):
        search_grid(TrainParams.from_dict({"hyperparameters": {"CC": 1}}))
