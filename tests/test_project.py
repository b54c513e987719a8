"""Commands that need the model work from any folder: they find the project, or say where they looked."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from rhetoric import project
from rhetoric.cli import app
from rhetoric.errors import ModelError


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """tmp/work/proj (a project: dvc.yaml, params.yaml) with proj/data/new below it, and
    tmp/elsewhere/deep outside it."""
    root = tmp_path / "work" / "proj"
    (root / "data" / "new").mkdir(parents=True)
    (root / "dvc.yaml").write_text("stages: {}\n", encoding="utf-8")
    (root / "params.yaml").write_text("labels: [greeting, other]\n", encoding="utf-8")
    (tmp_path / "elsewhere" / "deep").mkdir(parents=True)
    return tmp_path


def test_the_project_is_the_nearest_folder_with_dvc_yaml(tree: Path) -> None:
    root = tree / "work" / "proj"
    assert project.find_project(root / "data" / "new", {}) == root
    assert project.default_model(root / "data" / "new", {}) == root / "models"
    # In the project's own root paths stay relative, as when commands only ran there.
    assert project.find_project(root, {}) == Path()
    assert project.project_file(root, {}, project.PARAMS_FILE) == Path("params.yaml")
    # A project inside another: the nearer one.
    inner = root / "data" / "new"
    (inner / "dvc.yaml").write_text("stages: {}\n", encoding="utf-8")
    (inner / "x").mkdir()
    assert project.find_project(inner / "x", {}) == inner


def test_outside_any_project_the_variable_names_it(tree: Path) -> None:
    root = tree / "work" / "proj"
    outside = tree / "elsewhere" / "deep"
    assert project.find_project(outside, {}) is None
    assert project.find_project(outside, {"RHETORIC_PROJECT": str(root)}) == root
    assert (
        project.project_file(outside, {"RHETORIC_PROJECT": str(root)}, "params.yaml") == root / "params.yaml"
    )
    assert project.project_file(outside, {"RHETORIC_PROJECT": str(root)}, "data/vectors") is None
    # Inside a project, the project you stand in wins over the variable.
    other = tree / "elsewhere"
    (other / "dvc.yaml").write_text("stages: {}\n", encoding="utf-8")
    assert project.find_project(outside, {"RHETORIC_PROJECT": str(root)}) == other


def test_a_variable_naming_no_project_is_an_error(tree: Path) -> None:
    with pytest.raises(
        ModelError, match=r"\$RHETORIC_PROJECT is '.*elsewhere', but .*elsewhere/dvc.yaml does not"
    ):
        project.find_project(tree / "elsewhere" / "deep", {"RHETORIC_PROJECT": str(tree / "elsewhere")})


def test_no_project_names_every_folder_looked_in(tree: Path) -> None:
    outside = tree / "elsewhere" / "deep"
    with pytest.raises(ModelError) as error:
        project.require_project(outside, {})
    message = str(error.value)
    looked = message.split("no dvc.yaml in ")[1].split(", and ")[0].split(", ")
    assert looked == [str(outside), *map(str, outside.parents)]
    assert "RHETORIC_PROJECT is not set" in message and "--model DIR" in message and "\n" not in message


# --- through the command ------------------------------------------------------------------


def invoke(cwd: Path, monkeypatch: pytest.MonkeyPatch, *args: str, env: dict[str, str] | None = None):
    monkeypatch.chdir(cwd)
    monkeypatch.delenv("RHETORIC_PROJECT", raising=False)
    for key, value in (env or {}).items():
        monkeypatch.setenv(key, value)
    return CliRunner().invoke(app, list(args))


@pytest.mark.parametrize("command", [["predict", "a.txt"], ["evaluate", "--labels", "gold.jsonl"]])
def test_commands_outside_a_project_say_where_they_looked(
    tree: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    outside = tree / "elsewhere" / "deep"
    (outside / "a.txt").write_text("We will meet again.", encoding="utf-8")
    result = invoke(outside, monkeypatch, *command)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"no dvc.yaml in {outside}, {outside.parent}," in result.output.replace("\n", " ")


@pytest.mark.parametrize(
    ("where", "env"),
    [("work/proj/data/new", {}), ("elsewhere/deep", {"RHETORIC_PROJECT": "work/proj"})],
)
def test_predict_finds_the_project_model(
    tree: Path, monkeypatch: pytest.MonkeyPatch, where: str, env: dict[str, str]
) -> None:
    """From a subfolder, or from outside with the variable, predict looks for the project's
    model (here none is trained yet, so it says so, naming that folder)."""
    env = {key: str(tree / value) for key, value in env.items()}
    (tree / where / "a.txt").write_text("We will meet again.", encoding="utf-8")
    result = invoke(tree / where, monkeypatch, "predict", "a.txt", env=env)
    output = result.output.replace("\n", " ")
    assert result.exit_code == 2 and f"no trained model in {tree / 'work/proj/models'}" in output


def test_an_explicit_model_needs_no_project(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    outside = tree / "elsewhere" / "deep"
    (outside / "a.txt").write_text("We will meet again.", encoding="utf-8")
    result = invoke(outside, monkeypatch, "predict", "a.txt", "--model", str(outside / "mine"))
    output = result.output.replace("\n", " ")
    assert result.exit_code == 2 and f"no trained model in {outside / 'mine'}" in output
    assert "no dvc.yaml" not in output
