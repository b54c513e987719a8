"""Hostile input, killed processes and tampered files (issue 14), through the real CLI where
it can be: nothing is read that should not be, nothing written outside the named outputs, a
damaged model is one line naming the file, never a traceback."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import stat
import subprocess
import sys
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from rhetoric.cli import app
from rhetoric.corpus.documents import check_doc_id, decode_document, parse_label_lines, read_labels
from rhetoric.errors import DataError, ModelError, ParamsError, RhetoricError
from rhetoric.io import read_input_bytes, read_input_text, write_json
from rhetoric.model.card import EncoderRef, EncodingRecipe, ModelCard
from rhetoric.model.features import feature_frame
from rhetoric.model.folder import HEAD_FILE, ModelFolder, Package
from rhetoric.model.linear_head import ARRAYS_FILE, LinearHead
from rhetoric.model.sklearn_head import fit_selected, head_bytes
from rhetoric.params import TrainParams, read_params

LABELS = ["greeting", "historical_claim", "future_commitment", "other"]
DIMENSION = 8
runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def one_line_error(code: int, output: str, *needles: str) -> None:
    """Exit 2, our one `error:` line (no traceback), containing every needle."""
    lines = [line for line in output.splitlines() if line.startswith("error:")]
    assert code == 2, output
    assert "Traceback" not in output and len(lines) == 1, output
    for needle in needles:
        assert needle in lines[0], output


class HashedWords:
    """Unit vectors from hashed words: a deterministic stand-in for the embedder."""

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                out[row, zlib.crc32(word.encode()) % DIMENSION] += 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


def fitted_head(seed: int = 0):
    texts = [f"text number {i} about {LABELS[i % 4]}" for i in range(16)]
    X = feature_frame(texts, HashedWords().encode(texts))
    y = [LABELS[i % 4] for i in range(16)]
    index = np.arange(16)
    folds = [(index[index % 2 != k], index[index % 2 == k]) for k in range(2)]
    params = TrainParams.from_dict({"features": ["embedding"], "seed": seed})
    return fit_selected(params, X, y, folds)[0]


def tiny_card() -> ModelCard:
    return ModelCard(
        labels=tuple(LABELS),
        embedder=EncoderRef("hashed-words", "/nowhere/hashed-words", "0" * 64),
        embed_params=EncodingRecipe("fp32", 32, "hashed-words-000000000000-fp32"),
        train_params={"features": ["embedding"]},
        data_digest="0" * 64,
        counts={"labeled": 16},
        train_docs=("d1",),
        test_docs=("d2",),
        selection={"best_params": {}, "cv_f1_macro": 0.5, "cv_f1_macro_std": 0.0},
    )


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder with params, a documents folder and a tiny trained model whose
    encoder is `HashedWords` (no real embedder is loaded)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RHETORIC_PROJECT", raising=False)
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")  # marks the project root
    (tmp_path / "data/documents").mkdir(parents=True)
    params = {"labels": LABELS, "segment": {"max_document_mb": 0.01}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    ModelFolder(tmp_path / "models").save(head_bytes(fitted_head()), tiny_card())
    monkeypatch.setattr("rhetoric.model.labeler.model_encoder", lambda *args, **kwargs: HashedWords())
    return tmp_path


def package_model(models: Path) -> Package:
    """The package `rhetoric package` would write for the tiny model (its head as arrays)."""
    folder = ModelFolder(models)
    package = folder.package
    package.root.mkdir()
    from rhetoric.model.sklearn_head import load_head

    LinearHead.from_pipeline(load_head(folder.head_file)).save(package.root)
    manifest = {
        "head_sha256": hashlib.sha256(folder.head_file.read_bytes()).hexdigest(),
        "linear_head": True,
        "files": package.file_hashes(),
    }
    write_json(package.manifest_file, manifest)
    return package


def files_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


# -- Reading what it should not ------------------------------------------------------------


def test_a_symlinked_document_is_refused_not_read(project: Path, tmp_path_factory) -> None:
    secret = tmp_path_factory.mktemp("outside") / "secret.txt"
    secret.write_text("Secret paragraph that must not be read.")
    (project / "data/documents/x.txt").symlink_to(secret)
    code, output = invoke("segment")
    one_line_error(code, output, "x.txt", "symbolic link")
    assert "Secret paragraph" not in output and not (project / "data/paragraphs.parquet").exists()
    code, output = invoke("predict", "data/documents/x.txt")
    one_line_error(code, output, "symbolic link")
    assert "Secret paragraph" not in output


def test_a_dangling_symlink_is_named(project: Path) -> None:
    (project / "data/documents/gone.txt").symlink_to(project / "nowhere.txt")
    code, output = invoke("segment")
    one_line_error(code, output, "gone.txt", "symbolic link")


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_a_fifo_or_folder_named_txt_is_refused_without_blocking(project: Path, kind: str) -> None:
    target = project / "data/documents/odd.txt"
    os.mkfifo(target) if kind == "fifo" else target.mkdir()
    expected = "FIFO" if kind == "fifo" else "is a folder"
    # In a child process with a timeout: a blocking open of a FIFO would hang forever.
    done = subprocess.run(
        [sys.executable, "-m", "rhetoric", "segment"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )
    one_line_error(done.returncode, done.stderr, "odd.txt", expected, "regular file")
    code, output = invoke("predict", "data/documents")
    one_line_error(code, output, "odd.txt", expected)


def test_devices_are_refused_and_reads_are_bounded_without_trusting_stat(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="character device"):
        read_input_bytes("/dev/zero", 1000)
    # /proc files are regular with st_size 0 but hold more: the read itself stops at the limit.
    status = Path("/proc/self/status")
    assert status.stat().st_size == 0
    with pytest.raises(DataError, match="more than 10 bytes, over the limit"):
        read_input_bytes(status, 10)
    exact = tmp_path / "exact.txt"
    exact.write_bytes(b"x" * 10)
    assert read_input_bytes(exact, 10) == b"x" * 10


def test_a_document_id_with_a_trailing_newline_is_refused(project: Path) -> None:
    with pytest.raises(DataError, match="not a valid document id"):
        check_doc_id("speech\n", "x")
    (project / "data/documents/speech\n.txt").write_text("A paragraph.")
    code, output = invoke("segment")
    assert code == 2 and "not a valid document id" in output


def test_utf16_documents_are_decoded(project: Path) -> None:
    text = "Dear friends,\n\nWe will build the bridge together.\n"
    for encoding in ("utf-16", "utf-16-be"):
        raw = text.encode(encoding)
        if encoding == "utf-16-be":
            raw = b"\xfe\xff" + raw
        assert decode_document(raw, "x.txt") == text
    (project / "data/documents/win.txt").write_bytes(text.encode("utf-16"))
    code, output = invoke("segment")
    assert code == 0, output
    import pandas as pd

    frame = pd.read_parquet(project / "data/paragraphs.parquet")
    assert frame["text"].tolist() == ["Dear friends,", "We will build the bridge together."]


def test_labels_with_a_bom_and_u2028_inside_a_string(tmp_path: Path) -> None:
    row = {"doc": "d1", "text": "One\u2028paragraph.", "label": "other"}
    path = tmp_path / "labels.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + (json.dumps(row, ensure_ascii=False) + "\n").encode())
    frame = read_labels(path, LABELS)
    assert len(frame) == 1 and frame.loc[0, "label"] == "other"


def test_a_latin1_jsonl_names_file_and_line(project: Path) -> None:
    (project / "rows.jsonl").write_bytes(b'{"text": "ok"}\n{"text": "caf\xe9"}\n')
    code, output = invoke("predict", "rows.jsonl")
    one_line_error(code, output, "rows.jsonl", "not valid UTF-8", "line 2")


# -- Writing where it should not -----------------------------------------------------------


def test_report_pages_from_hostile_doc_fields_stay_in_the_report_folder(project: Path) -> None:
    rows = [
        {"doc": "../escaped", "text": "Warm greetings to our friends."},
        {"doc": str(project / "absolute"), "text": "We will cooperate."},
        {"doc": "fine-doc", "text": "In 1990 we signed."},
    ]
    (project / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    before = files_under(project) - files_under(project / "models")
    code, output = invoke("predict", "rows.jsonl", "--output", "out.jsonl", "--report", "report")
    assert code == 0, output
    written = files_under(project) - before - files_under(project / "models")
    assert all(p == "out.jsonl" or p.startswith("report") for p in written), written
    pages = sorted(p.name for p in (project / "report/documents").iterdir())
    assert len(pages) == 3 and "fine-doc.html" in pages
    index = (project / "report/index.html").read_text()
    assert all(f"documents/{page}" in index for page in pages)


def test_outputs_onto_a_fifo_a_folder_or_an_input_are_refused(project: Path) -> None:
    (project / "a.txt").write_text("Warm greetings.")
    os.mkfifo(project / "pipe")
    code, output = invoke("predict", "a.txt", "--output", "pipe")
    one_line_error(code, output, "pipe", "FIFO")
    assert stat.S_ISFIFO(os.stat(project / "pipe").st_mode)  # not replaced by a regular file
    (project / "folder").mkdir()
    code, output = invoke("predict", "a.txt", "--output", "folder")
    one_line_error(code, output, "folder", "is a folder")
    for option in ("--output", "--summary"):
        code, output = invoke("predict", "a.txt", option, "a.txt")
        one_line_error(code, output, "a.txt", "also an input")
        assert (project / "a.txt").read_text() == "Warm greetings."


def test_a_device_as_output_is_refused_before_anything_is_written() -> None:
    from rhetoric.io import atomic_open, check_output_target

    with pytest.raises(DataError, match="character device"):
        check_output_target("/dev/null")
    with pytest.raises(DataError, match="character device"), atomic_open("/dev/null") as handle:
        handle.write("never")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_outputs_onto_params_model_or_a_labeling_input_are_refused(project: Path) -> None:
    (project / "a.txt").write_text("Warm greetings.")
    before = (project / "params.yaml").read_text()
    for target in ("params.yaml", "models/card.json"):
        code, output = invoke("predict", "a.txt", "--params", "params.yaml", "--output", target)
        one_line_error(code, output, target, "also an input")
    assert (project / "params.yaml").read_text() == before
    (project / "predictions.jsonl").write_text("")
    code, output = invoke("tasks", "export", "predictions.jsonl", "--predictions", "predictions.jsonl")
    one_line_error(code, output, "predictions.jsonl", "also an input")


def test_a_bad_embed_section_in_predict_params_is_one_line(project: Path) -> None:
    (project / "params.yaml").write_text(yaml.safe_dump({"labels": LABELS, "embed": [1, 2]}))
    (project / "a.txt").write_text("Warm greetings.")
    code, output = invoke("predict", "a.txt")
    one_line_error(code, output, "embed must be a mapping")


def test_an_over_long_paragraph_is_refused_naming_file_and_paragraph(project: Path) -> None:
    from rhetoric.model.labeler import MAX_TEXT_CHARS

    (project / "params.yaml").write_text(
        yaml.safe_dump({"labels": LABELS, "segment": {"max_document_mb": 1}})
    )
    (project / "long.txt").write_text("Short one.\n\n" + "word " * (MAX_TEXT_CHARS // 5 + 10))
    code, output = invoke("predict", "long.txt")
    one_line_error(code, output, "long.txt, paragraph 2", "over the limit", "split it")


def test_a_metadata_file_that_is_a_symlink_is_not_read(project: Path, tmp_path_factory) -> None:
    secret = tmp_path_factory.mktemp("outside") / "meta.csv"
    secret.write_text("doc_id,source\na,secret-source\n")
    (project / "documents.csv").symlink_to(secret)
    (project / "a.txt").write_text("Warm greetings.")
    code, output = invoke("predict", "a.txt", "--report", "report", "--metadata", "documents.csv")
    one_line_error(code, output, "documents.csv", "symbolic link")


def test_an_empty_input_with_a_report_writes_an_empty_report(project: Path) -> None:
    (project / "empty.txt").write_text("   \n")
    code, output = invoke("predict", "empty.txt", "--output", "out.jsonl", "--report", "report")
    assert code == 0, output
    assert (project / "out.jsonl").read_text() == ""
    assert "0 paragraphs" in (project / "report/index.html").read_text()


SIGTERM_WRITER = """
import sys, time
from rhetoric import cli
from rhetoric.io import atomic_open

def work():
    with atomic_open(sys.argv[1]) as handle:
        handle.write("partial new content\\n")
        handle.flush()
        print("writing", flush=True)
        time.sleep(60)

cli._guard(work)
"""


def test_sigterm_leaves_no_temporary_file_and_the_previous_output(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    target.write_text("previous\n")
    proc = subprocess.Popen(
        [sys.executable, "-c", SIGTERM_WRITER, str(target)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "writing"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    assert target.read_text() == "previous\n" and sorted(os.listdir(tmp_path)) == ["out.jsonl"]


def test_a_full_disk_is_one_line(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", "out.jsonl")

    monkeypatch.setattr("rhetoric.model.prediction.write_labeled", full)
    (project / "a.txt").write_text("Warm greetings.")
    code, output = invoke("predict", "a.txt", "--output", "out.jsonl")
    one_line_error(code, output, "out.jsonl", "No space left", "free some space")


# -- Losing or corrupting data -------------------------------------------------------------


def test_model_outputs_persist_across_a_stage_run(root: Path) -> None:
    stages = yaml.safe_load((root / "dvc.yaml").read_text())["stages"]
    for stage, out in [
        ("train", "models/classifier.skops"),
        ("train", "models/card.json"),
        ("package", "models/export"),
        ("finetune", "models/encoder"),
    ]:
        entries = {k: v for o in stages[stage]["outs"] if isinstance(o, dict) for k, v in o.items()}
        assert entries.get(out, {}).get("persist") is True, (stage, out)


KILLED_SAVE = """
import json, os, sys, time
from pathlib import Path
from rhetoric.model.folder import ModelFolder

folder = ModelFolder(Path(sys.argv[1]))
card = folder.read_card()
moment = sys.argv[2]
real_dump, real_replace = json.dump, os.replace

def pause():
    print("paused", flush=True)
    time.sleep(60)

def slow_dump(*args, **kwargs):  # the card is being written, the head not yet
    pause()

def slow_replace(src, dst):  # the new head is in place, the card not yet
    if str(dst).endswith("card.json"):
        pause()
    real_replace(src, dst)

if moment == "writing":
    json.dump = slow_dump
else:
    os.replace = slow_replace
folder.save(b"new head bytes", card)
"""


@pytest.mark.parametrize("moment", ["writing", "between-renames"])
def test_a_kill_while_saving_leaves_the_previous_model_usable(project: Path, moment: str) -> None:
    models = project / "models"
    (project / "a.txt").write_text("Warm greetings to our friends.")
    code, before = invoke("predict", "a.txt")
    assert code == 0, before
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_SAVE, str(models), moment], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "paused"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    if moment == "between-renames":
        assert (models / HEAD_FILE).read_bytes() == b"new head bytes"  # the window is real
    code, after = invoke("predict", "a.txt")
    assert code == 0 and after == before, after


def test_a_head_that_is_not_the_cards_is_refused(project: Path) -> None:
    folder = ModelFolder(project / "models")
    folder.head_file.write_bytes(head_bytes(fitted_head(seed=7)) + b"\0")
    (project / "a.txt").write_text("Warm greetings.")
    code, output = invoke("predict", "a.txt")
    one_line_error(code, output, "classifier.skops", "card.json", "Retrain")
    data = json.loads(folder.card_file.read_text())
    del data["files"]
    folder.card_file.write_text(json.dumps(data))
    code, output = invoke("predict", "a.txt")
    one_line_error(code, output, "card.json", "sha256")


def test_retraining_the_same_model_gives_identical_head_bytes() -> None:
    first, second = fitted_head(), fitted_head()
    assert first is not second and head_bytes(first) == head_bytes(second)


def test_a_retrained_identical_model_keeps_its_package_current(project: Path) -> None:
    package_model(project / "models")
    folder = ModelFolder(project / "models")
    assert folder.current_package() is not None
    folder.save(head_bytes(fitted_head()), tiny_card())  # "retrain" on the same data
    assert folder.current_package() is not None
    assert sorted(p.name for p in folder.root.iterdir()) == ["card.json", HEAD_FILE, "export"]


def test_two_folders_with_same_named_documents_are_refused(project: Path) -> None:
    for folder in ("a", "b"):
        (project / folder).mkdir()
        (project / folder / "speech.txt").write_text(f"Text of folder {folder}.")
    code, output = invoke("predict", "a", "b", "--summary", "summary.csv")
    one_line_error(code, output, "speech", "Rename one")
    assert not (project / "summary.csv").exists()


@pytest.fixture
def import_project(project: Path) -> Path:
    from rhetoric.corpus.documents import paragraph_frame

    paragraphs = [{"doc": "d1", "idx": 0, "text": "Warm greetings.", "sha1": "", "n_tokens": 2}]
    paragraph_frame(paragraphs).to_parquet(project / "data/paragraphs.parquet")
    return project


def doccano(rows: list[dict]) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"doc": "nope", "text": "Warm greetings.", "label": ["greeting"]}, "document 'nope' does not exist"),
        ({"doc": "d1", "text": "Something else.", "label": ["greeting"]}, "matches no paragraph"),
    ],
)
def test_import_checks_document_and_text_before_appending(
    import_project: Path, row: dict, message: str
) -> None:
    (import_project / "done.jsonl").write_text(doccano([row]))
    labels = import_project / "data/labels.jsonl"
    labels.write_text("")
    code, output = invoke(
        "tasks", "import", "done.jsonl", "--format", "doccano-jsonl", "--labels", str(labels)
    )
    one_line_error(code, output, "done.jsonl", message)
    assert labels.read_text() == ""


def test_import_onto_a_file_without_final_newline_does_not_glue_rows(import_project: Path) -> None:
    labels = import_project / "data/labels.jsonl"
    first = {"doc": "d1", "text": "Warm greetings.", "label": "greeting", "secondary": []}
    labels.write_text(json.dumps(first))  # no final newline
    (import_project / "done.jsonl").write_text(
        doccano([{"doc": "d1", "text": "Warm greetings.", "label": ["greeting"]}])
    )
    code, output = invoke(
        "tasks", "import", "done.jsonl", "--format", "doccano-jsonl", "--labels", str(labels)
    )
    assert code == 0, output
    from rhetoric.labeling.annotation import append_label

    second = {**first, "text": "Another."}
    append_label(labels, second)
    assert [json.loads(line) for line in labels.read_text().splitlines()] == [first, second]


# -- Tampered or broken model files --------------------------------------------------------


def rewrite_arrays(package: Package, change) -> None:
    path = package.root / ARRAYS_FILE
    with np.load(path) as arrays:
        data = {k: arrays[k] for k in arrays.files}
    change(data)
    with open(path, "wb") as handle:
        np.savez(handle, **data)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d["coef"].__setitem__((0, 0), np.nan), "NaN or infinite"),
        (lambda d: d["intercept"].__setitem__(0, np.inf), "NaN or infinite"),
        (lambda d: d.__setitem__("coef", d["coef"][:, :3]), "coef has shape"),
        (lambda d: d.pop("idf"), "KeyError"),
    ],
)
def test_tampered_package_arrays_are_one_line(project: Path, change, problem: str) -> None:
    package = package_model(project / "models")
    rewrite_arrays(package, change)
    (project / "a.txt").write_text("Warm greetings.")
    code, output = invoke("predict", "a.txt")
    one_line_error(code, output, "head.npz", "does not match the package manifest")
    manifest = json.loads(package.manifest_file.read_text())  # a tamperer who re-hashes too
    write_json(package.manifest_file, {**manifest, "files": package.file_hashes()})
    code, output = invoke("predict", "a.txt")
    one_line_error(code, output, "head.npz", problem)


def test_a_tampered_embedder_file_is_refused_before_loading(project: Path) -> None:
    package = package_model(project / "models")
    package.embedder.mkdir()
    (package.embedder / "tokenizer.json").write_text('{"model": {}}')
    manifest = json.loads(package.manifest_file.read_text())
    write_json(package.manifest_file, {**manifest, "files": package.file_hashes()})
    (package.embedder / "tokenizer.json").write_text("{}")
    with pytest.raises(ModelError, match=r"tokenizer.json: does not match the package manifest"):
        package.verify(json.loads(package.manifest_file.read_text()), embedder=True)


def test_an_exported_embedder_with_an_empty_tokenizer_is_one_line(tmp_path: Path) -> None:
    from rhetoric.encoders.onnx_encoder import META_FILE, MODEL_FILE, TOKENIZER_FILE, OnnxEncoder

    meta = {
        "inputs": ["input_ids", "attention_mask"],
        "embedder": {"name": "m", "path": "/m", "weights_sha256": "0" * 64},
        "backend": "onnx",
        "max_seq_length": 128,
        "dimension": 8,
    }
    write_json(tmp_path / META_FILE, meta)
    (tmp_path / MODEL_FILE).write_bytes(b"not onnx")
    (tmp_path / TOKENIZER_FILE).write_text("{}")
    with pytest.raises(ModelError, match="exported embedder is damaged.*re-export"):
        OnnxEncoder(tmp_path)


@pytest.mark.parametrize("content", ["", '{"labels": ["greeting"', "[]"])
def test_an_empty_or_truncated_card_is_one_line(project: Path, content: str) -> None:
    (project / "models/card.json").write_text(content)
    (project / "a.txt").write_text("Warm greetings.")
    for command in (["predict", "a.txt"], ["package"]):
        code, output = invoke(*command)
        one_line_error(code, output, "card.json", "retrain")


# -- Bad params and configs ----------------------------------------------------------------

ALIAS_BOMB = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9) if prev else ', '.join(['lol'] * 9)}]\n"
    for prev, name in zip(["", "a", "b", "c", "d", "e", "f", "g"], "abcdefgh", strict=True)
)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("train: [1, 2]\n", "train must be a mapping"),
        ("segment: 5\n", "segment must be a mapping"),
        ("train: {hyperparameters: {C: []}}\n", "train.hyperparameters entry C is an empty list"),
        ("train: {hyperparameters: {C: -1}}\n", "train.hyperparameters.C"),
        ("train: {hyperparameters: {C: [[1, 2]]}}\n", "train.hyperparameters entry C"),
        ("train: {hyperparameters: {C: [.nan]}}\n", "finite"),
        ("train: {seed: -1}\n", "train.seed must be between 0 and"),
        ("segment: {max_document_mb: .inf}\n", "segment.max_document_mb"),
        (ALIAS_BOMB + "train: {seed: *h}\n", "YAML aliases"),
        ("[" * 5000 + "\n", "params.yaml"),
    ],
)
def test_bad_params_are_one_short_line_naming_the_key(project: Path, text: str, needle: str) -> None:
    labels = yaml.safe_dump({"labels": LABELS})
    (project / "params.yaml").write_text(labels + text if not text.startswith("[") else text)
    (project / "data/documents/a.txt").write_text("A paragraph.")
    command = "segment" if "segment" in text else "train"
    code, output = invoke(command)
    one_line_error(code, output, needle)
    assert len(output) < 1000


def test_a_huge_params_file_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("labels: [a, b]\n" + "# padding\n" * 200_000)
    with pytest.raises(ParamsError, match="over the limit"):
        read_params(path)


def test_embed_device_cuda_without_a_gpu_is_one_line() -> None:
    import torch

    from rhetoric.encoders.embedding import choose_device

    if torch.cuda.is_available():
        pytest.skip("a GPU is present here")
    with pytest.raises(ModelError, match="embed.device is cuda.*auto or cpu"):
        choose_device("cuda")


def test_an_embed_model_folder_that_is_not_a_model_is_one_line(tmp_path: Path) -> None:
    from rhetoric.encoders.embedding import load_sentence_transformer

    (tmp_path / "model.safetensors").write_bytes(b"not weights")
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelError, match=f"embed.model: {tmp_path} is not a loadable"):
        load_sentence_transformer(tmp_path, "cpu")


# -- MLflow --------------------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["empty", "read-only"])
def test_an_empty_or_read_only_mlflow_store_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    from rhetoric.tracking import runs

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("DVC_ROOT", str(tmp_path))
    db = tmp_path / "mlflow.db"
    db.write_bytes(b"" if damage == "empty" else b"SQLite format 3\0")
    if damage == "read-only":
        db.chmod(0o444)
    with pytest.raises(RhetoricError, match="empty \\(0 bytes\\)" if damage == "empty" else "read-only"):
        runs.log_run({"labels": LABELS}, {}, {"f1_macro": 0.5}, "d", [], tmp_path, ["x"])
    assert db.stat().st_size == (0 if damage == "empty" else 16)


def test_serving_answers_bad_texts_as_bad_request_without_a_trace(project: Path) -> None:
    import pandas as pd
    from mlflow.exceptions import MlflowException

    from rhetoric.model.labeler import MAX_TEXT_CHARS, Labeler
    from rhetoric.tracking.serving import ParagraphClassifier

    model = ParagraphClassifier(Labeler.load(project / "models"))
    for texts, needle in [([None], "not a string"), (["x" * (MAX_TEXT_CHARS + 1)], "over the limit")]:
        with pytest.raises(MlflowException) as caught:
            model.predict(None, pd.DataFrame({"text": texts}))
        assert needle in caught.value.message and caught.value.get_http_status_code() == 400
        assert "Traceback" not in json.dumps(caught.value.serialize_as_json())
    assert len(model.predict(None, pd.DataFrame({"text": ["Warm greetings."]}))) == 1


# -- Random input at the readers -----------------------------------------------------------

OURS = (DataError, ParamsError)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    raw=st.one_of(
        st.binary(max_size=300),
        st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
        st.builds(
            lambda rows: "\n".join(json.dumps(r) for r in rows).encode(),
            st.lists(
                st.dictionaries(
                    st.sampled_from(["doc", "text", "label", "secondary", "scores"]),
                    st.recursive(
                        st.none() | st.booleans() | st.floats() | st.text(max_size=20),
                        lambda inner: (
                            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner)
                        ),
                        max_leaves=5,
                    ),
                ),
                max_size=4,
            ),
        ),
    ),
    name=st.text(alphabet=st.characters(blacklist_characters="/\0"), min_size=1, max_size=30),
)
def test_random_bytes_names_and_json_give_only_our_errors(tmp_path: Path, raw: bytes, name: str) -> None:
    from rhetoric.labeling.annotation import parse_tasks
    from rhetoric.model.prediction import jsonl_rows

    try:
        path = tmp_path / (name + ".txt")
        path.write_bytes(raw)
    except (OSError, UnicodeEncodeError):
        return  # a name the file system refuses (too long, "." or "..", a lone surrogate)
    from rhetoric.corpus.documents import read_document

    converted = []
    for suffix in (".html", ".pdf", ".docx"):
        other = tmp_path / f"doc{suffix}"
        other.write_bytes(raw)
        converted.append(lambda other=other: read_document(other, 1000))
    readers = [
        *converted,
        lambda: decode_document(read_input_bytes(path, 200), path),
        lambda: check_doc_id(path.stem, str(path)),
        lambda: read_labels(path, LABELS),
        lambda: list(jsonl_rows(path)),
        lambda: read_params(path),
        lambda: parse_tasks(read_input_text(path), "labelstudio", LABELS, str(path)),
        lambda: parse_tasks(read_input_text(path), "doccano-jsonl", LABELS, str(path)),
        lambda: parse_tasks(read_input_text(path), "doccano-csv", LABELS, str(path)),
        lambda: parse_label_lines(read_input_text(path).split("\n"), LABELS, str(path)),
    ]
    for read in readers:
        try:
            read()
        except OURS as error:  # one line, once the (random) file name is taken out
            assert "\n" not in str(error).replace(str(path), "FILE").replace(path.stem, "ID")
