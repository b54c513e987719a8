"""Command `annotate`: label the paragraphs the model is least sure about, one keypress each.

The thin terminal shell around `labeling.loop`: show, read a key, step, write the label."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import click

from rhetoric.corpus.documents import DOC_ID
from rhetoric.labeling.annotation import (
    append_label,
    known_paragraphs,
    read_labeling_queue,
    remove_last_label,
)
from rhetoric.labeling.loop import context_of, farewell, screen, start, step
from rhetoric.params import parse_labels, read_params


def run(
    predictions: Path, labels_file: Path, params_file: Path, limit: int | None, paragraphs: Path | None = None
) -> None:
    labels = list(parse_labels(read_params(params_file).get("labels")))
    rows, queue = read_labeling_queue(predictions, labels_file, labels)
    queue = labelable(queue, known_paragraphs(paragraphs) if paragraphs and paragraphs.is_file() else None)
    context, session = context_of(rows), start(queue, labels, limit)
    try:
        while not session.done:
            click.clear()
            width = shutil.get_terminal_size().columns - 1  # a full last column would wrap again
            click.echo(screen(session, context, width))
            session = step(session, click.getchar())
            if session.append is not None:
                append_label(labels_file, session.append)
            if session.remove is not None and not remove_last_label(labels_file, session.remove):
                session = replace(session, labeled=session.labeled + 1)  # the file changed: not undone
    except (KeyboardInterrupt, EOFError):
        pass
    click.echo("\n" + farewell(session.labeled, str(labels_file)))


def labelable(queue: list[dict], known: set[tuple[str, str]] | None) -> list[dict]:
    """The queue rows a label can be saved for: a valid document id (rows predicted from
    JSONL input may have none) and, given the paragraph table, a paragraph of that document
    (predictions older than an edit of the document are left out)."""
    kept = [r for r in queue if isinstance(r.get("doc"), str) and DOC_ID.fullmatch(r["doc"])]
    if known is not None:
        kept = [r for r in kept if (r["doc"], r["text"]) in known]
    if len(kept) < len(queue):
        click.echo(
            f"note: {len(queue) - len(kept)} predicted paragraph(s) left out: no document of that id "
            "or no longer in their document (re-run `dvc repro`).",
            err=True,
        )
    return kept
