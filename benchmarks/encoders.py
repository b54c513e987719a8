"""Embedding speed of each packaged encoder on this machine, against plain sentence-transformers.

    python benchmarks/encoders.py [--paragraphs 200] [--rounds 2]

For every encoder (all-MiniLM-L6-v2, all-mpnet-base-v2) it times rhetoric's fp32 encoder
and plain `SentenceTransformer.encode` (batch 32) on the same corpus paragraphs, in
interleaved rounds, and prints paragraphs/s, the ratio to plain, and the machine. Corpus
paragraphs are taken in a seeded sample, so nothing outside the repository is needed.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def cpu_description() -> str:
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = re.search(r"model name\s*:\s*(.*)", info)
    flags = set(re.findall(r"\b(avx512_vnni|avx512_bf16|amx_bf16|avx2)\b", info))
    return f"{model.group(1) if model else platform.processor()} ({', '.join(sorted(flags))}), {os.cpu_count()} cores"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--paragraphs", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    import pandas as pd
    from sentence_transformers import SentenceTransformer

    from rhetoric.encoders.embedding import Encoder, resolve_model

    texts = pd.read_parquet(ROOT / "data" / "paragraphs.parquet")["text"].tolist()
    texts = random.Random(7).sample(texts, min(args.paragraphs, len(texts)))
    words = statistics.mean(len(t.split()) for t in texts)
    print(f"{cpu_description()}; {len(texts)} corpus paragraphs, {words:.0f} words on average")
    print("| encoder | plain sentence-transformers fp32 | rhetoric fp32 | x plain |")
    print("|---|---|---|---|")
    for name in ("all-MiniLM-L6-v2", "all-mpnet-base-v2"):
        identity = resolve_model(name)
        plain = SentenceTransformer(identity.path, device="cpu", local_files_only=True)
        ours = Encoder(identity, device="cpu", backend="fp32")
        timings: dict[str, list[float]] = {"plain": [], "ours": []}
        for _ in range(args.rounds):
            start = time.perf_counter()
            plain.encode(texts, batch_size=32)
            timings["plain"].append(len(texts) / (time.perf_counter() - start))
            start = time.perf_counter()
            ours.encode(texts)
            timings["ours"].append(len(texts) / (time.perf_counter() - start))
        p, o = statistics.median(timings["plain"]), statistics.median(timings["ours"])
        print(f"| {name} | {p:.1f} paragraphs/s | {o:.1f} paragraphs/s | {o / p:.2f} |", flush=True)


if __name__ == "__main__":
    main()
