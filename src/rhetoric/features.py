"""What the classifier sees of a paragraph: its embedding, lexical cues and words.

The guideline decides a label by which function dominates the paragraph and by a
tie-break, and its signals are mostly lexical ("will", "congratulations", "in 1961").
A single pooled vector blurs those, so the cue features count, sentence by sentence,
how much of the paragraph performs each function.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

TEXT_COLUMN = "text"

_SENTENCE_END = re.compile(r"(?<=[.!?;])[\"'”’)]*\s+(?=[\"'“‘(]?[A-Z0-9])")

CUES: dict[str, str] = {
    "future": r"\b(will|shall|would like to|wish to|intends?|ready to|stands? ready|willing to|"
    r"continue to|continues to|further|look(s|ing)? forward|commit(ted|ment)?|pledged?|vow(ed|s)?|"
    r"must|should|need to|call(s|ed)? (on|upon)|urged?|agreed|reaffirm(ed|s)?|determined to|"
    r"going forward|from now on|in the future|next year|upcoming|aim(s|ed)? to|plan(s|ned)? to|"
    r"promised?|work together|join hands|consensus|signed .{0,40}(agreement|memorand)|"
    r"stand with|remain(s)? (committed|ready))\b",
    "greeting": r"\b(congratulat\w*|felicitations?|greetings?|best wishes|good wishes|warm(est)? wishes|"
    r"wish(es|ed)?|thank(s|ed)?|gratitude|grateful|appreciat\w*|condolences?|sympath(y|ies)|"
    r"mourn\w*|welcome[ds]?|salute[sd]?|reception|banquet|wreaths?|floral baskets?|toast(s|ed)?|"
    r"honou?r to|on (the )?occasion of|happy|prosperity|cordial|heartfelt|sincere)\b",
    "history": r"\b(1[89]\d\d|20[0-2]\d|over the (past|last)|since|years ago|history|historic\w*|"
    r"established|was signed|were signed|forged|laid|founded|achieved|has (been|become|developed|"
    r"grown|withstood)|have (been|developed|grown|stood|supported|maintained)|tradition(al)?|"
    r"decades?|generations?|older generation|sealed|fought|in the past|record|milestone|"
    r"witnessed|was (born|built)|were|was)\b",
    "other": r"\b(attended|were present|present at|among those|delegation (comprised|included)|"
    r"lasted|took place|held at|venue|programme|schedule|will visit|arrived|left for|"
    r"according to|reported|reporters?|correspondent|photo|copyright|ends?\b|story)\b",
}
_COMPILED = {name: re.compile(pattern, re.IGNORECASE) for name, pattern in CUES.items()}
_DATELINE = re.compile(r"^[A-Z][A-Z .'-]{2,40}, \w+ \d{1,2}")


_ABBREVIATION = re.compile(
    r"(\b(Mr|Mrs|Ms|Dr|Hon|Rt|St|No|Nos|Gen|Lt|Col|Maj|Amb|Sen|Rep|Gov|Prof|Jr|Sr|Co|Inc|Ltd|"
    r"Jan|Feb|Mar|Apr|Aug|Sept|Sep|Oct|Nov|Dec|vs|etc|[A-Z])|^\(?\d{1,3}[.)]?)\.$"
)


def split_sentences(text: str) -> list[str]:
    """Sentences of a paragraph: end punctuation followed by a capital, except after
    abbreviations ("Mr.", "H.E.") and list numbers ("1.").

    >>> split_sentences("We met in 1961. We will continue! Thanks.")
    ['We met in 1961.', 'We will continue!', 'Thanks.']
    >>> split_sentences("1. Mr. Li met H.E. Ms. Tran. They agreed.")
    ['1. Mr. Li met H.E. Ms. Tran.', 'They agreed.']
    """
    sentences: list[str] = []
    for piece in _SENTENCE_END.split(text.strip()):
        if sentences and _ABBREVIATION.search(sentences[-1]):
            sentences[-1] = f"{sentences[-1]} {piece}"
        elif piece:
            sentences.append(piece)
    return sentences


def cue_vector(text: str) -> list[float]:
    """Per cue family: share of sentences with it, presence in first and last sentence;
    then length and shape features."""
    sentences = split_sentences(text) or [text]
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


def vector_columns(dim: int) -> list[str]:
    return [f"v{i}" for i in range(dim)]


def feature_frame(texts: Sequence[str], vectors: np.ndarray) -> pd.DataFrame:
    """The classifier's input: the text plus one column per embedding dimension."""
    frame = pd.DataFrame(vectors, columns=vector_columns(vectors.shape[1]))
    frame.insert(0, TEXT_COLUMN, list(texts))
    return frame
