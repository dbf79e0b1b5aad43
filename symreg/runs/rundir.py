"""Run directories: config, metrics and checkpoints, written so a crash never corrupts them.

Layout of one run::

    RUN/config.json        what was run: task, parameters, plugin, versions, seed, settings
    RUN/metrics.jsonl      one JSON line per evaluation, appended as training goes
    RUN/status.json        state (running / interrupted / failed / diverged / done), epoch, checkpoint
    RUN/split.npy          the training rows (indices into the task's domain)
    RUN/reps.json          the components of the group actions measured at each evaluation
    RUN/checkpoints/epoch-00001000.safetensors   log-spaced (0, 1, 2, 5, 10, 20, ...)
    RUN/checkpoints/last.safetensors             the latest state, for --resume

A batch of seeds (:class:`BatchDir`) is a directory holding ``batch.json``
(task, seeds and run names) and one such run per seed (``seed-0``, ``seed-1``,
...); :func:`run_paths` expands either kind into run directories. JSON and checkpoints are written to a
temporary file and renamed into place; metrics lines are appended and fsynced,
and a reader skips a truncated last line. An exclusive ``flock`` keeps a second
process out of a run being written: on ``RUN/.lock`` for a single run, on the
batch's ``BATCH/.lock`` for every seed of a batch (one open file however many
seeds). A damaged ``last`` checkpoint falls back to the newest intact
``epoch-N`` one (:mod:`symreg.runs.checkpoints`).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterable

from symreg.errors import SymregError, UsageError
from symreg.runs import checkpoints as ckpt
from symreg.runs.files import (  # noqa: F401 (re-exported)
    read_json,
    read_metrics,
    with_filename,
    write_atomic,
    write_json,
)
from symreg.runs.locking import FileLock

CONFIG = "config.json"
METRICS = "metrics.jsonl"
STATUS = "status.json"
SPLIT = "split.npy"
EVENTS = "events.json"  # written by ``symreg diagnose``
REPS = "reps.json"  # the components the trainer measures (symreg.train.progress_measures)
LOCK = ".lock"
CHECKPOINTS = "checkpoints"
BATCH = "batch.json"


class RunWriteError(SymregError):
    """A run's file could not be written (disk full, read-only, gone); the message says which and how to go on."""


def checkpoint_schedule(epochs: int) -> list[int]:
    """Log-spaced epochs 0, 1, 2, 5, 10, 20, 50, ... up to ``epochs`` (which is included).

    >>> checkpoint_schedule(120)
    [0, 1, 2, 5, 10, 20, 50, 100, 120]
    """
    out, base = [0], 1
    while base <= epochs:
        out += [m * base for m in (1, 2, 5) if m * base <= epochs]
        base *= 10
    return sorted(set(out + [epochs]))


class RunDir:
    """One run's directory; create it with :meth:`create`, open an old one with ``RunDir(path)``.

    >>> import tempfile
    >>> run = RunDir.create(Path(tempfile.mkdtemp()) / "run")
    >>> run.write_config({"task": "mod_add", "seed": 0}); run.append_metrics([{"epoch": 0, "test_acc": 0.1}])
    >>> RunDir.is_run(run.path), run.config["seed"], run.metrics()
    (True, 0, ([{'epoch': 0, 'test_acc': 0.1}], None))
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock: FileLock | None = None

    @classmethod
    def create(cls, path: str | Path) -> "RunDir":
        """Make a new, empty run directory (an existing non-empty one is refused)."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        if any(p.name != LOCK for p in path.iterdir()):
            raise UsageError(f"Run directory {path} already exists and is not empty; "
                             f"use --resume {path} or choose another --out.")
        (path / CHECKPOINTS).mkdir(exist_ok=True)
        return cls(path)

    @staticmethod
    def is_run(path: str | Path) -> bool:
        """Whether ``path`` is a run directory (it has a ``config.json``)."""
        return (Path(path) / CONFIG).exists()

    @property
    def in_batch(self) -> bool:
        """Whether this run is one seed of a batch (its parent holds ``batch.json``)."""
        return BatchDir.is_batch(self.path.parent)

    def write_lock(self) -> FileLock:
        """The lock that guards this run: its batch's when it is one seed of a batch, else its own."""
        if self.in_batch:
            return BatchDir(self.path.parent).write_lock()
        return FileLock(self.path / LOCK, f"Run directory {self.path}")

    def lock(self, held: FileLock | None = None) -> "RunDir":
        """Take the exclusive write lock, or raise if another process holds it.

        ``held`` is a lock already taken for this run (its batch's), shared by its seeds.
        """
        self._lock = held if held is not None else self.write_lock().acquire()
        return self

    def unlock(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def holder(self) -> str | None:
        """Who is writing this run now (its own lock, or its batch's), if anyone."""
        own = FileLock(self.path / LOCK, "").holder()
        return own or (BatchDir(self.path.parent).write_lock().holder() if self.in_batch else None)

    def is_locked(self) -> bool:
        """Whether some process is writing this run now."""
        return self.holder() is not None

    # --- files -------------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.path / CONFIG

    @property
    def metrics_path(self) -> Path:
        return self.path / METRICS

    @property
    def status_path(self) -> Path:
        return self.path / STATUS

    @property
    def split_path(self) -> Path:
        return self.path / SPLIT

    @property
    def events_path(self) -> Path:
        return self.path / EVENTS

    @property
    def config(self) -> dict:
        return read_json(self.config_path)

    def write_config(self, config: dict) -> None:
        write_json(self.config_path, config)

    @property
    def status(self) -> dict:
        """state (running, interrupted, failed, diverged, done), epoch, checkpoint, ...; {} when unreadable."""
        try:
            status = read_json(self.status_path) if self.status_path.exists() else {}
        except UsageError:  # damaged: the next write replaces it
            return {}
        return status if isinstance(status, dict) else {}

    def write_status(self, drop: Iterable[str] = (), **status) -> None:
        """Update ``status.json`` with ``status``, removing the keys in ``drop``."""
        old = {k: v for k, v in self.status.items() if k not in drop}
        write_json(self.status_path, {**old, **status})

    def write_split(self, split) -> None:
        """Save the training rows (a numpy array) as ``split.npy``."""
        import numpy as np

        try:
            np.save(self.split_path, split)
        except OSError as err:
            raise with_filename(err, self.split_path) from None

    @property
    def reps(self) -> dict:
        """What ``reps.json`` says the measured components are; {} when missing or unreadable."""
        try:
            reps = read_json(self.path / REPS) if (self.path / REPS).exists() else {}
        except UsageError:
            return {}
        return reps if isinstance(reps, dict) else {}

    def write_reps(self, description: dict) -> None:
        write_json(self.path / REPS, description)

    def write_events(self, events: dict) -> None:
        """Save a diagnosis (:func:`symreg.diagnose.phases.events`) as ``events.json``."""
        write_json(self.events_path, events)

    def metrics(self) -> tuple[list[dict], str | None]:
        return read_metrics(self.metrics_path)

    def append_metrics(self, rows: Iterable[dict]) -> None:
        text = "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows)
        try:
            with open(self.metrics_path, "a") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
        except OSError as err:
            raise with_filename(err, self.metrics_path) from None

    def truncate_metrics(self, last_epoch: int) -> None:
        """Keep only complete lines up to ``last_epoch`` (before resuming from it)."""
        rows, _ = self.metrics()
        kept = "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows if r["epoch"] <= last_epoch)
        write_atomic(self.metrics_path, kept.encode())

    # --- checkpoints ---------------------------------------------------------------
    def checkpoint_path(self, which: str | int = "last") -> Path:
        """The file of checkpoint ``which``: ``"last"`` or an epoch.

        >>> RunDir("r").checkpoint_path(20).as_posix(), RunDir("r").checkpoint_path().name
        ('r/checkpoints/epoch-00000020.safetensors', 'last.safetensors')
        """
        if which == "last":
            name = "last"
        else:
            try:
                name = f"epoch-{int(which):08d}"
            except (TypeError, ValueError):
                raise UsageError(f"Checkpoint {which!r} must be 'last' or an epoch number.") from None
        return self.path / CHECKPOINTS / f"{name}.safetensors"

    def has_checkpoint(self, which: str | int = "last") -> bool:
        return self.checkpoint_path(which).exists()

    def checkpoints(self) -> dict[int, Path]:
        """Log-spaced checkpoints by epoch."""
        return ckpt.epoch_files(self.path / CHECKPOINTS)

    def has_any_checkpoint(self) -> bool:
        """Whether any checkpoint file (``last`` or ``epoch-N``) exists, readable or not."""
        return self.has_checkpoint("last") or bool(self.checkpoints())

    def remove_temporary(self) -> None:
        """Delete what a write cut short left (``.NAME.XXXX`` files); only its writer calls this."""
        for folder in (self.path, self.path / CHECKPOINTS):
            for p in folder.glob(".*.*"):
                if p.name != LOCK and p.is_file() and any(p.name.startswith(f".{n}.") for n in _WRITTEN):
                    p.unlink(missing_ok=True)

    def save_checkpoint(self, tensors: dict, meta: dict, epoch: int | None) -> None:
        """Save ``tensors`` as ``last`` and, when ``epoch`` is given, as ``epoch-N`` too."""
        from safetensors.torch import save  # the trainer's tensors; runs/ itself never imports torch

        blob = save({k: v.contiguous() for k, v in tensors.items()},
                    metadata={"meta": json.dumps(meta)})
        write_atomic(self.checkpoint_path("last"), blob)
        if epoch is not None:
            write_atomic(self.checkpoint_path(epoch), blob)

    def find_checkpoint(self, at_most: int | None = None) -> tuple[Path | None, dict | None, list[str]]:
        """The newest intact checkpoint at or before ``at_most``: (path, meta, warnings), path None if none reads."""
        return ckpt.newest_intact(self.checkpoint_path("last"), self.path / CHECKPOINTS, at_most)

    def load_checkpoint(self, which: str | int = "last", framework: str = "pt", keys=None,
                        warn=None) -> tuple[dict, dict]:
        """Tensors (all, or ``keys``) and metadata of a checkpoint; nothing pickled is ever executed.

        ``"last"`` falls back to the newest intact ``epoch-N`` checkpoint when it is
        damaged, telling ``warn`` (default: a :class:`~symreg.errors.SymregWarning`)
        in one line; an ``epoch`` asked for by number must itself be intact. None
        intact is a UsageError naming the run.
        """
        if which == "last":
            path, meta, notes = self.find_checkpoint()
            if path is None:
                if not notes:
                    raise UsageError(f"{self.path} has no checkpoint ({self.checkpoint_path()} does not exist).")
                raise ckpt.no_intact(self.path, notes)
            for line in notes:
                _warn(line, warn)
        else:
            path = self.checkpoint_path(which)
            try:
                meta = ckpt.read_meta(path)
            except FileNotFoundError:
                raise UsageError(f"{path} does not exist; {self.path} has no checkpoint at epoch {which}.") from None
            except ckpt.Damaged as err:
                raise UsageError(f"{err}.") from None
        try:
            return ckpt.read_tensors(path, framework, keys), meta
        except ckpt.Damaged as err:
            raise UsageError(f"{err}.") from None


class BatchDir:
    """A batch of seeds: ``batch.json`` (task, seeds, run names) and one run directory per seed.

    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> batch = BatchDir.write(root, "mod_add", [0, 5], [BatchDir.seed_name(s) for s in (0, 5)])
    >>> BatchDir.is_batch(root), [p.name for p in batch.run_paths()], batch.read()["seeds"]
    (True, ['seed-0', 'seed-5'], [0, 5])
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @staticmethod
    def is_batch(path: str | Path) -> bool:
        """Whether ``path`` holds a ``batch.json``."""
        return (Path(path) / BATCH).exists()

    def write_lock(self) -> FileLock:
        """The one lock every seed of the batch is written under (``BATCH/.lock``)."""
        return FileLock(self.path / LOCK, f"Batch directory {self.path}")

    @staticmethod
    def seed_name(seed: int) -> str:
        """The directory name of one seed's run.

        >>> BatchDir.seed_name(3)
        'seed-3'
        """
        return f"seed-{seed}"

    @classmethod
    def write(cls, path: str | Path, task: str, seeds: list[int], names: list[str]) -> "BatchDir":
        """Record the batch (``batch.json``) once its seed directories exist."""
        batch = cls(path)
        write_json(batch.path / BATCH, {"task": task, "seeds": list(seeds), "runs": list(names)})
        return batch

    def read(self) -> dict:
        """The contents of ``batch.json``; raises UsageError if it is unreadable or lacks ``runs``."""
        data = read_json(self.path / BATCH)
        if not isinstance(data, dict) or not isinstance(data.get("runs"), list):
            raise UsageError(f"{self.path / BATCH} has no list of runs (key 'runs').")
        return data

    def run_paths(self) -> list[Path]:
        """The run directories the batch names, in its order (existing or not)."""
        return [self.path / name for name in self.read()["runs"]]


_WRITTEN = (CONFIG, STATUS, EVENTS, REPS, METRICS, "last.safetensors", "epoch-")


def _warn(line: str, warn) -> None:
    if warn is not None:
        warn(line)
    else:
        import warnings

        from symreg.errors import SymregWarning

        warnings.warn(line, SymregWarning, stacklevel=3)


def run_paths(path: str | Path) -> list[Path]:
    """The run directories of ``path``: a batch's seeds, ``[path]`` for one run, else ``[]``.

    >>> run_paths("/nonexistent")
    []
    """
    path = Path(path)
    if BatchDir.is_batch(path):
        return BatchDir(path).run_paths()
    return [path] if RunDir.is_run(path) else []
