"""`auto` never quantizes (bf16 or torch fp32); the opt-in int8-static is kept only where the
quantized model's recorded cosine to fp32 holds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import rhetoric.encoders.embedding as embedding
from rhetoric.encoders.embedding import EmbedderIdentity, choose_backend
from rhetoric.encoders.factory import EncoderRecipe, check_int8_static
from rhetoric.encoders.openvino_encoder import RECIPE

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
        "quantization": RECIPE,
        "cosine_to_fp32": {"min": cosine_min, "mean": 0.995, "texts": 100},
    }
    (folder / "embedder.json").write_text(json.dumps(meta))
    return folder


@pytest.mark.parametrize(("bf16", "device", "expected"), [
    (False, "cpu", "fp32"),
    (True, "cpu", "bf16"),
    (False, "cuda", "bf16"),
])  # fmt: skip
def test_auto_is_a_torch_backend_never_int8_static(
    monkeypatch: pytest.MonkeyPatch, bf16: bool, device: str, expected: str
) -> None:
    monkeypatch.setattr(embedding, "cpu_supports_bf16", lambda: bf16)
    monkeypatch.setattr(embedding, "openvino_available", lambda: True)
    assert choose_backend("auto", device) == expected


@pytest.mark.parametrize("backend", ["fp32", "bf16", "onnx", "int8", "int8-static"])
def test_an_explicit_backend_is_kept_as_asked(monkeypatch: pytest.MonkeyPatch, backend: str) -> None:
    monkeypatch.setattr(embedding, "cpu_supports_bf16", lambda: False)
    assert choose_backend(backend, "cpu") == backend


def test_auto_quantizes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedding, "cpu_supports_bf16", lambda: False)
    backend = choose_backend("auto", "cpu")
    recipe = EncoderRecipe(IDENTITY, "cpu", backend, 32, tmp_path / backend, ("a",) * 400)
    assert check_int8_static(recipe, lambda b: tmp_path / b) == recipe
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize(("cosine_min", "expected"), [(0.995, "int8-static"), (0.981, "fp32")])
def test_int8_static_falls_back_below_the_cosine_gate(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    cosine_min: float,
    expected: str,
) -> None:
    monkeypatch.setattr(embedding, "cpu_supports_bf16", lambda: False)
    recipe = EncoderRecipe(IDENTITY, "cpu", "int8-static", 32, quantized_folder(tmp_path, cosine_min), ("a",))
    with caplog.at_level("WARNING"):
        settled = check_int8_static(recipe, lambda backend: tmp_path / backend)
    assert settled.backend == expected
    assert settled.folder == tmp_path / expected
    assert settled.calibration == (("a",) if expected == "int8-static" else ())
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == (0 if expected == "int8-static" else 1)


def test_int8_static_falls_back_when_the_corpus_is_too_small_to_calibrate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(embedding, "cpu_supports_bf16", lambda: False)
    recipe = EncoderRecipe(IDENTITY, "cpu", "int8-static", 32, tmp_path / "int8-static", ("one paragraph",))
    settled = check_int8_static(recipe, lambda backend: tmp_path / backend)
    assert (settled.backend, settled.folder) == ("fp32", tmp_path / "fp32")
    assert not (tmp_path / "int8-static").exists()


def test_a_quantization_by_an_older_recipe_is_not_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store quantized before the feed-forward down-projections stayed fp32 (mpnet: cosine
    0.982) is redone, here refused for want of calibration paragraphs, never reused."""
    monkeypatch.setattr(embedding, "cpu_supports_bf16", lambda: False)
    folder = quantized_folder(tmp_path, 0.995)
    meta = json.loads((folder / "embedder.json").read_text())
    del meta["quantization"]
    (folder / "embedder.json").write_text(json.dumps(meta))
    recipe = EncoderRecipe(IDENTITY, "cpu", "int8-static", 32, folder, ("one paragraph",))
    settled = check_int8_static(recipe, lambda backend: tmp_path / backend)
    assert (settled.backend, settled.folder) == ("fp32", tmp_path / "fp32")
