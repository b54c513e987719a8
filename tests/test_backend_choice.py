"""`auto` picks per machine: int8-static on CPUs with int8 dot-product instructions (VNNI,
AMX), its other operations in bf16 where the CPU has native bf16; bf16 on GPUs and on bf16
CPUs without VNNI; torch fp32 elsewhere. int8-static is kept only where the quantized
model's recorded cosine to fp32 holds, and its bf16-rest vectors are stored apart."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

import rhetoric.encoders.embedding as embedding
from rhetoric.encoders.embedding import EmbedderIdentity, choose_backend, rest_precision, store_key
from rhetoric.encoders.factory import EncoderRecipe, check_int8_static
from rhetoric.encoders.openvino_encoder import RECIPE, serving_precision
from rhetoric.model.labeler import model_encoder

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


def on_cpu(monkeypatch: pytest.MonkeyPatch, flags: str, openvino: bool = True) -> None:
    """Pretend the CPU lists `flags` in /proc/cpuinfo and OpenVINO is (not) installed."""
    monkeypatch.setattr(embedding, "cpu_flags", lambda: f"flags\t\t: fpu sse2 avx2 {flags}\n")
    monkeypatch.setattr(embedding, "openvino_available", lambda: openvino)


@pytest.mark.parametrize(("flags", "openvino", "device", "expected"), [
    ("", True, "cpu", "fp32"),  # AVX2 alone: neither int8 path holds the real-text gate there
    ("avx512f avx512_vnni", True, "cpu", "int8-static"),
    ("avx_vnni", True, "cpu", "int8-static"),
    ("amx_int8 amx_tile", True, "cpu", "int8-static"),
    ("avx512_vnni", False, "cpu", "fp32"),  # OpenVINO removed
    ("avx512_vnni avx512_bf16", True, "cpu", "int8-static"),  # 3.48x against bf16's 1.83x
    ("amx_bf16 amx_int8", True, "cpu", "int8-static"),
    ("avx512_vnni avx512_bf16", False, "cpu", "bf16"),
    ("avx512_bf16", True, "cpu", "bf16"),
    ("amx_bf16", True, "cpu", "bf16"),
    ("", True, "cuda", "bf16"),
    ("avx512_vnni", True, "cuda", "bf16"),
    ("avx512_vnnix", True, "cpu", "fp32"),  # whole flags only
])  # fmt: skip
def test_auto_picks_the_fastest_backend_of_the_machine(
    monkeypatch: pytest.MonkeyPatch, flags: str, openvino: bool, device: str, expected: str
) -> None:
    on_cpu(monkeypatch, flags, openvino)
    assert choose_backend("auto", device) == expected


@pytest.mark.parametrize(("flags", "expected"), [
    ("avx512_vnni", "f32"),
    ("avx512_vnni avx512_bf16", "bf16"),
    ("amx_int8 amx_bf16", "bf16"),
    ("avx512_bf16x", "f32"),
])  # fmt: skip
def test_int8_static_runs_its_other_operations_in_bf16_only_where_native(
    monkeypatch: pytest.MonkeyPatch, flags: str, expected: str
) -> None:
    on_cpu(monkeypatch, flags)
    assert rest_precision() == expected


@pytest.mark.parametrize(("recorded", "flags", "expected", "warned"), [
    ("bf16", "avx512_vnni avx512_bf16", "bf16", False),
    ("f32", "avx512_vnni avx512_bf16", "f32", False),  # quantized on a CPU without bf16
    (None, "avx512_vnni avx512_bf16", "f32", False),  # quantized before the field existed
    ("bf16", "avx512_vnni", "f32", True),  # this CPU cannot: f32, said once
])  # fmt: skip
def test_a_quantized_model_is_served_in_the_precision_it_was_checked_in(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    recorded: str | None,
    flags: str,
    expected: str,
    warned: bool,
) -> None:
    """A package made on one CPU and served on another computes the vectors it was trained on
    where the CPU can, not the serving CPU's own choice."""
    on_cpu(monkeypatch, flags)
    meta = {} if recorded is None else {"rest_precision": recorded}
    with caplog.at_level("WARNING"):
        assert serving_precision(meta, Path("pkg/embedder")) == expected
    assert len([r for r in caplog.records if r.levelname == "WARNING"]) == int(warned)


def test_bf16_rest_vectors_are_stored_apart_from_f32_rest_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    """A store moved between a bf16 CPU and one without never mixes the two kinds of vectors;
    the other backends' keys do not depend on the CPU."""
    keys = {}
    for flags in ("avx512_vnni", "avx512_vnni avx512_bf16"):
        on_cpu(monkeypatch, flags)
        keys[flags] = {backend: store_key(IDENTITY, backend) for backend in ("fp32", "bf16", "int8-static")}
    with_bf16, without = keys["avx512_vnni avx512_bf16"], keys["avx512_vnni"]
    assert with_bf16["int8-static"] != without["int8-static"]
    assert with_bf16["int8-static"].startswith(without["int8-static"])
    assert (with_bf16["fp32"], with_bf16["bf16"]) == (without["fp32"], without["bf16"])


def test_int8_static_vectors_of_a_cpu_without_int8_dot_products_are_stored_apart(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """AVX2's int8 kernels give the same quantized model other vectors than VNNI's (realdev
    macro-F1 0.869 against 0.879, session 11): a store moved between the two keeps them
    apart, and the other backends' keys stay the same."""
    keys = {}
    for flags in ("", "avx512_vnni"):
        on_cpu(monkeypatch, flags)
        keys[flags] = {backend: store_key(IDENTITY, backend) for backend in ("fp32", "int8", "int8-static")}
    avx2, vnni = keys[""], keys["avx512_vnni"]
    assert avx2["int8-static"] == vnni["int8-static"] + "-no-int8-dot"
    assert (avx2["fp32"], avx2["int8"]) == (vnni["fp32"], vnni["int8"])


@pytest.mark.parametrize("backend", ["fp32", "bf16", "onnx", "int8", "int8-static"])
@pytest.mark.parametrize("flags", ["", "avx512_vnni", "amx_bf16"])
def test_an_explicit_backend_is_kept_as_asked(
    monkeypatch: pytest.MonkeyPatch, backend: str, flags: str
) -> None:
    on_cpu(monkeypatch, flags)
    assert choose_backend(backend, "cpu") == backend


def test_auto_quantizes_nothing_without_vnni(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    on_cpu(monkeypatch, "")
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
    on_cpu(monkeypatch, "")
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
    on_cpu(monkeypatch, "")
    recipe = EncoderRecipe(IDENTITY, "cpu", "int8-static", 32, tmp_path / "int8-static", ("one paragraph",))
    settled = check_int8_static(recipe, lambda backend: tmp_path / backend)
    assert (settled.backend, settled.folder) == ("fp32", tmp_path / "fp32")
    assert not (tmp_path / "int8-static").exists()


def test_a_quantization_by_an_older_recipe_is_not_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store quantized before the feed-forward down-projections stayed fp32 (mpnet: cosine
    0.982) is redone, here refused for want of calibration paragraphs, never reused."""
    on_cpu(monkeypatch, "")
    folder = quantized_folder(tmp_path, 0.995)
    meta = json.loads((folder / "embedder.json").read_text())
    del meta["quantization"]
    (folder / "embedder.json").write_text(json.dumps(meta))
    recipe = EncoderRecipe(IDENTITY, "cpu", "int8-static", 32, folder, ("one paragraph",))
    settled = check_int8_static(recipe, lambda backend: tmp_path / backend)
    assert (settled.backend, settled.folder) == ("fp32", tmp_path / "fp32")


@pytest.mark.parametrize(("trained_on", "expected_device"), [
    ("int8-static", "cpu"), ("onnx", "cpu"), ("int8", "cpu"), ("fp32", "cuda"), ("bf16", "cuda"),
])  # fmt: skip
def test_a_model_trained_on_cpu_runtime_vectors_loads_on_a_gpu_machine(
    monkeypatch: pytest.MonkeyPatch, trained_on: str, expected_device: str
) -> None:
    """A model made by `auto` on a VNNI CPU (int8-static vectors) and loaded without a
    package on a machine with a GPU runs its encoder on that machine's CPU: onnxruntime and
    OpenVINO refuse cuda."""
    import rhetoric.encoders.factory as factory

    made = {}
    monkeypatch.setattr(embedding, "choose_device", lambda device: "cuda")
    monkeypatch.setattr(factory, "make_encoder", lambda *args, **kwargs: made.setdefault("args", args))
    card = SimpleNamespace(embed_params=SimpleNamespace(backend=trained_on, batch_size=8))
    folder = SimpleNamespace(encoder_identity=lambda card: IDENTITY)
    model_encoder(folder, card, packaged=False, onnx_cache=Path("/nowhere"))  # type: ignore[arg-type]
    identity, device, backend = made["args"][:3]
    assert (identity, device, backend) == (IDENTITY, expected_device, trained_on)
