"""Print the data card's tables (Markdown) from data/: counts per label, genre, occasion,
country, paragraph length, secondary labels and hard-case rules.

    python tools/corpus_stats.py > /tmp/stats.md
"""

from __future__ import annotations

import collections
import json
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from rhetoric.corpus.documents import match_labels, read_labels, segment_folder  # noqa: E402

LABELS = ["greeting", "historical_claim", "future_commitment", "other"]


def table(series: pd.Series, name: str) -> str:
    lines = [f"| {name} | count |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in series.items()]
    return "\n".join(lines)


def main() -> None:
    paragraphs, _ = segment_folder(ROOT / "data/documents", 5 << 20)
    labeled = match_labels(paragraphs, read_labels(ROOT / "data/labels.jsonl", LABELS), "labels")
    docs = pd.read_csv(ROOT / "data/documents.csv")
    labeled_docs = set(labeled["doc"])
    docs["labeled"] = docs["doc_id"].isin(labeled_docs)
    print(f"- documents: {len(docs)} ({docs['labeled'].sum()} labeled, {(~docs['labeled']).sum()} unlabeled)")
    print(f"- paragraphs: {len(paragraphs)} ({len(labeled)} labeled)")
    mixed = (labeled["secondary"].map(len) > 0).mean()
    print(f"- labeled paragraphs with a secondary label: {mixed:.1%}\n")
    print(table(labeled["label"].value_counts().reindex(LABELS), "label"), "\n")
    print(table(docs["genre"].value_counts(), "genre (documents)"), "\n")
    print(table(docs["occasion"].value_counts(), "occasion (documents)"), "\n")
    countries = collections.Counter(c.strip() for cs in docs["countries"] for c in cs.split(";"))
    pairings = {tuple(sorted(c.strip() for c in cs.split(";"))) for cs in docs["countries"]}
    print(f"{len(countries)} countries and organisations, {len(pairings)} distinct pairings; by documents:\n")
    print(", ".join(f"{c} {n}" for c, n in countries.most_common()), "\n")
    bins = pd.cut(
        labeled["n_tokens"],
        [0, 10, 30, 60, 100, 150, 1000],
        labels=["1-10", "11-30", "31-60", "61-100", "101-150", ">150"],
    )
    print(table(pd.crosstab(bins, labeled["label"]).sum(axis=1), "words per labeled paragraph"), "\n")
    rules = collections.Counter()
    for line in (ROOT / "data/label_rules.jsonl").read_text(encoding="utf-8").splitlines():
        rules.update(json.loads(line)["rules"])
    print(table(pd.Series({f"rule {r}": rules[r] for r in range(1, 10)}), "LABELS.md rule exemplified"))


if __name__ == "__main__":
    main()
