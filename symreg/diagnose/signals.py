"""Early-warning signals: one number per evaluation, lower = closer to generalizing.

**Signals.** A signal is one number per evaluation where *lower* means "closer
to generalizing" (:func:`signal_series`):

- ``"violation"`` (default; the paper's criterion): the maximum, over the
  run's symmetries that verify (:mod:`symreg.trust`), of ``violation_max`` (the maximum instance-level
  violation). The run's symmetries are the union of the keys of all its rows;
  a row missing any of them (or holding NaN) gives ``None``, because a max
  over fewer symmetries could be falsely low.
- ``"violation:<sym>"``: ``violation_max`` of one symmetry.
- baselines ``"param_norm"`` (weight norm, falls under weight decay while a
  run groks) and ``"train_loss"``; optionally ``"eff_dim"``.

Test loss and accuracy are deliberately not signals: they define the label.
NaN is treated as missing; ``inf`` is a legitimate (very high) value.

**Generalization** is :func:`symreg.runs.criterion.generalization_epoch`: the
first evaluation with held-out test accuracy >= ``generalize_acc`` (default:
the level each run was trained with), the rule
:func:`symreg.diagnose.phases.events` uses, so the two agree on which runs
generalized. A run that never gets there is a negative run.
"""
from __future__ import annotations

import math

from symreg.errors import unknown
from symreg.runs.reading import Run

VIOLATION = "violation"
BASELINES = ("param_norm", "train_loss", "eff_dim")
DEFAULT_SIGNALS = (VIOLATION, "param_norm", "train_loss")


def _clean(v) -> float | None:
    """A float, or None for missing/NaN/non-numeric values."""
    if v is None or isinstance(v, bool):
        return None
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def signal_names(symmetries=()) -> list[str]:
    """Every valid signal name, given the symmetries runs record.

    >>> signal_names(["comm"])
    ['violation', 'violation:comm', 'param_norm', 'train_loss', 'eff_dim']
    """
    return [VIOLATION] + [f"{VIOLATION}:{s}" for s in symmetries] + list(BASELINES)


def check_signals(signals, runs=()) -> list[str]:
    """``signals`` as a list, or :class:`~symreg.errors.UnknownNameError` for one that is not a signal.

    ``violation:<sym>`` must name a symmetry some run records (any symmetry
    when no run records one).

    >>> check_signals(["violation", "param_norm"])
    ['violation', 'param_norm']
    >>> check_signals(["nope"])
    Traceback (most recent call last):
    symreg.errors.UnknownNameError: Unknown signal: 'nope'. Available: eff_dim, param_norm, train_loss, violation.
    """
    syms = list(dict.fromkeys(s for r in runs for s in r.symmetries()))
    valid = signal_names(syms)
    signals = list(signals)
    for name in signals:
        prefix, sep, sym = name.partition(":")
        if name in valid or (sep and prefix == VIOLATION and sym and not syms):
            continue
        raise unknown("signal", name, valid)
    return signals


def signal_series(run: Run, name: str = "violation") -> tuple[list[int], list[float | None]]:
    """Epochs and values of one signal of ``run`` (lower = closer to generalizing).

    Parameters
    ----------
    run : Run
        A run; its ``rows`` are read in order.
    name : str
        ``"violation"`` (max over the run's symmetries of ``violation_max``),
        ``"violation:<sym>"``, ``"param_norm"``, ``"train_loss"`` or ``"eff_dim"``.

    Returns
    -------
    epochs, values : list, list
        One entry per row; a value is ``None`` where it is missing or NaN.

    Examples
    --------
    >>> from pathlib import Path
    >>> rows = [{"epoch": 0, "violation_max": {"comm": 0.5, "assoc": 2.0}},
    ...         {"epoch": 10, "violation_max": {"comm": 1e-4, "assoc": 1e-3}},
    ...         {"epoch": 20, "violation_max": {"comm": 1e-5}}]
    >>> run = Run(Path("r"), {}, rows)
    >>> signal_series(run)
    ([0, 10, 20], [2.0, 0.001, None])
    >>> signal_series(run, "violation:comm")[1]
    [0.5, 0.0001, 1e-05]
    """
    epochs = [r["epoch"] for r in run.rows]
    if name == VIOLATION:  # over the symmetries that verify: a false one would dominate the max
        syms = [s for s in run.symmetries() if s not in run.untrusted]
        values = []
        for r in run.rows:
            vm = r.get("violation_max") or {}
            vs = [_clean(vm.get(s)) for s in syms]
            values.append(max(vs) if syms and all(v is not None for v in vs) else None)
    elif name.startswith(VIOLATION + ":"):
        sym = name.split(":", 1)[1]
        values = [_clean((r.get("violation_max") or {}).get(sym)) for r in run.rows]
    elif name in BASELINES:
        values = [_clean(r.get(name)) for r in run.rows]
    else:
        raise unknown("signal", name, signal_names(run.symmetries()))
    return epochs, values


def predicted_epoch(epochs, values, threshold) -> int | None:
    """The paper's criterion: first epoch whose value is below ``threshold`` (None if never).

    Examples
    --------
    >>> predicted_epoch([0, 10, 20, 30], [1.0, None, 5e-4, 1e-5], 1e-3)
    20
    >>> predicted_epoch([0, 10], [1.0, 0.5], 1e-3) is None
    True
    """
    if threshold is None:
        return None
    return next((e for e, v in zip(epochs, values) if v is not None and v < threshold), None)
