"""Do the sentence vectors of the paragraph's own encoder pass help the head as features?

    python benchmarks/sentence_features.py REALDEV.jsonl ["[dict(), dict(w={'P': 1, 'M': 1})]"]

The encoder's token states pooled per sentence (encoders/sentence_spans.py) give each
paragraph a few sentence vectors at no extra encoder pass. This trains the default head
(class-balanced logistic regression, C fixed, word 1-2-gram TF-IDF) on train's training
documents with these dense blocks, each times its weight `w`: P the paragraph's vector,
M the mean of its sentence vectors (renormalized), X their element-wise maximum, F the
first sentence's, S the last's (a one-sentence paragraph uses its paragraph vector for
all). Prints macro-F1 on the real-text file, data/dev and train's test split, and the
real-text F1 per class. Needs the trained model (models/) and the vector store of the last
`dvc repro`; vectors of the real-text and dev rows are computed once and cached beside the
real-text file (outside the project). REALDEV.jsonl rows carry `text` and `label`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

from rhetoric.corpus.documents import match_labels, read_labels
from rhetoric.corpus.segment import normalize_paragraph
from rhetoric.encoders.sentence_spans import sentence_spans
from rhetoric.model.labeler import Labeler

LABELS = ["greeting", "historical_claim", "future_commitment", "other"]
BLOCKS = "PMXFS"
DEFAULT = "[dict(), dict(w={'M': 1}), dict(w={'P': 1, 'M': 1}), dict(w={'P': 1, 'F': 1}), dict(w={'P': 1, 'X': 1}), dict(w={'P': 1, 'F': 0.5, 'S': 0.5})]"  # noqa: E501


def read_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def blocks(labeler: Labeler, texts: list[str]) -> dict[str, np.ndarray]:
    """The five dense blocks of each normalized text."""
    vectors = labeler.vectors_for(texts)
    groups = labeler.sentence_vectors_for(texts, [sentence_spans(t) for t in texts])
    rows = []
    for vector, group in zip(vectors, groups, strict=True):
        if len(group) == 0 or group.shape[1] != vectors.shape[1]:
            group = vector[None]
        mean = group.mean(axis=0)
        rows.append((vector, mean / np.linalg.norm(mean), group.max(axis=0), group[0], group[-1]))
    return {name: np.array([r[k] for r in rows]) for k, name in enumerate(BLOCKS)}


def cached_blocks(labeler: Labeler, texts: list[str], cache: Path | None) -> dict[str, np.ndarray]:
    if cache is not None and cache.exists():
        with np.load(cache) as saved:
            return {name: saved[name] for name in BLOCKS}
    found = blocks(labeler, texts)
    if cache is not None:
        np.savez(cache, **found)
    return found


def main() -> None:
    real_file = Path(sys.argv[1])
    variants = eval(sys.argv[2] if len(sys.argv) > 2 else DEFAULT)
    labeler = Labeler.load("models", exported=True, store=Path("data/vectors"))
    labeler.keep_sentence_vectors()
    paragraphs = pd.read_parquet("data/paragraphs.parquet")
    labeled = match_labels(paragraphs, read_labels(Path("data/labels.jsonl"), LABELS), "data/labels.jsonl")
    tag = labeler.card.embed_params.store_key
    sets = {
        "train": (labeled[labeled["doc"].isin(labeler.card.train_docs)], None),
        "real text": (
            pd.DataFrame(read_rows(real_file)),
            real_file.with_name(f"{real_file.stem}-sentences-{tag}.npz"),
        ),
        "data/dev": (pd.DataFrame(read_rows(Path("data/dev/labels.jsonl"))), None),
        "test split": (labeled[labeled["doc"].isin(labeler.card.test_docs)], None),
    }
    data = {}
    for name, (rows, cache) in sets.items():
        texts = [normalize_paragraph(t) for t in rows["text"]]
        data[name] = (texts, cached_blocks(labeler, texts, cache), list(rows["label"]))
    for variant in variants:
        print(variant, score(data, variant.get("w", {"P": 1.0}), variant.get("C", 16)), flush=True)


Predict = Callable[[list[str], np.ndarray], np.ndarray]


def fit_default_head(
    vocabulary: list[str],
    texts: list[str],
    dense: np.ndarray,
    gold: list[str],
    c: float,
    sample_weight: np.ndarray | None = None,
) -> Predict:
    """The default head's design with C fixed: class-balanced logistic regression on the
    dense features beside word 1-2-gram TF-IDF fitted on `vocabulary`. Returns the labels of
    (texts, dense features) the same way. benchmarks/merged_paragraphs.py uses it too."""
    tfidf = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, max_features=30000)
    tfidf.fit(vocabulary)

    def features(texts: list[str], dense: np.ndarray) -> sparse.csr_matrix:
        return sparse.hstack([sparse.csr_matrix(dense), tfidf.transform(texts)]).tocsr()

    head = LogisticRegression(C=c, max_iter=5000, class_weight="balanced", random_state=42)
    head.fit(features(texts, dense), gold, sample_weight=sample_weight)
    return lambda texts, dense: head.predict(features(texts, dense))


def score(data: dict, weights: dict[str, float], c: float) -> str:
    """Train on data["train"] with the weighted blocks and TF-IDF; macro-F1 on the rest."""

    def dense(found: dict[str, np.ndarray]) -> np.ndarray:
        return np.hstack([found[name] * weight for name, weight in weights.items()])

    train_texts, train_blocks, train_gold = data["train"]
    predict = fit_default_head(train_texts, train_texts, dense(train_blocks), train_gold, c)
    scores = []
    for name in ("real text", "data/dev", "test split"):
        texts, found, gold = data[name]
        predicted = predict(texts, dense(found))
        scores.append(f"{name} {f1_score(gold, predicted, average='macro'):.3f}")
        if name == "real text":
            per_class = np.round(f1_score(gold, predicted, average=None, labels=LABELS), 3)
    return ", ".join(scores) + f"; real text per class {per_class}"


if __name__ == "__main__":
    main()
