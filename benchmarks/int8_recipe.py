"""How close the `int8` backend's vectors stay to the fp32 ONNX graph, and how much faster.

    python benchmarks/int8_recipe.py [--encoder all-mpnet-base-v2] [--paragraphs 60] [--speed 32]
        [--corpus data/paragraphs.parquet]
    python benchmarks/int8_recipe.py --static [--encoder all-mpnet-base-v2]

Exports the encoder's fused fp32 graph into a temporary folder, quantizes it with the
shipped recipe (`onnx_encoder.quantize_int8`: 7-bit weights, GELU-fed down-projections in
fp32) and with the recipe before issue 13's fix (8-bit weights, every MatMul), and prints
each one's cosine to fp32 on held-out corpus paragraphs (data/paragraphs.parquet: the
paragraphs after int8-static's 300 calibration ones in sha1 order, one at a time) and its
speed on `--speed` of them in batches of 16, as paragraphs per CPU-second on one thread:
CPU time, not wall time, so that other work on a shared machine moves it little.

`--static` quantizes for `int8-static` instead, exactly as `rhetoric embed` does
(`openvino_encoder.quantize_folder` on the corpus's calibration sample, in a temporary
folder), and prints the cosine to fp32 it records on the 100 held-out paragraphs and the
minutes it took (minutes for mpnet).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from tokenizers import Tokenizer

from rhetoric.encoders.embedding import export_onnx, resolve_model
from rhetoric.encoders.onnx_encoder import exported_meta, fuse_transformer_ops, quantize_int8
from rhetoric.encoders.openvino_encoder import CALIBRATION_SIZE, calibration_sample, quantize_folder


def quantize_before_fix(source: Path, target: Path) -> None:
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        source,
        target,
        weight_type=QuantType.QInt8,
        per_channel=True,
        op_types_to_quantize=["MatMul"],
        extra_options={"DefaultTensorType": TensorProto.FLOAT},
    )


def runner(model: Path, tokenizer: Path, info: dict) -> Callable[[list[str]], np.ndarray]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    tokens = Tokenizer.from_file(str(tokenizer))
    tokens.enable_truncation(max_length=int(info["max_seq_length"]))
    tokens.enable_padding(pad_to_multiple_of=32)

    def run(texts: list[str]) -> np.ndarray:
        encodings = tokens.encode_batch(texts)
        columns = {
            "input_ids": [e.ids for e in encodings],
            "attention_mask": [e.attention_mask for e in encodings],
            "token_type_ids": [e.type_ids for e in encodings],
        }
        feed = {name: np.array(columns[name], dtype=np.int64) for name in info["inputs"]}
        return session.run(None, feed)[0]

    return run


def quantize_static(encoder: str, sha_texts: list[tuple[str, str]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        quantize_folder(resolve_model(encoder), Path(folder), calibration_sample(sha_texts))
        minutes = (time.perf_counter() - start) / 60
        meta = exported_meta(Path(folder)) or {}
    record = {"encoder": encoder, "backend": "int8-static", "recipe": meta.get("quantization")}
    print(json.dumps({**record, "cosine_to_fp32": meta.get("cosine_to_fp32"), "minutes": round(minutes, 1)}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--encoder", default="all-mpnet-base-v2")
    parser.add_argument("--paragraphs", type=int, default=60)
    parser.add_argument("--speed", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--corpus", default="data/paragraphs.parquet")
    parser.add_argument("--static", action="store_true")
    args = parser.parse_args()
    corpus = pd.read_parquet(args.corpus, columns=["sha1", "text"])
    if args.static:
        quantize_static(args.encoder, list(zip(corpus.sha1, corpus.text, strict=True)))
        return
    held_out = calibration_sample(list(zip(corpus.sha1, corpus.text, strict=True)), 100_000)
    held_out = held_out[CALIBRATION_SIZE:]
    check, timed = held_out[: args.paragraphs], sorted(held_out[: args.speed], key=len)
    identity = resolve_model(args.encoder)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        info = export_onnx(identity, root / "traced.onnx")
        fuse_transformer_ops(root / "traced.onnx", root / "fp32.onnx", info)
        quantize_int8(root / "fp32.onnx", root / "int8.onnx")
        quantize_before_fix(root / "fp32.onnx", root / "int8-before-fix.onnx")
        tokenizer = Path(identity.path) / "tokenizer.json"
        models = {
            name: runner(root / f"{name}.onnx", tokenizer, info)
            for name in ("fp32", "int8", "int8-before-fix")
        }
        vectors = {name: np.vstack([run([t]) for t in check]) for name, run in models.items()}
        speeds: dict[str, list[float]] = {name: [] for name in models}
        for _ in range(args.rounds):  # interleaved rounds
            for name, run in models.items():
                start = time.process_time()
                for i in range(0, len(timed), 16):
                    run(timed[i : i + 16])
                speeds[name].append(len(timed) / (time.process_time() - start))
    fp32_speed = float(np.median(speeds["fp32"]))
    for name in models:
        cosine = (vectors[name] * vectors["fp32"]).sum(axis=1)
        print(
            json.dumps(
                {
                    "encoder": args.encoder,
                    "graph": name,
                    "cosine_min": round(float(cosine.min()), 4),
                    "cosine_mean": round(float(cosine.mean()), 4),
                    "paragraphs": len(check),
                    "paragraphs_per_cpu_s": round(float(np.median(speeds[name])), 2),
                    "x_fp32_graph": round(float(np.median(speeds[name])) / fp32_speed, 2),
                }
            )
        )


if __name__ == "__main__":
    main()
