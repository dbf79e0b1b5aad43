"""The example third-party plugin, examples/symreg-xor, works the way a newcomer uses it."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from symreg.plugins import add_plugin, failures, pm
from symreg.registry import get_symmetries, get_task, task_entries
from symreg.symmetry.verification import verify_task

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "symreg-xor"


def load_example():
    spec = importlib.util.spec_from_file_location("symreg_xor", EXAMPLE / "symreg_xor.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_registers_xor_and_its_symmetries_verify():
    module = load_example()
    try:
        assert add_plugin(module, "xor"), failures.get("xor")
        entry = task_entries()["xor"]
        assert entry.plugin == "xor" and entry.obj is module.Xor
        for bits in (1, 4, 6):
            task = get_task("xor", bits=bits)
            expected = ["commutativity", "translation", "bit_permutation", "associativity"]
            if bits == 1:  # one bit has no nontrivial permutation
                expected.remove("bit_permutation")
            assert [s.name for s in get_symmetries(task)] == expected
            verdicts = verify_task(task)
            assert all(v.ok for v in verdicts), [str(v.counterexample) for v in verdicts]
    finally:
        if pm.has_plugin("xor"):
            pm.unregister(name="xor")
        failures.pop("xor", None)
    assert "xor" not in task_entries()


INSTALLED = pytest.mark.skipif("xor" not in {ep.name for ep in entry_points(group="symreg")},
                               reason="symreg-xor is not installed (pip install -e examples/symreg-xor)")


def run_pytest(cwd, *args):
    env = {k: v for k, v in os.environ.items() if k != "SYMREG_LOAD_PLUGINS"}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@INSTALLED
def test_example_own_tests_and_contract_pass_in_a_subprocess():
    out = run_pytest(EXAMPLE, "-rA")  # as its author runs them: cd examples/symreg-xor && pytest
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    contract = [line for line in out.stdout.splitlines() if "::SymregContract::" in line]
    assert len(contract) >= 25 and all(line.startswith("PASSED") for line in contract)  # 7 + 18 for 4 symmetries


def test_contract_is_inert_without_the_opt_in_and_catches_a_broken_task(tmp_path):
    (tmp_path / "test_plain.py").write_text("def test_one():\n    pass\n")
    out = run_pytest(tmp_path, "--co")
    assert out.returncode == 0 and "1 test collected" in out.stdout, out.stdout + out.stderr
    (tmp_path / "test_plain.py").write_text(
        "from symreg import get_task\n\n"
        "symreg_tasks = ['mod_add']\n"
        "task = type(get_task('mod_add', p=5))\n"
        "task.encode = lambda self, parts: (0,) * self.arity  # a broken encoding\n")
    out = run_pytest(tmp_path, "-k", "encoding or presets")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "1 failed, 1 passed" in out.stdout
    assert "SymregContract::test_encoding_round_trips[mod_add]" in out.stdout


def test_example_stays_small_enough_to_copy():
    lines = sum(len((EXAMPLE / f).read_text().splitlines()) for f in ("pyproject.toml", "symreg_xor.py"))
    assert lines <= 100, f"the example plugin grew to {lines} lines"


@INSTALLED
def test_installed_example_verifies_from_the_command_line():
    env = {k: v for k, v in os.environ.items() if k != "SYMREG_LOAD_PLUGINS"}
    out = subprocess.run([sys.executable, "-m", "symreg", "verify", "xor"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "4 of 4 symmetries verified" in out.stdout
