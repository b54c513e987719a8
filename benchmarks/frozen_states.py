"""What `embed` saves with fine-tuning's frozen states: the same paragraphs embedded by the
fine-tuned encoder with every layer, and with only its top layers over the states that
`finetune` handed over (encoders/frozen_states.py), in interleaved rounds.

    python benchmarks/frozen_states.py [PROJECT] [PARAGRAPHS] [ROUNDS]

PROJECT is a project after `dvc repro` with the fine-tuned default (models/encoder,
data/frozen_states.safetensors, data/paragraphs.parquet; default: this checkout).
PARAGRAPHS (default 192) are drawn at random (seed 0) from those with states. Both paths
run `Encoder.encode_with_sentences` in fp32, as `embed` does, each in its own encoder
(loaded once); the vectors are compared too.
"""

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from rhetoric.encoders.embedding import Encoder, resolve_model  # noqa: E402
from rhetoric.encoders.frozen_states import open_states  # noqa: E402


def main() -> None:
    project = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 192
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    identity = resolve_model(str(project / "models/encoder"))
    states_file = project / "data/frozen_states.safetensors"
    states = open_states(states_file, identity.weights_sha256)
    if states is None:
        sys.exit(f"{states_file}: no states of {identity.path}; run `dvc repro` with finetune.enabled first.")
    texts = pd.read_parquet(project / "data/paragraphs.parquet")["text"].drop_duplicates().tolist()
    held = [t for t in texts if states.has(t)]
    sample = [held[i] for i in np.random.default_rng(0).choice(len(held), min(n, len(held)), replace=False)]
    every = Encoder(identity, device="cpu", backend="fp32")
    top = Encoder(identity, device="cpu", backend="fp32", states=states_file)
    seconds: dict[str, list[float]] = {"every layer": [], "top layers over the states": []}
    vectors = {}
    for _ in range(rounds):
        for name, encoder in (("every layer", every), ("top layers over the states", top)):
            started = time.perf_counter()
            vectors[name] = encoder.encode_with_sentences(sample)[0]
            seconds[name].append(time.perf_counter() - started)
    base = float(np.median(seconds["every layer"]))
    print(f"{len(sample)} paragraphs with states (of {len(held)}), {rounds} interleaved rounds, fp32, cpu")
    print("| path | paragraphs/s (median) | range | x every layer |")
    print("|---|---|---|---|")
    for name, times in seconds.items():
        rates = [len(sample) / t for t in times]
        print(
            f"| {name} | {len(sample) / np.median(times):.1f} | {min(rates):.1f}-{max(rates):.1f} "
            f"| {base / np.median(times):.2f} |"
        )
    gap = np.abs(vectors["every layer"] - vectors["top layers over the states"]).max()
    print(f"largest difference of a vector component: {gap:.2e}")


if __name__ == "__main__":
    main()
