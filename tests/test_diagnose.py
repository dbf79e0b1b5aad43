"""Phase events from metrics histories: synthetic curves with known answers, and real runs."""
from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from symreg.diagnose.phases import Thresholds, event_table, events, violation_fall
from symreg.runs.reading import Run, find_runs, load_run, load_runs


def synthetic_run(mem: int, fall: int, gen: int | None, last: int = 2000, every: int = 10) -> Run:
    """Train acc jumps at `mem`; the violation falls 4 decades over [fall, fall+100]; test acc jumps at `gen`."""
    rows = []
    for e in range(0, last + 1, every):
        frac = min(1.0, max(0.0, (e - fall) / 100))
        v = 1.0 * 10 ** (-4 * frac) if e >= mem else 0.01 + 0.99 * e / max(mem, 1)
        rows.append({"epoch": e, "train_acc": 1.0 if e >= mem else 0.5, "test_acc":
                     1.0 if gen is not None and e >= gen else 0.1,
                     "violation_max": {"sym": v}, "violation_mean": {"sym": v / 10},
                     "eff_dim": max(4, 40 - e // 20), "param_norm": 100 - e / 100})
    return Run(Path("synthetic"), {"task": "t", "seed": 0}, rows)


@given(mem=st.integers(1, 40), gap=st.integers(1, 40), gen_gap=st.integers(0, 50))
def test_events_recover_the_planted_epochs(mem, gap, gen_gap):
    mem, fall = mem * 10, mem * 10 + gap * 10
    gen = fall + 100 + gen_gap * 10
    ev = events(synthetic_run(mem, fall, gen, last=max(2 * gen, 1500) + 100))
    assert ev["memorization"] == mem and ev["generalization"] == gen and ev["generalized"]
    sym = ev["symmetries"]["sym"]
    assert sym["acquired"] and sym["peak_epoch"] == mem
    assert fall <= sym["onset"] <= fall + 20 and fall + 40 <= sym["end"] <= fall + 60
    assert ev["geometric_organization"] >= gen
    assert [s["stage"] for s in ev["stages"]] == ["memorization", "symmetry acquisition",
                                                  "geometric organization"]


def test_a_run_that_never_generalizes_is_labelled_so():
    ev = events(synthetic_run(100, 5000, None, last=1000))
    assert ev["generalized"] is False and ev["generalization"] is None
    assert ev["symmetries"]["sym"]["acquired"] is False
    assert [s["stage"] for s in ev["stages"]] == ["memorization", "symmetry acquisition"]
    assert ev["geometric_organization"] is None


def test_a_shallow_dip_is_not_an_acquisition():
    fall = violation_fall([0, 1, 2, 3], [1.0, 2.0, 0.5, 0.6], drop=1.0)
    assert fall["acquired"] is False and fall["drop_decades"] < 1


@given(cut=st.integers(30, 60))
def test_events_do_not_move_when_training_continues(cut):
    """Training longer (the violation and dimension keep falling) leaves reached events in place."""
    full = synthetic_run(100, 200, 350, last=600)
    part = Run(full.path, full.config, [r for r in full.rows if r["epoch"] <= cut * 10])
    a, b = events(full), events(part)
    assert b["symmetries"]["sym"]["end"] in (None, a["symmetries"]["sym"]["end"])
    assert b["symmetries"]["sym"]["onset"] in (None, a["symmetries"]["sym"]["onset"])
    if b["geometric_organization"] is not None:
        assert b["geometric_organization"] == a["geometric_organization"]


@given(peak=st.floats(1e-6, 0.099), decades=st.floats(2.5, 8.0))
def test_a_symmetry_never_materially_violated_is_reported_so_not_acquired(peak, decades):
    run = synthetic_run(100, 200, 400)
    for r in run.rows:  # the symmetry starts at a negligible peak and falls by `decades` over the run
        r["violation_max"]["small"] = peak * 10 ** (-decades * r["epoch"] / run.rows[-1]["epoch"])
    ev = events(run)
    small, sym = ev["symmetries"]["small"], ev["symmetries"]["sym"]
    assert small["never_violated"] and not small["acquired"] and small["onset"] is None
    assert sym["acquired"] and not sym["never_violated"]
    assert ev["symmetry_acquisition"] == {"onset": sym["onset"], "end": sym["end"]}  # the small one places none
    assert events(run, Thresholds(min_peak=0))["symmetries"]["small"]["acquired"]  # the floor is an option


def test_thresholds_are_options():
    run = synthetic_run(100, 200, 400)
    assert events(run, Thresholds(generalize_acc=0.05))["generalization"] == 0


def test_truncated_and_missing_runs_are_reported_not_fatal(tmp_path):
    good = tmp_path / "good"
    good.mkdir()
    (good / "config.json").write_text(json.dumps({"task": "t", "seed": 1}))
    row = {"epoch": 0, "train_acc": 0.1, "test_acc": 0.1, "violation_max": {}, "eff_dim": 3}
    (good / "metrics.jsonl").write_text(json.dumps(row) + "\n" + '{"epoch": 10, "tra')
    empty = tmp_path / "empty"
    empty.mkdir()
    runs, problems = load_runs([good, empty, tmp_path / "missing"])
    assert [r.path for r in runs] == [good]
    assert any("truncated" in w for w in runs[0].warnings)
    assert any("missing" in p and "does not exist" in p for p in problems)
    assert any("empty" in p and "no run directory" in p for p in problems)
    assert events(runs[0])["last_epoch"] == 0


def test_batch_directories_expand_to_their_seeds(tmp_path):
    for s in (0, 1):
        d = tmp_path / "batch" / f"seed-{s}"
        d.mkdir(parents=True)
        (d / "config.json").write_text(json.dumps({"task": "t", "seed": s}))
    (tmp_path / "batch" / "batch.json").write_text(json.dumps({"runs": ["seed-0", "seed-1"]}))
    dirs, problems = find_runs([tmp_path / "batch", tmp_path])
    assert dirs == [tmp_path / "batch" / "seed-0", tmp_path / "batch" / "seed-1"] and not problems
    assert load_run(dirs[1]).config["seed"] == 1


def test_an_augmented_run_generalizes_only_outside_its_closure():
    """Deduced test cells do not count: 100% overall with 50% outside the closure is not generalization."""
    rows = [{"epoch": 0, "train_acc": 1.0, "test_acc": 1.0, "test_in_closure_acc": 1.0,
             "test_outside_closure_acc": 0.5},
            {"epoch": 50, "train_acc": 1.0, "test_acc": 1.0, "test_in_closure_acc": 1.0,
             "test_outside_closure_acc": 0.995}]
    assert events(Run(Path("r"), {}, rows))["generalization"] == 50
    assert events(Run(Path("r"), {}, rows[:1]))["generalization"] is None


def _accuracy_run(accs: list[float], every: int = 10) -> Run:
    rows = [{"epoch": i * every, "train_acc": 1.0 if i >= 2 else 0.5, "test_acc": a} for i, a in enumerate(accs)]
    return Run(Path("synthetic"), {"task": "t", "seed": 0, "train": {"generalize_acc": 0.99}}, rows)


def test_delay_sustained_generalization_and_collapse_are_events():
    ev = events(_accuracy_run([0.1, 0.2, 0.3, 0.995, 0.5, 0.99, 1.0, 1.0, 1.0, 0.95, 0.7]))
    assert (ev["memorization"], ev["generalization"], ev["delay"]) == (20, 30, 10)
    assert ev["sustained_generalization"] == 50 and ev["collapse"] == 100  # 0.95 is no collapse, 0.7 is
    assert events(_accuracy_run([0.1, 0.2, 1.0, 1.0]))["sustained_generalization"] is None  # two in a row only
    steady = events(_accuracy_run([0.1, 0.2, 1.0, 1.0, 1.0, 1.0]), Thresholds(sustain=2))
    assert steady["sustained_generalization"] == 20 and steady["collapse"] is None
    text = "\n".join(" ".join(r) for r in event_table([ev]))
    assert "30, held from 50, collapsed at 100" in text
