"""The annotate loop as a pure state machine: `step(session, key) -> session`.

Everything `rhetoric annotate` decides (which paragraph is shown, what a key does, what
undo takes back, when to stop) happens here, without a terminal, so it is unit-tested
directly. A step never touches a file either: it names the label row to append (`append`)
or to take back (`remove`), and the command's thin shell does the writing.
"""

from __future__ import annotations

import textwrap
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


CONTEXT_LINES = 2  # lines of the paragraphs before and after the current one


def wrap(text: str, width: int, indent: str = "", max_lines: int | None = None) -> str:
    """`text` wrapped at word boundaries to `width` columns (a word longer than a line is cut
    only then), continuation lines indented under the first; cut to `max_lines` with "...".

    >>> print(wrap("  before: the time has come to act together", 24, "          ", 2))
      before: the time has
              come to ...
    """
    return "\n".join(
        textwrap.wrap(
            text,
            width=max(width, len(indent) + 10),
            subsequent_indent=indent,
            max_lines=max_lines,
            placeholder=" ...",
            break_on_hyphens=False,
        )
    )


def screen(session: Session, context: Mapping[tuple[str, int], str], width: int = 80) -> str:
    """The terminal screen for the current paragraph (styled text; the shell prints it),
    wrapped at word boundaries to `width` columns; neighbours shortened to `CONTEXT_LINES`."""
    row = session.current
    doc, idx = row.get("doc", ""), int(row.get("idx", 0))
    where = f"[{session.position + 1}/{len(session.queue)}] {doc} ¶{idx}"
    header = f"{where}  uncertainty {uncertainty(row['scores']):.2f}"
    lines = [click.style(header, bold=True)]
    if (doc, idx - 1) in context:
        before = wrap(f"  before: {context[(doc, idx - 1)]}", width, " " * 10, CONTEXT_LINES)
        lines.append(click.style(before, dim=True))
    lines.append("\n" + click.style(wrap(row["text"], width), bold=True) + "\n")
    if (doc, idx + 1) in context:
        after = wrap(f"  after: {context[(doc, idx + 1)]}", width, " " * 9, CONTEXT_LINES)
        lines.append(click.style(after, dim=True))
    guess = ", ".join(f"{label} {p:.2f}" for label, p in sorted(row["scores"].items(), key=lambda x: -x[1]))
    lines.append("\n" + wrap(f"model: {guess}", width, "       "))
    keys = session.keys.items()
    options = "  ".join(click.style(f"[{k}] {v}", fg=COLOURS.get(v)) for k, v in keys if k.isdigit())
    lines.append(f"{options}  [s] skip  [u] undo  [q] quit")
    return "\n".join(lines)


def farewell(labeled: int, labels_file: str) -> str:
    """The line `annotate` ends with: what was saved and what to do next, or that nothing was.

    >>> farewell(0, "labels.jsonl")
    'Nothing labeled; labels.jsonl is unchanged.'
    """
    if not labeled:
        return f"Nothing labeled; {labels_file} is unchanged."
    return f"{labeled} paragraph(s) labeled and saved to {labels_file}; run `dvc repro` to retrain."
