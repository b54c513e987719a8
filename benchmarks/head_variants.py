"""Realdev macro-F1 of head variants on the model's own vectors, C fixed (seconds each).

    python benchmarks/head_variants.py REALDEV.jsonl ["[dict(C=4), dict(C=16, tf=False)]"]

Uses the vector store and manifest of the last `dvc repro` (data/vectors,
data/embedding.json), train's grouped split, and logistic regression on one sparse matrix
of [embedding * w, word TF-IDF, optional char TF-IDF, optional cues]. Real-text vectors are
encoded once and cached beside the realdev file (outside the project). A quick companion
of designs.py, which trains exactly as the `train` stage does.

Also tried: `position` (first / last / relative place of the paragraph in its document,
times the weight), `centered` (the embedding minus its document's mean, times the weight),
`minilm` (all-MiniLM-L6-v2 vectors beside the model's, times the weight) and `new_weight`
(sample weight of the documents written for real text, slices l and later). Realdev rows
give their place in the document by the `-pN` suffix of their id.
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


def place(idx: np.ndarray, n: np.ndarray) -> np.ndarray:
    idx, n = idx.astype(float), n.astype(float)
    return np.c_[idx == 0, idx == n - 1, idx / np.maximum(n - 1, 1)].astype(np.float32)


def centered(docs: list[str], V: np.ndarray) -> np.ndarray:
    frame = pd.DataFrame(V)
    frame["doc"] = docs
    return V - frame.groupby("doc").transform("mean").to_numpy(np.float32)


n_par = par.groupby("doc")["idx"].max() + 1
TP = place(tr["idx"].to_numpy(), n_par.loc[tr["doc"]].to_numpy())
r_doc = [r["doc"] for r in real]
r_idx = np.array([int(r["id"].rsplit("-p", 1)[1]) - 1 for r in real])
RP = place(r_idx, pd.Series(r_idx).groupby(pd.Series(r_doc)).transform("max").to_numpy() + 1)
all_v = pd.DataFrame(np.asarray(store.lookup(list(par["sha1"])), dtype=np.float32))
all_v["doc"] = par["doc"].to_numpy()
TC = TV - all_v.groupby("doc").mean().loc[tr["doc"]].to_numpy(np.float32)
RC = centered(r_doc, RV)
_MINI = {}


def minilm() -> tuple[np.ndarray, np.ndarray]:
    if not _MINI:
        enc = make_encoder(resolve_model("all-MiniLM-L6-v2"), "cpu", "fp32", 32, None)
        _MINI["t"], _MINI["r"] = enc.encode(list(tr["text"])), enc.encode(rt)
    return _MINI["t"], _MINI["r"]


def run(
    C=16,
    w=1.0,
    tf=True,
    cw="balanced",
    min_df=2,
    ngram=(1, 2),
    maxf=30000,
    char=False,
    cues=False,
    position=0.0,
    centered_w=0.0,
    minilm_w=0.0,
    new_weight=1.0,
):
    parts = [sparse.csr_matrix(TV * w)]
    extra_t, extra_r = [], []
    if position:
        extra_t.append(TP * position)
        extra_r.append(RP * position)
    if centered_w:
        extra_t.append(TC * centered_w)
        extra_r.append(RC * centered_w)
    if minilm_w:
        mt, mr = minilm()
        extra_t.append(mt * minilm_w)
        extra_r.append(mr * minilm_w)
    parts += [sparse.csr_matrix(x) for x in extra_t]
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
    weights = np.where(tr["doc"].str[0].to_numpy() >= "l", new_weight, 1.0)
    m = LogisticRegression(C=C, max_iter=5000, class_weight=cw, random_state=42)
    m.fit(X, tr["label"], sample_weight=weights)

    def feat(V, T, extra):
        p = (
            [sparse.csr_matrix(V * w)]
            + [sparse.csr_matrix(x) for x in extra]
            + ([v.transform(T)] if tf else [])
            + ([cv.transform(T)] if char else [])
        )
        if cues:
            import pandas as _pd

            p.append(sparse.csr_matrix(sc.transform(cf.transform(_pd.Series(list(T))))))
        return sparse.hstack(p).tocsr()

    pr = m.predict(feat(RV, rt, extra_r))
    dev_f1 = float("nan")
    if not extra_t:  # dev rows carry no document place, centering or second encoder
        dev_f1 = f1_score(dy, m.predict(feat(DV, dt, [])), average="macro")
    return (
        f1_score(ry, pr, average="macro"),
        dev_f1,
        f1_score(ry, pr, average=None, labels=L),
    )


DEFAULT = "[dict(C=4),dict(C=16),dict(C=64),dict(C=16,tf=False),dict(C=1,tf=False),dict(C=16,w=2.0),dict(C=16,w=0.5),dict(C=4,ngram=(1,3)),dict(C=16,char=True),dict(C=4,cues=True),dict(C=16,cw=None),dict(position=1.0),dict(position=3.0),dict(centered_w=0.5),dict(centered_w=1.0),dict(minilm_w=1.0),dict(minilm_w=0.7),dict(new_weight=2.0),dict(new_weight=0.5)]"
for kw in eval(sys.argv[2] if len(sys.argv) > 2 else DEFAULT):
    t = time.time()
    r = run(**kw)
    print(kw, "real %.3f dev %.3f" % r[:2], np.round(r[2], 3), "%.0fs" % (time.time() - t), flush=True)
