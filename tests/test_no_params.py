"""Tasks without parameters print cleanly everywhere: no ``{}``, ``()``, ``(-)``, ``with :`` or dangling commas.

A plugin registers three such tasks (one with an example and a symmetry, one
with neither, one of a single slot); every command runs on them, and every
text it prints or writes is read for the artifacts an empty parameter dict
(or a tuple of one) leaves behind.
"""
from __future__ import annotations

import re
import types
from pathlib import Path

import pytest
from click.testing import CliRunner

from symreg import Preset, operation_task, swap, tasks_hook
from symreg.cli import cli
from symreg.limits import TooLargeError
from tests.helpers import registered

TINY = Preset(train_frac=0.5, weight_decay=1.0, epochs=3)
ConstXor = operation_task("const_xor", lambda x, y: x ^ y, n=8, example=(3, 5), preset=TINY, quick=TINY,
                          symmetries=[swap()], description="x^y on 3 bits")
Bare = operation_task("const_bare", lambda x, y: x & y, n=4, preset=TINY, quick=TINY, description="x&y")
Flip = operation_task("const_flip", lambda x: 7 - x, n=8, arity=1, example=(3,), preset=TINY, quick=TINY,
                      description="7-x")
Huge = operation_task("const_huge", lambda x, y: x, n=2**40, preset=TINY, quick=TINY)

# what an empty parameter dict or a tuple of one leaves in a text
ARTIFACTS = re.compile(r"\{\}|\(\)|\(-\)|\bwith\s*:|,\s*[,:)]|\(\s*,|params\s+-|\s,")
SIZES = "model_sizes={'d_model':8,'n_heads':2,'d_head':4,'d_mlp':16}"
FAST = ["--epochs", "3", "--eval-every", "1", "--device", "cpu", "--set", SIZES, "--set", "violation_samples=8"]


def artifacts(text: str) -> list[str]:
    """The lines of ``text`` holding an artifact.

    >>> artifacts("a (p=3), b\\nconst with : tokens (3,)\\nc {}")
    ['const with : tokens (3,)', 'c {}']
    """
    return [line for line in text.splitlines() if ARTIFACTS.search(line)]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """Every command's text output on the parameterless tasks, and the Markdown files they write, by name."""
    plugin = types.ModuleType("noparam_plugin")
    plugin.register_tasks = tasks_hook(ConstXor, Bare, Flip)
    d = tmp_path_factory.mktemp("noparam")
    (d / "sweep.toml").write_text('seeds = "0"\nmethods = ["baseline", "sym:commutativity"]\n'
                                  '[[task]]\nname = "const_xor"\n')
    commands = {
        "tasks": ["tasks"],
        "show const_xor": ["show", "const_xor"], "show const_bare": ["show", "const_bare"],
        "show const_flip": ["show", "const_flip"],
        "verify": ["verify", "const_xor", "const_bare", "const_flip"],
        "train": ["train", "const_xor", *FAST, "--out", d / "run"],
        "train seeds": ["train", "const_flip", "--seeds", "0-1", *FAST, "--out", d / "batch"],
        "diagnose": ["diagnose", d / "run", d / "batch"],
        "augment": ["augment", "const_xor", "--train-frac", "0.5"],
        "compare": ["compare", "const_xor", "--methods", "baseline,sym:commutativity", "--seeds", "0", *FAST,
                    "--out", d / "compare", "-q"],
        "sweep": ["sweep", "run", d / "sweep.toml", "--out", d / "sweep", "--dry-run"],
    }
    out = {}
    with registered(plugin, "noparam"):
        for name, args in commands.items():
            result = CliRunner().invoke(cli, [str(a) for a in args])
            assert result.exit_code == 0, (name, result.output, result.exception)
            out[name] = result.output
        write_reports(d)
    for md in sorted(d.rglob("*.md")):
        out[str(md.relative_to(d))] = md.read_text()
    return out


def write_reports(d: Path) -> None:
    """The reports ``symreg plot`` writes (d/reports), without its figures (seconds of matplotlib)."""
    from symreg.diagnose.phases import events
    from symreg.diagnose.report import run_report, set_report
    from symreg.runs.reading import load_runs

    runs, _ = load_runs([d / "run", d / "batch"])
    evs = [events(r) for r in runs]
    run_report(runs[0], evs[0], {}, d / "reports")
    set_report(runs, evs, {}, d / "reports")


def test_every_output_is_free_of_empty_parameter_artifacts(outputs):
    assert {name: artifacts(text) for name, text in outputs.items() if artifacts(text)} == {}
    assert {"reports/summary.md", "reports/report.md", "compare/compare.md"} <= set(outputs)


def test_the_outputs_still_say_what_they_should(outputs):
    assert "encoding: const_xor(3, 5): tokens (3, 5) -> class 6" in outputs["show const_xor"]
    assert "encoding: const_flip(3): tokens (3) -> class 4" in outputs["show const_flip"]
    assert "encoding: (1, 2) -> tokens (1, 2) -> class 0" in outputs["show const_bare"]
    for name in ("show const_xor", "show const_bare"):
        assert "  parameters: none" in outputs[name]
    assert "  symmetries: none" in outputs["show const_bare"]
    assert outputs["reports/report.md"].startswith("# const_xor, seed 0\n")
    assert "| task | const_xor |" in outputs["reports/report.md"]
    assert outputs["reports/summary.md"].startswith("# Summary: const_xor, const_flip\n")
    assert outputs["compare/compare.md"].startswith("# const_xor: epochs to test accuracy")
    assert outputs["augment"].startswith("const_xor, train_frac 0.5, seed 0, 64 inputs")
    assert "const_xor/sym_commutativity" in outputs["sweep"]
    line = next(r for r in outputs["tasks"].splitlines() if r.startswith("const_bare "))
    assert line.split() == ["const_bare", "algebraic", "noparam", "x&y"]


def test_errors_about_a_parameterless_task_name_it_cleanly():
    with pytest.raises(TooLargeError) as err:
        len(Huge())
    assert str(err.value).startswith("Task 'const_huge' has ") and not artifacts(str(err.value))
    assert repr(ConstXor()) == "<Task const_xor()>"  # a call with no arguments: the one right "()"


def test_a_single_slot_example_has_no_dangling_comma():
    assert Flip().encoding_example == "const_flip(3): tokens (3) -> class 4"
    assert ConstXor().encoding_example == "const_xor(3, 5): tokens (3, 5) -> class 6"
