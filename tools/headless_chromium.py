"""Screenshots of our HTML pages by headless Chromium, with the network off.

tests/test_report.py and tests/test_plots_page.py assert what a page draws, and
tools/report_screenshots.py takes the README's screenshots; all three start Chromium the same
way, so the binary's name, its flags and the offline rules are written here once.

Why here: no part of the product runs a browser, so this is not a `rhetoric` module (and
tests/test_architecture.py and tests/test_dvc_deps.py, which read src/rhetoric, never see
it). Tests reach it through `pythonpath = ["tools"]` in pyproject.toml's pytest section,
pytest's own setting for this: its default "prepend" import mode puts only the test file's
folder on sys.path. `python tools/report_screenshots.py` finds it as a sibling, because Python
puts a script's folder first on sys.path.

Why our own code: Playwright and Selenium drive a browser they download themselves; we need
one command line for the system's `chromium`, which `subprocess` runs.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

WINDOW = (900, 700)  # width, height in CSS pixels

# Every connection but loopback goes to a closed port and no name resolves, so a page that
# needs anything from the internet (a CDN script, a web font) shows it by not drawing it.
OFFLINE_FLAGS = (
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
    "--host-resolver-rules=MAP * ~NOTFOUND",
)

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    *OFFLINE_FLAGS,
    # Scripts (vega's drawing) run to the end before the screenshot, in virtual time.
    "--virtual-time-budget=15000",
    "--hide-scrollbars",
)


class ChromiumMissing(RuntimeError):
    """Neither `chromium` nor `chromium-browser` is on PATH."""


def find_chromium() -> str | None:
    """The Chromium binary on PATH (Debian names it `chromium`, Ubuntu `chromium-browser`)."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def screenshot_command(
    chromium: str, page: Path, target: Path, profile: Path, window: tuple[int, int] = WINDOW
) -> list[str]:
    """The command line that draws `page` into the PNG `target` with a fresh `profile` folder."""
    width, height = window
    return [
        chromium,
        *FLAGS,
        f"--user-data-dir={profile}",
        f"--screenshot={target}",
        f"--window-size={width},{height}",
        page.resolve().as_uri(),
    ]


def take_screenshot(page: Path, target: Path, window: tuple[int, int] = WINDOW) -> None:
    """Draw `page` (a local HTML file) into the PNG `target`; raises ChromiumMissing, or
    subprocess's CalledProcessError / TimeoutExpired when Chromium fails or hangs."""
    chromium = find_chromium()
    if chromium is None:
        raise ChromiumMissing("chromium is not installed (apt-get install chromium).")
    target.parent.mkdir(parents=True, exist_ok=True)  # Chromium exits 0 without writing otherwise
    target.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        command = screenshot_command(chromium, page, target, Path(profile), window)
        subprocess.run(command, check=True, capture_output=True, timeout=120)
    if not target.is_file():
        raise subprocess.CalledProcessError(0, command, stderr=b"Chromium wrote no screenshot")
