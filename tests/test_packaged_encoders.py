"""Packaged encoders: found offline, unpacked once outside the project, refused when changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from rhetoric.encoders import packaged as packaged_encoders
from rhetoric.encoders.packaged import MPNET, PackagedEncoder, encoder_folder, packaged_encoder
from rhetoric.errors import ModelError


def test_short_names_and_hub_ids_map_to_the_same_pinned_encoder() -> None:
    hub_id = "sentence-transformers/all-mpnet-base-v2"
    assert packaged_encoder("all-mpnet-base-v2") is packaged_encoder(hub_id)
    assert packaged_encoder("All-MiniLM-L6-v2").weights_sha256.startswith("53aa5117")
    assert packaged_encoder("./models/encoder") is None


def test_cache_dir_follows_rhetoric_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RHETORIC_CACHE", str(tmp_path))
    assert packaged_encoders.cache_dir() == tmp_path


def test_missing_part_package_names_the_install_command(tmp_path: Path) -> None:
    absent = PackagedEncoder("demo", "0" * 64, ("rhetoric-no-such-part-001",), "pip install demo")
    with pytest.raises(ModelError, match="pip install demo"):
        encoder_folder(absent, tmp_path)


def _installed(encoder: PackagedEncoder) -> bool:
    try:
        packaged_encoders._archive_parts(encoder)
    except ModelError:
        return False
    return True


@pytest.mark.slow
@pytest.mark.skipif(not _installed(MPNET), reason="the all-mpnet-base-v2 parts are not installed")
def test_changed_weights_are_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    wrong = PackagedEncoder(MPNET.name, "f" * 64, MPNET.packages, MPNET.install_hint)
    with pytest.raises(ModelError, match="refusing"):
        encoder_folder(wrong, tmp_path)
    assert not list((tmp_path / "encoders").iterdir())  # nothing half-unpacked is left to be used
