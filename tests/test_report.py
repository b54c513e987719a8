from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from headless_chromium import find_chromium, take_screenshot

from rhetoric.corpus.documents import gold_labels
from rhetoric.errors import DataError
from rhetoric.evaluation.plots import label_mix_figure
from rhetoric.report.countries import canonical_countries
from rhetoric.report.evidence import add_sentence_evidence, sentence_evidence
from rhetoric.report.html import label_colours, merge_country_spellings, write_report

LABELS = ["greeting", "historical_claim", "future_commitment", "other"]


def rows() -> list[dict]:
    return [
        {
            "doc": "d1",
            "idx": 0,
            "text": "Warm congratulations <b>friends</b>!",
            "label": "greeting",
            "scores": {"greeting": 0.9, "historical_claim": 0.05, "future_commitment": 0.03, "other": 0.02},
        },
        {
            "doc": "d1",
            "idx": 1,
            "text": "We will build a bridge.",
            "label": "future_commitment",
            "scores": {"greeting": 0.3, "historical_claim": 0.2, "future_commitment": 0.4, "other": 0.1},
        },
        {
            "doc": "d2",
            "idx": 0,
            "text": "Founded in 1950.",
            "label": "historical_claim",
            "scores": {"greeting": 0.1, "historical_claim": 0.8, "future_commitment": 0.05, "other": 0.05},
        },
    ]


def metadata() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "doc_id": ["d1", "d2"],
            "source": ["Agency A", "Agency B"],
            "date": ["2025-01-01", "2025-02-01"],
            "countries": ["Laos; Turkey", "Türkiye; Peru"],
            "occasion": ["national_day", "state_visit"],
        }
    )


def test_report_pages(tmp_path: Path) -> None:
    pages = write_report(rows(), LABELS, tmp_path, 0.6, metadata())
    assert pages == 3
    index = (tmp_path / "index.html").read_text()
    assert 'href="documents/d1.html"' in index and "Label mix by country" in index and "Laos" in index
    page = (tmp_path / "documents/d1.html").read_text()
    assert "&lt;b&gt;friends&lt;/b&gt;" in page  # text is escaped, never injected
    assert page.count('class="para low"') == 1  # the 0.4 paragraph is flagged
    assert "#7ccf85" in page  # future_commitment shading


def test_report_of_no_paragraphs_says_so(tmp_path: Path) -> None:
    assert write_report([], LABELS, tmp_path, 0.6, metadata()) == 1
    assert "0 documents, 0 paragraphs" in (tmp_path / "index.html").read_text()


def test_metadata_without_doc_ids_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="--metadata: needs a 'doc_id' column"):
        write_report(rows(), LABELS, tmp_path, 0.6, metadata().rename(columns={"doc_id": "id"}))


def test_index_answers_first_and_documents_carry_titles_and_dates(tmp_path: Path) -> None:
    write_report(rows(), LABELS, tmp_path, 0.6, metadata())
    index = (tmp_path / "index.html").read_text()
    charts = [index.index(f"Label mix by {name}") for name in ("source", "country", "occasion")]
    assert charts == sorted(charts) and charts[-1] < index.index("<h2>Documents") < index.index(
        'id="low-confidence"'
    )
    assert index.count("<svg") == 3  # one chart per metadata column
    # the title is the first paragraph (no `title` column) and the newest document comes first
    assert index.index("Founded in 1950.") < index.index("Warm congratulations")
    assert "2025-02-01" in index
    with_titles = metadata().assign(title=["Leaders meet", None])
    write_report(rows(), LABELS, tmp_path, 0.6, with_titles)
    index = (tmp_path / "index.html").read_text()
    assert ">Leaders meet</a>" in index and ">Founded in 1950.</a>" in index


def test_country_spellings_are_merged_in_the_report(tmp_path: Path) -> None:
    write_report(rows(), LABELS, tmp_path, 0.6, metadata())
    index = (tmp_path / "index.html").read_text()
    chart = index[index.index('id="by-country"') : index.index('id="by-occasion"')]
    assert "Türkiye" in chart and "Turkey" not in chart
    assert "<td>Türkiye</td><td>3</td>" in chart  # both documents' paragraphs in one row


@pytest.mark.parametrize(
    ("spellings", "one"),
    [
        (["Turkey", "Türkiye"], "Türkiye"),
        (["DPRK", "North Korea", "Democratic People's Republic of Korea"], "North Korea"),
        (["Republic of Korea", "South Korea"], "South Korea"),
        (["Viet Nam", "Vietnam"], "Vietnam"),
        (["Russian Federation", "Russia"], "Russia"),
        (["Cape Verde", "Cabo Verde"], "Cabo Verde"),
    ],
)
def test_canonical_countries_merge_spellings(spellings: list[str], one: str) -> None:
    assert set(canonical_countries(spellings).values()) == {one}


def test_names_that_are_no_country_are_kept_as_written() -> None:
    assert canonical_countries(["United Nations", "NATO", " African Union "]) == {
        "United Nations": "United Nations",
        "NATO": "NATO",
        " African Union ": "African Union",
    }


def test_merge_country_spellings_keeps_one_per_document() -> None:
    meta = pd.DataFrame({"doc": ["a", "b", "c"], "countries": ["Turkey; Türkiye; Laos", None, "DPRK"]})
    merged = merge_country_spellings(meta)
    assert merged["countries"].tolist()[0] == "Türkiye; Laos"
    assert pd.isna(merged["countries"].tolist()[1]) and merged["countries"].tolist()[2] == "North Korea"


def test_low_confidence_paragraphs_are_listed_and_linked_to_their_anchor(tmp_path: Path) -> None:
    write_report(rows(), LABELS, tmp_path, 0.6, metadata())
    index = (tmp_path / "index.html").read_text()
    listed = index[index.index('id="low-confidence"') :]
    assert listed.count("<li>") == 1 and 'href="documents/d1.html#p1"' in listed
    assert "We will build a bridge." in listed
    assert 'id="p1"' in (tmp_path / "documents/d1.html").read_text()
    write_report(rows(), LABELS, tmp_path, 0.95, metadata())  # a stricter threshold lists all three
    listed = (tmp_path / "index.html").read_text().split('id="low-confidence"')[1]
    assert listed.count("<li>") == 3


def test_gold_label_is_shown_beside_the_prediction(tmp_path: Path) -> None:
    gold = {("d1", "We will build a bridge."): "future_commitment", ("d2", "Founded in 1950."): "other"}
    write_report(rows(), LABELS, tmp_path, 0.6, metadata(), gold)
    d1, d2 = ((tmp_path / f"documents/{d}.html").read_text() for d in ("d1", "d2"))
    assert 'class="gold same">gold: future_commitment ✓' in d1 and d1.count('class="gold') == 1
    assert 'class="gold differs">gold: other ✗' in d2
    assert "2 paragraphs have a gold label and the model agrees on 1" in (tmp_path / "index.html").read_text()


def test_gold_labels_read_from_label_files(tmp_path: Path) -> None:
    first, second = tmp_path / "labels.jsonl", tmp_path / "dev.jsonl"
    first.write_text('{"doc": "d1", "text": "We  will build\\na bridge.", "label": "other"}\n')
    second.write_text('{"doc": "d1", "text": "We will build a bridge.", "label": "future_commitment"}\n')
    assert gold_labels([first], LABELS) == {("d1", "We will build a bridge."): "other"}
    assert gold_labels([first, second], LABELS) == {("d1", "We will build a bridge."): "future_commitment"}
    second.write_text('{"doc": "d1", "text": "x", "label": "praise"}\n')
    with pytest.raises(DataError, match="dev.jsonl, line 1"):
        gold_labels([second], LABELS)


class CountingLabeler:
    """Labels a sentence future_commitment when it says "will", else greeting; counts texts.
    Its sentence evidence labels each sentence of a text the same way (the real one pools
    the paragraph's token states: tests/test_sentence_evidence.py)."""

    labels = LABELS

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.calls = 0
        self.kept = False

    def keep_sentence_vectors(self) -> None:
        self.kept = True

    def label(self, texts):
        from rhetoric.model.labeler import LabeledParagraph

        self.seen += list(texts)
        self.calls += 1
        return [
            LabeledParagraph(
                "future_commitment" if "will" in t else "greeting",
                {"greeting": 0.3, "historical_claim": 0.0, "future_commitment": 0.7, "other": 0.0}
                if "will" in t
                else {"greeting": 0.8, "historical_claim": 0.0, "future_commitment": 0.2, "other": 0.0},
            )
            for t in texts
        ]

    def sentence_evidence(self, texts):
        from rhetoric.corpus.segment import sentences_of

        split = [sentences_of(t) for t in texts]
        split = [s if len(s) > 1 else [] for s in split]
        labeled = iter(self.label([s for group in split for s in group]))
        return [[(s, next(labeled)) for s in group] for group in split]


def test_sentence_evidence_asks_in_batches_of_paragraphs() -> None:
    labeler = CountingLabeler()
    texts = [
        "Congratulations on the day. We will build a bridge.",
        "A single sentence.",
        "We will build a bridge. Thanks.",
    ]
    evidence = sentence_evidence(labeler.sentence_evidence, texts, batch_size=2)
    assert [[s["label"] for s in e] for e in evidence] == [
        ["greeting", "future_commitment"],
        [],
        ["future_commitment", "greeting"],
    ]
    assert evidence[0][1] == {"text": "We will build a bridge.", "label": "future_commitment", "score": 0.7}
    assert labeler.calls == 2  # three paragraphs in batches of two


def test_document_page_marks_the_sentences_that_carry_the_label(tmp_path: Path) -> None:
    labeled = rows()
    labeled[1]["text"] = "Congratulations on the day. We will build a bridge."
    assert add_sentence_evidence(labeled, CountingLabeler().sentence_evidence) == 2
    write_report(labeled, LABELS, tmp_path, 0.6)
    page = (tmp_path / "documents/d1.html").read_text()
    assert page.count('class="sent agrees"') == 1 and page.count('class="sent"') == 1
    assert 'title="future_commitment 0.70">We will build a bridge.</span>' in page
    assert "evidence: sentence 2 (0.70)" in page


@pytest.mark.parametrize(("report", "evidence"), [(True, True), (True, False), (False, True)])
def test_predict_labels_sentences_only_for_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, report: bool, evidence: bool
) -> None:
    from rhetoric.model.prediction import Outputs
    from rhetoric.stages import predict as stage

    labeler = CountingLabeler()
    monkeypatch.setattr(stage.Labeler, "load", lambda *args, **kwargs: labeler)
    (tmp_path / "d1.txt").write_text("Congratulations on the day. We will build a bridge.\n\nThanks.\n")
    params = tmp_path / "params.yaml"
    params.write_text(f"predict:\n  sentence_evidence: {str(evidence).lower()}\n")
    outputs = Outputs(output=tmp_path / "out.jsonl", report=tmp_path / "report" if report else None)
    stage.run([tmp_path / "d1.txt"], tmp_path / "models", None, params, outputs)
    sentences = {"Congratulations on the day.", "We will build a bridge."}
    assert sentences <= set(labeler.seen) if report and evidence else not sentences & set(labeler.seen)
    assert labeler.kept is (report and evidence)  # sentence vectors kept from the labeling pass
    written = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [set(row) for row in written] == [{"doc", "idx", "text", "label", "scores"}] * 2  # schema kept
    if report:
        page = (tmp_path / "report/documents/d1.html").read_text()
        assert ('class="sent agrees"' in page) is evidence


@pytest.mark.parametrize(
    ("start", "end"), [("2025-01", "2025-03"), ("2023-01", "2026-06"), ("2010-05", "2026-06")]
)
def test_month_axis_has_few_readable_date_ticks(start: str, end: str) -> None:
    months = [str(p) for p in pd.period_range(start, end, freq="M")]
    mix = pd.DataFrame(0.25, index=pd.Index(months, name="period"), columns=LABELS)
    figure = label_mix_figure(mix, label_colours(LABELS))
    figure.canvas.draw()
    labels = figure.axes[0].get_xticklabels()
    left, right = figure.axes[0].get_xlim()
    shown = [t.get_text() for t in labels if t.get_text() and left <= t.get_position()[0] <= right]
    assert 2 <= len(shown) <= 12  # not one tick per month (42 and 194 in the longer cases)
    assert all(len(t.split()) == 2 and t.split()[1].isdigit() for t in shown)  # "Jan 2024": month and year
    assert all(t.get_rotation() > 0 for t in labels)


@pytest.mark.skipif(find_chromium() is None, reason="chromium is not installed")
@pytest.mark.parametrize("page", ["documents/d1.html", "index.html"])
def test_report_renders_in_headless_chromium(tmp_path: Path, page: str) -> None:
    """The report draws offline (tools/headless_chromium.py refuses all but loopback)."""
    from PIL import Image

    write_report(rows(), LABELS, tmp_path, 0.6, metadata())
    shot = tmp_path / "shot.png"
    take_screenshot(tmp_path / page, shot)
    image = Image.open(shot).convert("RGB")
    colours = set(image.get_flattened_data())
    assert (246, 201, 69) in colours  # the greeting legend chip (and shading) is drawn
    assert (124, 207, 133) in colours  # so is future_commitment's
    width, height = image.size
    right_edge = {image.getpixel((width - 2, y)) for y in range(0, height, 5)}
    assert right_edge == {(255, 255, 255)}  # nothing runs off the right edge
    if page == "index.html":  # the charts' bars fill the first screen, below the legend
        below_legend = set(image.crop((0, 250, width, height)).get_flattened_data())
        assert (246, 201, 69) in below_legend and (127, 184, 230) in below_legend


def test_label_mix_by_month() -> None:
    from rhetoric.report.html import label_mix_by_period

    meta = pd.DataFrame({"doc_id": ["d1", "d2"], "date": ["2025-01-05", "2025-03-09"]})
    mix = label_mix_by_period(rows(), LABELS, meta)
    assert list(mix.index) == ["2025-01", "2025-03"]
    assert mix.loc["2025-01", "greeting"] == 0.5 and mix.loc["2025-01", "future_commitment"] == 0.5
    assert mix.loc["2025-03", "historical_claim"] == 1.0
