"""The one way rhetoric turns text into labels: `Labeler(encoder, head, card)`.

`rhetoric predict`, evaluate, annotate's queue (through predict's output) and the MLflow
pyfunc all label through a `Labeler` and get the same result shape, `LabeledParagraph`
(a label plus a label -> probability mapping). The Labeler normalizes whitespace itself,
as segmenting does, so every caller feeds the head the same text.

The encoder is injected (anything with `encode(texts) -> vectors`), so tests hand it a
tiny one; `Labeler.load` builds the real one lazily, because evaluate and predict usually
find every vector in the store and must not pay for loading an encoder they never use.

Where the `export` stage has packaged the model (the encoder as ONNX, a linear head as
arrays) and the package matches the trained head, `load(..., exported=True)` uses it, so
labeling imports neither torch, sentence-transformers, scikit-learn nor pandas; that is
what lets `rhetoric predict` answer in about a second.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from rhetoric.corpus.segment import normalize_paragraph, paragraph_sha1
from rhetoric.errors import ModelError
from rhetoric.model.card import ModelCard
from rhetoric.model.folder import ModelFolder

if TYPE_CHECKING:
    import pandas as pd

    from rhetoric.encoders.sentence_spans import Span

# Cached vectors by text sha1, None where not cached (VectorStore.find).
Lookup = Callable[[Sequence[str]], list]
# Texts -> unit vectors, one row per text.
Vectorize = Callable[[Sequence[str]], np.ndarray]
SCORE_DIGITS = 6  # probabilities are written with this many decimals
# Longest text labeled as one paragraph: a paragraph of a speech is a few thousand characters;
# the TF-IDF and windowed-embedding cost grows with length, and one 4.5 MB "paragraph" held a
# serving worker for minutes. Longer texts are refused, saying so.
MAX_TEXT_CHARS = 100_000


class TextEncoder(Protocol):
    """What a Labeler needs from an encoder (`embedding.Encoder`, `OnnxEncoder`, a test stub).
    Sentence evidence also uses `encode_with_sentences` where the encoder has it
    (`embedding.WindowedEncoder`); one without it gives no sentence evidence."""

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


class Head(Protocol):
    """A trained classifier over texts and their vectors.

    `vectors` is a function, not an array, so a head asks only for what it uses: a
    TF-IDF-only head never loads an encoder, a sentence-level head also embeds sentences.
    """

    @property
    def classes(self) -> list[str]: ...

    def predict_proba(self, texts: Sequence[str], vectors: Vectorize) -> np.ndarray: ...


class PipelineHead:
    """The skops scikit-learn pipeline behind the `Head` protocol: it reads a feature frame
    (text, paragraph vector and, if trained on them, sentence vectors)."""

    def __init__(self, pipeline: Any, uses_sentences: bool) -> None:
        self.pipeline = pipeline
        self.uses_sentences = uses_sentences

    @property
    def classes(self) -> list[str]:
        return [str(c) for c in self.pipeline.classes_]

    def predict_proba(self, texts: Sequence[str], vectors: Vectorize) -> np.ndarray:
        from rhetoric.model.features import build_feature_frame

        return self.pipeline.predict_proba(build_feature_frame(texts, vectors, self.uses_sentences))


@dataclass(frozen=True)
class LabeledParagraph:
    """One labeled text: the most likely label and every label's probability (card order).

    >>> LabeledParagraph.from_proba(np.array([0.2, 0.8]), ["a", "b"]).to_dict()
    {'label': 'b', 'scores': {'a': 0.2, 'b': 0.8}}
    """

    label: str
    scores: dict[str, float]

    @property
    def confidence(self) -> float:
        return max(self.scores.values())

    @classmethod
    def from_proba(cls, proba: np.ndarray, labels: Sequence[str]) -> LabeledParagraph:
        return cls(
            labels[int(proba.argmax())], {label: float(p) for label, p in zip(labels, proba, strict=True)}
        )

    @classmethod
    def from_row(cls, row: dict[str, Any], where: str) -> LabeledParagraph:
        """Read back from a written row (predict's JSONL); a DataError names the row."""
        from rhetoric.errors import DataError

        scores = row.get("scores")
        if (
            not isinstance(row.get("label"), str)
            or not isinstance(scores, dict)
            or not scores
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in scores.values())
        ):
            raise DataError(
                f"{where}: needs 'label' and 'scores' as `rhetoric predict` writes them; re-run it."
            )
        return cls(row["label"], {str(k): float(v) for k, v in scores.items()})

    def to_dict(self) -> dict[str, Any]:
        """The written form: scores rounded to SCORE_DIGITS decimals."""
        return {"label": self.label, "scores": {k: round(v, SCORE_DIGITS) for k, v in self.scores.items()}}


def check_texts(texts: Sequence[Any]) -> None:
    """Every text is a string of at most MAX_TEXT_CHARS characters, or a DataError naming it."""
    from rhetoric.errors import DataError

    for number, text in enumerate(texts, start=1):
        if not isinstance(text, str):
            raise DataError(f"text {number} of the batch is {type(text).__name__}, not a string; give text.")
        if len(text) > MAX_TEXT_CHARS:
            raise DataError(
                f"text {number} of the batch has {len(text):,} characters, over the limit of "
                f"{MAX_TEXT_CHARS:,} per paragraph; split it into paragraphs (blank lines) first."
            )


def score_columns(labels: Sequence[str]) -> list[str]:
    return [f"p_{label}" for label in labels]


def to_frame(results: Sequence[LabeledParagraph], labels: Sequence[str]) -> pd.DataFrame:
    """The results flattened for MLflow's DataFrame contract: `label`, then `p_<label>`."""
    import pandas as pd

    frame = pd.DataFrame(
        [[r.to_dict()["scores"][label] for label in labels] for r in results],
        columns=score_columns(labels),
        dtype=float,
    )
    frame.insert(0, "label", [r.label for r in results])
    return frame


class LazyEncoder:
    """An encoder built on first use (loading one costs seconds and is often not needed)."""

    def __init__(self, build: Callable[[], TextEncoder]) -> None:
        self.build = build
        self.encoder: TextEncoder | None = None

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if self.encoder is None:
            self.encoder = self.build()
        return self.encoder.encode(texts)

    def encode_with_sentences(self, texts: Sequence[str]) -> tuple[np.ndarray, list[np.ndarray]]:
        if self.encoder is None:
            self.encoder = self.build()
        return with_sentences(self.encoder, texts)


def evidence_rows(found: Sequence[tuple[str, LabeledParagraph]]) -> list[dict[str, Any]]:
    """A paragraph's sentence evidence as the report keeps it: each sentence's text, label
    and score (that label's probability)."""
    return [{"text": s, "label": got.label, "score": got.confidence} for s, got in found]


def with_sentences(encoder: TextEncoder, texts: Sequence[str]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Vectors and sentence vectors (see `WindowedEncoder.encode_with_sentences`); no
    sentence vectors from an encoder that cannot pool its tokens."""
    encode = getattr(encoder, "encode_with_sentences", None)
    if encode is not None:
        return encode(texts)
    vectors = encoder.encode(texts)
    return vectors, [np.zeros((0, vectors.shape[1]), dtype=np.float32)] * len(texts)


def model_encoder(
    folder: ModelFolder, card: ModelCard, packaged: bool, onnx_cache: Path | None, threads: int | None = None
) -> TextEncoder:
    """The encoder of the model in `folder`: its package's ONNX encoder where `packaged`,
    else the card's encoder with the card's backend. A model trained on ONNX vectors without
    a package exports its encoder into `onnx_cache` (reused while the weights match)."""
    if packaged:
        from rhetoric.encoders.factory import load_exported

        manifest = folder.current_package()
        if manifest is None:
            raise ModelError(
                f"{folder.package.root}: the package changed while loading; run the command again."
            )
        # Hashing the ONNX graph (hundreds of MB) takes about as long as loading it, so both
        # run at once (hashlib releases the GIL); the encoder is returned only once verified,
        # and a changed file is reported as such even when loading it failed too.
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            verified = pool.submit(folder.package.verify, manifest, True)
            try:
                encoder = load_exported(folder.package.embedder, threads=threads)
            except ModelError:
                verified.result()
                raise
            verified.result()
        if encoder.identity.weights_sha256 != card.embedder.weights_sha256:
            raise ModelError(
                f"{folder.package.embedder}: exported from other weights than the model was trained "
                "with; re-export it with `dvc repro`."
            )
        return encoder
    from rhetoric.encoders.embedding import choose_backend, choose_device
    from rhetoric.encoders.factory import make_encoder
    from rhetoric.params import EXPORTED_BACKENDS

    identity = folder.encoder_identity(card)
    # onnxruntime and OpenVINO run on the CPU: a model trained on their vectors (int8-static,
    # `auto` on a VNNI CPU) is served on the CPU of a GPU machine too, not refused.
    exported = card.embed_params.backend in EXPORTED_BACKENDS
    device = "cpu" if exported else choose_device("auto")
    backend = choose_backend(card.embed_params.backend, device)
    return make_encoder(identity, device, backend, card.embed_params.batch_size, onnx_cache, threads=threads)


def needs_onnx_cache(card: ModelCard) -> bool:
    from rhetoric.params import EXPORTED_BACKENDS

    return card.embed_params.backend in EXPORTED_BACKENDS


class Labeler:
    """Labels paragraphs with a `Head`, embedding them with `encoder` unless vectors are cached."""

    def __init__(
        self, encoder: TextEncoder, head: Head, card: ModelCard, lookup: Lookup | None = None
    ) -> None:
        if list(head.classes) != sorted(card.labels):
            raise ModelError("the classifier's classes do not match its card's labels; retrain it.")
        self.encoder = encoder
        self.head = head
        self.card = card
        self.lookup = lookup  # cached vectors (the vector store), used before the encoder
        self.labels: list[str] = list(card.labels)
        self.order = [list(head.classes).index(label) for label in self.labels]
        # sha1 -> sentence vectors from this process's own encoder passes, kept only after
        # `keep_sentence_vectors` (the report asks for evidence after labeling).
        self.sentence_vectors: dict[str, np.ndarray] | None = None

    def keep_sentence_vectors(self) -> None:
        """From now on, encode paragraphs with their sentence vectors and keep those, so
        `sentence_evidence` on the same texts needs no second encoder pass."""
        self.sentence_vectors = {}

    @classmethod
    def load(
        cls,
        model_dir: str | Path,
        exported: bool = False,
        store: Path | None = None,
        onnx_cache: Path | None = None,
        threads: int | None = None,
    ) -> Labeler:
        """The model in `model_dir`; with `exported`, its current package where there is one.

        `store` is the vector store root: the model's vectors are looked up there first.
        `onnx_cache` is where a model trained on ONNX vectors (embed.backend onnx or int8)
        but without a current package exports its encoder; by default the store's encoder
        folder (`VectorStore.encoder_folder`, where the embed stage already exported it).
        Nothing is cached anywhere else: without either, such a model is refused.
        """
        folder = ModelFolder(Path(model_dir))
        card, head_file, _ = folder.card_and_head()
        lookup = None
        if store is not None:
            from rhetoric.vectors import VectorStore

            vectors = VectorStore(store, card.embed_params.store_key)
            lookup, onnx_cache = vectors.find, onnx_cache or vectors.encoder_folder
        if card.embed_params.backend == "int8-static" and folder.quantized_encoder.is_dir():
            onnx_cache = folder.quantized_encoder  # a registered model's own quantized encoder
        manifest = folder.current_package() if exported else None
        if manifest is None and onnx_cache is None and needs_onnx_cache(card):
            raise ModelError(
                f"{folder.root}: the model was trained on {card.embed_params.backend} (ONNX) vectors and "
                "has no current package; run `dvc repro` to export it, or give the vector store "
                "(--vectors/--store), whose encoder folder holds the exported encoder."
            )
        encoder = LazyEncoder(lambda: model_encoder(folder, card, manifest is not None, onnx_cache, threads))
        if manifest and manifest.get("linear_head"):
            from rhetoric.model.linear_head import LinearHead

            return cls(encoder, LinearHead.load(folder.package.root), card, lookup)
        from rhetoric.model.sklearn_head import load_head

        return cls(encoder, PipelineHead(load_head(head_file), card.uses_sentences), card, lookup)

    def check_compatible(self, labels: Sequence[str], embed_model: str | None = None) -> None:
        """Refuse to mix a model with params it was not trained for."""
        if list(labels) != self.labels:
            raise ModelError(
                f"the model was trained with labels {self.labels}, but params say "
                f"{list(labels)}; retrain with `dvc repro` or use a matching model."
            )
        trained = self.card.embedder.name
        # A fine-tuned encoder (inside the model folder) is pinned by its hash; params name its base.
        if embed_model is not None and embed_model != trained and not self.card.embedder.inside_model:
            raise ModelError(
                f"the model was trained on embedder {trained!r}, but params "
                f"embed.model is {embed_model!r}; retrain with `dvc repro`."
            )

    def vectors_for(self, texts: Sequence[str], lookup: Lookup | None = None) -> np.ndarray:
        """Vectors of `texts`: cached ones from `lookup(sha1s)` (default: the labeler's
        store), the rest encoded now."""
        lookup = lookup or self.lookup
        found: list[np.ndarray | None] = (
            lookup([paragraph_sha1(t) for t in texts]) if lookup else [None] * len(texts)
        )
        todo = [i for i, v in enumerate(found) if v is None]
        if todo:
            pending = [texts[i] for i in todo]
            if self.sentence_vectors is None:
                fresh = self.encoder.encode(pending)
            else:
                fresh, groups = with_sentences(self.encoder, pending)
                self.sentence_vectors.update(zip(map(paragraph_sha1, pending), groups, strict=True))
            for i, vector in zip(todo, fresh, strict=True):
                found[i] = vector
        return np.stack(found).astype(np.float32)

    def sentence_vectors_for(self, texts: Sequence[str], spans: Sequence[Sequence[Span]]) -> list[np.ndarray]:
        """Each normalized text's sentence vectors (one row per sentence at its `spans`;
        none where the model cannot say): kept from this process's pass (and dropped from
        there once read, so a long run holds only a batch's), else the store's, else encoded now."""
        from rhetoric.encoders.sentence_spans import no_evidence_key, sentence_key

        shas = [paragraph_sha1(t) for t in texts]
        wanted = [[sentence_key(sha, span) for span in s] for sha, s in zip(shas, spans, strict=True)]
        kept = self.sentence_vectors if self.sentence_vectors is not None else {}
        popped = [kept.pop(sha, None) for sha in shas]
        groups: list[np.ndarray | None] = [
            g if keys else None for g, keys in zip(popped, wanted, strict=True)
        ]
        asked = [i for i, g in enumerate(groups) if g is None and wanted[i]]
        if asked and self.lookup is not None:
            keys = [key for i in asked for key in [*wanted[i], no_evidence_key(shas[i])]]
            stored = dict(zip(keys, self.lookup(keys), strict=True))
            for i in asked:
                rows = [stored[key] for key in wanted[i]]
                if all(r is not None for r in rows):
                    groups[i] = np.stack(rows)
                elif stored[no_evidence_key(shas[i])] is not None:
                    groups[i] = np.zeros((0, 1), dtype=np.float32)
        todo = [i for i in asked if groups[i] is None]
        if todo:
            _, fresh = with_sentences(self.encoder, [texts[i] for i in todo])
            for i, group in zip(todo, fresh, strict=True):
                groups[i] = group
        empty = np.zeros((0, 1), dtype=np.float32)
        return [
            g if g is not None and len(g) == len(keys) else empty
            for g, keys in zip(groups, wanted, strict=True)
        ]

    def sentence_evidence(self, texts: Sequence[str]) -> list[list[tuple[str, LabeledParagraph]]]:
        """For each text, its sentences each labeled by the head from the sentence's vector
        of the paragraph's own pass (encoders/sentence_spans.py); [] for a text of one
        sentence (its own evidence), and wherever the model cannot say: a head trained on
        sentence features, or an encoder that gives no token states."""
        from rhetoric.encoders.sentence_spans import sentence_spans

        texts = [normalize_paragraph(t) for t in texts]
        if getattr(self.head, "uses_sentences", False):
            return [[] for _ in texts]
        spans = [sentence_spans(t) for t in texts]
        groups = self.sentence_vectors_for(texts, spans)
        sentences = [
            [t[a:b] for a, b in s] if len(g) else [] for t, s, g in zip(texts, spans, groups, strict=True)
        ]
        flat = [s for group in sentences for s in group]
        if not flat:
            return [[] for _ in texts]
        vectors = np.concatenate([g for g in groups if len(g)]).astype(np.float32)
        proba = self.head.predict_proba(flat, lambda batch: vectors)[:, self.order]
        labeled = iter(LabeledParagraph.from_proba(p, self.labels) for p in proba)
        return [[(s, next(labeled)) for s in group] for group in sentences]

    def predict_proba(self, texts: Sequence[str], lookup: Lookup | None = None) -> np.ndarray:
        """Probabilities of the whitespace-normalized texts, columns in `self.labels` order."""
        if not len(texts):
            return np.zeros((0, len(self.labels)))
        check_texts(texts)
        texts = [normalize_paragraph(t) for t in texts]
        proba = self.head.predict_proba(texts, lambda batch: self.vectors_for(batch, lookup))
        return proba[:, self.order]

    def label(self, texts: Sequence[str], lookup: Lookup | None = None) -> list[LabeledParagraph]:
        """One `LabeledParagraph` per text, in order."""
        return [LabeledParagraph.from_proba(p, self.labels) for p in self.predict_proba(texts, lookup)]
