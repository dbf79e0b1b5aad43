"""The threshold detector behind the early-warning protocol: samples, calibration, scores.

Each function takes :class:`symreg.runs.reading.Run` objects and a signal name; the
choices (labels, horizon, first-alarm rule, quantile calibration, the sign
test) are set out in :mod:`symreg.diagnose.early_warning`, which runs the protocol.
"""
from __future__ import annotations

import math
import re

from symreg.diagnose.signals import predicted_epoch, signal_series
from symreg.diagnose.stats import quantiles, roc_auc, sign_test_p
from symreg.errors import UsageError, unknown
from symreg.runs.criterion import generalization_epoch
from symreg.runs.reading import Run

FALLBACK_HORIZON = 1000  # epochs ahead that count as "upcoming" when nothing else decides
MAX_FPR = 0.05  # default false-positive rate a threshold is calibrated to
FPR_LEVELS = ("sample", "run")  # what a calibrated false-positive rate bounds
_EPS = 1e-9  # slack for max_fpr * n landing a hair below an integer


# --------------------------------------------------------------------------- signals

def check_max_fpr(max_fpr: float) -> float:
    """``max_fpr`` if it is a rate in [0, 1], else :class:`~symreg.errors.UsageError`.

    >>> check_max_fpr(0.05)
    0.05
    >>> check_max_fpr(2)
    Traceback (most recent call last):
    symreg.errors.UsageError: max_fpr = 2 must be a rate in [0, 1].
    """
    if not 0 <= max_fpr <= 1:
        raise UsageError(f"max_fpr = {max_fpr} must be a rate in [0, 1].")
    return max_fpr


def check_horizon(horizon: float | None) -> float | None:
    """``horizon`` if it is a positive number of epochs (or None: chosen from the runs).

    >>> check_horizon(0)
    Traceback (most recent call last):
    symreg.errors.UsageError: horizon = 0 must be a positive number of epochs.
    """
    if horizon is not None and not horizon > 0:
        raise UsageError(f"horizon = {horizon} must be a positive number of epochs.")
    return horizon


def _prepare(runs, signal, generalize_acc):
    """(run, epochs, values, gen) for each usable run, and notes on the skipped ones."""
    table, notes = [], []
    for run in runs:
        if not run.rows:
            notes.append(f"{run.name} ({run.path}): no evaluations; skipped")
            continue
        epochs, values = signal_series(run, signal)
        if all(v is None for v in values):
            notes.append(f"{run.name} ({run.path}): signal {signal!r} missing; skipped")
            continue
        missing = sum(v is None for v in values)
        if missing:
            notes.append(f"{run.name} ({run.path}): {missing} of {len(values)} evaluations "
                         f"lack {signal!r}; those evaluations skipped")
        table.append((run, epochs, values, generalization_epoch(run, generalize_acc)))
    return table, notes


# --------------------------------------------------------------------------- samples

def pooled_samples(runs, signal: str = "violation", horizon: float = FALLBACK_HORIZON,
                   generalize_acc: float | None = None, drop_censored: bool = False) -> dict:
    """Labelled (run, epoch) samples for the pooled detector.

    A sample is an evaluation before its run generalizes (every evaluation of a
    run that never does); label 1 if the run generalizes within ``horizon``
    epochs. ``drop_censored`` leaves out the last ``horizon`` epochs of runs
    that never generalize (their label is unknown).

    Returns
    -------
    dict
        ``values``, ``labels`` (0/1), ``epochs``, ``run`` (index into the
        usable runs), ``runs`` (their names) and ``notes``.

    Examples
    --------
    >>> from pathlib import Path
    >>> rows = [{"epoch": e, "test_acc": float(e >= 30), "param_norm": 10.0 - e / 10}
    ...         for e in range(0, 50, 10)]
    >>> s = pooled_samples([Run(Path("r"), {}, rows)], "param_norm", horizon=10)
    >>> s["epochs"], s["labels"]
    ([0, 10, 20], [0, 0, 1])
    """
    table, notes = _prepare(runs, signal, generalize_acc)
    out = {"values": [], "labels": [], "epochs": [], "run": [], "runs": [], "notes": notes}
    for i, (run, epochs, values, gen) in enumerate(table):
        out["runs"].append(run.name)
        last = epochs[-1]
        for e, v in zip(epochs, values):
            if v is None or (gen is not None and e >= gen):
                continue
            if gen is None and drop_censored and last - e < horizon:
                continue
            out["values"].append(v)
            out["labels"].append(int(gen is not None and gen - e <= horizon))
            out["epochs"].append(e)
            out["run"].append(i)
    return out


def auc_by_epoch(runs, signal: str = "violation", horizon: float = FALLBACK_HORIZON,
                 generalize_acc: float | None = None) -> list[dict]:
    """Across runs, at each epoch, AUC of ``-value`` for "generalizes within ``horizon``".

    Only epochs at which every run that has not generalized yet has a value
    are used, and only those where both classes occur.

    Examples
    --------
    >>> from pathlib import Path
    >>> def run(gen, vals):
    ...     return Run(Path("r"), {}, [{"epoch": 10 * i, "test_acc": float(gen is not None
    ...                 and 10 * i >= gen), "param_norm": v} for i, v in enumerate(vals)])
    >>> auc_by_epoch([run(20, [3, 1, 1]), run(None, [3, 2, 2])], "param_norm", horizon=10)
    [{'epoch': 10, 'n_pos': 1, 'n_neg': 1, 'auc': 1.0}]
    """
    table, _ = _prepare(runs, signal, generalize_acc)
    maps = [(dict(zip(epochs, values)), gen) for _, epochs, values, gen in table]
    all_epochs = sorted({e for _, epochs, _, _ in table for e in epochs})
    out = []
    for t in all_epochs:
        pending = [(m, gen) for m, gen in maps if gen is None or t < gen]
        if not pending or any(m.get(t) is None for m, _ in pending):
            continue
        labels = [int(gen is not None and gen - t <= horizon) for _, gen in pending]
        auc = roc_auc([-m[t] for m, _ in pending], labels)
        if auc is not None:
            out.append({"epoch": t, "n_pos": sum(labels), "n_neg": len(labels) - sum(labels),
                        "auc": auc})
    return out


# --------------------------------------------------------------------------- protocol

def _natural(text: str) -> tuple:
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text))


def run_sort_key(run: Run) -> tuple:
    """Order runs by path, then seed and task, numbers compared as numbers (``seed-10`` after ``seed-9``).

    >>> from pathlib import Path
    >>> [r.config["seed"] for r in sorted([Run(Path(f"b/seed-{i}"), {"seed": i}, []) for i in (10, 9)],
    ...                                   key=run_sort_key)]
    [9, 10]
    """
    return (_natural(str(run.path)), _natural(str(run.config.get("seed"))),
            str(run.config.get("task")))


def calibrate_threshold(cal_runs, signal: str = "violation", horizon: float = FALLBACK_HORIZON,
                        max_fpr: float = MAX_FPR, generalize_acc: float | None = None,
                        drop_censored: bool = False, level: str = "sample") -> float | None:
    """Largest threshold whose pooled false-positive rate on ``cal_runs`` is <= ``max_fpr``.

    An alarm is ``value < threshold``; a false positive is an alarm on a
    label-0 sample (see :func:`pooled_samples`). With ``level="run"`` the
    rate is over runs instead: the fraction of calibration runs with a label-0
    sample that raise at least one false alarm (the same quantile rule,
    applied to each run's smallest label-0 value). Returns None when the
    calibration runs have no label-0 sample, ``inf`` when ``max_fpr`` allows
    every negative to alarm.

    Examples
    --------
    >>> from pathlib import Path
    >>> rows = [{"epoch": e, "test_acc": 0.0, "param_norm": float(e)} for e in range(20)]
    >>> calibrate_threshold([Run(Path("r"), {}, rows)], "param_norm", 5, max_fpr=0.1)
    2.0
    >>> calibrate_threshold([Run(Path("r"), {}, rows)], "param_norm", 5, 0.1, level="run")
    0.0
    """
    check_max_fpr(max_fpr)
    if level not in FPR_LEVELS:
        raise unknown("false-positive level", level, FPR_LEVELS)
    s = pooled_samples(cal_runs, signal, horizon, generalize_acc, drop_censored)
    pairs = [(v, i) for v, y, i in zip(s["values"], s["labels"], s["run"]) if y == 0]
    if level == "run":
        minima: dict[int, float] = {}
        for v, i in pairs:
            minima[i] = min(v, minima.get(i, math.inf))
        neg = sorted(minima.values())
    else:
        neg = sorted(v for v, _ in pairs)
    if not neg:
        return None
    k = int(math.floor(max_fpr * len(neg) + _EPS))
    return math.inf if k >= len(neg) else float(neg[k])


def rates(values, labels, threshold) -> dict:
    """Pooled counts, FPR and TPR of the alarm ``value < threshold``, and the ROC-AUC of ``-value``.

    >>> rates([0.1, 0.2, 5.0, 6.0], [1, 1, 0, 0], 1.0)
    {'n_pos': 2, 'n_neg': 2, 'fpr': 0.0, 'tpr': 1.0, 'roc_auc': 1.0}
    """
    n1 = sum(labels)
    n0 = len(labels) - n1
    auc = roc_auc([-v for v in values], labels) if values else None
    if threshold is None:
        return {"n_pos": n1, "n_neg": n0, "fpr": None, "tpr": None, "roc_auc": auc}
    fp = sum(1 for v, y in zip(values, labels) if y == 0 and v < threshold)
    tp = sum(1 for v, y in zip(values, labels) if y == 1 and v < threshold)
    return {"n_pos": n1, "n_neg": n0, "fpr": fp / n0 if n0 else None,
            "tpr": tp / n1 if n1 else None, "roc_auc": auc}


def evaluate_detector(test_runs, signal: str = "violation", threshold: float | None = None,
                      horizon: float = FALLBACK_HORIZON,
                      generalize_acc: float | None = None, drop_censored: bool = False) -> dict:
    """Score a fixed threshold on (held-out) runs: lead times, false alarms, FPR/TPR, AUC.

    Returns
    -------
    dict
        ``per_run`` (name, path, generalized, generalization_epoch,
        first_alarm, lead_time, outcome), ``lead_time`` (quantiles over
        generalizing runs that alarmed, and counts warned_before /
        warned_late / never_warned, coverage), ``false_alarms`` (runs,
        count, runs_at_risk, rate, non_generalizing_rate), ``pooled``
        (n_pos, n_neg, fpr, tpr, roc_auc) and ``notes``.

    Examples
    --------
    >>> from pathlib import Path
    >>> rows = [{"epoch": e, "test_acc": float(e >= 40), "param_norm": 10.0 - e / 10}
    ...         for e in range(0, 60, 10)]
    >>> ev = evaluate_detector([Run(Path("r"), {}, rows)], "param_norm", 7.5, horizon=20)
    >>> ev["per_run"][0]["first_alarm"], ev["per_run"][0]["lead_time"], ev["false_alarms"]["count"]
    (30, 10, 0)
    """
    table, notes = _prepare(sorted(test_runs, key=run_sort_key), signal, generalize_acc)
    per_run, leads = [], []
    warned_before = warned_late = never = 0
    early, quiet_fail, at_risk = [], [], 0
    for run, epochs, values, gen in table:
        alarm = predicted_epoch(epochs, values, threshold)
        lead = gen - alarm if gen is not None and alarm is not None else None
        if gen is None:
            at_risk += any(v is not None for v in values)
            outcome = "quiet" if alarm is None else "false alarm"
            if alarm is not None:
                quiet_fail.append(run.name)
        else:
            at_risk += any(v is not None and e < gen - horizon for e, v in zip(epochs, values))
            if alarm is None:
                never += 1
                outcome = "never warned"
            elif lead <= 0:
                warned_late += 1
                outcome = "late"
                leads.append(lead)
            else:
                warned_before += 1
                leads.append(lead)
                outcome = "warned"
                if lead > horizon:
                    early.append(run.name)
                    outcome = "too early (false alarm)"
        per_run.append({"run": run.name, "path": str(run.path), "generalized": gen is not None,
                        "generalization_epoch": gen, "first_alarm": alarm, "lead_time": lead,
                        "outcome": outcome})
    n_gen = sum(1 for *_, g in table if g is not None)
    n_not = len(table) - n_gen
    s = pooled_samples(test_runs, signal, horizon, generalize_acc, drop_censored)
    count = len(early) + len(quiet_fail)
    if threshold is None:  # no criterion to score: only the threshold-free AUC is defined
        notes.append("no threshold: run-level alarms, lead times and rates are undefined")
        for r in per_run:
            r["outcome"] = None
        leads, warned_before, warned_late, never, count = [], None, None, None, None
        early, quiet_fail, at_risk = None, None, None
    return {
        "signal": signal, "threshold": threshold, "horizon": horizon,
        "n_runs": len(table), "n_generalized": n_gen, "n_not_generalized": n_not,
        "per_run": per_run,
        "lead_time": {**quantiles(leads), "warned_before": warned_before, "warned_late": warned_late,
                      "never_warned": never,
                      "coverage": warned_before / n_gen if n_gen and warned_before is not None else None},
        "false_alarms": {"never_generalized_alarmed": quiet_fail, "alarmed_too_early": early,
                         "count": count, "runs_at_risk": at_risk,
                         "rate": count / at_risk if at_risk else None,
                         "non_generalizing_rate": (len(quiet_fail) / n_not
                                                   if n_not and quiet_fail is not None else None)},
        "pooled": rates(s["values"], s["labels"], threshold),
        "notes": notes,
    }


def sign_test(runs, signal: str = "violation", threshold: float | None = None,
              generalize_acc: float | None = None) -> dict:
    """The paper's association test: does ``final value < threshold`` agree with the outcome?

    ``p = P(X >= k | n, 1/2)`` for ``k`` consistent runs of ``n``; also the
    Mann-Whitney AUC of ``-final value`` for generalized vs not.

    Examples
    --------
    >>> from pathlib import Path
    >>> runs = [Run(Path(f"r{i}"), {"seed": i}, [{"epoch": 0, "test_acc": float(i < 10),
    ...          "violation_max": {"c": 1e-5 if i < 10 else 1.0}}]) for i in range(20)]
    >>> t = sign_test(runs, "violation", 1e-3)
    >>> t["k"], t["n"], t["p"] == 2 ** -20, t["auc_final"]
    (20, 20, True, 1.0)
    """
    table, notes = _prepare(runs, signal, generalize_acc)
    finals, outcomes, per_run = [], [], []
    for run, _, values, gen in table:
        final = next(v for v in reversed(values) if v is not None)
        finals.append(final)
        outcomes.append(int(gen is not None))
        consistent = None if threshold is None else (final < threshold) == (gen is not None)
        per_run.append({"run": run.name, "final": final, "generalized": gen is not None,
                        "consistent": consistent})
    n = len(table)
    k = None if threshold is None else sum(bool(r["consistent"]) for r in per_run)
    return {"signal": signal, "threshold": threshold, "n": n, "k": k,
            "p": sign_test_p(k, n) if threshold is not None and n else None,
            "n_generalized": sum(outcomes), "n_not_generalized": n - sum(outcomes),
            "auc_final": roc_auc([-f for f in finals], outcomes) if finals else None,
            "per_run": per_run, "notes": notes}
