"""The int8-static backend (OpenVINO, calibrated int8) against fp32 torch vectors: quality,
determinism, the cache, and refusing to quantize without calibration paragraphs."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from rhetoric.corpus.segment import paragraph_sha1, segment_document
from rhetoric.encoders.embedding import (
    BACKEND_RECIPES,
    Encoder,
    cpu_supports_bf16,
    resolve_model,
    rest_precision,
)
from rhetoric.encoders.factory import load_exported, make_encoder
from rhetoric.encoders.onnx_encoder import META_FILE, exported_meta
from rhetoric.encoders.openvino_encoder import (
    MODEL_XML,
    QUANTIZATIONS,
    RECIPE,
    OpenVinoEncoder,
    Quantization,
    calibration_sample,
    ensure_openvino_model,
)
from rhetoric.errors import ModelError

pytest.importorskip("openvino")
pytest.importorskip("nncf")
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


def corpus_paragraphs() -> list[tuple[str, str]]:
    """(sha1, text) of the shipped corpus's paragraphs."""
    documents = sorted((ROOT / "data/documents").glob("*.txt"))
    texts = [p for d in documents for p in segment_document(d.read_text(encoding="utf-8"))]
    return [(paragraph_sha1(t), t) for t in texts]


@pytest.fixture(scope="module")
def sample() -> dict[str, list[str]]:
    """40 calibration paragraphs and 60 others to compare on."""
    paragraphs = calibration_sample(corpus_paragraphs(), 100)
    return {"calibration": paragraphs[:40], "check": paragraphs[40:]}


def quantize_with_check(
    folder: Path, sample: dict[str, list[str]], quantizations: tuple[Quantization, ...] = QUANTIZATIONS
) -> Path:
    """Quantize MiniLM on the sample's 40 calibration paragraphs, checked on its 60 others."""
    import rhetoric.encoders.openvino_encoder as openvino_encoder

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(openvino_encoder, "CALIBRATION_SIZE", len(sample["calibration"]))
        patch.setattr(openvino_encoder, "QUANTIZATIONS", quantizations)
        texts = sample["calibration"] + sample["check"]
        return ensure_openvino_model(resolve_model("all-MiniLM-L6-v2"), folder, texts)


@pytest.fixture(scope="module")
def quantized(tmp_path_factory: pytest.TempPathFactory, sample: dict[str, list[str]]) -> Path:
    return quantize_with_check(tmp_path_factory.mktemp("ov") / "embedder", sample)


def test_the_first_quantization_that_holds_its_bar_is_kept(quantized: Path) -> None:
    meta = exported_meta(quantized)
    names = [q.name for q in QUANTIZATIONS]
    kept = names.index(meta["kept"])
    tried = meta["cosine_to_fp32_tried"]
    assert [t["quantization"] for t in tried] == names[: kept + 1]  # in the order tried
    for quantization, result in zip(QUANTIZATIONS[:kept], tried, strict=False):
        assert result["min"] < quantization.min_check_cosine
    bar = QUANTIZATIONS[kept].min_check_cosine
    assert kept == len(QUANTIZATIONS) - 1 or meta["cosine_to_fp32"]["min"] >= bar
    assert bool(meta["matmuls_kept_fp32"]) == QUANTIZATIONS[kept].down_projections_fp32


def fake_quantize_ops(folder: Path) -> int:
    """How many FakeQuantize operations the saved model holds (one per int8 input)."""
    import openvino as ov

    return sum(
        op.get_type_name() == "FakeQuantize" for op in ov.Core().read_model(str(folder / MODEL_XML)).get_ops()
    )


def test_a_quantization_below_its_bar_gives_way_to_the_next(
    sample: dict[str, list[str]], tmp_path: Path
) -> None:
    every_int8 = QUANTIZATIONS[0]
    assert not every_int8.down_projections_fp32 and QUANTIZATIONS[-1].down_projections_fp32
    always = quantize_with_check(tmp_path / "a", sample, (replace(every_int8, min_check_cosine=-1.0),))
    unreachable = replace(every_int8, min_check_cosine=1.01)
    falls_back = quantize_with_check(tmp_path / "b", sample, (unreachable, QUANTIZATIONS[-1]))
    meta = exported_meta(falls_back)
    assert [t["quantization"] for t in meta["cosine_to_fp32_tried"]] == [
        every_int8.name,
        QUANTIZATIONS[-1].name,
    ]
    assert meta["kept"] == QUANTIZATIONS[-1].name
    assert meta["cosine_to_fp32"]["min"] == meta["cosine_to_fp32_tried"][-1]["min"]
    assert len(meta["matmuls_kept_fp32"]) == 6  # MiniLM's six down-projections
    assert exported_meta(always)["matmuls_kept_fp32"] == []
    # the saved model is the kept one: its six down-projections' inputs are not quantized
    assert fake_quantize_ops(always) - fake_quantize_ops(falls_back) >= 6


def test_the_store_names_the_recipe_it_holds() -> None:
    """RECIPE (what a cached quantization must match) and the store key of int8-static change
    together with every setting of QUANTIZATIONS (alpha and bar included): a new recipe under
    the old names would keep old quantizations and mix two kinds of vectors in one store.
    When this fails, rename the changed quantization and the store key, then update the pins."""
    assert (
        Quantization("every-matmul-int8-sq0.85", False, 0.85, 0.9945),
        Quantization("gelu-fed-fp32", True, None, -1.0),
    ) == QUANTIZATIONS
    assert (RECIPE, BACKEND_RECIPES["int8-static"]) == (
        "nncf-transformer-every-matmul-int8-sq0.85-else-gelu-fed-fp32",
        "ov-int8-static-sq85-else-ffn-fp32",
    )


def test_without_held_out_paragraphs_the_safest_quantization_is_kept(
    sample: dict[str, list[str]], tmp_path: Path
) -> None:
    folder = ensure_openvino_model(resolve_model("all-MiniLM-L6-v2"), tmp_path / "e", sample["calibration"])
    meta = exported_meta(folder)
    assert meta["kept"] == QUANTIZATIONS[-1].name and meta["cosine_to_fp32"] == {}


def test_static_int8_stays_close_to_fp32(quantized: Path, sample: dict[str, list[str]]) -> None:
    identity = resolve_model("all-MiniLM-L6-v2")
    reference = Encoder(identity, device="cpu", backend="fp32").encode(sample["check"])
    vectors = OpenVinoEncoder(quantized).encode(sample["check"])
    cosine = (reference * vectors).sum(axis=1)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert cosine.mean() >= 0.99 and cosine.min() >= 0.97, (cosine.mean(), cosine.min())


def test_quantizing_again_gives_the_same_vectors(
    quantized: Path, sample: dict[str, list[str]], tmp_path: Path
) -> None:
    again = quantize_with_check(tmp_path / "e", sample)
    first = OpenVinoEncoder(quantized).encode(sample["check"])
    assert np.array_equal(first, OpenVinoEncoder(again).encode(sample["check"]))


def test_batching_does_not_change_a_vector(quantized: Path, sample: dict[str, list[str]]) -> None:
    texts = sample["check"][:20]
    together = OpenVinoEncoder(quantized, batch_size=8).encode(texts)
    alone = np.stack([OpenVinoEncoder(quantized, batch_size=1).encode([t])[0] for t in texts[:5]])
    # each text at its own width: equal bytes on the bf16 CPU it was written on (2e-3 apart
    # before, when a batch padded to its longest text); 1e-6 leaves room for kernels of other CPUs
    np.testing.assert_allclose(together[:5], alone, rtol=0, atol=1e-6)


def test_a_vector_does_not_depend_on_the_texts_embedded_beside_it(
    quantized: Path, sample: dict[str, list[str]]
) -> None:
    """Each text is padded to its own width, so the other texts of a call (the local and the
    Ray engine group rows differently) leave its vector as it is (the same bytes on a bf16 CPU,
    where it moved by up to 2e-3 before)."""
    encoder = OpenVinoEncoder(quantized, batch_size=4)
    texts = sample["check"][:12]
    others = [" ".join(sample["check"][20:24]), sample["check"][30][:40]]
    alone = np.stack([encoder.encode([text])[0] for text in texts])
    beside_others = encoder.encode([*others, *texts, *others])[len(others) : len(others) + len(texts)]
    np.testing.assert_allclose(beside_others, alone, rtol=0, atol=1e-6)


def test_the_cache_is_reused_and_needs_calibration_only_the_first_time(
    quantized: Path, tmp_path: Path
) -> None:
    identity = resolve_model("all-MiniLM-L6-v2")
    stamp = (quantized / MODEL_XML).stat().st_mtime_ns
    assert exported_meta(quantized)["quantization"] == RECIPE
    assert ensure_openvino_model(identity, quantized, []) == quantized
    assert (quantized / MODEL_XML).stat().st_mtime_ns == stamp
    with pytest.raises(ModelError, match="calibration paragraphs"):
        ensure_openvino_model(identity, tmp_path / "empty", [])
    assert not (tmp_path / "empty").exists()


def test_factory_and_package_loader_pick_openvino(quantized: Path) -> None:
    identity = resolve_model("all-MiniLM-L6-v2")
    assert isinstance(make_encoder(identity, "cpu", "int8-static", 32, quantized), OpenVinoEncoder)
    assert isinstance(load_exported(quantized), OpenVinoEncoder)
    assert (quantized / META_FILE).is_file()


def test_the_check_records_the_precision_this_machine_runs_the_rest_in(quantized: Path) -> None:
    assert exported_meta(quantized)["rest_precision"] == rest_precision()


@pytest.mark.skipif(not cpu_supports_bf16(), reason="needs a CPU with native bf16")
def test_the_rest_in_bf16_changes_vectors_only_a_little(
    quantized: Path, sample: dict[str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    import rhetoric.encoders.openvino_encoder as openvino_encoder

    vectors = {}
    for precision in ("f32", "bf16"):
        monkeypatch.setattr(openvino_encoder, "rest_precision", lambda precision=precision: precision)
        vectors[precision] = OpenVinoEncoder(quantized).encode(sample["check"])
    cosine = (vectors["f32"] * vectors["bf16"]).sum(axis=1)
    assert not np.array_equal(vectors["f32"], vectors["bf16"])  # bf16 did run
    assert cosine.min() >= 0.995, cosine.min()
