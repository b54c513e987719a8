from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rhetoric.corpus.split import cv_folds, leakage_groups, train_test_split_grouped
from rhetoric.errors import DataError


def corpus(n_docs: int = 20) -> tuple[pd.Series, np.ndarray]:
    labels = []
    groups = []
    for d in range(n_docs):
        for label in ["greeting", "historical_claim", "future_commitment", "other"][: 2 + d % 3]:
            labels.append(label)
            groups.append(d)
    return pd.Series(labels), np.array(groups)


def test_split_keeps_documents_whole_and_is_seeded() -> None:
    labels, groups = corpus()
    train, test = train_test_split_grouped(labels, groups, 0.25, seed=1)
    assert not set(groups[train]) & set(groups[test])
    assert len(train) + len(test) == len(labels)
    assert set(labels[test]) == set(labels)  # stratified: every label on the test side
    again = train_test_split_grouped(labels, groups, 0.25, seed=1)
    assert (again[1] == test).all()


def test_cv_folds_never_share_a_group() -> None:
    labels, groups = corpus()
    for fit, held in cv_folds(labels, groups, 4, seed=0):
        assert not set(groups[fit]) & set(groups[held])


def test_shared_paragraph_links_documents() -> None:
    groups = leakage_groups(["a", "a", "b", "c", "c"], ["x", "y", "z", "y", "w"])
    assert groups[0] == groups[3]  # a and c share paragraph y
    assert groups[2] != groups[0]


def test_too_few_examples_says_how_many_are_needed() -> None:
    labels = pd.Series(["greeting"] * 10 + ["other"] * 2)
    groups = np.arange(12)
    with pytest.raises(DataError, match=r"'other' occurs in 2 document\(s\).*at least 5 documents"):
        train_test_split_grouped(labels, groups, 0.2, seed=0)
