"""The plugin layer: one test per hook, and every way a plugin can fail."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import EntryPoint

import click
import numpy as np
import pluggy
import pytest
from click.testing import CliRunner

import symreg
from symreg import GroupAction, Param, Preset, Task, element, hookspecs
from symreg.plugins import add_plugin, failures, pm
from symreg.registry import get_symmetries, get_task, model_entries, task_entries
from tests.helpers import registered


class Xor(Task):
    """x XOR y on `bits`-bit numbers (a test task)."""

    name = "test_xor"
    domain = "algebraic"
    parameters = {"bits": Param(3, "word size")}
    preset = quick = Preset(0.5, 1.0, 10)

    vocab_size = property(lambda self: 2 ** self.params["bits"])
    n_classes = vocab_size

    def slot_tokens(self):
        return [np.arange(self.vocab_size)] * 2

    def label(self, x):
        return x[:, 0] ^ x[:, 1]

    def decode(self, tokens):
        return tuple(int(t) for t in tokens)

    def encode(self, value):
        return tuple(value)


class TaskPlugin:
    __name__ = "TaskPlugin"

    @symreg.hookimpl
    def register_tasks(self, register):
        register(Xor)


def test_hook_register_tasks():
    with registered(TaskPlugin(), "xor-plugin"):
        assert task_entries()["test_xor"].plugin == "xor-plugin"
        assert get_task("test_xor", bits=2).label(np.array([[1, 3]])).tolist() == [2]
    assert "test_xor" not in task_entries()


def test_hook_register_symmetries():
    class SymPlugin:
        @symreg.hookimpl
        def register_symmetries(self, register):
            def negation(task):
                neg = (-np.arange(task.p)) % task.p
                return GroupAction("negation", [element(task, tokens=neg, outputs=neg)], "f(-x,-y) = -f(x,y)")
            register("mod_add", negation)

    with registered(SymPlugin(), "sym-plugin"):
        task = get_task("mod_add", p=7)
        syms = {s.name: s for s in get_symmetries(task)}
        assert "negation" in syms and "commutativity" in syms
        assert syms["negation"].verify(task).ok


def test_hook_register_models():
    class ModelPlugin:
        @symreg.hookimpl
        def register_models(self, register):
            register("test_linear", lambda task, **kw: None)

    with registered(ModelPlugin(), "model-plugin"):
        assert model_entries()["test_linear"].plugin == "model-plugin"


def test_hook_register_commands():
    class CommandPlugin:
        @symreg.hookimpl
        def register_commands(self, cli):
            @cli.command(name="hello-test")
            def hello():
                click.echo("hello from a plugin")

    from symreg.cli import add_plugin_commands, cli

    group = click.Group(commands=dict(cli.commands))
    with registered(CommandPlugin(), "command-plugin"):
        add_plugin_commands(group)
    result = CliRunner().invoke(group, ["hello-test"])
    assert result.output == "hello from a plugin\n"


def test_plugin_hooks_have_tests():
    names = {n for n in dir(hookspecs) if n.startswith("register_")}
    tested = {n[len("test_hook_"):] for n in globals() if n.startswith("test_hook_")}
    assert names <= tested, f"Plugin hooks missing tests: {sorted(names - tested)}"


class Twin:
    """Registers test_xor again, and a task of its own."""

    @symreg.hookimpl
    def register_tasks(self, register):
        register(Xor)
        register(Xor2)


class Xor2(Xor):
    name = "test_xor2"


def plugin_rows() -> dict[str, dict]:
    result = CliRunner().invoke(symreg.cli.cli, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert isinstance(rows, list) and all(set(r) >= {"name", "tasks", "error", "loaded"} for r in rows)
    return {r["name"]: r for r in rows}


def test_a_task_name_registered_twice_keeps_the_first_and_ignores_only_the_second():
    with registered(TaskPlugin(), "first"), registered(Twin(), "second"):
        entries = task_entries()
        assert entries["test_xor"].plugin == "first"  # first registered wins, in load order
        assert entries["test_xor2"].plugin == "second"  # the later plugin keeps its other tasks
        assert "graph_cycle" in entries and get_task("graph_cycle", n=8).size == 64
        rows = plugin_rows()
        assert rows["first"]["error"] is None and rows["first"]["tasks"] == ["test_xor"]
        assert rows["second"]["tasks"] == ["test_xor2"]
        assert "'test_xor' is already registered by plugin 'first'" in rows["second"]["error"]
        assert rows["algebraic"]["error"] is None
        text = CliRunner().invoke(symreg.cli.cli, ["plugins"]).output
        assert "second" in text and "ERROR: task 'test_xor' is already registered" in text
        shown = CliRunner().invoke(symreg.cli.cli, ["show", "graph_cycle", "-P", "n=8"])
        assert shown.exit_code == 0 and "graph_cycle" in shown.output
    with registered(Twin(), "second"):  # alone, nothing conflicts
        assert task_entries()["test_xor"].plugin == "second" and plugin_rows()["second"]["error"] is None


def test_a_model_name_registered_twice_keeps_the_built_in():
    class Shadow:
        @symreg.hookimpl
        def register_models(self, register):
            register("transformer", lambda task, seeds, **kw: None)

    with registered(Shadow(), "shadow"):
        assert model_entries()["transformer"].plugin == "symreg.default_models"
        assert "'transformer' is already registered" in plugin_rows()["shadow"]["error"]


def test_a_plugin_run_as_the_real_cli_cannot_take_other_tasks_down(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(
        "import sys, symreg\n"
        "from symreg.plugins import add_plugin, load_plugins\n"
        "from symreg_algebraic.modular import ModAdd\n"
        "class Dup:\n"
        "    @symreg.hookimpl\n"
        "    def register_tasks(self, register):\n"
        "        register(ModAdd)\n"
        "load_plugins()\n"  # the installed plugins first: Dup is loaded after them
        "add_plugin(Dup(), 'dup')\n"
        "sys.argv = ['symreg'] + sys.argv[1:]\n"
        "from symreg.cli import main\n"
        "main()\n")
    env = {k: v for k, v in os.environ.items() if k != "SYMREG_LOAD_PLUGINS"}

    def run(*args):
        return subprocess.run([sys.executable, str(script), *args], env=env, capture_output=True, text=True)

    shown = run("show", "graph_cycle", "-P", "n=8")
    assert shown.returncode == 0 and "plugin structural" in shown.stdout, shown.stderr
    assert "plugin algebraic" in run("show", "mod_add", "-P", "p=5").stdout
    listed = run("plugins", "--json")
    rows = {r["name"]: r for r in json.loads(listed.stdout)}
    assert "'mod_add' is already registered by plugin 'algebraic'" in rows["dup"]["error"]


def test_misspelled_hook_is_rejected_loudly(capsys):
    class Typo:
        @symreg.hookimpl
        def register_task(self, register):  # missing "s"
            register(Xor)

    assert not add_plugin(Typo(), "typo")
    assert "unknown hook 'register_task' (did you mean 'register_tasks'?)" in failures.pop("typo")
    assert "typo" in capsys.readouterr().err
    assert not pm.has_plugin("typo")


def test_hookimpl_with_unknown_argument_is_rejected():
    class BadArgs:
        @symreg.hookimpl
        def register_tasks(self, register, extra):
            pass

    assert not add_plugin(BadArgs(), "badargs")
    assert "invalid hook implementation" in failures.pop("badargs")


def test_raising_hook_skips_only_that_plugin():
    class Broken:
        @symreg.hookimpl
        def register_tasks(self, register):
            raise RuntimeError("boom")

    with registered(Broken(), "broken"):
        names = task_entries()
        assert "mod_add" in names
        assert failures["broken"] == "hook register_tasks raised RuntimeError: boom"
        assert "boom" in plugin_rows()["broken"]["error"]


def test_registering_a_non_task_is_ignored_and_shown():
    class NotATask:
        @symreg.hookimpl
        def register_tasks(self, register):
            register(dict)
            register(Xor)

    with registered(NotATask(), "notatask"):
        assert task_entries()["test_xor"].plugin == "notatask" and "mod_add" in task_entries()
        assert "not a Task subclass" in plugin_rows()["notatask"]["error"]


def test_a_broken_symmetry_factory_loses_its_symmetry_not_the_task():
    class BadSyms:
        @symreg.hookimpl
        def register_symmetries(self, register):
            register("mod_add", lambda task: 1 / 0)
            register("mod_mul", lambda task: "not a symmetry")
            register("mod_sub", lambda task: GroupAction("commutativity", [element(task, slots=[1, 0])]))
            register("no_such_task", lambda task: [])

    with registered(BadSyms(), "badsyms"):
        for name in ("mod_add", "mod_mul", "mod_sub"):
            task = get_task(name, p=7)
            assert [s.name for s in get_symmetries(task)] == [s.name for s in task.symmetries()]
        error = plugin_rows()["badsyms"]["error"]
        assert "ZeroDivisionError" in error and "not a Symmetry" in error
        assert "'commutativity' of task 'mod_sub' is already declared" in error and "no_such_task" in error


def test_plugin_that_fails_to_import_is_listed_with_its_error(monkeypatch):
    import symreg.plugins as plugins

    fake = [EntryPoint("ghost", "symreg_no_such_module", "symreg")]
    monkeypatch.setattr(plugins, "entry_points", lambda group: fake)
    monkeypatch.setattr(plugins, "_loaded", False)
    monkeypatch.setenv("SYMREG_LOAD_PLUGINS", "ghost")
    plugins.load_plugins()
    try:
        assert failures["ghost"].startswith("import failed: ModuleNotFoundError")
        assert "mod_add" in task_entries()
        assert plugin_rows()["ghost"] == {**plugin_rows()["ghost"], "loaded": False, "tasks": []}
    finally:
        failures.pop("ghost")


def test_an_unknown_name_in_symreg_load_plugins_is_an_error_listing_the_entry_points(monkeypatch):
    import symreg.plugins as plugins
    from symreg.errors import UsageError

    fake = [EntryPoint("ghost", "symreg_no_such_module", "symreg")]
    monkeypatch.setattr(plugins, "entry_points", lambda group: fake)
    monkeypatch.setattr(plugins, "_loaded", False)
    monkeypatch.setenv("SYMREG_LOAD_PLUGINS", "ghost,missing")
    with pytest.raises(UsageError, match=r"'missing'.* Available: ghost\."):
        plugins.load_plugins()
    with pytest.raises(UsageError, match="'missing'"):  # every lookup, not only the first
        plugins.load_plugins()
    assert "ghost" not in failures  # nothing was loaded


def _run_installed(env_value):
    env = {k: v for k, v in os.environ.items() if k != "SYMREG_LOAD_PLUGINS"}
    if env_value is not None:
        env["SYMREG_LOAD_PLUGINS"] = env_value
    out = subprocess.run([sys.executable, "-m", "symreg", "plugins", "--json"], env=env,
                         capture_output=True, text=True, check=True)
    return {r["name"]: r for r in json.loads(out.stdout)}


@pytest.fixture(scope="module")
def installed():
    from importlib.metadata import entry_points

    eps = {ep.name for ep in entry_points(group="symreg")}
    if not {"algebraic", "structural", "relational"} <= eps:
        pytest.skip("symreg is not installed (pip install -e .)")
    return eps


def test_entry_points_load_the_builtins(installed):
    rows = _run_installed(None)
    assert {"algebraic", "structural", "relational"} <= set(rows)
    assert rows["algebraic"]["distribution"] == "symreg"
    assert "mod_add" in rows["algebraic"]["tasks"]
    assert all(r["error"] is None for r in rows.values())


def test_load_plugins_env_selects_by_entry_point_name(installed):
    core = {"symreg.default_models"}  # symreg's own models, always registered
    assert set(_run_installed("algebraic")) - core == {"algebraic"}
    assert set(_run_installed("")) - core == set()


def test_pluggy_rejects_hookimpls_against_specs_at_registration():
    assert isinstance(pm, pluggy.PluginManager) and pm.project_name == "symreg"
