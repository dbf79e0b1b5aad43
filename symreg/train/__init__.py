"""Training: configurations, the seed-batched trainer, and train/resume for scripts and notebooks.

>>> from symreg.train import TrainConfig, train
>>> TrainConfig().lr
0.001

:func:`train` and :func:`resume` return run directories; :class:`Trainer` is
the lower level (``Trainer.fresh(task, cfg, seeds, out).run()``).
"""
from __future__ import annotations

from symreg.train.api import new_trainer, resume, train
from symreg.train.config import TrainConfig
from symreg.train.trainer import Trainer

__all__ = ["TrainConfig", "Trainer", "new_trainer", "resume", "train"]
