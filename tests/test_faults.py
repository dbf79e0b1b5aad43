"""Faults in a run's life: damaged checkpoints, a full disk, divergence, failures before the first
checkpoint, batches of many seeds. Each ends in one line, leaves the run resumable, and a resumed
run ends as the uninterrupted one does."""
from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

import symreg.train.trainer as trainer_module
from symreg import get_task
from symreg.cli import cli
from symreg.errors import SymregWarning, UsageError
from symreg.plots.embedding import load_embedding
from symreg.runs.reading import load_run
from symreg.runs.rundir import RunDir, RunWriteError, read_metrics
from symreg.train.trainer import Trainer
from tests.helpers import TINY, interrupt_at, metrics, run_interrupted, tiny_cfg
from tests.test_bad_inputs import snapshot

TASK = get_task("mod_add", p=11)
SETTINGS = ["--set", f"model_sizes={TINY}", "--set", "violation_samples=16", "--train-frac", "0.5",
            "--weight-decay", "1.0", "--device", "cpu", "-q"]


def invoke(args: list[str]):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """Uninterrupted runs to compare with: one seed (1) and a batch (1, 4), 40 epochs."""
    root = tmp_path_factory.mktemp("straight")
    Trainer.fresh(TASK, tiny_cfg(epochs=40), [1], root / "one").run()
    Trainer.fresh(TASK, tiny_cfg(epochs=40), [1, 4], root / "batch").run()
    return root


@pytest.fixture
def broken(tmp_path):
    """A run interrupted at epoch 23: ``last`` at 23, epoch checkpoints 0, 1, 2, 5, 10, 20."""
    run_interrupted(TASK, tiny_cfg(epochs=40, checkpoint_every_s=1e9), [1], tmp_path / "run", at_epoch=23)
    return tmp_path / "run"


def damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    path.write_bytes({"truncated": data[: len(data) // 2], "garbage": os.urandom(len(data)),
                      "empty": b"", "text": b'{"not": "a checkpoint"}\n'}[how])


# --- damaged checkpoints ----------------------------------------------------------------------
@pytest.mark.parametrize("how", ["truncated", "garbage", "empty", "text"])
def test_a_damaged_last_checkpoint_resumes_from_the_newest_intact_one(broken, straight, how):
    damage(broken / "checkpoints" / "last.safetensors", how)
    result = invoke(["train", "--resume", broken])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1 and "last.safetensors" in warnings[0] and "epoch 20" in warnings[0], result.output
    assert metrics(broken) == metrics(straight / "one")
    assert json.loads((broken / "status.json").read_text())["state"] == "done"


def test_a_damaged_last_checkpoint_is_plotted_from_the_newest_intact_one(broken):
    damage(broken / "checkpoints" / "last.safetensors", "truncated")
    with pytest.warns(SymregWarning, match="last.safetensors is damaged.*epoch 20"):
        emb, meta = load_embedding(load_run(broken))
    assert meta["epoch"] == 20 and emb.ndim == 2


def test_no_intact_checkpoint_is_one_error_line_naming_the_run_and_changes_nothing(broken):
    for path in (broken / "checkpoints").iterdir():
        damage(path, "garbage")
    before = snapshot(broken)
    result = invoke(["train", "--resume", broken])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and str(broken) in errors[0] and "no intact checkpoint" in errors[0]
    assert snapshot(broken) == before
    with pytest.raises(UsageError, match="no intact checkpoint"):
        RunDir(broken).load_checkpoint()


def test_a_batch_whose_seeds_last_checkpoints_disagree_resumes_where_all_agree(tmp_path, straight):
    """A kill while saving a batch leaves seed 1 at epoch 23 and seed 4 at 20: both go on from 20."""
    run_interrupted(TASK, tiny_cfg(epochs=40, checkpoint_every_s=1e9), [1, 4], tmp_path / "b", at_epoch=23)
    ckpts = tmp_path / "b" / "seed-4" / "checkpoints"
    shutil.copy(ckpts / "epoch-00000020.safetensors", ckpts / "last.safetensors")
    trainer = Trainer.resume(tmp_path / "b")
    assert trainer.epoch == 20
    trainer.run()
    for seed in (1, 4):
        assert metrics(tmp_path / "b" / f"seed-{seed}") == metrics(straight / "batch" / f"seed-{seed}")


# --- the clock ----------------------------------------------------------------------------------
def test_elapsed_seconds_carry_on_across_a_resume(tmp_path):
    def slow(epoch, rows, trainer):
        if epoch == 10:
            import time

            time.sleep(0.5)

    cfg = tiny_cfg(epochs=40, checkpoint_every_s=1e9)
    trainer = Trainer.fresh(TASK, cfg, [1], tmp_path / "r", progress=slow)
    interrupt_at(trainer, 23)
    Trainer.resume(tmp_path / "r").run()
    rows = read_metrics(tmp_path / "r" / "metrics.jsonl")[0]
    seconds = [r["seconds"] for r in rows]
    assert seconds == sorted(seconds) and seconds[-1] >= 0.5, seconds


# --- a full disk ------------------------------------------------------------------------------
@pytest.fixture
def disk(monkeypatch):
    """``disk.full = "checkpoints"`` (or ``"all"``): fsync of those files raises ENOSPC, as a full disk does."""
    real = os.fsync

    class Disk:
        full = ""

    def fsync(fd):
        target = os.readlink(f"/proc/self/fd/{fd}")
        if Disk.full == "all" or (Disk.full == "checkpoints" and ".safetensors" in target):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return Disk


def fill_disk_at(monkeypatch, disk, epoch: int, what: str) -> None:
    step = Trainer.step

    def stepping(self):
        if self.epoch == epoch:
            disk.full = what
        step(self)

    monkeypatch.setattr(Trainer, "step", stepping)


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs /proc to see which file is synced")
def test_disk_full_while_checkpointing_is_one_error_line_recorded_and_resumable(tmp_path, monkeypatch, disk,
                                                                                  straight):
    fill_disk_at(monkeypatch, disk, 25, "checkpoints")  # the next checkpoint (epoch 40) does not fit
    out = tmp_path / "r"
    result = invoke(["train", "mod_add", "-P", "p=11", "--epochs", "40", "--eval-every", "10", "--seed", "1",
                     "--set", "checkpoint_every_s=1e9", *SETTINGS, "--out", out])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and "disk full" in errors[0] and "last.safetensors" in errors[0], result.output
    assert f"--resume {out}" in errors[0]
    status = json.loads((out / "status.json").read_text())
    assert status["state"] == "failed" and status["error"].startswith("disk full") and status["checkpoint"] == 20
    assert not [p for p in (out / "checkpoints").iterdir() if p.name.startswith(".")]  # no half-written file
    disk.full = ""  # space freed
    monkeypatch.undo()
    assert invoke(["train", "--resume", out]).exit_code == 0
    assert metrics(out) == metrics(straight / "one")
    status = json.loads((out / "status.json").read_text())
    assert status["state"] == "done" and "error" not in status


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs /proc to see which file is synced")
def test_disk_full_for_every_file_is_still_one_line_and_resumable(tmp_path, monkeypatch, disk, straight):
    fill_disk_at(monkeypatch, disk, 25, "all")  # not even status.json can be written
    out = tmp_path / "r"
    trainer = Trainer.fresh(TASK, tiny_cfg(epochs=40, checkpoint_every_s=1e9), [1], out)
    with pytest.raises(RunWriteError, match="disk full writing .*at epoch 30.*--resume"):
        trainer.run()  # the metrics line of epoch 30 is the first write that fails
    assert not RunDir(out).is_locked()
    disk.full = ""
    monkeypatch.undo()
    Trainer.resume(out).run()
    assert metrics(out) == metrics(straight / "one")


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs /proc to see which file is synced")
def test_disk_full_before_the_first_checkpoint_leaves_nothing_behind(tmp_path, disk):
    disk.full = "checkpoints"
    result = invoke(["train", "mod_add", "-P", "p=11", "--epochs", "40", *SETTINGS, "--out", tmp_path / "a" / "b"])
    assert result.exit_code == 2 and "disk full" in result.output, result.output
    assert not (tmp_path / "a").exists()


# --- failures before the first checkpoint ------------------------------------------------------
def test_a_failure_before_the_first_checkpoint_removes_only_what_it_made(tmp_path, monkeypatch):
    real = trainer_module.evaluate

    def broken(*args, **kw):
        raise RuntimeError("out of memory (pretend)")

    monkeypatch.setattr(trainer_module, "evaluate", broken)
    for out, kept in ((tmp_path / "new" / "deeper", tmp_path), (tmp_path / "empty", tmp_path / "empty")):
        if kept != tmp_path:
            kept.mkdir()
        for seeds in ([0], [0, 1]):
            with pytest.raises(RuntimeError, match="pretend"):
                Trainer.fresh(TASK, tiny_cfg(), seeds, out).run()
            assert sorted(p.name for p in kept.iterdir()) == ([] if kept != tmp_path else ["empty"] * out.parent.exists())
    assert not (tmp_path / "new").exists() and (tmp_path / "empty").is_dir()
    monkeypatch.setattr(trainer_module, "evaluate", real)
    Trainer.fresh(TASK, tiny_cfg(epochs=2), [0, 1], tmp_path / "empty").run()  # the directory is usable again


def test_nothing_is_created_when_building_the_model_or_data_fails(tmp_path, monkeypatch):
    def broken(*args, **kw):
        raise MemoryError("pretend")

    monkeypatch.setattr(trainer_module, "make_data", broken)
    with pytest.raises(MemoryError):
        Trainer.fresh(TASK, tiny_cfg(), [0, 1], tmp_path / "b")
    assert list(tmp_path.iterdir()) == []


# --- divergence ---------------------------------------------------------------------------------
def poison_seed(monkeypatch, index: int, at_epoch: int) -> None:
    """Seed ``index``'s embedding becomes NaN just before update ``at_epoch`` (a real divergence)."""
    step = Trainer.step

    def stepping(self):
        if self.epoch == at_epoch:
            with torch.no_grad():
                self.model.W_E[index].fill_(float("nan"))
        step(self)

    monkeypatch.setattr(Trainer, "step", stepping)


@pytest.mark.parametrize("every, at, why, evaluated", [
    ("1e9", 20, "train loss is nan at epoch 20", [0, 10, 20]),  # seen at the next evaluation
    ("0.0", 16, "weights are not finite at epoch 16", [0, 10]),  # seen at the next checkpoint, before it is written
])
def test_a_diverging_seed_stops_alone_and_says_so(tmp_path, monkeypatch, straight, every, at, why, evaluated):
    poison_seed(monkeypatch, 1, at_epoch=15)
    out = tmp_path / "b"
    result = invoke(["train", "mod_add", "-P", "p=11", "--epochs", "40", "--eval-every", "10", "--seeds", "1,4",
                     "--set", f"checkpoint_every_s={every}", *SETTINGS, "--out", out])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if "seed 4" in line]
    assert len(lines) == 1 and "diverged" in lines[0] and why in lines[0], result.output
    status = json.loads((out / "seed-4" / "status.json").read_text())
    assert status["state"] == "diverged" and status["epoch"] == at and status["error"] == why
    rows = read_metrics(out / "seed-4" / "metrics.jsonl")[0]
    assert [r["epoch"] for r in rows] == evaluated  # nothing recorded after it diverged
    tensors, meta = RunDir(out / "seed-4").load_checkpoint()
    assert meta["epoch"] < at and all(bool(t.isfinite().all()) for t in tensors.values() if t.is_floating_point())
    assert metrics(out / "seed-1") == metrics(straight / "batch" / "seed-1")  # the other seed never noticed
    monkeypatch.undo()
    trainer = Trainer.resume(out, epochs=50)  # the diverged seed stays stopped; the other goes on
    assert trainer.active == [True, False]
    trainer.run()
    assert json.loads((out / "seed-4" / "status.json").read_text())["state"] == "diverged"
    assert read_metrics(out / "seed-1" / "metrics.jsonl")[0][-1]["epoch"] == 50


def test_a_run_whose_every_seed_diverged_is_finished(tmp_path, monkeypatch):
    poison_seed(monkeypatch, 0, at_epoch=3)
    Trainer.fresh(TASK, tiny_cfg(epochs=40), [2], tmp_path / "r").run()
    assert json.loads((tmp_path / "r" / "status.json").read_text())["state"] == "diverged"
    monkeypatch.undo()
    before = snapshot(tmp_path)
    result = invoke(["train", "--resume", tmp_path / "r", "--epochs", "60"])
    assert result.exit_code == 0 and "nothing left to train" in result.output and "1 diverged" in result.output
    assert snapshot(tmp_path) == before


# --- resume targets -----------------------------------------------------------------------------
def test_resuming_with_a_later_target_trains_on_to_it(tmp_path, straight):
    Trainer.fresh(TASK, tiny_cfg(epochs=20), [1], tmp_path / "r").run()
    with pytest.raises(UsageError, match="already at epoch 20; give --epochs above 20"):
        Trainer.resume(tmp_path / "r", epochs=20)
    assert Trainer.resume(tmp_path / "r").finished
    Trainer.resume(tmp_path / "r", epochs=40).run()
    assert metrics(tmp_path / "r") == metrics(straight / "one")
    assert Trainer.resume(tmp_path / "r").finished  # done at its new target, 40


def test_a_resumed_target_is_remembered_by_the_next_resume(tmp_path, straight):
    Trainer.fresh(TASK, tiny_cfg(epochs=10), [1], tmp_path / "r").run()
    trainer = Trainer.resume(tmp_path / "r", epochs=40)
    interrupt_at(trainer, 23)
    trainer = Trainer.resume(tmp_path / "r")  # no target: the 40 it was last given, not config.json's 10
    assert trainer.cfg.epochs == 40 and trainer.epoch == 23
    trainer.run()
    assert metrics(tmp_path / "r") == metrics(straight / "one")


# --- many seeds -----------------------------------------------------------------------------------
def test_a_batch_holds_one_lock_file_open_and_keeps_out_a_second_writer_of_any_seed(tmp_path):
    seen = {}

    def look(epoch, rows, trainer):
        if epoch == 0:
            fds = [os.readlink(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")
                   if os.path.exists(f"/proc/self/fd/{fd}")]
            seen["locks"] = [f for f in fds if f.endswith(".lock")]
            seen["locked"] = [RunDir(r.path).is_locked() for r in trainer.runs]
            for target in (tmp_path / "b", tmp_path / "b" / "seed-3"):
                with pytest.raises(UsageError, match="is being written by process"):
                    Trainer.resume(target)

    Trainer.fresh(TASK, tiny_cfg(epochs=1), list(range(6)), tmp_path / "b", progress=look).run()
    if Path("/proc/self/fd").exists():
        assert seen["locks"] == [str(tmp_path / "b" / ".lock")]
    assert seen["locked"] == [True] * 6
    assert not any(RunDir(tmp_path / "b" / f"seed-{s}").is_locked() for s in range(6))
    assert not list((tmp_path / "b").glob("seed-*/.lock"))
