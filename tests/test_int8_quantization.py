"""The `int8` backend's quantization recipe on tiny hand-built graphs (fast, no embedder).

all-mpnet-base-v2 once came out of `quantize_int8` with vectors unrelated to fp32 (cosine
about 0): 8-bit weights saturate onnxruntime's 16-bit pair sums on CPUs without VNNI, and
the feed-forward down-projections' outlier inputs lost their precision. These tests hold
both fixes without the 400 MB model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from rhetoric.encoders.onnx_encoder import INT8_RECIPE, export_staleness, gelu_fed_matmuls, quantize_int8

WIDTH = 256


def session(path: Path):  # noqa: ANN201 (onnxruntime's session type)
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def sign_weights(seed: int, columns: int) -> np.ndarray:
    """Weights of one magnitude: every weight is at its column's int8 extreme, where the
    pair sums of 8-bit products overflow 16 bits."""
    return np.random.default_rng(seed).choice([-1.0, 1.0], size=(WIDTH, columns)).astype(np.float32)


def projection_graph(path: Path) -> None:
    """y = x @ W, then (x @ W2) through an unfused GELU (as torch exports it) into z = g @ W3."""
    erf_chain = [
        helper.make_node("MatMul", ["x", "w"], ["y"], name="projection"),
        helper.make_node("MatMul", ["x", "w2"], ["up"], name="up"),
        helper.make_node("Div", ["up", "sqrt2"], ["scaled"]),
        helper.make_node("Erf", ["scaled"], ["erf"]),
        helper.make_node("Add", ["erf", "one"], ["shifted"]),
        helper.make_node("Mul", ["up", "shifted"], ["gated"]),
        helper.make_node("Mul", ["gated", "half"], ["gelu"]),
        helper.make_node("MatMul", ["gelu", "w3"], ["z"], name="down"),
    ]
    constants = {
        "w": sign_weights(1, 64),
        "w2": sign_weights(2, WIDTH) / 16,
        "w3": sign_weights(3, 64),
        "sqrt2": np.array(np.sqrt(2.0), dtype=np.float32),
        "one": np.array(1.0, dtype=np.float32),
        "half": np.array(0.5, dtype=np.float32),
    }
    graph = helper.make_graph(
        erf_chain,
        "projections",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", WIDTH])],
        [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 64]),
            helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", 64]),
        ],
        [numpy_helper.from_array(value, name) for name, value in constants.items()],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))


@pytest.fixture(scope="module")
def graphs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("int8")
    projection_graph(root / "fp32.onnx")
    quantize_int8(root / "fp32.onnx", root / "int8.onnx")
    return root / "fp32.onnx", root / "int8.onnx"


def test_only_the_gelu_fed_matmul_is_kept_in_fp32(graphs: tuple[Path, Path]) -> None:
    fp32, int8 = (onnx.load(str(path)).graph for path in graphs)
    assert gelu_fed_matmuls(fp32) == ["down"]
    kept = [node.name for node in int8.node if node.op_type == "MatMul"]
    assert kept == ["down"]  # the other two became integer products


def test_a_fused_gelu_counts_as_gelu() -> None:
    nodes = [
        helper.make_node("BiasGelu", ["h", "b"], ["g"], domain="com.microsoft"),
        helper.make_node("MatMul", ["g", "w"], ["out"], name="down"),
        helper.make_node("MatMul", ["h", "w"], ["other"], name="plain"),
    ]
    graph = helper.make_graph(nodes, "fused", [], [])
    assert gelu_fed_matmuls(graph) == ["down"]


def test_quantized_weights_fit_seven_bits(graphs: tuple[Path, Path]) -> None:
    """7-bit weights cannot saturate 16-bit pair sums, on any CPU (VNNI or not)."""
    int8 = onnx.load(str(graphs[1])).graph
    quantized = [numpy_helper.to_array(t) for t in int8.initializer if t.data_type == TensorProto.INT8]
    assert quantized
    assert max(int(np.abs(q.astype(np.int32)).max()) for q in quantized) <= 64


def test_int8_products_stay_close_to_fp32(graphs: tuple[Path, Path]) -> None:
    """On this machine's CPU, whatever its instructions: inputs spread over their whole
    range times weights at their extremes are where 8-bit weights lost everything."""
    x = np.random.default_rng(4).uniform(-1, 1, size=(8, WIDTH)).astype(np.float32)
    exact, approximate = (session(path).run(None, {"x": x}) for path in graphs)
    for a, b in zip(exact, approximate, strict=True):
        cosine = (a * b).sum(axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
        assert cosine.min() > 0.99


@pytest.mark.parametrize(
    ("meta", "stale"),
    [
        ({"backend": "onnx", "outputs": ["embedding", "token_embeddings"], "token_pooling": "mean"}, None),
        ({"backend": "onnx", "outputs": ["embedding"]}, "token states"),
        ({"backend": "onnx", "outputs": ["embedding", "token_embeddings"]}, "token states"),
        (
            {"backend": "int8", "outputs": ["embedding", "token_embeddings"], "token_pooling": "mean"},
            "older int8",
        ),
        (
            {
                "backend": "int8",
                "outputs": ["embedding", "token_embeddings"],
                "token_pooling": "mean",
                "quantization": INT8_RECIPE,
            },
            None,
        ),
    ],
)
def test_an_export_by_an_older_recipe_is_redone(meta: dict, stale: str | None) -> None:
    reason = export_staleness(meta)
    assert reason is None if stale is None else stale in reason
