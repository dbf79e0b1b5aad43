"""Run directories: config, metrics and checkpoints, written so a crash never corrupts them.

Layout of one run::

    RUN/config.json        what was run: task, parameters, plugin, versions, seed, settings
    RUN/metrics.jsonl      one JSON line per evaluation, appended as training goes
    RUN/status.json        state (running / interrupted / done), last epoch, last checkpoint
    RUN/split.npy          the training rows (indices into the task's domain)
    RUN/checkpoints/epoch-00001000.safetensors   log-spaced (0, 1, 2, 5, 10, 20, ...)
    RUN/checkpoints/last.safetensors             the latest state, for --resume

A batch of seeds is a directory holding ``batch.json`` and one such run per
seed (``seed-0``, ``seed-1``, ...). JSON and checkpoints are written to a
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


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so readers see the old file or the new one, never half."""
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
    write_atomic(path, (json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n").encode())


def read_json(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise UsageError(f"{path} does not exist.") from None
    except json.JSONDecodeError as err:
        raise UsageError(f"{path} is not valid JSON ({err.msg} at line {err.lineno}).") from None


def read_metrics(path: Path) -> tuple[list[dict], str | None]:
    """The complete lines of a metrics file, and a warning if a line was truncated or bad."""
    rows, warning = [], None
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        return [], f"{path} does not exist"
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            where = "last line (truncated write)" if i >= len(lines) - 2 else f"line {i + 1}"
            warning = f"{path}: skipped unreadable {where}"
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
    """One run's directory; create it with :meth:`create`, open an old one with ``RunDir(path)``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock: FileLock | None = None

    @classmethod
    def create(cls, path: str | Path) -> "RunDir":
        """Make a new, empty run directory (an existing non-empty one is refused)."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        if any(p.name != ".lock" for p in path.iterdir()):
            raise UsageError(f"Run directory {path} already exists and is not empty; "
                             f"use --resume {path} or choose another --out.")
        (path / "checkpoints").mkdir(exist_ok=True)
        return cls(path)

    def lock(self) -> "RunDir":
        """Take the exclusive write lock, or raise if another process holds it."""
        self._lock = FileLock(self.path / ".lock", f"Run directory {self.path}").acquire()
        return self

    def unlock(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def is_locked(self) -> bool:
        """Whether some process is writing this run now."""
        return FileLock(self.path / ".lock", "").holder() is not None

    # --- files -------------------------------------------------------------------
    @property
    def config(self) -> dict:
        return read_json(self.path / "config.json")

    def write_config(self, config: dict) -> None:
        write_json(self.path / "config.json", config)

    @property
    def status(self) -> dict:
        p = self.path / "status.json"
        return read_json(p) if p.exists() else {}

    def write_status(self, **status) -> None:
        write_json(self.path / "status.json", {**self.status, **status})

    def metrics(self) -> tuple[list[dict], str | None]:
        return read_metrics(self.path / "metrics.jsonl")

    def append_metrics(self, rows: Iterable[dict]) -> None:
        text = "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows)
        with open(self.path / "metrics.jsonl", "a") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())

    def truncate_metrics(self, last_epoch: int) -> None:
        """Keep only complete lines up to ``last_epoch`` (before resuming from it)."""
        rows, _ = self.metrics()
        kept = "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows if r["epoch"] <= last_epoch)
        write_atomic(self.path / "metrics.jsonl", kept.encode())

    # --- checkpoints ---------------------------------------------------------------
    def checkpoints(self) -> dict[int, Path]:
        """Log-spaced checkpoints by epoch."""
        out = {}
        for p in (self.path / "checkpoints").glob("epoch-*.safetensors"):
            m = re.fullmatch(r"epoch-(\d+)\.safetensors", p.name)
            if m:
                out[int(m.group(1))] = p
        return dict(sorted(out.items()))

    def save_checkpoint(self, tensors: dict, meta: dict, epoch: int | None) -> None:
        """Save ``tensors`` as ``last`` and, when ``epoch`` is given, as ``epoch-N`` too."""
        from safetensors.torch import save

        blob = save({k: v.contiguous() for k, v in tensors.items()},
                    metadata={"meta": json.dumps(meta)})
        write_atomic(self.path / "checkpoints" / "last.safetensors", blob)
        if epoch is not None:
            write_atomic(self.path / "checkpoints" / f"epoch-{epoch:08d}.safetensors", blob)

    def load_checkpoint(self, which: str | int = "last") -> tuple[dict, dict]:
        """Tensors and metadata of a checkpoint; nothing pickled is ever executed."""
        from safetensors import safe_open

        name = "last" if which == "last" else f"epoch-{int(which):08d}"
        path = self.path / "checkpoints" / f"{name}.safetensors"
        if not path.exists():
            raise UsageError(f"{path} does not exist; there is no checkpoint to resume from.")
        with safe_open(str(path), framework="pt") as f:
            meta = json.loads(f.metadata()["meta"])
            return {k: f.get_tensor(k) for k in f.keys()}, meta
