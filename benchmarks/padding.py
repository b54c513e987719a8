"""How much does padding each batch to a multiple of N tokens cost the fp32 encoder?

    python benchmarks/padding.py [ENCODER] [PARAGRAPHS]   (defaults: all-MiniLM-L6-v2 400)

Times plain sentence-transformers (`encode`, batch 32) and rhetoric's fp32 `Encoder`
padded to multiples of 32, 8 and 1 tokens (`embedding.PAD_MULTIPLE`, set between runs),
in 3 interleaved rounds over corpus paragraphs; prints each one's median paragraphs/s,
its ratio to plain, and its largest difference from the vectors padded to 32.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402

from rhetoric.encoders import embedding  # noqa: E402
from rhetoric.encoders.embedding import Encoder, load_sentence_transformer, resolve_model  # noqa: E402

ROUNDS = 3


def main() -> None:
    name = sys.argv[1] if len(sys.argv) > 1 else "all-MiniLM-L6-v2"
    texts = bench.throughput_texts("corpus", int(sys.argv[2]) if len(sys.argv) > 2 else 400)
    identity = resolve_model(name)
    ours = Encoder(identity, device="cpu", backend="fp32")
    plain = load_sentence_transformer(identity.path, "cpu")
    speeds: dict[str, list[float]] = {}
    vectors: dict[str, np.ndarray] = {}
    for _ in range(ROUNDS):
        for variant in ("plain", "32", "8", "1"):
            start = time.perf_counter()
            if variant == "plain":
                found = plain.encode(texts, batch_size=32, normalize_embeddings=True)
            else:
                embedding.PAD_MULTIPLE = int(variant)
                found = ours.encode(texts)
            speeds.setdefault(variant, []).append(len(texts) / (time.perf_counter() - start))
            vectors[variant] = np.asarray(found)
    base = statistics.median(speeds["plain"])
    for variant, runs in speeds.items():
        speed = statistics.median(runs)
        difference = np.abs(vectors[variant] - vectors["32"]).max()
        label = "plain" if variant == "plain" else f"pad {variant}"
        ratio = speed / base
        print(f"{name} {label}: {speed:.1f}/s ({ratio:.2f}x plain), largest difference {difference:.1e}")


if __name__ == "__main__":
    main()
