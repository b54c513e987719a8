"""How each way of quantizing the embedder to int8 holds up on real text (issue 13):
SmoothQuant's alpha with every matrix product in int8, SmoothQuant off, and the feed-forward
down-projections kept in fp32. For each, the cosine of its vectors to OpenVINO's fp32 run of
the same graph over a labeled JSONL of real paragraphs (../shared/realdev, materialized
outside the project: see its README) and over the held-out corpus paragraphs that
`rhetoric embed` checks on, so the bar in `openvino_encoder.QUANTIZATIONS` can be read off.

    python benchmarks/int8_recipes.py models/encoder /tmp/rd/realdev.jsonl
    python benchmarks/int8_recipes.py all-MiniLM-L6-v2 /tmp/rd/realdev.jsonl --alphas 0.8,0.95

Quality only (one text at a time, the rest in f32): speed is bench.py's. Prints a Markdown
table; writes nothing. Our own script because NNCF has no loop over its own settings.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench import corpus_paragraphs  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("encoder", help="embed.model: a packaged name or a folder")
    parser.add_argument("real", type=Path, help="JSONL with a `text` field per line")
    parser.add_argument("--alphas", default="off,0.5,0.7,0.75,0.8,0.85,0.9,0.95")
    args = parser.parse_args()

    import nncf
    import openvino as ov

    from rhetoric.encoders.embedding import export_onnx, resolve_model
    from rhetoric.encoders.onnx_encoder import matmuls_kept_fp32
    from rhetoric.encoders.openvino_encoder import (
        CALIBRATION_SIZE,
        TOKENIZER_FILE,
        calibration_sample,
        compiled,
        feeder,
        nncf_quantized,
        text_by_text,
    )

    identity = resolve_model(args.encoder)
    texts = calibration_sample(corpus_paragraphs())
    calibration, check = texts[:CALIBRATION_SIZE], texts[CALIBRATION_SIZE:]
    real = [json.loads(line)["text"] for line in args.real.read_text(encoding="utf-8").splitlines() if line]
    work = Path(tempfile.mkdtemp(prefix="rhetoric-int8-recipes-"))
    try:
        traced = work / "traced.onnx"
        info = export_onnx(identity, traced)
        shutil.copyfile(Path(identity.path) / TOKENIZER_FILE, work / TOKENIZER_FILE)
        feed = feeder(work / TOKENIZER_FILE, info)
        fp32 = ov.Core().read_model(str(traced))
        reference = compiled(fp32, 0, "f32")
        real_fp32, check_fp32 = text_by_text(reference, feed, real), text_by_text(reference, feed, check)
        nncf.set_log_level(logging.WARNING)
        batches = [feed([text]) for text in calibration]
        down = matmuls_kept_fp32(traced)
        variants: list[tuple[str, list[str], float | None]] = [
            ("down-projections in fp32, alpha 0.95", down, None)
        ]
        for alpha in args.alphas.split(","):
            name = "every product int8, SmoothQuant " + ("off" if alpha == "off" else f"alpha {alpha}")
            variants.append((name, [], -1.0 if alpha == "off" else float(alpha)))
        print(
            f"{identity.name}: {len(real)} real paragraphs ({args.real.name}), {len(check)} held-out corpus"
        )
        print(
            "\n| quantization | real: min cosine (mean) | real below 0.99 | held-out corpus: min (mean) | s |"
        )
        print("|---|---|---|---|---|")
        for name, keep, alpha in variants:
            start = time.time()
            quantized = nncf_quantized(fp32, batches, keep, alpha)
            infer = compiled(quantized, 0, "f32")
            on_real = (text_by_text(infer, feed, real) * real_fp32).sum(axis=1)
            on_check = (text_by_text(infer, feed, check) * check_fp32).sum(axis=1)
            print(
                f"| {name} | {on_real.min():.4f} ({on_real.mean():.5f}) | {(on_real < 0.99).sum()} "
                f"| {on_check.min():.4f} ({on_check.mean():.5f}) | {time.time() - start:.0f} |",
                flush=True,
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
