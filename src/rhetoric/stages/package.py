"""Stage `package`: the trained model -> models/export (ONNX embedder, linear head as arrays)."""

from __future__ import annotations

import logging
from pathlib import Path

from rhetoric.model.export import export_model

log = logging.getLogger(__name__)


def run(model_dir: Path, output: Path, store: Path | None = None) -> None:
    manifest = export_model(model_dir, output, store)
    head = "linear head as arrays" if manifest["linear_head"] else "head stays in skops (not linear)"
    log.info("package: embedder as ONNX (%s), %s -> %s", manifest["embedder_backend"], head, output)
