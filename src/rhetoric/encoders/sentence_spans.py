"""Sentence vectors from the paragraph's own encoder pass: token states mean-pooled over
each sentence's characters.

Labeling every sentence on its own (a second encoder pass over ~70% of the paragraphs'
words) made the report's sentence evidence cost as much as embedding the corpus. The
encoder already computes one state per token for the paragraph; pooling the tokens that
fall inside a sentence, as the model's own mean pooling does for the whole text, gives a
vector per sentence at no extra encoder cost. Those vectors carry some of the paragraph's
context: on 319 sentences of 120 corpus paragraphs the head gave 89% of them the same
label as the sentences embedded alone (benchmarks/sentence_evidence.py; README: Sentence
evidence). No library offers
span pooling over windowed texts, hence these few functions of our own.

A text cut into windows (longer than the model's window) is pooled across its windows: a
sentence's vector is the mean of its tokens in every window that holds some of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rhetoric.corpus.segment import sentences_of

Span = tuple[int, int]


def sentence_key(paragraph_sha1: str, span: Span) -> str:
    """The vector store's key of the sentence at characters `span` of a paragraph: by span,
    not by number, so a changed sentence splitter misses rather than reuses a vector."""
    return f"{paragraph_sha1}:{span[0]}-{span[1]}"


def no_evidence_key(paragraph_sha1: str) -> str:
    """The store's mark that a paragraph was encoded and has no sentence vectors (a sentence
    got no token), so the embed stage does not encode it again and again."""
    return f"{paragraph_sha1}:none"


def sentence_keys(paragraph_sha1: str, text: str) -> list[str]:
    """The store keys of the text's sentence vectors; [] for a text of one sentence."""
    return [sentence_key(paragraph_sha1, span) for span in sentence_spans(text)]


def sentence_spans(text: str) -> list[Span]:
    """Character spans of the text's sentences; [] for a text of one sentence (its own
    evidence) or where a sentence cannot be found verbatim in the text.

    >>> sentence_spans("We met in 1961. We will continue.")
    [(0, 15), (16, 33)]
    >>> sentence_spans("One sentence only.")
    []
    """
    sentences = sentences_of(text)
    if len(sentences) < 2:
        return []
    spans: list[Span] = []
    cursor = 0
    for sentence in sentences:
        start = text.find(sentence, cursor)
        if start < 0:
            return []
        cursor = start + len(sentence)
        spans.append((start, cursor))
    return spans


def spans_in_pieces(text: str, pieces: Sequence[str], spans: Sequence[Span]) -> list[list[tuple[int, Span]]]:
    """For each piece (the text itself, or its word windows in order), the sentences that
    overlap it as (sentence index, span in the piece's own characters).

    >>> spans_in_pieces("a b. c d.", ["a b.", "c d."], [(0, 4), (5, 9)])
    [[(0, (0, 4))], [(1, (0, 4))]]
    """
    located: list[list[tuple[int, Span]]] = []
    cursor = 0
    for piece in pieces:
        start = text.find(piece, cursor)
        if start < 0:  # a window that is not verbatim text: it contributes to no sentence
            located.append([])
            continue
        end = start + len(piece)
        cursor = end
        located.append(
            [
                (k, (max(a, start) - start, min(b, end) - start))
                for k, (a, b) in enumerate(spans)
                if a < end and b > start
            ]
        )
    return located


def pool_spans(
    tokens: np.ndarray, offsets: np.ndarray, spans: Sequence[tuple[int, Span]], n_sentences: int
) -> tuple[np.ndarray, np.ndarray]:
    """Sums and counts of the token states (`tokens`, one row per real token, `offsets` its
    characters in the piece) that lie inside each span, indexed by sentence.

    >>> offsets = np.array([[0, 2], [3, 4], [5, 7]])
    >>> sums, counts = pool_spans(np.eye(3), offsets, [(0, (0, 4)), (1, (5, 7))], 2)
    >>> sums.tolist(), counts.tolist()
    ([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]], [2, 1])
    """
    sums = np.zeros((n_sentences, tokens.shape[1]), dtype=np.float64)
    counts = np.zeros(n_sentences, dtype=np.int64)
    for k, (a, b) in spans:
        # By its last character: a SentencePiece token's offsets include the space before it.
        inside = (offsets[:, 1] > a) & (offsets[:, 1] <= b) & (offsets[:, 1] > offsets[:, 0])
        sums[k] += tokens[inside].sum(axis=0)
        counts[k] += int(inside.sum())
    return sums, counts


@dataclass
class SpanPool:
    """One text's sentence sums and token counts, filled piece by piece."""

    sums: np.ndarray
    counts: np.ndarray

    @classmethod
    def empty(cls, n_sentences: int, dimension: int) -> SpanPool:
        return cls(np.zeros((n_sentences, dimension)), np.zeros(n_sentences, dtype=np.int64))

    def add(self, sums: np.ndarray, counts: np.ndarray) -> None:
        self.sums += sums
        self.counts += counts

    def vectors(self) -> np.ndarray:
        """Unit vectors, one per sentence; none at all if a sentence got no token (the text
        then has no sentence evidence rather than a made-up one)."""
        if not len(self.counts) or (self.counts == 0).any():
            return np.zeros((0, self.sums.shape[1]), dtype=np.float32)
        means = self.sums / self.counts[:, None]
        return (means / np.linalg.norm(means, axis=1, keepdims=True)).astype(np.float32)
