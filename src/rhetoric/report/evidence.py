"""Which sentences carried a paragraph's function: each sentence labeled by the same head.

The head labels whole paragraphs; to show the evidence behind a label, the report puts
each sentence of a multi-sentence paragraph beside its own label and marks the sentences
whose label is the paragraph's. The sentence vectors come from the paragraph's own encoder
pass (`Labeler.sentence_evidence`, encoders/sentence_spans.py), so the evidence costs no
second pass over the text. Only the report asks for it, so `rhetoric predict` without
`--report` labels no sentence. `rhetoric predict` labels them batch by batch as it labels
the paragraphs (`prediction.label_rows`); `add_sentence_evidence` serves the Ray engine,
whose rows come back labeled.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from rhetoric.model.labeler import evidence_rows

if TYPE_CHECKING:
    from rhetoric.model.labeler import LabeledParagraph

Evidence = Callable[[Sequence[str]], "list[list[tuple[str, LabeledParagraph]]]"]


def sentence_evidence(
    evidence: Evidence, texts: Sequence[str], batch_size: int = 256
) -> list[list[dict[str, Any]]]:
    """For each text, its sentences with their own label and score (that label's
    probability); [] for a text of one sentence, or where the model cannot say."""
    found: list[list[dict[str, Any]]] = []
    for start in range(0, len(texts), batch_size):
        for sentences in evidence(texts[start : start + batch_size]):
            found.append(evidence_rows(sentences))
    return found


def add_sentence_evidence(rows: list[dict[str, Any]], evidence: Evidence) -> int:
    """Put each row's `sentences` (see `sentence_evidence`) into it; returns how many
    sentences were labeled."""
    found = sentence_evidence(evidence, [r["text"] for r in rows])
    for row, sentences in zip(rows, found, strict=True):
        row["sentences"] = sentences
    return sum(len(s) for s in found)
