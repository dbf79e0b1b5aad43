"""Shared test scaffolding: tiny training configs, interrupted runs, temporary plugins."""
from __future__ import annotations

import pytest

from symreg.plugins import add_plugin, failures, pm
from symreg.runs.rundir import read_metrics
from symreg.train.trainer import TrainConfig, Trainer

TINY = {"d_model": 32, "n_heads": 2, "d_head": 16, "d_mlp": 64}


def tiny_cfg(**kw) -> TrainConfig:
    base = dict(train_frac=0.5, weight_decay=1.0, epochs=30, eval_every=10, model_sizes=TINY,
                violation_samples=16, checkpoint_every_s=0.0)
    return TrainConfig(**{**base, **kw})


def metrics(path) -> list[dict]:
    """A run's metrics without the wall-clock field (the only one allowed to differ)."""
    return [{k: v for k, v in r.items() if k != "seconds"} for r in read_metrics(path / "metrics.jsonl")[0]]


def run_interrupted(task, cfg, seeds, path, at_epoch: int) -> None:
    """Train until a KeyboardInterrupt arrives just before ``at_epoch``'s update (like Ctrl-C)."""
    interrupt_at(Trainer.fresh(task, cfg, seeds, path), at_epoch)


def interrupt_at(trainer, at_epoch: int) -> None:
    """Run ``trainer`` until a KeyboardInterrupt arrives just before ``at_epoch``'s update."""
    step = trainer.step

    def interrupting_step():
        if trainer.epoch == at_epoch:
            raise KeyboardInterrupt
        step()

    trainer.step = interrupting_step
    with pytest.raises(KeyboardInterrupt):
        trainer.run()


class registered:
    """Register a plugin object for the duration of a ``with`` block."""

    def __init__(self, plugin, name):
        self.plugin, self.name = plugin, name

    def __enter__(self):
        assert add_plugin(self.plugin, self.name), failures.get(self.name)
        return self.plugin

    def __exit__(self, *exc):
        if pm.has_plugin(self.name):
            pm.unregister(name=self.name)
        failures.pop(self.name, None)
