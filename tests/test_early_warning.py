"""symreg.diagnose.early_warning on synthetic runs: a detector scored the way detectors are scored."""
from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from symreg import diagnose as ew
from symreg.errors import UsageError
from symreg.runs import generalization_epoch
from symreg.runs.reading import Run

EVERY = 10
EPOCHS = 2000
HORIZON = 300


def synthetic_run(seed: int, gen: int | None, *, epochs: int = EPOCHS, every: int = EVERY,
                  horizon: int = HORIZON, plateau_noise: bool = True, task: str = "synth") -> Run:
    """A run whose violation (two symmetries) falls log-linearly inside the horizon before ``gen``.

    Before ``gen - horizon`` (and throughout, for a run that never generalizes)
    the violation sits on a plateau in [0.5, 1] (noisy) or at exactly 1.0; from
    ``gen - horizon`` it is below 0.1 and falls log-linearly to 1e-4 at
    ``gen - horizon / 3``, then stays there; test accuracy jumps to 1 at ``gen``.
    ``param_norm`` is noise independent of everything; train_loss falls for all runs.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for t in range(0, epochs + 1, every):
        if gen is not None and t >= gen - horizon:
            frac = min(1.0, (t - (gen - horizon)) / (2 * horizon / 3))
            v = 0.09 * 10 ** (-math.log10(900) * frac)  # 0.09 -> 1e-4
        else:
            v = float(rng.uniform(0.5, 1.0)) if plateau_noise else 1.0
        rows.append({
            "epoch": t,
            "train_loss": float(2.0 * math.exp(-t / 200) + 1e-3), "train_acc": float(t >= 200),
            "test_loss": 1.0, "test_acc": 1.0 if gen is not None and t >= gen else 0.05,
            "violation_mean": {"comm": v / 10, "assoc": v / 20},
            "violation_max": {"comm": v, "assoc": v / 2},
            "eff_dim": 10, "param_norm": float(rng.uniform(1.0, 2.0)),
        })
    return Run(Path(f"/nonexistent/{task}/seed{seed}"), {"task": task, "seed": seed}, rows)


def batch(n_gen: int, n_never: int, seed: int = 0, **kw) -> list[Run]:
    rng = np.random.default_rng(seed)
    gens = rng.integers(HORIZON + 100, EPOCHS - 100, n_gen) // EVERY * EVERY
    runs = [synthetic_run(i, int(g), **kw) for i, g in enumerate(gens)]
    runs += [synthetic_run(n_gen + j, None, **kw) for j in range(n_never)]
    return runs


def brute_auc(scores, labels):
    pos = [s for s, y in zip(scores, labels) if y]
    neg = [s for s, y in zip(scores, labels) if not y]
    if not pos or not neg:
        return None
    wins = sum(Fraction(1) if p > n else Fraction(1, 2) if p == n else 0 for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


# ----------------------------------------------------------------------------- signals

def test_signal_series_takes_the_max_over_symmetries():
    run = synthetic_run(0, 1000)
    epochs, v = ew.signal_series(run, "violation")
    _, comm = ew.signal_series(run, "violation:comm")
    assert epochs == [r["epoch"] for r in run.rows]
    assert v == comm  # comm is always the larger one
    assert ew.signal_series(run, "violation:assoc")[1] == [x / 2 for x in v]
    assert ew.signal_series(run, "param_norm")[1] == [r["param_norm"] for r in run.rows]


def test_signal_series_missing_symmetry_and_nan_are_none():
    rows = [{"epoch": 0, "violation_max": {"a": 1.0, "b": 2.0}},
            {"epoch": 1, "violation_max": {"a": 0.1}},
            {"epoch": 2, "violation_max": {"a": float("nan"), "b": 0.5}},
            {"epoch": 3}]
    assert ew.signal_series(Run(Path("x"), {}, rows))[1] == [2.0, None, None, None]
    with pytest.raises(UsageError, match="Unknown signal: 'test_acc'.*Available: .*violation:a"):
        ew.signal_series(Run(Path("x"), {}, rows), "test_acc")


def test_predicted_epoch_is_the_first_strictly_below():
    assert ew.predicted_epoch([0, 1, 2], [1.0, 0.5, 0.1], 0.5) == 2
    assert ew.predicted_epoch([0, 1, 2], [1.0, 0.5, 0.1], None) is None
    assert ew.predicted_epoch([], [], 1.0) is None


# ----------------------------------------------------------------------------- AUC

@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(-5, 5), st.booleans()), min_size=0, max_size=40))
def test_auc_matches_brute_force_pair_count(pairs):
    scores = [s for s, _ in pairs]
    labels = [y for _, y in pairs]
    got, want = ew.roc_auc(scores, labels), brute_auc(scores, labels)
    if want is None:
        assert got is None
    else:
        assert got == pytest.approx(float(want), abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.floats(-1e6, 1e6), st.booleans()), min_size=2, max_size=30))
def test_auc_is_one_minus_auc_of_negated_scores(pairs):
    s = [x for x, _ in pairs]
    y = [b for _, b in pairs]
    a, b = ew.roc_auc(s, y), ew.roc_auc([-x for x in s], y)
    assert (a is None) == (b is None)
    if a is not None:
        assert a + b == pytest.approx(1.0)


def test_auc_handles_infinities_and_rejects_nan():
    assert ew.roc_auc([math.inf, -math.inf, 0.0], [1, 0, 0]) == 1.0
    assert ew.roc_auc([math.inf, math.inf], [1, 0]) == 0.5
    with pytest.raises(UsageError, match="NaN"):
        ew.roc_auc([math.nan, 1.0], [1, 0])


# ----------------------------------------------------------------------------- sign test

def test_sign_test_p_values_match_the_paper_and_the_binomial_sum():
    assert ew.sign_test_p(20, 20) == 2 ** -20
    assert f"{ew.sign_test_p(20, 20):.4e}" == "9.5367e-07"
    assert ew.sign_test_p(5, 5) == 2 ** -5
    assert ew.sign_test_p(0, 0) is None
    for n in range(1, 31):
        for k in range(n + 1):
            want = sum(math.comb(n, i) for i in range(k, n + 1)) / 2 ** n
            assert ew.sign_test_p(k, n) == pytest.approx(want, rel=1e-12)


def test_sign_test_on_twenty_perfect_runs():
    runs = batch(10, 10)
    t = ew.sign_test(runs, "violation", 1e-3)
    assert (t["k"], t["n"]) == (20, 20)
    assert t["p"] == 2 ** -20
    assert t["auc_final"] == 1.0
    # a threshold nobody crosses: only the 10 never-generalizing runs are consistent
    t = ew.sign_test(runs, "violation", 1e-9)
    assert (t["k"], t["n"]) == (10, 20)
    assert t["p"] == pytest.approx(sum(math.comb(20, i) for i in range(10, 21)) / 2 ** 20)


# ----------------------------------------------------------------------------- detector

def test_perfect_signal_auc_one_positive_leads_no_false_alarms():
    runs = batch(12, 8, plateau_noise=False)
    cal, test = ew.split_runs(runs)
    thr = ew.calibrate_threshold(cal, "violation", HORIZON, max_fpr=0.05)
    assert thr == 1.0  # every negative sits at 1.0; alarms are strictly below
    ev = ew.evaluate_detector(test, "violation", thr, HORIZON)
    assert ev["pooled"]["roc_auc"] == 1.0
    assert ev["pooled"]["fpr"] == 0.0 and ev["pooled"]["tpr"] == 1.0
    lt = ev["lead_time"]
    assert lt["warned_before"] == ev["n_generalized"] > 0
    assert lt["warned_late"] == lt["never_warned"] == 0
    assert lt["min"] == lt["max"] == HORIZON  # first alarm exactly when the fall starts
    assert ev["false_alarms"]["count"] == 0 and ev["false_alarms"]["rate"] == 0.0
    for r in ev["per_run"]:
        assert (r["outcome"] == "warned") == r["generalized"]
        assert r["generalized"] or r["outcome"] == "quiet"


def test_perfect_signal_with_noise_still_auc_one():
    res = ew.analyse(batch(14, 6, seed=3), horizon=HORIZON, seed=1)
    v = res["signals"]["violation"]
    assert v["calibration"]["roc_auc"] == 1.0
    assert v["held_out"]["pooled"]["roc_auc"] == 1.0
    assert v["held_out"]["pooled"]["tpr"] == 1.0
    lt = v["held_out"]["lead_time"]
    assert lt["min"] >= HORIZON and lt["never_warned"] == lt["warned_late"] == 0
    # noise on the plateau: a 5%-FPR threshold sits inside it, so some runs alarm too early
    assert v["held_out"]["pooled"]["fpr"] < 0.15
    # the uniform baseline is noise
    assert abs(res["signals"]["param_norm"]["held_out"]["pooled"]["roc_auc"] - 0.5) < 0.15


def test_independent_signal_gives_auc_near_half_over_many_runs():
    runs = batch(120, 80, seed=7)
    s = ew.pooled_samples(runs, "param_norm", HORIZON)
    assert 1000 < sum(s["labels"]) < len(s["labels"]) - 1000
    auc = ew.roc_auc([-v for v in s["values"]], s["labels"])
    assert abs(auc - 0.5) < 0.03
    assert ew.roc_auc([-v for v in ew.pooled_samples(runs, "violation", HORIZON)["values"]],
                      s["labels"]) == 1.0


def test_late_and_early_alarms_and_never_warned():
    horizon = 100
    runs = [synthetic_run(0, 1000, horizon=horizon), synthetic_run(1, 1000, horizon=horizon),
            synthetic_run(2, None)]
    # threshold 1e-3: crossed about 60 epochs before generalizing
    ev = ew.evaluate_detector(runs, "violation", 1e-3, horizon=horizon)
    assert all(r["lead_time"] > 0 for r in ev["per_run"] if r["generalized"])
    # a threshold only reached after generalization: a late warning
    for r in runs[:2]:
        for row in r.rows:
            if row["epoch"] >= 1200:
                row["violation_max"] = {"comm": 1e-9, "assoc": 1e-9}
    ev = ew.evaluate_detector(runs, "violation", 1e-6, horizon=horizon)
    assert ev["lead_time"]["warned_late"] == 2 and ev["lead_time"]["median"] == -200
    # a threshold above the plateau: alarms at epoch 0, far too early, and on the never-generalizer
    ev = ew.evaluate_detector(runs, "violation", 2.0, horizon=horizon)
    fa = ev["false_alarms"]
    assert fa["count"] == 3 and fa["rate"] == 1.0 and fa["non_generalizing_rate"] == 1.0
    assert len(fa["alarmed_too_early"]) == 2
    ev = ew.evaluate_detector(runs, "violation", 1e-12, horizon=horizon)
    assert ev["lead_time"]["never_warned"] == 2 and ev["lead_time"]["coverage"] == 0.0


# ----------------------------------------------------------------------------- calibration

@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 20), min_size=1, max_size=60), st.floats(0, 1))
def test_threshold_is_the_largest_meeting_the_fpr_bound(values, max_fpr):
    rows = [{"epoch": i, "test_acc": 0.0, "param_norm": float(v)} for i, v in enumerate(values)]
    run = Run(Path("r"), {}, rows)
    thr = ew.calibrate_threshold([run], "param_norm", 5, max_fpr)
    n = len(values)
    fpr = sum(v < thr for v in values) / n
    assert fpr <= max_fpr + 1e-9
    if thr != math.inf:
        above = [v for v in values if v > thr]
        nxt = min(above) if above else thr + 1
        assert sum(v < nxt for v in values) / n > max_fpr  # anything larger breaks the bound


def test_threshold_comes_from_calibration_runs_only():
    runs = batch(10, 10, seed=5)
    res = ew.analyse(runs, horizon=HORIZON)
    held = set(res["protocol"]["held_out_runs"])
    # scramble every held-out run's signals, keeping their outcomes
    rng = np.random.default_rng(0)
    changed = []
    for r in runs:
        if r.name in held:
            rows = [dict(row, violation_max={k: float(rng.uniform(0, 5)) for k in row["violation_max"]},
                         param_norm=float(rng.uniform(0, 50)), train_loss=float(rng.uniform(0, 9)))
                    for row in r.rows]
            changed.append(Run(r.path, r.config, rows))
        else:
            changed.append(r)
    res2 = ew.analyse(changed, horizon=HORIZON)
    assert res2["protocol"]["held_out_runs"] == res["protocol"]["held_out_runs"]
    for sig in res["signals"]:
        assert res2["signals"][sig]["threshold"] == res["signals"][sig]["threshold"]
    assert res2["signals"]["violation"]["held_out"] != res["signals"]["violation"]["held_out"]
    # and the default horizon is computed from the calibration runs too
    assert ew.analyse(runs)["protocol"]["horizon"] == ew.default_horizon(
        [r for r in runs if r.name in set(res["protocol"]["calibration_runs"])])


def test_split_is_deterministic_stratified_and_order_free():
    runs = batch(7, 5)
    cal, test = ew.split_runs(runs, 0.5, seed=0)
    assert len(cal) + len(test) == 12 and not {id(r) for r in cal} & {id(r) for r in test}
    assert ew.split_runs(list(reversed(runs)), 0.5, seed=0) == (cal, test)
    gen_cal = sum(generalization_epoch(r) is not None for r in cal)
    assert gen_cal in (3, 4)
    assert ew.split_runs(runs, 0.5, seed=1) != (cal, test)
    cal, test = ew.split_runs(runs[:2], 0.9)
    assert len(cal) == len(test) == 1


# ----------------------------------------------------------------------------- auc by epoch

def test_auc_by_epoch_uses_pending_runs_with_both_classes():
    runs = batch(10, 10, plateau_noise=False)
    rows = ew.auc_by_epoch(runs, "violation", HORIZON)
    assert rows and all(r["n_pos"] > 0 and r["n_neg"] > 0 for r in rows)
    assert all(r["auc"] == 1.0 for r in rows)
    assert [r["epoch"] for r in rows] == sorted(r["epoch"] for r in rows)


# ----------------------------------------------------------------------------- the protocol

def _assert_renders(res):
    json.dumps(res, allow_nan=False)
    md = ew.markdown(res)
    assert md.startswith("## Early warning")
    rows = ew.summary_rows(res)
    assert len(rows) == 1 + len(res["signals"])
    return md


def test_analyse_report():
    res = ew.analyse(batch(12, 8), signals=("violation", "violation:assoc", "param_norm",
                                             "train_loss", "eff_dim"))
    md = _assert_renders(res)
    assert "| violation |" in md and "Held-out runs" in md
    assert res["protocol"]["horizon"] == 200  # 10% of 2000
    hdr, *body = ew.summary_rows(res)
    assert hdr[0] == "signal" and body[0][0] == "violation"


@pytest.mark.parametrize("runs", [
    [],
    [Run(Path("empty"), {"seed": 0}, [])],
    [synthetic_run(0, 500)],
    batch(6, 0),   # all generalize
    batch(0, 6),   # none generalize
    [synthetic_run(0, 0)],  # generalizes at the first evaluation: no samples at all
    [Run(Path(f"nosig{i}"), {"seed": i}, [{"epoch": 0, "test_acc": 0.0}, {"epoch": 10, "test_acc": 1.0}])
     for i in range(4)],
])
def test_degenerate_inputs_do_not_crash(runs):
    res = ew.analyse(runs)
    _assert_renders(res)
    for r in res["signals"].values():
        ev = r["held_out"]
        if ev["n_generalized"] == 0:
            assert ev["lead_time"]["coverage"] is None and ev["lead_time"]["median"] is None
        if r["threshold"] is None:
            assert ev["pooled"]["fpr"] is None


def test_all_generalize_and_none_generalize_report_none_where_undefined():
    res = ew.analyse(batch(0, 6))
    v = res["signals"]["violation"]
    assert v["held_out"]["pooled"]["roc_auc"] is None and v["held_out"]["pooled"]["tpr"] is None
    assert v["sign_test_all"]["auc_final"] is None and v["sign_test_all"]["n"] == 6
    assert any("no run generalized" in n for n in res["notes"])
    res = ew.analyse(batch(6, 0))
    assert res["signals"]["violation"]["sign_test_all"]["auc_final"] is None
    assert res["signals"]["violation"]["held_out"]["false_alarms"]["non_generalizing_rate"] is None


def test_missing_signal_is_skipped_with_a_note():
    runs = batch(4, 4)
    for row in runs[0].rows:
        row.pop("param_norm")
    runs[1].rows[3]["param_norm"] = None
    res = ew.analyse(runs, signals=("param_norm",))
    notes = " ".join(res["signals"]["param_norm"]["notes"])
    assert "missing; skipped" in notes and "1 of" in notes
    assert "param_norm" in ew.markdown(res)


def test_infinite_threshold_is_json_safe():
    res = ew.analyse(batch(4, 4), signals=("violation",), max_fpr=1.0)
    assert res["signals"]["violation"]["threshold"] is None
    assert any("reported as null" in n for n in res["notes"])
    _assert_renders(res)


def test_drop_censored_removes_the_tail_of_never_generalizing_runs():
    runs = batch(0, 1)
    kept = ew.pooled_samples(runs, "violation", 300)
    dropped = ew.pooled_samples(runs, "violation", 300, drop_censored=True)
    assert len(kept["values"]) - len(dropped["values"]) == 30
    assert max(dropped["epochs"]) == EPOCHS - 300  # its label (0) is known: g > last


def test_run_level_calibration_bounds_false_alarm_runs():
    runs = batch(12, 8, seed=2)
    cal, _ = ew.split_runs(runs)
    t_sample = ew.calibrate_threshold(cal, "violation", HORIZON, 0.05)
    t_run = ew.calibrate_threshold(cal, "violation", HORIZON, 0.05, level="run")
    assert t_run <= t_sample
    # on the calibration runs themselves no run raises a false alarm at the run-level threshold
    ev = ew.evaluate_detector(cal, "violation", t_run, HORIZON)
    assert ev["false_alarms"]["count"] == 0
    assert ev["lead_time"]["warned_before"] == ev["n_generalized"]
    # with max_fpr 0.5 over 10 runs at risk, at most 5 of them may alarm falsely
    t_half = ew.calibrate_threshold(cal, "violation", HORIZON, 0.5, level="run")
    fa = ew.evaluate_detector(cal, "violation", t_half, HORIZON)["false_alarms"]
    assert fa["rate"] <= 0.5
    res = ew.analyse(runs, level="run")
    assert res["protocol"]["fpr_level"] == "run" and "calibration runs" in ew.markdown(res)
    with pytest.raises(UsageError, match="Unknown false-positive level: 'seed'.*Available: run, sample"):
        ew.calibrate_threshold(cal, "violation", HORIZON, 0.05, level="seed")


# ----------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("kw, message", [
    ({"signals": ("nope",)}, r"Unknown signal: 'nope'\..*Available: eff_dim, param_norm, train_loss, violation, "
                             r"violation:assoc, violation:comm\."),
    ({"signals": ("violation:comms",)}, r"Unknown signal: 'violation:comms'\. Did you mean 'violation:comm'"),
    ({"max_fpr": 2}, r"max_fpr = 2 must be a rate in \[0, 1\]"),
    ({"max_fpr": -0.1}, r"max_fpr = -0.1 must be a rate in \[0, 1\]"),
    ({"horizon": 0}, r"horizon = 0 must be a positive number of epochs"),
    ({"calibrate_fraction": 1.5}, r"calibrate_fraction = 1.5 must be in \[0, 1\]"),
    ({"level": "seed"}, r"Unknown false-positive level: 'seed'"),
])
def test_bad_arguments_are_usage_errors_naming_the_value(kw, message):
    with pytest.raises(UsageError, match=message):
        ew.analyse(batch(2, 2), **kw)


def test_a_symmetry_signal_is_accepted_when_no_run_records_symmetries():
    runs = [Run(Path(f"r{i}"), {"seed": i}, [{"epoch": 0, "test_acc": float(i % 2)}]) for i in range(4)]
    assert ew.check_signals(["violation:anything"], runs) == ["violation:anything"]
    with pytest.raises(UsageError, match="Unknown signal: 'violation:'"):
        ew.check_signals(["violation:"], runs)


def test_analyse_uses_each_runs_own_generalization_threshold():
    """Runs trained with generalize_acc=0.5 count as generalized at 0.5 unless told otherwise."""
    runs = batch(0, 4)
    for r in runs:
        r.config["train"] = {"generalize_acc": 0.04}  # the plateau test accuracy is 0.05
    res = ew.analyse(runs, signals=("violation",))
    assert res["protocol"]["generalize_acc"] == 0.04 and res["protocol"]["n_generalized"] == 4
    assert "test acc >= 0.04" in ew.markdown(res)
    assert ew.analyse(runs, signals=("violation",), generalize_acc=0.99)["protocol"]["n_generalized"] == 0
    runs[0].config["train"]["generalize_acc"] = 0.99
    res = ew.analyse(runs, signals=("violation",))
    assert res["protocol"]["generalize_acc"] == [0.04, 0.99] and res["protocol"]["n_generalized"] == 3
    assert "0.04 or 0.99 (each run's own)" in ew.markdown(res)


# ----------------------------------------------------------------------------- too few runs to mean anything

@pytest.mark.parametrize("n_gen, n_never, too_few", [(1, 1, True), (6, 3, True), (7, 3, False), (12, 8, False)])
def test_fewer_than_five_held_out_runs_are_flagged_not_scored(n_gen, n_never, too_few):
    res = ew.analyse(batch(n_gen, n_never))
    held = len(res["protocol"]["held_out_runs"])
    assert res["too_few_runs"] is too_few is (held < 5)
    md = _assert_renders(res)
    if too_few:
        assert res["notes"][0].startswith(f"only {held} held-out run") and "too few (< 5)" in res["notes"][0]
        assert "ROC-AUC held-out" not in md and "| violation |" not in md and "too few (< 5)" in md
        assert "`too_few_runs`" in md
        assert res["signals"]["violation"]["held_out"]["pooled"]  # the numbers stay in the JSON
    else:
        assert "too few" not in json.dumps(res) and "| violation |" in md


def test_diagnose_labels_an_early_warning_over_two_runs_as_meaningless(tmp_path):
    from click.testing import CliRunner

    from symreg.cli import cli
    from symreg.runs.rundir import RunDir

    for run in batch(1, 1):
        rd = RunDir.create(tmp_path / f"seed-{run.config['seed']}")
        rd.write_config(run.config)
        rd.append_metrics(run.rows)
    text = CliRunner().invoke(cli, ["diagnose", str(tmp_path)])
    assert text.exit_code == 0, text.output
    assert "not evaluated: only 1 held-out run (of 2): too few (< 5)" in text.output
    assert "ROC-AUC held-out" not in text.output and "violation " not in text.output
    data = json.loads(CliRunner().invoke(cli, ["diagnose", str(tmp_path), "--json"]).output)
    assert data["early_warning"]["too_few_runs"] is True and "too few" in data["early_warning"]["notes"][0]
    assert data["generalization"]["runs"] == 2
