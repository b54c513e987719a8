"""Which sentences carried a paragraph's function: each sentence labeled on its own.

The head labels whole paragraphs; to show the evidence behind a label, the report labels
every sentence of a multi-sentence paragraph with the same labeler and marks the sentences
whose own label is the paragraph's. Only the report asks for this, so `rhetoric predict`
without `--report` scores no sentence. Sentences are labeled in batches, each distinct
sentence once, and their vectors come from the vector store where `embed.sentences: true`
put them there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from rhetoric.corpus.segment import normalize_paragraph, sentences_of

if TYPE_CHECKING:
    from rhetoric.model.labeler import LabeledParagraph

Label = Callable[[Sequence[str]], "list[LabeledParagraph]"]


def sentence_evidence(
    label: Label, texts: Sequence[str], batch_size: int = 256
) -> list[list[dict[str, Any]]]:
    """For each text, its sentences with their own label and score (that label's
    probability); [] for a text of one sentence, which is its own evidence."""
    split = [sentences_of(normalize_paragraph(t)) for t in texts]
    split = [s if len(s) > 1 else [] for s in split]
    distinct = list(dict.fromkeys(s for sentences in split for s in sentences))
    labeled: dict[str, LabeledParagraph] = {}
    for start in range(0, len(distinct), batch_size):
        batch = distinct[start : start + batch_size]
        labeled.update(zip(batch, label(batch), strict=True))
    return [
        [{"text": s, "label": labeled[s].label, "score": labeled[s].confidence} for s in sentences]
        for sentences in split
    ]


def add_sentence_evidence(rows: list[dict[str, Any]], label: Label) -> int:
    """Put each row's `sentences` (see `sentence_evidence`) into it; returns how many
    sentences were labeled."""
    evidence = sentence_evidence(label, [r["text"] for r in rows])
    for row, sentences in zip(rows, evidence, strict=True):
        row["sentences"] = sentences
    return sum(len(s) for s in evidence)
