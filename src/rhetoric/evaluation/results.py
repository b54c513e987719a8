"""Scoring a labeler on labeled paragraphs: the metrics dict, the per-row predictions, and
the evaluate stage's whole result (test documents, dev set) with the files it becomes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rhetoric.evaluation.metrics import classification_metrics, confusion_table, reliability
from rhetoric.io import write_csv, write_json, write_jsonl
from rhetoric.model.labeler import LabeledParagraph, Labeler


@dataclass(frozen=True)
class Scores:
    """A labeler measured on labeled texts."""

    metrics: dict[str, Any]
    results: list[LabeledParagraph]  # the labeler's output, one per text
    predictions: pd.DataFrame  # text, actual, predicted, confidence
    reliability: pd.DataFrame


def score(labeler: Labeler, texts: Sequence[str], y_true: Sequence[str], bins: int) -> Scores:
    """Metrics, predictions and the reliability table of `labeler` on `texts`."""
    results = labeler.label(list(texts))
    predicted = [r.label for r in results]
    confidence = np.array([r.confidence for r in results], dtype=np.float64)
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
    return Scores(metrics, results, predictions, table)


@dataclass(frozen=True)
class Evaluation:
    """The evaluate stage's result: the held-out test documents and, if given, the dev set."""

    labels: list[str]
    test: Scores
    test_rows: pd.DataFrame  # doc, idx, text, label of the test paragraphs
    predictions: pd.DataFrame  # doc, idx, text, actual, predicted, confidence
    cv: dict[str, float]
    dev: Scores | None

    dev_file: dict[str, str] | None = None  # path and sha256 of the dev set scored as `dev`

    @property
    def summary(self) -> dict[str, float | int]:
        """metrics.json: the numbers worth a column in `dvc exp show`, one level of dotted
        keys (`test.f1_macro`, `test.greeting.f1`, `dev.f1_macro`, `cv.f1_macro`)."""
        summary = {f"cv.{k}": float(v) for k, v in self.cv.items()}
        summary |= headline_metrics("test", self.test.metrics)
        if self.dev is not None:
            summary |= headline_metrics("dev", self.dev.metrics)
        return summary

    @property
    def all_metrics(self) -> dict[str, float | int]:
        """`summary` plus per-class precision, recall and support: every number MLflow records."""
        summary = self.summary
        for split, scores in (("test", self.test), ("dev", self.dev)):
            if scores is not None:
                summary |= per_class_metrics(split, scores.metrics)
        return summary

    @property
    def description(self) -> dict[str, Any]:
        """evaluation.json, beside metrics.json: what was measured (labels, test documents,
        dev file and its hash) and the per-class details; DVC does not read it as metrics,
        so none of it widens `dvc exp show`."""
        described: dict[str, Any] = {
            "labels": list(self.labels),
            "test": {
                "documents": sorted(self.test_rows["doc"].unique().tolist()),
                "per_class": self.test.metrics["per_class"],
            },
        }
        if self.dev is not None:
            described["dev"] = {**(self.dev_file or {}), "per_class": self.dev.metrics["per_class"]}
        return described


def headline_metrics(split: str, metrics: dict[str, Any]) -> dict[str, float | int]:
    """Accuracy, macro-F1, calibration error, count and each label's F1 as `split.key`.

    >>> m = {"accuracy": 0.5, "f1_macro": 0.4, "n": 2, "per_class": {"a": {"f1": 0.4, "support": 1}}}
    >>> headline_metrics("test", m)
    {'test.accuracy': 0.5, 'test.f1_macro': 0.4, 'test.n': 2, 'test.a.f1': 0.4}
    """
    flat = {
        f"{split}.{k}": float(metrics[k]) for k in ("accuracy", "f1_macro", "calibration_ece") if k in metrics
    }
    flat[f"{split}.n"] = int(metrics["n"])
    return flat | {f"{split}.{label}.f1": float(m["f1"]) for label, m in metrics["per_class"].items()}


def per_class_metrics(split: str, metrics: dict[str, Any]) -> dict[str, float | int]:
    """Each label's precision, recall and support as `split.label.key` (MLflow only)."""
    return {
        f"{split}.{label}.{key}": m[key]
        for label, m in metrics["per_class"].items()
        for key in ("precision", "recall", "support")
    }


def evaluate_model(
    labeler: Labeler,
    labeled: pd.DataFrame,
    dev: pd.DataFrame | None,
    bins: int,
    dev_file: dict[str, str] | None = None,
) -> Evaluation:
    """Score the model on its card's test documents of `labeled` and on `dev` (never trained on,
    read from `dev_file`: its path and sha256, recorded in evaluation.json)."""
    test = labeled[labeled["doc"].isin(labeler.card.test_docs)].reset_index(drop=True)
    scores = score(labeler, test["text"], test["label"], bins)
    predictions = scores.predictions.copy()
    predictions.insert(0, "doc", test["doc"])
    predictions.insert(1, "idx", test["idx"])
    selection = labeler.card.selection
    cv = {"f1_macro": selection["cv_f1_macro"], "f1_macro_std": selection["cv_f1_macro_std"]}
    dev_scores = None if dev is None else score(labeler, dev["text"], dev["label"], bins)
    return Evaluation(labeler.labels, scores, test, predictions, cv, dev_scores, dev_file)


def write_reports(evaluation: Evaluation, reports: Path) -> list[Path]:
    """The DVC outputs under `reports` (metrics, plot tables, PNGs, misclassified rows);
    returns the files worth attaching to the MLflow run."""
    from rhetoric.evaluation.plots import save_confusion_png, save_per_class_f1_png, save_reliability_png
    from rhetoric.report.html import label_colours

    metrics, predictions = evaluation.test.metrics, evaluation.predictions
    confusion = confusion_table(predictions["actual"], predictions["predicted"], evaluation.labels)
    write_json(reports / "metrics.json", evaluation.summary)
    write_json(reports / "evaluation.json", evaluation.description)
    plots = reports / "plots"
    write_csv(plots / "confusion.csv", confusion_pairs(predictions))
    write_csv(plots / "reliability.csv", evaluation.test.reliability)
    write_csv(
        plots / "per_class_f1.csv",
        pd.DataFrame([{"label": k, "f1": v["f1"]} for k, v in metrics["per_class"].items()]),
    )
    save_confusion_png(
        confusion, reports / "confusion.png", f"Test documents: macro-F1 {metrics['f1_macro']:.3f}"
    )
    save_reliability_png(evaluation.test.reliability, reports / "reliability.png", metrics["calibration_ece"])
    colours = label_colours(evaluation.labels)
    save_per_class_f1_png(metrics["per_class"], reports / "per_class_f1.png", colours)
    wrong = predictions[predictions["actual"] != predictions["predicted"]]
    write_jsonl(reports / "misclassified.jsonl", wrong.to_dict("records"))
    return [
        reports / name
        for name in (
            "metrics.json",
            "evaluation.json",
            "confusion.png",
            "reliability.png",
            "misclassified.jsonl",
        )
    ]


def describe(evaluation: Evaluation, run_id: str | None) -> list[str]:
    """The stage's log lines: dev set (if any), then the test documents."""
    lines = []
    if evaluation.dev is not None:
        m = evaluation.dev.metrics
        lines.append(
            f"dev set {m['n']} paragraphs, accuracy {m['accuracy']:.3f}, macro-F1 {m['f1_macro']:.3f}"
        )
    m = evaluation.test.metrics
    lines.append(
        f"{m['n']} test paragraphs, accuracy {m['accuracy']:.3f}, macro-F1 {m['f1_macro']:.3f} "
        f"(MLflow run {run_id or 'not recorded'})"
    )
    return lines


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
