"""Building the scikit-learn head from params, selecting it by grouped CV, saving and loading it.

The head is saved with skops and loaded with an explicit list of trusted types; its
embedder is referenced in the JSON card (name, folder, weight hash), never pickled.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from rhetoric.errors import ModelError, ParamsError
from rhetoric.io import atomic_path
from rhetoric.model.features import (
    SENTENCES_COLUMN,
    TEXT_COLUMN,
    CueFeatures,
    SentenceFunctions,
    vector_columns,
)
from rhetoric.params import TrainParams

# Every type a saved head may contain. Anything else in a .skops file is refused.
TRUSTED_TYPES = [
    "builtins.dict",
    "builtins.list",
    "builtins.slice",
    "builtins.str",
    "builtins.tuple",
    "numpy.dtype",
    "numpy.float64",
    "numpy.int64",
    "numpy.ndarray",
    "rhetoric.model.features.CueFeatures",
    "rhetoric.model.features.SentenceFunctions",
    "scipy.sparse._csr.csr_matrix",
    "sklearn.calibration.CalibratedClassifierCV",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.compose._column_transformer.ColumnTransformer",
    "sklearn.ensemble._forest.RandomForestClassifier",
    "sklearn.feature_extraction.text.TfidfTransformer",
    "sklearn.feature_extraction.text.TfidfVectorizer",
    "sklearn.isotonic.IsotonicRegression",
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.pipeline.Pipeline",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.preprocessing._function_transformer.FunctionTransformer",
    "sklearn.svm._classes.LinearSVC",
    "sklearn.tree._classes.DecisionTreeClassifier",
    "sklearn.tree._tree.Tree",
]


def build_classifier(params: TrainParams) -> Any:
    """The bare classifier named in params (hyperparameters are set by the search)."""
    if params.classifier == "logistic_regression":
        return LogisticRegression(max_iter=5000, class_weight=params.class_weight, random_state=params.seed)
    if params.classifier == "linear_svm":
        return LinearSVC(class_weight=params.class_weight, random_state=params.seed, max_iter=20000)
    return RandomForestClassifier(
        n_estimators=300, class_weight=params.class_weight, random_state=params.seed, n_jobs=1
    )


def build_features(features: Sequence[str], dim: int) -> ColumnTransformer:
    parts: list[tuple[str, Any, Any]] = []
    if "embedding" in features:
        parts.append(("embedding", "passthrough", vector_columns(dim)))
    if "cues" in features:
        parts.append(("cues", Pipeline([("cues", CueFeatures()), ("scale", StandardScaler())]), TEXT_COLUMN))
    if "tfidf" in features:
        parts.append(
            (
                "tfidf",
                TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, max_features=30000),
                TEXT_COLUMN,
            )
        )
    if "sentences" in features:
        parts.append(("sentences", SentenceFunctions(), SENTENCES_COLUMN))
    unsupported = sorted(set(features) - {"embedding", "cues", "tfidf", "sentences"})
    if unsupported:
        raise ParamsError(
            f"params.yaml: train.features {unsupported} are not implemented yet; "
            "use embedding, cues, tfidf or sentences."
        )
    # Sparse whenever TF-IDF is present: the 768 embedding columns beside 30,000 mostly empty
    # n-gram columns fit many times faster as one sparse matrix (same solver, same model).
    return ColumnTransformer(parts, remainder="drop", sparse_threshold=1.0)


def build_pipeline(params: TrainParams, dim: int) -> Pipeline:
    return Pipeline(
        [("features", build_features(params.features, dim)), ("classifier", build_classifier(params))]
    )


def search_grid(params: TrainParams) -> dict[str, list[Any]]:
    probe = build_classifier(params).get_params()
    grid = {}
    for key, values in params.grid().items():
        if key not in probe:
            raise ParamsError(
                f"params.yaml: train.hyperparameters.{key} is not a parameter of "
                f"{params.classifier}; valid: {', '.join(sorted(probe))}."
            )
        for value in values:
            check_hyperparameter(params, key, value)
        grid[f"classifier__{key}"] = values
    return grid


def check_hyperparameter(params: TrainParams, key: str, value: Any) -> None:
    """scikit-learn's own check of one value (type and range), as a one-line ParamsError
    before any fitting: `C: -1` is refused here, not as a traceback from the search."""
    from sklearn.utils._param_validation import InvalidParameterError

    probe = build_classifier(params).set_params(**{key: value})
    try:
        probe._validate_params()
    except InvalidParameterError as error:
        problem = " ".join(str(error).split())
        raise ParamsError(f"params.yaml: train.hyperparameters.{key}: {problem}") from None


def fit_selected(
    params: TrainParams,
    X: pd.DataFrame,
    y: Sequence[str],
    folds: list[tuple[np.ndarray, np.ndarray]],
) -> tuple[Any, dict[str, Any]]:
    """Choose hyperparameters by grouped CV macro-F1, refit on all of X, calibrate if asked.

    Returns the fitted head and a record of the search (each candidate's mean and std).
    """
    dim = sum(1 for c in X.columns if c not in (TEXT_COLUMN, SENTENCES_COLUMN))
    search = GridSearchCV(
        build_pipeline(params, dim),
        search_grid(params),
        scoring="f1_macro",
        cv=folds,
        # Every core: the candidates' fits are independent and seeded, so the search gives the
        # same head and scores as one at a time (train 71 s -> 49 s on 2 cores, same bytes).
        n_jobs=-1,
        refit=True,
        error_score="raise",
    )
    search.fit(X, np.asarray(y))
    candidates = [
        {
            "params": {k.removeprefix("classifier__"): _plain(v) for k, v in p.items()},
            "f1_macro_mean": float(m),
            "f1_macro_std": float(s),
        }
        for p, m, s in zip(
            search.cv_results_["params"],
            search.cv_results_["mean_test_score"],
            search.cv_results_["std_test_score"],
            strict=True,
        )
    ]
    best = {k.removeprefix("classifier__"): _plain(v) for k, v in search.best_params_.items()}
    head = search.best_estimator_
    if params.calibration or params.classifier == "linear_svm":
        tuned = build_pipeline(params, dim).set_params(**search.best_params_)
        head = CalibratedClassifierCV(tuned, method=params.calibration or "sigmoid", cv=folds)
        head.fit(X, np.asarray(y))
    record = {
        "best_params": best,
        "cv_f1_macro": float(search.best_score_),
        "cv_f1_macro_std": float(search.cv_results_["std_test_score"][search.best_index_]),
        "candidates": candidates,
    }
    return head, record


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def head_bytes(head: Any) -> bytes:
    """The head as skops bytes that depend only on its content (`canonical_skops`)."""
    import skops.io as sio

    return canonical_skops(sio.dumps(head))


def save_head(head: Any, path: Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(head_bytes(head))


def canonical_skops(raw: bytes) -> bytes:
    """skops bytes made deterministic: skops names objects and array files by their memory
    address (`id()`) and stamps zip entries with the time, so the same model saved twice
    differs. Ids are renumbered in order of first appearance in the schema, array files
    named after their new ids, entries stamped 1980-01-01; loading is unchanged (ids only
    mark which objects are shared), TF-IDF's `_stop_words_id` (an address) fixed. Then a
    retrained, identical model has identical bytes,
    and the package made from it stays current."""
    import io
    import json
    import zipfile

    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        schema = json.loads(archive.read("schema.json"))
        arrays = {name: archive.read(name) for name in archive.namelist() if name != "schema.json"}
    ids: dict[int, int] = {}
    files: dict[str, str] = {}

    def renumber(node: Any) -> Any:
        if isinstance(node, list):
            return [renumber(value) for value in node]
        if not isinstance(node, dict):
            return node
        out = {}
        for key, value in node.items():
            if key == "__id__" and isinstance(value, int):
                value = ids.setdefault(value, len(ids) + 1)
            elif key == "_stop_words_id" and isinstance(value, dict) and "content" in value:
                # TfidfVectorizer keeps id(stop_words), a memory address, only to skip a
                # re-check it then redoes; a fixed value keeps the bytes the same.
                value = renumber({**value, "content": "0"})
            elif key == "file" and isinstance(value, str) and value in arrays:
                value = files.setdefault(value, f"{len(files) + 1:06d}.npy")
            else:
                value = renumber(value)
            out[key] = value
        return out

    canonical = renumber(schema)
    if set(files) != set(arrays):
        return raw  # a layout this function does not know: keep skops' own bytes
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        entries = [(new, arrays[old]) for old, new in sorted(files.items(), key=lambda item: item[1])]
        entries.append(("schema.json", json.dumps(canonical, indent=2).encode("utf-8")))
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def schema_types(path: Path) -> set[str]:
    """Every `module.Class` a skops file would instantiate, read from its schema."""
    import json
    import zipfile

    types: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "__class__" in node and "__module__" in node:
                types.add(f"{node['__module__']}.{node['__class__']}")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    with zipfile.ZipFile(path) as archive:
        walk(json.loads(archive.read("schema.json")))
    return types


def load_head(path: Path) -> Any:
    """Load a skops head, refusing any type outside TRUSTED_TYPES.

    skops trusts many scikit-learn types by default; rhetoric checks every type in
    the file against its own explicit list first, so only heads its train stage can
    produce are loaded.
    """
    import skops.io as sio

    if not path.is_file():
        raise ModelError(f"{path}: no trained classifier; run `dvc repro` to train one.")
    try:
        found = schema_types(path)
    except Exception as error:  # zipfile, JSON and key errors all mean "not a skops file"
        raise ModelError(f"{path}: not a readable skops file ({error}); retrain with `dvc repro`.") from None
    refused = sorted(found - set(TRUSTED_TYPES))
    if refused:
        raise ModelError(
            f"{path}: contains types rhetoric does not trust: {', '.join(refused)}. "
            "It was not made by rhetoric's train stage or has been tampered with; it was not loaded."
        )
    return sio.load(path, trusted=sorted(found))
