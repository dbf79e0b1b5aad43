"""The trainer and its run directories: metrics, checkpoints, resume, batching, locking."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from symreg import get_task
from symreg.errors import UnknownNameError, UsageError
from symreg.runs.rundir import RunDir, read_metrics
from symreg.train.models import MLP, Transformer
from symreg.train.reference import ReferenceTransformer
from symreg.train.trainer import Trainer
from tests.helpers import TINY, metrics, run_interrupted, tiny_cfg


def test_fast_transformer_matches_the_all_positions_reference():
    task = get_task("mod_add", p=11)
    model = Transformer(task.vocab_size, task.arity, task.n_classes, [3, 4])
    x = torch.as_tensor(np.array(task.inputs()))
    fast = model(x.expand(2, -1, -1))
    for s in range(2):
        assert torch.allclose(fast[s], ReferenceTransformer(model, s)(x), atol=1e-5)


@pytest.mark.parametrize("cls", [Transformer, MLP])
def test_seed_k_of_a_batch_starts_like_a_single_seed(cls):
    task = get_task("compare_3d")
    batch, single = cls(task.vocab_size, 3, 2, [0, 7, 9]), cls(task.vocab_size, 3, 2, [7])
    for (name, p), (_, q) in zip(batch.named_parameters(), single.named_parameters()):
        assert torch.equal(p[1], q[0]), name


def test_run_directory_holds_config_metrics_split_and_checkpoints(tmp_path):
    task = get_task("mod_add", p=11)
    out = tmp_path / "run"
    summary = Trainer.fresh(task, tiny_cfg(), [3], out).run()
    assert summary[0]["run_dir"] == str(out)
    config = json.loads((out / "config.json").read_text())
    assert config["task"] == "mod_add" and config["params"] == {"p": 11} and config["seed"] == 3
    assert config["plugin"] == "algebraic" and config["symreg_version"]
    rows, warning = read_metrics(out / "metrics.jsonl")
    assert warning is None and [r["epoch"] for r in rows] == [0, 10, 20, 30]
    row = rows[-1]
    assert set(row["violation_max"]) == {"commutativity", "translation", "scaling", "associativity"}
    assert all(row["violation_max"][k] >= row["violation_mean"][k] >= 0 for k in row["violation_max"])
    assert 0 <= row["train_acc"] <= 1 and 1 <= row["eff_dim"] <= 32 and row["param_norm"] > 0
    split = np.load(out / "split.npy")
    assert len(split) == round(0.5 * 121) and np.all(np.diff(split) > 0)
    ckpts = RunDir(out).checkpoints()
    assert list(ckpts) == [0, 1, 2, 5, 10, 20, 30]
    tensors = load_file(ckpts[30])
    assert "model.W_E" in tensors and "opt.W_E.exp_avg" in tensors
    assert json.loads((out / "status.json").read_text())["state"] == "done"


@pytest.mark.parametrize("seed_chunk", [0, 1, 2])
def test_batched_seeds_match_single_seed_runs(tmp_path, seed_chunk):
    """Whether seeds share one pass or go in groups (seed_chunk), seed 5 runs as if alone."""
    task = get_task("mod_add", p=11)
    Trainer.fresh(task, tiny_cfg(seed_chunk=seed_chunk), [0, 5, 9], tmp_path / "batch").run()
    Trainer.fresh(task, tiny_cfg(), [5], tmp_path / "single").run()
    batch = read_metrics(tmp_path / "batch" / "seed-5" / "metrics.jsonl")[0]
    single = read_metrics(tmp_path / "single" / "metrics.jsonl")[0]
    for b, s in zip(batch, single):
        assert b["epoch"] == s["epoch"]
        for key in ("train_loss", "test_loss", "param_norm"):
            assert b[key] == pytest.approx(s[key], rel=1e-4, abs=1e-6), key
    assert json.loads((tmp_path / "batch" / "batch.json").read_text())["seeds"] == [0, 5, 9]


def test_resume_after_interrupt_is_bit_identical(tmp_path):
    task = get_task("mod_add", p=11)
    Trainer.fresh(task, tiny_cfg(epochs=40), [1], tmp_path / "straight").run()

    run_interrupted(task, tiny_cfg(epochs=40), [1], tmp_path / "broken", at_epoch=23)
    assert json.loads((tmp_path / "broken" / "status.json").read_text())["state"] == "interrupted"
    Trainer.resume(tmp_path / "broken").run()
    assert metrics(tmp_path / "straight") == metrics(tmp_path / "broken")


KILLED = """
import os, signal, sys, tempfile
import symreg.runs.rundir as rundir
from symreg.train import train

out, point = sys.argv[1], sys.argv[2]
armed = []


def kill(epoch, rows, trainer):  # a real SIGKILL at a known point: no timing involved
    if point == "before-checkpoint" and epoch == 0:  # row 0 is written, checkpoint 0 not yet
        os.kill(os.getpid(), signal.SIGKILL)
    if point == "between-checkpoints" and epoch == 300:  # the last checkpoint is epoch 200's
        os.kill(os.getpid(), signal.SIGKILL)
    if point == "writing-checkpoint" and epoch == 500:
        armed.append(epoch)


def write_atomic(path, data, real=rundir.write_atomic):  # epoch 500's checkpoint: killed half-way
    if armed and path.name == "last.safetensors":
        fd, _ = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        os.write(fd, data[: len(data) // 2])
        os.kill(os.getpid(), signal.SIGKILL)
    real(path, data)


rundir.write_atomic = write_atomic
train("mod_add", {"p": 11}, preset="paper", seeds=0, out=out, progress=kill, train_frac=0.5,
      epochs=600, eval_every=50, model_sizes=%r, checkpoint_every_s=1e9, device="cpu")
""" % TINY
KILL_ARGS = ["mod_add", "-P", "p=11", "--train-frac", "0.5", "--epochs", "600", "--eval-every", "50",
             "--set", f"model_sizes={TINY}", "--set", "checkpoint_every_s=1e9", "--device", "cpu", "-q"]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("straight") / "run"
    subprocess.run([sys.executable, "-m", "symreg", "train", *KILL_ARGS, "--out", str(out)], check=True,
                   capture_output=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    return out


@pytest.mark.parametrize("point, resumes_at", [("before-checkpoint", 0), ("between-checkpoints", 200),
                                               ("writing-checkpoint", 200)])
def test_resume_after_kill_9_is_bit_identical(tmp_path, uninterrupted, point, resumes_at):
    """A real process killed (by itself, at a known point) before its first checkpoint, between two, or
    half-way through writing one; ``--resume`` drops what came after the newest intact checkpoint (the
    metrics, a truncated metrics line, a half-written file) and ends like the uninterrupted run."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    killed = subprocess.run([sys.executable, "-c", KILLED, str(tmp_path / "killed"), point], capture_output=True,
                            env=env)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    run = tmp_path / "killed"
    assert json.loads((run / "status.json").read_text())["state"] == "running"
    newest = RunDir(run).find_checkpoint()[1]
    assert (newest["epoch"] if newest else 0) == resumes_at
    assert bool(list((run / "checkpoints").glob(".last.safetensors.*"))) == (point == "writing-checkpoint")
    with open(run / "metrics.jsonl", "a") as f:
        f.write('{"epoch": 99999, "trunc')  # what a kill mid-write leaves
    resumed = subprocess.run([sys.executable, "-m", "symreg", "train", "--resume", str(run), "-q"],
                             capture_output=True, text=True, env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert ("no checkpoint yet" in resumed.stderr) == (point == "before-checkpoint"), resumed.stderr
    a, b = metrics(uninterrupted), metrics(run)
    assert len(a) == 13 and a == b
    for key, value in load_file(RunDir(uninterrupted).checkpoint_path("last")).items():
        assert torch.equal(value, load_file(RunDir(run).checkpoint_path("last"))[key]), key
    assert not list((run / "checkpoints").glob(".*"))  # the half-written file is gone
    assert json.loads((run / "status.json").read_text())["state"] == "done"


def test_a_second_writer_is_refused(tmp_path):
    task = get_task("mod_add", p=11)
    trainer = Trainer.fresh(task, tiny_cfg(), [0], tmp_path / "run")
    assert RunDir(tmp_path / "run").is_locked()
    with pytest.raises(UsageError, match="is being written by process"):
        Trainer.resume(tmp_path / "run")
    trainer.run()
    assert not RunDir(tmp_path / "run").is_locked()


def test_existing_run_directory_is_never_overwritten(tmp_path):
    task = get_task("mod_add", p=11)
    Trainer.fresh(task, tiny_cfg(epochs=5), [0], tmp_path / "run").run()
    before = (tmp_path / "run" / "metrics.jsonl").read_text()
    with pytest.raises(UsageError, match="already exists and is not empty"):
        Trainer.fresh(task, tiny_cfg(), [0], tmp_path / "run")
    assert (tmp_path / "run" / "metrics.jsonl").read_text() == before


def test_stop_on_generalize_stops_each_seed_at_its_own_epoch(tmp_path):
    task = get_task("mod_add", p=11)
    cfg = tiny_cfg(epochs=3000, eval_every=25, stop_on_generalize=True, generalize_acc=0.3,
                   train_frac=0.6, lr=3e-3)
    summary = Trainer.fresh(task, cfg, [0, 1], tmp_path / "b").run()
    for s in summary:
        assert s["generalized_epoch"] is not None and s["epochs"] == s["generalized_epoch"]
        rows = read_metrics(tmp_path / "b" / f"seed-{s['seed']}" / "metrics.jsonl")[0]
        assert rows[-1]["epoch"] == s["epochs"] and rows[-1]["test_acc"] >= 0.3


def test_minibatch_training_runs_and_resumes_identically(tmp_path):
    task = get_task("mod_add", p=11)
    cfg = dict(batch_size=16, epochs=12, eval_every=4)
    Trainer.fresh(task, tiny_cfg(**cfg), [2], tmp_path / "a").run()
    run_interrupted(task, tiny_cfg(**cfg), [2], tmp_path / "b", at_epoch=7)
    Trainer.resume(tmp_path / "b").run()
    assert metrics(tmp_path / "a") == metrics(tmp_path / "b")


@pytest.mark.parametrize("name", ["mod_add", "graph_path", "compare_3d", "perm_compose"])
def test_mlp_and_transformer_train_on_every_domain(tmp_path, name):
    cls = __import__("symreg").task_entries()[name].obj
    task = get_task(name, **cls.quick.params)
    for model in ("transformer", "mlp"):
        sizes = TINY if model == "transformer" else {"d_embed": 16, "d_hidden": 32}
        Trainer.fresh(task, tiny_cfg(model=model, model_sizes=sizes, epochs=10, eval_every=10), [0],
                      tmp_path / model).run()
        rows = read_metrics(tmp_path / model / "metrics.jsonl")[0]
        assert [r["epoch"] for r in rows] == [0, 10]
        assert rows[-1]["train_loss"] < rows[0]["train_loss"], (model, rows)  # ten steps of AdamW fit the train set


@pytest.mark.parametrize("aux", [["sym:commutativity"], ["sym:associativity", "geom:nuclear"],
                                 ["geom:entropy", "geom:lipschitz"]])
def test_auxiliary_losses_train_and_resume_identically(tmp_path, aux):
    task = get_task("mod_add", p=11)
    cfg = dict(aux=aux, aux_samples=8, epochs=12, eval_every=4, grokfast="ema")
    Trainer.fresh(task, tiny_cfg(**cfg), [2], tmp_path / "a").run()
    run_interrupted(task, tiny_cfg(**cfg), [2], tmp_path / "b", at_epoch=7)
    Trainer.resume(tmp_path / "b").run()
    assert metrics(tmp_path / "a") == metrics(tmp_path / "b")


def test_symmetry_loss_lowers_that_violation(tmp_path):
    """With only the commutativity loss (no cross-entropy signal used), the violation falls."""
    task = get_task("mod_add", p=11)
    cfg = tiny_cfg(aux=["sym:commutativity"], aux_weight=100.0, aux_samples=64, epochs=60, eval_every=60,
                   lr=3e-3)
    Trainer.fresh(task, cfg, [0], tmp_path / "sym").run()
    Trainer.fresh(task, tiny_cfg(epochs=60, eval_every=60, lr=3e-3), [0], tmp_path / "base").run()
    sym = read_metrics(tmp_path / "sym" / "metrics.jsonl")[0][-1]["violation_mean"]["commutativity"]
    base = read_metrics(tmp_path / "base" / "metrics.jsonl")[0][-1]["violation_mean"]["commutativity"]
    assert sym < base / 10


def test_unknown_auxiliary_loss_names_the_valid_ones_and_writes_nothing(tmp_path):
    with pytest.raises(UnknownNameError, match="Unknown auxiliary loss for task 'mod_add': 'sym:nope'.*sym:commutativity"):
        Trainer.fresh(get_task("mod_add", p=11), tiny_cfg(aux=["sym:nope"]), [0], tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_augmented_training_reports_accuracy_inside_and_outside_the_closure(tmp_path):
    task = get_task("mod_add", p=11)
    cfg = tiny_cfg(augment=["commutativity"], train_frac=0.3, epochs=10, eval_every=10)
    Trainer.fresh(task, cfg, [0, 1], tmp_path / "aug").run()
    row = read_metrics(tmp_path / "aug" / "seed-1" / "metrics.jsonl")[0][-1]
    assert 0 <= row["test_in_closure_acc"] <= 1 and 0 <= row["test_outside_closure_acc"] <= 1
    # the trainer's "generalized" is the first evaluation reaching the level outside the closure
    level = 0.5 * (row["test_acc"] + row["test_outside_closure_acc"]) if row["test_acc"] != row[
        "test_outside_closure_acc"] else row["test_acc"]
    Trainer.fresh(task, tiny_cfg(augment=["commutativity"], train_frac=0.3, epochs=10, eval_every=5,
                                 generalize_acc=level), [1], tmp_path / "lvl").run()
    rows = read_metrics(tmp_path / "lvl" / "metrics.jsonl")[0]
    want = next((r["epoch"] for r in rows if r["test_outside_closure_acc"] >= level), None)
    assert json.loads((tmp_path / "lvl" / "status.json").read_text())["generalized_epoch"] == want
    with pytest.raises(UnknownNameError, match="Unknown symmetry of task 'mod_add': 'nope'"):
        Trainer.fresh(task, tiny_cfg(augment=["nope"]), [0], tmp_path / "bad")
    assert not (tmp_path / "bad").exists()


@pytest.mark.parametrize("extra", [{}, {"seed_chunk": 1, "aux": ["sym:commutativity"]}])
def test_augmented_seed_in_a_batch_matches_its_single_run(tmp_path, extra):
    """Seeds' closures differ in size; padding with weight 0 must not change seed k's run,
    nor must grouping seeds, with an auxiliary loss on top."""
    task = get_task("mod_add", p=11)
    cfg = tiny_cfg(augment=["commutativity"], train_frac=0.3, epochs=10, eval_every=5, **extra)
    Trainer.fresh(task, cfg, [0, 3], tmp_path / "batch").run()
    Trainer.fresh(task, cfg, [3], tmp_path / "single").run()
    a = read_metrics(tmp_path / "batch" / "seed-3" / "metrics.jsonl")[0]
    b = read_metrics(tmp_path / "single" / "metrics.jsonl")[0]
    for x, y in zip(a, b):
        assert x["train_loss"] == pytest.approx(y["train_loss"], rel=1e-4)


def test_sigterm_checkpoints_and_marks_the_run_interrupted(tmp_path):
    args = [sys.executable, "-m", "symreg", "train", "mod_add", "-P", "p=23", "--epochs", "100000",
            "--eval-every", "20", "--set", f"model_sizes={TINY}", "--device", "cpu", "--out", str(tmp_path / "r")]
    proc = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
    line = proc.stderr.readline()
    while line and "epoch 0/100000" not in line:  # off a terminal, epoch 0's progress line comes at once
        line = proc.stderr.readline()
    assert line, "the trainer never reported epoch 0"
    proc.send_signal(signal.SIGTERM)  # training has begun: the handler is in place
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "Interrupted at epoch" in err and "--resume" in err
    status = json.loads((tmp_path / "r" / "status.json").read_text())
    assert status["state"] == "interrupted" and (tmp_path / "r" / "checkpoints" / "last.safetensors").exists()


def test_training_leaves_the_floating_point_state_as_it_found_it(tmp_path):
    """Denormals are flushed during training only: afterwards, subnormals exist again."""
    Trainer.fresh(get_task("mod_add", p=11), tiny_cfg(epochs=2), [0], tmp_path / "r").run()
    tiny = torch.tensor([1e-40], dtype=torch.float32)
    assert tiny.item() != 0.0 and (tiny * 0.5).item() != 0.0
