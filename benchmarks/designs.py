"""Compare model designs on real text: encoder x corpus slices x features, one row each.

    python benchmarks/designs.py --realdev /tmp/realdev.jsonl \
        --encoder all-MiniLM-L6-v2 --encoder all-mpnet-base-v2 \
        --corpus all --corpus before-l --features embedding,tfidf --features embedding

For each design it trains the head exactly as the `train` stage does (same grouped split
and CV, params.yaml's classifier and grid), then scores the held-out test documents,
data/dev and the real-text set (macro-F1, per class, per `source_kind`). Corpus vectors
come from the project's vector store (embedding what is missing into it, as `embed`
would); vectors of the real-text set are kept only in memory, so nothing derived from
third-party text is written into the project. `--corpus before-l` drops the slices `l`-`t`
written for real text, `before-r` only the second round `r`-`t`, to measure what they bring. Writes one JSON line per design to
`--output` (default: standard output) and a Markdown table to standard error.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
ROUND_1 = tuple("lmnopq")  # slices written for real text, first round
ROUND_2 = tuple("rst")  # second round


def vectors_for(texts: list[str], encoder: Any, store: Any | None) -> np.ndarray:
    """Vectors of `texts` from the store where there, encoded (and stored) otherwise."""
    from rhetoric.corpus.segment import paragraph_sha1

    if store is None:
        return encoder.encode(texts)
    sha1s = [paragraph_sha1(t) for t in texts]
    known = store.known()
    missing = sorted({s: t for s, t in zip(sha1s, texts, strict=True) if s not in known}.items())
    if missing:
        store.add([s for s, _ in missing], encoder.encode([t for _, t in missing]))
    return np.asarray(store.lookup(sha1s), dtype=np.float32)


def score_rows(head: Any, texts: list[str], vectors: np.ndarray, gold: list[str], labels: list[str]) -> dict:
    from rhetoric.evaluation.metrics import classification_metrics
    from rhetoric.model.features import feature_frame

    proba = head.predict_proba(feature_frame(texts, vectors, None))
    classes = list(head.classes_)
    predicted = [classes[i] for i in proba.argmax(axis=1)]
    return {"metrics": classification_metrics(gold, predicted, labels), "predicted": predicted}


def run_design(encoder_name: str, corpus: str, features: list[str], realdev: list[dict], args) -> dict:
    from rhetoric.corpus.documents import match_labels, read_labels
    from rhetoric.corpus.segment import normalize_paragraph
    from rhetoric.corpus.split import cv_folds, leakage_groups, train_test_split_grouped
    from rhetoric.encoders.embedding import choose_torch_backend, resolve_model, store_key
    from rhetoric.encoders.factory import make_encoder
    from rhetoric.encoders.openvino_encoder import calibration_sample
    from rhetoric.evaluation.metrics import per_group_metrics
    from rhetoric.model.sklearn_head import fit_selected
    from rhetoric.params import TrainParams, parse_labels, read_params
    from rhetoric.vectors import VectorStore

    raw = read_params(ROOT / "params.yaml")
    labels = list(parse_labels(raw["labels"]))
    train_raw = dict(raw["train"], features=features)
    params = TrainParams.from_dict(train_raw)
    identity = resolve_model(encoder_name)
    # The backend `rhetoric embed` settled on for this encoder (its store's vectors are
    # reused), else the torch one: `auto`'s int8-static may have fallen back there.
    manifest_file = ROOT / "data" / "embedding.json"
    manifest = json.loads(manifest_file.read_text()) if manifest_file.is_file() else {}
    same_encoder = manifest.get("embedder", {}).get("weights_sha256") == identity.weights_sha256
    backend = manifest["backend"] if same_encoder else choose_torch_backend("cpu")
    paragraphs = pd.read_parquet(ROOT / "data" / "paragraphs.parquet")
    store = VectorStore(ROOT / "data" / "vectors", store_key(identity, backend))
    # int8-static: the store's quantized encoder, or one calibrated as `rhetoric embed` does.
    calibration = calibration_sample(zip(paragraphs["sha1"], paragraphs["text"], strict=True))
    cache = store.encoder_folder if backend == "int8-static" else args.onnx_cache
    encoder = make_encoder(identity, "cpu", backend, 32, cache, calibration)
    labeled = match_labels(paragraphs, read_labels(ROOT / "data" / "labels.jsonl", labels), "labels.jsonl")
    if corpus in ("before-l", "before-r"):
        dropped = ROUND_1 + ROUND_2 if corpus == "before-l" else ROUND_2
        labeled = labeled[~labeled["doc"].str.startswith(dropped)].reset_index(drop=True)
    groups = leakage_groups(labeled["doc"].tolist(), labeled["sha1"].tolist())
    train_idx, test_idx = train_test_split_grouped(labeled["label"], groups, params.test_size, params.seed)
    train = labeled.iloc[train_idx].reset_index(drop=True)
    test = labeled.iloc[test_idx].reset_index(drop=True)
    folds = cv_folds(train["label"], groups[train_idx], params.cv_folds, params.seed)
    from rhetoric.model.features import feature_frame

    started = time.perf_counter()
    X = feature_frame(train["text"].tolist(), vectors_for(train["text"].tolist(), encoder, store), None)
    head, search = fit_selected(params, X, train["label"], folds)
    train_seconds = time.perf_counter() - started
    result: dict[str, Any] = {
        "encoder": encoder_name,
        "corpus": corpus,
        "features": "+".join(features),
        "classifier": params.classifier,
        "best": search["best_params"],
        "cv_f1_macro": search["cv_f1_macro"],
        "train_paragraphs": len(train),
        "train_seconds": round(train_seconds, 1),
    }
    test_texts = test["text"].tolist()
    result["test"] = score_rows(
        head, test_texts, vectors_for(test_texts, encoder, store), test["label"].tolist(), labels
    )["metrics"]
    dev = [json.loads(line) for line in (ROOT / "data" / "dev" / "labels.jsonl").read_text().splitlines()]
    dev_texts = [normalize_paragraph(r["text"]) for r in dev]
    result["dev"] = score_rows(
        head, dev_texts, vectors_for(dev_texts, encoder, store), [r["label"] for r in dev], labels
    )["metrics"]
    real_texts = [normalize_paragraph(r["text"]) for r in realdev]
    started = time.perf_counter()
    real_vectors = vectors_for(real_texts, encoder, None)
    result["embed_paragraphs_per_s"] = round(len(real_texts) / (time.perf_counter() - started), 1)
    gold = [r["label"] for r in realdev]
    scored = score_rows(head, real_texts, real_vectors, gold, labels)
    result["realdev"] = scored["metrics"]
    sources = [
        r["source_kind"].split("_")[0] if "_" in r["source_kind"] else r["source_kind"] for r in realdev
    ]
    sources = [
        {"id": "id/th/ph", "th": "id/th/ph", "ph": "id/th/ph", "us": "us_wh"}.get(s, s) for s in sources
    ]
    result["realdev_by_source"] = {
        k: round(v["f1_macro"], 3)
        for k, v in per_group_metrics(sources, gold, scored["predicted"], labels).items()
    }
    return result


def markdown_row(r: dict) -> str:
    per_class = " / ".join(f"{r['realdev']['per_class'][k]['f1']:.2f}" for k in r["realdev"]["per_class"])
    sources = ", ".join(f"{k} {v:.2f}" for k, v in r["realdev_by_source"].items())
    return (
        f"| {r['encoder']} | {r['corpus']} | {r['features']} | **{r['realdev']['f1_macro']:.3f}** | {per_class} | "
        f"{sources} | {r['test']['f1_macro']:.3f} | {r['dev']['f1_macro']:.3f} | {r['train_seconds']:.0f} s | "
        f"{r['embed_paragraphs_per_s']:.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--realdev", type=Path, required=True, help="materialized real-text set (JSONL)")
    parser.add_argument("--encoder", action="append", required=True)
    parser.add_argument("--corpus", action="append", choices=["all", "before-l", "before-r"], default=None)
    parser.add_argument(
        "--features", action="append", default=None, help="comma-separated, e.g. embedding,tfidf"
    )
    parser.add_argument("--onnx-cache", type=Path, default=ROOT / "data" / "vectors" / "onnx-cache")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    realdev = [
        json.loads(line) for line in args.realdev.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    out = args.output.open("a", encoding="utf-8") if args.output else sys.stdout
    rows = []
    for encoder in args.encoder:
        for corpus in args.corpus or ["all"]:
            for features in args.features or ["embedding,tfidf"]:
                r = run_design(encoder, corpus, features.split(","), realdev, args)
                out.write(json.dumps(r) + "\n")
                out.flush()
                rows.append(r)
                print(markdown_row(r), file=sys.stderr, flush=True)
    print(
        "| encoder | corpus | features | realdev macro-F1 | per class (g / h / f / o) | per source | "
        "test | dev | train | embed par/s |",
        file=sys.stderr,
    )
    for r in rows:
        print(markdown_row(r), file=sys.stderr)


if __name__ == "__main__":
    main()
