"""Stage `plots_page`: the page template that lets `dvc plots show` render offline."""

from __future__ import annotations

import logging
from pathlib import Path

from rhetoric.report.plots_page import write_plots_page

log = logging.getLogger(__name__)


def run(output: Path) -> None:
    version = write_plots_page(output)
    log.info("plots_page: vega, vega-lite %s and vega-embed inline -> %s", version, output)
