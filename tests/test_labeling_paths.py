"""One labeling path: predict, evaluate, annotate's queue and the MLflow pyfunc give the same
labels and scores for the same texts (a tiny injected encoder, a small trained head)."""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from rhetoric.errors import ModelError
from rhetoric.evaluation.results import score
from rhetoric.labeling.annotation import queue_for_labeling, uncertainty
from rhetoric.model.card import EncoderRef, EncodingRecipe, ModelCard
from rhetoric.model.features import feature_frame
from rhetoric.model.folder import ModelFolder
from rhetoric.model.labeler import LabeledParagraph, Labeler, PipelineHead
from rhetoric.model.linear_head import LinearHead
from rhetoric.model.prediction import label_rows
from rhetoric.model.sklearn_head import fit_selected, save_head
from rhetoric.params import TrainParams

LABELS = ["greeting", "historical_claim", "future_commitment", "other"]
TRAIN = {
    "greeting": [
        "We extend warm congratulations on your national day.",
        "Best wishes to the friendly people.",
    ],
    "historical_claim": [
        "Relations were established in 1961.",
        "Over 50 years the two countries stood together.",
    ],
    "future_commitment": ["We will continue to strengthen cooperation.", "We are ready to work with you."],
    "other": ["Over 200 guests attended the reception.", "HANOI, May 2 (VNA) --"],
}
# Messy whitespace on purpose: every path must see the same normalized text.
TEXTS = [
    "  We will   continue to\nsupport  cooperation. ",
    "Warm congratulations\t on the national day.",
    "Relations were established in 1957.",
    "The guests attended the dinner.",
]


class TinyEncoder:
    """Unit vectors from hashed words: deterministic, instant, and counts its calls."""

    def __init__(self, dimension: int = 16) -> None:
        self.dimension = dimension
        self.calls = 0

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                out[row, zlib.crc32(word.encode()) % self.dimension] += 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


def card() -> ModelCard:
    return ModelCard(
        labels=tuple(LABELS),
        embedder=EncoderRef("tiny", "/tiny", "0" * 64),
        embed_params=EncodingRecipe("fp32", 32, "tiny-000000000000-fp32"),
        train_params={"features": ["embedding", "tfidf"]},
        data_digest="0" * 64,
        counts={},
        train_docs=(),
        test_docs=(),
        selection={"cv_f1_macro": 0.0, "cv_f1_macro_std": 0.0},
    )


def fitted_pipeline(features: Sequence[str] = ("embedding", "tfidf")) -> Any:
    """A small head trained on TinyEncoder vectors."""
    texts = [t for label in LABELS for t in TRAIN[label]] * 3
    y = [label for label in LABELS for _ in TRAIN[label]] * 3
    X = feature_frame(texts, TinyEncoder().encode(texts))
    folds = [(np.arange(24)[np.arange(24) % 2 != k], np.arange(24)[np.arange(24) % 2 == k]) for k in range(2)]
    params = TrainParams.from_dict({"features": list(features), "hyperparameters": {"C": 10.0}})
    return fit_selected(params, X, y, folds)[0]


@pytest.fixture(scope="module", params=["skops pipeline", "exported linear head"])
def labeler(request: pytest.FixtureRequest) -> Labeler:
    pipeline = fitted_pipeline()
    head = (
        PipelineHead(pipeline, False)
        if request.param == "skops pipeline"
        else LinearHead.from_pipeline(pipeline)
    )
    return Labeler(TinyEncoder(), head, card())


def close(a: LabeledParagraph, b: LabeledParagraph) -> bool:
    return (
        a.label == b.label
        and list(a.scores) == list(b.scores)
        and np.allclose(list(a.scores.values()), list(b.scores.values()), atol=1e-6)
    )


def test_all_four_paths_agree(labeler: Labeler) -> None:
    from rhetoric.tracking.serving import ParagraphClassifier

    expected = labeler.label(TEXTS)
    assert len({r.label for r in expected}) > 1  # the texts are not all labeled alike

    rows = [{"doc": "d", "idx": i, "text": t} for i, t in enumerate(TEXTS)]
    predicted = list(label_rows(labeler, rows, batch_size=3))
    written = [json.loads(json.dumps(row)) for row in predicted]  # as predict's JSONL holds them
    from_predict = [LabeledParagraph.from_row(r, "predict") for r in written]

    scores = score(labeler, TEXTS, [r.label for r in expected], bins=5)
    assert list(scores.predictions["predicted"]) == [r.label for r in expected]

    queue = queue_for_labeling(written, labeled=set())
    assert [uncertainty(r["scores"]) for r in queue] == sorted(
        (uncertainty(r["scores"]) for r in queue), reverse=True
    )
    from_annotate = sorted((LabeledParagraph.from_row(r, "queue") for r in queue), key=lambda r: r.label)

    frame = ParagraphClassifier(labeler).predict(None, pd.DataFrame({"text": TEXTS}))
    from_pyfunc = [
        LabeledParagraph(row["label"], {label: float(row[f"p_{label}"]) for label in LABELS})
        for row in frame.to_dict("records")
    ]

    for path in (from_predict, scores.results, from_pyfunc):
        assert all(close(ours, theirs) for ours, theirs in zip(path, expected, strict=True))
    assert all(
        close(a, b) for a, b in zip(from_annotate, sorted(expected, key=lambda r: r.label), strict=True)
    )
    assert [r["text"] for r in predicted] == TEXTS  # the input rows are kept as given


def test_whitespace_is_normalized_inside_the_labeler(labeler: Labeler) -> None:
    messy = labeler.predict_proba(["  We will\n\ncontinue  to support cooperation. "])
    clean = labeler.predict_proba(["We will continue to support cooperation."])
    np.testing.assert_array_equal(messy, clean)


def test_cached_vectors_spare_the_encoder() -> None:
    pipeline = fitted_pipeline(["embedding"])
    encoder = TinyEncoder()
    cached = dict(zip(TEXTS, TinyEncoder().encode(TEXTS), strict=True))
    from rhetoric.corpus.segment import normalize_paragraph, paragraph_sha1

    by_sha = {paragraph_sha1(normalize_paragraph(t)): v for t, v in cached.items()}
    labeler = Labeler(
        encoder, PipelineHead(pipeline, False), card(), lookup=lambda shas: [by_sha.get(s) for s in shas]
    )
    labeler.label(TEXTS)
    assert encoder.calls == 0
    labeler.label(["A paragraph the store has never seen."])
    assert encoder.calls == 1


def test_a_model_trained_on_onnx_vectors_is_given_its_onnx_cache(tmp_path: Path) -> None:
    from rhetoric.tracking.serving import ParagraphClassifier

    folder = ModelFolder(tmp_path / "model")
    save_head(fitted_pipeline(), folder.head_file)
    onnx_card = replace(card(), embed_params=EncodingRecipe("int8", 32, "tiny-000000000000-int8-matmul-7bit"))
    folder.write_card(onnx_card)
    with pytest.raises(ModelError, match="no current package"):
        Labeler.load(folder.root)  # no package, no store, no cache: refused, nothing hidden in $TMP
    assert Labeler.load(folder.root, store=tmp_path / "vectors").card == onnx_card
    model = ParagraphClassifier()
    model.load_context(SimpleNamespace(artifacts={"card": str(folder.card_file)}, model_config={}))
    assert model.labeler is not None and model.labeler.card == onnx_card
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # nothing exported until used
