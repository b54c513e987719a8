"""How fast this CPU can multiply matrices in fp32 and in int8, and how close plain
sentence-transformers already runs to the fp32 rate: the ceiling of any int8 backend's
speed-up over plain fp32 here.

    python benchmarks/cpu_bound.py [ENCODER] [PARAGRAPHS] [ROUNDS]

An encoder's forward pass is almost all matrix products of a (tokens x hidden) activation
by a weight; int8 backends speed those up, nothing else. So the speed-up of an int8
backend over plain fp32 is at most

    (int8 GEMM rate / fp32 GEMM rate) / (the share of the fp32 GEMM rate plain reaches),

and less in practice: quantizing activations, attention and softmax stay in fp32. This
script measures each factor on the same cores, in interleaved rounds:

- fp32 and bf16 GEMM: `torch.matmul`, the shapes of one BERT-base layer's four products (tokens
  x 768 by 768 x 768, 768 x 2304, 768 x 3072, 3072 x 768), on every core;
- int8 GEMM: the same products as u8 x s8 -> s32 in onnxruntime (`MatMulInteger`, MLAS)
  and in PyTorch's fbgemm (`quantized::linear_dynamic`, which also quantizes its input
  and returns fp32, as a dynamically quantized model does);
- plain sentence-transformers fp32 on corpus paragraphs (default ENCODER
  all-mpnet-base-v2, 96 paragraphs): its products' operations per second, counted from
  the model's shapes and the tokens it ran.

Operations are counted as 2 x M x K x N per product, for fp32 and int8 alike. Our own
code because no library reports these rates for the shapes that matter here.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench import machine  # noqa: E402

TOKENS = 2048  # rows of the activation: 32 paragraphs of 64 tokens
SHAPES = ((768, 768), (768, 2304), (768, 3072), (3072, 768))  # (K, N) of one layer's products


def layer_ops(tokens: int) -> float:
    return sum(2.0 * tokens * k * n for k, n in SHAPES)


def torch_gemm(dtype_name: str) -> callable:
    import torch

    dtype = getattr(torch, dtype_name)
    gen = torch.Generator().manual_seed(0)
    x = {k: torch.randn(TOKENS, k, generator=gen).to(dtype) for k in (768, 3072)}
    w = [torch.randn(k, n, generator=gen).to(dtype) for k, n in SHAPES]

    def one_layer() -> None:
        for (k, _), weight in zip(SHAPES, w, strict=True):
            torch.matmul(x[k], weight)

    return one_layer


def fbgemm_int8() -> callable:
    import torch

    gen = torch.Generator().manual_seed(0)
    x = {k: torch.randn(TOKENS, k, generator=gen) for k in (768, 3072)}
    packed = []
    for k, n in SHAPES:
        weight = torch.randn(n, k, generator=gen)
        scale = float(weight.abs().max()) / 127
        qweight = torch.quantize_per_tensor(weight, scale, 0, torch.qint8)
        packed.append(torch.ops.quantized.linear_prepack(qweight, torch.zeros(n)))

    def one_layer() -> None:
        for (k, _), params in zip(SHAPES, packed, strict=True):
            torch.ops.quantized.linear_dynamic(x[k], params, True)

    return one_layer


def onnxruntime_int8() -> callable:
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    sessions = []
    for i, (k, n) in enumerate(SHAPES):
        weight = numpy_helper.from_array(rng.integers(-127, 128, (k, n), dtype=np.int8), f"w{i}")
        node = helper.make_node("MatMulInteger", ["a", f"w{i}"], ["y"])
        graph = helper.make_graph(
            [node],
            f"layer{i}",
            [helper.make_tensor_value_info("a", TensorProto.UINT8, [TOKENS, k])],
            [helper.make_tensor_value_info("y", TensorProto.INT32, [TOKENS, n])],
            [weight],
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        options = ort.SessionOptions()
        options.intra_op_num_threads = os.cpu_count() or 1
        session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        sessions.append((session, rng.integers(0, 256, (TOKENS, k), dtype=np.uint8)))

    def one_layer() -> None:
        for session, a in sessions:
            session.run(None, {"a": a})

    return one_layer


def plain_st(encoder: str, texts: list[str]) -> tuple[callable, float]:
    """A call embedding `texts` with plain sentence-transformers fp32, and the operations of
    its products per call (the layers' GEMMs at the padded lengths of its sorted batches)."""
    from sentence_transformers import SentenceTransformer

    from rhetoric.encoders.embedding import resolve_model

    model = SentenceTransformer(resolve_model(encoder).path, device="cpu")
    config = model[0].auto_model.config
    tokenizer = model.tokenizer
    lengths = sorted(
        (min(len(ids), model.max_seq_length) for ids in tokenizer(texts)["input_ids"]), reverse=True
    )
    hidden, inner = config.hidden_size, config.intermediate_size
    ops = 0.0
    for start in range(0, len(lengths), 32):
        batch = lengths[start : start + 32]
        rows = len(batch) * batch[0]  # padded to the batch's longest
        per_layer = 2.0 * rows * hidden * (4 * hidden + 2 * inner)  # qkv + output + two FFN
        ops += config.num_hidden_layers * per_layer

    def embed() -> None:
        model.encode(texts, batch_size=32)

    return embed, ops


def timed(call: callable) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def main() -> None:
    import pandas as pd

    encoder = sys.argv[1] if len(sys.argv) > 1 else "all-mpnet-base-v2"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 96
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    texts = pd.read_parquet(ROOT / "data/paragraphs.parquet")["text"].drop_duplicates()
    texts = texts.sample(n=min(n, len(texts)), random_state=0).tolist()
    embed, st_ops = plain_st(encoder, texts)
    kernels = {
        "fp32 GEMM (torch)": torch_gemm("float32"),
        "bf16 GEMM (torch)": torch_gemm("bfloat16"),
        "int8 GEMM (onnxruntime MatMulInteger)": onnxruntime_int8(),
        "int8 GEMM (fbgemm linear_dynamic)": fbgemm_int8(),
    }
    ops = layer_ops(TOKENS)
    plain = f"plain sentence-transformers {encoder}"
    rates: dict[str, list[float]] = {name: [] for name in [*kernels, plain]}
    for call in kernels.values():
        call()  # warm-up: packing, first allocation
    embed()
    for _ in range(rounds):
        for name, call in kernels.items():
            rates[name].append(ops / min(timed(call) for _ in range(5)) / 1e9)
        rates[plain].append(st_ops / timed(embed) / 1e9)
    fp32 = float(np.median(rates["fp32 GEMM (torch)"]))
    print(machine())
    print(f"{len(texts)} corpus paragraphs, {rounds} interleaved rounds, medians\n")
    print("| what | G operations/s (median) | range | × fp32 GEMM |")
    print("|---|---|---|---|")
    for name, values in rates.items():
        median = float(np.median(values))
        print(f"| {name} | {median:.1f} | {min(values):.1f}-{max(values):.1f} | {median / fp32:.2f} |")
    share = float(np.median(rates[plain])) / fp32
    best = max(float(np.median(v)) for k, v in rates.items() if k.startswith(("int8", "bf16")))
    print(
        f"\nceiling of a bf16 or int8 backend over plain fp32 here: ({best:.1f} / {fp32:.1f}) / {share:.2f}"
        f" = {best / fp32 / share:.2f}x (every product at the fastest kernel's rate, nothing else)"
    )


if __name__ == "__main__":
    main()
