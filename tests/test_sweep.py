"""``symreg sweep``: spec validation, point naming, planning, the local pool and Ray.

The sweeps here are tiny (p = 7 or 11, a 32-wide transformer, tens of epochs);
the Ray tests start a real local Ray instance and are skipped where Ray is not installed.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from symreg.cli import cli
from symreg.errors import UsageError
from symreg.experiments.sweeps import load_spec, parse_spec, point_name, point_state, prepare, sweep_points

TRAIN = """
[train]
epochs = {epochs}
eval_every = 10
violation_samples = 16
checkpoint_every_s = 0.0
model_sizes = {{ d_model = 32, n_heads = 2, d_head = 16, d_mlp = 64 }}
"""


def spec_text(tasks: str, epochs: int = 20, head: str = 'seeds = "0-1"') -> str:
    return head + "\n" + TRAIN.format(epochs=epochs) + tasks


TWO = """
[[task]]
name = "mod_add"
params = { p = 7 }
methods = ["baseline", "sym:commutativity"]
"""

DIVERGES = """
[[task]]
name = "mod_sub"
params = { p = 7 }
train = { lr = 1e30 }
"""


def write(tmp_path, text: str, name: str = "spec.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def invoke(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def error_of(text: str) -> str:
    with pytest.raises(UsageError) as info:
        parse_spec(text, "s.toml")
    msg = str(info.value)
    assert msg.startswith("s.toml: ") and "\n" not in msg
    return msg


# --- validation ----------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ('epoch = 3\n[[task]]\nname = "mod_add"', ["Unknown key in the spec: 'epoch'", "seeds", "task"]),
    ('[train]\nepoch = 3\n[[task]]\nname = "mod_add"',
     ["Unknown key in [train]: 'epoch'", "Did you mean 'epochs'"]),
    ('[[task]]\nname = "mod_add"\n[task.train]\nlrr = 1', ["[task.train] of [[task]] #1 (mod_add)", "'lrr'", "'lr'"]),
    ('[[task]]\nname = "mod_add"\nparam = { p = 7 }', ["Unknown key in [[task]] #1: 'param'", "'params'"]),
    ('[[task]]\nname = "mod_ad"', ["Unknown task in [[task]] #1: 'mod_ad'", "Did you mean 'mod_add'"]),
    ('[[task]]\nname = "mod_add"\nparams = { q = 7 }', ["params of [[task]] #1 (mod_add)", "'q'", "Available: p."]),
    ('[[task]]\nname = "mod_add"\nparams = { p = "seven" }', ["p='seven'", "mod_add", "int"]),
    ('[[task]]\nname = "mod_add"\nparams = { p = [] }', ["params p = [] is empty"]),
    ('methods = ["baseline", "sym:triangle"]\n[[task]]\nname = "mod_add"\nparams = { p = 7 }',
     ["Unknown method for task 'mod_add': 'sym:triangle'", "sym:commutativity"]),
    ('methods = "baseline"\n[[task]]\nname = "mod_add"', ["methods = 'baseline' must be a non-empty list"]),
    ('seeds = "0-x"\n[[task]]\nname = "mod_add"', ["seeds:", "'0-x'", "0-19"]),
    ('seeds = [1, 1]\n[[task]]\nname = "mod_add"', ["seeds = [1, 1]", "distinct"]),
    ('seeds = -2\n[[task]]\nname = "mod_add"', ["seeds = -2"]),
    ('[[task]]\nname = "mod_add"\nseeds = "3-1"', ["[[task]] #1 (mod_add): seeds"]),
    ('preset = "fast"\n[[task]]\nname = "mod_add"', ["preset = 'fast' is not one of paper, quick"]),
    ('[train]\nepochs = "ten"\n[[task]]\nname = "mod_add"', ["[train] epochs = 'ten' must be of type int"]),
    ('[train]\nstop_on_generalize = 1\n[[task]]\nname = "mod_add"', ["stop_on_generalize = 1 must be of type bool"]),
    ('[train]\ntrain_frac = 1.5\n[[task]]\nname = "mod_add"', ["train_frac = 1.5 must be a finite number in [0.01, 1)"]),
    ('name = "a b"\n[[task]]\nname = "mod_add"', ["name = 'a b'"]),
    ('seeds = "0-1"', ["no [[task]] table"]),
    ('[task]\nname = "mod_add"', ["write [[task]], not [task]"]),
    ('[[task]]\nname = "mod_add"\n[[task]]\nname = "mod_add"', ["[[task]] #1 (mod_add) and [[task]] #2 (mod_add) both give point mod_add-p97/baseline", "label"]),
    ('[[task]\nname = "x"', ["not valid TOML"]),
])
def test_spec_errors_are_one_line_and_name_the_bad_key_or_value(text, expected):
    msg = error_of(text)
    for part in expected:
        assert part in msg, msg


def test_a_bad_spec_is_a_one_line_cli_error_with_status_2(tmp_path):
    result = invoke("sweep", "run", write(tmp_path, '[[task]]\nname = "mod_ad"'), "--out", tmp_path / "o")
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and result.output.startswith("Error: ")
    assert "Did you mean 'mod_add'" in result.output and not (tmp_path / "o").exists()


def test_ray_backend_without_ray_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    result = invoke("sweep", "run", write(tmp_path, spec_text(TWO)), "--out", tmp_path / "o", "--backend", "ray")
    assert result.exit_code == 2 and "pip install 'symreg[ray]'" in result.output
    assert not (tmp_path / "o").exists()


# --- naming and planning -------------------------------------------------------------
def test_point_names_come_from_content_only():
    assert point_name("mod_add", {"p": 97}, "sym:commutativity") == "mod_add-p97/sym_commutativity"
    assert point_name("graph_grid2d", {"rows": 5, "cols": 5}, "baseline") == "graph_grid2d-rows5-cols5/baseline"
    assert point_name("mod_add", {"p": 7}, "sym:commutativity+sym:associativity", "wd0") == \
        "mod_add-p7-wd0/sym_commutativity_sym_associativity"
    a = parse_spec(spec_text(TWO)).points
    b = parse_spec(spec_text(TWO)).points
    assert [p.name for p in a] == [p.name for p in b] == ["mod_add-p7/baseline", "mod_add-p7/sym_commutativity"]


def test_plan_is_tasks_x_param_grid_x_methods_with_overrides():
    text = spec_text("""
[[task]]
name = "mod_add"
params = { p = [7, 11] }
methods = ["baseline", "grokfast"]
[task.train]
epochs = 33
[[task]]
name = "graph_grid2d"
label = "wd0"
seeds = [5]
preset = "paper"
train = { weight_decay = 0.0 }
""", head='seeds = "0-2"\nmethods = ["baseline"]')
    points = parse_spec(text).points
    assert [p.name for p in points] == [
        "mod_add-p7/baseline", "mod_add-p7/grokfast", "mod_add-p7/baseline_lr_3",
        "mod_add-p11/baseline", "mod_add-p11/grokfast", "mod_add-p11/baseline_lr_3",
        "graph_grid2d-rows7-cols7-wd0/baseline"]
    by = {p.name: p for p in points}
    assert by["mod_add-p7/grokfast"].train["grokfast"] == "ema" and by["mod_add-p7/grokfast"].train["epochs"] == 33
    assert by["mod_add-p11/baseline_lr_3"].train["lr"] == pytest.approx(3e-3)
    assert by["mod_add-p7/baseline"].seeds == [0, 1, 2] and by["mod_add-p7/baseline"].train["train_frac"] == 0.5
    g = by["graph_grid2d-rows7-cols7-wd0/baseline"]
    assert g.seeds == [5] and g.preset == "paper" and g.train["weight_decay"] == 0.0 and g.train["epochs"] == 20
    assert g.train["train_frac"] == 0.8 and g.train["model_sizes"]["d_model"] == 32  # paper preset, [train] sizes


def test_example_specs_are_valid():
    root = Path(__file__).parent.parent / "examples" / "sweeps"
    counts = {p.stem: len(load_spec(p).points) for p in sorted(root.glob("*.toml"))}
    assert counts == {"acceleration": 15, "acceleration_cpu": 15,
                      "paper_reproduction": 14, "paper_reproduction_cpu": 14}
    assert {p.task for p in load_spec(root / "paper_reproduction.toml").points} == {
        "mod_add", "mod_sub", "mod_sum_sq", "mod_sum_cube", "mod_mul", "mod_xy_plus", "graph_grid2d",
        "graph_grid3d", "graph_cycle", "graph_path", "graph_cylinder", "graph_hypercube", "compare_2d", "compare_3d"}


def test_a_rerun_that_changes_a_point_is_refused_and_new_points_are_added(tmp_path):
    out = tmp_path / "sweep"
    prepare(out, parse_spec(spec_text(TWO)))
    with pytest.raises(UsageError, match=r"mod_add-p7/baseline .* differs .*train.epochs 20 -> 30"):
        prepare(out, parse_spec(spec_text(TWO, epochs=30)))
    with pytest.raises(UsageError, match=r"seeds \[0, 1\] -> \[0, 1, 2\]"):
        prepare(out, parse_spec(spec_text(TWO, head='seeds = "0-2"')))
    prepare(out, parse_spec(spec_text(TWO + DIVERGES)))
    sweep = json.loads((out / "sweep.json").read_text())
    assert [p["name"] for p in sweep["points"]] == ["mod_add-p7/baseline", "mod_add-p7/sym_commutativity",
                                                    "mod_sub-p7/baseline"]
    assert len(sweep["specs"]) == 2 and "mod_sub" in sweep["specs"][1]["text"]


def test_dry_run_writes_nothing(tmp_path):
    result = invoke("sweep", "run", write(tmp_path, spec_text(TWO)), "--out", tmp_path / "o", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "run   pending     mod_add-p7/sym_commutativity" in result.output
    assert not (tmp_path / "o").exists()


def test_a_dry_run_refuses_a_huge_point_or_grid_fast_and_writes_nothing(tmp_path, monkeypatch):
    huge = '[[task]]\nname = "mod_add"\nparams = { p = [7, 1000003, 2000003] }\n'
    start = time.perf_counter()
    result = invoke("sweep", "run", write(tmp_path, spec_text(huge)), "--out", tmp_path / "o", "--dry-run")
    assert result.exit_code == 2 and "p=1000003" in result.output and "GiB" in result.output, result.output
    assert time.perf_counter() - start < 10 and not (tmp_path / "o").exists()
    many = '[[task]]\nname = "mod_add"\nparams = { p = [5, 7, 11] }\nmethods = ["baseline", "sym:commutativity"]\n'
    monkeypatch.setenv("SYMREG_MAX_POINTS", "5")
    result = invoke("sweep", "run", write(tmp_path, spec_text(many)), "--out", tmp_path / "o", "--dry-run")
    assert result.exit_code == 2 and "6 points, more than the limit of 5" in result.output, result.output
    monkeypatch.setenv("SYMREG_MAX_POINTS", "6")
    assert invoke("sweep", "run", write(tmp_path, spec_text(many)), "--out", tmp_path / "o", "--dry-run").exit_code == 0
    seeds = '[[task]]\nname = "mod_add"\nparams = { p = 5 }\nseeds = "0-20"\n'
    monkeypatch.setenv("SYMREG_MAX_SEEDS", "20")
    result = invoke("sweep", "run", write(tmp_path, spec_text(seeds)), "--out", tmp_path / "o", "--dry-run")
    assert result.exit_code == 2 and "[[task]] #1 (mod_add): " in result.output
    assert "21 seeds is more than the limit of 20" in result.output
    assert not (tmp_path / "o").exists()


def test_a_second_driver_on_the_same_sweep_is_refused(tmp_path):
    from symreg.experiments.sweep_driver import sweep_lock

    out = tmp_path / "o"
    spec = write(tmp_path, spec_text(TWO))
    prepare(out, load_spec(spec))
    with sweep_lock(out):
        result = invoke("sweep", "run", spec, "--out", out)
    assert result.exit_code == 2 and f"Sweep {out} is being run by process {os.getpid()}" in result.output


# --- running -------------------------------------------------------------------------
def test_local_sweep_end_to_end_failure_recorded_rerun_skips_and_summary(tmp_path):
    out = tmp_path / "sweep"
    spec = write(tmp_path, spec_text(TWO + DIVERGES))
    result = invoke("sweep", "run", spec, "--out", out, "--workers", "2")
    assert result.exit_code == 1, result.output  # one point failed
    assert "mod_sub-p7/baseline FAILED: nan: " in result.output
    assert "2 done, 1 failed" in result.output
    for method in ("baseline", "sym_commutativity"):
        batch = out / "mod_add-p7" / method
        assert json.loads((batch / "batch.json").read_text())["seeds"] == [0, 1]
        assert all(json.loads((batch / f"seed-{s}" / "status.json").read_text())["state"] == "done" for s in (0, 1))
    failed = json.loads((out / "mod_sub-p7" / "baseline" / "failed.json").read_text())
    assert failed["kind"] == "nan" and failed["point"] == "mod_sub-p7/baseline"
    assert "non-finite train loss" in failed["error"]
    status = invoke("sweep", "status", out)
    assert status.exit_code == 0
    lines = status.output.splitlines()
    assert lines[0].split()[:3] == ["done", "mod_add-p7/baseline", "2/2"]
    assert lines[2].startswith("failed") and "mod_sub-p7/baseline" in lines[2] and "nan: " in lines[2]
    assert lines[-1] == "spec: 3 points: 2 done, 1 failed"
    before = (out / "mod_add-p7" / "baseline" / "seed-0" / "metrics.jsonl").read_text()
    again = invoke("sweep", "run", spec, "--out", out)
    assert "3 points, 0 to run; skipping 2 done, 0 running elsewhere, 1 failed (--retry-failed" in again.output
    assert (out / "mod_add-p7" / "baseline" / "seed-0" / "metrics.jsonl").read_text() == before
    summary = invoke("sweep", "summary", out)
    assert summary.exit_code == 0, summary.output
    assert "| mod_add-p7 | sym:commutativity | " in summary.output
    data = json.loads((out / "summary.json").read_text())
    assert {(r["group"], r["method"]) for r in data["rows"]} == {("mod_add-p7", "baseline"),
                                                                 ("mod_add-p7", "sym:commutativity")}
    assert any("mod_sub-p7/baseline: failed" in n for n in data["notes"])
    assert {k: len(v) for k, v in data["events"].items()} == {"mod_add-p7/baseline": 2, "mod_add-p7/sym_commutativity": 2}
    assert (out / "summary.md").exists()
    assert all((out / p).exists() for p in data["plots"].values())


def test_nan_train_loss_marks_the_point_failed(tmp_path, monkeypatch):
    import symreg.train.trainer
    from symreg.experiments.backends import run_point

    real = symreg.train.trainer.evaluate

    def nan_for_seed_1(*args, **kw):
        rows = real(*args, **kw)
        rows[1]["train_loss"] = float("nan")
        return rows

    monkeypatch.setattr(symreg.train.trainer, "evaluate", nan_for_seed_1)
    out = tmp_path / "sweep"
    prepare(out, parse_spec(spec_text(TWO.replace('"baseline", ', ""), epochs=10)))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # in this process, as a sweep worker has it (2 threads crawl on a busy machine)
    try:
        state = run_point(out, "mod_add-p7/sym_commutativity")
    finally:
        torch.set_num_threads(threads)
    assert state["state"] == "failed" and state["seeds_done"] == 1  # seed 1 stopped, diverged; seed 0 went on
    status = json.loads((out / "mod_add-p7" / "sym_commutativity" / "seed-1" / "status.json").read_text())
    assert status["state"] == "diverged" and status["epoch"] == 0
    failed = json.loads((out / "mod_add-p7" / "sym_commutativity" / "failed.json").read_text())
    assert failed["kind"] == "nan" and failed["seeds"] == [1] and "seed 1 from epoch 0" in failed["error"]


def test_a_dead_worker_is_recorded_as_killed(tmp_path):
    from symreg.experiments.backends import Tally, settle

    out = tmp_path / "sweep"
    (pt,) = prepare(out, parse_spec(spec_text(TWO.replace('"baseline", ', ""))))
    lines = []
    settle(out, pt, -signal.SIGKILL, "worker process 123", "log", Tally(1, lines.append))
    assert point_state(out, pt)["message"] == "killed: worker process 123 was killed by SIGKILL"
    assert "FAILED: killed" in lines[0]


def _wait_for_lock(path: Path, epoch: int = 20, timeout: float = 300, run: Path | None = None) -> int:
    """The pid holding the lock ``path``, once the run ``run`` (default: the lock's directory) has
    checkpointed ``epoch``; a batch's seeds share one lock, ``BATCH/.lock``."""
    end = time.time() + timeout
    while time.time() < end:
        if path.exists() and path.read_text().startswith("process "):
            status = (run or path.parent) / "status.json"
            if status.exists() and json.loads(status.read_text()).get("epoch", 0) >= epoch:
                return int(path.read_text().split()[1])
        time.sleep(0.2)
    raise AssertionError(f"{path} was never locked at epoch {epoch}")


@pytest.mark.slow  # waits on real processes; timing-sensitive on a loaded 2-core machine
def test_kill_9_of_a_local_worker_fails_that_point_only_and_retry_resumes_it(tmp_path):
    """A real kill -9 of a worker mid-run: its point is failed, the other finishes; --retry-failed
    resumes it from its last checkpoint, and a Ctrl-C of that driver leaves it interrupted."""
    out = tmp_path / "sweep"
    long = '\n[[task]]\nname = "mod_sub"\nparams = { p = 11 }\ntrain = { epochs = 100000 }\n'
    spec = write(tmp_path, spec_text(TWO.replace('"baseline", ', "") + long))
    cmd = [sys.executable, "-m", "symreg", "sweep", "run", str(spec), "--out", str(out), "--workers", "2"]
    driver = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lock, seed0 = out / "mod_sub-p11" / "baseline" / ".lock", out / "mod_sub-p11" / "baseline" / "seed-0"
    os.kill(_wait_for_lock(lock, run=seed0), signal.SIGKILL)
    output, _ = driver.communicate(timeout=300)
    assert driver.returncode == 1, output
    assert "mod_sub-p11/baseline FAILED: killed: worker process" in output and "SIGKILL" in output
    points = {p.name: point_state(out, p) for p in sweep_points(out)}
    assert points["mod_add-p7/sym_commutativity"]["state"] == "done"
    assert points["mod_sub-p11/baseline"]["state"] == "failed"
    killed_at = points["mod_sub-p11/baseline"]["epoch"]

    retry = subprocess.Popen(cmd + ["--retry-failed"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    _wait_for_lock(lock, epoch=killed_at + 20, run=seed0)
    retry.send_signal(signal.SIGINT)  # Ctrl-C: the driver passes it on to its worker
    output, _ = retry.communicate(timeout=300)
    assert retry.returncode == 130, output
    assert "resuming (old error kept in failed-1.json)" in output and "Interrupted; run the same command again" in output
    batch = out / "mod_sub-p11" / "baseline"
    assert (batch / "failed-1.json").exists() and not (batch / "failed.json").exists()
    assert point_state(out, sweep_points(out)[1])["state"] == "interrupted"
    for s in (0, 1):
        status = json.loads((batch / f"seed-{s}" / "status.json").read_text())
        epochs = [json.loads(line)["epoch"] for line in (batch / f"seed-{s}" / "metrics.jsonl").open()]
        assert status["state"] == "interrupted" and status["epoch"] > killed_at
        assert epochs == list(range(0, epochs[-1] + 1, 10))  # resumed: nothing repeated or lost
    assert json.loads((out / "mod_add-p7" / "sym_commutativity" / "seed-0" / "status.json").read_text())["state"] == "done"


# --- Ray -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ray_local():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=1, include_dashboard=False, logging_level="WARNING")
    yield ray
    ray.shutdown()


def test_ray_backend_runs_a_tiny_sweep_on_a_real_local_instance(tmp_path, ray_local):
    out = tmp_path / "sweep"
    result = invoke("sweep", "run", write(tmp_path, spec_text(TWO, epochs=10)), "--out", out, "--backend", "ray")
    assert result.exit_code == 0, result.output
    assert "2 done, 0 failed" in result.output
    assert [point_state(out, p)["state"] for p in sweep_points(out)] == ["done", "done"]
    assert ray_local.is_initialized()  # it used the running instance rather than starting another


@pytest.mark.slow
def test_kill_9_of_a_ray_worker_fails_that_point_only(tmp_path, ray_local):
    from symreg.experiments.backends import Tally, run_ray

    out = tmp_path / "sweep"
    long = '\n[[task]]\nname = "mod_sub"\nparams = { p = 11 }\ntrain = { epochs = 100000 }\n'
    points = prepare(out, parse_spec(spec_text(long + TWO.replace('"baseline", ', ""), epochs=10)))
    lines: list[str] = []
    thread = threading.Thread(target=run_ray, args=(out, points, None, 1, Tally(2, lines.append)))
    thread.start()
    batch = out / "mod_sub-p11" / "baseline"
    os.kill(_wait_for_lock(batch / ".lock", run=batch / "seed-0"), signal.SIGKILL)
    thread.join(timeout=300)
    states = {p.name: point_state(out, p) for p in points}
    assert states["mod_sub-p11/baseline"]["state"] == "failed", lines
    assert states["mod_sub-p11/baseline"]["message"].startswith("killed: Ray task failed: WorkerCrashedError")
    assert states["mod_add-p7/sym_commutativity"]["state"] == "done", lines
