"""Find and read run directories without torch: everything downstream reads runs, not models.

:func:`find_runs` expands what a user names (a run, a batch of seeds, a
directory of runs) into run directories; :func:`load_run` reads one, tolerating
a run still being written or a truncated metrics line, and says what it skipped.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from symreg.errors import UsageError
from symreg.runs.criterion import held_out_acc, run_threshold
from symreg.runs.rundir import CONFIG, BatchDir, RunDir


@dataclass
class Run:
    """One run's configuration and metrics history, plus what was wrong reading it."""

    path: Path
    config: dict
    rows: list[dict]
    status: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    untrusted: list[str] = field(default_factory=list)  # its symmetries that fail verification (symreg.trust)

    @property
    def name(self) -> str:
        return f"{self.config.get('task', '?')} seed {self.config.get('seed', '?')}"

    @property
    def running(self) -> bool:
        return RunDir(self.path).is_locked()

    @property
    def generalize_acc(self) -> float:
        """The generalization threshold this run was trained with (:func:`run_threshold`)."""
        return run_threshold(self.config)

    def generalization_series(self) -> tuple[list[int], list[float | None]]:
        """Epochs and :func:`held_out_acc` of every evaluation."""
        return [r["epoch"] for r in self.rows], [held_out_acc(r) for r in self.rows]

    def series(self, key: str, sub: str | None = None) -> tuple[list[int], list[float | None]]:
        """Epochs and values of one metric (``sub`` picks a symmetry in a nested dict)."""
        epochs, values = [], []
        for r in self.rows:
            v = r.get(key)
            if sub is not None:
                v = (v or {}).get(sub)
            epochs.append(r["epoch"])
            values.append(v)
        return epochs, values

    def symmetries(self) -> list[str]:
        """Symmetry names over all rows (a partial last row must not hide one)."""
        names: dict[str, None] = {}
        for r in self.rows:
            names.update(dict.fromkeys(r.get("violation_max") or {}))
        return list(names)


def find_runs(paths) -> tuple[list[Path], list[str]]:
    """Run directories under the given paths, and a message for each path that holds none.

    >>> find_runs(["/nonexistent"])
    ([], ['/nonexistent: does not exist'])
    """
    found: list[Path] = []
    problems: list[str] = []
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            problems.append(f"{p}: does not exist")
            continue
        if RunDir.is_run(p):
            found.append(p)
            continue
        if BatchDir.is_batch(p):
            try:
                found += [d for d in BatchDir(p).run_paths() if RunDir.is_run(d)]
                continue
            except UsageError:
                problems.append(f"{p}: batch.json is unreadable; looking for runs inside")
        inside = sorted(c.parent for c in p.rglob(CONFIG))
        if not inside:
            problems.append(f"{p}: no run directory here (no config.json)")
        found += inside
    unique = list(dict.fromkeys(found))
    return unique, problems


def load_run(path: Path) -> Run:
    """Read one run; raises UsageError only when nothing at all can be read.

    >>> load_run("/nonexistent")
    Traceback (most recent call last):
    symreg.errors.UsageError: /nonexistent: config.json is missing or unreadable (FileNotFoundError).
    """
    path = Path(path)
    rd = RunDir(path)
    try:
        config = json.loads(rd.config_path.read_text())
    except (FileNotFoundError, json.JSONDecodeError) as err:
        raise UsageError(f"{path}: config.json is missing or unreadable ({type(err).__name__}).") from None
    if not isinstance(config, dict):
        raise UsageError(f"{path}: config.json holds {type(config).__name__}, not a JSON object.")
    rows, warning = rd.metrics()
    run = Run(path, config, sorted(rows, key=lambda r: r["epoch"]))
    if warning:
        run.warnings.append(warning)
    if not rows:
        run.warnings.append(f"{path}: no metrics yet")
    run.status = rd.status  # {} when missing or damaged
    if run.running:
        run.warnings.append(f"{path}: still being written; diagnosing the {len(rows)} evaluations so far")
    elif run.status.get("state") in ("diverged", "failed"):
        what = "diverged" if run.status["state"] == "diverged" else "training failed"
        why = f" ({run.status['error']})" if run.status.get("error") else ""
        run.warnings.append(f"{path}: {what} at epoch {run.status.get('epoch', '?')}{why}")
    return run


def load_runs(paths) -> tuple[list[Run], list[str]]:
    """Every readable run under ``paths``, and the messages about what could not be read.

    >>> load_runs(["/nonexistent"])
    ([], ['/nonexistent: does not exist'])
    """
    dirs, problems = find_runs(paths)
    runs = []
    for d in dirs:
        try:
            runs.append(load_run(d))
        except UsageError as err:
            problems.append(str(err))
    return runs, problems
