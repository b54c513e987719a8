"""How much of each fine-tuning batch is padding: plain shuffled batches against
finetuning.batch_order (shuffled rows sorted by length within chunks of 8 batches).

    python benchmarks/batch_padding.py [ENCODER] [BATCH_SIZE]

A batch pads to its longest paragraph, and the trained layers' time grows with the padded
tokens, so the ratio of padded to real tokens is the share of work that padding adds. It
counts tokens with the encoder's own tokenizer (at fine-tuning's 256-token cut) over train's
training documents; no model runs, so it takes seconds and has no noise.
"""

import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from rhetoric.corpus.documents import match_labels, read_labels  # noqa: E402
from rhetoric.corpus.split import training_part  # noqa: E402
from rhetoric.encoders.embedding import load_sentence_transformer, resolve_model  # noqa: E402
from rhetoric.encoders.finetuning import FineTuneRecipe, batch_order, token_counts  # noqa: E402

LABELS = ["greeting", "historical_claim", "future_commitment", "other"]


def padded_share(batches: list[np.ndarray], lengths: np.ndarray) -> float:
    """Tokens the batches hold once padded, over their real tokens."""
    padded = sum(int(lengths[rows].max()) * len(rows) for rows in batches)
    return padded / int(lengths[np.concatenate(batches)].sum())


def main() -> None:
    name = sys.argv[1] if len(sys.argv) > 1 else "all-mpnet-base-v2"
    batch_size = int(sys.argv[2]) if len(sys.argv) > 2 else FineTuneRecipe().batch_size
    paragraphs = pd.read_parquet(ROOT / "data/paragraphs.parquet")
    labeled = match_labels(paragraphs, read_labels(ROOT / "data/labels.jsonl", LABELS), "l")
    texts = training_part(labeled, 0.2, 42)["text"].tolist()
    model = load_sentence_transformer(Path(resolve_model(name).path), "cpu")
    model.max_seq_length = min(int(model.max_seq_length), FineTuneRecipe().max_tokens)
    lengths = token_counts(model, texts)
    rng = np.random.default_rng(42)
    order = rng.permutation(len(texts))
    plain = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    sorted_batches = batch_order(lengths, batch_size, 1, 42)
    print(f"{name}: {len(texts)} training paragraphs, {lengths.mean():.1f} tokens on average, batch {batch_size}")
    print("| batches | padded ÷ real tokens |")
    print("|---|---|")
    print(f"| plain shuffled rows | {padded_share(plain, lengths):.2f} |")
    print(f"| finetuning.batch_order | {padded_share(sorted_batches, lengths):.2f} |")


if __name__ == "__main__":
    main()
