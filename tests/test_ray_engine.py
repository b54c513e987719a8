"""The Ray engine against the local one: the same vectors in the store and the same labels,
on a local Ray of 2 CPUs; and a one-line error (exit 2) where Ray is not installed."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from rhetoric.cli import app
from rhetoric.corpus.documents import match_labels, read_labels, segment_folder
from rhetoric.encoders.embedding import Encoder, resolve_model, store_key
from rhetoric.model import training
from rhetoric.model.folder import ModelFolder
from rhetoric.model.sklearn_head import head_bytes
from rhetoric.params import TrainParams

ROOT = Path(__file__).resolve().parents[1]
LABELS = ["greeting", "historical_claim", "future_commitment", "other"]
runner = CliRunner()


def test_missing_ray_is_one_line_and_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pandas as pd

    monkeypatch.setitem(sys.modules, "ray", None)
    monkeypatch.chdir(tmp_path)
    pd.DataFrame({"sha1": ["a" * 40], "text": ["Both sides will build a railway."]}).to_parquet("p.parquet")
    # fp32: `auto` on a VNNI CPU would first check int8-static (and warn on one paragraph).
    embed = {"model": "all-MiniLM-L6-v2", "backend": "fp32"}
    Path("params.yaml").write_text(yaml.safe_dump({"embed": embed}), encoding="utf-8")
    args = [
        "embed",
        "--paragraphs",
        "p.parquet",
        "--store",
        "store",
        "--manifest",
        "m.json",
        "--engine",
        "ray",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: --engine ray needs Ray, which is not installed: "
        "pip install -e '.[ray]' (or pip install 'ray[data]')."
    ]
    assert not Path("m.json").exists() and not Path("store").exists()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small project: 10 documents, their paragraphs, params (MiniLM, fp32) and a model
    trained on their labeled paragraphs."""
    pytest.importorskip("ray")
    work = tmp_path_factory.mktemp("ray-project")
    documents = sorted((ROOT / "data/documents").glob("*.txt"))[:10]
    (work / "documents").mkdir()
    for document in documents:
        shutil.copy(document, work / "documents" / document.name)
    paragraphs, _ = segment_folder(work / "documents", 5 << 20)
    paragraphs.to_parquet(work / "paragraphs.parquet", index=False)
    names = {d.stem for d in documents}
    with open(ROOT / "data/labels.jsonl", encoding="utf-8") as source:
        kept = [line for line in source if json.loads(line)["doc"] in names]
    (work / "labels.jsonl").write_text("".join(kept), encoding="utf-8")
    params = {"labels": LABELS, "embed": {"model": "all-MiniLM-L6-v2", "backend": "fp32", "sentences": False}}
    (work / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    train_model(work, paragraphs)
    return work


def train_model(work: Path, paragraphs) -> None:
    """The train stage's model (rhetoric.model.training), on vectors encoded here."""
    params = TrainParams.from_dict(
        {"hyperparameters": {"C": 4.0}, "features": ["embedding", "tfidf"], "cv_folds": 2}
    )
    labeled = match_labels(paragraphs, read_labels(work / "labels.jsonl", LABELS), "labels")
    identity = resolve_model("all-MiniLM-L6-v2")
    encoded = Encoder(identity, device="cpu", backend="fp32").encode(list(labeled["text"]))
    vectors = dict(zip(labeled["sha1"], encoded, strict=True))
    manifest = {
        "embedder": {"name": identity.name, "path": identity.path, "weights_sha256": identity.weights_sha256},
        "backend": "fp32",
        "batch_size": 32,
        "key": store_key(identity, "fp32"),
    }
    trained = training.train_model(
        labeled, LABELS, params, manifest, lambda shas: np.stack([vectors[s] for s in shas])
    )
    ModelFolder(work / "model").save(head_bytes(trained.head), trained.card)


@pytest.fixture(scope="module")
def local_ray(project: Path):
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1")
    yield ray
    ray.shutdown()


def stored_vectors(store: Path) -> dict[str, np.ndarray]:
    vectors = {}
    for shard in sorted(store.rglob("part-*.parquet")):
        table = pq.read_table(shard)
        matrix = np.stack(table.column("vector").to_numpy(zero_copy_only=False))
        vectors.update(zip(table.column("sha1").to_pylist(), matrix, strict=True))
    return vectors


def invoke(args: list[str], cwd: Path) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output


@pytest.mark.slow
def test_ray_embeds_the_same_vectors_as_local(
    project: Path, local_ray, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    for engine in ("local", "ray"):
        args = ["embed", "--paragraphs", "paragraphs.parquet", "--store", f"store-{engine}"]
        invoke(
            [*args, "--manifest", f"{engine}.json", "--params", "params.yaml", "--engine", engine], project
        )
    local, on_ray = stored_vectors(project / "store-local"), stored_vectors(project / "store-ray")
    assert len(local) > 50 and local.keys() == on_ray.keys()
    assert all(np.array_equal(local[key], on_ray[key]) for key in local)


@pytest.mark.slow
def test_ray_predicts_the_same_labels_as_local(
    project: Path, local_ray, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    texts = pq.read_table("paragraphs.parquet").column("text").to_pylist()
    for number, part in enumerate((texts[::2], texts[1::2])):
        with open(f"rows-{number}.jsonl", "w", encoding="utf-8") as handle:
            handle.writelines(
                json.dumps({"id": f"{number}-{i}", "text": t}) + "\n" for i, t in enumerate(part)
            )
    inputs = ["rows-0.jsonl", "rows-1.jsonl", "documents"]
    for engine in ("local", "ray"):
        invoke(
            ["predict", *inputs, "--model", "model", "--output", f"{engine}.jsonl", "--engine", engine],
            project,
        )
    local, on_ray = (
        [json.loads(line) for line in Path(f"{e}.jsonl").read_text(encoding="utf-8").splitlines()]
        for e in ("local", "ray")
    )
    assert len(local) == 2 * len(texts) and len({r["label"] for r in local}) > 1
    assert [(r.get("id"), r.get("doc"), r["label"]) for r in local] == [
        (r.get("id"), r.get("doc"), r["label"]) for r in on_ray
    ]
    for mine, theirs in zip(local, on_ray, strict=True):
        assert np.allclose(list(mine["scores"].values()), list(theirs["scores"].values()), atol=1e-5)


@pytest.mark.slow
def test_bad_input_read_on_ray_is_one_line_and_exit_2(
    project: Path, local_ray, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    Path("bad.jsonl").write_text('{"text": "fine"}\n{"txt": "no text field"}\n', encoding="utf-8")
    result = runner.invoke(
        app, ["predict", "bad.jsonl", "--model", "model", "--output", "bad-out.jsonl", "--engine", "ray"]
    )
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().splitlines() == [
        "error: " + str(project / "bad.jsonl") + ", line 2: each row needs a string field 'text'."
    ]
    assert not Path("bad-out.jsonl").exists()
