"""One spelling per country, so the report counts Turkey and Türkiye (or DPRK and North
Korea) as one row.

The names come from country_converter (coco), a maintained table of every country's names
and the regular expressions that recognise their spellings; we keep no list of our own.
Names it does not know (organisations such as the United Nations or NATO) are kept as
written.

coco 1.3.2 cannot read its own table under pandas 3 (empty ISO2 cells become NaN and its
regex compiler refuses them), so `converter` reads the table itself, keeping every cell a
string, and hands coco the frame. Only the loading is ours; the matching is coco's.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from typing import Any


@functools.cache
def converter() -> Any:
    """coco's converter over its own country table (built once: about 0.3 s)."""
    import country_converter as coco
    import pandas as pd

    frame = pd.read_csv(
        coco.country_converter.COUNTRY_DATA_FILE,
        sep="\t",
        encoding="utf-8",
        dtype=str,
        keep_default_na=False,  # "NA" is Namibia
        na_values=[""],
    )
    frame["ISO2"] = frame["ISO2"].fillna("")
    return coco.CountryConverter(country_data=frame)


def canonical_countries(names: Iterable[str]) -> dict[str, str]:
    """Each distinct name -> coco's short name for its country, or the name itself (stripped)
    where coco knows no country by it.

    >>> canonical_countries(["Turkey", "Türkiye", " DPRK", "NATO"])
    {'Turkey': 'Türkiye', 'Türkiye': 'Türkiye', ' DPRK': 'North Korea', 'NATO': 'NATO'}
    """
    distinct = list(dict.fromkeys(names))
    if not distinct:
        return {}
    # coco logs every name it cannot place at WARNING; an organisation is not a problem here.
    coco_log = logging.getLogger("country_converter.country_converter")
    level = coco_log.level
    coco_log.setLevel(logging.ERROR)
    try:
        found = converter().convert(
            [n.strip() for n in distinct], src="regex", to="name_short", not_found=None
        )
    finally:
        coco_log.setLevel(level)
    if isinstance(found, str):  # coco returns a bare string for one name
        found = [found]
    return {
        name: (short if isinstance(short, str) and short else name.strip())
        for name, short in zip(distinct, found, strict=True)
    }
