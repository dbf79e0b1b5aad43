"""Is a signal an early warning of generalization? Tested the way a detector is tested.

The paper (arXiv 2603.01968, Sec. 6.2, App. B) claims a soft threshold: once a
run's maximum instance-level symmetry violation falls below a task-specific
level, the run reaches perfect test accuracy. This module turns that claim into
a detector and scores it on runs, next to the baselines the field uses, in the
protocol of the F-I-T "hard indicators" study: thresholds calibrated on some
seeds, lead time and false alarms measured on held-out seeds, ROC-AUC.
Pure Python and numpy; it reads :class:`symreg.runs.reading.Run` objects, never a model.

Choices, and why
----------------
**The criterion, per run** (:func:`predicted_epoch`): the first alarm is the
first evaluation with ``value < threshold``, over the whole run (so an alarm
after generalization shows up as a *late* warning). ``lead_time =
generalization_epoch - first_alarm``; positive means warned in advance. There
is no hold/persistence requirement, as in the paper. Generalizing runs are
sorted into *warned before* (lead > 0; this includes alarms more than
``horizon`` early, which are *also* counted as false alarms), *warned late*
(lead <= 0: an alarm at the very evaluation that generalizes is not a
warning) and *never warned*. Coverage = warned before / generalizing runs.

**Samples and labels for the pooled detector** (:func:`pooled_samples`): every
evaluation ``t`` with a value, taken *before* its run generalizes (``t < g``;
every evaluation of a run that never generalizes) is one sample. Label 1 if
the run generalizes within the next ``horizon`` epochs (``g - t <= horizon``),
else 0. Evaluations of never-generalizing runs are all negatives, including
the last ``horizon`` epochs of a run that might have generalized just after
training stopped (right-censored); this is conservative (it can only add false
alarms) and ``drop_censored=True`` leaves them out of the pooled samples
(calibration and pooled rates; run-level counts are unchanged) instead. The score is
``-value``; ROC-AUC is rank-based, so ``-value`` and ``-log(value)`` give the
same AUC and no log (which fails at 0) is taken.

**ROC-AUC** (:func:`roc_auc`) is the Mann-Whitney U statistic divided by
``n_pos * n_neg``, ties getting average ranks (a tied positive/negative pair
counts one half); ``None`` when a class is empty. :func:`auc_by_epoch` gives
the same AUC across runs at each evaluation epoch, using only epochs at which
every run that has not yet generalized has a value (runs that already
generalized are not samples there), and only where both classes occur.

**Horizon** (:func:`default_horizon`): when not given, 10% (``HORIZON_FRACTION``)
of the last epoch of the longest *calibration* run, rounded up, but at least the
median spacing between evaluations (so that label 1 is not empty by
construction); 1000 (``FALLBACK_HORIZON``) if there is nothing to measure. It
is computed from calibration runs only so nothing about the held-out runs
enters the detector.

**Calibration vs held-out** (:func:`split_runs`): runs are split by run (a
run is a seed, so this is a seed-level split), deterministically from
``seed``, after sorting runs by path and seed so the input order does not
matter, and stratified by outcome (generalized or not) so both halves see
both kinds of run when possible; each half gets at least one run when there
are two or more. :func:`calibrate_threshold` picks the *largest* threshold
whose pooled false-positive rate (alarms ``value < threshold`` on label-0
samples) on the calibration runs is <= ``max_fpr``: with negatives sorted
ascending ``v_0 <= v_1 <= ...`` and ``k = floor(max_fpr * n_neg)`` that is
``v_k`` exactly (strict ``<`` makes the supremum attained); ``inf`` when
``k >= n_neg``; ``None`` when the calibration runs have no negative sample.
Sample-level calibration (the default, as in F-I-T) does not bound the
*run*-level false-alarm rate of a first-alarm rule: a run with hundreds of
evaluations on a noisy plateau almost surely has one below a 5% quantile.
``level="run"`` calibrates that rate instead (each run's smallest label-0
value, same quantile rule), which is what the paper's per-run criterion needs.
:func:`evaluate_detector` then applies it, unchanged, to the held-out runs.

**False alarms, per run.** A run raises a false alarm if it alarms at a
label-0 sample: a never-generalizing run that alarms at all, or a generalizing
run whose first alarm is more than ``horizon`` epochs before it generalizes.
The run-level false-positive rate divides their number by the runs *at risk*
(runs with at least one label-0 sample); the rate among never-generalizing
runs alone is reported too. Pooled sample-level FPR and TPR at the threshold
are alarms on label-0 / label-1 samples.

**The paper's association test** (:func:`sign_test`): per run, the criterion is
*consistent* if ``(final value < threshold) == (run generalized)``, with the
final value the last non-missing one. Under the null that consistency is a
coin flip, ``p = P(X >= k | n, 1/2)`` exactly (``sum comb(n, i), i >= k, over
2**n``), so 20/20 gives ``2**-20 = 9.5367e-7``, the paper's first p-value.
(The paper's other two, ``2.734e-2 = 7/256`` and ``2**-5``, are exact tails of
a Wilcoxon signed-rank test with n = 8 and n = 5, and 7/256 is not a sign-test
tail for any n <= 40, so the paper's test may have been a signed-rank test;
the sign test is what is implemented here.) It also reports the Mann-Whitney
AUC of ``-final value`` for generalized vs not, when both exist.

**The protocol** (:func:`analyse`): split, horizon from the calibration runs,
then per signal: threshold from calibration runs, detector metrics on held-out
runs, the sign test on held-out runs (threshold chosen elsewhere, so honest)
and on all runs (``sign_test_all``, comparable to the paper's 20-seed numbers
but in-sample for the calibration half), and :func:`auc_by_epoch` on all runs
(descriptive, no threshold). The result is JSON-ready: non-finite floats
become ``None`` with a note. Runs with no rows, and runs whose signal is
missing everywhere, are skipped with a note; no runs, all runs generalizing
or none generalizing give ``None`` where a number is undefined, never an
exception (a signal name that is not a signal, or a rate outside [0, 1], is a
:class:`~symreg.errors.UsageError`). :func:`symreg.diagnose.warning_report.markdown`
renders it as a report section and :func:`~symreg.diagnose.warning_report.summary_rows`
as a printed table.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from symreg.diagnose.detector import (
    FALLBACK_HORIZON,
    FPR_LEVELS,
    MAX_FPR,
    auc_by_epoch,
    calibrate_threshold,
    check_horizon,
    check_max_fpr,
    evaluate_detector,
    pooled_samples,
    rates,
    run_sort_key,
    sign_test,
)
from symreg.diagnose.signals import DEFAULT_SIGNALS, check_signals
from symreg.errors import UsageError, unknown
from symreg.runs.criterion import generalization_epoch, thresholds_of
from symreg.runs.reading import Run

HORIZON_FRACTION = 0.1  # default horizon: this share of the longest calibration run
# fewer held-out runs than this: the statistics are reported, flagged as meaningless (too_few_runs)
MIN_HELD_OUT = 5


def check_options(runs=(), signals=DEFAULT_SIGNALS, horizon: float | None = None, max_fpr: float = MAX_FPR,
                  level: str = "sample") -> list[str]:
    """The signals, once every option of :func:`analyse` is valid; else a :class:`~symreg.errors.UsageError`.

    Call it before anything is written, even for one run (which :func:`analyse` needs two of).

    >>> check_options(signals=["violation"], max_fpr=0.1)
    ['violation']
    >>> check_options(horizon=-1)
    Traceback (most recent call last):
    symreg.errors.UsageError: horizon = -1 must be a positive number of epochs.
    """
    signals = check_signals(signals, runs)
    check_max_fpr(max_fpr)
    check_horizon(horizon)
    if level not in FPR_LEVELS:
        raise unknown("false-positive level", level, FPR_LEVELS)
    return signals


def split_runs(runs, calibrate_fraction: float = 0.5, seed: int = 0,
               generalize_acc: float | None = None) -> tuple[list[Run], list[Run]]:
    """Split runs (seeds) into calibration and held-out sets, stratified by outcome.

    Deterministic given ``seed`` and independent of the order of ``runs``.

    Examples
    --------
    >>> from pathlib import Path
    >>> runs = [Run(Path(f"r{i}"), {"seed": i}, [{"epoch": 0, "test_acc": float(i % 2)}])
    ...         for i in range(6)]
    >>> cal, test = split_runs(runs)
    >>> len(cal), len(test), split_runs(runs[::-1]) == (cal, test)
    (3, 3, True)
    """
    if not 0 <= calibrate_fraction <= 1:
        raise UsageError(f"calibrate_fraction = {calibrate_fraction} must be in [0, 1].")
    ordered = sorted(runs, key=run_sort_key)
    rng = np.random.default_rng(seed)
    strata = [[r for r in ordered if generalization_epoch(r, generalize_acc) is not None],
              [r for r in ordered if generalization_epoch(r, generalize_acc) is None]]
    # shuffle each stratum, interleave them proportionally, take the first round(fraction * n)
    keyed = []
    for j, stratum in enumerate(strata):
        for i, idx in enumerate(rng.permutation(len(stratum))):
            keyed.append(((i + 0.5) / len(stratum), j, stratum[idx]))
    queue = [r for *_, r in sorted(keyed, key=lambda t: t[:2])]
    n_cal = int(math.floor(calibrate_fraction * len(queue) + 0.5))
    cal, test = queue[:n_cal], queue[n_cal:]
    if len(ordered) >= 2 and 0 < calibrate_fraction < 1:
        if not test:
            test.append(cal.pop())
        elif not cal:
            cal.append(test.pop())
    return cal, test


def default_horizon(runs) -> int:
    """``HORIZON_FRACTION`` of the longest run's last epoch (rounded up), at least the median evaluation spacing.

    Examples
    --------
    >>> from pathlib import Path
    >>> default_horizon([Run(Path("r"), {}, [{"epoch": e} for e in range(0, 5001, 100)])])
    500
    >>> default_horizon([Run(Path("r"), {}, [{"epoch": e} for e in range(0, 5001, 1000)])])
    1000
    >>> default_horizon([])
    1000
    """
    lasts = [r.rows[-1]["epoch"] for r in runs if r.rows]
    gaps = [b["epoch"] - a["epoch"] for r in runs for a, b in zip(r.rows, r.rows[1:])]
    if not lasts or max(lasts) <= 0:
        return FALLBACK_HORIZON
    h = math.ceil(HORIZON_FRACTION * max(lasts))
    if gaps:
        h = max(h, int(math.ceil(float(np.median(gaps)))))
    return max(h, 1)


def too_few_note(held_out: int, runs: int) -> str:
    """Why statistics over fewer than :data:`MIN_HELD_OUT` held-out runs mean nothing.

    >>> too_few_note(1, 2)
    'only 1 held-out run (of 2): too few (< 5) for the ROC-AUC, lead times or sign test to mean anything; 10 seeds give 5'
    """
    return (f"only {held_out} held-out run{'s' if held_out != 1 else ''} (of {runs}): too few (< {MIN_HELD_OUT}) "
            f"for the ROC-AUC, lead times or sign test to mean anything; {2 * MIN_HELD_OUT} seeds give {MIN_HELD_OUT}")


def _json_ready(x, notes: list, where: str = ""):
    if isinstance(x, dict):
        return {k: _json_ready(v, notes, f"{where}.{k}" if where else str(k)) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_ready(v, notes, where) for v in x]
    if isinstance(x, (np.floating, np.integer)):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        notes.append(f"{where} was {x}; reported as null")
        return None
    return x


def analyse(runs: Sequence[Run], signals=DEFAULT_SIGNALS, horizon: float | None = None,
            max_fpr: float = MAX_FPR, calibrate_fraction: float = 0.5, seed: int = 0,
            generalize_acc: float | None = None, drop_censored: bool = False,
            level: str = "sample") -> dict:
    """The whole protocol, for each signal side by side; a JSON-ready dict.

    Split runs (:func:`split_runs`); horizon from the calibration runs unless
    given (:func:`default_horizon`); per signal: threshold on calibration runs
    (:func:`calibrate_threshold`), detector metrics on held-out runs
    (:func:`evaluate_detector`), the sign test on held-out and on all runs, and
    :func:`auc_by_epoch` on all runs. With fewer than :data:`MIN_HELD_OUT`
    held-out runs, ``too_few_runs`` is true and the first note says the numbers
    mean nothing (the reports then show that note instead of the numbers).

    Parameters
    ----------
    runs : sequence of Run
        Runs of one task (one threshold is calibrated for all of them).
    signals : sequence of str
        Signal names (:func:`signal_series`).
    horizon : float, optional
        Epochs ahead that count as "upcoming"; default :func:`default_horizon`
        of the calibration runs.
    max_fpr : float
        False-positive rate allowed on the calibration runs.
    calibrate_fraction, seed : float, int
        Passed to :func:`split_runs`.
    generalize_acc : float, optional
        Test accuracy that counts as generalized (default: each run's own, as ``diagnose``).
    drop_censored : bool
        Leave the label-unknown tail of never-generalizing runs out of the pooled samples.
    level : {"sample", "run"}
        What ``max_fpr`` bounds (:func:`calibrate_threshold`).

    Examples
    --------
    >>> from pathlib import Path
    >>> def run(i, gen):
    ...     rows = [{"epoch": e, "test_acc": float(gen is not None and e >= gen),
    ...              "violation_max": {"c": 1e-5 if gen is not None and e >= gen - 20 else 1.0}}
    ...             for e in range(0, 200, 10)]
    ...     return Run(Path(f"r{i}"), {"task": "t", "seed": i}, rows)
    >>> res = analyse([run(i, 100 + 10 * i if i % 2 else None) for i in range(8)],
    ...               signals=("violation",), horizon=20)
    >>> v = res["signals"]["violation"]
    >>> v["threshold"], v["held_out"]["pooled"]["roc_auc"], v["held_out"]["lead_time"]["median"]
    (1.0, 1.0, 20.0)
    """
    signals = check_options(runs, signals, horizon, max_fpr, level)
    notes: list[str] = []
    usable = []
    for run in runs:
        if run.rows:
            usable.append(run)
        else:
            notes.append(f"{run.name} ({run.path}): no evaluations; skipped")
    cal, test = split_runs(usable, calibrate_fraction, seed, generalize_acc)
    if horizon is None:
        horizon = default_horizon(cal)
        horizon_source = "default: 10% of the longest calibration run, at least one evaluation interval"
    else:
        horizon_source = "given"
    n_gen = sum(generalization_epoch(r, generalize_acc) is not None for r in usable)
    levels = thresholds_of(usable, generalize_acc)
    if not usable:
        notes.append("no run has evaluations; nothing to analyse")
    elif n_gen == 0:
        notes.append("no run generalized: lead times and the positive class are undefined")
    elif n_gen == len(usable):
        notes.append("every run generalized: only pre-generalization evaluations can be negatives")
    too_few = len(test) < MIN_HELD_OUT
    if too_few:
        notes.insert(0, too_few_note(len(test), len(usable)))
    result = {
        "protocol": {
            "n_runs": len(runs), "n_used": len(usable), "n_generalized": n_gen,
            "calibration_runs": [r.name for r in cal],
            "held_out_runs": [r.name for r in test],
            "horizon": horizon, "horizon_source": horizon_source, "max_fpr": max_fpr,
            "calibrate_fraction": calibrate_fraction, "seed": seed,
            "generalize_acc": levels[0] if len(levels) == 1 else levels,
            "drop_censored": drop_censored, "fpr_level": level,
        },
        "too_few_runs": too_few,
        "signals": {},
        "notes": notes,
    }
    for sig in signals:
        sig_notes: list[str] = []
        cal_s = pooled_samples(cal, sig, horizon, generalize_acc, drop_censored)
        sig_notes += [f"calibration: {m}" for m in cal_s["notes"]]
        threshold = calibrate_threshold(cal, sig, horizon, max_fpr, generalize_acc, drop_censored, level)
        if threshold is None:
            sig_notes.append("no label-0 sample among calibration runs: no threshold")
        held = evaluate_detector(test, sig, threshold, horizon, generalize_acc, drop_censored)
        sig_notes += [f"held-out: {m}" for m in held.pop("notes")]
        st = sign_test(test, sig, threshold, generalize_acc)
        st_all = sign_test(usable, sig, threshold, generalize_acc)
        st.pop("notes")
        st_all.pop("notes")
        result["signals"][sig] = {
            "threshold": threshold,
            "calibration": rates(cal_s["values"], cal_s["labels"], threshold),
            "held_out": held,
            "sign_test": st,
            "sign_test_all": st_all,
            "auc_by_epoch": auc_by_epoch(usable, sig, horizon, generalize_acc),
            "notes": sig_notes,
        }
    extra: list[str] = []
    result = _json_ready(result, extra)
    result["notes"] += extra
    return result
