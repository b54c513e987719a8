"""A linear head (paragraph vector and TF-IDF words into logistic regression) as plain arrays.

Predicting one document must not pay for importing scikit-learn and skops (about 1.3 s
of a 1.5 s budget), and for a linear head it need not: the whole computation is a regex,
a sparse dot product and a softmax. This is our own code because no library fits:
skl2onnx can convert the pipeline, but its TF-IDF tokenizer is not scikit-learn's, so its
probabilities would differ. `LinearHead.from_pipeline` refuses any head it cannot
reproduce exactly, and the tests compare it with the skops head on the whole corpus.

Saved as `head.json` (labels, vocabulary, analyzer settings) and `head.npz` (idf, weights),
loaded with `allow_pickle=False`.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rhetoric.errors import ModelError
from rhetoric.io import atomic_path, write_json

JSON_FILE = "head.json"
ARRAYS_FILE = "head.npz"

# The TfidfVectorizer settings this module reproduces; a head fitted otherwise is not exported.
_TFIDF_SETTINGS = {
    "analyzer": "word",
    "binary": False,
    "input": "content",
    "lowercase": True,
    "norm": "l2",
    "preprocessor": None,
    "stop_words": None,
    "strip_accents": None,
    "tokenizer": None,
    "use_idf": True,
}


@dataclass(frozen=True)
class LinearHead:
    """Logistic regression over [paragraph vector | TF-IDF of word n-grams], in that order."""

    classes: list[str]
    dimension: int  # width of the paragraph vector block (0: no vector block)
    vocabulary: dict[str, int]  # term -> column inside the TF-IDF block
    idf: np.ndarray
    coef: np.ndarray  # (n_classes or 1, dimension + len(vocabulary))
    intercept: np.ndarray
    token_pattern: str
    ngram_range: tuple[int, int]
    sublinear_tf: bool

    def term_weights(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Columns and l2-normalized TF-IDF weights of the text's known n-grams.

        >>> head = LinearHead(["a", "b"], 0, {"we": 0, "will": 1, "we will": 2}, np.ones(3),
        ...                   np.zeros((1, 3)), np.zeros(1), r"(?u)\\b\\w\\w+\\b", (1, 2), False)
        >>> columns, weights = head.term_weights("We will, we will.")
        >>> columns.tolist(), round(float((weights ** 2).sum()), 6)
        ([0, 1, 2], 1.0)
        """
        tokens = re.findall(self.token_pattern, text.lower())
        low, high = self.ngram_range
        counts: Counter[int] = Counter()
        for n in range(low, high + 1):
            for start in range(len(tokens) - n + 1):
                column = self.vocabulary.get(" ".join(tokens[start : start + n]))
                if column is not None:
                    counts[column] += 1
        columns = np.fromiter(sorted(counts), dtype=np.int64, count=len(counts))
        tf = np.array([counts[c] for c in columns], dtype=np.float64)
        if self.sublinear_tf:
            tf = np.log(tf) + 1.0
        weights = tf * self.idf[columns]
        norm = math.sqrt(float(weights @ weights))
        return columns, weights / norm if norm > 0 else weights

    def decision(self, texts: Sequence[str], vectors: np.ndarray | None) -> np.ndarray:
        """The logistic regression's decision function, one row per text."""
        scores = np.tile(self.intercept, (len(texts), 1)).astype(np.float64)
        if self.dimension:
            if vectors is None or vectors.shape != (len(texts), self.dimension):
                found = None if vectors is None else vectors.shape
                raise ModelError(f"the head needs {self.dimension}-wide paragraph vectors, got {found}.")
            scores += vectors.astype(np.float64) @ self.coef[:, : self.dimension].T
        if self.vocabulary:
            words = self.coef[:, self.dimension :]
            for row, text in enumerate(texts):
                columns, weights = self.term_weights(text)
                scores[row] += words[:, columns] @ weights
        return scores

    def predict_proba(
        self, texts: Sequence[str], vectors: np.ndarray | Callable[[Sequence[str]], np.ndarray] | None
    ) -> np.ndarray:
        """Probabilities with columns in `classes` order, as scikit-learn computes them.

        `vectors` are the paragraph vectors, or a function computing them, called only when
        the head has a vector block (the `labeler.Head` protocol): a TF-IDF-only head never
        loads an encoder."""
        if callable(vectors):
            vectors = vectors(texts) if self.dimension else None
        scores = self.decision(texts, vectors)
        if scores.shape[1] == 1:  # binary: one logit for the second class
            positive = 1.0 / (1.0 + np.exp(-scores[:, 0]))
            return np.column_stack([1.0 - positive, positive])
        scores -= scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        return exp / exp.sum(axis=1, keepdims=True)

    @classmethod
    def from_pipeline(cls, head: Any) -> LinearHead | None:
        """The same head as arrays, or None when `head` is not one this module reproduces
        exactly (cue or sentence features, another classifier, calibration)."""
        from sklearn.compose import ColumnTransformer
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline

        if not isinstance(head, Pipeline) or len(head.steps) != 2:
            return None
        features, classifier = head.steps[0][1], head.steps[1][1]
        if not isinstance(features, ColumnTransformer) or not isinstance(classifier, LogisticRegression):
            return None
        if getattr(classifier, "multi_class", "auto") not in ("auto", "deprecated", "multinomial"):
            return None
        if len(classifier.classes_) > 2 and classifier.solver == "liblinear":
            return None  # one-vs-rest probabilities
        blocks = [(name, part) for name, part, _ in features.transformers_ if name != "remainder"]
        names = [name for name, _ in blocks]
        if names not in (["embedding"], ["tfidf"], ["embedding", "tfidf"]):
            return None
        dimension = features.output_indices_["embedding"].stop if "embedding" in names else 0
        vocabulary: dict[str, int] = {}
        idf = np.zeros(0)
        pattern, ngrams, sublinear = r"(?u)\b\w\w+\b", (1, 1), False
        if "tfidf" in names:
            tfidf = dict(blocks)["tfidf"]
            settings = tfidf.get_params()
            if not isinstance(tfidf, TfidfVectorizer) or any(
                settings[k] != v for k, v in _TFIDF_SETTINGS.items()
            ):
                return None
            vocabulary = {str(term): int(column) for term, column in tfidf.vocabulary_.items()}
            idf = np.asarray(tfidf.idf_, dtype=np.float64)
            pattern, ngrams, sublinear = tfidf.token_pattern, tuple(tfidf.ngram_range), tfidf.sublinear_tf
        return cls(
            classes=[str(c) for c in classifier.classes_],
            dimension=dimension,
            vocabulary=vocabulary,
            idf=idf,
            coef=np.asarray(classifier.coef_, dtype=np.float64),
            intercept=np.asarray(classifier.intercept_, dtype=np.float64),
            token_pattern=pattern,
            ngram_range=(int(ngrams[0]), int(ngrams[1])),
            sublinear_tf=bool(sublinear),
        )

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(folder / ARRAYS_FILE) as tmp, open(tmp, "wb") as handle:
            np.savez(handle, idf=self.idf, coef=self.coef, intercept=self.intercept)
        terms = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        write_json(
            folder / JSON_FILE,
            {
                "classes": self.classes,
                "dimension": self.dimension,
                "terms": terms,
                "token_pattern": self.token_pattern,
                "ngram_range": list(self.ngram_range),
                "sublinear_tf": self.sublinear_tf,
            },
        )

    @classmethod
    def load(cls, folder: Path) -> LinearHead:
        """The head saved in `folder`; a one-line ModelError naming the file when anything in
        it is missing, of the wrong type or shape, or not a finite number."""
        json_file, arrays_file = folder / JSON_FILE, folder / ARRAYS_FILE

        def fail(path: Path, problem: str) -> ModelError:
            return ModelError(
                f"{path}: the exported head is damaged ({problem}); re-export it with `dvc repro` "
                "(or `rhetoric package`)."
            )

        try:
            meta = json.loads(json_file.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError) as error:
            raise fail(json_file, type(error).__name__) from None
        try:
            with np.load(arrays_file, allow_pickle=False) as arrays:
                idf, coef, intercept = (np.asarray(arrays[k]) for k in ("idf", "coef", "intercept"))
        except (OSError, KeyError, ValueError, EOFError) as error:
            raise fail(arrays_file, f"{type(error).__name__}: {error}") from None
        try:
            head = cls(
                classes=[str(c) for c in _typed(meta["classes"], list)],
                dimension=int(_typed(meta["dimension"], int)),
                vocabulary={str(term): column for column, term in enumerate(_typed(meta["terms"], list))},
                idf=idf,
                coef=coef,
                intercept=intercept,
                token_pattern=_typed(meta["token_pattern"], str),
                ngram_range=(int(meta["ngram_range"][0]), int(meta["ngram_range"][1])),
                sublinear_tf=bool(_typed(meta["sublinear_tf"], bool)),
            )
            re.compile(head.token_pattern)
        except (KeyError, IndexError, TypeError, ValueError, re.error) as error:
            raise fail(json_file, f"{type(error).__name__}: {error}") from None
        problem = head.shape_problem()
        if problem:
            raise fail(arrays_file, problem)
        return head

    def shape_problem(self) -> str:
        """What is inconsistent between the arrays and the metadata, or "" when nothing is."""
        rows = 1 if len(self.classes) == 2 else len(self.classes)
        width = self.dimension + len(self.vocabulary)
        expected = {"coef": (rows, width), "intercept": (rows,), "idf": (len(self.vocabulary),)}
        for name, shape in expected.items():
            array = getattr(self, name)
            if array.dtype.kind not in "fiu" or array.shape != shape:
                return f"{name} has shape {array.shape} ({array.dtype}), expected {shape} of numbers"
            if not np.isfinite(array).all():
                return f"{name} holds NaN or infinite values"
        if len(self.classes) < 2 or self.dimension < 0 or not 1 <= self.ngram_range[0] <= self.ngram_range[1]:
            return "classes, dimension or ngram_range out of range"
        return ""


def _typed(value: Any, kind: type) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")
    return value
