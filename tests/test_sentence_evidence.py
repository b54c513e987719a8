"""Sentence evidence from the paragraph's own encoder pass (encoders/sentence_spans.py).

`WordEncoder` is a real `WindowedEncoder` whose token states are hashed words: mean-pooling
a sentence's tokens then gives exactly the vector of the sentence encoded alone, so the
evidence from span pooling must equal labeling each sentence on its own: a check that
fails if spans, windows or offsets are off by anything.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_labeling_paths import TinyEncoder, card, fitted_pipeline

from rhetoric.corpus.segment import paragraph_sha1, sentences_of
from rhetoric.encoders.embedding import OnTokens, WindowedEncoder, cut_windows, pools_token_means
from rhetoric.encoders.sentence_spans import (
    no_evidence_key,
    pool_spans,
    sentence_keys,
    sentence_spans,
    spans_in_pieces,
)
from rhetoric.model.labeler import Labeler, PipelineHead
from rhetoric.model.prediction import label_rows
from rhetoric.vectors import VectorStore, embed_missing

PARAGRAPHS = [
    "Warm congratulations on the national day. We will continue to strengthen cooperation.",
    "Relations were established in 1961. Over 50 years the two countries stood together. "
    "We are ready to work with you.",
    "Best wishes to the friendly people.",
]


class WordEncoder(WindowedEncoder):
    """Token states are one-hot hashed words (TinyEncoder's), offsets their characters;
    `max_tokens` words per window. Counts the texts it runs."""

    def __init__(self, max_tokens: int = 1000, dimension: int = 16) -> None:
        self.max_tokens = max_tokens
        self.chunked = 0
        self.runs: list[str] = []
        self._dimension = dimension

    @property
    def dimension(self) -> int:
        return self._dimension

    def windows(self, texts: Sequence[str]) -> list[list[str]]:
        return [cut_windows(t, len(t.split()), self.max_tokens) for t in texts]

    def run(self, texts: Sequence[str], on_tokens: OnTokens | None = None) -> np.ndarray:
        self.runs += list(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            words = list(re.finditer(r"\S+", text))
            states = np.zeros((len(words), self.dimension), dtype=np.float32)
            for row, word in enumerate(words):
                states[row, zlib.crc32(word.group().lower().encode()) % self.dimension] = 1.0
            out[i] = states.sum(0) / max(float(np.linalg.norm(states.sum(0))), 1e-9)
            if on_tokens is not None:
                on_tokens(i, states, np.array([[w.start(), w.end()] for w in words]).reshape(-1, 2))
        return out


def labeler_with(encoder, lookup=None) -> Labeler:
    return Labeler(encoder, PipelineHead(fitted_pipeline(), False), card(), lookup)


def test_sentence_spans_are_the_sentences_in_the_text() -> None:
    text = PARAGRAPHS[1]
    assert [text[a:b] for a, b in sentence_spans(text)] == sentences_of(text)
    assert sentence_spans(PARAGRAPHS[2]) == []  # one sentence: its own evidence


def test_a_sentence_split_by_a_window_is_pooled_from_both_windows() -> None:
    text = "One two three. Four five six seven."
    pieces = ["One two three. Four", "five six seven."]
    located = spans_in_pieces(text, pieces, sentence_spans(text))
    assert located == [[(0, (0, 14)), (1, (15, 19))], [(1, (0, 15))]]


@pytest.mark.parametrize("max_tokens", [1000, 5, 3])  # whole texts, then windows of 5 and 3 words
def test_sentence_vectors_equal_the_sentences_encoded_alone(max_tokens: int) -> None:
    encoder = WordEncoder(max_tokens)
    vectors, groups = encoder.encode_with_sentences(PARAGRAPHS)
    np.testing.assert_allclose(vectors, WordEncoder(max_tokens).encode(PARAGRAPHS), atol=1e-6)
    for text, group in zip(PARAGRAPHS, groups, strict=True):
        alone = [text[a:b] for a, b in sentence_spans(text)]
        assert len(group) == len(alone)
        if alone:
            np.testing.assert_allclose(group, WordEncoder(1000).encode(alone), atol=1e-6)
    assert (encoder.chunked > 0) is (max_tokens < 20)


def test_evidence_is_each_sentence_labeled_as_if_alone() -> None:
    labeler = labeler_with(WordEncoder())
    evidence = labeler.sentence_evidence(PARAGRAPHS)
    assert evidence[2] == []
    for text, found in zip(PARAGRAPHS[:2], evidence[:2], strict=True):
        alone = labeler.label(sentences_of(text))
        assert [s for s, _ in found] == sentences_of(text)
        assert [got.label for _, got in found] == [a.label for a in alone]
        assert all(
            np.allclose(list(got.scores.values()), list(a.scores.values()), atol=1e-5)
            for (_, got), a in zip(found, alone, strict=True)
        )
    labels = {got.label for found in evidence for _, got in found}
    assert len(labels) > 1  # the sentences of a paragraph are not all labeled alike


def test_evidence_after_labeling_needs_no_second_encoder_pass() -> None:
    encoder = WordEncoder()
    labeler = labeler_with(encoder)
    labeler.keep_sentence_vectors()
    labeler.label(PARAGRAPHS)
    runs = len(encoder.runs)
    assert labeler.sentence_evidence(PARAGRAPHS)[0]
    assert len(encoder.runs) == runs


def test_an_encoder_without_token_states_gives_no_evidence() -> None:
    assert labeler_with(TinyEncoder()).sentence_evidence(PARAGRAPHS) == [[], [], []]


def test_the_store_keeps_sentence_vectors_and_fills_an_older_store(tmp_path: Path) -> None:
    table = pd.DataFrame({"sha1": [paragraph_sha1(t) for t in PARAGRAPHS], "text": PARAGRAPHS})
    store = VectorStore(tmp_path, "words")
    store.add(table["sha1"].tolist(), WordEncoder().encode(PARAGRAPHS))  # a store from before
    before = {sha: v.copy() for sha, v in zip(table["sha1"], store.find(table["sha1"].tolist()), strict=True)}
    filled = embed_missing(store, table, WordEncoder, progress=False)
    assert filled.embedded == 2  # the two paragraphs of several sentences
    for sha, text in zip(table["sha1"], PARAGRAPHS, strict=True):
        keys = sentence_keys(sha, text)
        assert len(keys) == len(sentence_spans(text)) and all(v is not None for v in store.find(keys))
        np.testing.assert_array_equal(store.find([sha])[0], before[sha])  # paragraph vector kept
    assert embed_missing(store, table, WordEncoder, progress=False).embedded == 0

    encoder = WordEncoder()
    labeler = labeler_with(encoder, store.find)
    assert labeler.sentence_evidence(PARAGRAPHS) == labeler_with(WordEncoder()).sentence_evidence(PARAGRAPHS)
    assert encoder.runs == []  # everything came from the store


def test_a_token_belongs_to_the_sentence_its_last_character_is_in() -> None:
    """SentencePiece tokens ("▁We") start at the space before them; special and padding
    tokens have no characters."""
    text = "We met. We left."
    offsets = np.array([[0, 0], [0, 2], [2, 6], [6, 7], [7, 10], [10, 15], [15, 16], [0, 0]])
    spans = spans_in_pieces(text, [text], sentence_spans(text))[0]
    _, counts = pool_spans(np.ones((8, 2)), offsets, spans, 2)
    assert counts.tolist() == [3, 3]


class TruncatingEncoder(WordEncoder):
    """Keeps only every text's first three words, as a tokenizer truncating at a window
    would: the later sentences get no token."""

    def run(self, texts, on_tokens=None):
        if on_tokens is None:
            return super().run(texts)
        return super().run(texts, lambda i, states, offsets: on_tokens(i, states[:3], offsets[:3]))


def test_a_paragraph_without_sentence_vectors_is_marked_and_not_encoded_again(tmp_path: Path) -> None:
    table = pd.DataFrame({"sha1": [paragraph_sha1(t) for t in PARAGRAPHS], "text": PARAGRAPHS})
    store = VectorStore(tmp_path, "words")
    assert embed_missing(store, table, TruncatingEncoder, progress=False).embedded == 3
    assert store.find([no_evidence_key(table["sha1"][0])])[0] is not None
    assert embed_missing(store, table, TruncatingEncoder, progress=False).embedded == 0
    encoder = WordEncoder()
    assert labeler_with(encoder, store.find).sentence_evidence(PARAGRAPHS) == [[], [], []]
    assert encoder.runs == []  # the mark says so: nothing is encoded to find out


def test_labeling_with_evidence_holds_no_sentence_vectors_after_a_batch() -> None:
    labeler = labeler_with(WordEncoder())
    labeler.keep_sentence_vectors()
    rows = [{"doc": "d", "idx": i, "text": t} for i, t in enumerate(PARAGRAPHS)]
    labeled = list(label_rows(labeler, rows, batch_size=2, evidence=True))
    assert [len(r["sentences"]) for r in labeled] == [2, 3, 0]
    assert labeler.sentence_vectors == {}


class Transformer: ...


class Pooling:
    def __init__(self, mode: str) -> None:
        self.pooling_mode = mode


class Dense: ...


class Normalize: ...


class Stack(list):
    tokenizer = type("Fast", (), {"is_fast": True})()


@pytest.mark.parametrize(
    ("modules", "pools"),
    [
        ([Transformer(), Pooling("mean"), Normalize()], True),
        ([Transformer(), Pooling("mean")], True),
        ([Transformer(), Pooling("cls"), Normalize()], False),
        ([Transformer(), Pooling("mean"), Dense(), Normalize()], False),
    ],
)
def test_only_a_mean_pooled_model_gives_sentence_vectors(modules: list, pools: bool) -> None:
    assert pools_token_means(Stack(modules)) is pools


@pytest.mark.slow
def test_torch_and_onnx_encoders_give_the_same_sentence_vectors(tmp_path: Path) -> None:
    from rhetoric.encoders.embedding import Encoder, resolve_model
    from rhetoric.encoders.onnx_encoder import OnnxEncoder, ensure_onnx_model

    identity = resolve_model("all-MiniLM-L6-v2")
    long = " ".join(f"The bridge of {n} stands. We will keep it." for n in range(80))  # cut into windows
    texts = [*PARAGRAPHS, long]
    torch_vectors, torch_groups = Encoder(identity, "cpu", "fp32").encode_with_sentences(texts)
    onnx = OnnxEncoder(ensure_onnx_model(identity, tmp_path / "onnx", "onnx"))
    onnx_vectors, onnx_groups = onnx.encode_with_sentences(texts)
    np.testing.assert_allclose(onnx_vectors, torch_vectors, atol=1e-4)
    assert [len(g) for g in torch_groups] == [2, 3, 0, 160]
    for a, b in zip(onnx_groups, torch_groups, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-4)
    assert onnx.chunked == 1


def test_predict_says_why_a_report_has_no_sentence_evidence() -> None:
    from rhetoric.stages.predict import evidence_summary

    several = {"text": PARAGRAPHS[0], "sentences": []}
    assert evidence_summary([several]).startswith("no sentence evidence")
    one_sentence = {"text": PARAGRAPHS[2], "sentences": []}
    assert evidence_summary([one_sentence]) == "0 sentences labeled for the report"
    labeled = {"text": PARAGRAPHS[0], "sentences": [{"text": "a"}, {"text": "b"}]}
    assert evidence_summary([labeled, several]) == "2 sentences labeled for the report"
