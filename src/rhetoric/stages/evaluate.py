"""Stage `evaluate`: the held-out test documents -> metrics, plots, errors, one MLflow run."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from rhetoric.corpus import match_labels, read_labels
from rhetoric.evaluation import confusion_pairs, score
from rhetoric.io import write_csv, write_json, write_jsonl
from rhetoric.labeler import Labeler
from rhetoric.metrics import confusion_table
from rhetoric.params import EvaluateParams, parse_labels, read_params
from rhetoric.plots import save_confusion_png, save_per_class_f1_png, save_reliability_png
from rhetoric.report import label_colours
from rhetoric.training import data_digest
from rhetoric.vectors import VectorStore

log = logging.getLogger(__name__)


def run(
    paragraphs: Path,
    labels_file: Path,
    store: Path,
    model_dir: Path,
    reports: Path,
    params_file: Path,
    dev_labels: Path | None = None,
) -> None:
    raw = read_params(params_file)
    labels = parse_labels(raw.get("labels"))
    params = EvaluateParams.from_dict(raw.get("evaluate"))
    labeler = Labeler.load(model_dir)
    labeler.check_compatible(labels)
    labeled = match_labels(pd.read_parquet(paragraphs), read_labels(labels_file, labels), str(labels_file))
    test = labeled[labeled["doc"].isin(labeler.card["split"]["test_docs"])].reset_index(drop=True)
    lookup = VectorStore(store, labeler.card["embed_params"]["store_key"]).find
    metrics, predictions, reliability = score(
        labeler, test["text"], test["label"], lookup, params.calibration_bins
    )
    predictions.insert(0, "doc", test["doc"])
    predictions.insert(1, "idx", test["idx"])
    confusion = confusion_table(predictions["actual"], predictions["predicted"], labels)
    selection = labeler.card["selection"]
    summary = {
        "test": metrics,
        "cv": {"f1_macro": selection["cv_f1_macro"], "f1_macro_std": selection["cv_f1_macro_std"]},
    }
    if dev_labels is not None:
        # The held-out dev set (another writer's documents): never trained on.
        dev = read_labels(dev_labels, labels)
        summary["dev"] = score(labeler, dev["text"], dev["label"], lookup, params.calibration_bins)[0]
    write_json(reports / "metrics.json", summary)
    plots = reports / "plots"
    write_csv(plots / "confusion.csv", confusion_pairs(predictions))
    write_csv(plots / "reliability.csv", reliability)
    write_csv(
        plots / "per_class_f1.csv",
        pd.DataFrame([{"label": k, "f1": v["f1"]} for k, v in metrics["per_class"].items()]),
    )
    save_confusion_png(
        confusion, reports / "confusion.png", f"Test documents: macro-F1 {metrics['f1_macro']:.3f}"
    )
    save_reliability_png(reliability, reports / "reliability.png", metrics["calibration_ece"])
    save_per_class_f1_png(metrics["per_class"], reports / "per_class_f1.png", label_colours(labels))
    wrong = predictions[predictions["actual"] != predictions["predicted"]]
    write_jsonl(reports / "misclassified.jsonl", wrong.to_dict("records"))
    from rhetoric.tracking import log_run

    run_id = log_run(
        {
            "labels": list(labels),
            "embed": labeler.card["embedder"] | labeler.card["embed_params"],
            "train": labeler.card["train_params"],
            "evaluate": params.to_dict(),
        },
        selection,
        metrics,
        labeler.card["data_digest"],
        [
            reports / "metrics.json",
            reports / "confusion.png",
            reports / "reliability.png",
            reports / "misclassified.jsonl",
            model_dir / "card.json",
        ],
        model_dir,
        test["text"].head(2).tolist(),
        test_docs_digest=data_digest(test),
    )
    if "dev" in summary:
        log.info(
            "evaluate: dev set %d paragraphs, accuracy %.3f, macro-F1 %.3f",
            summary["dev"]["n"],
            summary["dev"]["accuracy"],
            summary["dev"]["f1_macro"],
        )
    log.info(
        "evaluate: %d test paragraphs, accuracy %.3f, macro-F1 %.3f (MLflow run %s)",
        metrics["n"],
        metrics["accuracy"],
        metrics["f1_macro"],
        run_id or "not recorded",
    )
