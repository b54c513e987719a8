"""The labeling loop driven through a real pseudo-terminal, and Label Studio / doccano round trips."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import termios
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import Result
from typer.testing import CliRunner

from rhetoric.cli import app
from rhetoric.corpus.documents import paragraph_frame, paragraph_rows
from rhetoric.corpus.segment import paragraph_sha1
from rhetoric.labeling.annotation import (
    from_doccano,
    from_label_studio,
    to_doccano,
    to_label_studio,
    uncertainty,
)

LABELS = ["greeting", "historical_claim", "future_commitment", "other"]


def prediction(doc: str, idx: int, text: str, top: float) -> dict:
    rest = (1 - top) / 3
    return {
        "doc": doc,
        "idx": idx,
        "text": text,
        "label": "greeting",
        "scores": {"greeting": top, "historical_claim": rest, "future_commitment": rest, "other": rest},
    }


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"labels": LABELS}))
    rows = [
        prediction("d1", 0, "Sure thing.", 0.97),
        prediction("d1", 1, "Unsure one.", 0.4),
        prediction("d1", 2, "Middle one.", 0.7),
        prediction("d2", 0, "Already labeled.", 0.3),
    ]
    (tmp_path / "predictions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "labels.jsonl").write_text(
        json.dumps({"doc": "d2", "text": "Already labeled.", "label": "other", "secondary": []}) + "\n"
    )
    (tmp_path / "data").mkdir()
    paragraph_frame(
        [{"doc": r["doc"], "idx": r["idx"], "text": r["text"], "sha1": "", "n_tokens": 2} for r in rows]
    ).to_parquet(tmp_path / "data/paragraphs.parquet")
    return tmp_path


class Terminal:
    """A child process on a pseudo-terminal: read its screen, type keys."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        self.master, slave = os.openpty()
        self.proc = subprocess.Popen(
            args,
            cwd=cwd,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            close_fds=True,
            env={**os.environ, "TERM": "xterm"},
        )
        os.close(slave)
        self.screen = ""

    def wait_for(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.screen:
            assert time.monotonic() < deadline, f"never saw {text!r}; screen:\n{self.screen[-2000:]}"
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if ready:
                try:
                    self.screen += os.read(self.master, 65536).decode(errors="replace")
                except OSError:
                    break

    def press(self, key: str, then_wait_for: str) -> None:
        # Type only once the program reads keys raw: a key typed while the line is still in
        # canonical mode is discarded when the program switches to raw mode.
        deadline = time.monotonic() + 30
        while termios.tcgetattr(self.master)[3] & termios.ICANON:
            assert time.monotonic() < deadline, "the program never started reading keys"
            time.sleep(0.02)
        # The previous screen was fully written before the program went raw; drop what is
        # still unread of it, or its context lines could satisfy the next wait too early.
        while select.select([self.master], [], [], 0)[0]:
            os.read(self.master, 65536)
        self.screen = ""
        os.write(self.master, key.encode())
        self.wait_for(then_wait_for)


def test_annotate_quit_at_once_says_nothing_was_labeled(workspace: Path) -> None:
    before = (workspace / "labels.jsonl").read_bytes()
    args = [sys.executable, "-m", "rhetoric", "annotate", "--predictions", "predictions.jsonl"]
    term = Terminal([*args, "--labels", "labels.jsonl"], workspace)
    term.wait_for("[q] quit")
    term.press("q", "Nothing labeled; labels.jsonl is unchanged.")
    assert term.proc.wait(timeout=30) == 0 and "dvc repro" not in term.screen
    assert (workspace / "labels.jsonl").read_bytes() == before


def test_annotate_in_a_terminal(workspace: Path) -> None:
    term = Terminal(
        [
            sys.executable,
            "-m",
            "rhetoric",
            "annotate",
            "--predictions",
            "predictions.jsonl",
            "--labels",
            "labels.jsonl",
        ],
        workspace,
    )
    term.wait_for("[q] quit")
    assert "Unsure one." in term.screen  # most uncertain first; the labeled paragraph is not offered
    assert "before: Sure thing." in term.screen and "after: Middle one." in term.screen
    term.press("f", "Middle one.")  # label it future_commitment -> next is the 0.7 one
    term.press("s", "Sure thing.")  # skip -> the confident one last
    term.press("u", "Middle one.")  # undo the skip
    term.press("u", "Unsure one.")  # undo the label
    term.press("1", "Middle one.")  # greeting this time
    term.press("\x03", "saved to labels.jsonl")  # Ctrl-C ends cleanly
    term.proc.wait(timeout=30)
    rows = [json.loads(line) for line in (workspace / "labels.jsonl").read_text().splitlines()]
    assert rows[-1] == {"doc": "d1", "text": "Unsure one.", "label": "greeting", "secondary": []}
    assert len(rows) == 2


def test_uncertainty_orders_by_margin() -> None:
    assert uncertainty({"a": 0.4, "b": 0.35, "c": 0.25}) > uncertainty({"a": 0.6, "b": 0.2, "c": 0.2})


def test_label_studio_round_trip() -> None:
    tasks = to_label_studio([prediction("d1", 3, "We will act.", 0.8)], "v1")
    assert tasks[0]["predictions"][0]["result"][0]["value"]["choices"] == ["greeting"]
    tasks[0]["annotations"] = [{"result": [{"value": {"choices": ["future_commitment"]}}]}]
    rows = from_label_studio(json.loads(json.dumps(tasks)), LABELS, "ls.json").rows
    assert rows == [{"doc": "d1", "text": "We will act.", "label": "future_commitment", "secondary": []}]


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_doccano_round_trip(fmt: str) -> None:
    unlabeled = {k: v for k, v in prediction("d1", 1, "Not yet.", 0.5).items() if k != "label"}
    text = to_doccano([{**prediction("d1", 0, "Thanks, friends.", 0.9), "label": "greeting"}, unlabeled], fmt)
    imported = from_doccano(text, fmt, LABELS, "dc")
    assert imported.rows == [{"doc": "d1", "text": "Thanks, friends.", "label": "greeting", "secondary": []}]
    assert (imported.items, imported.unlabeled) == (2, 1)


def test_export_and_import_commands(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(workspace)
    runner = CliRunner()
    inputs = ["--predictions", "predictions.jsonl", "--labels", "labels.jsonl"]
    result = runner.invoke(app, ["tasks", "export", "tasks.json", *inputs])
    assert result.exit_code == 0, result.output
    tasks = json.loads((workspace / "tasks.json").read_text())
    assert [t["data"]["text"] for t in tasks] == ["Unsure one.", "Middle one.", "Sure thing."]
    tasks[0]["annotations"] = [{"result": [{"value": {"choices": ["other"]}}]}]
    (workspace / "done.json").write_text(json.dumps(tasks))
    result = runner.invoke(app, ["tasks", "import", "done.json", "--labels", "labels.jsonl"])
    assert result.exit_code == 0, result.output
    assert len((workspace / "labels.jsonl").read_text().splitlines()) == 2
    tasks[0]["annotations"] = [{"result": [{"value": {"choices": ["greeting"]}}]}]  # contradicts it
    (workspace / "done.json").write_text(json.dumps(tasks))
    result = runner.invoke(app, ["tasks", "import", "done.json", "--labels", "labels.jsonl"])
    assert result.exit_code == 2 and "labeled greeting and other" in result.output


def test_deprecated_export_and_import_names_still_work(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`rhetoric export` / `rhetoric import` (before `tasks`) do the same for one release, with a note."""
    monkeypatch.chdir(workspace)
    runner = CliRunner()
    inputs = ["--predictions", "predictions.jsonl", "--labels", "labels.jsonl"]
    new = runner.invoke(app, ["tasks", "export", "new.json", *inputs])
    old = runner.invoke(app, ["export", "old.json", *inputs])
    assert new.exit_code == old.exit_code == 0, old.output
    assert (workspace / "old.json").read_text() == (workspace / "new.json").read_text()
    assert "deprecated" in old.stderr and "rhetoric tasks export" in old.stderr
    assert "deprecated" not in new.stderr
    tasks = json.loads((workspace / "old.json").read_text())
    tasks[0]["annotations"] = [{"result": [{"value": {"choices": ["other"]}}]}]
    (workspace / "done.json").write_text(json.dumps(tasks))
    result = runner.invoke(app, ["import", "done.json", "--labels", "labels.jsonl"])
    assert result.exit_code == 0, result.output
    assert "deprecated" in result.stderr and "rhetoric tasks import" in result.stderr
    assert len((workspace / "labels.jsonl").read_text().splitlines()) == 2


# A real export from Label Studio 1.23.2 (pip install label-studio; `label-studio start`, REST API):
# a project made with src/rhetoric/labeling/label_studio.xml, the tasks of `rhetoric tasks export`
# for ten paragraphs of our corpus imported, annotations made through /api/tasks/<id>/annotations
# as the interface makes them, then GET /api/projects/<id>/export?exportType=JSON
# &download_all_tasks=true (the interface's Export leaves unannotated tasks out), trimmed to eight
# tasks by dropping whole tasks, written back as Label Studio writes it (compact JSON).
FIXTURES = Path(__file__).parent / "fixtures"
REAL_EXPORT = FIXTURES / "label_studio_export.json"
# The same project's JSON-MIN export (one row per annotation, no "data"), trimmed to two rows.
REAL_EXPORT_MIN = FIXTURES / "label_studio_export_min.json"
# What the annotations in REAL_EXPORT chose, by (document, paragraph index): the label and secondary
# labels rhetoric must read back.
CHOSEN = {
    # annotation 11 (future_commitment) was made after annotation 1, then annotation 1 was revised
    ("a01_cn_la_relations_anniv", 4): ("historical_claim", []),
    ("a01_cn_la_relations_anniv", 1): ("other", []),
    ("f05_fj_cyclone_kalea_thanks", 3): ("historical_claim", []),  # submitted as other, then updated
    ("f05_fj_cyclone_kalea_thanks", 2): (
        "greeting",
        ["future_commitment"],
    ),  # secondary repeats the label too
    ("f05_fj_cyclone_kalea_thanks", 1): ("other", []),  # two annotations, the later one says other
    ("a04_cn_mn_national_day_speech", 21): ("greeting", []),
}
SKIPPED, UNANNOTATED = ("a01_cn_la_relations_anniv", 2), ("a01_cn_la_relations_anniv", 3)


@pytest.fixture
def corpus_project(tmp_path: Path, root: Path) -> Path:
    """A project with the repository's params and the paragraph table of the export's documents,
    segmented from data/documents/ as the segment stage does."""
    (tmp_path / "params.yaml").write_bytes((root / "params.yaml").read_bytes())
    docs = {task["data"]["doc"] for task in json.loads(REAL_EXPORT.read_text(encoding="utf-8"))}
    rows = [
        row
        for doc in sorted(docs)
        for row in paragraph_rows(doc, (root / "data/documents" / f"{doc}.txt").read_text(encoding="utf-8"))
    ]
    paragraph_frame(rows).to_parquet(tmp_path / "paragraphs.parquet")
    return tmp_path


def import_into(project: Path, export: Path) -> Result:
    args = ["tasks", "import", str(export), "--labels", str(project / "labels.jsonl")]
    args += ["--params", str(project / "params.yaml"), "--paragraphs", str(project / "paragraphs.parquet")]
    return CliRunner().invoke(app, args)


def test_a_real_label_studio_export_gives_each_annotated_tasks_latest_label(
    corpus_project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tasks = {(t["data"]["doc"], t["data"]["idx"]): t for t in json.loads(REAL_EXPORT.read_text("utf-8"))}
    revised = tasks[("a01_cn_la_relations_anniv", 4)]["annotations"]
    assert revised[-1]["result"][0]["value"]["choices"] == ["future_commitment"]  # last, but older
    assert tasks[SKIPPED]["annotations"][0]["was_cancelled"] and not tasks[UNANNOTATED]["annotations"]

    with caplog.at_level("INFO"):
        result = import_into(corpus_project, REAL_EXPORT)

    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (corpus_project / "labels.jsonl").read_text("utf-8").splitlines()]
    paragraphs = pd.read_parquet(corpus_project / "paragraphs.parquet").set_index(["doc", "idx"])
    by_text = {(r["doc"], r["text"]): r for r in rows}
    assert len(by_text) == len(rows) == len(CHOSEN)
    for (doc, idx), (label, secondary) in CHOSEN.items():
        paragraph = paragraphs.loc[(doc, idx)]  # the task's own paragraph, found by its text
        row = by_text[(doc, paragraph["text"])]
        assert paragraph_sha1(row["text"]) == paragraph["sha1"]
        assert (row["label"], row["secondary"]) == (label, secondary)
    summary = "8 tasks: 6 labeled (6 new, appended to"
    assert summary in caplog.text and "1 skipped, 1 without a label" in caplog.text
    assert "2 with annotations that disagree" in caplog.text


def test_importing_the_same_real_export_again_appends_nothing_and_says_so(
    corpus_project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert import_into(corpus_project, REAL_EXPORT).exit_code == 0
    before = (corpus_project / "labels.jsonl").read_bytes()
    caplog.clear()
    with caplog.at_level("INFO"):
        again = import_into(corpus_project, REAL_EXPORT)
    assert again.exit_code == 0, again.output
    assert (corpus_project / "labels.jsonl").read_bytes() == before
    assert "6 labeled (0 new" in caplog.text and "repeated" not in caplog.text


def test_a_real_export_that_contradicts_the_labels_file_appends_nothing(corpus_project: Path) -> None:
    tasks = json.loads(REAL_EXPORT.read_text("utf-8"))
    for annotation in tasks[0]["annotations"]:  # a01 paragraph 4, labeled historical_claim
        annotation["result"] = [{**r, "value": {"choices": ["other"]}} for r in annotation["result"]]
    (corpus_project / "changed.json").write_text(json.dumps(tasks), encoding="utf-8")
    assert import_into(corpus_project, REAL_EXPORT).exit_code == 0
    before = (corpus_project / "labels.jsonl").read_bytes()
    result = import_into(corpus_project, corpus_project / "changed.json")
    assert result.exit_code == 2 and "labeled historical_claim and other" in result.output
    assert (corpus_project / "labels.jsonl").read_bytes() == before


@pytest.mark.parametrize(
    ("export", "says"),
    [
        (
            REAL_EXPORT_MIN,
            "task 1 is not a Label Studio task (no 'data' object); export the project as JSON (not JSON-MIN",
        ),
        ('[{"text": "Hello.", "label": "greeting"}]', "task 1 is not a Label Studio task"),
        ('[{"data": {"doc": "d", "text": "t"}, "annotations": {}}]', "task 1: 'annotations' must be a list"),
        ("annotation_id,label,text\n1,greeting,Hello.\n", "invalid JSON"),  # the CSV export
        (REAL_EXPORT.read_text("utf-8")[:500], "; export the Label Studio project as JSON"),  # cut short
    ],
)
def test_an_export_that_is_not_label_studio_json_is_refused_in_one_line(
    corpus_project: Path, export: Path | str, says: str
) -> None:
    if isinstance(export, str):
        (corpus_project / "export.json").write_text(export, encoding="utf-8")
        export = corpus_project / "export.json"
    result = import_into(corpus_project, export)
    assert result.exit_code == 2, result.output
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1 and says in message and str(export) in message
    assert not (corpus_project / "labels.jsonl").exists()
