"""HTML report of predictions: a corpus overview and one page per document.

Each paragraph is shaded by its label, with every label's probability beside it;
paragraphs whose top probability is below the low-confidence threshold are flagged.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, PackageLoader

from rhetoric.io import atomic_open

COLOURS = {
    "greeting": "#f6c945",
    "historical_claim": "#7fb8e6",
    "future_commitment": "#7ccf85",
    "other": "#d5d5d5",
}
FALLBACK = ["#e39bd6", "#f29e6d", "#a3a0f0", "#9fe0d8"]


_PAGE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def page_name(doc: str) -> str:
    """The file name (without .html) of a document's page: its id where that is a valid
    document id, else a name made from its hash, so a `doc` field of a JSONL input such as
    `../x` or `/etc/x` never names a file outside the report folder.

    >>> page_name("speech-1"), page_name(""), page_name("../../etc/passwd")
    ('speech-1', 'unnamed', 'doc-936d7c04cd83')
    """
    if not doc:
        return "unnamed"
    if _PAGE_NAME.fullmatch(doc):
        return doc
    return "doc-" + hashlib.sha1(doc.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def label_colours(labels: Sequence[str]) -> dict[str, str]:
    spare = iter(FALLBACK * 4)
    return {label: COLOURS.get(label) or next(spare) for label in labels}


def mix_rows(frame: pd.DataFrame, key: str, labels: Sequence[str], link: bool) -> list[dict[str, Any]]:
    rows = []
    for value, group in frame.groupby(key, sort=True):
        counts = group["label"].value_counts()
        shares = {label: float(counts.get(label, 0)) / len(group) for label in labels}
        rows.append(
            {
                "key": value,
                "n": len(group),
                "shares": shares,
                "href": f"documents/{page_name(value)}.html" if link else None,
            }
        )
    return rows


def write_report(
    rows: list[dict[str, Any]],
    labels: Sequence[str],
    folder: Path,
    low: float,
    metadata: pd.DataFrame | None = None,
) -> int:
    """Write folder/index.html and folder/documents/<doc>.html; return the number of pages."""
    env = Environment(loader=PackageLoader("rhetoric.report", "templates"), autoescape=True)
    colours = label_colours(labels)
    frame = pd.DataFrame(rows, columns=sorted({"doc", "label", "scores", "text"}.union(*map(set, rows))))
    frame["doc"] = frame["doc"].fillna("").astype(str)
    frame["confidence"] = (
        frame["scores"].map(lambda s: max(s.values())).astype(float)
    )  # empty: a report of none
    groups = [{"name": "document", "rows": mix_rows(frame, "doc", labels, link=True)}]
    meta_by_doc: dict[str, str] = {}
    if metadata is not None and len(metadata):
        meta = metadata.rename(columns={"doc_id": "doc"})
        meta_by_doc = {
            r["doc"]: " · ".join(
                str(r[c])
                for c in ("source", "date", "countries", "occasion")
                if c in meta.columns and pd.notna(r[c])
            )
            for r in meta.to_dict("records")
        }
        joined = frame.merge(meta, on="doc", how="left")
        for column in ("source", "countries", "occasion"):
            if column in joined.columns:
                exploded = joined.assign(
                    **{column: joined[column].fillna("unknown").astype(str).str.split(";")}
                )
                exploded = exploded.explode(column)
                exploded[column] = exploded[column].str.strip()
                groups.append({"name": column, "rows": mix_rows(exploded, column, labels, link=False)})
    with atomic_open(folder / "index.html") as handle:
        handle.write(
            env.get_template("index.html.j2").render(
                colours=colours,
                labels=list(labels),
                groups=groups,
                n_docs=frame["doc"].nunique(),
                n_paragraphs=len(frame),
                n_low=int((frame["confidence"] < low).sum()),
                low=low,
            )
        )
    page = env.get_template("document.html.j2")
    for doc, group in frame.groupby("doc", sort=True):
        paragraphs = [
            {"text": r["text"], "label": r["label"], "scores": r["scores"], "low": r["confidence"] < low}
            for r in group.to_dict("records")
        ]
        with atomic_open(folder / "documents" / f"{page_name(doc)}.html") as handle:
            handle.write(
                page.render(
                    colours=colours,
                    doc=doc,
                    meta=meta_by_doc.get(doc, ""),
                    paragraphs=paragraphs,
                )
            )
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
