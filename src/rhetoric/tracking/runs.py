"""The one module that talks to MLflow: where the store is, what a run records, the registry.

The default store is `sqlite:///<repo root>/mlflow.db` with artifacts in
`<repo root>/mlartifacts`; the repo root comes from DVC_ROOT, which DVC sets to the
main workspace even when a queued experiment runs in a temporary copy.
MLFLOW_TRACKING_URI overrides the store.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from rhetoric.errors import RhetoricError
from rhetoric.io import file_sha256
from rhetoric.model.folder import QUANTIZED_DIR, ModelFolder
from rhetoric.params import flatten

log = logging.getLogger(__name__)

EXPERIMENT = "rhetoric"
REGISTERED_MODEL = "rhetoric-paragraph-classifier"
CONTENT_TAG = "content_sha256"  # on each registered version and run: model_content_sha256
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

    check_sqlite_store(tracking_uri())
    mlflow.set_tracking_uri(tracking_uri())
    return mlflow


def check_sqlite_store(uri: str) -> None:
    """Refuse an sqlite store MLflow would misuse: a 0-byte file (MLflow silently creates a
    fresh, empty registry in it, and the next model becomes champion) or a read-only one
    (a long SQLAlchemy traceback at the first write)."""
    from urllib.parse import urlsplit

    if not uri.startswith("sqlite:///"):
        return
    path = Path(urlsplit(uri).path)
    if not path.exists():
        return  # a new registry, on purpose: the first run creates it
    if not path.is_file():
        raise RhetoricError(
            f"{path}: the MLflow store is not a file; move it away or set MLFLOW_TRACKING_URI."
        )
    info = path.stat()
    if info.st_size == 0:
        raise RhetoricError(
            f"{path}: the MLflow store is empty (0 bytes), so its runs and registry are gone; restore "
            "it from a backup, or delete it to start a new registry on purpose."
        )
    writable = info.st_mode & stat.S_IWUSR and os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)
    if not writable:
        raise RhetoricError(
            f"{path}: the MLflow store is read-only; make it and its folder writable "
            f"(chmod u+w {path}) or set MLFLOW_TRACKING_URI to a writable store."
        )


def experiment_id(mlflow: Any) -> str:
    existing = mlflow.get_experiment_by_name(EXPERIMENT)
    if existing is not None:
        return existing.experiment_id
    if tracking_uri().startswith(("http://", "https://")):
        # A tracking server keeps the artifacts where it was told (--artifacts-destination).
        return mlflow.create_experiment(EXPERIMENT)
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


def run_name(flat_params: dict[str, str], commit: str) -> str:
    """The MLflow run's name: DVC's experiment name under `dvc exp run` (DVC sets
    DVC_EXP_NAME), otherwise the commit and a hash of the params, so the same code and
    params always give the same, readable name (`3f9c2e1-params-5d41402a`).

    >>> run_name({"train.seed": "42"}, "3f9c2e1aa") == run_name({"train.seed": "42"}, "3f9c2e1aa")
    True
    """
    if os.environ.get("DVC_EXP_NAME"):
        return os.environ["DVC_EXP_NAME"]
    digest = hashlib.sha256(json.dumps(flat_params, sort_keys=True).encode()).hexdigest()[:8]
    return f"{commit[:7] if commit != 'unknown' else 'no-git'}-params-{digest}"


def model_content_sha256(model_dir: Path, quantized_encoder: Path | None = None) -> str:
    """One hash of what the registered model is made of: the head's content and the card
    (labels, training data digest, params, the encoder's weight hash, which also names a
    fine-tuned encoder) without the encoder's local path, and the files of an int8-static
    model's `quantized_encoder` (registered with it). A retrain that gives the same model
    gives the same hash, on any machine: `sklearn_head.canonical_skops` makes the head's
    bytes depend on its content only, so the file's own hash serves."""
    folder = ModelFolder(model_dir)
    card = json.loads(folder.card_file.read_text(encoding="utf-8"))
    card.get("embedder", {}).pop("path", None)
    parts: dict[str, Any] = {"head": file_sha256(folder.head_file), "card": card}
    if quantized_encoder is not None:
        parts["quantized_encoder"] = {
            path.relative_to(quantized_encoder).as_posix(): file_sha256(path)
            for path in sorted(quantized_encoder.rglob("*"))
            if path.is_file()
        }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode("utf-8")).hexdigest()


def version_with_content(client: Any, content_sha256: str) -> str | None:
    """The registered version whose `content_sha256` tag is `content_sha256`, if any."""
    versions = client.search_model_versions(
        f"name='{REGISTERED_MODEL}' and tags.{CONTENT_TAG}='{content_sha256}'"
    )
    return min((v.version for v in versions), key=int) if versions else None


def log_run(
    params: dict[str, Any],
    metrics: dict[str, float],
    data_digest: str,
    artifacts: list[Path],
    model_dir: Path,
    input_example: list[str],
    test_docs_digest: str = "",
    quantized_encoder: Path | None = None,
    log_model: Callable[..., str | None] | None = None,
) -> str | None:
    """Record one evaluate execution (`params` nested, `metrics` flat with `test.f1_macro`)
    and register its model as `candidate`, as a new version only if no version has the
    same content. `quantized_encoder`: the store's int8-static encoder, logged with the
    model (it cannot be remade where the model is loaded: it was calibrated on the corpus)
    and part of its content. `log_model` (default: `log_pyfunc_model`) logs and registers
    the model into the active run and returns the new version.

    MLflow being unreachable must not lose the DVC outputs: the failure is logged as
    a warning and None is returned.
    """
    try:
        return _log_run(
            params,
            metrics,
            data_digest,
            artifacts,
            model_dir,
            input_example,
            test_docs_digest,
            quantized_encoder,
            log_model or partial(log_pyfunc_model, quantized_encoder=quantized_encoder),
        )
    except RhetoricError:
        raise  # a store that must not be used (empty, read-only): the user must act
    except Exception as error:  # any store failure: keep the stage's outputs, say why
        log.warning(
            "MLflow logging failed (%s: %s); the DVC outputs are written, the run is "
            "not recorded. Check MLFLOW_TRACKING_URI=%s.",
            type(error).__name__,
            " ".join(str(error).split())[:300],
            tracking_uri(),
        )
        return None


def log_evaluation(
    evaluation: Any,
    card: Any,
    params: dict[str, Any],
    artifacts: list[Path],
    model_dir: Path,
    quantized_encoder: Path | None = None,
) -> str | None:
    """`log_run` for the evaluate stage: its `evaluation.Evaluation` of the model whose
    `model.card.ModelCard` is `card`; `params` is the whole params.yaml, to which the
    embedder the model was trained with (name, weight hash, backend, store key) is added
    as `embedder.*`."""
    from rhetoric.model.training import data_digest

    # What `auto` became: the backend and store key the vectors were made with.
    embedder = card.embedder.to_dict() | card.embed_params.to_dict()
    return log_run(
        {**params, "labels": list(card.labels), "embedder": embedder},
        evaluation.all_metrics,
        card.data_digest,
        [*artifacts, ModelFolder(model_dir).card_file],
        model_dir,
        evaluation.test_rows["text"].head(2).tolist(),
        test_docs_digest=data_digest(evaluation.test_rows),
        quantized_encoder=quantized_encoder,
    )


def _log_run(
    params,
    metrics,
    data_digest,
    artifacts,
    model_dir,
    input_example,
    test_docs_digest,
    quantized_encoder,
    log_model,
) -> str:
    mlflow = _mlflow()
    root = repo_root()
    commit = git_commit(root)
    content = model_content_sha256(model_dir, quantized_encoder)
    tags = {
        "git_commit": commit,
        "data_digest": data_digest,
        "test_docs_digest": test_docs_digest,
        CONTENT_TAG: content,
    }
    if os.environ.get("DVC_EXP_NAME"):
        tags["dvc_experiment"] = os.environ["DVC_EXP_NAME"]
    flat = {k: str(v)[:6000] for k, v in flatten(params).items()}
    name = run_name(flat, commit)
    with mlflow.start_run(experiment_id=experiment_id(mlflow), run_name=name, tags=tags) as run:
        mlflow.log_params(flat)
        mlflow.log_metrics(metrics)
        for path in artifacts:
            mlflow.log_artifact(str(path), artifact_path="evaluation")
        client = mlflow.MlflowClient()
        version = version_with_content(client, content)
        if version is None:
            version = log_model(mlflow, client, run.info.run_id, params["labels"], model_dir, input_example)
            if version is not None:
                client.set_model_version_tag(REGISTERED_MODEL, version, CONTENT_TAG, content)
                log.info("registry: new version %s", version)
        else:
            log.info("registry: the model is version %s already (same content); no new version", version)
        if version is not None:
            mlflow.set_tag("model_version", version)
            client.set_registered_model_alias(REGISTERED_MODEL, "candidate", version)
            decision = promote_if_better(client, version, metrics["test.f1_macro"], test_docs_digest)
            mlflow.set_tag("champion_decision", decision)
            log.info("registry: version %s is candidate; %s", version, decision)
        return run.info.run_id


def log_pyfunc_model(
    mlflow: Any,
    client: Any,
    run_id: str,
    labels: list[str],
    model_dir: Path,
    input_example: list[str],
    quantized_encoder: Path | None = None,
) -> str | None:
    """Log the pyfunc model into the active run and register it (with `quantized_encoder`,
    an int8-static model's encoder, as `quantized-encoder/`); the new version's number."""
    import pandas as pd
    from mlflow.models import infer_signature

    from rhetoric.model.labeler import LabeledParagraph, to_frame

    example = pd.DataFrame({"text": input_example})
    # The shape only (what the pyfunc returns); the values are placeholders.
    uniform = LabeledParagraph(labels[0], dict.fromkeys(labels, 1 / len(labels)))
    output = to_frame([uniform] * len(example), labels)
    folder = ModelFolder(model_dir)
    card, head_file, _ = folder.card_and_head()
    if head_file != folder.head_file:
        raise RhetoricError(f"{model_dir}: the last `train` was interrupted; run `dvc repro` first.")
    artifacts = {"classifier": str(folder.head_file), "card": str(folder.card_file)}
    encoder = card.embedder
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
    versions = client.search_model_versions(f"name='{REGISTERED_MODEL}' and run_id='{run_id}'")
    return versions[0].version if versions else None


def promote_if_better(client: Any, version: str, f1_macro: float, test_docs: str) -> str:
    """Alias `champion` moves to `version` only if it beats the champion on the same test documents."""
    try:
        champion = client.get_model_version_by_alias(REGISTERED_MODEL, "champion")
    except Exception:  # MLflow raises MlflowException when the alias does not exist yet
        champion = None
    if champion is None:
        client.set_registered_model_alias(REGISTERED_MODEL, "champion", version)
        return f"promoted to champion (no champion before), test macro-F1 {f1_macro:.4f}"
    if str(champion.version) == str(version):
        return f"version {version} is champion already"
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
