"""Behavioural tests on a model trained on the shipped corpus (Made-With-ML's tiers):
minimum functionality, invariance and direction."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from rhetoric.corpus.documents import match_labels, read_labels, segment_folder
from rhetoric.corpus.split import cv_folds, leakage_groups
from rhetoric.encoders.embedding import Encoder, resolve_model, store_key
from rhetoric.model.card import EncoderRef, EncodingRecipe, ModelCard
from rhetoric.model.features import build_feature_frame
from rhetoric.model.labeler import Labeler, PipelineHead
from rhetoric.model.sklearn_head import fit_selected
from rhetoric.model.training import data_digest
from rhetoric.params import TrainParams

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
# The head design of params.yaml on the small packaged encoder: embedding the whole corpus
# takes about a minute with it on 2 cores, nine with the default all-mpnet-base-v2. These
# tests check behaviour the design must show on our corpus; the default encoder's quality
# on real text is measured by benchmarks/designs.py.
TEST_ENCODER = "all-MiniLM-L6-v2"


@pytest.fixture(scope="module")
def labeler() -> Labeler:
    return train_default_labeler()


def train_default_labeler() -> Labeler:
    """The default design (params.yaml), fitted on every labeled paragraph."""
    params_raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    labels = params_raw["labels"]
    train = dict(params_raw["train"])
    c = train["hyperparameters"]["C"]
    train["hyperparameters"] = {"C": c[len(c) // 2] if isinstance(c, list) else c}
    params = TrainParams.from_dict(train)
    paragraphs, _ = segment_folder(ROOT / "data/documents", 5 << 20)
    labeled = match_labels(paragraphs, read_labels(ROOT / "data/labels.jsonl", labels), "labels")
    identity = resolve_model(TEST_ENCODER)
    encoder = Encoder(identity, device="cpu", backend=params_raw["embed"]["backend"])
    X = build_feature_frame(labeled["text"], encoder.encode, "sentences" in params.features)
    groups = leakage_groups(labeled["doc"].tolist(), labeled["sha1"].tolist())
    folds = cv_folds(labeled["label"], groups, 2, params.seed)
    head, search = fit_selected(params, X, labeled["label"], folds)
    card = ModelCard(
        labels=tuple(labels),
        embedder=EncoderRef(identity.name, identity.path, identity.weights_sha256),
        embed_params=EncodingRecipe(
            encoder.backend, encoder.batch_size, store_key(identity, encoder.backend)
        ),
        train_params=params.to_dict(),
        data_digest=data_digest(labeled),
        counts={"labeled": len(labeled)},
        train_docs=tuple(sorted(set(labeled["doc"]))),
        test_docs=(),
        selection=search,
    )
    return Labeler(encoder, PipelineHead(head, card.uses_sentences), card)


def label_of(labeler: Labeler, text: str) -> str:
    return labeler.label([text])[0].label


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "President Okafor sent a message of warm congratulations to President Mensah on the "
            "66th anniversary of Ghana's independence, wishing the Ghanaian people happiness.",
            "greeting",
        ),
        ("Please accept our deepest condolences over the victims of the floods.", "greeting"),
        (
            "Over the past 60 years, the two countries have stood together through every trial, "
            "and their friendship has grown ever stronger.",
            "historical_claim",
        ),
        ("Diplomatic relations between the two countries were established in 1957.", "historical_claim"),
        (
            "Our government will continue to support Laos in building its economy and stands ready "
            "to expand cooperation in energy and transport.",
            "future_commitment",
        ),
        (
            "Both sides agreed to hold the next round of consultations in Hanoi and to double "
            "bilateral trade by 2030.",
            "future_commitment",
        ),
        ("More than 150 guests, including diplomats and business leaders, attended the event.", "other"),
        ("ULAANBAATAR, Sept 3 (Montsame) --", "other"),
    ],
)
def test_minimum_functionality(labeler: Labeler, text: str, expected: str) -> None:
    assert label_of(labeler, text) == expected


@pytest.mark.parametrize(
    ("template", "fills"),
    [
        (
            "Over the past {n} years, {a} and {b} have supported each other and built a friendship "
            "that has withstood every test.",
            [("60", "China", "the DPRK"), ("30", "Kenya", "Ethiopia"), ("45", "Brazil", "Angola")],
        ),
        (
            "{a} will continue to work with {b} to deepen cooperation in trade, energy and education "
            "in the years ahead.",
            [("", "Vietnam", "Laos"), ("", "Canada", "Norway"), ("", "Egypt", "Algeria")],
        ),
        (
            "President of {a} sent a congratulatory message to his counterpart in {b} on the "
            "{n}th anniversary of independence.",
            [("50", "Senegal", "Mali"), ("75", "India", "Indonesia"), ("62", "Jamaica", "Cuba")],
        ),
    ],
)
def test_names_dates_and_numbers_do_not_change_the_label(labeler: Labeler, template: str, fills) -> None:
    labels = {label_of(labeler, template.format(n=n, a=a, b=b)) for n, a, b in fills}
    assert len(labels) == 1


def test_adding_a_pledge_moves_toward_future_commitment(labeler: Labeler) -> None:
    history = (
        "The treaty signed in 1961 laid a solid foundation for relations, and over the "
        "decades the two peoples have helped each other in hard times."
    )
    pledge = " We will continue to strengthen this friendship and expand cooperation in every field."
    index = labeler.labels.index("future_commitment")
    before, after = labeler.predict_proba([history, history + pledge])[:, index]
    assert after > before + 0.1


def test_adding_congratulations_moves_toward_greeting(labeler: Labeler) -> None:
    plain = "The two ministers met in Geneva on the sidelines of the conference."
    warm = plain + " The minister extended warm congratulations on the national day and best wishes."
    index = labeler.labels.index("greeting")
    before, after = labeler.predict_proba([plain, warm])[:, index]
    assert after > before + 0.1


def test_probabilities_sum_to_one(labeler: Labeler) -> None:
    proba = labeler.predict_proba(["We look forward to working together.", "PARIS, May 4 --"])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    (result,) = labeler.label(["We look forward to working together."])
    assert list(result.scores) == labeler.labels
    assert result.label == max(result.scores, key=result.scores.__getitem__)
