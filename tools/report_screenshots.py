"""Take the README's report screenshots (docs/img/report_*.png) with headless Chromium.

    python tools/report_screenshots.py REPORT_FOLDER DOCUMENT_ID [OUTPUT_FOLDER]

REPORT_FOLDER is what `rhetoric predict ... --report` wrote; DOCUMENT_ID names the page
shown for a document; OUTPUT_FOLDER defaults to docs/img. README says which run made them.
The screenshots are plain files: taking them is a script, not a test.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIZE = "1100,900"  # width, height in CSS pixels: the first screen a reader sees


def screenshot(page: Path, target: Path, size: str = SIZE) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("chromium is not installed (apt-get install chromium).")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                f"--user-data-dir={profile}",
                "--hide-scrollbars",
                f"--screenshot={target}",
                f"--window-size={size}",
                page.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )


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
        screenshot(page, output / name)
        print(f"{page} -> {output / name}")


if __name__ == "__main__":
    main()
