"""``symreg show`` and ``verify`` on symmetries: invariance or equivariance, the group's order on the
classes, and the plugin that declared each one."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from sympy.combinatorics import Permutation

import symreg
from symreg import GroupAction, element, get_symmetries, get_task
from symreg.cli import cli
from symreg.cli import tasks as tasks_cli
from tests.helpers import registered


def invoke(*args):
    result = CliRunner().invoke(cli, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.output
    return result.output


def shown(name: str, *params: str) -> dict:
    """``show --json``'s symmetries by name."""
    info = json.loads(invoke("show", name, *(a for p in params for a in ("-P", p)), "--json"))
    return {s["name"]: s for s in info["symmetries"]}


def block(text: str, name: str) -> list[str]:
    """The lines ``show`` prints for symmetry ``name``: its own line and the indented ones under it."""
    lines = text.splitlines()
    i = next(i for i, line in enumerate(lines) if line.startswith(f"    {name} "))
    return [lines[i]] + [line for line in lines[i + 1:i + 3] if line.startswith(" " * 25)]


def image_order(sym, task) -> int:
    """The order of the group's image on the classes, by enumerating the group (small groups only)."""
    offset, c = task.arity * task.vocab_size, task.n_classes
    images = set()
    for g in sym.group.generate():
        af = g.array_form + list(range(g.size, offset + c))
        images.add(tuple(af[offset:offset + c]))
    return len(images)


# --- invariance, equivariance, and the order on the classes ---------------------------------
def test_show_says_invariance_or_equivariance_and_the_order_on_the_classes():
    text = invoke("show", "mod_add", "-P", "p=7")
    comm, trans, scaling, assoc = (block(text, n) for n in ("commutativity", "translation", "scaling",
                                                            "associativity"))
    assert comm[1].split() == ["invariance;", "declared", "by", "plugin", "algebraic"]
    assert "group order 49" in trans[0] and "equivariance, order 7 on the classes;" in trans[1]
    assert "equivariance;" in scaling[1] and "on the classes" not in scaling[1]  # 6 on both: not repeated
    assert assoc[0].rstrip().endswith("law") and assoc[1].strip() == "declared by plugin algebraic"
    assert "(x+y)+z = x+(y+z)" in assoc[2]


def test_show_json_carries_action_output_order_and_plugin():
    syms = shown("mod_sum_sq", "p=7")
    assert {n: (s.get("action"), s.get("output_order"), s["plugin"]) for n, s in syms.items()} == {
        "commutativity": ("invariance", 1, "algebraic"), "shift": ("invariance", 1, "algebraic"),
        "scaling": ("equivariance", 3, "algebraic")}  # u -> u^2 on the classes: the squares of Z_7*
    assert syms["scaling"]["order"] == 6


@pytest.mark.parametrize("name, params", [("mod_sum_sq", {"p": 7}), ("mod_sum_cube", {"p": 7}),
                                          ("mod_mul", {"p": 5}), ("perm_compose", {"n": 3}),
                                          ("dihedral_compose", {"n": 4}), ("compare_2d", {"m": 3}),
                                          ("graph_cycle", {"n": 6})])
def test_output_order_is_the_order_of_the_image_on_the_classes(name, params):
    task = get_task(name, **params)
    for sym in get_symmetries(task):
        if sym.kind == "group":
            got = tasks_cli.output_action(sym, task)
            assert got["output_order"] == image_order(sym, task), sym.name
            assert (got["action"] == "invariance") == (got["output_order"] == 1), sym.name


def test_a_generator_shorter_than_the_points_fixes_the_classes():
    task = get_task("mod_add", p=5)
    short = GroupAction("short", [Permutation(1, 0)], "swap tokens 0 and 1 of slot x")  # 2 of the 15 points
    assert tasks_cli.output_action(short, task) == {"action": "invariance", "output_order": 1}


def test_no_order_is_computed_past_the_limit(monkeypatch):
    monkeypatch.setattr(tasks_cli, "MAX_ORDER_POINTS", 5)  # mod_add p=7 moves 21 points, 7 of them classes
    syms = shown("mod_add", "p=7")
    assert syms["translation"]["order"] is None and syms["translation"]["output_order"] is None
    assert syms["translation"]["action"] == "equivariance" and syms["commutativity"]["output_order"] == 1
    trans = block(invoke("show", "mod_add", "-P", "p=7"), "translation")
    assert "order not computed (21 points)" in trans[0] and trans[1].split()[0] == "equivariance;"


# --- the declaring plugin ----------------------------------------------------------------------
class Negation:
    """Adds the negation equivariance f(-x, -y) = -f(x, y) to mod_add, and a broken action."""

    @symreg.hookimpl
    def register_symmetries(self, register):
        def negation(task):
            neg = (-np.arange(task.vocab_size)) % task.vocab_size
            return GroupAction("negation", [element(task, tokens=neg, outputs=neg)], "f(-x,-y) = -f(x,y)")

        def broken(task):  # token x=0 sent to a class point
            af = list(range(task.arity * task.vocab_size + task.n_classes))
            af[0], af[-1] = af[-1], af[0]
            return GroupAction("broken", [Permutation(af)], "not block-preserving")

        register("mod_add", negation)
        register("mod_add", broken)


def test_show_and_verify_name_the_plugin_that_declared_each_symmetry():
    with registered(Negation(), "negation-plugin"):
        text = invoke("show", "mod_add", "-P", "p=7")
        syms = shown("mod_add", "p=7")
        verified = CliRunner().invoke(cli, ["verify", "mod_add", "-P", "p=7"]).output
        as_json = json.loads(CliRunner().invoke(cli, ["verify", "mod_add", "-P", "p=7", "--json"]).output)
    assert "equivariance; declared by plugin negation-plugin" in block(text, "negation")[1]
    assert "declared by plugin algebraic" in block(text, "translation")[1]
    assert "not a valid action on this task" in block(text, "broken")[1]
    assert syms["negation"]["plugin"] == "negation-plugin" and syms["negation"]["output_order"] == 2
    assert syms["broken"]["action"] is None and "broken" in syms["broken"]["problem"]
    lines = {line.split()[2]: line for line in verified.splitlines() if line.startswith(("ok", "FAIL"))}
    assert lines["negation"].startswith("ok") and lines["negation"].endswith("declared by plugin negation-plugin)")
    assert lines["commutativity"].endswith("declared by plugin algebraic)")
    assert lines["broken"].startswith("FAIL")
    assert {r["symmetry"]: r["plugin"] for r in as_json["results"]} == {
        "commutativity": "algebraic", "translation": "algebraic", "scaling": "algebraic",
        "associativity": "algebraic", "negation": "negation-plugin", "broken": "negation-plugin"}
