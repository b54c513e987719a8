"""Fine-tuning: a tiny run on the packaged MiniLM, saved without pickle, repeatable."""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pytest

from rhetoric.encoders.choice import encoder_to_embed
from rhetoric.encoders.embedding import Encoder, load_sentence_transformer, resolve_model, weights_sha256
from rhetoric.encoders.finetuning import (
    BATCHING,
    FineTuneRecipe,
    batch_order,
    fine_tune,
    fine_tuned_record,
    kept_fine_tuned,
    layer_stack,
    lower_layer_states,
    lower_layers_note,
    supervised_contrastive_loss,
    tokenized,
    vectors_from_states,
)
from rhetoric.errors import ModelError
from rhetoric.io import write_json

LABELS = ["greeting", "historical_claim", "future_commitment", "other"]
TEXTS = [
    "We send our warmest congratulations on your national day.",
    "Please accept our sincere good wishes for the new year.",
    "The treaty signed in 1961 laid the foundation of our friendship.",
    "Over six decades the two nations built a record of trust.",
    "We will expand cooperation in trade and energy next year.",
    "Both sides are ready to deepen their partnership from now on.",
    "Some 200 guests attended the reception at the embassy.",
    "The talks lasted two hours in the capital.",
]
GOLD = ["greeting", "greeting", "historical_claim", "historical_claim"] + [
    "future_commitment",
    "future_commitment",
    "other",
    "other",
]
TINY = FineTuneRecipe(epochs=1, batch_size=4, max_tokens=32, learning_rate=1e-4, seed=7)


@pytest.mark.slow
def test_fine_tuned_encoder_is_safetensors_repeatable_and_changed(tmp_path: Path) -> None:
    base = resolve_model("all-MiniLM-L6-v2")
    first, second = tmp_path / "a", tmp_path / "b"
    record = fine_tune(Path(base.path), TEXTS, GOLD, LABELS, TINY, first)
    fine_tune(Path(base.path), TEXTS, GOLD, LABELS, TINY, second)
    assert record["steps"] == 2
    assert (first / "model.safetensors").is_file()
    assert not [p for p in first.rglob("*") if p.suffix in (".bin", ".pkl", ".pt", ".pickle")]
    assert weights_sha256(first) == weights_sha256(second)
    assert weights_sha256(first) != base.weights_sha256
    # Trained on short inputs, but saved with the base model's window for embedding.
    assert (
        Encoder(resolve_model(str(first)), device="cpu").max_tokens == Encoder(base, device="cpu").max_tokens
    )
    tuned = Encoder(resolve_model(str(first)), device="cpu", backend="fp32").encode(TEXTS[:2])
    frozen = Encoder(base, device="cpu", backend="fp32").encode(TEXTS[:2])
    assert not np.allclose(tuned, frozen, atol=1e-4)


def padded_tokens(batches: list[np.ndarray], lengths: np.ndarray) -> int:
    """Tokens the batches hold once each is padded to its longest row."""
    return int(sum(lengths[rows].max() * len(rows) for rows in batches))


def test_batches_cover_every_row_once_per_epoch_with_little_padding() -> None:
    lengths = np.random.default_rng(0).integers(10, 200, size=1000)
    batches = batch_order(lengths, 16, 2, seed=3)
    per_epoch = -(-1000 // 16)
    assert len(batches) == 2 * per_epoch
    for epoch in (batches[:per_epoch], batches[per_epoch:]):
        assert sorted(np.concatenate(epoch).tolist()) == list(range(1000))
    # Plain shuffled batches of these lengths pad to about 1.8 times their tokens.
    assert padded_tokens(batches[:per_epoch], lengths) < 1.3 * lengths.sum()
    assert [b.tolist() for b in batches] == [b.tolist() for b in batch_order(lengths, 16, 2, seed=3)]
    assert [b.tolist() for b in batches] != [b.tolist() for b in batch_order(lengths, 16, 2, seed=4)]
    # Batches are not simply the rows in length order: each chunk is a random draw.
    assert len({int(lengths[b].max()) // 20 for b in batches[:per_epoch]}) > 1
    assert np.corrcoef(np.arange(per_epoch), [lengths[b].mean() for b in batches[:per_epoch]])[0, 1] < 0.5


def test_a_fraction_of_an_epoch_trains_on_a_random_part_of_the_rows() -> None:
    lengths = np.random.default_rng(0).integers(10, 200, size=400)
    quarter = batch_order(lengths, 16, 0.25, seed=3)
    assert len(quarter) == 7  # a quarter of 25 batches, rounded up
    rows = np.concatenate(quarter)
    assert len(set(rows.tolist())) == len(rows)  # no row twice
    assert rows.max() > 300 and rows.min() < 100  # drawn from all the rows, not the first ones
    assert batch_order([], 16, 1, seed=3) == []
    longer = batch_order(lengths, 16, 1.5, seed=3)
    assert len(longer) == 38
    assert sorted(np.concatenate(longer[:25]).tolist()) == list(range(400))


@pytest.mark.slow
def test_top_layers_on_a_fraction_of_an_epoch_compute_states_of_only_its_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rhetoric.encoders import finetuning

    seen: list[int] = []

    def counted(model: object, texts: list[str], first: int, batch_size: int = 32) -> list:
        seen.append(len(texts))
        return lower_layer_states(model, texts, first, batch_size)

    monkeypatch.setattr(finetuning, "lower_layer_states", counted)
    base = resolve_model("all-MiniLM-L6-v2")
    half = replace(TINY, top_layers=2, epochs=0.5)
    record = fine_tune(Path(base.path), TEXTS, GOLD, LABELS, half, tmp_path / "a")
    assert record["steps"] == 1 and record["paragraphs_used"] == 4
    assert seen == [4]  # one batch of 4 of the 8 paragraphs
    assert weights_sha256(tmp_path / "a") != base.weights_sha256
    # Each used row gets its own states: given the states of every row, the same run
    # trains the same weights (within float noise from other padding).
    from safetensors.numpy import load_file

    model = load_sentence_transformer(Path(base.path), "cpu")
    model.max_seq_length = half.max_tokens
    every = lower_layer_states(model, TEXTS, len(layer_stack(model)) - 2)
    fine_tune(Path(base.path), TEXTS, GOLD, LABELS, half, tmp_path / "b", lower_states=every)
    mine, given = (
        load_file(str(tmp_path / "a/model.safetensors")),
        load_file(str(tmp_path / "b/model.safetensors")),
    )
    # Adam's first step moves every trained weight by about the rate, so states of the
    # wrong paragraphs would move most of them differently; float noise moves almost none.
    differing = sum(int((~np.isclose(mine[k], given[k], rtol=0, atol=1e-6)).sum()) for k in mine)
    assert differing < 0.01 * sum(mine[k].size for k in mine if "layer.4" in k or "layer.5" in k)


@pytest.mark.slow
def test_top_layers_trains_only_the_top_of_the_layer_stack(tmp_path: Path) -> None:
    from safetensors.numpy import load_file

    base = resolve_model("all-MiniLM-L6-v2")  # six layers
    fine_tune(Path(base.path), TEXTS, GOLD, LABELS, replace(TINY, top_layers=2), tmp_path / "top")
    fine_tune(Path(base.path), TEXTS, GOLD, LABELS, replace(TINY, top_layers=2), tmp_path / "again")
    assert weights_sha256(tmp_path / "top") == weights_sha256(tmp_path / "again")
    before = load_file(Path(base.path) / "model.safetensors")
    after = load_file(tmp_path / "top/model.safetensors")

    def part(name: str) -> str:
        """'encoder.layer.4.attention.self.query.weight' -> 'layer 4'; 'embeddings.x' -> 'embeddings'."""
        pieces = name.split(".")
        return f"layer {pieces[2]}" if pieces[:2] == ["encoder", "layer"] else pieces[0]

    assert set(after) <= set(before)  # the same weights (a buffer such as position_ids may be left out)
    changed = {part(name) for name in after if not np.array_equal(before[name], after[name])}
    assert changed == {"layer 4", "layer 5"}


@pytest.mark.parametrize("first", [0, 3, 5])
def test_cached_lower_layer_states_give_the_encoders_own_vectors(first: int) -> None:
    import torch

    model = load_sentence_transformer(Path(resolve_model("all-MiniLM-L6-v2").path), "cpu")
    model.eval()
    texts = TEXTS[:3] + ["Short.", TEXTS[4] + " " + TEXTS[5]]  # unequal lengths: padding in a batch
    states = lower_layer_states(model, texts, first, batch_size=2)
    assert [len(s) for s in states] == [
        int(m.sum()) for m in tokenized(model, texts, "cpu")["attention_mask"]
    ]
    with torch.no_grad():
        from_states = vectors_from_states(model, texts, states, first, "cpu")
        from_nothing = vectors_from_states(model, texts, [s * 0 for s in states], first, "cpu")
        own = model(tokenized(model, texts, "cpu"))["sentence_embedding"]  # after: no hook left behind
    assert torch.allclose(from_states, own, atol=1e-5)
    assert not torch.allclose(from_nothing, own, atol=1e-2)  # the states are really used
    assert len(layer_stack(model)) == 6  # the layer list is whole again
    assert not any(layer._forward_pre_hooks for layer in layer_stack(model))


def test_a_failed_pass_over_cached_states_leaves_the_model_whole() -> None:
    model = load_sentence_transformer(Path(resolve_model("all-MiniLM-L6-v2").path), "cpu")
    states = lower_layer_states(model, TEXTS[:2], 4)
    top = layer_stack(model)[5]
    original = top.forward
    top.forward = lambda *args, **kwargs: (_ for _ in ()).throw(RuntimeError("layer failed"))
    with pytest.raises(RuntimeError, match="layer failed"):
        vectors_from_states(model, TEXTS[:2], states, 4, "cpu")
    top.forward = original
    assert len(layer_stack(model)) == 6
    assert not any(layer._forward_pre_hooks for layer in layer_stack(model))
    # States made for other paragraphs (or another cut) are one line, not a shape error.
    with pytest.raises(ModelError, match="cached states of a paragraph have"):
        vectors_from_states(model, TEXTS[2:4], states, 4, "cpu")
    with pytest.raises(ModelError, match="at layer 6, but the encoder has 6 layers"):
        lower_layer_states(model, TEXTS[:2], 6)


def test_top_layers_beyond_the_stack_is_one_line(tmp_path: Path) -> None:
    base = resolve_model("all-MiniLM-L6-v2")
    with pytest.raises(ModelError, match="top_layers is 7, but the encoder has 6 layers"):
        fine_tune(Path(base.path), TEXTS, GOLD, LABELS, replace(TINY, top_layers=7), tmp_path / "x")


def test_encoder_record_names_what_embed_uses(tmp_path: Path) -> None:
    (tmp_path / "encoder.json").write_text('{"fine_tuned": false, "base": {"name": "all-MiniLM-L6-v2"}}')
    assert encoder_to_embed(tmp_path) == "all-MiniLM-L6-v2"
    (tmp_path / "encoder.json").write_text('{"fine_tuned": true, "base": {"name": "all-MiniLM-L6-v2"}}')
    assert encoder_to_embed(tmp_path) == str(tmp_path)


def test_missing_encoder_record_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="dvc repro finetune"):
        encoder_to_embed(tmp_path)


@pytest.mark.slow
def test_a_fine_tuned_encoder_is_kept_only_for_the_same_base_recipe_and_paragraphs(tmp_path: Path) -> None:
    folder = tmp_path / "encoder"
    folder.mkdir()
    record = fine_tuned_record("all-MiniLM-L6-v2", TEXTS, GOLD, LABELS, TINY, folder, "cpu")
    write_json(folder / "encoder.json", record)
    assert kept_fine_tuned(folder, "all-MiniLM-L6-v2", TEXTS, GOLD, TINY) == record
    # Anything fine-tuning would see differently: fine-tuned again.
    assert kept_fine_tuned(folder, "all-MiniLM-L6-v2", TEXTS[:-1], GOLD[:-1], TINY) is None
    assert kept_fine_tuned(folder, "all-MiniLM-L6-v2", TEXTS, GOLD[::-1], TINY) is None
    assert kept_fine_tuned(folder, "all-MiniLM-L6-v2", TEXTS, GOLD, replace(TINY, seed=8)) is None
    assert kept_fine_tuned(folder, "all-mpnet-base-v2", TEXTS, GOLD, TINY) is None
    # A record written before a recipe field existed holds that field at its default.
    older = {k: v for k, v in record["recipe"].items() if k not in ("objective", "temperature")}
    write_json(folder / "encoder.json", {**record, "recipe": older})
    assert kept_fine_tuned(folder, "all-MiniLM-L6-v2", TEXTS, GOLD, TINY) is not None
    assert (
        kept_fine_tuned(folder, "all-MiniLM-L6-v2", TEXTS, GOLD, replace(TINY, objective="contrastive"))
        is None
    )
    # A param the objective does not use (classification has no temperature) costs no run.
    assert (
        kept_fine_tuned(folder, "all-MiniLM-L6-v2", TEXTS, GOLD, replace(TINY, temperature=0.5)) is not None
    )
    # A top-layer encoder made before the frozen layers' states were cached: made again.
    top = replace(TINY, top_layers=2)
    write_json(folder / "encoder.json", {**record, "recipe": asdict(top)})
    assert kept_fine_tuned(folder, "all-MiniLM-L6-v2", TEXTS, GOLD, top) is None
    noted = {**record["training"], "lower_layers": lower_layers_note(top)}
    write_json(folder / "encoder.json", {**record, "recipe": asdict(top), "training": noted})
    assert kept_fine_tuned(folder, "all-MiniLM-L6-v2", TEXTS, GOLD, top) is not None
    # One fine-tuned on batches drawn the old way (plain shuffled rows): made again.
    unsorted = {k: v for k, v in record["training"].items() if k != "batching"}
    assert record["training"]["batching"] == BATCHING
    write_json(folder / "encoder.json", {**record, "training": unsorted})
    assert kept_fine_tuned(folder, "all-MiniLM-L6-v2", TEXTS, GOLD, TINY) is None
    write_json(folder / "encoder.json", record)
    # Weights changed after fine-tuning, or no record: fine-tuned again.
    (folder / "model.safetensors").write_bytes(b"changed")
    assert kept_fine_tuned(folder, "all-MiniLM-L6-v2", TEXTS, GOLD, TINY) is None
    (folder / "encoder.json").unlink()
    assert kept_fine_tuned(folder, "all-MiniLM-L6-v2", TEXTS, GOLD, TINY) is None


def test_contrastive_loss_is_low_for_vectors_grouped_by_label_and_skips_lone_labels() -> None:
    import torch

    gold = torch.tensor([0, 0, 1, 1, 2])  # label 2 alone in the batch: no positive for it
    weights = torch.ones(3)
    axes = torch.eye(3)
    grouped = axes[gold] + 0.01 * torch.arange(5.0)[:, None]
    mixed = axes[torch.tensor([0, 1, 0, 1, 2])]
    low = supervised_contrastive_loss(grouped, gold, weights, 0.1)
    high = supervised_contrastive_loss(mixed, gold, weights, 0.1)
    assert float(low) < 0.1 < float(high)
    # The lone paragraph is no anchor: where it lies changes only the others' denominators.
    far = mixed.clone()
    far[4] = -axes[0]
    assert float(supervised_contrastive_loss(far, gold, weights, 0.1)) != float(high)
    # Anchors count by their label's weight: weighting label 1 up moves the loss toward
    # its anchors' own loss, which differs from label 0's in `uneven`.
    uneven = torch.stack([axes[0], axes[0], axes[1], axes[0], axes[2]])
    flat = float(supervised_contrastive_loss(uneven, gold, weights, 0.1))
    tilted = float(supervised_contrastive_loss(uneven, gold, torch.tensor([1.0, 9.0, 1.0]), 0.1))
    assert tilted > flat
    # A batch with no label twice gives no loss (and no training step).
    assert supervised_contrastive_loss(axes, torch.tensor([0, 1, 2]), weights, 0.1) is None


@pytest.mark.slow
def test_contrastive_fine_tuning_changes_the_encoder_and_repeats(tmp_path: Path) -> None:
    base = resolve_model("all-MiniLM-L6-v2")
    recipe = replace(TINY, objective="contrastive", top_layers=1)
    fine_tune(Path(base.path), TEXTS, GOLD, LABELS, recipe, tmp_path / "a")
    fine_tune(Path(base.path), TEXTS, GOLD, LABELS, recipe, tmp_path / "b")
    assert weights_sha256(tmp_path / "a") == weights_sha256(tmp_path / "b")
    classified = tmp_path / "c"
    fine_tune(Path(base.path), TEXTS, GOLD, LABELS, replace(recipe, objective="classification"), classified)
    assert len({weights_sha256(tmp_path / "a"), weights_sha256(classified), base.weights_sha256}) == 3

    def separation(folder: Path) -> float:
        """Mean cosine of same-label pairs minus that of other-label pairs."""
        vectors = Encoder(resolve_model(str(folder)), device="cpu", backend="fp32").encode(TEXTS)
        unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        cosine = unit @ unit.T
        same = np.equal.outer(GOLD, GOLD) & ~np.eye(len(GOLD), dtype=bool)
        other = ~np.equal.outer(GOLD, GOLD)
        return float(cosine[same].mean() - cosine[other].mean())

    # Trained longer, the labels pull apart: the loss's sign and direction are right.
    longer = tmp_path / "longer"
    fine_tune(Path(base.path), TEXTS, GOLD, LABELS, replace(recipe, epochs=4, learning_rate=1e-3), longer)
    assert separation(longer) > separation(Path(base.path)) + 0.01


def test_an_unknown_objective_is_one_line(tmp_path: Path) -> None:
    base = resolve_model("all-MiniLM-L6-v2")
    with pytest.raises(ModelError, match="objective is .triplet.; use one of classification, contrastive"):
        fine_tune(Path(base.path), TEXTS, GOLD, LABELS, replace(TINY, objective="triplet"), tmp_path / "x")
