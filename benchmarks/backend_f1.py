"""Macro-F1 of the default head trained on each embed backend's vectors, scored on a
labeled JSONL (rows with `text` and `label`): the quality gate of issue 13 (a backend
recommended for use must stay within 0.01 macro-F1 of fp32 vectors on real text).

    python benchmarks/backend_f1.py /path/to/labeled.jsonl \
        [--encoder all-mpnet-base-v2] [--backends fp32,int8-static,int8]

For each backend it embeds the labeled corpus paragraphs, fits the head exactly as the
`train` stage does (grouped split and CV, params.yaml's classifier, grid and features;
as benchmarks/designs.py), and scores the held-out test documents, data/dev and the given
JSONL. int8-static is calibrated on corpus paragraphs as `rhetoric embed` does. Vectors
are kept in memory only: nothing derived from the JSONL is written anywhere. Prints one
Markdown table (macro-F1 and its difference to fp32 per set, and the cosine of each
backend's JSONL vectors to fp32's).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import corpus_paragraphs  # noqa: E402
from designs import score_rows  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("jsonl", type=Path, help="labeled rows: text, label")
    parser.add_argument("--encoder", default="all-mpnet-base-v2")
    parser.add_argument("--backends", default="fp32,int8-static", help="comma-separated; fp32 first")
    args = parser.parse_args()

    from rhetoric.corpus.documents import match_labels, read_labels, segment_folder
    from rhetoric.corpus.segment import normalize_paragraph
    from rhetoric.corpus.split import cv_folds, leakage_groups, train_test_split_grouped
    from rhetoric.encoders.embedding import resolve_model
    from rhetoric.encoders.factory import make_encoder
    from rhetoric.encoders.openvino_encoder import calibration_sample
    from rhetoric.model.features import feature_frame
    from rhetoric.model.sklearn_head import fit_selected
    from rhetoric.params import TrainParams, parse_labels, read_params

    raw = read_params(ROOT / "params.yaml")
    labels = list(parse_labels(raw["labels"]))
    params = TrainParams.from_dict(raw["train"])
    paragraphs, _ = segment_folder(ROOT / "data/documents", 5 << 20)
    labeled = match_labels(paragraphs, read_labels(ROOT / "data/labels.jsonl", labels), "labels.jsonl")
    groups = leakage_groups(labeled["doc"].tolist(), labeled["sha1"].tolist())
    train_idx, test_idx = train_test_split_grouped(labeled["label"], groups, params.test_size, params.seed)
    train, test = labeled.iloc[train_idx], labeled.iloc[test_idx]
    folds = cv_folds(train["label"].reset_index(drop=True), groups[train_idx], params.cv_folds, params.seed)
    dev = [json.loads(line) for line in (ROOT / "data/dev/labels.jsonl").read_text().splitlines() if line]
    given = [json.loads(line) for line in args.jsonl.read_text(encoding="utf-8").splitlines() if line.strip()]
    sets = {
        "test": (test["text"].tolist(), test["label"].tolist()),
        "dev": ([normalize_paragraph(r["text"]) for r in dev], [r["label"] for r in dev]),
        args.jsonl.name: ([normalize_paragraph(r["text"]) for r in given], [r["label"] for r in given]),
    }
    identity = resolve_model(args.encoder)
    calibration = calibration_sample(corpus_paragraphs())
    cache = Path(tempfile.mkdtemp(prefix="rhetoric-f1-"))
    results: dict[str, dict[str, float]] = {}
    given_vectors: dict[str, np.ndarray] = {}
    try:
        for backend in args.backends.split(","):
            encoder = make_encoder(identity, "cpu", backend, 32, cache / backend, calibration)
            texts = train["text"].tolist()
            X = feature_frame(texts, encoder.encode(texts), None)
            head, _ = fit_selected(params, X, train["label"].reset_index(drop=True), folds)
            results[backend] = {}
            for name, (set_texts, gold) in sets.items():
                vectors = encoder.encode(set_texts)
                if name == args.jsonl.name:
                    given_vectors[backend] = vectors
                metrics = score_rows(head, set_texts, vectors, gold, labels)["metrics"]
                results[backend][name] = metrics["f1_macro"]
            print(f"{backend}: {results[backend]}", file=sys.stderr)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    first = args.backends.split(",")[0]
    header = " | ".join(f"{name} macro-F1 | Δ to {first}" for name in sets)
    print(f"| {args.encoder} vectors from | {header} | cosine to {first} on {args.jsonl.name}: min / mean |")
    print("|---" * (1 + 2 * len(sets) + 1) + "|")
    for backend, scores in results.items():
        cells = " | ".join(f"{scores[n]:.4f} | {scores[n] - results[first][n]:+.4f}" for n in sets)
        cosine = (given_vectors[backend] * given_vectors[first]).sum(axis=1)
        print(f"| {backend} | {cells} | {cosine.min():.4f} / {cosine.mean():.4f} |")


if __name__ == "__main__":
    main()
