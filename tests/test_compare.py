"""``symreg compare``: method parsing, the seed-aware summary, and a real end-to-end run."""
from __future__ import annotations

import json
import math

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from symreg import get_task
from symreg.cli import cli
from symreg.errors import UsageError
from symreg.experiments.comparison import configure, expand_methods, method_names, quartiles, summarize
from symreg.train.trainer import TrainConfig
from tests.helpers import TINY

epochs_or_never = st.lists(st.one_of(st.none(), st.integers(1, 10_000)), min_size=1, max_size=7)


@given(epochs_or_never, epochs_or_never, st.integers(10_000, 100_000))
def test_speedup_bound_holds_whatever_never_would_have_been(base, method, late):
    """A run that never generalized within the cap would have taken some ``late >= cap`` epochs;
    the reported speed-up (or its bound) must hold for every such ``late``."""
    cap = 10_000
    row = summarize({"baseline": base, "m": method}, cap=cap)[1]
    assert row["solved"] + row["never"] == len(method)
    if row["speedup"] is None:
        return
    fill = lambda xs: [late if e is None else e for e in xs]  # noqa: E731
    true = summarize({"baseline": fill(base), "m": fill(method)})[1]["speedup"]
    if row["speedup_bound"] is None:
        assert row["speedup"] == true
    elif row["speedup_bound"] == ">":
        assert true >= row["speedup"] - 1e-3
    else:
        assert true <= row["speedup"] + 1e-3


def test_a_baseline_that_never_generalizes_gives_a_lower_bound():
    rows = summarize({"baseline": [None, None, None], "sym": [400, 300, 350]}, cap=4000)
    assert rows[1]["speedup"] == pytest.approx(4000 / 350, abs=1e-3) and rows[1]["speedup_bound"] == ">"
    assert summarize({"baseline": [None], "sym": [None]}, cap=4000)[1]["speedup"] is None


def test_grokfast_brings_its_learning_rate_matched_baseline():
    task, base = get_task("mod_add", p=11), TrainConfig()
    methods = expand_methods(task, ["baseline", "grokfast"], base)
    assert methods == ["baseline", "grokfast", "baseline@lr*3"]
    assert configure(task, "baseline@lr*3", base).lr == pytest.approx(3 * base.lr)
    both = configure(task, "sym:commutativity+geom:nuclear", base)
    assert both.aux == ["sym:commutativity", "geom:nuclear"] and base.aux == []


def test_unknown_method_lists_the_valid_ones():
    task = get_task("graph_path", n=5)
    with pytest.raises(UsageError) as err:
        expand_methods(task, ["baseline", "sym:commutativity"], TrainConfig())
    msg = str(err.value)
    assert "'sym:commutativity'" in msg and "sym:triangle" in msg and "\n" not in msg
    assert set(method_names(task)) >= {"baseline", "grokfast", "augment", "sym:triangle", "geom:nuclear"}


def test_cli_bad_method_is_one_line_exit_2(tmp_path):
    result = CliRunner().invoke(cli, ["compare", "mod_add", "-P", "p=11", "--methods", "baseline,sym:nope",
                                      "--out", str(tmp_path / "c")])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "sym:nope" in lines[0] and "sym:commutativity" in lines[0]


def test_cli_compare_end_to_end_and_rerun_skips_finished_methods(tmp_path):
    out = tmp_path / "c"
    common = ["--methods", "baseline,sym:commutativity", "--epochs", "20", "--eval-every", "10",
              "--set", f"model_sizes={TINY}", "--json", "--out", str(out)]
    args = ["compare", "mod_add", "-P", "p=11", "--seeds", "0-1", *common]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    summary = json.loads(first.output)
    assert [m["method"] for m in summary["methods"]] == ["baseline", "sym:commutativity"]
    assert all(len(m["epochs"]) == 2 for m in summary["methods"])
    for name in ("compare.json", "compare.md", "test_accuracy.png"):
        assert (out / name).stat().st_size > 0
    metrics = (out / "baseline" / "seed-0" / "metrics.jsonl").read_text()
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 0, again.output
    assert json.loads(again.output)["methods"] == summary["methods"]
    assert (out / "baseline" / "seed-0" / "metrics.jsonl").read_text() == metrics  # not retrained
    assert all(m["solved"] + m["never"] == 2 and m["solved"] == sum(e is not None for e in m["epochs"])
               for m in summary["methods"])
    for change in (["-P", "p=13", "--seeds", "0-1"], ["-P", "p=11", "--seeds", "0-2"],
                   ["-P", "p=11", "--seeds", "0-1", "--set", "weight_decay=0.5"]):  # a key given twice is refused
        clash = CliRunner().invoke(cli, ["compare", "mod_add", *change, *common])
        assert clash.exit_code == 2, clash.output
        assert "choose another --out" in clash.output and len(clash.output.strip().splitlines()) == 1
    assert (out / "baseline" / "seed-0" / "metrics.jsonl").read_text() == metrics  # nothing overwritten


@given(epochs_or_never)
def test_quartiles_are_never_nan_and_match_statistics_without_nevers(epochs):
    import statistics

    q = quartiles(epochs)
    if len(epochs) < 2:
        assert q is None
        return
    assert all(v is None or not math.isnan(v) for v in q)
    if None not in epochs:
        want = statistics.quantiles(epochs, n=4, method="inclusive")
        assert q == pytest.approx([want[0], want[2]])
    else:
        assert q[1] is None or q[1] <= max(e for e in epochs if e is not None)


def test_an_interrupted_comparison_exits_130_and_names_the_command_that_continues_it(tmp_path):
    """SIGTERM (or Ctrl-C) mid-comparison: exit status 130 and the re-run command, as `symreg train` does;
    that command resumes the interrupted method and finishes."""
    import shlex
    import signal
    import subprocess
    import sys

    out = tmp_path / "cmp"
    args = ["compare", "mod_add", "-P", "p=11", "--methods", "baseline", "--seeds", "0-1", "--epochs", "400",
            "--eval-every", "10", "--set", f"model_sizes={TINY}", "--device", "cpu", "--out", str(out)]
    proc = subprocess.Popen([sys.executable, "-m", "symreg", *args], stderr=subprocess.PIPE, text=True)
    line = proc.stderr.readline()
    while line and "epoch 0/400" not in line:  # off a terminal, epoch 0's progress line comes at once
        line = proc.stderr.readline()
    assert line, "the comparison never reported epoch 0"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    hint = err.strip().splitlines()[-1]
    assert hint.startswith("Interrupted (baseline, epoch ") and "; continue with: symreg compare mod_add " in hint
    assert json.loads((out / "baseline" / "seed-0" / "status.json").read_text())["state"] == "interrupted"
    again = shlex.split(hint.split("; continue with: ", 1)[1])
    assert again[:2] == ["symreg", "compare"] and again[-2:] == ["--out", str(out)]
    done = CliRunner().invoke(cli, [*again[1:], "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads((out / "baseline" / "seed-1" / "status.json").read_text())["state"] == "done"
