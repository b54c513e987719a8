"""HTML report of predictions: a corpus overview and one page per document.

The overview answers first: the label mix by source, country and occasion as charts (inline
SVG, so the page needs no script and no network), then the documents with their titles and
dates, then every low-confidence paragraph, each linked to its place in its document. A
document's page shades every paragraph by its label, lists every label's probability, the
gold label where one exists, and which sentences carried the paragraph's function.
"""

from __future__ import annotations

import hashlib
import re
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, PackageLoader

from rhetoric.errors import DataError
from rhetoric.io import atomic_open

COLOURS = {
    "greeting": "#f6c945",
    "historical_claim": "#7fb8e6",
    "future_commitment": "#7ccf85",
    "other": "#d5d5d5",
}
FALLBACK = ["#e39bd6", "#f29e6d", "#a3a0f0", "#9fe0d8"]
CHART_ROWS = 15  # values drawn per chart; every value is in the table below it
METADATA_GROUPS = ("source", "countries", "occasion")
GROUP_TITLES = {"source": "source", "countries": "country", "occasion": "occasion"}
# A gold label for a paragraph: (doc, whitespace-normalized text) -> label.
Gold = Mapping[tuple[str, str], str]


def label_colours(labels: Sequence[str]) -> dict[str, str]:
    spare = iter(FALLBACK * 4)
    return {label: COLOURS.get(label) or next(spare) for label in labels}


_PAGE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def page_name(doc: str) -> str:
    """The file of a document's page inside documents/ (the one place that names it): its
    id where that is a valid document id, else a name made from its hash, so a `doc` field of
    a JSONL input such as `../x` or `/etc/x` never names a file outside the report folder.

    >>> page_name("speech-1"), page_name(""), page_name("../../etc/passwd")
    ('speech-1.html', 'unnamed.html', 'doc-936d7c04cd83.html')
    """
    if not doc:
        return "unnamed.html"
    if _PAGE_ID.fullmatch(doc):
        return f"{doc}.html"
    return "doc-" + hashlib.sha1(doc.encode("utf-8", "surrogatepass")).hexdigest()[:12] + ".html"


def shorten(text: str, width: int) -> str:
    """`text` cut at a word boundary to at most `width` characters.

    >>> shorten("Leaders exchange congratulations on the anniversary of ties", 40)
    'Leaders exchange congratulations on the…'
    """
    return textwrap.shorten(text, width, placeholder="…")


def mix_rows(frame: pd.DataFrame, key: str, labels: Sequence[str]) -> list[dict[str, Any]]:
    """Per value of `key`: paragraph count and each label's share, most paragraphs first."""
    rows = []
    for value, group in frame.groupby(key, sort=True):
        counts = group["label"].value_counts()
        shares = {label: float(counts.get(label, 0)) / len(group) for label in labels}
        rows.append({"key": str(value), "n": len(group), "shares": shares})
    return sorted(rows, key=lambda r: (-r["n"], r["key"]))


def chart_segments(rows: Sequence[dict[str, Any]], labels: Sequence[str]) -> list[dict[str, Any]]:
    """Each row's stacked bar as (label, start, width) in shares of the bar (0-1)."""
    charted = []
    for row in rows:
        start, segments = 0.0, []
        for label in labels:
            width = row["shares"][label]
            if width > 0:
                segments.append({"label": label, "start": start, "width": width})
            start += width
        charted.append({**row, "segments": segments})
    return charted


def split_values(column: pd.Series) -> pd.Series:
    """A metadata cell of `;`-separated values as a list of stripped values."""
    return column.fillna("unknown").astype(str).map(lambda v: [p.strip() for p in v.split(";") if p.strip()])


def merge_country_spellings(meta: pd.DataFrame) -> pd.DataFrame:
    """`countries` with one spelling per country (report/countries.py), `;`-separated."""
    if "countries" not in meta.columns:
        return meta
    from rhetoric.report.countries import canonical_countries

    lists = meta["countries"].map(lambda v: [p.strip() for p in str(v).split(";")] if pd.notna(v) else [])
    canonical = canonical_countries(name for names in lists for name in names if name)
    merged = lists.map(lambda names: "; ".join(dict.fromkeys(canonical[n] for n in names if n)) or None)
    return meta.assign(countries=merged)


def document_titles(frame: pd.DataFrame, meta: pd.DataFrame | None) -> dict[str, str]:
    """A document's title: metadata `title` where present, else its first paragraph (the
    headline, in the documents we read), shortened."""
    titles = {
        str(doc): shorten(str(group.sort_values("idx")["text"].iloc[0]), 110)
        for doc, group in frame.groupby("doc", sort=False)
    }
    if meta is not None and "title" in meta.columns:
        for doc, title in zip(meta["doc"], meta["title"], strict=True):
            if pd.notna(title) and str(title).strip() and doc in titles:
                titles[doc] = str(title).strip()
    return titles


def evidence_of(row: dict[str, Any]) -> list[dict[str, Any]]:
    """The paragraph's sentences as shown: each with its own label and score, and whether it
    says what the paragraph was labeled (`agrees`). One sentence or none scored: the
    paragraph is its own evidence, shown as one plain sentence."""
    sentences = row.get("sentences") or []
    if len(sentences) < 2:
        return [{"text": row["text"], "label": None, "score": None, "agrees": False}]
    return [{**s, "agrees": s["label"] == row["label"]} for s in sentences]


def prepare(
    rows: list[dict[str, Any]], metadata: pd.DataFrame | None, gold: Gold | None
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The labeled rows as a frame (doc, idx, confidence, gold) and the metadata keyed by doc."""
    frame = pd.DataFrame(rows) if rows else pd.DataFrame(columns=["doc", "idx", "text", "label", "scores"])
    frame["doc"] = frame.get("doc", pd.Series([""] * len(frame))).fillna("").astype(str)
    if "idx" not in frame.columns:
        frame["idx"] = None
    position = frame.groupby("doc").cumcount()
    frame["idx"] = frame["idx"].where(frame["idx"].notna(), position).astype(int)
    frame["confidence"] = frame["scores"].map(lambda s: max(s.values()))
    gold = gold or {}
    frame["gold"] = pd.Series(  # object: a paragraph without gold keeps None, not NaN
        [gold.get((d, t)) for d, t in zip(frame["doc"], frame["text"], strict=True)],
        index=frame.index,
        dtype=object,
    )
    meta = None
    if metadata is not None and len(metadata):
        if "doc_id" not in metadata.columns:
            raise DataError(
                "--metadata: needs a 'doc_id' column naming each document "
                f"(has {', '.join(map(str, metadata.columns))})."
            )
        meta = merge_country_spellings(metadata.rename(columns={"doc_id": "doc"}))
        meta = meta.assign(doc=meta["doc"].astype(str)).drop_duplicates("doc")
    return frame, meta


def index_context(
    frame: pd.DataFrame, meta: pd.DataFrame | None, labels: Sequence[str], low: float
) -> dict[str, Any]:
    """Everything index.html shows."""
    titles = document_titles(frame, meta)
    charts = []
    if meta is not None:
        grouped_by = [c for c in METADATA_GROUPS if c in meta.columns]
        joined = frame.merge(meta[["doc", *grouped_by]], on="doc", how="left")
        for column in METADATA_GROUPS:
            if column in joined.columns:
                exploded = joined.assign(**{column: split_values(joined[column])}).explode(column)
                table = mix_rows(exploded, column, labels)
                charts.append(
                    {
                        "name": GROUP_TITLES[column],
                        "rows": table,
                        "chart": chart_segments(table[:CHART_ROWS], labels),
                        "more": max(0, len(table) - CHART_ROWS),
                    }
                )
    by_doc = {str(r["doc"]): r for r in meta.to_dict("records")} if meta is not None else {}
    documents = []
    for doc, group in frame.groupby("doc", sort=False):
        info = by_doc.get(doc, {})
        counts = group["label"].value_counts()
        documents.append(
            {
                "doc": doc,
                "href": f"documents/{page_name(doc)}",
                "title": titles[doc],
                "date": str(info["date"]) if pd.notna(info.get("date")) else "",
                "source": str(info["source"]) if pd.notna(info.get("source")) else "",
                "countries": str(info["countries"]) if pd.notna(info.get("countries")) else "",
                "n": len(group),
                "shares": {label: float(counts.get(label, 0)) / len(group) for label in labels},
                "n_low": int((group["confidence"] < low).sum()),
            }
        )
    documents.sort(key=lambda d: d["doc"])
    documents.sort(key=lambda d: d["date"], reverse=True)  # newest first, undated last
    flagged = frame[frame["confidence"] < low].sort_values(["confidence", "doc", "idx"])
    low_rows = [
        {
            "href": f"documents/{page_name(r['doc'])}#p{r['idx']}",
            "title": titles[r["doc"]],
            "number": r["idx"] + 1,
            "label": r["label"],
            "confidence": r["confidence"],
            "gold": r["gold"],
            "text": shorten(r["text"], 160),
        }
        for r in flagged.to_dict("records")
    ]
    with_gold = frame[frame["gold"].notna()]
    return {
        "charts": charts,
        "documents": documents,
        "low_rows": low_rows,
        "n_docs": frame["doc"].nunique(),
        "n_paragraphs": len(frame),
        "n_low": len(low_rows),
        "n_gold": len(with_gold),
        "n_gold_agree": int((with_gold["gold"] == with_gold["label"]).sum()),
    }


def document_context(doc: str, group: pd.DataFrame, meta_row: dict[str, Any], low: float) -> dict[str, Any]:
    """Everything a document's page shows."""
    paragraphs = []
    for r in group.sort_values("idx").to_dict("records"):
        sentences = evidence_of(r)
        paragraphs.append(
            {
                "idx": r["idx"],
                "label": r["label"],
                "scores": r["scores"],
                "low": r["confidence"] < low,
                "gold": r["gold"],
                "sentences": sentences,
                "evidence": [(n, s["score"]) for n, s in enumerate(sentences, start=1) if s["agrees"]],
            }
        )
    details = [
        str(meta_row[c])
        for c in ("source", "date", "countries", "occasion")
        if c in meta_row and pd.notna(meta_row[c])
    ]
    return {"doc": doc, "meta": " · ".join(details), "paragraphs": paragraphs}


def write_report(
    rows: list[dict[str, Any]],
    labels: Sequence[str],
    folder: Path,
    low: float,
    metadata: pd.DataFrame | None = None,
    gold: Gold | None = None,
) -> int:
    """Write folder/index.html and folder/documents/<doc>.html; return the number of pages.

    `rows` are predict's labeled paragraphs (doc, idx, text, label, scores, and optionally
    `sentences`: each sentence's text, label and score); `metadata` is data/documents.csv;
    `gold` the known labels."""
    env = Environment(loader=PackageLoader("rhetoric.report", "templates"), autoescape=True)
    colours = label_colours(labels)
    frame, meta = prepare(rows, metadata, gold)
    common = {"colours": colours, "labels": list(labels), "low": low}
    with atomic_open(folder / "index.html") as handle:
        handle.write(
            env.get_template("index.html.j2").render(**common, **index_context(frame, meta, labels, low))
        )
    titles = document_titles(frame, meta)
    by_doc = {str(r["doc"]): r for r in meta.to_dict("records")} if meta is not None else {}
    page = env.get_template("document.html.j2")
    for doc, group in frame.groupby("doc", sort=True):
        context = document_context(doc, group, by_doc.get(doc, {}), low)
        with atomic_open(folder / "documents" / page_name(doc)) as handle:
            handle.write(page.render(**common, **context, title=titles[doc]))
    return frame["doc"].nunique() + 1


def label_mix_by_period(
    rows: list[dict[str, Any]], labels: Sequence[str], metadata: pd.DataFrame
) -> pd.DataFrame:
    """Share of each label per month of the documents' dates (metadata `date`), as rows of
    (period, label, share) for DVC and as a period × label table for the PNG."""
    frame = pd.DataFrame(rows)[["doc", "label"]]
    dates = metadata.rename(columns={"doc_id": "doc"})[["doc", "date"]]
    frame = frame.merge(dates, on="doc", how="inner")
    frame["period"] = pd.to_datetime(frame["date"], errors="coerce").dt.to_period("M").astype(str)
    frame = frame[frame["period"] != "NaT"]
    counts = pd.crosstab(frame["period"], frame["label"]).reindex(columns=list(labels), fill_value=0)
    return counts.div(counts.sum(axis=1), axis=0).round(4)
