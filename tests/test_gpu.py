"""The CUDA path (skipped where no GPU exists): graphs replay the same updates as eager steps."""
from __future__ import annotations

import pytest
import torch

from symreg import get_task
from symreg.runs.rundir import read_metrics
from symreg.train.trainer import TrainConfig, Trainer
from tests.helpers import TINY, run_interrupted

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")



def cfg(**kw):
    return TrainConfig(**{**dict(train_frac=0.5, epochs=40, eval_every=10, model_sizes=TINY,
                                 violation_samples=16, device="cuda"), **kw})


def last(path):
    return read_metrics(path / "metrics.jsonl")[0][-1]


@pytest.mark.parametrize("precision", ["fp32", "bf16", "tf32"])
def test_cuda_graph_matches_eager_steps(tmp_path, precision):
    if precision != "fp32" and torch.cuda.get_device_capability()[0] < 8:
        pytest.skip("bf16 and tf32 need compute capability 8.0")
    task = get_task("mod_add", p=23)
    Trainer.fresh(task, cfg(cuda_graph=True, precision=precision), [0], tmp_path / "graph").run()
    Trainer.fresh(task, cfg(cuda_graph=False, precision=precision), [0], tmp_path / "eager").run()
    a, b = last(tmp_path / "graph"), last(tmp_path / "eager")
    assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-5 if precision == "fp32" else 1e-3)


def test_bf16_on_cuda_stays_close_to_fp32(tmp_path):
    if torch.cuda.get_device_capability()[0] < 8:
        pytest.skip("bf16 needs compute capability 8.0")
    task = get_task("mod_add", p=23)
    Trainer.fresh(task, cfg(precision="bf16"), [0], tmp_path / "bf16").run()
    Trainer.fresh(task, cfg(), [0], tmp_path / "fp32").run()
    a, b = last(tmp_path / "bf16"), last(tmp_path / "fp32")
    assert a["train_loss"] != b["train_loss"] and a["train_loss"] == pytest.approx(b["train_loss"], rel=0.1)


def test_cuda_matches_cpu_and_batches(tmp_path):
    task = get_task("mod_add", p=23)
    Trainer.fresh(task, cfg(), [0, 1], tmp_path / "gpu").run()
    Trainer.fresh(task, cfg(device="cpu"), [1], tmp_path / "cpu").run()
    a, b = last(tmp_path / "gpu" / "seed-1"), last(tmp_path / "cpu")
    assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-3, abs=1e-5)


def test_cuda_resume_continues_the_graph(tmp_path):
    task = get_task("mod_add", p=23)
    Trainer.fresh(task, cfg(epochs=60), [2], tmp_path / "a").run()
    run_interrupted(task, cfg(epochs=60), [2], tmp_path / "b", at_epoch=25)
    Trainer.resume(tmp_path / "b").run()
    assert last(tmp_path / "a")["train_loss"] == pytest.approx(last(tmp_path / "b")["train_loss"], rel=1e-5)
