"""The one module that talks to MLflow: where the store is, what a run records, the registry.

The default store is `sqlite:///<repo root>/mlflow.db` with artifacts in
`<repo root>/mlartifacts`; the repo root comes from DVC_ROOT, which DVC sets to the
main workspace even when a queued experiment runs in a temporary copy.
MLFLOW_TRACKING_URI overrides the store.
"""

from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path
from typing import Any

from rhetoric.params import flatten

log = logging.getLogger(__name__)

EXPERIMENT = "rhetoric"
REGISTERED_MODEL = "rhetoric-paragraph-classifier"
SERVING_CODE = Path(__file__).with_name("serving.py")


def repo_root() -> Path:
    return Path(os.environ.get("DVC_ROOT") or os.getcwd()).resolve()


def tracking_uri(root: Path | None = None) -> str:
    root = root or repo_root()
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{root / 'mlflow.db'}"


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
) -> str | None:
    """Record one train+evaluate execution and register its model as `candidate`.

    MLflow being unreachable must not lose the DVC outputs: the failure is logged as
    a warning and None is returned.
    """
    try:
        return _log_run(params, cv, test_metrics, data_digest, artifacts, model_dir, input_example)
    except Exception as error:  # any store failure: keep the stage's outputs, say why
        log.warning(
            "MLflow logging failed (%s: %s); the DVC outputs are written, the run is "
            "not recorded. Check MLFLOW_TRACKING_URI=%s.",
            type(error).__name__,
            error,
            tracking_uri(),
        )
        return None


def _log_run(params, cv, test_metrics, data_digest, artifacts, model_dir, input_example) -> str:
    mlflow = _mlflow()
    import pandas as pd
    from mlflow.models import infer_signature

    root = repo_root()
    tags = {"git_commit": git_commit(root), "data_digest": data_digest}
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
        output = pd.DataFrame(
            {
                "label": ["greeting"] * len(example),
                **{f"p_{name}": [0.25] * len(example) for name in params["labels"]},
            }
        )
        mlflow.pyfunc.log_model(
            name="model",
            python_model=str(SERVING_CODE),
            artifacts={
                "classifier": str(model_dir / "classifier.skops"),
                "card": str(model_dir / "card.json"),
            },
            signature=infer_signature(example, output),
            input_example=example,
            registered_model_name=REGISTERED_MODEL,
        )
        client = mlflow.MlflowClient()
        versions = client.search_model_versions(f"name='{REGISTERED_MODEL}' and run_id='{run.info.run_id}'")
        if versions:
            client.set_registered_model_alias(REGISTERED_MODEL, "candidate", versions[0].version)
        return run.info.run_id
