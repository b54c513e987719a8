"""Faults and hostile input: killed writers, an unreachable MLflow, fuzzed loaders, no network."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rhetoric.corpus.documents import parse_label_lines
from rhetoric.errors import DataError
from rhetoric.model.features import feature_frame
from rhetoric.model.sklearn_head import fit_selected
from rhetoric.params import TrainParams

LABELS = ("greeting", "historical_claim", "future_commitment", "other")

WRITER = """
import sys, time
from rhetoric.io import atomic_open
with atomic_open(sys.argv[1]) as handle:
    handle.write("partial new content\\n" * 1000)
    handle.flush()
    print("writing", flush=True)
    time.sleep(60)
"""


def test_sigkill_mid_write_keeps_previous_output(tmp_path: Path) -> None:
    target = tmp_path / "predictions.jsonl"
    target.write_text("previous complete output\n")
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(target)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert target.read_text() == "previous complete output\n"


def test_unreachable_mlflow_warns_and_returns(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog
) -> None:
    from rhetoric.tracking import runs as tracking

    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")  # nothing listens on port 9
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    monkeypatch.setenv("DVC_ROOT", str(tmp_path))
    started = time.monotonic()
    with caplog.at_level(logging.WARNING):
        run_id = tracking.log_run(
            {"labels": list(LABELS)},
            {"cv.f1_macro": 0.5, "test.f1_macro": 0.5},
            "digest",
            [],
            tmp_path,
            ["text"],
        )
    assert run_id is None
    assert "MLflow logging failed" in caplog.text and "127.0.0.1:9" in caplog.text
    assert time.monotonic() - started < 60


def test_network_is_blocked_in_tests() -> None:
    with pytest.raises(ConnectionRefusedError, match="offline"):
        socket.create_connection(("93.184.216.34", 443), timeout=1)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.one_of(st.text(), st.from_regex(r'\{"doc": ?"[^"]*", ?"text": ?"[^"]*", ?"label": ?"\w*"\}')))
)
def test_label_loader_raises_only_our_error(lines: list[str]) -> None:
    try:
        frame = parse_label_lines(lines, LABELS, "fuzz")
    except DataError:
        return
    assert set(frame["label"]) <= set(LABELS)


def test_same_data_same_predictions() -> None:
    rng = np.random.default_rng(1)
    texts = [f"Paragraph {i} will continue in {1950 + i}." for i in range(24)]
    X = feature_frame(texts, rng.normal(size=(24, 6)).astype(np.float32))
    y = [LABELS[i % 4] for i in range(24)]
    groups = np.arange(24) // 4
    folds = [(np.where(groups % 3 != k)[0], np.where(groups % 3 == k)[0]) for k in range(3)]
    params = TrainParams.from_dict(
        {"features": ["embedding", "cues", "tfidf"], "hyperparameters": {"C": [0.5, 2]}}
    )
    first, _ = fit_selected(params, X, y, folds)
    second, _ = fit_selected(params, X, y, folds)
    assert np.array_equal(first.predict_proba(X), second.predict_proba(X))
