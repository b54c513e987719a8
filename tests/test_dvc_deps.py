"""dvc.yaml tells the truth: every module a stage's command imports is one of its deps.

DVC re-runs a stage only when a listed dep changes, so a module missing from `deps` lets
`dvc repro` say "up to date" while the outputs were made by other code. The closure is
computed the way Python would import it, statically: each stage's `cmd` runs `rhetoric
<command>`; cli.py (itself a dep: it parses the arguments) hands that command to one
entry module in rhetoric/stages/, found by running the real CLI with the stage modules
stubbed out; from there every `import` of a rhetoric module counts, also those inside
functions (heavy modules are imported lazily), but not those under `if TYPE_CHECKING:`,
which never run. A package's `__init__.py` runs before its modules, so it counts too.
"""

from __future__ import annotations

import ast
import shlex
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import rhetoric.stages
from rhetoric import cli

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
STAGES = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]


def module_file(name: str) -> Path | None:
    """The source file of a rhetoric module or package, or None when `name` is not one."""
    base = SRC.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(tree: ast.AST, functions: bool = True) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement that can run: at module level or (`functions`) in any function."""
    for child in ast.iter_child_nodes(tree):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child
        elif isinstance(child, ast.If) and _is_type_checking(child):
            yield from (node for branch in child.orelse for node in _import_nodes(branch, functions))
        elif functions or not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            yield from _import_nodes(child, functions)


def imported_modules(name: str, functions: bool = True) -> set[str]:
    """The rhetoric modules that module `name` imports directly, or loads by path."""
    path = module_file(name)
    assert path is not None, name
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    return imports_in(path.read_text(encoding="utf-8"), package, functions) | LOADED_BY_PATH.get(name, set())


def imports_in(source: str, package: str, functions: bool = True) -> set[str]:
    """The rhetoric modules that `source`, a module of `package`, may import."""
    found: set[str] = set()
    for node in _import_nodes(ast.parse(source), functions):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            # `from pkg import name`: name is a submodule, or an attribute of pkg.
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        found.update(t for t in targets if t.split(".")[0] == "rhetoric" and module_file(t))
    return found


# Modules another module uses as a file rather than importing: tracking logs serving.py as
# the MLflow model's code (models-from-code), so the logged model changes with it.
LOADED_BY_PATH = {"rhetoric.tracking.runs": {"rhetoric.tracking.serving"}}


def with_packages(name: str) -> set[str]:
    """`a.b.c` and the packages whose `__init__` runs first: `a`, `a.b`."""
    parts = name.split(".")
    return {".".join(parts[: i + 1]) for i in range(len(parts))}


def closure(entry: str, functions: bool = True) -> set[str]:
    """Every rhetoric module that importing `entry` may import, itself included.

    With `functions=False`, imports inside `entry`'s own functions are left out (cli.py
    imports every stage inside its commands; only the one that runs counts).
    """
    seen = {entry}
    todo = sorted(with_packages(entry) - seen)
    todo += sorted(m for direct in imported_modules(entry, functions) for m in with_packages(direct))
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(m for direct in imported_modules(name) for m in with_packages(direct))
    return seen


class EntryPoint:
    """Stands in for a stage function: cli.py calls it, we note which module it came from."""

    def __init__(self, module: str) -> None:
        self.module = module


def entry_module(command: list[str], monkeypatch: pytest.MonkeyPatch) -> str:
    """The stage module cli.py dispatches `command` to, without importing any stage."""
    stage_dir = SRC / "rhetoric" / "stages"
    for path in stage_dir.glob("*.py"):
        if path.stem == "__init__":
            continue
        name = f"rhetoric.stages.{path.stem}"
        stub = types.ModuleType(name)
        stub.__getattr__ = lambda attr, name=name: EntryPoint(name)  # run, export, import_, ...
        monkeypatch.setitem(sys.modules, name, stub)
        monkeypatch.setattr(rhetoric.stages, path.stem, stub, raising=False)
    reached: list[str] = []
    monkeypatch.setattr(cli, "_guard", lambda fn, *args, **kwargs: reached.append(fn.module))
    result = CliRunner().invoke(cli.app, command)
    assert result.exit_code == 0, f"`rhetoric {shlex.join(command)}` did not parse: {result.output}"
    assert len(reached) == 1, f"`rhetoric {shlex.join(command)}` reached {reached}, expected one stage"
    return reached[0]


def stage_modules(stage: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Module name -> path relative to the project root, for everything the stage's cmd runs."""
    words = shlex.split(STAGES[stage]["cmd"])
    assert words[0] == "rhetoric", f"stage {stage!r}: cmd should run the `rhetoric` command, got {words[0]!r}"
    entry = entry_module(words[1:], monkeypatch)
    names = closure(entry) | closure("rhetoric.cli", functions=False)
    return {name: module_file(name).relative_to(ROOT).as_posix() for name in sorted(names)}


def covered(path: str, deps: list[str]) -> bool:
    """A dep covers a module when it is the file or a folder above it."""
    return any(path == dep or path.startswith(dep.rstrip("/") + "/") for dep in deps)


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_deps_list_every_imported_module(stage: str, monkeypatch: pytest.MonkeyPatch) -> None:
    deps = [str(dep) for dep in STAGES[stage].get("deps", [])]
    missing = [
        f"{name} ({path})"
        for name, path in stage_modules(stage, monkeypatch).items()
        if not covered(path, deps)
    ]
    assert not missing, (
        f"dvc.yaml stage {stage!r} imports {', '.join(missing)} but does not list it in deps; "
        "add each path under the stage's deps."
    )


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_deps_list_no_module_the_stage_does_not_import(stage: str, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = set(stage_modules(stage, monkeypatch).values())
    extra = [
        dep
        for dep in map(str, STAGES[stage].get("deps", []))
        if dep.startswith("src/") and dep.endswith(".py") and dep not in paths
    ]
    assert not extra, (
        f"dvc.yaml stage {stage!r} lists {', '.join(extra)} in deps but never imports it, "
        "so editing it re-runs the stage for nothing; remove it from the stage's deps."
    )


def test_closure_follows_lazy_imports_and_skips_type_checking() -> None:
    """The walker itself: imports inside functions count, `if TYPE_CHECKING:` ones do not."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "import rhetoric.io\n"
        "if TYPE_CHECKING:\n    from rhetoric.model import labeler\n"
        "def f():\n    from rhetoric.params import read_params\n    from . import segment\n"
        "class C:\n    def g(self):\n        from rhetoric.stages import train\n"
    )
    assert imports_in(source, "rhetoric.corpus") == {
        "rhetoric.corpus",
        "rhetoric.io",
        "rhetoric.params",
        "rhetoric.corpus.segment",
        "rhetoric.stages",
        "rhetoric.stages.train",
    }
