"""Command `annotate`: label the paragraphs the model is least sure about, one keypress each."""

from __future__ import annotations

from pathlib import Path

import click

from rhetoric.annotation import append_label, read_labeling_queue, remove_last_label, uncertainty
from rhetoric.params import parse_labels, read_params

COLOURS = {"greeting": "yellow", "historical_claim": "blue", "future_commitment": "green", "other": "white"}


def key_map(labels: list[str]) -> dict[str, str]:
    """1..N for every label, plus its first letter where that letter is unambiguous and free."""
    keys = {str(i + 1): label for i, label in enumerate(labels)}
    firsts = [label[0] for label in labels]
    for label in labels:
        if firsts.count(label[0]) == 1 and label[0] not in "suq":
            keys[label[0]] = label
    return keys


def show(row: dict, context: dict[tuple[str, int], str], position: int, total: int, keys: dict) -> None:
    doc, idx = row.get("doc", ""), int(row.get("idx", 0))
    click.clear()
    click.echo(
        click.style(
            f"[{position}/{total}] {doc} ¶{idx}  uncertainty {uncertainty(row['scores']):.2f}", bold=True
        )
    )
    if (doc, idx - 1) in context:
        click.echo(click.style(f"  before: {context[(doc, idx - 1)]}", dim=True))
    click.echo("\n" + click.style(row["text"], bold=True) + "\n")
    if (doc, idx + 1) in context:
        click.echo(click.style(f"  after: {context[(doc, idx + 1)]}", dim=True))
    guess = ", ".join(f"{label} {p:.2f}" for label, p in sorted(row["scores"].items(), key=lambda x: -x[1]))
    click.echo(f"\nmodel: {guess}")
    options = "  ".join(click.style(f"[{k}] {v}", fg=COLOURS.get(v)) for k, v in keys.items() if k.isdigit())
    click.echo(f"{options}  [s] skip  [u] undo  [q] quit")


def run(predictions: Path, labels_file: Path, params_file: Path, limit: int | None) -> None:
    labels = list(parse_labels(read_params(params_file).get("labels")))
    preds, queue = read_labeling_queue(predictions, labels_file, labels)
    context = {(r.get("doc", ""), int(r.get("idx", 0))): r["text"] for r in preds}
    keys = key_map(labels)
    history: list[tuple[int, dict | None]] = []
    position, labeled = 0, 0
    try:
        while position < len(queue) and (limit is None or labeled < limit):
            row = queue[position]
            show(row, context, position + 1, len(queue), keys)
            key = click.getchar()
            if key in keys:
                new = {"doc": row["doc"], "text": row["text"], "label": keys[key], "secondary": []}
                append_label(labels_file, new)
                history.append((position, new))
                position, labeled = position + 1, labeled + 1
            elif key == "s":
                history.append((position, None))
                position += 1
            elif key == "u" and history:
                position, undone = history.pop()
                if undone is not None and remove_last_label(labels_file, undone):
                    labeled -= 1
            elif key in ("q", "\x04"):
                break
    except (KeyboardInterrupt, EOFError):
        pass
    click.echo(f"\n{labeled} paragraph(s) labeled and saved to {labels_file}; run `dvc repro` to retrain.")
