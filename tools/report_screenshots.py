"""Take the README's report screenshots (docs/img/report_*.png) with headless Chromium
(tools/headless_chromium.py: offline, as the tests draw them).

    python tools/report_screenshots.py REPORT_FOLDER DOCUMENT_ID [OUTPUT_FOLDER]

REPORT_FOLDER is what `rhetoric predict ... --report` wrote; DOCUMENT_ID names the page
shown for a document; OUTPUT_FOLDER defaults to docs/img. README says which run made them.
The screenshots are plain files: taking them is a script, not a test.
"""

from __future__ import annotations

import sys
from pathlib import Path

from headless_chromium import ChromiumMissing, take_screenshot

ROOT = Path(__file__).resolve().parents[1]
WINDOW = (1100, 900)  # width, height in CSS pixels: the first screen a reader sees


def main() -> None:
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    report, doc = Path(sys.argv[1]), sys.argv[2]
    output = Path(sys.argv[3]) if len(sys.argv) == 4 else ROOT / "docs/img"
    pages = {
        "report_index.png": report / "index.html",
        "report_document.png": report / f"documents/{doc}.html",
    }
    for name, page in pages.items():
        if not page.is_file():
            sys.exit(f"{page}: no such page; run `rhetoric predict ... --report {report}` first.")
        try:
            take_screenshot(page, output / name, WINDOW)
        except ChromiumMissing as error:
            sys.exit(str(error))
        print(f"{page} -> {output / name}")


if __name__ == "__main__":
    main()
