"""The annotate loop's state machine, key by key, without a terminal."""

from __future__ import annotations

from functools import reduce

import click
import pytest

from rhetoric.labeling.loop import context_of, farewell, key_map, screen, start, step

LABELS = ["greeting", "historical_claim", "future_commitment", "other"]
QUEUE = [
    {"doc": "d1", "idx": 1, "text": "Unsure one.", "scores": dict.fromkeys(LABELS, 0.25)},
    {"doc": "d1", "idx": 2, "text": "Middle one.", "scores": {**dict.fromkeys(LABELS, 0.1), "other": 0.7}},
    {
        "doc": "d1",
        "idx": 0,
        "text": "Sure thing.",
        "scores": {**dict.fromkeys(LABELS, 0.01), "greeting": 0.97},
    },
]


def run_keys(keys: str, limit: int | None = None):
    return reduce(step, keys, start(QUEUE, LABELS, limit))


def label_row(text: str, label: str) -> dict:
    return {"doc": "d1", "text": text, "label": label, "secondary": []}


@pytest.mark.parametrize(
    ("key", "label"),
    [("1", "greeting"), ("h", "historical_claim"), ("f", "future_commitment"), ("4", "other")],
)
def test_a_label_key_labels_the_current_paragraph_and_moves_on(key: str, label: str) -> None:
    session = run_keys(key)
    assert session.append == label_row("Unsure one.", label)
    assert (session.position, session.labeled, session.current["text"]) == (1, 1, "Middle one.")


def test_skip_moves_on_without_writing() -> None:
    session = run_keys("s")
    assert (session.position, session.labeled, session.append, session.remove) == (1, 0, None, None)


def test_undo_takes_back_a_label_then_a_skip() -> None:
    session = run_keys("fs")
    session = step(session, "u")  # undo the skip: nothing to remove
    assert (session.position, session.labeled, session.remove) == (1, 1, None)
    session = step(session, "u")  # undo the label: the shell must remove that row
    assert (session.position, session.labeled) == (0, 0)
    assert session.remove == label_row("Unsure one.", "future_commitment")
    assert step(session, "u") == session.__class__(
        **{**session.__dict__, "remove": None}
    )  # nothing left to undo


def test_the_terminal_scenario_leaves_one_label() -> None:
    session, appended = start(QUEUE, LABELS), []
    for key in "fsuu1":
        session = step(session, key)
        if session.append:
            appended.append(session.append)
        if session.remove:
            appended.remove(session.remove)
    assert appended == [label_row("Unsure one.", "greeting")]


@pytest.mark.parametrize("key", ["q", "\x04"])
def test_quit_keys_end_the_session(key: str) -> None:
    assert run_keys("s" + key).done and not run_keys("s").done


def test_the_session_ends_at_the_limit_or_the_end_of_the_queue() -> None:
    assert run_keys("11", limit=2).done and not run_keys("1", limit=2).done
    assert run_keys("sss").done and run_keys("sssx").position == 3


def test_unknown_keys_change_nothing() -> None:
    assert run_keys("x") == start(QUEUE, LABELS)


def test_key_map_gives_first_letters_only_when_unambiguous() -> None:
    assert key_map(["greeting", "good", "other"]) == {
        "1": "greeting",
        "2": "good",
        "3": "other",
        "o": "other",
    }
    assert "s" not in key_map(["statement", "other"])  # s is skip


def test_screen_shows_the_paragraph_its_neighbours_and_the_scores() -> None:
    context = context_of([*QUEUE, {"doc": "d1", "idx": 3, "text": "After all."}])
    text = click.unstyle(screen(run_keys("s"), context))
    assert "[2/3] d1 ¶2  uncertainty 0.40" in text
    assert "before: Unsure one." in text and "after: After all." in text
    assert "model: other 0.70" in text and "[4] other" in text and "[q] quit" in text


LONG = (
    "The minister said that the time had come for both countries to turn the agreements of "
    "the past decade into concrete projects in energy, transport and education, and that his "
    "government stood ready to host the next round of talks before the end of the year."
)


@pytest.mark.parametrize("width", [30, 47, 61, 80])
def test_screen_wraps_at_word_boundaries(width: int) -> None:
    queue = [{"doc": "d1", "idx": 1, "text": LONG, "scores": dict.fromkeys(LABELS, 0.25)}]
    context = context_of(
        [*queue, {"doc": "d1", "idx": 0, "text": LONG}, {"doc": "d1", "idx": 2, "text": LONG}]
    )
    lines = click.unstyle(screen(start(queue, LABELS), context, width)).splitlines()
    words = set(LONG.split())
    assert all(len(line) <= width for line in lines if not line.startswith("[1]"))  # the key legend
    body = [line for line in lines if line and not line.startswith((" ", "[", "model"))]
    assert " ".join(body) == LONG  # the paragraph whole, cut only between words
    starts = [i for i, line in enumerate(lines) if line.startswith(("  before: ", "  after: "))]
    context_lines = [lines[i + k] for i in starts for k in (0, 1)]
    assert len(starts) == 2 and all(lines[i + 2] == "" for i in starts)  # two lines each,
    assert all(lines[i + 1].endswith(" ...") for i in starts)  # shortened at a word
    for line in context_lines:
        shown = line.split(": ", 1)[-1].split()
        assert all(word in words for word in shown if word != "..."), line


def test_farewell_asks_for_dvc_repro_only_after_labels() -> None:
    assert "dvc repro" not in farewell(0, "data/labels.jsonl")
    assert "data/labels.jsonl is unchanged" in farewell(0, "data/labels.jsonl")
    assert farewell(2, "data/labels.jsonl").startswith(
        "2 paragraph(s) labeled and saved to data/labels.jsonl"
    )
    assert "dvc repro" in farewell(2, "data/labels.jsonl")
