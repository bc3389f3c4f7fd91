"""The dependency rules of docs/architecture.md, read from the import statements of the code."""

import ast
import functools
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOMAINS = ("ode", "nbody", "flow", "descent", "optim")
LEAVES = {"stepsize._errors", "stepsize._atomic", "stepsize._figure"}
SHARED = LEAVES | {
    "stepsize.control",
    "stepsize.schedules",
    "stepsize.backend",
    "stepsize.parallel",
}


def _module(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path):
    """Every module ``path`` imports (at any depth of the code, lazily or not)."""
    package = _module(path) if path.name == "__init__.py" else _module(path).rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                name = f"{base}.{node.module}" if node.module else base
            else:
                name = node.module
            found.add(name)
            found.update(f"{name}.{alias.name}" for alias in node.names)
    return found


@functools.cache
def _library():
    return {
        _module(p): _imports(p)
        for p in sorted((ROOT / "stepsize").rglob("*.py"))
        if not p.name.endswith("cli.py")
    }


def _owner(name):
    """``stepsize.ode._loop`` -> ``stepsize.ode``; leaf modules and other packages as they are."""
    parts = name.split(".")
    if parts[0] != "stepsize" or len(parts) == 1:
        return parts[0]
    return ".".join(parts[:2])


def _project(names):
    """The project's modules in ``names`` (``from stepsize import x`` is ``stepsize.x``)."""
    return {n for n in names if n.split(".")[0] in ("stepsize", "agents", "envs") and "." in n}


def test_the_library_never_imports_the_application_packages():
    wrong = {
        m: sorted(n for n in names if n.split(".")[0] in ("agents", "envs"))
        for m, names in _library().items()
    }
    assert {m: n for m, n in wrong.items() if n} == {}


@pytest.mark.parametrize("package", ["control", "schedules"])
def test_control_and_schedules_use_only_the_leaf_modules(package):
    own = f"stepsize.{package}"
    wrong = {
        m: sorted(n for n in _project(names) if _owner(n) not in (own, *LEAVES))
        for m, names in _library().items()
        if _owner(m) == own
    }
    assert {m: n for m, n in wrong.items() if n} == {}


@pytest.mark.parametrize("domain", DOMAINS)
def test_no_domain_imports_another_but_nbody_imports_ode(domain):
    own = f"stepsize.{domain}"
    allowed = {own, *SHARED} | ({"stepsize.ode"} if domain == "nbody" else set())
    wrong = {
        m: sorted(n for n in _project(names) if _owner(n) not in allowed)
        for m, names in _library().items()
        if _owner(m) == own
    }
    assert {m: n for m, n in wrong.items() if n} == {}


def test_no_library_module_imports_a_command_module():
    wrong = {
        m: sorted(n for n in names if n.rpartition(".")[2] in ("_cli", "cli"))
        for m, names in _library().items()
    }
    assert {m: n for m, n in wrong.items() if n} == {}


# Known cycles, to be broken by their owners (issue 19); any other cycle fails.
KNOWN_CYCLES = [
    ["stepsize.nbody._archive", "stepsize.nbody._simulation", "stepsize.nbody._archive"]
]


def test_private_modules_of_a_package_import_no_cycle():
    private = {m for m in _library() if m.rpartition(".")[2].startswith("_")}
    graph = {m: {n for n in _library()[m] if n in private and n != m} for m in private}
    state, cycles = {}, []

    def visit(m, path):
        state[m] = "open"
        for n in sorted(graph[m]):
            if state.get(n) == "open":
                cycles.append(path[path.index(n) :] + [n])
            elif n not in state:
                visit(n, [*path, n])
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert [c for c in cycles if c not in KNOWN_CYCLES] == []
