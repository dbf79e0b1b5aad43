"""Matmul precision: bf16 autocast with fp32 master weights, refused where the device has no fast path."""
from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

import symreg.train.precision as precision
from symreg import get_task
from symreg.errors import UsageError
from symreg.train.trainer import Trainer
from tests.helpers import metrics, run_interrupted, tiny_cfg

needs_bf16 = pytest.mark.skipif(not precision.fast_bf16("cpu"), reason="this CPU has no native bf16 matmul")


@needs_bf16
def test_bf16_trains_with_fp32_weights_and_is_recorded(tmp_path):
    task = get_task("mod_add", p=11)
    Trainer.fresh(task, tiny_cfg(precision="bf16", epochs=20), [0], tmp_path / "bf16").run()
    Trainer.fresh(task, tiny_cfg(epochs=20), [0], tmp_path / "fp32").run()
    assert json.loads((tmp_path / "bf16" / "config.json").read_text())["train"]["precision"] == "bf16"
    weights = load_file(tmp_path / "bf16" / "checkpoints" / "last.safetensors")
    assert {t.dtype for k, t in weights.items() if k.startswith("model.")} == {torch.float32}
    low, full = metrics(tmp_path / "bf16"), metrics(tmp_path / "fp32")
    assert low[0]["train_loss"] != full[0]["train_loss"]  # the matmuls really ran in bf16
    assert abs(low[0]["train_loss"] - full[0]["train_loss"]) < 1e-2 * full[0]["train_loss"]


@needs_bf16
def test_bf16_resumes_at_bf16_bit_identically(tmp_path):
    task = get_task("mod_add", p=11)
    cfg = dict(precision="bf16", epochs=30)
    Trainer.fresh(task, tiny_cfg(**cfg), [1], tmp_path / "straight").run()
    run_interrupted(task, tiny_cfg(**cfg), [1], tmp_path / "broken", at_epoch=17)
    resumed = Trainer.resume(tmp_path / "broken")
    assert resumed.cfg.precision == "bf16"
    resumed.run()
    assert metrics(tmp_path / "straight") == metrics(tmp_path / "broken")


@needs_bf16
def test_seed_k_of_a_bf16_batch_follows_the_single_bf16_run(tmp_path):
    task = get_task("mod_add", p=11)
    Trainer.fresh(task, tiny_cfg(precision="bf16", epochs=20), [0, 3], tmp_path / "batch").run()
    Trainer.fresh(task, tiny_cfg(precision="bf16", epochs=20), [3], tmp_path / "single").run()
    batch, single = metrics(tmp_path / "batch" / "seed-3"), metrics(tmp_path / "single")
    assert [r["epoch"] for r in batch] == [r["epoch"] for r in single]
    for a, b in zip(batch, single):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-2)


def test_a_precision_without_a_fast_path_is_refused_in_one_line_before_anything_is_written(tmp_path, monkeypatch):
    task = get_task("mod_add", p=11)
    with pytest.raises(UsageError, match="'tf32' exists only on CUDA GPUs"):
        Trainer.fresh(task, tiny_cfg(precision="tf32"), [0], tmp_path / "tf32")
    monkeypatch.setattr(precision, "fast_bf16", lambda device_type, index=None: False)
    with pytest.raises(UsageError, match=r"'bf16' would be emulated here .*force_precision=true"):
        Trainer.fresh(task, tiny_cfg(precision="bf16"), [0], tmp_path / "bf16")
    assert not (tmp_path / "tf32").exists() and not (tmp_path / "bf16").exists()
    Trainer.fresh(task, tiny_cfg(precision="bf16", force_precision=True, epochs=2), [0], tmp_path / "forced").run()
    assert (tmp_path / "forced" / "metrics.jsonl").exists()
    with pytest.raises(UsageError, match="precision = 'fp16' is not one of fp32, bf16, tf32"):
        tiny_cfg(precision="fp16").validate()
