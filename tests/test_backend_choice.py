"""`auto` keeps int8-static only where the quantized model's recorded cosine to fp32 holds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import rhetoric.encoders.embedding as embedding
from rhetoric.encoders.embedding import EmbedderIdentity
from rhetoric.encoders.factory import EncoderRecipe, settle_auto

IDENTITY = EmbedderIdentity("tiny", "/nowhere", "ab" * 32)


def quantized_folder(root: Path, cosine_min: float) -> Path:
    """A folder that looks like a finished int8-static export with the given quality."""
    folder = root / "int8-static"
    folder.mkdir()
    (folder / "tokenizer.json").write_text("{}")
    (folder / "model.xml").write_text("<net/>")
    meta = {
        "embedder": IDENTITY.to_dict(),
        "backend": "int8-static",
        "model_file": "model.xml",
        "cosine_to_fp32": {"min": cosine_min, "mean": 0.995, "texts": 100},
    }
    (folder / "embedder.json").write_text(json.dumps(meta))
    return folder


@pytest.mark.parametrize(("cosine_min", "requested", "expected"), [
    (0.995, "auto", "int8-static"),
    (0.981, "auto", "fp32"),
    (0.981, "int8-static", "int8-static"),
])  # fmt: skip
def test_auto_falls_back_below_the_cosine_gate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cosine_min: float, requested: str, expected: str
) -> None:
    monkeypatch.setattr(embedding, "cpu_supports_bf16", lambda: False)
    recipe = EncoderRecipe(IDENTITY, "cpu", "int8-static", 32, quantized_folder(tmp_path, cosine_min), ("a",))
    settled = settle_auto(recipe, requested, lambda backend: tmp_path / backend)
    assert settled.backend == expected
    assert settled.folder == tmp_path / expected
    assert settled.calibration == (("a",) if expected == "int8-static" else ())


def test_auto_falls_back_when_the_corpus_is_too_small_to_calibrate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(embedding, "cpu_supports_bf16", lambda: False)
    recipe = EncoderRecipe(IDENTITY, "cpu", "int8-static", 32, tmp_path / "int8-static", ("one paragraph",))
    settled = settle_auto(recipe, "auto", lambda backend: tmp_path / backend)
    assert (settled.backend, settled.folder) == ("fp32", tmp_path / "fp32")
    assert not (tmp_path / "int8-static").exists()
