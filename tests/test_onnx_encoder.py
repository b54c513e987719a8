"""Every embed backend against the fp32 torch vectors, and the torch-free prediction path."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rhetoric.encoders.embedding import Encoder, resolve_model
from rhetoric.encoders.factory import make_encoder
from rhetoric.encoders.onnx_encoder import (
    INT8_RECIPE,
    META_FILE,
    MODEL_FILE,
    WEIGHTS_FILE,
    OnnxEncoder,
    ensure_onnx_model,
    exported_meta,
)
from rhetoric.errors import ModelError
from rhetoric.io import write_json

pytestmark = pytest.mark.slow

TEXTS = [
    "Congratulations!",
    "The two leaders exchanged warm congratulations on the anniversary of diplomatic relations.",
    "Relations were established in 1955 and have grown steadily since, through trade, study and "
    "exchanges between the two parliaments, which met eleven times over those decades.",
    "Both sides will continue to deepen cooperation in trade and energy.",
    "Over 130 diplomats attended.",
    "KATHMANDU, March 3 --",
]
LONG = "The friendship was forged in the hard years of struggle. " * 40 + (
    "Both governments will build a new railway and open three consulates next year. " * 40
)


@pytest.fixture(scope="module")
def reference() -> Encoder:
    return Encoder(resolve_model("all-MiniLM-L6-v2"), device="cpu", backend="fp32")


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    identity = resolve_model("all-MiniLM-L6-v2")
    root = tmp_path_factory.mktemp("onnx")
    return {b: ensure_onnx_model(identity, root / b, b) for b in ("onnx", "int8")}


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1)


def test_onnx_fp32_matches_torch_fp32(reference: Encoder, exported: dict[str, Path]) -> None:
    encoder = OnnxEncoder(exported["onnx"])
    vectors = encoder.encode(TEXTS + [LONG])
    assert vectors.shape == (len(TEXTS) + 1, 384) and vectors.dtype == np.float32
    assert cosines(vectors, reference.encode(TEXTS + [LONG])).min() > 0.9999
    assert encoder.chunked == 1


def test_int8_stays_close_to_fp32(reference: Encoder, exported: dict[str, Path]) -> None:
    int8 = OnnxEncoder(exported["int8"]).encode(TEXTS)
    fp32 = reference.encode(TEXTS)
    # Sentences and paragraphs stay above 0.99; a one-word text is the worst case.
    assert cosines(int8, fp32)[1:].min() > 0.99 and cosines(int8, fp32)[0] > 0.97
    # Close, but really quantized: not the fp32 graph under another name.
    assert cosines(int8, fp32).min() < 0.9999
    # The projections' weights are stored in 8 bits (word embeddings, attention and the
    # GELU-fed feed-forward down-projections stay fp32: onnx_encoder.quantize_int8).
    sizes = {b: sum(f.stat().st_size for f in folder.glob("model.onnx*")) for b, folder in exported.items()}
    assert sizes["int8"] < 0.9 * sizes["onnx"]
    assert exported_meta(exported["int8"])["quantization"] == INT8_RECIPE


def test_weights_are_kept_beside_the_graph(exported: dict[str, Path]) -> None:
    """The package opens faster when onnxruntime maps the weights (see save_optimized)."""
    for folder in exported.values():
        graph, weights = (folder / MODEL_FILE).stat().st_size, (folder / WEIGHTS_FILE).stat().st_size
        assert graph < weights / 100


def test_batching_and_padding_do_not_change_a_vector(exported: dict[str, Path]) -> None:
    encoder = OnnxEncoder(exported["onnx"], batch_size=4)
    together = encoder.encode(TEXTS)
    alone = np.vstack([encoder.encode([text]) for text in TEXTS])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_export_is_reused_for_the_same_weights_and_redone_for_another_backend(
    exported: dict[str, Path], tmp_path: Path
) -> None:
    identity = resolve_model("all-MiniLM-L6-v2")
    stamp = (exported["onnx"] / MODEL_FILE).stat().st_mtime_ns
    assert ensure_onnx_model(identity, exported["onnx"], "onnx") == exported["onnx"]
    assert (exported["onnx"] / MODEL_FILE).stat().st_mtime_ns == stamp
    with pytest.raises(ModelError, match="not an ONNX backend"):
        ensure_onnx_model(identity, tmp_path / "x", "bf16")


def test_an_int8_export_by_an_older_recipe_is_redone(exported: dict[str, Path], tmp_path: Path) -> None:
    identity = resolve_model("all-MiniLM-L6-v2")
    folder = tmp_path / "int8"
    shutil.copytree(exported["int8"], folder)
    meta = exported_meta(folder)
    del meta["quantization"]  # as written before 7-bit weights (cosine ~0 for mpnet on AVX2)
    write_json(folder / META_FILE, meta)
    ensure_onnx_model(identity, folder, "int8")
    assert exported_meta(folder)["quantization"] == INT8_RECIPE


def test_incomplete_export_is_refused(tmp_path: Path) -> None:
    (tmp_path / MODEL_FILE).write_bytes(b"")
    with pytest.raises(ModelError, match="no exported embedder"):
        OnnxEncoder(tmp_path)


def test_make_encoder_picks_the_runtime_by_backend(exported: dict[str, Path]) -> None:
    identity = resolve_model("all-MiniLM-L6-v2")
    assert isinstance(make_encoder(identity, "cpu", "int8", 8, exported["int8"]), OnnxEncoder)
    with pytest.raises(ModelError, match="runs on the CPU"):
        make_encoder(identity, "cuda", "int8", 8, exported["int8"])


def test_prediction_path_imports_no_torch_sklearn_or_pandas() -> None:
    script = (
        "import sys\n"
        "import rhetoric.cli, rhetoric.stages.predict\n"
        "import rhetoric.encoders.onnx_encoder, rhetoric.model.linear_head\n"
        "heavy = {'torch', 'sentence_transformers', 'transformers', 'sklearn', 'skops', 'pandas'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_each_text_runs_at_its_own_width_whatever_its_batch_mates() -> None:
    """With a stand-in runtime that returns (the row's token count, the batch's width), any
    CPU sees the padding rule: a text's width is its own length rounded up to PAD_MULTIPLE,
    the same alone and beside longer texts, and every output row is its own text's."""
    from tokenizers import Tokenizer

    from rhetoric.encoders.embedding import PAD_MULTIPLE
    from rhetoric.encoders.onnx_encoder import TOKENIZER_FILE

    tokenizer = Tokenizer.from_file(str(Path(resolve_model("all-MiniLM-L6-v2").path) / TOKENIZER_FILE))
    tokenizer.enable_truncation(max_length=256)
    tokenizer.no_padding()
    encoder = object.__new__(OnnxEncoder)  # the batching alone: no exported model
    encoder.tokenizer = tokenizer
    encoder.meta = {"inputs": ["input_ids", "attention_mask"], "max_seq_length": 256, "dimension": 2}
    encoder.batch_size = 4

    def runtime(feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        mask = feed["attention_mask"]
        return [np.stack([mask.sum(axis=1), np.full(len(mask), mask.shape[1])], axis=1).astype(np.float32)]

    encoder.infer = runtime
    texts = [t for t in TEXTS if t.strip()]
    others = [" ".join(texts) * 2, texts[1] + " " + texts[2]]
    alone = np.vstack([encoder.run([text]) for text in texts])
    beside_others = encoder.run([*others, *texts, *others])[len(others) : len(others) + len(texts)]
    np.testing.assert_array_equal(beside_others, alone)
    tokens = [len(e.ids) for e in tokenizer.encode_batch(texts)]
    assert alone[:, 0].tolist() == tokens
    assert alone[:, 1].tolist() == [min(-(-n // PAD_MULTIPLE) * PAD_MULTIPLE, 256) for n in tokens]
