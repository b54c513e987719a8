from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from rhetoric.report.html import write_report

LABELS = ["greeting", "historical_claim", "future_commitment", "other"]


def rows() -> list[dict]:
    return [
        {
            "doc": "d1",
            "text": "Warm congratulations <b>friends</b>!",
            "label": "greeting",
            "scores": {"greeting": 0.9, "historical_claim": 0.05, "future_commitment": 0.03, "other": 0.02},
        },
        {
            "doc": "d1",
            "text": "We will build a bridge.",
            "label": "future_commitment",
            "scores": {"greeting": 0.3, "historical_claim": 0.2, "future_commitment": 0.4, "other": 0.1},
        },
        {
            "doc": "d2",
            "text": "Founded in 1950.",
            "label": "historical_claim",
            "scores": {"greeting": 0.1, "historical_claim": 0.8, "future_commitment": 0.05, "other": 0.05},
        },
    ]


def test_report_pages(tmp_path: Path) -> None:
    meta = pd.DataFrame(
        {
            "doc_id": ["d1", "d2"],
            "source": ["Agency A", "Agency B"],
            "date": ["2025-01-01"] * 2,
            "countries": ["Laos; Vietnam", "Peru"],
            "occasion": ["national_day", "state_visit"],
        }
    )
    pages = write_report(rows(), LABELS, tmp_path, 0.6, meta)
    assert pages == 3
    index = (tmp_path / "index.html").read_text()
    assert 'href="documents/d1.html"' in index and "Label mix by countries" in index and "Vietnam" in index
    page = (tmp_path / "documents/d1.html").read_text()
    assert "&lt;b&gt;friends&lt;/b&gt;" in page  # text is escaped, never injected
    assert page.count('class="para low"') == 1  # the 0.4 paragraph is flagged
    assert "#7ccf85" in page  # future_commitment shading


@pytest.mark.skipif(not shutil.which("chromium"), reason="chromium is not installed")
@pytest.mark.parametrize("page", ["documents/d1.html", "index.html"])
def test_report_renders_in_headless_chromium(tmp_path: Path, page: str) -> None:
    from PIL import Image

    write_report(rows(), LABELS, tmp_path, 0.6)
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--hide-scrollbars",
            f"--screenshot={shot}",
            "--window-size=900,700",
            (tmp_path / page).as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    image = Image.open(shot).convert("RGB")
    colours = set(image.getdata())
    assert (246, 201, 69) in colours  # the greeting legend chip (and shading) is drawn
    assert (124, 207, 133) in colours  # so is future_commitment's
    width, height = image.size
    right_edge = {image.getpixel((width - 2, y)) for y in range(0, height, 5)}
    assert right_edge == {(255, 255, 255)}  # nothing runs off the right edge


def test_label_mix_by_month() -> None:
    from rhetoric.report.html import label_mix_by_period

    meta = pd.DataFrame({"doc_id": ["d1", "d2"], "date": ["2025-01-05", "2025-03-09"]})
    mix = label_mix_by_period(rows(), LABELS, meta)
    assert list(mix.index) == ["2025-01", "2025-03"]
    assert mix.loc["2025-01", "greeting"] == 0.5 and mix.loc["2025-01", "future_commitment"] == 0.5
    assert mix.loc["2025-03", "historical_claim"] == 1.0
