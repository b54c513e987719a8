"""The one module that talks to MLflow: where the store is, what a run records, the registry.

The default store is `sqlite:///<repo root>/mlflow.db` with artifacts in
`<repo root>/mlartifacts`; the repo root comes from DVC_ROOT, which DVC sets to the
main workspace even when a queued experiment runs in a temporary copy.
MLFLOW_TRACKING_URI overrides the store.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from rhetoric.model.folder import QUANTIZED_DIR, ModelFolder
from rhetoric.params import flatten

log = logging.getLogger(__name__)

EXPERIMENT = "rhetoric"
REGISTERED_MODEL = "rhetoric-paragraph-classifier"
SERVING_CODE = Path(__file__).with_name("serving.py")


def repo_root() -> Path:
    return Path(os.environ.get("DVC_ROOT") or os.getcwd()).resolve()


def tracking_uri(root: Path | None = None) -> str:
    root = root or repo_root()
    # timeout: queued experiments write the same SQLite file at once; wait for the lock.
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{root / 'mlflow.db'}?timeout=60"


def _mlflow() -> Any:
    """Import mlflow with telemetry off and the store pointed at the repo root."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "true")
    # sqlite stores several queued experiments may write at once: wait, don't fail.
    os.environ.setdefault("MLFLOW_SQLALCHEMYSTORE_POOLCLASS", "NullPool")
    # An unreachable tracking server should cost seconds, not MLflow's default minutes of retries.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "15")
    import mlflow

    mlflow.set_tracking_uri(tracking_uri())
    return mlflow


def experiment_id(mlflow: Any) -> str:
    existing = mlflow.get_experiment_by_name(EXPERIMENT)
    if existing is not None:
        return existing.experiment_id
    artifacts = (repo_root() / "mlartifacts").as_uri()
    return mlflow.create_experiment(EXPERIMENT, artifact_location=artifacts)


def git_commit(root: Path) -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True, timeout=10
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _flat_metrics(prefix: str, metrics: dict[str, Any]) -> dict[str, float]:
    flat = flatten(metrics, f"{prefix}.")
    return {
        k.replace("per_class.", ""): float(v)
        for k, v in flat.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    }


def log_run(
    params: dict[str, Any],
    cv: dict[str, Any],
    test_metrics: dict[str, Any],
    data_digest: str,
    artifacts: list[Path],
    model_dir: Path,
    input_example: list[str],
    test_docs_digest: str = "",
    quantized_encoder: Path | None = None,
) -> str | None:
    """Record one train+evaluate execution and register its model as `candidate`.
    `quantized_encoder`: the store's int8-static encoder, logged with the model (it cannot
    be remade where the model is loaded: it was calibrated on the corpus).

    MLflow being unreachable must not lose the DVC outputs: the failure is logged as
    a warning and None is returned.
    """
    try:
        return _log_run(
            params,
            cv,
            test_metrics,
            data_digest,
            artifacts,
            model_dir,
            input_example,
            test_docs_digest,
            quantized_encoder,
        )
    except Exception as error:  # any store failure: keep the stage's outputs, say why
        log.warning(
            "MLflow logging failed (%s: %s); the DVC outputs are written, the run is "
            "not recorded. Check MLFLOW_TRACKING_URI=%s.",
            type(error).__name__,
            error,
            tracking_uri(),
        )
        return None


def log_evaluation(
    evaluation: Any,
    card: Any,
    evaluate_params: dict[str, Any],
    artifacts: list[Path],
    model_dir: Path,
    quantized_encoder: Path | None = None,
) -> str | None:
    """`log_run` for the evaluate stage: its `evaluation.Evaluation` of the model whose
    `model.card.ModelCard` is `card`, the card attached beside `artifacts`."""
    from rhetoric.model.training import data_digest

    params = {
        "labels": list(card.labels),
        "embed": card.embedder.to_dict() | card.embed_params.to_dict(),
        "train": dict(card.train_params),
        "evaluate": evaluate_params,
    }
    return log_run(
        params,
        dict(card.selection),
        evaluation.test.metrics,
        card.data_digest,
        [*artifacts, ModelFolder(model_dir).card_file],
        model_dir,
        evaluation.test_rows["text"].head(2).tolist(),
        test_docs_digest=data_digest(evaluation.test_rows),
        quantized_encoder=quantized_encoder,
    )


def _log_run(
    params,
    cv,
    test_metrics,
    data_digest,
    artifacts,
    model_dir,
    input_example,
    test_docs_digest,
    quantized_encoder,
) -> str:
    mlflow = _mlflow()
    import pandas as pd
    from mlflow.models import infer_signature

    from rhetoric.model.labeler import LabeledParagraph, to_frame

    root = repo_root()
    tags = {"git_commit": git_commit(root), "data_digest": data_digest, "test_docs_digest": test_docs_digest}
    if os.environ.get("DVC_EXP_NAME"):
        tags["dvc_experiment"] = os.environ["DVC_EXP_NAME"]
    with mlflow.start_run(experiment_id=experiment_id(mlflow), tags=tags) as run:
        flat = {k: str(v)[:6000] for k, v in flatten(params).items()}
        mlflow.log_params(flat)
        mlflow.log_metrics(
            {
                "cv.f1_macro": cv["cv_f1_macro"],
                "cv.f1_macro_std": cv["cv_f1_macro_std"],
                **_flat_metrics("test", test_metrics),
            }
        )
        for path in artifacts:
            mlflow.log_artifact(str(path), artifact_path="evaluation")
        example = pd.DataFrame({"text": input_example})
        # The shape only (what the pyfunc returns); the values are placeholders.
        labels = params["labels"]
        uniform = LabeledParagraph(labels[0], dict.fromkeys(labels, 1 / len(labels)))
        output = to_frame([uniform] * len(example), labels)
        folder = ModelFolder(model_dir)
        artifacts = {"classifier": str(folder.head_file), "card": str(folder.card_file)}
        encoder = folder.read_card().embedder
        if encoder.inside_model:  # a fine-tuned encoder has no home but the model: copy it along
            artifacts[encoder.path] = str(folder.root / encoder.path)
        staging = Path(tempfile.mkdtemp(prefix="rhetoric-quantized-"))
        if quantized_encoder is not None:  # copied under the name ModelFolder looks for
            shutil.copytree(quantized_encoder, staging / QUANTIZED_DIR)
            artifacts["quantized_encoder"] = str(staging / QUANTIZED_DIR)
        try:
            mlflow.pyfunc.log_model(
                name="model",
                python_model=str(SERVING_CODE),
                artifacts=artifacts,
                signature=infer_signature(example, output),
                input_example=example,
                registered_model_name=REGISTERED_MODEL,
            )
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        client = mlflow.MlflowClient()
        versions = client.search_model_versions(f"name='{REGISTERED_MODEL}' and run_id='{run.info.run_id}'")
        if versions:
            version = versions[0].version
            client.set_registered_model_alias(REGISTERED_MODEL, "candidate", version)
            decision = promote_if_better(client, version, test_metrics["f1_macro"], test_docs_digest)
            mlflow.set_tag("champion_decision", decision)
            log.info("registry: version %s is candidate; %s", version, decision)
        return run.info.run_id


def promote_if_better(client: Any, version: str, f1_macro: float, test_docs: str) -> str:
    """Alias `champion` moves to `version` only if it beats the champion on the same test documents."""
    try:
        champion = client.get_model_version_by_alias(REGISTERED_MODEL, "champion")
    except Exception:  # MLflow raises MlflowException when the alias does not exist yet
        champion = None
    if champion is None:
        client.set_registered_model_alias(REGISTERED_MODEL, "champion", version)
        return f"promoted to champion (no champion before), test macro-F1 {f1_macro:.4f}"
    run = client.get_run(champion.run_id)
    best = run.data.metrics.get("test.f1_macro", float("-inf"))
    if run.data.tags.get("test_docs_digest") != test_docs:
        return (
            f"kept champion v{champion.version}: it was tested on other documents, so the scores "
            "are not comparable; promote by hand if wanted"
        )
    if f1_macro > best:
        client.set_registered_model_alias(REGISTERED_MODEL, "champion", version)
        return f"promoted to champion: test macro-F1 {f1_macro:.4f} > v{champion.version}'s {best:.4f}"
    return f"kept champion v{champion.version}: test macro-F1 {f1_macro:.4f} <= {best:.4f}"


def download_registered_model(uri: str, target: Path) -> Path:
    """Fetch a registered model's classifier and card (e.g. models:/NAME@champion) into `target`."""
    mlflow = _mlflow()
    from rhetoric.errors import ModelError

    try:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(target)))
    except Exception as error:  # unknown name, alias or unreachable store
        raise ModelError(
            f"{uri}: cannot fetch it from {tracking_uri()} ({error}); check the name "
            "and alias with `mlflow ui`, or set MLFLOW_TRACKING_URI."
        ) from None
    # The artifacts keep their file names, so the folder is a model folder.
    artifacts = ModelFolder(local / "artifacts")
    if not artifacts.card_file.is_file():
        raise ModelError(f"{uri}: not a rhetoric model (no {artifacts.card_file.name} in its artifacts).")
    return artifacts.root


def download_to_temporary_folder(uri: str) -> Path:
    """A registered model (models:/NAME@alias) downloaded into a fresh temporary folder, for
    one command's use (`rhetoric predict --model models:/...`)."""
    import tempfile

    return download_registered_model(uri, Path(tempfile.mkdtemp(prefix="rhetoric-model-")))
