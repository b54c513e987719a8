"""Does the paragraph's sentence evidence label it better than the paragraph head alone?

    python benchmarks/evidence_vote.py REALDEV.jsonl

LABELS.md rule 1 labels a paragraph by the function that takes up most of its content.
With the trained model in models/ (its package) and the vector store, this labels each
paragraph three ways and prints macro-F1 on the real-text file, data/dev and train's test
split: the head's own probabilities blended with the sentences' (each sentence's
probabilities from `Labeler.sentence_evidence`, weighted by its share of the paragraph's
characters) at weights 0 (the shipped model) to 1, and a hard vote (the label with the
most characters; ties: future_commitment, greeting, historical_claim, as rule 2 orders).
REALDEV.jsonl rows carry `text` and `label`; it stays outside the project.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score

from rhetoric.corpus.segment import normalize_paragraph
from rhetoric.model.labeler import Labeler

PRECEDENCE = ["future_commitment", "greeting", "historical_claim", "other"]  # LABELS.md rule 2


def read_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def evidence_probabilities(labeler: Labeler, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Head probabilities, character-weighted sentence probabilities and character-weighted
    hard votes; a one-sentence paragraph keeps the head's for all three."""
    head = labeler.predict_proba(texts)
    soft, hard = head.copy(), head.copy()
    for i, found in enumerate(labeler.sentence_evidence(texts)):
        if found:
            weights = np.array([len(s) for s, _ in found], dtype=float)
            weights /= weights.sum()
            soft[i] = weights @ np.array(
                [[got.scores[label] for label in labeler.labels] for _, got in found]
            )
            hard[i] = 0.0
            for weight, (_, got) in zip(weights, found, strict=True):
                hard[i, labeler.labels.index(got.label)] += weight
    return head, soft, hard


def main() -> None:
    labeler = Labeler.load("models", exported=True, store=Path("data/vectors"))
    labeler.keep_sentence_vectors()
    labeled = read_rows(Path("data/labels.jsonl"))
    sets = {
        "real text": read_rows(Path(sys.argv[1])),
        "data/dev": read_rows(Path("data/dev/labels.jsonl")),
        "test split": [r for r in labeled if r["doc"] in set(labeler.card.test_docs)],
    }
    rank = {label: k for k, label in enumerate(PRECEDENCE)}
    for name, rows in sets.items():
        texts = [normalize_paragraph(r["text"]) for r in rows]
        gold = [r["label"] for r in rows]
        head, soft, hard = evidence_probabilities(labeler, texts)
        scores = {}
        for weight in (0.0, 0.25, 0.5, 0.75, 1.0):
            chosen = ((1 - weight) * head + weight * soft).argmax(axis=1)
            scores[f"blend {weight}"] = f1_score(gold, [labeler.labels[j] for j in chosen], average="macro")
        votes = [
            max(
                labeler.labels,
                key=lambda label: (round(float(h[labeler.labels.index(label)]), 6), -rank[label]),
            )
            for h in hard
        ]
        scores["hard vote"] = f1_score(gold, votes, average="macro")
        print(f"{name} ({len(rows)} paragraphs): " + ", ".join(f"{k} {v:.3f}" for k, v in scores.items()))


if __name__ == "__main__":
    main()
