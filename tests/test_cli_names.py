"""One meaning per word (issue 11, item 9): the visible command names, and the old ones kept
for one release as hidden aliases that print a deprecation note to stderr and do the same."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from rhetoric.cli import app
from rhetoric.stages import package as package_stage

runner = CliRunner()
DEPRECATED = {"export-model": "package", "export": "tasks export", "import": "tasks import"}


def test_help_lists_package_and_tasks_but_not_the_hidden_aliases() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0, result.output
    rows = (line.strip("│ ") for line in result.output.splitlines())
    listed = {row.split()[0] for row in rows if row}  # first word of each row: the command names
    assert {"package", "tasks"} <= listed
    assert not listed & set(DEPRECATED), listed
    assert "export-model" not in result.output
    tasks_help = runner.invoke(app, ["tasks", "--help"])
    assert tasks_help.exit_code == 0 and "export" in tasks_help.output and "import" in tasks_help.output


def test_the_old_names_exist_hidden() -> None:
    group = typer.main.get_command(app)
    commands = group.commands  # type: ignore[attr-defined]
    assert all(commands[old].hidden for old in DEPRECATED)
    assert not commands["package"].hidden and not commands["tasks"].hidden


def test_export_model_runs_the_package_stage_with_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Path, Path, Path | None]] = []
    monkeypatch.setattr(
        package_stage, "run", lambda model_dir, output, store: calls.append((model_dir, output, store))
    )
    args = ["--model-dir", "m", "--output", "m/out", "--store", "v"]
    new = runner.invoke(app, ["package", *args])
    old = runner.invoke(app, ["export-model", *args])
    assert new.exit_code == old.exit_code == 0, old.output
    assert calls == [(Path("m"), Path("m/out"), Path("v"))] * 2
    note = old.stderr.strip().splitlines()
    assert len(note) == 1 and "deprecated" in note[0] and "rhetoric package" in note[0]
    assert "deprecated" not in new.stderr
