"""MLflow runs against a real SQLite store in a temporary folder: names, params, metrics,
and the registry rule (a new version only when the model's content changed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rhetoric.io import file_sha256, write_json
from rhetoric.model.card import EncoderRef, EncodingRecipe, ModelCard
from rhetoric.model.features import feature_frame
from rhetoric.model.sklearn_head import fit_selected, save_head
from rhetoric.params import TrainParams
from rhetoric.tracking import runs

LABELS = ("greeting", "historical_claim", "future_commitment", "other")
TEXTS = [
    "Warm congratulations on your national day.",
    "The treaty was signed in 1961.",
    "We will keep working together.",
    "Guests attended the reception.",
] * 3


def save_model(folder: Path, c: float, encoder_path: str = "/venv/a/all-MiniLM-L6-v2") -> Path:
    """A real skops head on random vectors and its card, as `train` writes them."""
    X = feature_frame(TEXTS, np.random.default_rng(0).normal(size=(len(TEXTS), 6)).astype(np.float32))
    y = list(LABELS) * 3
    folds = [
        (np.arange(12)[np.arange(12) // 4 != g], np.arange(12)[np.arange(12) // 4 == g]) for g in range(3)
    ]
    params = TrainParams.from_dict({"features": ["embedding"], "hyperparameters": {"C": [c]}})
    head, _ = fit_selected(params, X, y, folds)
    folder.mkdir(parents=True, exist_ok=True)
    save_head(head, folder / "classifier.skops")
    card = ModelCard(
        labels=LABELS,
        embedder=EncoderRef("all-MiniLM-L6-v2", encoder_path, "5" * 64),
        embed_params=EncodingRecipe("fp32", 32, "all-minilm-l6-v2-555555555555-fp32"),
        train_params=params.to_dict(),
        data_digest="d" * 64,
        counts={"labeled": 12},
        train_docs=("d1",),
        test_docs=("d2",),
        selection={"cv_f1_macro": 0.5, "cv_f1_macro_std": 0.0},
    )
    write_json(folder / "card.json", card.to_dict())
    return folder


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One SQLite tracking store for this module's tests (creating one takes seconds);
    returns an MlflowClient on it."""
    folder = tmp_path_factory.mktemp("store")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{folder / 'mlflow.db'}")
        patch.setenv("DVC_ROOT", str(folder))
        patch.delenv("DVC_EXP_NAME", raising=False)
        import mlflow

        mlflow.set_tracking_uri(f"sqlite:///{folder / 'mlflow.db'}")
        yield mlflow.MlflowClient()


def register_without_pyfunc(mlflow: Any, client: Any, run_id: str, labels, model_dir, example) -> str:
    """Stands in for `log_pyfunc_model` (which loads the encoder to check its input example):
    registers the run's logged card as a version, through the same store API."""
    if not client.search_registered_models(f"name='{runs.REGISTERED_MODEL}'"):
        client.create_registered_model(runs.REGISTERED_MODEL)
    source = f"{mlflow.get_artifact_uri()}/evaluation"
    return client.create_model_version(runs.REGISTERED_MODEL, source, run_id=run_id).version


def log(model_dir: Path, params: dict[str, Any], f1: float = 0.8) -> str:
    metrics = {"test.f1_macro": f1, "test.greeting.f1": f1, "dev.f1_macro": f1 - 0.1, "cv.f1_macro": f1}
    run_id = runs.log_run(
        {"labels": list(LABELS), **params},
        metrics,
        "d" * 64,
        [model_dir / "card.json"],
        model_dir,
        ["text"],
        test_docs_digest="t" * 64,
        log_model=register_without_pyfunc,
    )
    assert run_id is not None
    return run_id


PARAMS = {
    "segment": {"max_document_mb": 5.0},
    "embed": {"model": "all-MiniLM-L6-v2", "device": "auto"},
    "train": {"hyperparameters": {"C": [1.0]}},
    "predict": {"low_confidence": 0.6},
}


def test_a_run_records_every_param_and_dev_metrics(store: Any, tmp_path: Path) -> None:
    run = store.get_run(log(save_model(tmp_path / "models", 1.0), PARAMS))
    assert run.data.params["segment.max_document_mb"] == "5.0"
    assert run.data.params["predict.low_confidence"] == "0.6"
    assert run.data.params["embed.model"] == "all-MiniLM-L6-v2"
    assert run.data.params["embed.device"] == "auto"
    assert run.data.metrics["dev.f1_macro"] == pytest.approx(0.7)
    assert run.data.metrics["test.greeting.f1"] == pytest.approx(0.8)


def test_run_name_is_the_dvc_experiment_or_commit_and_params(
    store: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    models = save_model(tmp_path / "models", 1.0)
    monkeypatch.setattr(runs, "git_commit", lambda root: "0123456789abcdef")
    first, again = (store.get_run(log(models, PARAMS)).info.run_name for _ in range(2))
    other = store.get_run(log(models, {**PARAMS, "predict": {"low_confidence": 0.5}})).info.run_name
    assert first == again and first.startswith("0123456-params-")
    assert other != first and other.startswith("0123456-params-")
    monkeypatch.setenv("DVC_EXP_NAME", "tipsy-lamb")
    run = store.get_run(log(models, PARAMS))
    assert run.info.run_name == "tipsy-lamb" and run.data.tags["dvc_experiment"] == "tipsy-lamb"


def test_a_version_is_registered_only_when_the_model_changed(store: Any, tmp_path: Path) -> None:
    def count() -> int:
        return len(store.search_model_versions(f"name='{runs.REGISTERED_MODEL}'"))

    before = count()
    committed = save_model(tmp_path / "committed", 2.0)
    changed = save_model(tmp_path / "changed", 0.02)
    # The same model saved again, as a retrain or another machine would (other venv path).
    again = save_model(tmp_path / "again", 2.0, encoder_path="/elsewhere/all-MiniLM-L6-v2")
    first, second, third = (
        store.get_run(log(m, PARAMS)).data.tags["model_version"] for m in (committed, changed, again)
    )
    assert first != second and third == first
    assert count() == before + 2
    assert str(store.get_model_version_by_alias(runs.REGISTERED_MODEL, "candidate").version) == first
    tags = store.get_model_version(runs.REGISTERED_MODEL, second).tags
    assert tags[runs.CONTENT_TAG] == runs.model_content_sha256(changed)


def test_two_saves_of_one_head_hash_alike_and_another_head_does_not(tmp_path: Path) -> None:
    first = save_model(tmp_path / "first", 1.0) / "classifier.skops"
    second = save_model(tmp_path / "second", 1.0) / "classifier.skops"
    other = save_model(tmp_path / "other", 0.01) / "classifier.skops"
    assert file_sha256(first) == file_sha256(second)
    assert file_sha256(other) != file_sha256(first)


HEAD_IN_A_PROCESS = """
import sys
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from rhetoric.model.sklearn_head import head_bytes
texts = ["we will build the bridge", "the treaty was signed", "warm congratulations", "guests came"]
head = make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(texts, [0, 1, 2, 3])
sys.stdout.buffer.write(head_bytes(head))
"""


def test_the_same_head_trained_in_two_processes_has_the_same_bytes() -> None:
    """Memory addresses (skops ids, TF-IDF's `_stop_words_id`) differ between processes;
    none may reach the file, or a retrained identical model would look new."""
    import subprocess
    import sys

    first, second = (
        subprocess.run([sys.executable, "-c", HEAD_IN_A_PROCESS], capture_output=True, check=True).stdout
        for _ in range(2)
    )
    assert len(first) > 1000
    assert first == second
