"""Bad input through the real `rhetoric` command: exit status 2 and a message naming the fix."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from rhetoric.cli import app
from rhetoric.io import write_json
from rhetoric.model.card import EncoderRef, EncodingRecipe, ModelCard
from rhetoric.model.features import feature_frame
from rhetoric.model.folder import ModelFolder
from rhetoric.model.sklearn_head import fit_selected, head_bytes
from rhetoric.params import TrainParams

LABELS = ["greeting", "historical_claim", "future_commitment", "other"]
runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RHETORIC_PROJECT", raising=False)
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")  # what makes it the project
    (tmp_path / "data/documents").mkdir(parents=True)
    params = {
        "labels": LABELS,
        "segment": {"max_document_mb": 0.001},
        "embed": {"model": "all-MiniLM-L6-v2"},
        "train": {"test_size": 0.2, "cv_folds": 5},
    }
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    return tmp_path


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "latin1.txt",
            "Caf\xe9 diplomacy".encode("latin-1"),
            r"latin1.txt: not valid UTF-8 at byte offset 3",
        ),
        ("blob.txt", b"\x89PNG\x00\x00\x01", "binary"),
        ("huge.txt", b"word " * 400, "over the limit"),
        ("bad id!.txt", b"Fine text.", "not a valid document id"),
    ],
)
def test_bad_documents(project: Path, name: str, content: bytes, message: str) -> None:
    (project / "data/documents" / name).write_bytes(content)
    code, output = invoke("segment")
    assert code == 2 and "Traceback" not in output
    assert message in output.replace("\n", " ")


def test_bom_crlf_accepted_and_empty_skipped(project: Path, caplog: pytest.LogCaptureFixture) -> None:
    (project / "data/documents/crlf.txt").write_bytes("\ufeffTitle\r\n\r\nBody text.\r\n".encode())
    (project / "data/documents/empty.txt").write_text("  \n\n ")
    caplog.set_level(logging.INFO)
    code, output = invoke("segment")
    assert code == 0, output
    import pandas as pd

    frame = pd.read_parquet(project / "data/paragraphs.parquet")
    assert frame["text"].tolist() == ["Title", "Body text."]
    assert "1 empty documents skipped (empty)" in caplog.text


def test_unknown_params_key_suggests(project: Path) -> None:
    (project / "params.yaml").write_text(yaml.safe_dump({"segment": {"max_document_mbs": 1}}))
    code, output = invoke("segment")
    assert code == 2 and "Did you mean 'max_document_mb'" in output


@pytest.mark.parametrize(
    ("section", "value"), [("segment", 5), ("train", [1, 2]), ("segment", {"max_document_mb": "big"})]
)
def test_bad_params_section_is_one_line_naming_it(project: Path, section: str, value: object) -> None:
    (project / "params.yaml").write_text(yaml.safe_dump({"labels": LABELS, section: value}))
    code, output = invoke(section)
    assert code == 2 and "Traceback" not in output
    assert output.startswith(f"error: params.yaml: {section}") and output.count("\n") == 1


def labels_project(project: Path, rows: list[dict] | str) -> None:
    (project / "data/documents/d1.txt").write_text("We will meet again.\n\nRelations began in 1950.")
    assert invoke("segment")[0] == 0
    write_json(
        project / "data/embedding.json",
        {
            "key": "k",
            "backend": "fp32",
            "batch_size": 8,
            "embedder": {"name": "x", "path": "x", "weights_sha256": "0"},
        },
    )
    text = rows if isinstance(rows, str) else "".join(json.dumps(r) + "\n" for r in rows)
    (project / "data/labels.jsonl").write_text(text)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ('{"doc": "d1", "text": \n', "line 1: invalid JSON"),
        ([{"doc": "d1", "label": "other"}], "missing or empty field 'text'"),
        (
            [{"doc": "d1", "text": "We will meet again.", "label": "promise"}],
            "'promise' is not one of params labels",
        ),
        (
            [{"doc": "d1", "text": "We shall meet again.", "label": "other"}],
            "text matches no paragraph of 'd1'",
        ),
        ([{"doc": "d9", "text": "x", "label": "other"}], "document 'd9' does not exist"),
        (
            [
                {"doc": "d1", "text": "We will meet again.", "label": "other"},
                {"doc": "d1", "text": "We will meet again.", "label": "greeting"},
            ],
            "labeled greeting and other",
        ),
        (
            [
                {"doc": "d1", "text": "We will meet again.", "label": "future_commitment"},
                {"doc": "d1", "text": "Relations began in 1950.", "label": "historical_claim"},
            ],
            "needs it in at least 5 documents",
        ),
    ],
)
def test_bad_labels(project: Path, rows, message: str) -> None:
    labels_project(project, rows)
    code, output = invoke("train")
    assert code == 2 and "Traceback" not in output
    assert message in output.replace("\n", " ")


@pytest.fixture
def tiny_model(project: Path) -> Path:
    rng = np.random.default_rng(0)
    texts = [f"text {i}" for i in range(12)]
    X = feature_frame(texts, rng.normal(size=(12, 4)).astype(np.float32))
    y = [LABELS[i % 4] for i in range(12)]
    folds = [(np.arange(12)[np.arange(12) % 2 != k], np.arange(12)[np.arange(12) % 2 == k]) for k in range(2)]
    head, _ = fit_selected(TrainParams.from_dict({"features": ["embedding"]}), X, y, folds)
    card = ModelCard(
        labels=tuple(LABELS),
        embedder=EncoderRef("other-model", "/nowhere/other-model", "0" * 64),
        embed_params=EncodingRecipe("fp32", 32, "other-model-000000000000-fp32"),
        train_params={"features": ["embedding"]},
        data_digest="0" * 64,
        counts={"labeled": 12},
        train_docs=("d1",),
        test_docs=("d2",),
        selection={"best_params": {}, "cv_f1_macro": 0.5, "cv_f1_macro_std": 0.0},
    )
    ModelFolder(project / "models").save(head_bytes(head), card)
    return project / "models"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("", "unreadable model card (JSONDecodeError)"),
        ('{"labels": ["a"', "unreadable model card (JSONDecodeError)"),
        ("[]", "the card is missing or not a dict"),
        ('{"labels": ["a"], "embedder": {"name": "m"}}', "embed_params is missing or not a dict"),
    ],
)
def test_a_damaged_card_is_one_line_saying_retrain(project: Path, tiny_model: Path, content, problem) -> None:
    card_json = tiny_model / "card.json"
    full = json.loads(card_json.read_text())
    card_json.write_text(content)
    (project / "a.txt").write_text("Hello.")
    code, output = invoke("predict", "a.txt")
    output = output.replace("\n", " ")
    assert code == 2 and "Traceback" not in output
    assert "models/card.json" in output and problem in output and "retrain with `dvc repro`" in output
    card_json.write_text(json.dumps({**full, "selection": {"best_params": {}}}))
    code, output = invoke("predict", "a.txt")
    assert code == 2 and "selection.cv_f1_macro is missing" in output.replace("\n", " ")


def test_predict_without_model_says_run_dvc_repro(project: Path) -> None:
    (project / "a.txt").write_text("Hello.")
    code, output = invoke("predict", "a.txt", "--model", "nowhere")
    assert code == 2 and "dvc repro" in output


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        (None, None, "no such file or folder"),
        ("doc.rtf", "{\\rtf1 x}", "unsupported file type '.rtf'"),
        ("doc.pdf", "%PDF", "doc.pdf: not a readable PDF"),
        (
            "rows.jsonl",
            '{"id": 1, "body": "x"}\n',
            "rows.jsonl, line 1: each row needs a string field 'text'",
        ),
    ],
)
def test_predict_bad_inputs(project: Path, tiny_model: Path, filename, content, message: str) -> None:
    (project / "params.yaml").write_text(yaml.safe_dump({"labels": LABELS}))
    if filename:
        (project / filename).write_text(content)
    code, output = invoke("predict", filename or "missing.txt")
    assert code == 2 and message in output.replace("\n", " ")


def test_predict_refuses_model_for_other_labels_or_embedder(project: Path, tiny_model: Path) -> None:
    (project / "a.txt").write_text("Hello.")
    (project / "params.yaml").write_text(yaml.safe_dump({"labels": ["greeting", "other"]}))
    code, output = invoke("predict", "a.txt")
    assert code == 2 and "trained with labels" in output
    (project / "params.yaml").write_text(
        yaml.safe_dump({"labels": LABELS, "embed": {"model": "all-MiniLM-L6-v2"}})
    )
    code, output = invoke("predict", "a.txt")
    assert code == 2 and "trained on embedder 'other-model'" in output
