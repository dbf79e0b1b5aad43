"""Seed groups in parallel worker threads: the same arithmetic as one after the other, so the same runs."""
from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from symreg import get_task
from symreg.train.precision import fast_bf16
from symreg.train.trainer import Trainer
from symreg.train.workers import seed_workers
from tests.helpers import metrics, run_interrupted, tiny_cfg


def _train(tmp_path, name, **kw):
    cfg = tiny_cfg(seed_chunk=1, epochs=12, eval_every=4, **kw)  # one seed per group: four groups
    trainer = Trainer.fresh(get_task("mod_add", p=11), cfg, [0, 1, 2, 3], tmp_path / name)
    trainer.run()
    return trainer


@pytest.mark.parametrize("precision", ["fp32", pytest.param("bf16", marks=pytest.mark.skipif(
    not fast_bf16("cpu"), reason="no native bf16 on this CPU"))])
def test_parallel_seed_groups_give_bit_identical_runs(tmp_path, precision):
    one = _train(tmp_path, "one", seed_workers=1, precision=precision)
    two = _train(tmp_path, "two", seed_workers=2, precision=precision)
    assert (one._pool.workers, two._pool.workers) == (1, 2)
    for seed in range(4):
        assert metrics(tmp_path / "one" / f"seed-{seed}") == metrics(tmp_path / "two" / f"seed-{seed}")
        a = load_file(tmp_path / "one" / f"seed-{seed}" / "checkpoints" / "last.safetensors")
        b = load_file(tmp_path / "two" / f"seed-{seed}" / "checkpoints" / "last.safetensors")
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_parallel_batch_resumes_bit_identically(tmp_path):
    task, cfg = get_task("mod_add", p=11), tiny_cfg(seed_chunk=1, seed_workers=2, epochs=20, eval_every=5)
    Trainer.fresh(task, cfg, [0, 1, 2], tmp_path / "straight").run()
    run_interrupted(task, cfg, [0, 1, 2], tmp_path / "broken", at_epoch=11)
    Trainer.resume(tmp_path / "broken").run()
    for seed in range(3):
        assert metrics(tmp_path / "straight" / f"seed-{seed}") == metrics(tmp_path / "broken" / f"seed-{seed}")


def test_an_error_in_a_worker_reaches_the_caller(tmp_path):
    trainer = Trainer.fresh(get_task("mod_add", p=11), tiny_cfg(seed_chunk=1, seed_workers=2), [0, 1],
                            tmp_path / "r")

    def broken(model, group):
        raise RuntimeError(f"group {group} failed")

    with pytest.raises(RuntimeError, match="group slice"):
        trainer._pool.map(broken, trainer._groups)


def test_the_automatic_layout_uses_one_worker_per_thread_on_a_cpu_only():
    cpu = torch.device("cpu")
    assert seed_workers(0, cpu, groups=10, threads=2) == 2
    assert seed_workers(0, cpu, groups=10, threads=1) == 1
    assert seed_workers(0, cpu, groups=1, threads=16) == 1
    assert seed_workers(4, cpu, groups=10, threads=1) == 4  # an explicit count wins over the threads
    assert seed_workers(0, torch.device("cuda"), groups=10, threads=8) == 1
