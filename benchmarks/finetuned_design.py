"""Realdev macro-F1 of a fine-tuned encoder with the default head (C 1, 4, 16; with and
without TF-IDF), fine-tuned on train's training documents by rhetoric.encoders.finetuning.

    python benchmarks/finetuned_design.py REALDEV.jsonl all-MiniLM-L6-v2 3 [TOP]

With TOP, only the encoder's top TOP transformer layers are trained (`finetune.top_layers`:
the embeddings, the lower layers and MPNet's relative position bias stay as they are):
the issue's "top layers" variant, cheaper on a CPU because the states entering the top
layers are computed once and every epoch runs the top layers alone.
benchmarks/top_layer_sweep.py sweeps epochs and learning rates of this variant.

The fine-tuned encoder is written to a folder beside REALDEV.jsonl (outside the project)
and reused when present; vectors are kept in memory only.
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
from rhetoric.corpus.segment import normalize_paragraph
from rhetoric.corpus.split import training_part
from rhetoric.encoders.embedding import Encoder, resolve_model
from rhetoric.encoders.finetuning import FineTuneRecipe, fine_tune

R = ROOT
L = ["greeting", "historical_claim", "future_commitment", "other"]
REAL = Path(sys.argv[1])
name = sys.argv[2]
epochs = int(sys.argv[3])
par = pd.read_parquet(R / "data/paragraphs.parquet")
lab = match_labels(par, read_labels(R / "data/labels.jsonl", L), "l")
tr = training_part(lab, 0.2, 42)
top = int(sys.argv[4]) if len(sys.argv) > 4 else None
out = REAL.parent / (f"finetuned-{name}-{epochs}" + (f"-top{top}" if top else ""))
t = time.time()
if not (out / "model.safetensors").exists():
    rec = fine_tune(
        Path(resolve_model(name).path),
        tr["text"].tolist(),
        tr["label"].tolist(),
        L,
        FineTuneRecipe(epochs=epochs, top_layers=top),
        out,
    )
    print("fine-tune", rec, "%.0fs" % (time.time() - t), flush=True)
enc = Encoder(resolve_model(str(out)), device="cpu", backend="fp32")
real = [json.loads(l) for l in open(REAL)]
rt = [normalize_paragraph(r["text"]) for r in real]
ry = [r["label"] for r in real]
dev = [json.loads(l) for l in open(R / "data/dev/labels.jsonl")]
dt = [normalize_paragraph(r["text"]) for r in dev]
dy = [r["label"] for r in dev]
t = time.time()
TV = enc.encode(tr["text"].tolist())
RV = enc.encode(rt)
DV = enc.encode(dt)
print("encode %.0fs" % (time.time() - t), flush=True)
for tf in (True, False):
    for C in (1, 4, 16):
        parts = [sparse.csr_matrix(TV)]
        if tf:
            v = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, max_features=30000).fit(
                tr["text"]
            )
            parts.append(v.transform(tr["text"]))
        m = LogisticRegression(C=C, max_iter=5000, class_weight="balanced", random_state=42).fit(
            sparse.hstack(parts).tocsr(), tr["label"]
        )
        f = lambda V, T: sparse.hstack([sparse.csr_matrix(V)] + ([v.transform(T)] if tf else [])).tocsr()
        pr = m.predict(f(RV, rt))
        pdv = m.predict(f(DV, dt))
        print(
            name,
            epochs,
            f"top {top}" if top else "all layers",
            "tfidf" if tf else "emb",
            C,
            "real %.3f dev %.3f" % (f1_score(ry, pr, average="macro"), f1_score(dy, pdv, average="macro")),
            np.round(f1_score(ry, pr, average=None, labels=L), 3),
            flush=True,
        )
