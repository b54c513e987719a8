"""Realdev macro-F1 of head variants on the model's own vectors, C fixed (seconds each).

    python benchmarks/head_variants.py REALDEV.jsonl ["[dict(C=4), dict(C=16, tf=False)]"]

Uses the vector store and manifest of the last `dvc repro` (data/vectors,
data/embedding.json), train's grouped split, and logistic regression on one sparse matrix
of [embedding * w, word TF-IDF, optional char TF-IDF, optional cues]. Real-text vectors are
encoded once and cached beside the realdev file (outside the project). A quick companion
of designs.py, which trains exactly as the `train` stage does.
"""

import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

from rhetoric.corpus.documents import match_labels, read_labels
from rhetoric.corpus.segment import normalize_paragraph, paragraph_sha1
from rhetoric.corpus.split import training_part
from rhetoric.encoders.embedding import resolve_model
from rhetoric.encoders.factory import make_encoder
from rhetoric.vectors import VectorStore

R = ROOT
REAL = Path(sys.argv[1])
L = ["greeting", "historical_claim", "future_commitment", "other"]
man = json.load(open(R / "data/embedding.json"))
store = VectorStore(R / "data/vectors", man["key"])
par = pd.read_parquet(R / "data/paragraphs.parquet")
lab = match_labels(par, read_labels(R / "data/labels.jsonl", L), "l")
tr = training_part(lab, 0.2, 42)
real = [json.loads(l) for l in open(REAL)]
rt = [normalize_paragraph(r["text"]) for r in real]
ry = [r["label"] for r in real]
cache = REAL.with_name(REAL.stem + "-" + man["key"] + ".npy")
if cache.exists():
    RV = np.load(cache)
else:
    enc = make_encoder(resolve_model(man["embedder"]["name"]), "cpu", "fp32", 32, None)
    RV = enc.encode(rt)
    np.save(cache, RV)
TV = np.asarray(store.lookup([paragraph_sha1(t) for t in tr["text"]]), dtype=np.float32)
dev = [json.loads(l) for l in open(R / "data/dev/labels.jsonl")]
dt = [normalize_paragraph(r["text"]) for r in dev]
dy = [r["label"] for r in dev]
DV = np.asarray(store.lookup([paragraph_sha1(t) for t in dt]), dtype=np.float32)


def run(C=16, w=1.0, tf=True, cw="balanced", min_df=2, ngram=(1, 2), maxf=30000, char=False, cues=False):
    parts = [sparse.csr_matrix(TV * w)]
    if tf:
        v = TfidfVectorizer(ngram_range=ngram, min_df=min_df, sublinear_tf=True, max_features=maxf).fit(
            tr["text"]
        )
        parts.append(v.transform(tr["text"]))
    if char:
        cv = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(3, 5), min_df=2, sublinear_tf=True, max_features=60000
        ).fit(tr["text"])
        parts.append(cv.transform(tr["text"]))
    if cues:
        import pandas as _pd
        from sklearn.preprocessing import StandardScaler

        from rhetoric.model.features import CueFeatures

        cf = CueFeatures().fit(_pd.Series(list(tr["text"])))
        sc = StandardScaler().fit(cf.transform(_pd.Series(list(tr["text"]))))
        parts.append(sparse.csr_matrix(sc.transform(cf.transform(_pd.Series(list(tr["text"]))))))
    X = sparse.hstack(parts).tocsr()
    m = LogisticRegression(C=C, max_iter=5000, class_weight=cw, random_state=42).fit(X, tr["label"])

    def feat(V, T):
        p = (
            [sparse.csr_matrix(V * w)]
            + ([v.transform(T)] if tf else [])
            + ([cv.transform(T)] if char else [])
        )
        if cues:
            import pandas as _pd

            p.append(sparse.csr_matrix(sc.transform(cf.transform(_pd.Series(list(T))))))
        return sparse.hstack(p).tocsr()

    pr = m.predict(feat(RV, rt))
    pd_ = m.predict(feat(DV, dt))
    return (
        f1_score(ry, pr, average="macro"),
        f1_score(dy, pd_, average="macro"),
        f1_score(ry, pr, average=None, labels=L),
    )


DEFAULT = "[dict(C=4),dict(C=16),dict(C=64),dict(C=16,tf=False),dict(C=1,tf=False),dict(C=16,w=2.0),dict(C=16,w=0.5),dict(C=4,ngram=(1,3)),dict(C=16,char=True),dict(C=4,cues=True),dict(C=16,cw=None)]"
for kw in eval(sys.argv[2] if len(sys.argv) > 2 else DEFAULT):
    t = time.time()
    r = run(**kw)
    print(kw, "real %.3f dev %.3f" % r[:2], np.round(r[2], 3), "%.0fs" % (time.time() - t), flush=True)
