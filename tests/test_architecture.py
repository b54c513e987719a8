"""The import rules of docs/ARCHITECTURE.md, checked statically with `ast` (nothing is imported).

Every `import` and `from ... import` in src/rhetoric is read, at module level and inside
functions. An import under `if TYPE_CHECKING:` counts for the rules on who may import
whom (it is still a dependency a reader sees) but not for cycles (it never runs).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "rhetoric"

# The entry points: only these may import the command line and the stages.
CLI = "rhetoric.cli"
MAIN = "rhetoric.__main__"
STAGES = "rhetoric.stages"

# Third-party libraries and the only modules that may import them (module or function level).
MLFLOW_MODULES = {"rhetoric.tracking.runs", "rhetoric.tracking.serving"}
TORCH_MODULES = {
    "rhetoric.encoders.embedding",
    "rhetoric.encoders.finetuning",
    "rhetoric.encoders.frozen_states",
}
ONNX_MODULES = {"rhetoric.encoders.onnx_encoder"}
OPENVINO_MODULES = {"rhetoric.encoders.openvino_encoder"}
RAY_MODULES = {"rhetoric.engines.ray_data", "rhetoric.engines.ray_embed", "rhetoric.engines.ray_predict"}
RESTRICTED = {
    "openvino": OPENVINO_MODULES,
    "nncf": OPENVINO_MODULES,
    "ray": RAY_MODULES,
    "mlflow": MLFLOW_MODULES,
    "torch": TORCH_MODULES,
    "sentence_transformers": TORCH_MODULES,
    "transformers": TORCH_MODULES,
    "onnxruntime": ONNX_MODULES,
    "onnx": ONNX_MODULES,
}

# `rhetoric predict` with an exported package: these modules (and what they import at module
# level) must not import the heavy libraries; the package runs on onnxruntime and numpy.
PREDICT_PATH = {
    CLI,
    "rhetoric.stages.predict",
    "rhetoric.encoders.onnx_encoder",
    "rhetoric.encoders.openvino_encoder",
    "rhetoric.encoders.factory",
    "rhetoric.model.linear_head",
    "rhetoric.engines.ray_predict",
}
NOT_ON_PREDICT_PATH = {"torch", "sentence_transformers", "transformers", "sklearn", "skops", "pandas"}

# Rule exceptions the current code needs, each with its reason. None today; add one here
# (with a comment saying why and the issue that removes it) rather than weakening a rule.
EXCEPTIONS: set[tuple[str, str]] = set()  # (importing module, imported module)


@dataclass(frozen=True)
class Import:
    module: str  # the importing rhetoric module
    target: str  # the imported module, fully qualified
    line: int
    module_level: bool  # runs when `module` is imported (not inside a function)
    type_checking: bool  # inside `if TYPE_CHECKING:`

    def __str__(self) -> str:
        where = "module level" if self.module_level else "inside a function"
        return f"{self.module} imports {self.target} (line {self.line}, {where})"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def targets(module: str, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    base = node.module or ""
    if node.level:  # relative: resolved against the importing module's package
        package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
        anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
        base = f"{anchor}.{base}" if base else anchor
    for alias in node.names:
        # `from rhetoric import io` imports the module rhetoric.io, not a name of rhetoric.
        yield f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base


def imports_of(module: str) -> list[Import]:
    found: list[Import] = []

    def visit(node: ast.AST, module_level: bool, type_checking: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                found.extend(
                    Import(module, target, child.lineno, module_level, type_checking)
                    for target in targets(module, child)
                )
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                visit(child, False, type_checking)
            elif isinstance(child, ast.If) and is_type_checking(child.test):
                for statement in child.body:
                    visit(ast.Module(body=[statement], type_ignores=[]), module_level, True)
                for statement in child.orelse:
                    visit(ast.Module(body=[statement], type_ignores=[]), module_level, type_checking)
            else:
                visit(child, module_level, type_checking)

    visit(ast.parse(MODULES[module].read_text(encoding="utf-8")), True, False)
    return found


IMPORTS = [imp for module in MODULES for imp in imports_of(module)]


def is_under(target: str, package: str) -> bool:
    return target == package or target.startswith(package + ".")


def report(violations: list[str]) -> str:
    return "\n".join(["architecture rule broken (see docs/ARCHITECTURE.md):", *violations])


def test_the_scan_sees_the_package() -> None:
    # A guard against a scan that silently finds nothing and so passes every rule.
    assert {CLI, MAIN, "rhetoric.model.labeler", "rhetoric.stages.predict"} <= set(MODULES)
    seen = {(imp.module, imp.target) for imp in IMPORTS}
    assert ("rhetoric.stages.exchange", "rhetoric.labeling.annotation") in seen  # `from rhetoric import x`
    assert ("rhetoric.tracking.runs", "mlflow") in seen  # inside a function
    assert any(imp.type_checking for imp in IMPORTS)


def test_only_entry_points_import_the_cli_and_the_stages() -> None:
    """(a) The library never reaches up: only cli.py and the stages import rhetoric.stages,
    only __main__.py imports rhetoric.cli, nothing imports __main__."""
    violations = []
    for imp in IMPORTS:
        if (imp.module, imp.target) in EXCEPTIONS:
            continue
        if is_under(imp.target, STAGES) and not (imp.module == CLI or is_under(imp.module, STAGES)):
            violations.append(f"{imp}: rule: only cli.py and stages/ import rhetoric.stages")
        elif imp.target == CLI and imp.module != MAIN:
            violations.append(f"{imp}: rule: only __main__.py imports rhetoric.cli")
        elif imp.target == MAIN:
            violations.append(f"{imp}: rule: nothing imports rhetoric.__main__")
    assert not violations, report(violations)


@pytest.mark.parametrize("library", sorted(RESTRICTED))
def test_heavy_and_tracking_libraries_only_where_allowed(library: str) -> None:
    """(b) mlflow only in tracking/runs.py and tracking/serving.py; (c) torch,
    sentence_transformers and transformers only in encoders/embedding.py,
    encoders/finetuning.py and encoders/frozen_states.py; onnxruntime and onnx only in
    encoders/onnx_encoder.py.
    At module level or inside a function alike."""
    allowed = RESTRICTED[library]
    violations = [
        f"{imp}: rule: only {', '.join(sorted(allowed))} may import {library}"
        for imp in IMPORTS
        if is_under(imp.target, library)
        and imp.module not in allowed
        and (imp.module, imp.target) not in EXCEPTIONS
    ]
    assert not violations, report(violations)


def runtime_graph() -> dict[str, list[Import]]:
    """rhetoric module -> its module-level imports of other rhetoric modules (those that run)."""
    graph: dict[str, list[Import]] = {module: [] for module in MODULES}
    for imp in IMPORTS:
        if imp.module_level and not imp.type_checking and imp.target in MODULES:
            graph[imp.module].append(imp)
    return graph


def find_cycle(graph: dict[str, list[Import]]) -> list[Import]:
    """One cycle of imports, as the edges that close it; [] where there is none."""
    state: dict[str, str] = {}  # "open" while on the DFS path, "done" after
    path: list[Import] = []

    def visit(module: str) -> list[Import]:
        state[module] = "open"
        for imp in graph[module]:
            if state.get(imp.target) == "open":
                start = next((i for i, edge in enumerate(path) if edge.module == imp.target), len(path))
                return [*path[start:], imp]
            if imp.target not in state:
                path.append(imp)
                if cycle := visit(imp.target):
                    return cycle
                path.pop()
        state[module] = "done"
        return []

    for module in graph:
        if module not in state and (cycle := visit(module)):
            return cycle
    return []


def test_find_cycle_finds_a_cycle() -> None:
    a_b = Import("a", "b", 1, True, False)
    b_a = Import("b", "a", 1, True, False)
    assert find_cycle({"a": [a_b], "b": [b_a]}) == [a_b, b_a]
    assert find_cycle({"a": [a_b], "b": []}) == []


def test_no_import_cycles_at_module_level() -> None:
    """(d) No cycles among rhetoric modules, counting the imports that run when a module is
    imported (module level, outside `if TYPE_CHECKING:`); imports inside functions are the
    sanctioned way to defer a heavy or upward dependency."""
    graph = runtime_graph()
    for module, target in EXCEPTIONS:
        graph[module] = [imp for imp in graph[module] if imp.target != target]
    cycle = find_cycle(graph)
    assert not cycle, report([f"{imp}: rule: no import cycles" for imp in cycle])


def test_predict_path_imports_no_torch_sklearn_or_pandas_at_module_level() -> None:
    """`rhetoric predict` with an exported package: the modules it loads, and everything they
    import at module level, import none of torch, sentence_transformers, transformers,
    sklearn, skops or pandas (at run time it adds onnxruntime and tokenizers, no more).
    tests/test_onnx_encoder.py checks the same by importing them."""
    graph = runtime_graph()
    reached, todo = set(), sorted(PREDICT_PATH)
    while todo:
        module = todo.pop()
        if module not in reached:
            reached.add(module)
            todo.extend(imp.target for imp in graph[module])
    violations = [
        f"{imp}: rule: the predict path (reached from {', '.join(sorted(PREDICT_PATH))}) "
        f"imports no {imp.target.split('.')[0]} at module level"
        for imp in IMPORTS
        if imp.module in reached
        and imp.module_level
        and not imp.type_checking
        and imp.target.split(".")[0] in NOT_ON_PREDICT_PATH
    ]
    assert not violations, report(violations)


def test_no_import_cycles_even_through_imports_inside_functions() -> None:
    """(d') Deferring an import into a function hides a cycle from the import system, not
    from a reader: no two modules depend on each other at all (issue 11 named one, embedding
    <-> onnx_encoder; encoders/factory.py now holds the only code that knows both)."""
    graph: dict[str, list[Import]] = {module: [] for module in MODULES}
    for imp in IMPORTS:
        if not imp.type_checking and imp.target in MODULES and imp.target != imp.module:
            graph[imp.module].append(imp)
    cycle = find_cycle(graph)
    assert not cycle, report([f"{imp}: rule: no import cycles, not even inside functions" for imp in cycle])
