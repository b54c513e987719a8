"""Scoring a labeler on labeled paragraphs: the metrics dict and the per-row predictions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from rhetoric.labeler import Labeler, Lookup
from rhetoric.metrics import classification_metrics, reliability


def score(
    labeler: Labeler, texts: Sequence[str], y_true: Sequence[str], lookup: Lookup | None, bins: int
) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """Metrics, predictions (text, actual, predicted, confidence) and the reliability table."""
    proba = labeler.predict_proba(list(texts), lookup)
    predicted = [labeler.labels[i] for i in proba.argmax(axis=1)]
    confidence = proba.max(axis=1)
    correct = np.array([p == t for p, t in zip(predicted, y_true, strict=True)], dtype=float)
    metrics = classification_metrics(list(y_true), predicted, labeler.labels)
    table, ece = reliability(confidence, correct, bins)
    metrics["calibration_ece"] = ece
    predictions = pd.DataFrame(
        {
            "text": list(texts),
            "actual": list(y_true),
            "predicted": predicted,
            "confidence": confidence.round(4),
        }
    )
    return metrics, predictions, table


def format_report(
    metrics: dict[str, Any], confusion: pd.DataFrame, by_group: dict[str, dict[str, Any]] | None = None
) -> str:
    """A plain-text report for the terminal; `by_group` adds one line per source."""
    lines = [
        f"paragraphs  {metrics['n']}",
        f"accuracy    {metrics['accuracy']:.3f}",
        f"macro-F1    {metrics['f1_macro']:.3f}",
        "",
        f"{'label':20s} {'prec':>6s} {'recall':>6s} {'F1':>6s} {'n':>5s}",
    ]
    for label, m in metrics["per_class"].items():
        lines.append(f"{label:20s} {m['precision']:6.3f} {m['recall']:6.3f} {m['f1']:6.3f} {m['support']:5d}")
    lines += ["", "confusion (rows actual, columns predicted)", confusion.to_string()]
    if by_group:
        labels = list(metrics["per_class"])
        header = " ".join(f"{label[:10]:>10s}" for label in labels)
        lines += ["", f"{'source_kind':20s} {'n':>5s} {'acc':>6s} {'macro-F1':>8s} {header}"]
        for group, m in by_group.items():
            per_class = " ".join(f"{m['per_class'][label]['f1']:10.3f}" for label in labels)
            lines.append(f"{group:20s} {m['n']:5d} {m['accuracy']:6.3f} {m['f1_macro']:8.3f} {per_class}")
    return "\n".join(lines)


def confusion_pairs(predictions: pd.DataFrame) -> pd.DataFrame:
    """Rows of (actual, predicted), the shape DVC's confusion plot template reads."""
    return predictions[["actual", "predicted"]]
