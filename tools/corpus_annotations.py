"""Check and compile the corpus writers' annotation sidecars.

Writers put each document in data/documents/<doc_id>.txt and its annotation in
data/parts/<doc_id>.ann:

    source: <publisher or outlet style>
    genre: <one of GENRES>
    date: <YYYY-MM-DD>
    countries: <name>; <name>
    occasion: <one of OCCASIONS>
    labeled: yes|no
    ---
    <label> | <secondary,...|-> | <rule numbers,...|->     (one line per paragraph)

`python3 tools/corpus_annotations.py check DOC_ID...` prints every paragraph beside its
label so a writer can see the alignment; `compile` writes data/labels.jsonl,
data/documents.csv and data/label_rules.jsonl from all sidecars; `append DOC_ID...` adds
new documents' sidecars to those three files (the record), refusing ids already in it.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from rhetoric.corpus.segment import segment_document  # noqa: E402

LABELS = ("greeting", "historical_claim", "future_commitment", "other")
GENRES = (
    "news_report",
    "leader_message",
    "readout",
    "embassy_speech",
    "joint_statement",
    "national_day_statement",
    "condolence_message",
    "un_speech",
    "press_conference",
)
OCCASIONS = (
    "treaty_anniversary",
    "relations_anniversary",
    "national_day",
    "party_state_anniversary",
    "election_inauguration",
    "condolence_disaster",
    "condolence_death",
    "state_visit",
    "talks_call",
    "reception",
    "credentials",
    "wreath_memorial",
    "new_year",
    "summit",
    "un_debate",
)
DEV_PREFIX = "x"  # the held-out development set, written by a separate writer, never trained on
META_KEYS = ("source", "genre", "date", "countries", "occasion", "labeled")


def parse_sidecar(path: Path) -> tuple[dict[str, str], list[tuple[str, list[str], list[int]]]]:
    """Read one .ann file into its metadata and one (label, secondary, rules) per paragraph."""
    head, sep, body = path.read_text(encoding="utf-8").partition("\n---\n")
    if not sep:
        raise ValueError(f"{path}: no '---' line between metadata and labels")
    meta: dict[str, str] = {}
    for line in head.splitlines():
        if line.strip():
            key, _, value = line.partition(":")
            meta[key.strip()] = value.strip()
    missing = [k for k in META_KEYS if k not in meta]
    if missing:
        raise ValueError(f"{path}: metadata lacks {missing}")
    if meta["genre"] not in GENRES:
        raise ValueError(f"{path}: genre {meta['genre']!r} not in {GENRES}")
    if meta["occasion"] not in OCCASIONS:
        raise ValueError(f"{path}: occasion {meta['occasion']!r} not in {OCCASIONS}")
    rows = []
    for number, line in enumerate(body.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) != 3:
            raise ValueError(f"{path}: label line {number} needs 3 fields separated by '|'")
        label, secondary_field, rules_field = parts
        secondary = [] if secondary_field in ("", "-") else [s.strip() for s in secondary_field.split(",")]
        rules = [] if rules_field in ("", "-") else [int(r) for r in rules_field.split(",")]
        if label not in LABELS:
            raise ValueError(f"{path}: label line {number}: {label!r} not in {LABELS}")
        bad = [s for s in secondary if s not in LABELS[:3] or s == label]
        if bad:
            raise ValueError(f"{path}: label line {number}: bad secondary {bad}")
        if any(r < 1 or r > 9 for r in rules):
            raise ValueError(f"{path}: label line {number}: rules are numbers 1-9")
        rows.append((label, secondary, rules))
    return meta, rows


def load_document(doc_id: str) -> list[str]:
    return segment_document((ROOT / "data" / "documents" / f"{doc_id}.txt").read_text(encoding="utf-8"))


def check(doc_id: str) -> None:
    meta, rows = parse_sidecar(ROOT / "data" / "parts" / f"{doc_id}.ann")
    paragraphs = load_document(doc_id)
    if meta["labeled"] == "yes" and len(rows) != len(paragraphs):
        raise ValueError(f"{doc_id}: {len(paragraphs)} paragraphs but {len(rows)} label lines")
    for i, text in enumerate(paragraphs):
        tag = f"{rows[i][0]:17s} {','.join(rows[i][1]) or '-':28s}" if i < len(rows) else "-"
        print(f"{i:2d} {tag} {text[:70]}")
    print(f"OK {doc_id}: {len(paragraphs)} paragraphs")


def add_record(
    doc_id: str,
    meta: dict[str, str],
    rows: list[tuple[str, list[str], list[int]]],
    paragraphs: list[str],
    docs: list[dict],
    labels: list[dict],
    rules_rows: list[dict],
) -> None:
    """Add one document's metadata row and, if labeled, its label and rule rows."""
    docs.append({"doc_id": doc_id, **{k: meta[k] for k in META_KEYS}})
    if meta["labeled"] != "yes":
        return
    if len(rows) != len(paragraphs):
        raise ValueError(f"{doc_id}: {len(paragraphs)} paragraphs but {len(rows)} label lines")
    for text, (label, secondary, rules) in zip(paragraphs, rows, strict=True):
        labels.append({"doc": doc_id, "text": text, "label": label, "secondary": secondary})
        if rules:
            rules_rows.append({"doc": doc_id, "text": text, "rules": rules})


def compile_all(lenient: bool = False) -> None:
    labels, docs, rules_rows = [], [], []
    for ann in sorted((ROOT / "data" / "parts").glob("*.ann")):
        doc_id = ann.stem
        if doc_id.startswith(DEV_PREFIX):
            continue
        try:
            meta, rows = parse_sidecar(ann)
            paragraphs = load_document(doc_id)
            if meta["labeled"] == "yes" and len(rows) != len(paragraphs):
                raise ValueError(f"{doc_id}: {len(paragraphs)} paragraphs, {len(rows)} label lines")
        except (ValueError, OSError) as error:
            if not lenient:
                raise
            print(f"skipped {doc_id}: {error}")
            continue
        add_record(doc_id, meta, rows, paragraphs, docs, labels, rules_rows)
    data = ROOT / "data"
    with open(data / "labels.jsonl", "w", encoding="utf-8") as f:
        f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in labels)
    with open(data / "label_rules.jsonl", "w", encoding="utf-8") as f:
        f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rules_rows)
    with open(data / "documents.csv", "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["doc_id", *META_KEYS])
        writer.writeheader()
        writer.writerows(docs)
    print(f"{len(docs)} documents, {len(labels)} labeled paragraphs")


def append_documents(doc_ids: list[str]) -> None:
    """Append new documents' labels, rules and metadata to the compiled record."""
    data = ROOT / "data"
    with open(data / "documents.csv", encoding="utf-8", newline="") as f:
        known = {row["doc_id"] for row in csv.DictReader(f)}
    again = sorted(set(doc_ids) & known)
    if again:
        raise ValueError(f"already in data/documents.csv: {again}")
    labels, docs, rules_rows = [], [], []
    for doc_id in doc_ids:
        meta, rows = parse_sidecar(data / "parts" / f"{doc_id}.ann")
        paragraphs = load_document(doc_id)
        add_record(doc_id, meta, rows, paragraphs, docs, labels, rules_rows)
    with open(data / "labels.jsonl", "a", encoding="utf-8") as f:
        f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in labels)
    with open(data / "label_rules.jsonl", "a", encoding="utf-8") as f:
        f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rules_rows)
    with open(data / "documents.csv", "a", encoding="utf-8", newline="") as f:
        csv.DictWriter(f, fieldnames=["doc_id", *META_KEYS]).writerows(docs)
    print(f"appended {len(docs)} documents, {len(labels)} labeled paragraphs")


def move_dev_set() -> None:
    """Move the dev writer's documents to data/dev/ with their labels (never trained on)."""
    dev = ROOT / "data" / "dev"
    (dev / "documents").mkdir(parents=True, exist_ok=True)
    rows = []
    for ann in sorted((ROOT / "data" / "parts").glob(f"{DEV_PREFIX}*.ann")):
        meta, labels = parse_sidecar(ann)
        src = ROOT / "data" / "documents" / f"{ann.stem}.txt"
        paragraphs = load_document(ann.stem)
        if len(paragraphs) != len(labels):
            raise ValueError(f"{ann.stem}: {len(paragraphs)} paragraphs but {len(labels)} label lines")
        rows += [
            {"doc": ann.stem, "text": t, "label": lab, "secondary": sec}
            for t, (lab, sec, _rules) in zip(paragraphs, labels, strict=True)
        ]
        src.rename(dev / "documents" / src.name)
    with open(dev / "labels.jsonl", "a", encoding="utf-8") as f:
        f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    print(f"moved {len(rows)} dev paragraphs")


if __name__ == "__main__":
    if sys.argv[1:2] == ["check"]:
        for name in sys.argv[2:]:
            check(name)
    elif sys.argv[1:2] == ["move-dev"]:
        move_dev_set()
    elif sys.argv[1:2] == ["append"]:
        append_documents(sys.argv[2:])
    elif sys.argv[1:2] == ["compile"]:
        compile_all(lenient="--lenient" in sys.argv)
    else:
        sys.exit(__doc__)
