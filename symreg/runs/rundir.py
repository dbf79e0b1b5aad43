"""Run directories: config, metrics and checkpoints, written so a crash never corrupts them.

Layout of one run::

    RUN/config.json        what was run: task, parameters, plugin, versions, seed, settings
    RUN/metrics.jsonl      one JSON line per evaluation, appended as training goes
    RUN/status.json        state (running / interrupted / done), last epoch, last checkpoint
    RUN/split.npy          the training rows (indices into the task's domain)
    RUN/checkpoints/epoch-00001000.safetensors   log-spaced (0, 1, 2, 5, 10, 20, ...)
    RUN/checkpoints/last.safetensors             the latest state, for --resume

A batch of seeds (:class:`BatchDir`) is a directory holding ``batch.json``
(task, seeds and run names) and one such run per seed (``seed-0``, ``seed-1``,
...); :func:`run_paths` expands either kind into run directories. JSON and checkpoints are written to a
temporary file and renamed into place; metrics lines are appended and fsynced,
and a reader skips a truncated last line. An exclusive ``flock`` on
``RUN/.lock`` keeps a second process out of a run being written.
"""
from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Iterable

from symreg.errors import UsageError
from symreg.runs.locking import FileLock

CONFIG = "config.json"
METRICS = "metrics.jsonl"
STATUS = "status.json"
SPLIT = "split.npy"
EVENTS = "events.json"  # written by ``symreg diagnose``
LOCK = ".lock"
CHECKPOINTS = "checkpoints"
BATCH = "batch.json"


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so readers see the old file or the new one, never half.

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "x.bin"
    >>> write_atomic(path, b"new"); path.read_bytes()
    b'new'
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, obj) -> None:
    """Write ``obj`` as indented JSON with sorted keys, atomically (the format of every JSON file here).

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "x.json"
    >>> write_json(path, {"b": 1, "a": [2]}); read_json(path)
    {'a': [2], 'b': 1}
    """
    write_atomic(path, (json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n").encode())


def read_json(path: Path) -> dict:
    """The JSON in ``path``; a missing or malformed file is a :class:`~symreg.errors.UsageError`.

    >>> read_json("/nonexistent/config.json")
    Traceback (most recent call last):
    symreg.errors.UsageError: /nonexistent/config.json does not exist.
    """
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise UsageError(f"{path} does not exist.") from None
    except json.JSONDecodeError as err:
        raise UsageError(f"{path} is not valid JSON ({err.msg} at line {err.lineno}).") from None


def read_metrics(path: Path) -> tuple[list[dict], str | None]:
    """The rows of a metrics file, and a warning if its last line was cut off mid-write.

    A row is a JSON object with an integer ``epoch``, one per line. A last line
    without its newline that is not one is a write cut short (a crash): it is
    skipped with a warning. Any other line that is not a row means the file was
    damaged: a :class:`~symreg.errors.UsageError` naming the file and line.

    >>> read_metrics("/nonexistent/metrics.jsonl")
    ([], '/nonexistent/metrics.jsonl does not exist')
    """
    rows, warning = [], None
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        return [], f"{path} does not exist"
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not a metrics file (not UTF-8 text).") from None
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            row = None
        if isinstance(row, dict) and isinstance(row.get("epoch"), int) and not isinstance(row["epoch"], bool):
            rows.append(row)
        elif i == len(lines) - 1:  # no newline after it: the write was cut short
            warning = f"{path}: skipped unreadable last line (truncated write)"
        else:
            raise UsageError(f"{path}: line {i + 1} is not a metrics row (a JSON object with an integer "
                             f"epoch): {line[:60]!r}.")
    return rows, warning


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

    def lock(self) -> "RunDir":
        """Take the exclusive write lock, or raise if another process holds it."""
        self._lock = FileLock(self.path / LOCK, f"Run directory {self.path}").acquire()
        return self

    def unlock(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def is_locked(self) -> bool:
        """Whether some process is writing this run now."""
        return FileLock(self.path / LOCK, "").holder() is not None

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
        return read_json(self.status_path) if self.status_path.exists() else {}

    def write_status(self, **status) -> None:
        write_json(self.status_path, {**self.status, **status})

    def write_split(self, split) -> None:
        """Save the training rows (a numpy array) as ``split.npy``."""
        import numpy as np

        np.save(self.split_path, split)

    def write_events(self, events: dict) -> None:
        """Save a diagnosis (:func:`symreg.diagnose.phases.events`) as ``events.json``."""
        write_json(self.events_path, events)

    def metrics(self) -> tuple[list[dict], str | None]:
        return read_metrics(self.metrics_path)

    def append_metrics(self, rows: Iterable[dict]) -> None:
        text = "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows)
        with open(self.metrics_path, "a") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())

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
        out = {}
        for p in (self.path / CHECKPOINTS).glob("epoch-*.safetensors"):
            m = re.fullmatch(r"epoch-(\d+)\.safetensors", p.name)
            if m:
                out[int(m.group(1))] = p
        return dict(sorted(out.items()))

    def save_checkpoint(self, tensors: dict, meta: dict, epoch: int | None) -> None:
        """Save ``tensors`` as ``last`` and, when ``epoch`` is given, as ``epoch-N`` too."""
        from safetensors.torch import save  # the trainer's tensors; runs/ itself never imports torch

        blob = save({k: v.contiguous() for k, v in tensors.items()},
                    metadata={"meta": json.dumps(meta)})
        write_atomic(self.checkpoint_path("last"), blob)
        if epoch is not None:
            write_atomic(self.checkpoint_path(epoch), blob)

    def load_checkpoint(self, which: str | int = "last") -> tuple[dict, dict]:
        """Tensors and metadata of a checkpoint; nothing pickled is ever executed."""
        from safetensors import safe_open

        path = self.checkpoint_path(which)
        if not path.exists():
            raise UsageError(f"{path} does not exist; there is no checkpoint to resume from.")
        with safe_open(str(path), framework="pt") as f:
            meta = json.loads(f.metadata()["meta"])
            return {k: f.get_tensor(k) for k in f.keys()}, meta


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


def run_paths(path: str | Path) -> list[Path]:
    """The run directories of ``path``: a batch's seeds, ``[path]`` for one run, else ``[]``.

    >>> run_paths("/nonexistent")
    []
    """
    path = Path(path)
    if BatchDir.is_batch(path):
        return BatchDir(path).run_paths()
    return [path] if RunDir.is_run(path) else []
