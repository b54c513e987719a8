"""`rhetoric package` reuses the embedder of the package it replaces only when that is an
export of the same encoder, for the same backend, by today's recipe, with every file as its
manifest hashed it; anything else is exported again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rhetoric.encoders.embedding import EmbedderIdentity
from rhetoric.io import write_json
from rhetoric.model.export import reusable_embedder
from rhetoric.model.folder import Package

IDENTITY = EmbedderIdentity("tiny", "/nowhere", "ab" * 32)
CURRENT = {"outputs": ["embedding", "token_embeddings"], "token_pooling": "mean"}


def previous_package(root: Path, meta: dict | None = None) -> Package:
    """A package as `rhetoric package` leaves it (graph bytes faked), with its manifest."""
    package = Package(root / "export")
    package.embedder.mkdir(parents=True)
    (package.embedder / "tokenizer.json").write_text("{}")
    (package.embedder / "model.onnx").write_bytes(bytes(range(64)))
    write_json(
        package.embedder / "embedder.json",
        meta or {"embedder": IDENTITY.to_dict(), "backend": "onnx", **CURRENT},
    )
    write_json(package.manifest_file, {"files": package.file_hashes()})
    return package


def test_the_same_encoder_and_recipe_is_reused(tmp_path: Path) -> None:
    package = previous_package(tmp_path)
    assert reusable_embedder(package.root, IDENTITY.to_dict(), "onnx") == package.embedder


@pytest.mark.parametrize(
    ("embedder", "backend"),
    [
        (EmbedderIdentity("tiny", "/nowhere", "cd" * 32).to_dict(), "onnx"),  # other weights
        (EmbedderIdentity("tiny", "/elsewhere", "ab" * 32).to_dict(), "onnx"),  # another folder
        (IDENTITY.to_dict(), "int8"),  # another precision
    ],
)
def test_another_encoder_or_backend_is_exported_again(tmp_path: Path, embedder: dict, backend: str) -> None:
    assert reusable_embedder(previous_package(tmp_path).root, embedder, backend) is None


def test_an_export_by_an_older_recipe_is_exported_again(tmp_path: Path) -> None:
    old = {"embedder": IDENTITY.to_dict(), "backend": "onnx", "outputs": ["embedding"]}  # no token states
    assert reusable_embedder(previous_package(tmp_path, old).root, IDENTITY.to_dict(), "onnx") is None


def test_a_changed_or_missing_file_is_exported_again(tmp_path: Path) -> None:
    package = previous_package(tmp_path)
    (package.embedder / "model.onnx").write_bytes(b"changed after packaging")
    assert reusable_embedder(package.root, IDENTITY.to_dict(), "onnx") is None
    (package.embedder / "model.onnx").unlink()
    assert reusable_embedder(package.root, IDENTITY.to_dict(), "onnx") is None


@pytest.mark.parametrize("manifest", [None, "not json", "[1, 2]", json.dumps({"files": {}})])
def test_no_package_or_an_unreadable_manifest_is_exported_again(tmp_path: Path, manifest: str | None) -> None:
    package = previous_package(tmp_path)
    if manifest is None:
        package.manifest_file.unlink()
    else:
        package.manifest_file.write_text(manifest)
    assert reusable_embedder(package.root, IDENTITY.to_dict(), "onnx") is None
    assert reusable_embedder(tmp_path / "nothing-here", IDENTITY.to_dict(), "onnx") is None
