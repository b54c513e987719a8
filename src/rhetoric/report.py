"""HTML report of predictions: a corpus overview and one page per document.

Each paragraph is shaded by its label, with every label's probability beside it;
paragraphs whose top probability is below the low-confidence threshold are flagged.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment

from rhetoric.io import atomic_open

COLOURS = {
    "greeting": "#f6c945",
    "historical_claim": "#7fb8e6",
    "future_commitment": "#7ccf85",
    "other": "#d5d5d5",
}
FALLBACK = ["#e39bd6", "#f29e6d", "#a3a0f0", "#9fe0d8"]

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 68rem; padding: 0 1rem;
       color: #222; line-height: 1.45; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
.legend span { display: inline-block; padding: .15rem .6rem; margin: 0 .4rem .4rem 0; border-radius: .3rem; }
.para { display: grid; grid-template-columns: minmax(0, 1fr) 14rem; gap: 1rem; margin: .6rem 0;
        padding: .6rem .8rem; border-radius: .4rem; border: 2px solid transparent; overflow-wrap: anywhere; }
.para.low { border: 2px dashed #c0392b; }
.scores { font-size: .8rem; font-variant-numeric: tabular-nums; }
.scores div { display: flex; justify-content: space-between; }
.flag { color: #c0392b; font-weight: 600; font-size: .8rem; }
table { border-collapse: collapse; width: 100%; font-size: .85rem; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #eee; vertical-align: middle; }
.wide { overflow-x: auto; }
.bar { display: flex; height: .9rem; width: 10rem; max-width: 100%; border-radius: .2rem; overflow: hidden; }
.bar span { display: block; height: 100%; }
"""

INDEX = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>rhetoric report</title>
<style>{{ style }}</style></head><body>
<h1>rhetoric: what each paragraph does</h1>
<p>{{ n_docs }} documents, {{ n_paragraphs }} paragraphs; {{ n_low }} below confidence {{ low }}.</p>
<div class="legend">{% for label, colour in colours.items() %}<span style="background:{{ colour }}">{{ label }}</span>{% endfor %}</div>
{% for group in groups %}
<h2>Label mix by {{ group.name }}</h2>
<div class="wide"><table><tr><th>{{ group.name }}</th><th>paragraphs</th><th>mix</th>{% for l in labels %}<th>{{ l }}</th>{% endfor %}</tr>
{% for row in group.rows %}<tr><td>{% if row.href %}<a href="{{ row.href }}">{{ row.key }}</a>{% else %}{{ row.key }}{% endif %}</td>
<td>{{ row.n }}</td><td><div class="bar">{% for l in labels %}<span title="{{ l }} {{ '%.0f' % (100 * row.shares[l]) }}%" style="width:{{ 100 * row.shares[l] }}%;background:{{ colours[l] }}"></span>{% endfor %}</div></td>
{% for l in labels %}<td>{{ '%.0f' % (100 * row.shares[l]) }}%</td>{% endfor %}</tr>{% endfor %}
</table></div>{% endfor %}
</body></html>"""

DOCUMENT = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{{ doc }}: rhetoric</title>
<style>{{ style }}</style></head><body>
<p><a href="../index.html">← all documents</a></p>
<h1>{{ doc }}</h1>{% if meta %}<p>{{ meta }}</p>{% endif %}
<div class="legend">{% for label, colour in colours.items() %}<span style="background:{{ colour }}">{{ label }}</span>{% endfor %}</div>
{% for p in paragraphs %}
<div class="para{% if p.low %} low{% endif %}" style="background:{{ colours[p.label] }}33; border-left: 6px solid {{ colours[p.label] }}"
     title="{% for l, s in p.scores.items() %}{{ l }} {{ '%.2f' % s }}&#10;{% endfor %}">
<div>{{ p.text }}</div>
<div class="scores"><strong>{{ p.label }}</strong>{% if p.low %} <span class="flag">low confidence</span>{% endif %}
{% for l, s in p.scores.items() %}<div><span>{{ l }}</span><span>{{ '%.2f' % s }}</span></div>{% endfor %}</div>
</div>{% endfor %}
</body></html>"""


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
                "href": f"documents/{value}.html" if link else None,
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
    env = Environment(autoescape=True)
    colours = label_colours(labels)
    frame = pd.DataFrame(rows)
    frame["doc"] = frame.get("doc", pd.Series([""] * len(frame))).fillna("").astype(str)
    frame["confidence"] = frame["scores"].map(lambda s: max(s.values()))
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
            env.from_string(INDEX).render(
                style=STYLE,
                colours=colours,
                labels=list(labels),
                groups=groups,
                n_docs=frame["doc"].nunique(),
                n_paragraphs=len(frame),
                n_low=int((frame["confidence"] < low).sum()),
                low=low,
            )
        )
    page = env.from_string(DOCUMENT)
    for doc, group in frame.groupby("doc", sort=True):
        paragraphs = [
            {"text": r["text"], "label": r["label"], "scores": r["scores"], "low": r["confidence"] < low}
            for r in group.to_dict("records")
        ]
        with atomic_open(folder / "documents" / f"{doc or 'unnamed'}.html") as handle:
            handle.write(
                page.render(
                    style=STYLE,
                    colours=colours,
                    doc=doc,
                    meta=meta_by_doc.get(doc, ""),
                    paragraphs=paragraphs,
                )
            )
    return frame["doc"].nunique() + 1
