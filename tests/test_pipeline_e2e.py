"""The real pipeline, end to end: `dvc repro` on a slice of the shipped corpus in a temp folder."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from safetensors import safe_open

from rhetoric.corpus.segment import normalize_paragraph

pytestmark = pytest.mark.slow
N_DOCS = 20


def run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    env.pop("MLFLOW_TRACKING_URI", None)
    env.pop("DVC_ROOT", None)
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"{cmd} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, root: Path) -> Path:
    """A small copy of the project: code config, the first labeled documents, their labels."""
    work = tmp_path_factory.mktemp("project")
    labels = [json.loads(line) for line in (root / "data/labels.jsonl").read_text().splitlines()]
    docs = sorted({row["doc"] for row in labels})[:N_DOCS]
    (work / "data/documents").mkdir(parents=True)
    for doc in docs:
        shutil.copy(root / f"data/documents/{doc}.txt", work / f"data/documents/{doc}.txt")
    (work / "data/labels.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in labels if r["doc"] in docs), encoding="utf-8"
    )
    (work / "data/dev").mkdir()
    dev_rows = (root / "data/dev/labels.jsonl").read_text(encoding="utf-8").splitlines()[:40]
    (work / "data/dev/labels.jsonl").write_text("\n".join(dev_rows) + "\n", encoding="utf-8")
    meta = pd.read_csv(root / "data/documents.csv")
    meta[meta["doc_id"].isin(docs)].to_csv(work / "data/documents.csv", index=False)
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["train"].update(test_size=0.34, cv_folds=3, hyperparameters={"C": [1.0]})
    # The small, fast encoder: every stage runs the same code whichever encoder params name.
    params["embed"]["model"] = "all-MiniLM-L6-v2"
    # The same backend on every machine (`auto` would quantize on a VNNI CPU, minutes per
    # encoder); auto's choice is tested in test_backend_choice.py, int8-static's in
    # test_openvino_encoder.py.
    params["embed"]["backend"] = "fp32"
    # The frozen encoder: fine-tuning runs in test_fine_tuned_encoder_flows_through_the_pipeline.
    params["finetune"]["enabled"] = False
    # The shipped params leave sentence evidence out (minutes on the whole corpus); the report
    # of this small copy shows it.
    params.setdefault("predict", {})["sentence_evidence"] = True
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    shutil.copy(root / "dvc.yaml", work / "dvc.yaml")
    shutil.copytree(root / "src", work / "src", ignore=shutil.ignore_patterns("__pycache__"))
    ignored = [
        "mlflow.db",
        "mlartifacts/",
        "/data/vectors/",
        "/data/frozen_states.safetensors",
        "__pycache__/",
    ]
    (work / ".gitignore").write_text("\n".join(ignored) + "\n")
    run(["git", "init", "-q"], work)
    run(["dvc", "init", "-q"], work)
    run(["git", "add", "-A"], work)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "fixture"], work)
    run(["dvc", "repro"], work)
    # Other tests add MLflow runs (experiments, retraining); keep what the first repro recorded.
    with sqlite3.connect(work / "mlflow.db") as db, sqlite3.connect(first_repro_db(work)) as copy:
        db.backup(copy)
    return work


def first_repro_db(project: Path) -> Path:
    """A copy of mlflow.db as the fixture's first `dvc repro` left it."""
    return project.parent / "mlflow-after-first-repro.db"


def finished_runs(db_path: Path) -> int:
    with sqlite3.connect(db_path) as db:
        return db.execute("select count(*) from runs where status='FINISHED'").fetchone()[0]


def test_repro_writes_every_output(project: Path) -> None:
    paragraphs = pd.read_parquet(project / "data/paragraphs.parquet")
    assert list(paragraphs.columns) == ["doc", "idx", "text", "sha1", "n_tokens"]
    card = json.loads((project / "models/card.json").read_text())
    assert card["embedder"]["weights_sha256"].startswith("53aa5117")
    assert not set(card["split"]["train_docs"]) & set(card["split"]["test_docs"])
    with safe_open(str(project / "data/frozen_states.safetensors"), framework="pt") as file:
        assert not list(file.keys())  # the frozen encoder: no states for embed
    metrics = json.loads((project / "reports/metrics.json").read_text())
    assert all(type(value) in (int, float) for value in metrics.values())  # flat and numeric
    per_class_f1 = [metrics[f"test.{label}.f1"] for label in card["labels"]]
    assert metrics["test.f1_macro"] == pytest.approx(sum(per_class_f1) / len(per_class_f1))
    misclassified = (project / "reports/misclassified.jsonl").read_text().splitlines()
    assert metrics["test.accuracy"] == pytest.approx(1 - len(misclassified) / metrics["test.n"])
    assert metrics["dev.n"] == 40
    described = json.loads((project / "reports/evaluation.json").read_text())
    assert described["labels"] == card["labels"]
    assert described["dev"]["file"] == "data/dev/labels.jsonl" and len(described["dev"]["sha256"]) == 64
    assert sorted(described["test"]["documents"]) == sorted(card["split"]["test_docs"])
    assert (project / "reports/confusion.png").stat().st_size > 1000
    predictions = [
        json.loads(line) for line in (project / "data/predictions/paragraphs.jsonl").read_text().splitlines()
    ]
    assert len(predictions) == len(paragraphs)
    assert set(predictions[0]) == {"doc", "idx", "text", "label", "scores"}
    assert abs(sum(predictions[0]["scores"].values()) - 1) < 1e-3
    summary = pd.read_csv(project / "data/predictions/documents.csv")
    assert summary["paragraphs"].sum() == len(paragraphs)
    index = (project / "reports/predictions/index.html").read_text()
    assert (
        index.index("Label mix by source") < index.index("<h2>Documents") < index.index('id="low-confidence"')
    )
    low_list = index[index.index('id="low-confidence"') :]
    assert low_list.count("<li>") == summary["low_confidence"].sum()  # every flagged paragraph, linked
    pages = [p.read_text() for p in (project / "reports/predictions/documents").glob("*.html")]
    assert len(pages) == N_DOCS
    label_rows = map(json.loads, (project / "data/labels.jsonl").read_text().splitlines())
    labeled = {(r["doc"], normalize_paragraph(r["text"])) for r in label_rows}
    n_labeled = sum((d, t) in labeled for d, t in zip(paragraphs["doc"], paragraphs["text"], strict=True))
    shown = sum(p.count('class="gold same"') + p.count('class="gold differs"') for p in pages)
    assert shown == n_labeled > 0  # every labeled paragraph shows its gold label
    assert any('class="sent agrees"' in p for p in pages)  # sentence evidence


def test_run_is_recorded_in_mlflow(project: Path) -> None:
    assert finished_runs(first_repro_db(project)) == 1
    with sqlite3.connect(first_repro_db(project)) as db:
        params = dict(db.execute("select key, value from params").fetchall())
        metrics = {k for (k,) in db.execute("select distinct key from metrics")}
        aliases = db.execute("select alias from registered_model_aliases").fetchall()
    assert params["train.cv_folds"] == "3"
    assert {"test.f1_macro", "cv.f1_macro", "test.greeting.f1"} <= metrics
    assert ("candidate",) in aliases


def test_second_repro_runs_nothing(project: Path) -> None:
    out = run(["dvc", "repro"], project).stdout
    assert "Running stage" not in out


def last_run(db_path: Path) -> tuple[str, dict[str, str]]:
    """The newest run's name and tags."""
    with sqlite3.connect(db_path) as db:
        run_id, name = db.execute(
            "select run_uuid, name from runs order by start_time desc limit 1"
        ).fetchone()
        return name, dict(db.execute("select key, value from tags where run_uuid = ?", (run_id,)).fetchall())


def model_versions(db_path: Path) -> int:
    with sqlite3.connect(db_path) as db:
        return db.execute("select count(*) from model_versions").fetchone()[0]


def test_experiment_with_a_param_adds_a_run(project: Path) -> None:
    before = finished_runs(project / "mlflow.db")
    committed_version = last_run(first_repro_db(project))[1]["model_version"]
    out = run(["dvc", "exp", "run", "-S", "train.hyperparameters.C=2.0"], project)
    assert finished_runs(project / "mlflow.db") == before + 1
    # Only the head changed: the package keeps the embedder it had instead of exporting it again.
    assert "the embedder of the package it replaces" in out.stdout + out.stderr
    with sqlite3.connect(project / "mlflow.db") as db:
        values = {v for (v,) in db.execute("select value from params where key='train.hyperparameters.C'")}
    assert "2.0" in values
    name, tags = last_run(project / "mlflow.db")
    assert name == tags["dvc_experiment"]  # the run is named after the DVC experiment
    assert tags["model_version"] != committed_version  # another head: a version of its own


def test_predict_labels_seed_articles(project: Path, seed_files: list[Path]) -> None:
    out = run(["rhetoric", "predict", *map(str, seed_files), "--model", str(project / "models")], project)
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    from rhetoric.corpus.segment import segment_document

    expected = sum(len(segment_document(p.read_text(encoding="utf-8"))) for p in seed_files)
    assert len(rows) == expected
    assert {r["label"] for r in rows} <= {"greeting", "historical_claim", "future_commitment", "other"}


def test_registered_model_predicts_raw_text_without_pickle(project: Path) -> None:
    script = (
        "import mlflow, pandas as pd\n"
        "mlflow.set_tracking_uri('sqlite:///mlflow.db')\n"
        "m = mlflow.pyfunc.load_model('models:/rhetoric-paragraph-classifier@candidate')\n"
        "out = m.predict(pd.DataFrame({'text': ['We will continue to support you.', 'PARIS, May 4 --']}))\n"
        "print(out.to_json(orient='records'))\n"
    )
    env_cmd = ["env", "MLFLOW_ALLOW_PICKLE_DESERIALIZATION=false", sys.executable, "-c", script]
    rows = json.loads(run(env_cmd, project).stdout.strip().splitlines()[-1])
    assert len(rows) == 2 and {"label", "p_greeting", "p_other"} <= set(rows[0])


def test_predict_with_registry_uri(project: Path) -> None:
    doc = next((project / "data/documents").glob("*.txt"))
    out = run(
        ["rhetoric", "predict", str(doc), "--model", "models:/rhetoric-paragraph-classifier@champion"],
        project,
    )
    assert len(out.stdout.splitlines()) >= 1


def test_mlflow_models_serve_answers_http(project: Path) -> None:
    import socket
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "MLFLOW_TRACKING_URI": "sqlite:///mlflow.db",
    }
    server = subprocess.Popen(
        [
            "mlflow",
            "models",
            "serve",
            "-m",
            "models:/rhetoric-paragraph-classifier@candidate",
            "--env-manager",
            "local",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=project,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        body = json.dumps(
            {
                "dataframe_split": {
                    "columns": ["text"],
                    "data": [["Warm congratulations on your national day."]],
                }
            }
        )
        deadline = time.monotonic() + 240
        while True:
            try:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/invocations",
                    data=body.encode(),
                    headers={"Content-Type": "application/json"},
                )
                with urllib.request.urlopen(request, timeout=60) as response:
                    answer = json.loads(response.read())
                break
            except OSError:
                assert server.poll() is None, "mlflow models serve exited"
                assert time.monotonic() < deadline, "the model server never answered"
                time.sleep(2)
        prediction = answer["predictions"][0]
        assert prediction["label"] in {"greeting", "historical_claim", "future_commitment", "other"}
        assert abs(sum(v for k, v in prediction.items() if k.startswith("p_")) - 1) < 1e-3
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_queued_experiments_in_parallel_are_each_recorded_once(project: Path) -> None:
    for value in ("0.5", "3.0"):
        run(["dvc", "exp", "run", "--queue", "-S", f"train.hyperparameters.C={value}"], project)
    run(["dvc", "queue", "start", "-j", "2"], project)
    deadline = time.monotonic() + 600
    while True:
        status = run(["dvc", "queue", "status"], project).stdout
        if "Queued" not in status and "Running" not in status:
            break
        assert time.monotonic() < deadline, status
        time.sleep(5)
    assert "Failed" not in status, status
    with sqlite3.connect(project / "mlflow.db") as db:
        counts = dict(
            db.execute(
                "select p.value, count(*) from params p join runs r on r.run_uuid = p.run_uuid "
                "where p.key = 'train.hyperparameters.C' and r.status = 'FINISHED' group by p.value"
            ).fetchall()
        )
        experiments = {v for (v,) in db.execute("select value from tags where key = 'dvc_experiment'")}
    assert counts.get("0.5") == 1 and counts.get("3.0") == 1
    assert len(experiments) >= 2


def test_retraining_gives_identical_metrics_and_predictions(project: Path) -> None:
    metrics = (project / "reports/metrics.json").read_bytes()
    predictions = (project / "data/predictions/paragraphs.jsonl").read_bytes()
    # Retrains, then the stages after it rerun (package, evaluate, predict), as after any edit.
    versions = model_versions(project / "mlflow.db")
    run(["dvc", "repro", "-f", "--downstream", "train"], project)
    assert (project / "reports/metrics.json").read_bytes() == metrics
    assert (project / "data/predictions/paragraphs.jsonl").read_bytes() == predictions
    # evaluate ran again and logged a run, but the same model content registers no new version:
    # the run points at the version that model already has.
    assert model_versions(project / "mlflow.db") == versions
    with sqlite3.connect(project / "mlflow.db") as db:
        registered = {v for (v,) in db.execute("select version from model_versions")}
    assert int(last_run(project / "mlflow.db")[1]["model_version"]) in registered


def test_killed_predict_keeps_previous_output_and_repro_recovers(project: Path) -> None:
    target = project / "data/predictions/paragraphs.jsonl"
    before = target.read_bytes()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    # Many copies of the documents make the stage write for long enough to be killed mid-write.
    inputs = [str(p) for p in sorted((project / "data/documents").glob("*.txt"))] * 30
    proc = subprocess.Popen(
        ["rhetoric", "predict", *inputs, "--output", str(target)],
        cwd=project,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not list(target.parent.glob(".paragraphs.jsonl.*.tmp")):
        assert proc.poll() is None and time.monotonic() < deadline, "predict never started writing"
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert target.read_bytes() == before  # the half-written file never replaced the output
    run(["dvc", "repro"], project)
    assert target.read_bytes() == before
    assert "up to date" in run(["dvc", "status"], project).stdout


def test_timeline_and_per_class_plots(project: Path) -> None:
    mix = pd.read_csv(project / "reports/plots/label_mix_by_month.csv")
    assert set(mix.columns) == {"period", "label", "share"}
    totals = mix.groupby("period")["share"].sum()
    assert ((totals - 1).abs() < 1e-3).all()
    assert (project / "reports/per_class_f1.png").stat().st_size > 1000
    assert (project / "reports/plots/label_mix_by_month.png").stat().st_size > 1000


def test_evaluate_on_own_gold_file(project: Path) -> None:
    out = run(["rhetoric", "evaluate", "--labels", "data/dev/labels.jsonl", "--model-dir", "models"], project)
    assert "paragraphs  40" in out.stdout and "macro-F1" in out.stdout
    assert "confusion (rows actual, columns predicted)" in out.stdout


def test_evaluate_reports_each_source_kind(project: Path, tmp_path: Path) -> None:
    rows = [json.loads(line) for line in (project / "data/dev/labels.jsonl").read_text().splitlines()]
    gold = tmp_path / "gold.jsonl"
    gold.write_text(
        "".join(
            json.dumps({**r, "source_kind": "wire" if i % 3 else "ministry"}) + "\n"
            for i, r in enumerate(rows)
        )
    )
    out = run(["rhetoric", "evaluate", "--labels", str(gold), "--model-dir", "models"], project).stdout
    table = out.split("source_kind", 1)[1].splitlines()
    counts = {line.split()[0]: int(line.split()[1]) for line in table[1:] if line.strip()}
    assert counts == {
        "ministry": sum(1 for i in range(len(rows)) if i % 3 == 0),
        "wire": sum(1 for i in range(len(rows)) if i % 3),
    }


def test_exported_package_labels_like_the_trained_head(project: Path) -> None:
    import numpy as np

    from rhetoric.model.labeler import Labeler
    from rhetoric.model.linear_head import LinearHead
    from rhetoric.vectors import VectorStore

    manifest = json.loads((project / "models/export/export.json").read_text())
    # The store: a model of exported vectors (onnx, int8, int8-static) loads its encoder there.
    trained = Labeler.load(project / "models", store=project / "data/vectors")
    # The package runs the trained vectors' precision: int8-static where embed used it, else fp32 ONNX.
    expected = "int8-static" if trained.card.embed_params.backend == "int8-static" else "onnx"
    assert manifest["linear_head"] and manifest["embedder_backend"] == expected
    packaged = Labeler.load(project / "models", exported=True)
    assert isinstance(packaged.head, LinearHead) and not isinstance(trained.head, LinearHead)
    texts = pd.read_parquet(project / "data/paragraphs.parquet")["text"].tolist()
    lookup = VectorStore(project / "data/vectors", trained.card.embed_params.store_key).find
    np.testing.assert_allclose(
        packaged.predict_proba(texts, lookup), trained.predict_proba(texts, lookup), atol=1e-6
    )


def test_predict_one_document_without_torch_agrees_with_the_pipeline(project: Path) -> None:
    doc = sorted((project / "data/documents").glob("*.txt"))[0]
    script = (
        "import sys\n"
        "from rhetoric.cli import app\n"
        f"sys.argv = ['rhetoric', 'predict', {str(doc)!r}, '--model', 'models']\n"
        "try:\n    app()\nexcept SystemExit as end:\n    assert not end.code, end.code\n"
        "heavy = {'torch', 'sentence_transformers', 'transformers', 'sklearn', 'skops', 'pandas'}\n"
        "print('imported:', sorted(heavy & set(sys.modules)), file=sys.stderr)\n"
    )
    out = run([sys.executable, "-c", script], project)
    assert "imported: []" in out.stderr
    fresh = [json.loads(line) for line in out.stdout.splitlines()]
    pipeline = [
        row
        for row in map(json.loads, (project / "data/predictions/paragraphs.jsonl").read_text().splitlines())
        if row["doc"] == doc.stem
    ]
    assert [r["text"] for r in fresh] == [r["text"] for r in pipeline] and fresh
    # The pipeline used the stored (bf16 or fp32 torch) vectors, this the ONNX fp32 graph.
    for ours, theirs in zip(fresh, pipeline, strict=True):
        assert ours["label"] == theirs["label"]
        assert max(abs(ours["scores"][k] - theirs["scores"][k]) for k in ours["scores"]) < 0.01


def test_predict_a_word_file_from_outside_the_project(project: Path, tmp_path: Path) -> None:
    """A .docx of a corpus document, labeled from a folder outside the project (found through
    $RHETORIC_PROJECT) and from a subfolder of it, gives the pipeline's labels for that document."""
    import docx

    doc = sorted((project / "data/documents").glob("*.txt"))[0]
    word = docx.Document()
    for paragraph in doc.read_text(encoding="utf-8").split("\n\n"):
        word.add_paragraph(paragraph)
    word.save(tmp_path / f"{doc.stem}.docx")
    pipeline = [
        (row["idx"], row["text"], row["label"])
        for row in map(json.loads, (project / "data/predictions/paragraphs.jsonl").read_text().splitlines())
        if row["doc"] == doc.stem
    ]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    command = ["rhetoric", "predict", str(tmp_path / f"{doc.stem}.docx")]
    for cwd, extra in ((tmp_path, {"RHETORIC_PROJECT": str(project)}), (project / "data", {})):
        out = subprocess.run(
            command, cwd=cwd, env={**env, **extra}, capture_output=True, text=True, timeout=300
        )
        assert out.returncode == 0, out.stderr
        rows = [json.loads(line) for line in out.stdout.splitlines()]
        assert [(r["idx"], r["text"], r["label"]) for r in rows] == pipeline and rows
    env.pop("RHETORIC_PROJECT", None)
    out = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 2 and f"no dvc.yaml in {tmp_path}" in out.stderr


def test_a_stale_package_is_not_used(project: Path, tmp_path: Path) -> None:
    from rhetoric.model.labeler import Labeler
    from rhetoric.model.linear_head import LinearHead

    models = shutil.copytree(project / "models", tmp_path / "models")
    manifest = json.loads((models / "export/export.json").read_text())
    (models / "export/export.json").write_text(json.dumps({**manifest, "head_sha256": "0" * 64}))
    stale = Labeler.load(models, exported=True, store=project / "data/vectors")
    assert not isinstance(stale.head, LinearHead)


def test_fine_tuned_encoder_flows_through_the_pipeline(project: Path, tmp_path: Path) -> None:
    """finetune.enabled: the encoder is fine-tuned on the training documents, saved as
    safetensors, named by its hash in the card and the store, packaged for onnxruntime; an
    added unlabeled document re-embeds only its own paragraphs."""
    # Not .dvc/tmp: DVC's locks and the experiment queue's state, which a queue worker of
    # another test may still be changing while this copies.
    work = shutil.copytree(
        project,
        tmp_path / "project",
        symlinks=True,
        ignore=lambda folder, names: ["tmp"] if Path(folder).name == ".dvc" else [],
    )
    params = yaml.safe_load((work / "params.yaml").read_text())
    # The shipped recipe's shape (top layers, contrastive, half an epoch), small.
    params["finetune"].update(
        enabled=True, epochs=0.5, top_layers=2, objective="contrastive", batch_size=16, max_tokens=48
    )
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    first = run(["dvc", "repro"], work)
    record = json.loads((work / "models/encoder/encoder.json").read_text())
    assert record["fine_tuned"] and record["base"]["weights_sha256"].startswith("53aa5117")
    assert record["recipe"]["top_layers"] == 2 and record["training"]["lower_layers"]
    # Half an epoch: half the batches (rounded up), over fewer paragraphs than it was given.
    training = record["training"]
    assert training["steps"] == math.ceil(0.5 * math.ceil(training["paragraphs"] / 16))
    assert 0 < training["paragraphs_used"] < training["paragraphs"]
    assert (work / "models/encoder/model.safetensors").is_file()
    assert not [p for p in (work / "models/encoder").rglob("*") if p.suffix in (".bin", ".pkl", ".pt")]
    # The frozen layers' states of the paragraphs it read went to embed, which ran only the
    # top layers for them (all of them unless cut at max_tokens).
    with safe_open(str(work / "data/frozen_states.safetensors"), framework="pt") as file:
        handed, meta = len(file.keys()), file.metadata()
    assert meta["encoder_weights_sha256"] == record["weights_sha256"]
    assert 0 < handed <= training["paragraphs_used"]
    said = first.stdout + first.stderr
    assert re.search(rf"embedded now \({handed} over fine-tuning's frozen states\)", said)
    card = json.loads((work / "models/card.json").read_text())
    assert card["embedder"]["weights_sha256"] == record["weights_sha256"]
    assert record["training"]["paragraphs"] == card["counts"]["train"]  # never the test documents
    manifest = json.loads((work / "data/embedding.json").read_text())
    assert record["weights_sha256"][:12] in manifest["key"]
    export = json.loads((work / "models/export/export.json").read_text())
    assert record["weights_sha256"] in json.dumps(export)
    new_doc = work / "data/documents/zz_added_unlabeled.txt"
    new_doc.write_text("A brand new first paragraph.\n\nAnd a second, equally new one.\n", encoding="utf-8")
    out = run(["dvc", "repro", "embed"], work)  # what follows embed is as in the first repro
    again = json.loads((work / "models/encoder/encoder.json").read_text())
    assert again == record  # the same training paragraphs: kept, not fine-tuned again
    assert "finetune: kept" in out.stdout + out.stderr
    assert "2 embedded now" in out.stdout + out.stderr
