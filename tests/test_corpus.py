from __future__ import annotations

import json
from pathlib import Path

import pytest

from rhetoric.corpus.documents import (
    match_labels,
    paragraph_frame,
    paragraph_rows,
    parse_label_lines,
    segment_folder,
)
from rhetoric.errors import DataError

LABELS = ("greeting", "historical_claim", "future_commitment", "other")


def rows(*objs: dict) -> list[str]:
    return [json.dumps(o) for o in objs]


def test_parse_validates_and_normalizes() -> None:
    frame = parse_label_lines(rows({"doc": "d", "text": " Hello   there ", "label": "greeting"}), LABELS, "x")
    assert frame.loc[0, "text"] == "Hello there"
    assert frame.loc[0, "secondary"] == []


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", r"x, line 1: invalid JSON"),
        (json.dumps({"doc": "d", "label": "greeting"}), r"missing or empty field 'text'"),
        (json.dumps({"doc": "d", "text": "t", "label": "praise"}), r"'praise' is not one of params labels"),
        (json.dumps({"doc": "d", "text": "t", "label": "other", "secondary": "greeting"}), r"'secondary'"),
        (json.dumps([1, 2]), r"expected a JSON object"),
    ],
)
def test_bad_label_rows_name_the_line(line: str, message: str) -> None:
    with pytest.raises(DataError, match=message):
        parse_label_lines([line], LABELS, "x")


def test_conflicting_labels_are_refused_and_repeats_dropped() -> None:
    same = {"doc": "d", "text": "t", "label": "other"}
    assert len(parse_label_lines(rows(same, same), LABELS, "x")) == 1
    with pytest.raises(DataError, match=r"lines 1, 2: .* labeled"):
        parse_label_lines(rows(same, {**same, "label": "greeting"}), LABELS, "x")


def paragraphs():
    return paragraph_frame(
        paragraph_rows("d1", "Title\n\nWe  will go.\n\nOld days.") + paragraph_rows("d2", "Other doc.")
    )


def test_match_attaches_position_and_hash() -> None:
    labels = parse_label_lines(
        rows({"doc": "d1", "text": "We will  go.", "label": "future_commitment"}), LABELS, "x"
    )
    matched = match_labels(paragraphs(), labels, "x")
    assert matched[["doc", "idx", "label"]].values.tolist() == [["d1", 1, "future_commitment"]]
    assert len(matched.loc[0, "sha1"]) == 40


def test_stale_row_and_unknown_document_are_errors() -> None:
    stale = parse_label_lines(rows({"doc": "d1", "text": "Edited text.", "label": "other"}), LABELS, "x")
    with pytest.raises(DataError, match=r"x, line 1: text matches no paragraph of 'd1'"):
        match_labels(paragraphs(), stale, "x")
    unknown = parse_label_lines(rows({"doc": "zz", "text": "Other doc.", "label": "other"}), LABELS, "x")
    with pytest.raises(DataError, match=r"document 'zz' does not exist"):
        match_labels(paragraphs(), unknown, "x")


def test_segment_folder_reports_bad_files(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text("A.\n\nB.", encoding="utf-8")
    (tmp_path / "empty.txt").write_text("  \n", encoding="utf-8")
    frame, summary = segment_folder(tmp_path, 1000)
    assert summary.skipped_empty == ["empty"] and summary.paragraphs == 2
    (tmp_path / "latin.txt").write_bytes("caf\xe9 ok".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin.txt: not valid UTF-8 at byte offset 3.*iconv"):
        segment_folder(tmp_path, 1000)
    (tmp_path / "latin.txt").unlink()
    (tmp_path / "blob.txt").write_bytes(b"\x00\x01\x02")
    with pytest.raises(DataError, match="binary"):
        segment_folder(tmp_path, 1000)
    (tmp_path / "blob.txt").unlink()
    (tmp_path / "big.txt").write_text("x" * 2000)
    with pytest.raises(DataError, match="over the limit"):
        segment_folder(tmp_path, 1000)
    (tmp_path / "big.txt").unlink()
    (tmp_path / "bad name!.txt").write_text("x")
    with pytest.raises(DataError, match="not a valid document id"):
        segment_folder(tmp_path, 1000)
