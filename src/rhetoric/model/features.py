"""What the classifier sees of a paragraph: its embedding, lexical cues and words.

The guideline decides a label by which function dominates the paragraph and by a
tie-break, and its signals are mostly lexical ("will", "congratulations", "in 1961").
A single pooled vector blurs those, so the cue features count, sentence by sentence,
how much of the paragraph performs each function.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, clone

from rhetoric.corpus.segment import paragraph_sentences, sentences_of

TEXT_COLUMN = "text"


CUES: dict[str, str] = {
    # future_commitment: pledges, readiness, calls, agreements (rules 3, 4, 6)
    "modal_future": r"\b(will|shall|would like to|wish to|intends? to|going to|is to|are to)\b",
    "readiness": r"\b(ready to|stands? ready|willing(ness)? to|readiness|prepared to|determined to|"
    r"committed to|commitment to|resolved to|aim(s|ed)? to|plan(s|ned)? to|seek(s)? to)\b",
    "continuation": r"\b(continue[sd]? to|keep on|further (deepen|strengthen|expand|promote|develop)|"
    r"remain(s)? (committed|ready|firm)|from now on|going forward|in the (future|years ahead|coming years)|"
    r"next (year|round|meeting|session)|look(s|ing)? forward)\b",
    "obligation": r"\b(must|should|need(s)? to|it is (necessary|important|imperative|essential) to|"
    r"of great significance to)\b",
    "call": r"\b(call(s|ed)? (on|upon|for)|urge[sd]?|appeal(s|ed)? to|invite[sd]? .{0,30} to join)\b",
    "agreement": r"\b(agreed|agree|reaffirm(ed|s)?|reiterat(ed|es)|pledged?|vow(ed|s)?|undert(ook|ake)|"
    r"reached (a |an )?(consensus|agreement|understanding)|decided|endorsed|adopted|"
    # documents signed during the talks being reported (rule 6), not a treaty signed in 1961
    r"signed .{0,60}(during|at|on the sidelines of) (the|their|these|today's) "
    r"(talks|visit|meeting|summit))\b",
    "support_pledge": r"\b(firmly supports?|will support|support(s)? .{0,40} in (its|their|his|her) efforts|"
    r"stand(s)? with|side by side)\b",
    # greeting: courtesy acts, wishes about the partner's own future, thanks, ceremonies (rules 3, 5, 7)
    "congratulation": r"\b(congratulat\w*|felicitations?|greetings?|salute[sd]?|cordial|heartiest|"
    r"warm(est)? (greetings|wishes|congratulations))\b",
    "wish": r"\b(wish(es|ed|ing)?|best wishes|good wishes|may .{0,40} (prosper|flourish|succeed)|"
    r"prosperity|happiness|good health|well-being|every success|greater (victories|achievements|success))\b",
    "thanks": r"\b(thank(s|ed|ing)?|gratitude|grateful|appreciat\w*|value[sd]? .{0,30} support|"
    r"praise[sd]?|commend(ed|s)?)\b",
    "condolence": r"\b(condolences?|sympath(y|ies|etic)|mourn\w*|grief|grieve|bereaved|victims|"
    r"passing|passed away|deepest sorrow|rest in peace)\b",
    "ceremony": r"\b(receptions?|banquet|wreaths?|floral baskets?|flowers|toasts?|minute of silence|"
    r"moment of silence|laid|unveil\w*|ceremony|commemorat\w*|celebrat\w*|welcome[sd]?)\b",
    # historical_claim: the record, dated facts, assessments resting on the past (rules 4, 5, 8)
    "dated_past": r"\b(in (1[89]\d\d|20[0-2]\d)|since (1[89]\d\d|20[0-2]\d|then|its)|"
    r"(over|during|in) the (past|last) \w+|years ago|decades|for \w+ years|centur(y|ies))\b",
    "record": r"\b(established|founded|signed|forged|laid|achieved|built|witnessed|fought|sealed|"
    r"history|historic\w*|tradition(al|s)?|generations?|milestone|legacy|heritage|record|"
    r"stood (together|the test)|withstood|has (become|grown|developed|deepened|been)|"
    r"have (become|grown|developed|deepened|been|supported|maintained|stood))\b",
    "past_tense": r"\b(was|were|had|did|\w{3,}ed)\b",
    # other: attendance, staging, topics, reporting frame (rules 6, 7, 8)
    "attendance": r"\b(attended|were present|present at|among (those|the guests)|guests|participants|"
    r"delegation (comprised|included|consisting)|accompanied by|diplomats and)\b",
    "staging": r"\b(took place|was held|lasted|venue|programme|schedule|arrived|departed|left for|"
    r"guard of honou?r|inspected|motorcade|agenda|session|briefing)\b",
    "topics": r"\b(discussed|exchanged views|talked about|touched upon|matters of|issues of|"
    r"topics|reviewed|on (the )?sidelines)\b",
    "reporting": r"\b(said|stated|noted|pointed out|stressed|emphasi[sz]ed|told|according to|reported|"
    r"added|underlined|highlighted)\b",
    "question": r"(^Q:|\?$|\bquestion\b)",
    "first_person": r"\b(I|we|our|us|my)\b",
    "digits": r"\d",
}
_COMPILED = {name: re.compile(pattern, re.IGNORECASE) for name, pattern in CUES.items()}
_DATELINE = re.compile(r"^[A-Z][A-Z .'-]{2,40}, \w+ \d{1,2}")


def cue_vector(text: str) -> list[float]:
    """Per cue family: share of sentences with it, presence in first and last sentence;
    then length and shape features."""
    sentences = sentences_of(text) or [text]
    values: list[float] = []
    for pattern in _COMPILED.values():
        hits = [bool(pattern.search(s)) for s in sentences]
        values += [sum(hits) / len(hits), float(hits[0]), float(hits[-1])]
    words = len(text.split())
    values += [
        np.log1p(words) / 6,
        np.log1p(len(sentences)) / 3,
        float(not text.rstrip().endswith((".", "!", "?", '"', "”"))),
        float(bool(_DATELINE.match(text))),
    ]
    return values


class CueFeatures(TransformerMixin, BaseEstimator):
    """Lexical cue features of each text (stateless: `fit` only records the width)."""

    def fit(self, X: Sequence[str] | pd.Series, y: object = None) -> CueFeatures:
        self.n_features_out_ = len(cue_vector("x"))
        return self

    def transform(self, X: Sequence[str] | pd.Series) -> np.ndarray:
        return np.array([cue_vector(str(t)) for t in X], dtype=np.float64)

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        names = [f"{c}_{k}" for c in CUES for k in ("share", "first", "last")]
        return np.array([*names, "log_words", "log_sentences", "no_final_stop", "dateline"])


SENTENCES_COLUMN = "sentences"


class SentenceFunctions(TransformerMixin, BaseEstimator):
    """What each sentence does, aggregated to the paragraph (the guideline's plurality).

    Fits a sentence-level classifier on sentence vectors, each sentence weakly labeled
    with its paragraph's label (single-sentence paragraphs count fully, others half),
    then describes a paragraph by the mean, max, first and last of its sentences'
    probabilities. On the training data the probabilities are out-of-fold, so the
    paragraph classifier does not learn to trust overfitted sentence scores.
    """

    def __init__(self, C: float = 1.0, folds: int = 5, seed: int = 0) -> None:
        self.C = C
        self.folds = folds
        self.seed = seed

    def _flat(self, X: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        arrays = [np.asarray(a, dtype=np.float32) for a in X]
        owner = np.repeat(np.arange(len(arrays)), [len(a) for a in arrays])
        return np.vstack(arrays), owner

    def _model(self) -> Any:
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=self.C, max_iter=3000, class_weight="balanced", random_state=self.seed)

    def fit(self, X: Sequence[np.ndarray], y: Sequence[str]) -> SentenceFunctions:
        flat, owner = self._flat(list(X))
        labels = np.asarray(y)[owner]
        counts = np.bincount(owner)
        weights = np.where(counts[owner] == 1, 1.0, 0.5)
        self.model_ = self._model().fit(flat, labels, sample_weight=weights)
        self.classes_ = self.model_.classes_
        return self

    def fit_transform(
        self, X: Sequence[np.ndarray], y: Sequence[str] | None = None, **fit_params: Any
    ) -> np.ndarray:
        from sklearn.model_selection import KFold

        X = list(X)
        y = np.asarray(y)
        self.fit(X, y)
        out = np.zeros((len(X), 4 * len(self.classes_)))
        for fit_idx, held_idx in KFold(self.folds, shuffle=True, random_state=self.seed).split(X):
            part = clone(self).fit([X[i] for i in fit_idx], y[fit_idx])
            out[held_idx] = part._aggregate([X[i] for i in held_idx], self.classes_)
        return out

    def transform(self, X: Sequence[np.ndarray]) -> np.ndarray:
        return self._aggregate(list(X), self.classes_)

    def _aggregate(self, X: list[np.ndarray], classes: np.ndarray) -> np.ndarray:
        flat, owner = self._flat(X)
        proba = np.zeros((len(flat), len(classes)))
        own = self.model_.predict_proba(flat)
        for j, label in enumerate(self.model_.classes_):
            proba[:, list(classes).index(label)] = own[:, j]
        out = np.zeros((len(X), 4 * len(classes)))
        starts = np.searchsorted(owner, np.arange(len(X)))
        ends = np.searchsorted(owner, np.arange(len(X)), side="right")
        for i, (a, b) in enumerate(zip(starts, ends, strict=True)):
            rows = proba[a:b]
            out[i] = np.concatenate([rows.mean(axis=0), rows.max(axis=0), rows[0], rows[-1]])
        return out


def vector_columns(dim: int) -> list[str]:
    return [f"v{i}" for i in range(dim)]


def feature_frame(
    texts: Sequence[str], vectors: np.ndarray, sentence_vectors: Sequence[np.ndarray] | None = None
) -> pd.DataFrame:
    """The classifier's input: the text, one column per embedding dimension and, when
    given, each paragraph's matrix of sentence vectors."""
    frame = pd.DataFrame(vectors, columns=vector_columns(vectors.shape[1]))
    frame.insert(0, TEXT_COLUMN, list(texts))
    if sentence_vectors is not None:
        frame[SENTENCES_COLUMN] = pd.Series(list(sentence_vectors), dtype=object)
    return frame


def build_feature_frame(
    texts: Sequence[str], vectors_for: Callable[[list[str]], np.ndarray], sentences: bool
) -> pd.DataFrame:
    """The head's input for `texts`, getting every vector (paragraph and sentence) from
    `vectors_for`, in one call per kind so a store or an encoder can batch them."""
    texts = list(texts)
    sentence_vectors = None
    if sentences:
        groups = paragraph_sentences(texts)
        flat = vectors_for([s for group in groups for s in group])
        bounds = np.cumsum([0] + [len(group) for group in groups])
        sentence_vectors = [flat[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    return feature_frame(texts, vectors_for(texts), sentence_vectors)
