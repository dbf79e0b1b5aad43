"""Train and resume from Python: what ``symreg train`` does, returning the run directories.

>>> import tempfile
>>> with tempfile.TemporaryDirectory() as out:
...     paths = train("mod_add", {"p": 5}, seeds="0-1", out=out, epochs=2, eval_every=1,
...                   model_sizes={"d_model": 8, "n_heads": 1, "d_head": 8, "d_mlp": 8}, device="cpu")
...     [p.name for p in paths], [p.name for p in resume(out, epochs=3)]
(['seed-0', 'seed-1'], ['seed-0', 'seed-1'])
"""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Callable

from symreg.presets import Params, resolve
from symreg.train.config import TrainConfig
from symreg.train.trainer import Trainer
from symreg.util.parsing import seed_list

# Called at every evaluation with (epoch, one metrics row per seed, the trainer).
Progress = Callable[[int, list, Trainer], Any]


def new_trainer(task, params: Params = None, preset: str = "quick", seeds: int | str | Iterable[int] = 0,
                out: str | Path | None = None, progress: Progress | None = None, **settings) -> Trainer:
    """A fresh trainer (run directories written, nothing trained yet); see :func:`train`."""
    setup = resolve(task, params, preset, settings)
    return Trainer.fresh(setup.task, TrainConfig.from_setup(setup), seed_list(seeds), out, progress)


def train(task, params: Params = None, preset: str = "quick", seeds: int | str | Iterable[int] = 0,
          out: str | Path | None = None, progress: Progress | None = None, **settings) -> list[Path]:
    """Train ``task`` at ``preset`` over ``seeds``; the run directories, one per seed.

    ``task`` is a registered name (``params`` override the preset's task
    parameters: ``{"p": 97}`` or ``["p=97"]``) or a built Task. ``settings``
    are TrainConfig fields (``epochs=2000, stop_on_generalize=True``) over the
    preset's. One seed writes a run directory at ``out``; several write a batch
    (``out/seed-K``). The default ``out`` is ``runs/TASK-TIME-SEEDS``.
    """
    trainer = new_trainer(task, params, preset, seeds, out, progress, **settings)
    trainer.run()
    return [run.path for run in trainer.runs]


def resume(path: str | Path, epochs: int | None = None, progress: Progress | None = None,
           warn: Callable[[str], Any] | None = None) -> list[Path]:
    """Continue the run (or batch) at ``path`` from its newest intact checkpoint, optionally to a new epoch cap.

    ``epochs`` must be above the epoch the run has reached (else UsageError); a
    finished run without a new cap is left as it is. ``warn`` gets one line per
    damaged checkpoint skipped (default: a SymregWarning).
    """
    trainer = Trainer.resume(path, progress=progress, epochs=epochs, warn=warn)
    trainer.run()
    return [run.path for run in trainer.runs]
