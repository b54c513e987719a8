"""How sentence evidence from the paragraph's own pass compares with sentences encoded alone.

    python benchmarks/sentence_evidence.py [--paragraphs 120] [--model models]

Samples multi-sentence paragraphs of our corpus (data/paragraphs.parquet, seeded), labels
each sentence twice with the trained model in models/: from its span-pooled vector
(`Labeler.sentence_evidence`, no second pass) and encoded on its own (a second pass), and
prints how often the two labels agree, how often a paragraph's own label is among its
sentences', and the seconds each took on this machine.
"""

from __future__ import annotations

import argparse
import random
import time

import pandas as pd

from rhetoric.corpus.segment import normalize_paragraph, sentences_of
from rhetoric.model.labeler import Labeler


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--paragraphs", type=int, default=120)
    parser.add_argument("--model", default="models")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    texts = [normalize_paragraph(t) for t in pd.read_parquet("data/paragraphs.parquet")["text"]]
    multi = sorted({t for t in texts if len(sentences_of(t)) > 1})
    sample = random.Random(args.seed).sample(multi, min(args.paragraphs, len(multi)))
    labeler = Labeler.load(args.model)  # no store: every vector is encoded here
    labeler.keep_sentence_vectors()
    start = time.perf_counter()
    paragraphs = labeler.label(sample)
    evidence = labeler.sentence_evidence(sample)
    pooled_s = time.perf_counter() - start
    sentences = [s for found in evidence for s, _ in found]
    start = time.perf_counter()
    alone = labeler.label(sentences)
    alone_s = time.perf_counter() - start
    pooled = [got.label for found in evidence for _, got in found]
    agree = sum(a == b.label for a, b in zip(pooled, alone, strict=True)) / len(sentences)
    covered = sum(
        p.label in {g.label for _, g in found} for p, found in zip(paragraphs, evidence, strict=True)
    )
    print(f"{len(sample)} paragraphs, {len(sentences)} sentences, model {labeler.card.embedder.name}")
    print(f"span-pooled vs encoded alone: same label for {agree:.1%} of sentences")
    print(f"paragraph label among its sentences' labels: {covered}/{len(sample)}")
    print(
        f"seconds: paragraphs + evidence from one pass {pooled_s:.1f}; sentences encoded alone {alone_s:.1f}"
    )


if __name__ == "__main__":
    main()
