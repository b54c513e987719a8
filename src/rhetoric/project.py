"""Which project a command works on, so the commands that need the trained model work from
any folder: the nearest folder at or above the current one that holds dvc.yaml, else the
folder named by $RHETORIC_PROJECT.

The folder you stand in wins over the variable: a DVC stage (or an experiment in DVC's
temporary copy) always uses its own project's model, whatever the shell exports.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from rhetoric.errors import ModelError

PROJECT_VARIABLE = "RHETORIC_PROJECT"
MARKER = "dvc.yaml"
MODEL_DIR = "models"
PARAMS_FILE = "params.yaml"
VECTOR_STORE = "data/vectors"


def find_project(start: Path, environ: Mapping[str, str]) -> Path | None:
    """The project root for a command run in `start` (absolute), or None when there is none.

    `start` itself is returned as `Path(".")`, so paths inside the project stay as short as
    they were when commands only ran from its root. A $RHETORIC_PROJECT without dvc.yaml is
    an error: it names a project that is not there.
    """
    for folder in (start, *start.parents):
        if (folder / MARKER).is_file():
            return Path() if folder == start else folder
    named = environ.get(PROJECT_VARIABLE)
    if not named:
        return None
    root = Path(named).expanduser()
    if not (root / MARKER).is_file():
        raise ModelError(
            f"${PROJECT_VARIABLE} is {named!r}, but {root / MARKER} does not exist; point it at the "
            "project folder (the one with dvc.yaml), or give --model DIR."
        )
    return root


def require_project(start: Path, environ: Mapping[str, str]) -> Path:
    """The project root, or a ModelError saying exactly which folders were looked in."""
    root = find_project(start, environ)
    if root is None:
        looked = ", ".join(str(folder) for folder in (start, *start.parents))
        raise ModelError(
            f"no rhetoric project found: no {MARKER} in {looked}, and ${PROJECT_VARIABLE} is not set; "
            f"run the command inside the project, set {PROJECT_VARIABLE}=/path/to/project, "
            "or give --model DIR."
        )
    return root


def default_model(start: Path, environ: Mapping[str, str]) -> Path:
    """The project's model folder (`models/`), for a command given no --model."""
    return require_project(start, environ) / MODEL_DIR


def project_file(start: Path, environ: Mapping[str, str], relative: str) -> Path | None:
    """`relative` (params.yaml, data/vectors) inside the project, when there is a project and
    it has one; else None (the command goes on without it)."""
    root = find_project(start, environ)
    if root is None or not (root / relative).exists():
        return None
    return root / relative
