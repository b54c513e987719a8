"""An int8-static package carries the store's quantized encoder, and its manifest hashes
every file of it, so a changed quantized model is refused at load like any other file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rhetoric.encoders.embedding import EmbedderIdentity
from rhetoric.errors import ModelError
from rhetoric.model.export import copy_quantized
from rhetoric.model.folder import Package

IDENTITY = EmbedderIdentity("tiny", "/nowhere", "cd" * 32)


def quantized_store_folder(root: Path) -> Path:
    """What `rhetoric embed` leaves in a store's `embedder/` for int8-static (contents faked)."""
    folder = root / "embedder"
    folder.mkdir(parents=True)
    (folder / "tokenizer.json").write_text("{}")
    (folder / "model.xml").write_text("<net/>")
    (folder / "model.bin").write_bytes(bytes(range(64)))
    meta = {"embedder": IDENTITY.to_dict(), "backend": "int8-static", "model_file": "model.xml"}
    (folder / "embedder.json").write_text(json.dumps(meta))
    return folder


def test_manifest_hashes_the_quantized_files_and_load_refuses_a_changed_one(tmp_path: Path) -> None:
    package = Package(tmp_path / "export")
    package.embedder.mkdir(parents=True)
    copy_quantized(quantized_store_folder(tmp_path / "store"), package.embedder, IDENTITY.weights_sha256)
    manifest = {"files": package.file_hashes()}
    expected = {f"embedder/{name}" for name in ("model.xml", "model.bin", "tokenizer.json", "embedder.json")}
    assert expected <= set(manifest["files"])
    package.verify(manifest, True)
    (package.embedder / "model.bin").write_bytes(b"changed after packaging")
    with pytest.raises(ModelError, match="model.bin"):
        package.verify(manifest, True)


def test_a_quantized_encoder_of_other_weights_is_not_packaged(tmp_path: Path) -> None:
    source = quantized_store_folder(tmp_path / "store")
    with pytest.raises(ModelError, match="no quantized embedder of the model's weights"):
        copy_quantized(source, tmp_path / "export" / "embedder", "ef" * 32)
    assert not (tmp_path / "export").exists()
