"""Diagnose runs from Python: what ``symreg diagnose`` does, returning events and tables (no torch).

:func:`diagnose` finds the phase events of every run under some paths (and,
over several runs, evaluates the early warning); :func:`runs_table` reads runs
into one row each, ready for ``pandas.DataFrame(rows)``.

>>> runs_table(["/nonexistent"])
Traceback (most recent call last):
...
symreg.errors.UsageError: No run directory in /nonexistent (/nonexistent: does not exist).
"""
from __future__ import annotations

from dataclasses import fields
from typing import Callable, Iterable

from symreg.diagnose.detector import MAX_FPR
from symreg.diagnose.phases import Thresholds, events, generalization_summary
from symreg.errors import UsageError, unknown
from symreg.runs.reading import Run, load_runs
from symreg.runs.rundir import RunDir

# the trainer settings a row of runs_table carries (TrainConfig field names)
SETTINGS = ("model", "train_frac", "lr", "weight_decay", "aux", "grokfast", "augment")
FINAL = ("train_loss", "test_loss", "train_acc", "test_acc", "eff_dim", "param_norm")


def thresholds(**levels) -> Thresholds:
    """:class:`Thresholds` from keyword levels (``generalize_acc=0.95``); ``None`` keeps a default.

    >>> thresholds(drop=3.0, generalize_acc=None).drop
    3.0
    """
    names = [f.name for f in fields(Thresholds)]
    for key in levels:
        if key not in names:
            raise unknown("threshold", key, names)
    return Thresholds(**{k: v for k, v in levels.items() if v is not None})


def load(paths: Iterable, warn: Callable[[str], None] | None = None) -> tuple[list[Run], list[str]]:
    """The runs with metrics under ``paths``, and a warning for each thing skipped or partial.

    A path may be a run, a batch of seeds or a directory holding runs. Each
    warning also goes to ``warn`` as it is found; raises UsageError (after the
    warnings) when no run with metrics is found.
    """
    paths = [str(p) for p in paths]
    runs, problems = load_runs(paths)
    warnings = list(problems) + [w for run in runs for w in run.warnings]
    for line in warnings if warn else ():
        warn(line)
    runs = [r for r in runs if r.rows]
    if not runs:
        why = f" ({'; '.join(problems)})" if problems else ""
        raise UsageError("No run with metrics to diagnose in " + ", ".join(paths) + why + ".")
    for line in mark_untrusted(runs):
        warnings.append(line)
        if warn:
            warn(line)
    return runs, warnings


def mark_untrusted(runs: list[Run]) -> list[str]:
    """Set each run's ``untrusted``: its measured symmetries that fail verification; a line for each.

    A run of a task that is no longer registered, or whose parameters no longer
    build, keeps every symmetry (nothing to check against).
    """
    import warnings as py_warnings

    from symreg.errors import SymregError
    from symreg.registry import get_task
    from symreg.trust import untrusted

    found: dict[str, list[dict]] = {}
    lines = []
    for run in runs:
        key = repr((run.config.get("task"), sorted((run.config.get("params") or {}).items())))
        if key not in found:
            try:
                with py_warnings.catch_warnings():
                    py_warnings.simplefilter("ignore")
                    found[key] = untrusted(get_task(run.config["task"], **(run.config.get("params") or {})))
            except (SymregError, KeyError, TypeError):
                found[key] = []
            for bad in found[key]:
                lines.append(f"symmetry {bad['name']!r} of task '{run.config['task']}' (plugin {bad['plugin']}) "
                             f"fails verification; left out of the violation signal")
        measured = set(run.symmetries())
        run.untrusted = [b["name"] for b in found[key] if b["name"] in measured]
    return lines


def warning_for(runs: list[Run], signals: Iterable[str] | None = None, horizon: int | None = None,
                  max_fpr: float = MAX_FPR, generalize_acc: float | None = None) -> dict | None:
    """The early-warning detector evaluated over ``runs`` (None for fewer than two runs)."""
    from symreg.diagnose.early_warning import analyse, check_options
    from symreg.diagnose.signals import DEFAULT_SIGNALS

    signals = check_options(runs, tuple(signals or ()) or DEFAULT_SIGNALS, horizon, max_fpr)  # even for one run
    if len(runs) < 2:
        return None
    return analyse(runs, signals=signals, horizon=horizon, max_fpr=max_fpr, generalize_acc=generalize_acc)


def diagnose(paths: Iterable, *, signals: Iterable[str] | None = None, horizon: int | None = None,
             max_fpr: float = MAX_FPR, write: bool = True, warn: Callable[[str], None] | None = None,
             **levels) -> dict:
    """Phase events of every run under ``paths``, and the early warning over them.

    ``levels`` are :class:`Thresholds` fields (``generalize_acc=0.95``). Returns
    ``{"runs": [events per run], "generalization": generalization_summary(...),
    "early_warning": dict or None, "warnings": [str]}``;
    with ``write``, each run's events go to its ``events.json``; ``warn`` gets
    each warning as it is found.
    """
    th = thresholds(**levels)
    runs, warnings = load(paths, warn)
    evs = [events(r, th) for r in runs]
    warning = warning_for(runs, signals, horizon, max_fpr, th.generalize_acc)  # a bad signal stops here
    if write:  # only once nothing can fail any more
        for run, ev in zip(runs, evs):
            RunDir(run.path).write_events(ev)
    return {"runs": evs, "generalization": generalization_summary(evs), "early_warning": warning,
            "warnings": warnings}


def run_row(run: Run, th: Thresholds = Thresholds()) -> dict:
    """One run as a flat dict: what it is, how it was trained, where it got to, its last metrics."""
    cfg, train = run.config, run.config.get("train") or {}
    ev = events(run, th) if run.rows else {}
    last = run.rows[-1] if run.rows else {}
    return {
        "path": str(run.path), "task": cfg.get("task"), "params": cfg.get("params"), "seed": cfg.get("seed"),
        **{k: train.get(k) for k in SETTINGS}, "epoch_cap": train.get("epochs"),
        "status": run.status.get("state"), "epochs": last.get("epoch"),
        "memorization": ev.get("memorization"), "generalization": ev.get("generalization"),
        "geometric_organization": ev.get("geometric_organization"),
        **{k: last.get(k) for k in FINAL},
    }


def runs_table(paths: Iterable, **levels) -> list[dict]:
    """One row per run under ``paths`` (:func:`run_row`), runs without metrics included.

    Keys: path, task, params, seed, the settings in :data:`SETTINGS`, epoch_cap,
    status (running / interrupted / done), epochs (the last evaluated), the
    memorization, generalization and geometric_organization epochs (None: not
    reached), and the last evaluation's metrics in :data:`FINAL`.
    """
    paths = [str(p) for p in paths]
    th = thresholds(**levels)
    runs, problems = load_runs(paths)
    if not runs:
        raise UsageError(f"No run directory in {', '.join(paths)} ({'; '.join(problems)}).")
    return [run_row(r, th) for r in runs]

