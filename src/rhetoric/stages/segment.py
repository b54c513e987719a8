"""Stage `segment`: documents -> paragraph table (doc, idx, text, sha1, n_tokens)."""

from __future__ import annotations

import logging
from pathlib import Path

from rhetoric.corpus.documents import segment_folder
from rhetoric.io import write_parquet
from rhetoric.params import SegmentParams, read_params

log = logging.getLogger(__name__)


def run(documents: Path, output: Path, params_file: Path) -> None:
    params = SegmentParams.from_dict(read_params(params_file).get("segment"))
    paragraphs, summary = segment_folder(documents, params.max_document_bytes)
    write_parquet(output, paragraphs)
    log.info(
        "segment: %d documents, %d paragraphs, %d empty documents skipped%s -> %s",
        summary.documents,
        summary.paragraphs,
        len(summary.skipped_empty),
        f" ({', '.join(summary.skipped_empty)})" if summary.skipped_empty else "",
        output,
    )
