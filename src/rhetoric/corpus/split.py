"""Document-grouped, stratified train/test split and cross-validation folds.

Groups are documents, merged where two documents share a paragraph text, so the
same paragraph can never sit on both sides of a split.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold

from rhetoric.errors import DataError


def leakage_groups(docs: Sequence[str], sha1s: Sequence[str]) -> np.ndarray:
    """One group id per row: documents linked by a shared paragraph share a group.

    >>> leakage_groups(["a", "b", "c"], ["x", "x", "y"]).tolist()
    [0, 0, 1]
    """
    parent: dict[str, str] = {}

    def find(d: str) -> str:
        while parent.setdefault(d, d) != d:
            parent[d] = parent[parent[d]]
            d = parent[d]
        return d

    first_doc_of: dict[str, str] = {}
    for doc, sha in zip(docs, sha1s, strict=True):
        find(doc)
        if sha in first_doc_of:
            parent[find(doc)] = find(first_doc_of[sha])
        else:
            first_doc_of[sha] = doc
    roots: dict[str, int] = {}
    return np.array([roots.setdefault(find(d), len(roots)) for d in docs])


def check_enough_examples(labels: pd.Series, groups: np.ndarray, folds: int) -> None:
    """Each label needs examples in enough documents to appear in every fold."""
    for label, count in labels.groupby(labels.values).size().items():
        doc_count = len(set(groups[(labels == label).to_numpy()]))
        if doc_count < folds:
            raise DataError(
                f"label {label!r} occurs in {doc_count} document(s) ({count} paragraphs); a "
                f"grouped split into {folds} folds needs it in at least {folds} documents. Label "
                "more paragraphs of that kind, or lower train.cv_folds / raise train.test_size."
            )


def train_test_split_grouped(
    labels: pd.Series, groups: np.ndarray, test_size: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of a stratified split with no group on both sides."""
    n_splits = max(2, round(1 / test_size))
    check_enough_examples(labels, groups, n_splits)
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    train_idx, test_idx = next(splitter.split(np.zeros(len(labels)), labels, groups))
    return np.sort(train_idx), np.sort(test_idx)


def cv_folds(
    labels: pd.Series, groups: np.ndarray, folds: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Grouped, stratified cross-validation folds (as index pairs) for model selection."""
    check_enough_examples(labels, groups, folds)
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(labels)), labels, groups))


def training_part(labeled: pd.DataFrame, test_size: float, seed: int) -> pd.DataFrame:
    """The labeled rows on the training side of the grouped split that `train` makes, so a
    stage fitting anything before `train` (fine-tuning) never sees the test documents."""
    groups = leakage_groups(labeled["doc"].tolist(), labeled["sha1"].tolist())
    train_idx, _ = train_test_split_grouped(labeled["label"], groups, test_size, seed)
    return labeled.iloc[train_idx].reset_index(drop=True)
