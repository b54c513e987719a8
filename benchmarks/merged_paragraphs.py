"""Does training on merged neighbouring paragraphs help the head read long mixed paragraphs?

    python benchmarks/merged_paragraphs.py REALDEV.jsonl [CACHE_DIR]

Real paragraphs of 70 words or more are misread about twice as often as shorter ones
(22% against 10-13% on the real-text set with the shipped model), and our corpus has few
long paragraphs that mix functions. This adds, to train's training paragraphs, texts made
by joining neighbouring labeled paragraphs of the same training document (pairs 0+1, 2+3,
... in document order, so no paragraph is in two pairs), labeled as LABELS.md rules 1 and 2
read: the label of the part with at least 60% of the words, else by precedence
(future_commitment over greeting over historical_claim; `other` only when both are).
The head is the default's (class-balanced logistic regression, C fixed, word 1-2-gram
TF-IDF fitted on the training texts), trained with the merged texts at each weight.
Prints macro-F1 on the real-text file, data/dev and train's test split, the real-text F1
per class and the real-text error rate for paragraphs of 70 words or more.

Needs the trained model (models/) and the vector store of the last `dvc repro`. Vectors
of the merged texts and of the real-text rows are computed once and cached in CACHE_DIR
(default: beside the real-text file, outside the project); nothing is written into the
project. REALDEV.jsonl rows carry `text` and `label`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score

from rhetoric.corpus.documents import match_labels, read_labels
from rhetoric.corpus.segment import normalize_paragraph
from rhetoric.model.labeler import Labeler

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sentence_features import fit_default_head, read_rows  # noqa: E402

LABELS = ["greeting", "historical_claim", "future_commitment", "other"]
PRECEDENCE = ["future_commitment", "greeting", "historical_claim", "other"]  # LABELS.md rule 2
MAJORITY = 0.6  # a part with this share of the words decides alone (rule 1)
LONG = 70  # words


def merged_label(first: tuple[str, str], second: tuple[str, str]) -> str:
    """The label of two (text, label) parts joined, by LABELS.md rules 1 and 2.

    >>> merged_label(("a b c d e f g", "greeting"), ("h i", "historical_claim"))
    'greeting'
    >>> merged_label(("a b c", "historical_claim"), ("d e f", "future_commitment"))
    'future_commitment'
    >>> merged_label(("a b c", "other"), ("d e f g", "historical_claim"))
    'historical_claim'
    """
    (text_a, label_a), (text_b, label_b) = first, second
    if label_a == label_b:
        return label_a
    words_a, words_b = len(text_a.split()), len(text_b.split())
    share_a = words_a / (words_a + words_b)
    if share_a >= MAJORITY and label_a != "other":
        return label_a
    if share_a <= 1 - MAJORITY and label_b != "other":
        return label_b
    return min(label_a, label_b, key=PRECEDENCE.index)


def merged_pairs(train: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Texts and labels of neighbouring labeled paragraphs joined, pairs 0+1, 2+3, ... of
    each document."""
    texts, labels = [], []
    for _, rows in train.sort_values(["doc", "idx"]).groupby("doc", sort=True):
        parts = list(zip(rows["text"], rows["label"], strict=True))
        for a, b in zip(parts[0::2], parts[1::2], strict=False):
            texts.append(f"{a[0]} {b[0]}")
            labels.append(merged_label(a, b))
    return texts, labels


def cached_vectors(labeler: Labeler, texts: list[str], cache: Path) -> np.ndarray:
    if cache.exists():
        return np.load(cache, allow_pickle=False)
    vectors = labeler.vectors_for(texts)
    np.save(cache, vectors, allow_pickle=False)
    return vectors


def main() -> None:
    real_file = Path(sys.argv[1])
    cache_dir = Path(sys.argv[2]) if len(sys.argv) > 2 else real_file.parent
    labeler = Labeler.load("models", exported=True, store=Path("data/vectors"))
    tag = labeler.card.embed_params.store_key
    paragraphs = pd.read_parquet("data/paragraphs.parquet")
    labeled = match_labels(paragraphs, read_labels(Path("data/labels.jsonl"), LABELS), "data/labels.jsonl")
    train = labeled[labeled["doc"].isin(labeler.card.train_docs)]
    merged_texts, merged_gold = merged_pairs(train)
    real = pd.DataFrame(read_rows(real_file))
    dev = pd.DataFrame(read_rows(Path("data/dev/labels.jsonl")))
    test = labeled[labeled["doc"].isin(labeler.card.test_docs)]
    data = {
        "train": (list(train["text"]), labeler.vectors_for(list(train["text"])), list(train["label"])),
        "merged": (
            merged_texts,
            cached_vectors(labeler, merged_texts, cache_dir / f"merged-{tag}.npy"),
            merged_gold,
        ),
    }
    for name, rows, cache in (
        ("real text", real, cache_dir / f"{real_file.stem}-{tag}.npy"),
        ("data/dev", dev, None),
        ("test split", test, None),
    ):
        texts = [normalize_paragraph(t) for t in rows["text"]]
        vectors = cached_vectors(labeler, texts, cache) if cache else labeler.vectors_for(texts)
        data[name] = (texts, vectors, list(rows["label"]))
    counts = pd.Series(merged_gold).value_counts().to_dict()
    print(f"{len(train)} training paragraphs, {len(merged_texts)} merged texts {counts}", flush=True)
    for weight in (0.0, 0.25, 0.5, 1.0):
        print(f"merged weight {weight}: {score(data, weight, 16)}", flush=True)


def score(data: dict, merged_weight: float, c: float) -> str:
    texts, vectors, gold = data["train"]
    weights = [1.0] * len(texts)
    if merged_weight > 0:
        m_texts, m_vectors, m_gold = data["merged"]
        texts, vectors, gold = texts + m_texts, np.vstack([vectors, m_vectors]), gold + m_gold
        weights += [merged_weight] * len(m_texts)
    predict = fit_default_head(data["train"][0], texts, vectors, gold, c, np.array(weights))
    scores = []
    for name in ("real text", "data/dev", "test split"):
        set_texts, set_vectors, set_gold = data[name]
        predicted = predict(set_texts, set_vectors)
        scores.append(f"{name} {f1_score(set_gold, predicted, average='macro'):.3f}")
        if name == "real text":
            per_class = np.round(f1_score(set_gold, predicted, average=None, labels=LABELS), 3)
            long = np.array([len(t.split()) >= LONG for t in set_texts])
            wrong = np.array(predicted) != np.array(set_gold)
            long_errors = f"{wrong[long].mean():.3f} of {long.sum()}"
    return ", ".join(scores) + f"; real text per class {per_class}; long paragraphs wrong {long_errors}"


if __name__ == "__main__":
    main()
