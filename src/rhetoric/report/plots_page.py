"""The page template `dvc plots show` fills, with vega, vega-lite and vega-embed inline.

DVC's own page loads those three libraries from a CDN, so offline it shows blank plots and
no message. DVC's supported way out is a page template of our own (`plots.html_template`
in .dvc/config): one that carries the libraries itself and leaves out DVC's `{scripts}`
placeholder, where the CDN tags would go. The libraries come from the vl-convert-python
package (`vl_convert.javascript_bundle`), pinned in pyproject.toml, so no third-party
JavaScript is committed here; the page is built by the `plots_page` stage.
"""

from __future__ import annotations

from pathlib import Path

from rhetoric.errors import RhetoricError
from rhetoric.io import atomic_open

# DVC's plot templates declare Vega-Lite v5; the bundle carries the newest v5 vl-convert has.
VEGA_LITE_MAJOR = "5"

PAGE = """<!DOCTYPE html>
<html>
<head>
    {refresh_tag}
    <meta charset="utf-8">
    <title>DVC Plot</title>
    <!-- vega {vega}, vega-lite {vega_lite}, vega-embed {vega_embed}: bundled by vl-convert-python -->
    <script type="text/javascript">
{bundle}
    </script>
    <style>
        table {{
            border-spacing: 15px;
        }}
    </style>
</head>
<body>
    {plot_divs}
</body>
</html>
"""


def newest_version(versions: list[str], major: str) -> str:
    """The newest `major.x` of `versions`.

    >>> newest_version(["5.8", "5.21", "5.16", "6.4"], "5")
    '5.21'
    """
    matching = [v for v in versions if v.split(".")[0] == major]
    if not matching:
        raise RhetoricError(
            f"vl-convert-python offers no Vega-Lite {major}.x (it has {versions}); reinstall it."
        )
    return max(matching, key=lambda v: tuple(int(part) for part in v.split(".")))


def page_template(bundle: str, vega: str, vega_lite: str, vega_embed: str) -> str:
    """DVC's page with `bundle` inline in place of its CDN scripts; DVC fills `{plot_divs}`
    and `{refresh_tag}`. The bundle cannot close the script element early."""
    if "</script" in bundle.lower():
        raise RhetoricError("the vl-convert JavaScript bundle contains '</script'; it cannot be inlined.")
    return PAGE.format(
        bundle=bundle,
        vega=vega,
        vega_lite=vega_lite,
        vega_embed=vega_embed,
        refresh_tag="{refresh_tag}",
        plot_divs="{plot_divs}",
    )


def write_plots_page(output: Path) -> str:
    """Write the offline page template to `output`; returns the Vega-Lite version bundled."""
    import vl_convert

    version = newest_version(list(vl_convert.get_vegalite_versions()), VEGA_LITE_MAJOR)
    page = page_template(
        vl_convert.javascript_bundle(vl_version=version),
        vl_convert.get_vega_version(),
        version,
        vl_convert.get_vega_embed_version(),
    )
    with atomic_open(output) as handle:
        handle.write(page)
    return version
