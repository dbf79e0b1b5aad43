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
from symreg.errors import PluginError
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


def test_duplicate_task_name_is_an_error_naming_both_plugins():
    class Twin:
        @symreg.hookimpl
        def register_tasks(self, register):
            register(Xor)

    with registered(TaskPlugin(), "first"), registered(Twin(), "second"):
        with pytest.raises(PluginError, match="'test_xor' is registered by both plugin 'first' and plugin 'second'"):
            task_entries()


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
        result = CliRunner().invoke(symreg.cli.cli, ["plugins", "--json"])
        row = next(r for r in json.loads(result.output) if r["name"] == "broken")
        assert "boom" in row["error"]


def test_registering_a_non_task_is_an_error():
    class NotATask:
        @symreg.hookimpl
        def register_tasks(self, register):
            register(dict)

    with registered(NotATask(), "notatask"):
        with pytest.raises(PluginError, match="not a Task subclass"):
            task_entries()


def test_plugin_that_fails_to_import_is_listed_with_its_error(monkeypatch):
    import symreg.plugins as plugins

    fake = [EntryPoint("ghost", "symreg_no_such_module", "symreg")]
    monkeypatch.setattr(plugins, "entry_points", lambda group: fake)
    monkeypatch.setattr(plugins, "_loaded", False)
    monkeypatch.setenv("SYMREG_LOAD_PLUGINS", "ghost,missing")
    plugins.load_plugins()
    try:
        assert failures["ghost"].startswith("import failed: ModuleNotFoundError")
        assert failures["missing"].startswith("not found")
        assert "mod_add" in task_entries()
    finally:
        failures.pop("ghost"), failures.pop("missing")


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
