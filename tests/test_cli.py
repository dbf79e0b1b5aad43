"""The command line contract: exit 0 ok, 1 verification failed, 2 usage error.

Every bad input gives one ``Error: ...`` line naming the bad value (and the
valid choices where there are finitely many), never a traceback.
"""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

import symreg
from symreg import GroupAction, element
from symreg.cli import cli
from tests.helpers import registered

BUILTINS = ("mod_add mod_sub mod_sum_sq mod_sum_cube mod_mul mod_xy_plus perm_compose "
            "dihedral_compose graph_grid2d graph_grid3d graph_cycle graph_path graph_cylinder "
            "graph_hypercube compare_2d compare_3d").split()


def invoke(*args: str):
    result = CliRunner().invoke(cli, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # an uncaught error is a bug, not an exit status
    return result


class WrongSymmetry:
    """Declares on mod_add that swapping tokens 0 and 1 in slot x keeps the label (false)."""

    @symreg.hookimpl
    def register_symmetries(self, register):
        def wrong(task):
            swap = np.arange(task.vocab_size)
            swap[[0, 1]] = [1, 0]
            return GroupAction("wrong_swap", [element(task, tokens={0: swap})],
                               "deliberately wrong", ["x:0<->1"])
        register("mod_add", wrong)


# --- what works ------------------------------------------------------------------
def test_tasks_json_lists_the_builtins():
    result = invoke("tasks", "--json")
    assert result.exit_code == 0
    rows = {r["name"]: r for r in json.loads(result.output)}
    assert sorted(set(BUILTINS) - set(rows)) == []
    assert rows["mod_add"]["plugin"] == "algebraic" and rows["mod_add"]["params"] == {"p": 113}
    assert rows["mod_add"]["domain"] == "algebraic"


def test_tasks_plain_has_one_line_per_task():
    result = invoke("tasks")
    assert result.exit_code == 0
    assert any(line.startswith("mod_add ") for line in result.output.splitlines())


def test_show_mod_add():
    result = invoke("show", "mod_add", "-P", "p=7")
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.startswith("mod_add (v1, algebraic, plugin algebraic)")
    assert "parameter p = 7" in out and "inputs: 49" in out
    assert "tokens (3, 5) -> class 1" in out
    assert "commutativity" in out and "order 49" in out and "associativity" in out


def test_show_mod_add_json_has_symmetries_with_orders():
    result = invoke("show", "mod_add", "-P", "p=7", "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["name"] == "mod_add" and info["params"] == {"p": 7} and info["size"] == 49
    syms = {s["name"]: s for s in info["symmetries"]}
    assert {n: s.get("order") for n, s in syms.items()} == {
        "commutativity": 2, "translation": 49, "scaling": 6, "associativity": None}
    assert syms["associativity"]["kind"] == "law"
    assert info["presets"]["paper"]["train_frac"] == 0.3


def test_verify_mod_add():
    result = invoke("verify", "mod_add", "-P", "p=7")
    assert result.exit_code == 0, result.output
    assert "4 of 4 symmetries verified" in result.output
    assert "FAIL" not in result.output


def test_verify_json():
    result = invoke("verify", "mod_add", "mod_mul", "-P", "p=7", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["ok"] is True
    assert {r["task"] for r in report["results"]} == {"mod_add", "mod_mul"}
    assert all(r["params"] == {"p": 7} for r in report["results"])


def test_verify_all_passes_params_to_the_tasks_that_take_them():
    result = invoke("verify", "--all", "-P", "p=7")
    assert result.exit_code == 0, result.output
    verified = {line.split()[1] for line in result.output.splitlines() if line.startswith("ok ")}
    assert {"mod_add", "mod_sub", "mod_mul", "mod_sum_sq", "mod_sum_cube", "mod_xy_plus"} <= verified
    assert "perm_compose" not in verified  # takes no p, so it is left out


def test_verify_named_tasks_are_all_verified_with_params():
    result = invoke("verify", "mod_add", "perm_compose", "-P", "p=7")
    assert result.exit_code == 0, result.output
    verified = {line.split()[1] for line in result.output.splitlines() if line.startswith("ok ")}
    assert verified == {"mod_add", "perm_compose"}


def test_wrong_symmetry_exits_1_with_the_counterexample():
    with registered(WrongSymmetry(), "wrong-plugin"):
        result = invoke("verify", "mod_add", "-P", "p=7")
        as_json = invoke("verify", "mod_add", "-P", "p=7", "--json")
    assert result.exit_code == 1, result.output
    fail = [line for line in result.output.splitlines() if line.startswith("FAIL")]
    assert len(fail) == 1 and "wrong_swap" in fail[0]
    # tokens (0, 0): label 0; moved to (1, 0): label 1 -- an invariance cannot hold
    assert ("symmetry 'wrong_swap' fails: element x:0<->1 on input (0, 0): expected 0, got 1"
            in result.output)
    assert "4 of 5 symmetries verified" in result.output
    assert "Traceback" not in result.output
    assert as_json.exit_code == 1
    bad = [r for r in json.loads(as_json.output)["results"] if not r["ok"]]
    assert [r["symmetry"] for r in bad] == ["wrong_swap"]
    ce = bad[0]["counterexample"]
    assert (ce["element"], tuple(ce["input"]), ce["expected"], ce["actual"]) == ("x:0<->1", (0, 0), "0", "1")


# --- what fails, and how --------------------------------------------------------
BAD_INPUTS = [
    # args, fragments the Error line must contain
    (["show", "mod_ad"], ["'mod_ad'", "Did you mean 'mod_add'", "Available:"]),
    (["verify", "mod_ad"], ["'mod_ad'", "'mod_add'"]),
    (["verify", "mod_add", "nope"], ["'nope'"]),
    (["show", "mod_add", "-P", "q=3"], ["'q'", "Available: p"]),
    (["verify", "mod_add", "-P", "q=3"], ["'q'", "Available: p"]),
    (["show", "mod_add", "-P", "p=abc"], ["p='abc'", "int"]),
    (["show", "mod_add", "-P", "p"], ["'p'", "key=value"]),
    (["show", "mod_add", "-P", "p=2"], ["p=2", "at least 3"]),
    (["verify", "mod_mul", "-P", "p=8"], ["p=8", "prime"]),
    (["verify", "graph_cycle", "-P", "n=2"], ["n=2"]),
    (["show", "graph_grid2d", "-P", "rows=1"], ["rows=1"]),
    (["verify"], ["task names or --all"]),
    (["verify", "--all", "mod_add"], ["task names or --all"]),
    (["verify", "mod_add", "--seed", "abc"], ["'abc'", "--seed"]),
    (["show"], ["Missing argument", "TASK"]),
    (["nosuch"], ["'nosuch'"]),
    (["tasks", "--bogus"], ["--bogus"]),
    (["verify", "mod_add", "-P", "p=7", "-P", "q=1"], ["'q'", "Available: p"]),
]


def _id(case) -> str:
    args = case.values[0] if hasattr(case, "values") else case[0]
    return " ".join(args) or "-"


@pytest.mark.parametrize("args, fragments", BAD_INPUTS, ids=[_id(c) for c in BAD_INPUTS])
def test_bad_input_exits_2_with_one_error_line(args, fragments):
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def test_version_in_a_subprocess():
    out = subprocess.run([sys.executable, "-m", "symreg", "--version"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"symreg, version {symreg.__version__}"


@pytest.mark.parametrize("name", sorted(symreg.task_entries()))
def test_show_works_for_every_registered_task(name):
    params = [f"{k}={v}" for k, v in symreg.task_entries()[name].obj.quick.params.items()]
    result = invoke("show", name, *(a for kv in params for a in ("-P", kv)), "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["name"] == name and info["symmetries"] and "->" in info["encoding_example"]
