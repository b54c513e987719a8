"""The annotate loop's state machine, key by key, without a terminal."""

from __future__ import annotations

from functools import reduce

import click
import pytest

from rhetoric.labeling.loop import context_of, key_map, screen, start, step

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
