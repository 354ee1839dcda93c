"""The house rules a reader relies on: every module imports, no import cycle, one atomic write.

The import graph is read from the source with `ast` (every ``import`` statement, also those
inside functions, since a deferred import that closes a loop is still a cycle), over the
project's own packages. A cycle is reported as the loop of module names.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("fr_utils", "nst_utils", "conv_utils", "workbook")
# Every file the project writes goes through workbook/atomic.py: these calls belong there only.
ATOMIC_ONLY = {("os", "replace"), ("os", "rename"), ("tempfile", "mkstemp"), ("shutil", "move")}


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _imports(path: Path, name: str, known: set[str]) -> set[str]:
    """Project modules that ``name`` imports explicitly (absolute and relative imports)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    edges = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            # `from pkg import sub` imports the submodule pkg.sub when there is one
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        edges |= {target for target in targets if target in known and target != name}
    return edges


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(path, name, set(modules)) for name, path in modules.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import loop of the graph, as a list of modules, or None (depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (loop := visit(nxt)):
                return loop
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (loop := visit(node)):
            return loop
    return None


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycle(graph) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
    # a deferred import (inside a function) counts, as do relative imports
    source = ROOT / "tests" / "_layout_probe.py"
    try:
        source.write_text("def f():\n    from fr_utils import api\n    from . import x\n")
        edges = _imports(source, "fr_utils.probe", {"fr_utils", "fr_utils.api", "fr_utils.x"})
        assert edges == {"fr_utils", "fr_utils.api", "fr_utils.x"}
    finally:
        source.unlink()


def test_no_import_cycle_between_project_modules():
    loop = _cycle(_graph())
    assert loop is None, "import cycle: " + " -> ".join(loop)


@pytest.mark.parametrize("package", PACKAGES)
def test_every_module_imports(package):
    module = importlib.import_module(package)
    for info in pkgutil.walk_packages(module.__path__, f"{package}."):
        if not info.name.endswith("__main__"):  # running those starts a command line
            importlib.import_module(info.name)


def _atomic_calls(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if (node.value.id, node.attr) in ATOMIC_ONLY:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value.id}.{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module in {m for m, _ in ATOMIC_ONLY}:
            for alias in node.names:
                if (node.module, alias.name) in ATOMIC_ONLY:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} from {node.module}")
    return found


def test_files_are_replaced_only_by_the_atomic_write_helper():
    helper = ROOT / "workbook" / "atomic.py"
    sources = [p for d in (*PACKAGES, "tools", "benchmarks") for p in (ROOT / d).rglob("*.py")]
    offenders = [hit for path in sources if path != helper for hit in _atomic_calls(path)]
    assert not offenders, "use workbook.atomic instead of: " + "; ".join(offenders)
    assert _atomic_calls(helper), "the helper itself must be where os.replace lives"


@pytest.mark.parametrize("package", PACKAGES)
def test_public_names_stay_what_they_are_after_every_submodule_is_imported(package):
    """Importing ``pkg.name`` binds the submodule to ``pkg.name``: a public function must not
    share its name with a submodule (``nst_utils.stylize`` the function vs a module)."""
    module = importlib.import_module(package)
    for info in pkgutil.walk_packages(module.__path__, f"{package}."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)
    shadowed = [name for name in module.__all__ if inspect.ismodule(getattr(module, name))]
    assert not shadowed, f"{package}: public names replaced by submodules: {shadowed}"


def _readme_layout() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = text.split("## Layout", 1)[1].split("```", 2)[1]
    return [line.split()[0] for line in block.splitlines() if line and not line.startswith(" ")]


def test_readme_layout_matches_the_tree():
    listed = _readme_layout()
    patterns = [entry.replace("NN_topic", "[0-9][0-9]_*").rstrip("/") for entry in listed]
    missing = [
        entry for entry, glob in zip(listed, patterns, strict=True) if not any(ROOT.glob(glob))
    ]
    assert not missing, f"README Layout lists what does not exist: {missing}"
    folders = {
        f"{path.parent.relative_to(ROOT)}/"
        for package in PACKAGES
        for path in (ROOT / package).rglob("__init__.py")
    }
    unlisted = sorted(folders - set(listed))
    assert not unlisted, f"packages missing from README's Layout section: {unlisted}"
