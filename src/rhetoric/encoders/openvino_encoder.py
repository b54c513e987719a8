"""Backend `int8-static`: the embedder quantized to int8 with calibrated activation scales,
run by OpenVINO. What `auto` picks on CPUs with int8 dot-product instructions (VNNI, AMX),
and `embed.backend: int8-static` anywhere; kept only where it holds quality
(`factory.check_int8_static`). What stays outside int8 runs in bf16 where the CPU has native
bf16, else in f32 (`embedding.rest_precision`).

Why static int8 and why OpenVINO: the dynamic int8 backend (`int8`, onnxruntime) quantizes
activations at run time, batch by batch, and reached only 1.2-1.7x plain
sentence-transformers. Fixing the activation scales once, from a few hundred corpus
paragraphs, lets whole layers run in int8. Measured on a 2-core AVX2 EPYC (MiniLM, corpus
paragraphs): OpenVINO + NNCF post-training quantization (SmoothQuant, fast bias correction)
held cosine 0.992 min / 0.995 mean to fp32; onnxruntime's static QDQ quantization of the
same graph (MinMax calibration, MatMuls only) fell to 0.83 min / 0.92 mean, so it is not
offered. NNCF is the library that does the calibration; our code only feeds it tokenized
paragraphs, picks among its settings (`QUANTIZATIONS`) and caches its result.

Which matrix products go to int8 (`QUANTIZATIONS`, tried fastest first): every one, with
SmoothQuant's alpha at 0.85, where that holds cosine to fp32 on held-out corpus paragraphs;
else every one but the feed-forward down-projections. Measured on the fine-tuned
all-mpnet-base-v2 with the rest in f32 on a 2-core AMD EPYC with AVX512-VNNI
(benchmarks/RESULTS.md, session 10): NNCF's default alpha (0.95) with every product in int8
reached cosine 0.9898 min over ../shared/realdev's 422 paragraphs (one below the 0.99 gate);
alpha 0.75-0.85 0.9922-0.9927; 0.7 0.9896, 0.5 0.776, no SmoothQuant 0.872. 0.85 is kept
for its margin on the held-out corpus paragraphs that decide (0.9966 there, 0.8 0.9948).
Keeping the 12 down-projections in fp32 held 0.9940 but costs a third of the matrix work
in fp32.

The quantized model is cached like the ONNX exports (vector store `embedder/`, keyed by the
weight hash and written atomically) and reused as long as the weights match, so vectors
stored earlier and vectors computed later come from the same quantized model. Quantizing
is deterministic on one machine and rest precision (which quantization clears its bar can
differ between CPUs whose kernels round differently near it): the calibration texts are the
corpus paragraphs with the smallest sha1s (`calibration_sample`), in that order. A store
first quantized with no held-out paragraphs (a corpus of 300 or fewer) keeps the safe
quantization, unchecked, until its `embedder/` folder is removed. `embedder.json` records
how many calibration paragraphs there were, their digest, which quantization was kept, and
the cosine of int8 to fp32 vectors on held-out paragraphs for each one tried, in order.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rhetoric.encoders.embedding import EmbedderIdentity, openvino_available, rest_precision
from rhetoric.encoders.onnx_encoder import (
    META_FILE,
    TOKENIZER_FILE,
    OnnxEncoder,
    exported_meta,
    matmuls_kept_fp32,
)
from rhetoric.errors import ModelError
from rhetoric.io import atomic_folder, write_json

log = logging.getLogger(__name__)

BACKEND = "int8-static"
MODEL_XML = "model.xml"
CALIBRATION_SIZE = 300  # paragraphs whose activations set the int8 scales
MIN_CALIBRATION = 10  # fewer paragraphs than this cannot set the scales
CHECK_SIZE = 100  # further paragraphs on which int8 is compared with fp32 (recorded, logged)
INSTALL_HINT = "pip install openvino nncf (both are dependencies of rhetoric: `make install`)"


@dataclass(frozen=True)
class Quantization:
    """One way NNCF may quantize the embedder, and the cosine to fp32 it must hold on the
    held-out corpus paragraphs (smallest over them) to be kept."""

    name: str
    down_projections_fp32: bool  # the GELU-fed MatMuls stay fp32 (`matmuls_kept_fp32`)
    smooth_quant_alpha: float | None  # None: NNCF's default for transformers (0.95)
    min_check_cosine: float


# Fastest first. The held-out corpus minimum ran 0.0021-0.0044 above realdev's over nine
# quantizations of the fine-tuned all-mpnet-base-v2 (session 10), so a corpus minimum of
# 0.9945 stands for a real-text minimum of 0.99 or more; the last one is kept whatever it
# reaches (factory.check_int8_static then compares it with MIN_COSINE).
QUANTIZATIONS = (
    Quantization("every-matmul-int8-sq0.85", False, 0.85, 0.9945),
    Quantization("gelu-fed-fp32", True, None, -1.0),
)
# How the model is quantized, recorded in embedder.json: a quantization made another way is
# redone (and its vectors are stored under another name: embedding.BACKEND_RECIPES). It is
# built from the names alone, so a changed setting needs a new name: a test pins every
# setting of QUANTIZATIONS beside this name and the store key, and fails until they change together.
RECIPE = "nncf-transformer-" + "-else-".join(q.name for q in QUANTIZATIONS)


def calibration_sample(
    sha_texts: Sequence[tuple[str, str]], size: int = CALIBRATION_SIZE + CHECK_SIZE
) -> list[str]:
    """The texts of the `size` unique (sha1, text) pairs with the smallest sha1s: a sample
    spread over the whole corpus (sha1 order is unrelated to document order) that the same
    corpus always gives in the same order.

    >>> calibration_sample([("c", "third"), ("a", "first"), ("b", "second"), ("a", "first")], 2)
    ['first', 'second']
    """
    return [text for _, text in sorted(dict(sha_texts).items())[:size]]


def calibration_for(backend: str, sha_texts: Iterable[tuple[str, str]]) -> tuple[str, ...]:
    """The calibration paragraphs `backend` needs: the sample for int8-static, else none."""
    return tuple(calibration_sample(sha_texts)) if backend == BACKEND else ()


def ensure_openvino_model(identity: EmbedderIdentity, folder: Path, calibration: Sequence[str]) -> Path:
    """`folder`, holding this embedder quantized for OpenVINO; quantized now (a minute or two,
    twice that where the first quantization falls short of its bar)
    from `calibration` unless a quantization of the same weights is already there."""
    if is_current(exported_meta(folder), identity):
        return folder
    if not openvino_available():
        raise ModelError(
            f"embed.backend {BACKEND} needs OpenVINO and NNCF, which are not installed: {INSTALL_HINT}."
        )
    if len(calibration) < MIN_CALIBRATION:
        raise ModelError(
            f"embed.backend {BACKEND}: {folder} holds no quantized embedder and only {len(calibration)} "
            "calibration paragraphs were given; run `rhetoric embed` on the corpus first (it quantizes "
            "the embedder on corpus paragraphs into the vector store)."
        )
    log.info(
        "quantizing %s to int8 (OpenVINO, %d corpus paragraphs to calibrate on, %d to check) in %s",
        identity.name,
        min(len(calibration), CALIBRATION_SIZE),
        max(len(calibration) - CALIBRATION_SIZE, 0),
        folder,
    )
    with atomic_folder(folder) as work:
        quantize_folder(identity, work, calibration)
    return folder


def is_current(meta: dict[str, Any] | None, identity: EmbedderIdentity) -> bool:
    """Whether an export's embedder.json is this embedder quantized by today's recipe."""
    return (
        meta is not None
        and meta["embedder"]["weights_sha256"] == identity.weights_sha256
        and meta["backend"] == BACKEND
        and meta.get("quantization") == RECIPE
    )


def quantize_folder(identity: EmbedderIdentity, folder: Path, texts: Sequence[str]) -> None:
    """Export the embedder to ONNX, quantize it with NNCF on the first CALIBRATION_SIZE of
    `texts` in the first of QUANTIZATIONS whose cosine to fp32 on the rest holds, and write
    model.xml/.bin, the tokenizer and embedder.json into the existing `folder`.

    Why the down-projections (MatMuls fed by a GELU) are the ones kept in fp32 when all-int8
    fails: their inputs hold a few values near 100 among values below 2, which one
    calibrated int8 scale cannot both cover and resolve unless SmoothQuant moves most of that
    range into the weights (`onnx_encoder.quantize_int8`, which has no SmoothQuant, always
    keeps them in fp32)."""
    import nncf
    import openvino as ov

    from rhetoric.encoders.embedding import export_onnx

    source = Path(identity.path) / TOKENIZER_FILE
    if not source.is_file():
        raise ModelError(f"{identity.path}: no {TOKENIZER_FILE}; only models with a fast tokenizer export.")
    traced = folder / "traced.onnx"
    info = export_onnx(identity, traced)
    shutil.copyfile(source, folder / TOKENIZER_FILE)
    feed = feeder(folder / TOKENIZER_FILE, info)
    calibration, check = list(texts[:CALIBRATION_SIZE]), list(texts[CALIBRATION_SIZE:])
    fp32 = ov.Core().read_model(str(traced))
    nncf.set_log_level(logging.WARNING)
    batches = [feed([text]) for text in calibration]
    precision = rest_precision()  # as this machine's OpenVinoEncoder will run it
    reference = text_by_text(compiled(fp32, 0, "f32"), feed, check) if check else None
    tried: list[dict[str, Any]] = []
    for quantization in QUANTIZATIONS if check else QUANTIZATIONS[-1:]:  # unchecked: the safest
        keep_fp32 = matmuls_kept_fp32(traced) if quantization.down_projections_fp32 else []
        quantized = nncf_quantized(fp32, batches, keep_fp32, quantization.smooth_quant_alpha)
        quality = (
            {} if reference is None else compare(reference, compiled(quantized, 0, precision), feed, check)
        )
        tried.append({"quantization": quantization.name, **quality})
        if quality:
            log.info(
                "int8-static %s: cosine to fp32 on %d held-out paragraphs: min %.4f, mean %.4f",
                quantization.name,
                len(check),
                quality["min"],
                quality["mean"],
            )
        if quality and quality["min"] >= quantization.min_check_cosine:
            break
    ov.save_model(quantized, str(folder / MODEL_XML), compress_to_fp16=False)
    traced.unlink()
    digest = hashlib.sha256("\n".join(calibration).encode("utf-8")).hexdigest()
    write_json(
        folder / META_FILE,
        {
            "embedder": identity.to_dict(),
            "backend": BACKEND,
            "model_file": MODEL_XML,
            "quantization": RECIPE,
            "kept": quantization.name,
            "matmuls_kept_fp32": keep_fp32,
            "rest_precision": precision,
            "calibration": {"paragraphs": len(calibration), "sha256": digest},
            "cosine_to_fp32": quality,
            "cosine_to_fp32_tried": tried,
            **info,
        },
    )


def nncf_quantized(
    fp32: Any, batches: Sequence[dict[str, np.ndarray]], keep_fp32: Sequence[str], alpha: float | None
) -> Any:
    """The OpenVINO model `fp32` quantized by NNCF's transformer recipe, calibrated on all
    `batches` (model inputs), the MatMuls named in `keep_fp32` left in fp32, and SmoothQuant's
    MatMul alpha at `alpha` (None: NNCF's own, 0.95; -1: SmoothQuant off)."""
    import nncf
    from nncf.quantization.advanced_parameters import (
        AdvancedQuantizationParameters,
        AdvancedSmoothQuantParameters,
    )

    advanced = AdvancedQuantizationParameters()
    if alpha is not None:
        advanced = AdvancedQuantizationParameters(
            smooth_quant_alphas=AdvancedSmoothQuantParameters(matmul=alpha)
        )
    return nncf.quantize(
        fp32,
        nncf.Dataset(batches),
        model_type=nncf.ModelType.TRANSFORMER,
        subset_size=len(batches),
        ignored_scope=nncf.IgnoredScope(names=list(keep_fp32), validate=False),
        advanced_parameters=advanced,
    )


def feeder(tokenizer_file: Path, info: dict[str, Any]) -> Callable[[Sequence[str]], dict[str, np.ndarray]]:
    """A function from texts to one padded batch of the model's inputs."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    tokenizer.enable_truncation(max_length=int(info["max_seq_length"]))
    tokenizer.enable_padding()

    def feed(texts: Sequence[str]) -> dict[str, np.ndarray]:
        encodings = tokenizer.encode_batch(list(texts))
        columns = {
            "input_ids": [e.ids for e in encodings],
            "attention_mask": [e.attention_mask for e in encodings],
            "token_type_ids": [e.type_ids for e in encodings],
        }
        return {name: np.array(columns[name], dtype=np.int64) for name in info["inputs"]}

    return feed


def compiled(model: Any, threads: int, precision: str) -> Callable[[dict[str, np.ndarray]], list[np.ndarray]]:
    """An OpenVINO model compiled for the CPU, in `precision` (f32 or bf16) where it is not
    int8, as a function from a batch to its outputs (as `OnnxEncoder.load_runtime`). Asked
    explicitly: OpenVINO's own default is bf16 on AMX CPUs only."""
    import openvino as ov

    config: dict[str, Any] = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": precision}
    if threads:
        config["INFERENCE_NUM_THREADS"] = threads
    network = ov.Core().compile_model(model, "CPU", config)

    def infer(feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        result = network(feed)
        return [np.asarray(result[i], dtype=np.float32) for i in range(len(network.outputs))]

    return infer


def text_by_text(
    infer: Callable[[dict[str, np.ndarray]], list[np.ndarray]],
    feed: Callable[[Sequence[str]], dict[str, np.ndarray]],
    texts: Sequence[str],
) -> np.ndarray:
    """Each text's unit vector from `infer`, one text at a time so that no padding touches it."""
    return np.concatenate([infer(feed([text]))[0] for text in texts])


def compare(
    reference: np.ndarray,
    candidate: Callable[[dict[str, np.ndarray]], list[np.ndarray]],
    feed: Callable[[Sequence[str]], dict[str, np.ndarray]],
    texts: Sequence[str],
) -> dict[str, float]:
    """Cosine between each text's reference unit vector (a row of `reference`) and the
    candidate model's: min and mean."""
    cosines = (reference * text_by_text(candidate, feed, texts)).sum(axis=1)
    return {"min": float(cosines.min()), "mean": float(cosines.mean()), "texts": len(cosines)}


class OpenVinoEncoder(OnnxEncoder):
    """Unit vectors from a quantized embedder; tokenization, windows and batches of one
    padded width (a multiple of 8 tokens) as `OnnxEncoder`: OpenVINO takes any shape, and
    those widths bound the number of shapes it compiles kernels for."""

    def load_runtime(self, folder: Path, threads: int) -> Callable[[dict[str, np.ndarray]], list[np.ndarray]]:
        if importlib.util.find_spec("openvino") is None:
            raise ModelError(
                f"{folder}: this embedder runs on OpenVINO, which is not installed: {INSTALL_HINT}."
            )
        import openvino as ov

        precision = serving_precision(self.meta, folder)
        return compiled(ov.Core().read_model(str(folder / MODEL_XML)), threads, precision)


def serving_precision(meta: dict[str, Any], folder: Path) -> str:
    """The precision the quantized model was checked and its vectors stored in (embedder.json's
    `rest_precision`; f32 for quantizations older than it), so that a package serves the
    vectors it was trained on whatever CPU it lands on; f32, with one warning line, where
    the model says bf16 and this CPU has no native bf16."""
    precision = str(meta.get("rest_precision", "f32"))
    if precision == "bf16" and rest_precision() != "bf16":
        log.warning(
            "%s: quantized and checked with bf16 for what stays outside int8, which this CPU "
            "lacks; running it in f32 (vectors within about 1e-3 of the stored ones).",
            folder,
        )
        return "f32"
    return precision
