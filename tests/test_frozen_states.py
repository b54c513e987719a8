"""The frozen layers' states that `finetune` hands to `embed`: written for the paragraphs
fine-tuning read whole, used only by the encoder they belong to, and giving that encoder's
own vectors while its lower layers do not run."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open
from test_finetuning import GOLD, LABELS, TEXTS, TINY

from rhetoric.encoders.embedding import Encoder, resolve_model, weights_sha256
from rhetoric.encoders.finetuning import fine_tune, layer_stack
from rhetoric.encoders.frozen_states import open_states, text_key, write_no_states, write_states

pytestmark = pytest.mark.slow

# Two paragraphs of several sentences (sentence evidence) and one that was never fine-tuned on.
OTHER = "An unrelated paragraph. It was not among the training paragraphs at all."


# Fine-tuning cuts it at TINY's 20 tokens; embed reads it whole.
LONG = TEXTS[-1] + " It went on and on, for much longer than any other meeting that year."


@pytest.fixture(scope="module")
def handed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A top-2 fine-tuning of MiniLM (one epoch: every paragraph read), and its states file."""
    folder = tmp_path_factory.mktemp("handed")
    base = resolve_model("all-MiniLM-L6-v2")
    texts = TEXTS[:-1] + [LONG]
    recipe = replace(TINY, top_layers=2, epochs=1, max_tokens=20)
    fine_tune(Path(base.path), texts, GOLD, LABELS, recipe, folder / "encoder", states_output=folder / "s.st")
    return folder / "encoder", folder / "s.st"


def test_states_are_written_for_the_paragraphs_fine_tuning_read_whole(handed: tuple[Path, Path]) -> None:
    encoder, states = handed
    with safe_open(str(states), framework="pt") as file:
        meta, keys = file.metadata(), set(file.keys())
        shapes = {key: tuple(file.get_tensor(key).shape) for key in keys}
    assert meta["encoder_weights_sha256"] == weights_sha256(encoder)
    assert meta["first_layer"] == "4"  # MiniLM has 6 layers; the top 2 were trained
    assert keys == set(map(text_key, TEXTS[:-1]))  # every paragraph but the one cut at 20 tokens
    assert all(shape[1] == 384 and shape[0] > 5 for shape in shapes.values())


def test_embed_over_the_states_gives_the_encoders_own_vectors_without_its_lower_layers(
    handed: tuple[Path, Path],
) -> None:
    encoder, states = handed
    identity = resolve_model(str(encoder))
    texts = TEXTS + [OTHER, LONG, TEXTS[0] + " " + TEXTS[2]]
    plain = Encoder(identity, device="cpu", backend="fp32")
    over = Encoder(identity, device="cpu", backend="fp32", states=states)
    bottom_rows: list[int] = []
    layer_stack(over.model)[0].register_forward_hook(lambda _m, args, _o: bottom_rows.append(len(args[0])))
    expected, expected_sentences = plain.encode_with_sentences(texts)
    vectors, sentences = over.encode_with_sentences(texts)
    with safe_open(str(states), framework="pt") as file:
        held = len(set(file.keys()) & {text_key(t) for t in texts})
    assert held == len(TEXTS) - 1 and over.from_states == held
    assert sum(bottom_rows) == len(texts) - held  # the lower layers ran only for the others
    np.testing.assert_allclose(vectors, expected, atol=2e-5)
    for got, want in zip(sentences, expected_sentences, strict=True):
        np.testing.assert_allclose(got, want, atol=2e-5)


def test_states_of_another_encoder_or_a_damaged_file_are_not_used(
    handed: tuple[Path, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    encoder, states = handed
    base = resolve_model("all-MiniLM-L6-v2")
    assert open_states(states, base.weights_sha256) is None  # the base's vectors are not the tuned ones
    assert Encoder(base, device="cpu", backend="fp32", states=states).frozen_states is None
    assert open_states(tmp_path / "missing.st", weights_sha256(encoder)) is None
    write_no_states(tmp_path / "none.st")
    assert open_states(tmp_path / "none.st", weights_sha256(encoder)) is None
    (tmp_path / "damaged.st").write_bytes(states.read_bytes()[:100])
    with caplog.at_level(logging.WARNING):
        assert open_states(tmp_path / "damaged.st", weights_sha256(encoder)) is None
    assert "not a readable states file" in caplog.text
    assert open_states(states, weights_sha256(encoder)) is not None


def test_states_that_do_not_fit_their_paragraph_cost_time_not_an_error(
    handed: tuple[Path, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A file of this encoder whose states have other token counts (made at another cut, or
    edited): embed computes every layer for them, with a warning, and gets the usual vectors."""
    encoder, _ = handed
    identity = resolve_model(str(encoder))
    wrong = tmp_path / "wrong.st"
    write_states(wrong, TEXTS[:2], [torch.zeros(3, 384), torch.zeros(4, 384)], identity.weights_sha256, 4)
    with caplog.at_level(logging.WARNING):
        vectors = Encoder(identity, device="cpu", backend="fp32", states=wrong).encode(TEXTS[:2])
    assert "not the token counts" in caplog.text
    plain = Encoder(identity, device="cpu", backend="fp32").encode(TEXTS[:2])
    np.testing.assert_allclose(vectors, plain, atol=1e-6)
