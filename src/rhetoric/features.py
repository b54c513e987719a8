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
    r"reached (a |an )?(consensus|agreement|understanding)|signed|decided|endorsed|adopted)\b",
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
