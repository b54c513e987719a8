"""Encoding with an exported copy of the embedder: onnxruntime and tokenizers, no torch.

Importing sentence-transformers costs 7 s; onnxruntime and tokenizers cost 0.3 s, so
`rhetoric predict` on one document answers in about a second with this encoder. The
`onnx` backend runs the exported fp32 graph; `int8` runs it with most matrix products'
weights quantized to int8 (7-bit values) by onnxruntime's dynamic quantization
(`quantize_int8` says which stay fp32 and why). An exported folder holds `model.onnx`,
`tokenizer.json` and `embedder.json` (which embedder, precision, inputs); it is written
to a temporary folder and renamed into place, so a half-written export is never used.

sentence-transformers' own ONNX/OpenVINO extras pin older transformers than ours, so the
export (`embedding.export_onnx`) and this runtime are our own small code.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rhetoric.encoders.embedding import (
    PAD_MULTIPLE,
    EmbedderIdentity,
    OnTokens,
    WindowedEncoder,
    cut_windows,
)
from rhetoric.errors import ModelError
from rhetoric.io import atomic_folder, read_json, write_json
from rhetoric.params import ONNX_BACKENDS

log = logging.getLogger(__name__)

MODEL_FILE = "model.onnx"
WEIGHTS_FILE = "model.onnx.data"  # the graph's weights (external data), beside MODEL_FILE
TOKENIZER_FILE = "tokenizer.json"
META_FILE = "embedder.json"
# How `int8` quantizes, recorded in embedder.json: an export made another way is redone (and
# its vectors are stored under another name: embedding.BACKEND_RECIPES).
INT8_RECIPE = "matmul-7bit-ffn-down-fp32"
GELU_OPS = frozenset({"Gelu", "BiasGelu", "FastGelu", "Erf"})


def exported_meta(folder: Path) -> dict[str, Any] | None:
    """The folder's embedder.json, or None when the folder holds no complete export
    (embedder.json, the tokenizer and the model file it names: `model_file`, default model.onnx)."""
    meta_file = folder / META_FILE
    if not (meta_file.is_file() and (folder / TOKENIZER_FILE).is_file()):
        return None
    meta = read_json(meta_file)
    return meta if (folder / str(meta.get("model_file", MODEL_FILE))).is_file() else None


def ensure_onnx_model(identity: EmbedderIdentity, folder: Path, backend: str) -> Path:
    """`folder`, holding this embedder exported for `backend` (onnx or int8); exported now
    unless an export of the same weights and precision is already there."""
    if backend not in ONNX_BACKENDS:
        raise ModelError(f"embed.backend {backend!r} is not an ONNX backend ({', '.join(ONNX_BACKENDS)}).")
    meta = exported_meta(folder)
    if meta and meta["embedder"]["weights_sha256"] == identity.weights_sha256 and meta["backend"] == backend:
        stale = export_staleness(meta)
        if stale is None:
            return folder
        log.info("re-exporting %s: the export in %s %s", identity.name, folder, stale)
    log.info("exporting %s to ONNX (%s) in %s", identity.name, backend, folder)
    with atomic_folder(folder) as work:
        export_folder(identity, work, backend)
    return folder


def export_staleness(meta: dict[str, Any]) -> str | None:
    """Why an export of the right weights and backend must be redone, or None to reuse it.

    >>> outputs = {"outputs": ["embedding", "token_embeddings"], "token_pooling": "mean"}
    >>> export_staleness({"backend": "int8", **outputs})
    'was quantized by an older int8 recipe'
    """
    if "token_embeddings" not in meta.get("outputs", ()) or "token_pooling" not in meta:
        return "gives no token states (sentence evidence)"
    if meta["backend"] == "int8" and meta.get("quantization") != INT8_RECIPE:
        return "was quantized by an older int8 recipe"
    return None


def export_folder(identity: EmbedderIdentity, folder: Path, backend: str) -> None:
    """Export the embedder into an existing folder: graph, tokenizer, then embedder.json."""
    from rhetoric.encoders.embedding import export_onnx

    source = Path(identity.path) / TOKENIZER_FILE
    if not source.is_file():
        raise ModelError(f"{identity.path}: no {TOKENIZER_FILE}; only models with a fast tokenizer export.")
    traced, fused = folder / "traced.onnx", folder / "fused.onnx"
    info = export_onnx(identity, traced)
    fuse_transformer_ops(traced, fused, info)
    traced.unlink()
    if backend == "int8":
        quantize_int8(fused, folder / MODEL_FILE)
        fused.unlink()
    else:
        fused.rename(folder / MODEL_FILE)
    save_optimized(folder / MODEL_FILE)
    shutil.copyfile(source, folder / TOKENIZER_FILE)
    write_json(
        folder / META_FILE,
        {
            "embedder": identity.to_dict(),
            "backend": backend,
            "optimized": OPTIMIZED_LEVEL,
            **({"quantization": INT8_RECIPE} if backend == "int8" else {}),
            **info,
        },
    )


OPTIMIZED_LEVEL = "extended"


def save_optimized(model: Path) -> None:
    """Replace the graph by onnxruntime's own optimization of it, done once here.

    Optimizing a 400 MB graph takes about 2 s of every fresh process's start (a one-file
    `rhetoric predict` spent most of its time there); a graph saved optimized loads with
    the optimizers off. The extended level holds only portable rewrites: the full level may
    add layouts specific to this machine's CPU, which a package must not carry.

    The weights go to a file of their own beside the graph (`WEIGHTS_FILE`, ONNX's external
    data): onnxruntime then maps them instead of parsing them out of one 400 MB protobuf,
    which opened the package in 0.34-0.55 s instead of 1.04-1.05 s on the development
    machine (2 cores, three runs each, interleaved)."""
    import onnxruntime as ort

    target = model.with_name("optimized.onnx")
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(target)
    options.add_session_config_entry("session.optimized_model_external_initializers_file_name", WEIGHTS_FILE)
    external_min_bytes = "session.optimized_model_external_initializers_min_size_in_bytes"
    options.add_session_config_entry(external_min_bytes, "1024")
    ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    target.replace(model)


def fuse_transformer_ops(source: Path, target: Path, info: dict[str, Any]) -> None:
    """onnxruntime's transformer optimizer: attention, GELU and layer norms as fused ops.
    BERT-family graphs only; any other architecture is copied as traced."""
    if info.get("architecture") not in ("bert", "distilbert", "roberta", "xlm-roberta", "mpnet"):
        shutil.copyfile(source, target)
        return
    from onnxruntime.transformers.optimizer import optimize_model

    optimized = optimize_model(
        str(source), model_type="bert", num_heads=info["num_heads"], hidden_size=info["hidden_size"]
    )
    optimized.save_model_to_file(str(target))


def quantize_int8(source: Path, target: Path) -> None:
    """Dynamic int8 quantization of the matrix products' weights (activations are quantized
    per batch), with two exceptions that keep the vectors close to fp32:

    - Weights in 7 bits (`reduce_range`). On CPUs without VNNI (AVX2 only) onnxruntime
      multiplies uint8 activations by int8 weights with VPMADDUBSW, which adds pairs of
      products into 16 bits and saturates; with 8-bit weights all-mpnet-base-v2's vectors
      came out unrelated to fp32 (cosine about 0); with 7 bits (2 x 255 x 64 < 2^15) nothing
      saturates, so the integer sums are exact on CPUs with and without VNNI.
    - The feed-forward down-projections (the MatMuls fed by a GELU) stay fp32: their input
      has a few values 50 times larger than the rest (up to about 100 in mpnet's middle
      layers), and one int8 scale per batch leaves the rest a handful of levels.
    The fused attention stays fp32 as well: quantizing it gains 20% speed but drops the
    cosine of short texts from 0.96-0.99 to 0.91-0.99. Fused ops have no shape inference,
    so their outputs are declared float. Measured (benchmarks/int8_recipe.py, 60 corpus
    paragraphs, AVX2 CPU): mpnet cosine 0.982 min / 0.992 mean to fp32 at 1.39x the fp32
    graph (before: -0.09 / 0.01 at 1.76x); MiniLM 0.995 / 0.998 at 1.20x (0.986 at 1.40x)."""
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        source,
        target,
        weight_type=QuantType.QInt8,
        per_channel=True,
        reduce_range=True,
        op_types_to_quantize=["MatMul"],
        nodes_to_exclude=matmuls_kept_fp32(source),
        extra_options={"DefaultTensorType": TensorProto.FLOAT},
    )


def matmuls_kept_fp32(model: Path) -> list[str]:
    """The node names of the ONNX graph's MatMuls that int8 recipes (this `int8` and OpenVINO's
    `int8-static`) leave in fp32: the GELU-fed down-projections (see `quantize_int8`)."""
    import onnx

    return gelu_fed_matmuls(onnx.load(str(model), load_external_data=False).graph)


def gelu_fed_matmuls(graph: Any) -> list[str]:
    """Names of the MatMuls whose input is a GELU's output: the fused op, or the Mul/Add
    chain around the Erf of an unfused one (x * 0.5 * (1 + erf(x / sqrt 2)))."""
    producer = {output: node for node in graph.node for output in node.output}

    def from_gelu(name: str) -> bool:
        node = producer.get(name)
        if node is None:
            return False
        if node.op_type in GELU_OPS:
            return True
        return node.op_type in ("Mul", "Add") and any(from_gelu(i) for i in node.input)

    return [n.name for n in graph.node if n.op_type == "MatMul" and from_gelu(n.input[0])]


def width_batches(
    lengths: Sequence[int], batch_size: int, multiple: int, limit: int
) -> list[tuple[int, np.ndarray]]:
    """Row indices in batches of at most `batch_size`, each row padded to its own length
    rounded up to `multiple` (at most `limit`) and batched only with rows of that width,
    widest first.

    Why not pad each batch to its longest row: then a text's padded width, and so its
    vector, depends on the texts embedded beside it. In fp32 that moves a vector by about
    1e-7, but int8-static with its rest in bf16 moved 11 of 200 vectors by up to 2e-3 when
    their batch mates changed, and `rhetoric predict` printed scores up to 0.009 apart for
    the same paragraph on the local and the Ray engine (which group rows differently).
    With the width fixed per text, a batch of one and a batch of eight gave the same bytes.

    What is left of a width after its full batches goes in batches of powers of two, so
    that a width has at most 1 + log2(batch_size) batch shapes: OpenVINO keeps compiled
    kernels per input shape, and with every remainder size its own shape the peak memory of
    `rhetoric predict` grew with the corpus (316, 373, 483 MB for 1,000, 10,000, 100,000
    paragraphs).

    >>> [(width, rows.tolist()) for width, rows in width_batches([3, 9, 12, 5, 16], 2, 8, 12)]
    [(12, [1, 2]), (12, [4]), (8, [0, 3])]
    >>> [len(rows) for _, rows in width_batches([5] * 15, 4, 8, 512)]
    [4, 4, 4, 2, 1]
    """
    widths = np.array([min(-(-n // multiple) * multiple, limit) for n in lengths], dtype=np.int64)
    order = np.argsort(-widths, kind="stable")
    ordered = widths[order]
    batches = []
    for width in dict.fromkeys(ordered.tolist()):
        rows = order[ordered == width]
        start = 0
        while start < len(rows):
            size = min(batch_size, len(rows) - start)
            if size < batch_size:
                size = 1 << (size.bit_length() - 1)  # the largest power of two that is left
            batches.append((int(width), rows[start : start + size]))
            start += size
    return batches


class OnnxEncoder(WindowedEncoder):
    """Unit vectors from an exported embedder; same contract as `embedding.Encoder`.

    Subclasses run another runtime on the same tokenization and batching (`load_runtime`)."""

    def __init__(
        self, folder: Path, batch_size: int = 32, threads: int | None = None, prepack: bool = False
    ) -> None:
        """`prepack`: onnxruntime repacks the weights for its kernels when opening: batches
        run about 6% faster, and opening takes about 0.4 s more (benchmarks/onnx_load.py).
        Worth it for the embed stage's bulk; not for `rhetoric predict` of one document."""
        self.prepack = prepack
        try:
            meta = exported_meta(folder)
        except ValueError:
            meta = None
        if meta is None:
            raise ModelError(f"{folder}: no exported embedder ({MODEL_FILE}, {META_FILE}); re-export it.")
        try:
            self._open(folder, meta, batch_size, threads)
        except ModelError:
            raise
        except Exception as error:  # tokenizers, onnxruntime and a damaged meta raise many kinds
            problem = " ".join(str(error).split())[:200]
            raise ModelError(
                f"{folder}: the exported embedder is damaged ({type(error).__name__}: {problem}); "
                "re-export it with `dvc repro` (or `rhetoric package`)."
            ) from None

    def _open(self, folder: Path, meta: dict[str, Any], batch_size: int, threads: int | None) -> None:
        from tokenizers import Tokenizer

        unknown = set(meta["inputs"]) - {"input_ids", "attention_mask", "token_type_ids"}
        if unknown:
            raise ModelError(
                f"{folder}: the exported model needs inputs {sorted(unknown)} rhetoric cannot feed."
            )
        self.meta = meta
        self.identity = EmbedderIdentity(**meta["embedder"])
        self.backend = meta["backend"]
        self.batch_size = batch_size
        self.max_tokens = int(meta["max_seq_length"]) - 2
        self.chunked = 0
        self.counter = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
        self.counter.no_truncation()
        self.counter.no_padding()
        self.tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
        self.tokenizer.enable_truncation(max_length=int(meta["max_seq_length"]))
        self.tokenizer.no_padding()
        self.infer = self.load_runtime(folder, threads or min(os.cpu_count() or 1, 8))

    def load_runtime(self, folder: Path, threads: int) -> Callable[[dict[str, np.ndarray]], list[np.ndarray]]:
        """The model as a function from a padded batch (input name -> ids) to its outputs:
        unit vectors, then (exports since sentence evidence) token states."""
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.log_severity_level = 3
        if self.meta.get("optimized") == OPTIMIZED_LEVEL:  # saved optimized: see save_optimized
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        if not self.prepack:  # weights used where they lie, mapped from WEIGHTS_FILE
            options.add_session_config_entry("session.disable_prepacking", "1")
        session = ort.InferenceSession(str(folder / MODEL_FILE), options, providers=["CPUExecutionProvider"])
        return lambda feed: session.run(None, feed)

    @property
    def dimension(self) -> int:
        return int(self.meta["dimension"])

    @property
    def gives_tokens(self) -> bool:
        return "token_embeddings" in self.meta.get("outputs", ()) and self.meta.get("token_pooling") == "mean"

    def windows(self, texts: Sequence[str]) -> list[list[str]]:
        counts = [len(e.ids) for e in self.counter.encode_batch(list(texts), add_special_tokens=False)]
        return [cut_windows(t, n, self.max_tokens) for t, n in zip(texts, counts, strict=True)]

    def run(self, texts: Sequence[str], on_tokens: OnTokens | None = None) -> np.ndarray:
        """One vector per text that fits the window; each text padded to its own length
        rounded up to PAD_MULTIPLE tokens and batched only with texts of that width
        (`width_batches`: with static scales, as in onnx and int8-static, a vector's padding
        no longer depends on the texts embedded beside it; `int8` sets its activation scales
        per batch, so its vectors still do).
        Token states go to `on_tokens` as in `WindowedEncoder.run`."""
        encodings = self.tokenizer.encode_batch(list(texts))
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        lengths = [len(e.ids) for e in encodings]
        limit = int(self.meta["max_seq_length"])
        for width, rows in width_batches(lengths, self.batch_size, PAD_MULTIPLE, limit):
            feed = {name: np.zeros((len(rows), width), dtype=np.int64) for name in self.meta["inputs"]}
            for j, i in enumerate(rows):
                encoding = encodings[i]
                n = len(encoding.ids)
                columns = {
                    "input_ids": encoding.ids,
                    "attention_mask": encoding.attention_mask,
                    "token_type_ids": encoding.type_ids,
                }
                for name in feed:
                    feed[name][j, :n] = columns[name]
            outputs = self.infer(feed)
            out[rows] = outputs[0]
            if on_tokens is not None and len(outputs) > 1:
                for j, i in enumerate(rows):
                    encoding = encodings[i]
                    real = np.asarray(encoding.special_tokens_mask) == 0
                    states = np.asarray(outputs[1][j, : len(encoding.ids)], dtype=np.float32)
                    on_tokens(int(i), states[real], np.asarray(encoding.offsets)[real])
        return out
