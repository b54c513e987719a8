"""The annotate loop as a pure state machine: `step(session, key) -> session`.

Everything `rhetoric annotate` decides (which paragraph is shown, what a key does, what
undo takes back, when to stop) happens here, without a terminal, so it is unit-tested
directly. A step never touches a file either: it names the label row to append (`append`)
or to take back (`remove`), and the command's thin shell does the writing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import click

from rhetoric.labeling.annotation import uncertainty

COLOURS = {"greeting": "yellow", "historical_claim": "blue", "future_commitment": "green", "other": "white"}
SKIP, UNDO, QUIT = "s", "u", ("q", "\x04")  # \x04: Ctrl-D


def key_map(labels: Sequence[str]) -> dict[str, str]:
    """1..N for every label, plus its first letter where that letter is unambiguous and free.

    >>> key_map(["greeting", "other", "offer"])
    {'1': 'greeting', '2': 'other', '3': 'offer', 'g': 'greeting'}
    """
    keys = {str(i + 1): label for i, label in enumerate(labels)}
    firsts = [label[0] for label in labels]
    for label in labels:
        if firsts.count(label[0]) == 1 and label[0] not in "suq":
            keys[label[0]] = label
    return keys


@dataclass(frozen=True)
class Session:
    """Where a labeling session stands; `append`/`remove` are what the last step asks the
    shell to do to the labels file."""

    queue: tuple[dict[str, Any], ...]
    keys: Mapping[str, str]
    limit: int | None = None
    position: int = 0
    labeled: int = 0
    history: tuple[tuple[int, dict[str, Any] | None], ...] = ()  # (position, label row or None: skipped)
    quit: bool = False
    append: dict[str, Any] | None = None
    remove: dict[str, Any] | None = None

    @property
    def done(self) -> bool:
        limited = self.limit is not None and self.labeled >= self.limit
        return self.quit or limited or self.position >= len(self.queue)

    @property
    def current(self) -> dict[str, Any]:
        return self.queue[self.position]


def start(queue: Iterable[dict[str, Any]], labels: Sequence[str], limit: int | None = None) -> Session:
    return Session(tuple(queue), key_map(labels), limit)


def step(session: Session, key: str) -> Session:
    """The session after `key`: a label key labels the current paragraph, `s` skips it, `u`
    goes back one step (taking its label back), `q` or Ctrl-D quits; other keys do nothing."""
    state = replace(session, append=None, remove=None)
    if state.done:
        return state
    if key in state.keys:
        row = state.current
        new = {"doc": row["doc"], "text": row["text"], "label": state.keys[key], "secondary": []}
        history = (*state.history, (state.position, new))
        return replace(
            state, position=state.position + 1, labeled=state.labeled + 1, history=history, append=new
        )
    if key == SKIP:
        return replace(state, position=state.position + 1, history=(*state.history, (state.position, None)))
    if key == UNDO and state.history:
        position, undone = state.history[-1]
        labeled = state.labeled - (undone is not None)
        return replace(state, position=position, labeled=labeled, history=state.history[:-1], remove=undone)
    if key in QUIT:
        return replace(state, quit=True)
    return state


def context_of(rows: Iterable[dict[str, Any]]) -> dict[tuple[str, int], str]:
    """Every predicted paragraph's text by (doc, idx), to show a paragraph's neighbours."""
    return {(r.get("doc", ""), int(r.get("idx", 0))): r["text"] for r in rows}


def screen(session: Session, context: Mapping[tuple[str, int], str]) -> str:
    """The terminal screen for the current paragraph (styled text; the shell prints it)."""
    row = session.current
    doc, idx = row.get("doc", ""), int(row.get("idx", 0))
    where = f"[{session.position + 1}/{len(session.queue)}] {doc} ¶{idx}"
    header = f"{where}  uncertainty {uncertainty(row['scores']):.2f}"
    lines = [click.style(header, bold=True)]
    if (doc, idx - 1) in context:
        lines.append(click.style(f"  before: {context[(doc, idx - 1)]}", dim=True))
    lines.append("\n" + click.style(row["text"], bold=True) + "\n")
    if (doc, idx + 1) in context:
        lines.append(click.style(f"  after: {context[(doc, idx + 1)]}", dim=True))
    guess = ", ".join(f"{label} {p:.2f}" for label, p in sorted(row["scores"].items(), key=lambda x: -x[1]))
    lines.append(f"\nmodel: {guess}")
    keys = session.keys.items()
    options = "  ".join(click.style(f"[{k}] {v}", fg=COLOURS.get(v)) for k, v in keys if k.isdigit())
    lines.append(f"{options}  [s] skip  [u] undo  [q] quit")
    return "\n".join(lines)
