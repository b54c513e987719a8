"""One metrics dict from labels and predictions: written to metrics.json and to MLflow."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support


def classification_metrics(
    y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]
) -> dict[str, Any]:
    """Accuracy, macro-F1 and per-class precision/recall/F1/support.

    >>> m = classification_metrics(["a", "b", "b"], ["a", "b", "a"], ["a", "b"])
    >>> round(m["accuracy"], 3), round(m["f1_macro"], 3), m["per_class"]["b"]["recall"]
    (0.667, 0.667, 0.5)
    """
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=list(labels), zero_division=0
    )
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "f1_macro": float(f1_score(y_true, y_pred, labels=list(labels), average="macro", zero_division=0)),
        "n": len(y_true),
        "per_class": {
            label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
        },
    }


def per_group_metrics(
    groups: Sequence[str], y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Accuracy, macro-F1 and per-class F1 within each group (e.g. each `source_kind`).

    Real text arrives from publishers with different habits; one aggregate figure can
    hide a publisher the model reads badly.

    >>> m = per_group_metrics(["x", "x", "y"], ["a", "b", "a"], ["a", "a", "a"], ["a", "b"])
    >>> m["x"]["n"], m["x"]["accuracy"], m["y"]["accuracy"]
    (2, 0.5, 1.0)
    """
    out: dict[str, dict[str, Any]] = {}
    for group in sorted(set(groups)):
        rows = [i for i, g in enumerate(groups) if g == group]
        out[group] = classification_metrics([y_true[i] for i in rows], [y_pred[i] for i in rows], labels)
    return out


def per_source(
    rows: Sequence[dict[str, Any]], y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]
) -> dict[str, dict[str, Any]] | None:
    """`per_group_metrics` by each row's `source_kind`, or None unless every row has one."""
    sources = [str(r["source_kind"]) for r in rows if "source_kind" in r]
    return per_group_metrics(sources, y_true, y_pred, labels) if len(sources) == len(rows) else None


def confusion_table(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]) -> pd.DataFrame:
    """Confusion matrix with actual labels as rows and predicted labels as columns."""
    matrix = confusion_matrix(y_true, y_pred, labels=list(labels))
    return pd.DataFrame(matrix, index=pd.Index(labels, name="actual"), columns=list(labels))


def reliability(confidence: np.ndarray, correct: np.ndarray, bins: int) -> tuple[pd.DataFrame, float]:
    """Reliability-diagram rows (bin, mean confidence, accuracy, count) and the expected
    calibration error: how far the top probability is from how often it is right.

    >>> table, ece = reliability(np.array([0.9, 0.9, 0.6]), np.array([1, 1, 0]), 2)
    >>> round(ece, 3)
    0.133
    """
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    rows, ece = [], 0.0
    for b in range(bins):
        mask = which == b
        if not mask.any():
            continue
        conf, acc = float(confidence[mask].mean()), float(correct[mask].mean())
        rows.append(
            {
                "bin": round(float(edges[b] + edges[b + 1]) / 2, 3),
                "confidence": conf,
                "accuracy": acc,
                "count": int(mask.sum()),
            }
        )
        ece += mask.mean() * abs(conf - acc)
    return pd.DataFrame(rows, columns=["bin", "confidence", "accuracy", "count"]), float(ece)
