"""`dvc plots show` renders offline: the page template carries vega, vega-lite and vega-embed."""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from headless_chromium import find_chromium, take_screenshot

from rhetoric.errors import RhetoricError
from rhetoric.report.plots_page import page_template, write_plots_page

# DVC draws the workspace's marks in the first colour of its palette.
DVC_WORKSPACE_COLOUR = (148, 93, 214)


def test_the_template_has_dvc_placeholders_and_no_cdn() -> None:
    page = page_template("window.vegaEmbed = function () {};", "6", "5.21", "7")
    assert "{plot_divs}" in page and "{refresh_tag}" in page
    assert "{scripts}" not in page  # where DVC would put its CDN <script src=...> tags
    assert "window.vegaEmbed = function () {};" in page and "src=" not in page


def test_a_bundle_that_would_close_the_script_is_refused() -> None:
    with pytest.raises(RhetoricError, match="</script"):
        page_template("var s = '</SCRIPT>';", "6", "5.21", "7")


def test_dvc_config_names_the_page_the_stage_writes(root: Path) -> None:
    config = configparser.ConfigParser()
    config.read(root / ".dvc/config")
    template = (root / ".dvc" / config["plots"]["html_template"]).resolve()
    stage = yaml.safe_load((root / "dvc.yaml").read_text())["stages"]["plots_page"]
    assert template == (root / stage["outs"][0]).resolve()
    assert f"--output {stage['outs'][0]}" in stage["cmd"]


def dvc(args: list[str], cwd: Path) -> None:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    subprocess.run(["dvc", *args], cwd=cwd, env=env, check=True, capture_output=True, timeout=120)


def screenshot_colours(page: Path, shot: Path) -> set[tuple[int, int, int]]:
    """The colours headless Chromium draws for `page` with every connection but loopback
    refused (tools/headless_chromium.py)."""
    from PIL import Image

    take_screenshot(page, shot)
    pixels = np.asarray(Image.open(shot).convert("RGB")).reshape(-1, 3)
    return {tuple(int(c) for c in pixel) for pixel in np.unique(pixels, axis=0)}


@pytest.mark.skipif(find_chromium() is None, reason="chromium is not installed")
def test_dvc_plots_show_renders_offline_with_our_page(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "scores.csv").write_text("label,f1\ngreeting,0.9\nother,0.6\n", encoding="utf-8")
    plots = {"plots": [{"scores.csv": {"template": "bar_horizontal", "x": "f1", "y": "label"}}]}
    (project / "dvc.yaml").write_text(yaml.safe_dump(plots), encoding="utf-8")
    dvc(["init", "--no-scm", "-q"], project)
    write_plots_page(project / "page.html")
    dvc(["plots", "show", "--html-template", "page.html", "-o", "ours"], project)
    dvc(["plots", "show", "-o", "default"], project)  # DVC's own page: vega from a CDN
    ours = screenshot_colours(project / "ours/index.html", tmp_path / "ours.png")
    default = screenshot_colours(project / "default/index.html", tmp_path / "default.png")
    assert DVC_WORKSPACE_COLOUR in ours  # the bars are drawn
    assert DVC_WORKSPACE_COLOUR not in default  # offline, DVC's own page stays blank
