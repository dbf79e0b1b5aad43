"""Training: configurations, the seed-batched trainer, and train/resume for scripts and notebooks.

>>> from symreg.train import TrainConfig, train
>>> TrainConfig().lr
0.001

:func:`train` and :func:`resume` return run directories; :class:`Trainer` is
the lower level (``Trainer.fresh(task, cfg, seeds, out).run()``). The names
load on first use, so importing ``symreg.train.models`` (as the built-in model
plugin does when its hook runs) does not load the trainer and the registry.
"""
from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from symreg.train.api import new_trainer, resume, train
    from symreg.train.config import TrainConfig
    from symreg.train.trainer import Trainer

_HOME = {"TrainConfig": "config", "Trainer": "trainer", "new_trainer": "api", "resume": "api", "train": "api"}

__all__ = ["TrainConfig", "Trainer", "new_trainer", "resume", "train"]


def __getattr__(name: str):
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{_HOME[name]}"), name)
    globals()[name] = value
    return value
