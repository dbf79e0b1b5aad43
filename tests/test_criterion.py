"""One generalization criterion, read from each run's own config; run and batch directories on disk.

The run directories here are written by hand, file by file, in the format the
trainer writes (config.json, status.json, metrics.jsonl, batch.json), so the
readers are checked against the on-disk format and not against the writer.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from symreg.diagnose import Thresholds, events
from symreg.errors import UsageError
from symreg.runs import (
    GENERALIZE_ACC,
    BatchDir,
    RunDir,
    find_runs,
    generalization_epoch,
    load_runs,
    run_paths,
    run_threshold,
)


def write_run(d: Path, seed: int, gen_at: int, peak: float = 0.95, generalize_acc: float | None = 0.9,
              last: int = 100) -> Path:
    """A finished run whose held-out test accuracy jumps from 0.1 to ``peak`` at epoch ``gen_at``."""
    d.mkdir(parents=True)
    train = {"epochs": last, "eval_every": 10, "model": "transformer"}
    if generalize_acc is not None:
        train["generalize_acc"] = generalize_acc
    (d / "config.json").write_text(json.dumps({"task": "mod_add", "params": {"p": 5}, "seed": seed,
                                               "train": train}))
    rows = [{"epoch": e, "train_acc": 1.0 if e >= 20 else 0.5, "test_acc": peak if e >= gen_at else 0.1,
             "violation_max": {"commutativity": 1e-5 if e >= gen_at else 1.0}, "eff_dim": 4}
            for e in range(0, last + 1, 10)]
    (d / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (d / "status.json").write_text(json.dumps({"state": "done", "epoch": last, "generalized_epoch": gen_at}))
    return d


def write_batch(d: Path, gens: list[int], **kw) -> Path:
    for seed, gen in enumerate(gens):
        write_run(d / f"seed-{seed}", seed, gen, **kw)
    (d / "batch.json").write_text(json.dumps({"task": "mod_add", "seeds": list(range(len(gens))),
                                              "runs": [f"seed-{s}" for s in range(len(gens))]}))
    return d


# --- the criterion ------------------------------------------------------------------------
def test_a_run_is_judged_by_the_threshold_it_was_trained_with(tmp_path):
    own = write_run(tmp_path / "own", 0, gen_at=50)  # trained with 0.9, reaches 0.95
    old = write_run(tmp_path / "old", 1, gen_at=50, generalize_acc=None)  # written before the setting
    (a, b), _ = load_runs([own, old])
    assert (a.generalize_acc, b.generalize_acc) == (0.9, GENERALIZE_ACC)
    assert generalization_epoch(a) == 50 and generalization_epoch(b) is None
    assert generalization_epoch(a, 0.99) is None and generalization_epoch(b, 0.9) == 50
    ev = events(a)
    assert ev["generalization"] == 50 and ev["thresholds"]["generalize_acc"] == 0.9
    assert events(a, Thresholds(generalize_acc=0.99))["generalized"] is False
    assert events(b)["thresholds"]["generalize_acc"] == 0.99


def test_bad_thresholds_are_usage_errors_naming_the_value():
    with pytest.raises(UsageError, match=r"generalize_acc = 1.5 must be in \[0, 1\]"):
        Thresholds(generalize_acc=1.5)
    with pytest.raises(UsageError, match=r"plateau = 0.5 must be at least 1"):
        Thresholds(plateau=0.5)
    assert run_threshold({"train": {"generalize_acc": 0.5}}) == 0.5


def test_a_sweep_trained_with_generalize_acc_0_9_is_summarised_with_0_9(tmp_path):
    """The sweep summary used to judge every run at 0.99 whatever its spec's [train] table said."""
    from symreg.cli import cli

    root = tmp_path / "sweep"
    point = {"name": "mod_add-p5/baseline", "task": "mod_add", "params": {"p": 5}, "method": "baseline",
             "seeds": [0, 1, 2], "preset": "quick", "train": {"generalize_acc": 0.9, "epochs": 100}, "label": ""}
    write_batch(root / point["name"], [30, 50, 70])
    (root / "sweep.json").write_text(json.dumps({"name": "lenient", "points": [point], "specs": []}))
    result = CliRunner().invoke(cli, ["sweep", "summary", str(root), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    (row,) = summary["rows"]
    assert (row["solved"], row["never"], row["median"]) == (3, 0, 50)
    assert all(e["thresholds"]["generalize_acc"] == 0.9 for e in summary["events"]["mod_add-p5/baseline"])
    md = (root / "summary.md").read_text()
    assert md.startswith("# Sweep lenient: epochs to test accuracy >= 0.9\n")
    assert "| mod_add-p5 | baseline | 3/3 | 50 |" in md


# --- run and batch directories --------------------------------------------------------------
def test_batch_json_is_written_as_before_and_read_back(tmp_path):
    write_batch(tmp_path / "b", [30, 50])
    before = (tmp_path / "b" / "batch.json").read_text()
    BatchDir.write(tmp_path / "b", "mod_add", [0, 1], ["seed-0", "seed-1"])
    after = (tmp_path / "b" / "batch.json").read_text()
    assert json.loads(after) == json.loads(before)
    assert after == json.dumps(json.loads(before), indent=2, sort_keys=True) + "\n"  # the trainer's format
    assert run_paths(tmp_path / "b") == [tmp_path / "b" / "seed-0", tmp_path / "b" / "seed-1"]
    assert run_paths(tmp_path / "b" / "seed-1") == [tmp_path / "b" / "seed-1"]
    assert run_paths(tmp_path / "nothing") == []
    assert BatchDir.is_batch(tmp_path / "b") and not RunDir.is_run(tmp_path / "b")


def test_an_unreadable_batch_json_falls_back_to_the_runs_inside(tmp_path):
    write_batch(tmp_path / "b", [30, 50])
    (tmp_path / "b" / "batch.json").write_text('{"seeds": [0, 1]}')
    with pytest.raises(UsageError, match="has no list of runs"):
        BatchDir(tmp_path / "b").run_paths()
    dirs, problems = find_runs([tmp_path / "b"])
    assert dirs == [tmp_path / "b" / "seed-0", tmp_path / "b" / "seed-1"]
    assert problems == [f"{tmp_path / 'b'}: batch.json is unreadable; looking for runs inside"]


def test_checkpoint_paths_are_named_in_one_place(tmp_path):
    rd = RunDir(tmp_path)
    assert rd.checkpoint_path("last") == tmp_path / "checkpoints" / "last.safetensors"
    assert rd.checkpoint_path(1000) == tmp_path / "checkpoints" / "epoch-00001000.safetensors"
    assert rd.checkpoint_path("20") == tmp_path / "checkpoints" / "epoch-00000020.safetensors"
    assert not rd.has_checkpoint()
    with pytest.raises(UsageError, match="Checkpoint 'best' must be 'last' or an epoch number"):
        rd.checkpoint_path("best")


# --- symreg diagnose -------------------------------------------------------------------------
@pytest.mark.parametrize("args, message", [
    (["--signal", "nope"], "Error: Unknown signal: 'nope'. Available: eff_dim, param_norm, train_loss, "
                           "violation, violation:commutativity."),
    (["--max-fpr", "2"], "Error: max_fpr = 2.0 must be a rate in [0, 1]."),
    (["--horizon", "0"], "Error: horizon = 0 must be a positive number of epochs."),
    (["--drop", "0"], "Error: drop = 0.0 must be positive (decades of fall)."),
])
def test_bad_diagnose_options_are_one_line_errors_and_write_nothing(tmp_path, args, message):
    from symreg.cli import cli

    write_batch(tmp_path / "b", [30, 50, 70, 90])
    result = CliRunner().invoke(cli, ["diagnose", str(tmp_path / "b"), *args])
    assert result.exit_code == 2 and message in result.output, result.output
    assert "Traceback" not in result.output
    assert not list(tmp_path.rglob("events.json"))


def test_diagnose_uses_each_runs_own_threshold_unless_given(tmp_path):
    from symreg.cli import cli

    write_batch(tmp_path / "b", [30, 50, 70, 90])
    result = CliRunner().invoke(cli, ["diagnose", str(tmp_path / "b"), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [e["generalization"] for e in data["runs"]] == [30, 50, 70, 90]
    assert data["early_warning"]["protocol"]["generalize_acc"] == 0.9
    written = json.loads((tmp_path / "b" / "seed-0" / "events.json").read_text())
    assert written["thresholds"]["generalize_acc"] == 0.9
    strict = CliRunner().invoke(cli, ["diagnose", str(tmp_path / "b"), "--json", "--generalize-acc", "0.99"])
    assert [e["generalized"] for e in json.loads(strict.output)["runs"]] == [False] * 4


def test_a_cut_off_last_line_is_skipped_and_a_damaged_line_is_an_error(tmp_path):
    run = write_run(tmp_path / "r", 0, gen_at=50)
    with (run / "metrics.jsonl").open("a") as f:
        f.write('{"epoch": 110, "tra')  # a crash mid-append: no newline
    rows, warning = RunDir(run).metrics()
    assert rows[-1]["epoch"] == 100 and "truncated write" in warning
    (run / "metrics.jsonl").write_text('{"epoch": 0}\n42\n{"epoch": 10}\n')
    with pytest.raises(UsageError, match=r"metrics.jsonl: line 2 is not a metrics row .*: '42'"):
        RunDir(run).metrics()
    runs, problems = load_runs([run])
    assert runs == [] and "line 2 is not a metrics row" in problems[0]
