"""The package's shape, read from its imports (AST), and its pinned public surface.

Run as a script to print the package-level dependency graph and the checks::

    python tests/test_structure.py
"""
from __future__ import annotations

import ast
import inspect
import sys
from pathlib import Path

import click
import pytest

ROOT = Path(__file__).resolve().parents[1] / "symreg"
ENGINE = ("train", "diagnose", "plots", "experiments", "cli")
CORE = ("symreg.task", "symreg.symmetry", "symreg.registry", "symreg.errors", "symreg.hookspecs")
NO_TORCH = ("symreg.runs", "symreg.diagnose", "symreg.plots")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def runtime_imports(path: Path) -> list[tuple[str, bool]]:
    """Every import a module can run, as (absolute module, at module level), TYPE_CHECKING blocks excluded."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, top: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child, top)
            return
        if isinstance(node, ast.Import):
            found.extend((a.name, top) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.append((base, top))
            for alias in node.names:  # `from pkg import submodule`
                if (ROOT.parent / (base.replace(".", "/") + "/" + alias.name + ".py")).exists() or (
                        ROOT.parent / base.replace(".", "/") / alias.name / "__init__.py").exists():
                    found.append((f"{base}.{alias.name}", top))
        inner = top and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        for child in ast.iter_child_nodes(node):
            visit(child, inner)

    for stmt in ast.parse(path.read_text()).body:
        visit(stmt, True)
    return found


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def graph(lazy: bool = True) -> dict[str, set[str]]:
    """symreg module -> symreg modules it imports at run time (a package import runs its __init__)."""
    mods = modules()
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for m, path in mods.items():
        for target, top in runtime_imports(path):
            if not (top or lazy) or not target.startswith("symreg"):
                continue
            parts = target.split(".")
            for i in range(1, len(parts) + 1):  # importing a.b.c runs a, a.b and a.b.c
                t = ".".join(parts[:i])
                if t in mods and t != m and not (m + ".").startswith(t + "."):
                    edges[m].add(t)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def strong(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10_000)
    for v in sorted(edges):
        if v not in index:
            strong(v)
    return out


def within(name: str, prefixes) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def violations() -> list[str]:
    """Every import that breaks a layering rule, as 'importer -> imported (rule)'."""
    bad = []
    for m, path in modules().items():
        for target, _ in runtime_imports(path):
            if within(m, CORE) and within(target, [f"symreg.{e}" for e in ENGINE]):
                bad.append(f"{m} -> {target} (the core imports no engine package)")
            if within(m, NO_TORCH) and within(target, ["torch"]):
                bad.append(f"{m} -> {target} (runs/, diagnose/ and plots/ never import torch)")
            if not within(m, ["symreg.cli", "symreg.__main__"]) and within(target, ["symreg.cli"]):
                bad.append(f"{m} -> {target} (nothing outside cli/ imports cli/)")
            if within(m, ["symreg.runs"]) and within(target, [f"symreg.{e}" for e in ENGINE]):
                bad.append(f"{m} -> {target} (runs/ is read by the engine, never the reverse)")
            if within(target, ["symreg_algebraic", "symreg_structural", "symreg_relational"]):
                bad.append(f"{m} -> {target} (the core never imports a plugin)")
    return bad


def test_no_runtime_import_cycles():
    assert cycles(graph(lazy=True)) == []


def test_layering_rules_hold():
    assert violations() == []


def test_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_every_subpackage_declares_its_public_names():
    import importlib

    for init in sorted(ROOT.glob("*/__init__.py")):
        pkg = importlib.import_module(module_name(init))
        names = getattr(pkg, "__all__", None)
        assert names, f"{pkg.__name__} has no __all__"
        assert list(names) == sorted(names), f"{pkg.__name__}.__all__ is not alphabetised"
        assert all(hasattr(pkg, n) for n in names), f"{pkg.__name__}.__all__ names a missing attribute"


def test_modules_stay_small():
    sizes = {m: len(p.read_text().splitlines()) for m, p in modules().items()}
    assert {m: n for m, n in sizes.items() if n > 400} == {}


# -- the stable surface: what plugin authors, scripts and saved runs rely on -------------------

PUBLIC = ["Associativity", "GraphTask", "GroupAction", "Law", "OperationTask", "Param", "Preset", "Symmetry",
          "SymregError", "Task", "Transitivity", "TriangleEquality", "UsageError", "all_of", "apply",
          "between", "element", "get_symmetries", "get_symmetry", "get_task", "graph_task", "hookimpl",
          "is_prime", "odd_prime", "operation_task", "prime", "slot_permutation", "swap",
          "task_entries", "tasks_hook", "token_map", "verify_task"]
TESTING = ["assert_law", "assert_symmetry", "group_elements", "law_instances", "task_inputs"]
HOOKS = {"register_commands": ["cli"], "register_models": ["register"],
         "register_symmetries": ["register"], "register_tasks": ["register"]}
OPTIONS = {
    "augment": ["--json", "--max-rounds", "--out", "--param", "--preset", "--seed", "--symmetry",
                "--train-frac", "--verify", "-P"],
    "compare": ["--device", "--epochs", "--eval-every", "--json", "--lr", "--methods", "--model",
                "--out", "--param", "--precision", "--preset", "--quiet", "--seeds", "--set", "--threads",
                "--train-frac",
                "--weight-decay", "-P", "-q"],
    "diagnose": ["--collapse-drop", "--dim-slack", "--drop", "--generalize-acc", "--horizon", "--json", "--max-fpr",
                 "--min-peak", "--memorize-acc", "--onset", "--plateau", "--signal", "--sustain"],
    "plot": ["--collapse-drop", "--dim-slack", "--drop", "--generalize-acc", "--horizon", "--max-fpr",
             "--memorize-acc", "--min-peak", "--onset", "--out", "--plateau", "--signal", "--sustain", "--symmetry"],
    "plugins": ["--json"],
    "show": ["--json", "--param", "-P"],
    "sweep": [],
    "sweep run": ["--address", "--backend", "--dry-run", "--out", "--retry-failed", "--threads",
                  "--workers"],
    "sweep run-point": [],
    "sweep status": ["--json"],
    "sweep summary": ["--json"],
    "tasks": ["--json"],
    "train": ["--augment", "--device", "--epochs", "--eval-every", "--json", "--lr", "--model",
              "--out", "--param", "--precision", "--preset", "--quiet", "--resume", "--seed", "--seeds", "--set",
              "--stop-on-generalize", "--threads", "--train-frac", "--weight-decay", "-P", "-q"],
    "verify": ["--all", "--json", "--max-exhaustive", "--param", "--samples", "--seed", "-P"],
}


def cli_options(group: click.Group, prefix: str = "") -> dict[str, list[str]]:
    out = {}
    for name, cmd in sorted(group.commands.items()):
        key = f"{prefix} {name}".strip()
        out[key] = sorted(o for p in cmd.params for o in p.opts + p.secondary_opts if o.startswith("-"))
        if isinstance(cmd, click.Group):
            out.update(cli_options(cmd, key))
    return out


def test_public_names_are_pinned():
    import symreg
    import symreg.testing

    assert sorted(symreg.__all__) == PUBLIC
    assert all(hasattr(symreg, n) for n in PUBLIC)
    assert all(callable(getattr(symreg.testing, n)) for n in TESTING)


def test_hooks_and_entry_point_group_are_pinned():
    from symreg import hookspecs
    from symreg.plugins import pm

    assert pm.project_name == "symreg"
    found = {n: list(inspect.signature(getattr(hookspecs, n)).parameters)
             for n in dir(hookspecs) if n.startswith("register_")}
    assert found == HOOKS


@pytest.mark.parametrize("command", sorted(OPTIONS))
def test_cli_commands_and_options_are_pinned(command):
    from symreg.cli import cli

    found = cli_options(cli)
    assert set(OPTIONS) <= set(found), f"missing commands: {sorted(set(OPTIONS) - set(found))}"
    assert set(OPTIONS[command]) <= set(found[command])


if __name__ == "__main__":
    edges = graph()
    packages: dict[str, set[str]] = {}
    for m, targets in edges.items():
        src = ".".join(m.split(".")[:2])
        for t in targets:
            dst = ".".join(t.split(".")[:2])
            if dst != src:
                packages.setdefault(src, set()).add(dst)
    for src in sorted(packages):
        print(f"{src:<28} -> {', '.join(sorted(packages[src]))}")
    print(f"modules: {len(edges)}; runtime import cycles: {cycles(edges) or 0}")
    print(f"layering violations: {violations() or 0}")
