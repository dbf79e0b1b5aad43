"""Phase events of one run, read off its metrics history (pure functions, no torch).

The paper reads its three stages off plots; here each is a number:

- **memorization**: first evaluation with train accuracy >= ``memorize_acc``;
- **symmetry acquisition**, per symmetry, on the log of its maximum violation:
  the *peak* (largest value), the *end* of the fall (first evaluation after the
  peak at least ``drop`` decades below it) and its *onset* (last evaluation
  before the end still within ``onset`` decades of the peak). A curve that
  never falls ``drop`` decades counts as no acquisition, and one whose peak
  stays below ``min_peak`` (nats) was *never violated*: nothing to acquire, so
  it places no event (a fall from 7e-4 at initialisation is not learning a
  symmetry; a symmetry being learnt peaks at 1-100 nats). Fixed decades, not
  fractions of the fall so far, so an event does not move when training
  continues (the violation keeps falling under weight decay);
- **generalization**: first evaluation with test accuracy >= ``generalize_acc``
  (for a run trained on a closure, the accuracy on test cells outside it;
  by default the threshold the run was trained with, see
  :mod:`symreg.runs.criterion`); a run that never gets there is labelled
  ``generalized: false``, not forced into a phase;
- **geometric organization**: first evaluation ``e`` at or after
  generalization whose effective embedding dimension falls by no more than
  ``dim_slack`` by epoch ``plateau * e`` (doubling the training time no longer
  lowers it): it has reached its floor. ``None`` while the run is too short to tell;
- **key components settle**, per measured group action: the first evaluation
  after which the set of key components of the embedding never changes again
  (:mod:`symreg.diagnose.components`).
"""
from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass

from symreg.diagnose.components import key_component_events, primary
from symreg.errors import UsageError
from symreg.runs.criterion import MEMORIZE_ACC, collapse_epoch, generalization_epoch, run_threshold, sustained_epoch
from symreg.runs.reading import Run
from symreg.util.tables import fmt_number

LOG_FLOOR = 1e-30  # a violation of 0 is read as this on the log scale


@dataclass(frozen=True)
class Thresholds:
    """The levels that place the phase events; ``generalize_acc=None``: each run's own.

    >>> Thresholds(drop=0)
    Traceback (most recent call last):
    symreg.errors.UsageError: drop = 0 must be positive (decades of fall).
    """

    memorize_acc: float = MEMORIZE_ACC
    generalize_acc: float | None = None  # None: the level the run was trained with
    drop: float = 2.0  # decades below the peak that end the fall (a smaller fall: not acquired)
    onset: float = 0.3  # decades below the peak that still count as "at the peak"
    min_peak: float = 0.1  # nats: a violation that never reaches this was never violated, not acquired
    sustain: int = 3  # evaluations in a row at generalize_acc: sustained generalization
    collapse_drop: float = 0.1  # a fall this far below generalize_acc after it is sustained: collapse
    dim_slack: int = 1
    plateau: float = 2.0  # organized once doubling the epochs lowers the dimension by <= dim_slack

    def __post_init__(self) -> None:
        checks = [
            (0 <= self.memorize_acc <= 1, f"memorize_acc = {self.memorize_acc} must be in [0, 1]"),
            (self.generalize_acc is None or 0 <= self.generalize_acc <= 1,
             f"generalize_acc = {self.generalize_acc} must be in [0, 1]"),
            (self.drop > 0, f"drop = {self.drop} must be positive (decades of fall)"),
            (self.onset >= 0, f"onset = {self.onset} must be at least 0 (decades)"),
            (self.min_peak >= 0, f"min_peak = {self.min_peak} must be at least 0 (nats)"),
            (isinstance(self.sustain, int) and self.sustain >= 1, f"sustain = {self.sustain} must be an integer >= 1"),
            (0 < self.collapse_drop <= 1, f"collapse_drop = {self.collapse_drop} must be in (0, 1]"),
            (self.dim_slack >= 0, f"dim_slack = {self.dim_slack} must be at least 0"),
            (self.plateau >= 1, f"plateau = {self.plateau} must be at least 1 (a factor of epochs)"),
        ]
        for ok, msg in checks:
            if not ok:
                raise UsageError(msg + ".")

    def for_run(self, run: Run) -> dict:
        """These thresholds with ``generalize_acc`` resolved for ``run`` (as ``events.json`` records them).

        >>> from pathlib import Path
        >>> Thresholds().for_run(Run(Path("r"), {"train": {"generalize_acc": 0.9}}, []))["generalize_acc"]
        0.9
        """
        level = run_threshold(run.config) if self.generalize_acc is None else self.generalize_acc
        return {**asdict(self), "generalize_acc": level}


def first_at_least(epochs, values, level) -> int | None:
    """First epoch whose value is at least ``level``.

    >>> first_at_least([0, 10, 20], [0.1, 0.995, 1.0], 0.99)
    10
    """
    return next((e for e, v in zip(epochs, values) if v is not None and v >= level), None)


def violation_fall(epochs, values, drop: float = Thresholds.drop, onset: float = Thresholds.onset,
                   min_peak: float = Thresholds.min_peak) -> dict:
    """Peak, onset and end of the fall of a violation curve, on a log scale.

    >>> fall = violation_fall([0, 10, 20, 30, 40], [1e-3, 1.0, 0.9, 1e-4, 1e-5])
    >>> fall["onset"], fall["end"], fall["acquired"]
    (20, 30, True)
    >>> fall = violation_fall([0, 10, 20], [7e-4, 1e-6, 1e-8])  # falls 2.8 decades from a negligible peak
    >>> fall["acquired"], fall["never_violated"]
    (False, True)
    """
    pts = [(e, math.log10(max(v, LOG_FLOOR))) for e, v in zip(epochs, values) if v is not None]
    if not pts:
        return {"acquired": False, "never_violated": False, "peak_epoch": None, "onset": None, "end": None,
                "peak": None, "floor": None, "drop_decades": 0.0}
    i_peak = max(range(len(pts)), key=lambda i: pts[i][1])
    after = pts[i_peak:]
    peak, floor = pts[i_peak][1], min(v for _, v in after)
    out = {"never_violated": 10 ** peak < min_peak, "peak_epoch": pts[i_peak][0], "peak": 10 ** peak,
           "floor": 10 ** floor, "drop_decades": round(peak - floor, 3)}
    if out["never_violated"]:
        return {**out, "acquired": False, "onset": None, "end": None}
    i_end = next((i for i, (_, v) in enumerate(after) if v <= peak - drop), None)
    if i_end is None:
        return {**out, "acquired": False, "onset": None, "end": None}
    i_onset = max(i for i, (_, v) in enumerate(after[: i_end + 1]) if v >= peak - onset)
    return {**out, "acquired": True, "onset": after[i_onset][0], "end": after[i_end][0]}


def organization_epoch(epochs, dims, start, slack: int = Thresholds.dim_slack,
                       factor: float = Thresholds.plateau) -> int | None:
    """First epoch ``e >= start`` whose dimension falls by at most ``slack`` by epoch ``factor * e``.

    Doubling the training time no longer lowers the dimension: it is at its
    floor. Scale-free, and it never moves once reached; ``None`` while the run
    is too short to tell.

    >>> organization_epoch([0, 10, 20, 40, 80, 160], [9, 8, 6, 4, 4, 4], start=10)
    40
    """
    pts = [(e, d) for e, d in zip(epochs, dims) if d is not None]
    for e, d in pts:
        later = next((dl for el, dl in pts if el >= factor * max(e, 1)), None)
        if e >= start and later is not None and d - later <= slack:
            return e
    return None


def events(run: Run, th: Thresholds = Thresholds()) -> dict:
    """All phase events of ``run`` as a JSON-ready dict.

    >>> from pathlib import Path
    >>> rows = [{"epoch": 0, "train_acc": 1.0, "test_acc": 0.95}]
    >>> run = Run(Path("r"), {"train": {"generalize_acc": 0.9}}, rows)
    >>> ev = events(run)
    >>> ev["memorization"], ev["generalization"], ev["thresholds"]["generalize_acc"]
    (0, 0, 0.9)
    """
    levels = th.for_run(run)
    epochs, train_acc = run.series("train_acc")
    mem = first_at_least(epochs, train_acc, th.memorize_acc)
    gen = generalization_epoch(run, levels["generalize_acc"])  # outside the closure, for augmented runs
    syms = {}
    for name in run.symmetries():
        e, v = run.series("violation_max", name)
        syms[name] = violation_fall(e, v, th.drop, th.onset, th.min_peak)
    _, dims = run.series("eff_dim")
    known = [d for d in dims if d is not None]
    geo = None if gen is None else organization_epoch(epochs, dims, gen, th.dim_slack, th.plateau)
    acquired = [s for s in syms.values() if s["acquired"]]
    last = epochs[-1] if epochs else None
    return {
        "run": str(run.path), "task": run.config.get("task"), "seed": run.config.get("seed"),
        "last_epoch": last, "running": run.running,
        "memorization": mem, "generalization": gen, "generalized": gen is not None,
        "delay": None if gen is None or mem is None else gen - mem,  # memorization to generalization
        "sustained_generalization": sustained_epoch(run, levels["generalize_acc"], th.sustain),
        "collapse": collapse_epoch(run, levels["generalize_acc"], th.sustain, th.collapse_drop),
        "symmetry_acquisition": {"onset": min((s["onset"] for s in acquired), default=None),
                                 "end": max((s["end"] for s in acquired), default=None)},
        "symmetries": syms,
        "geometric_organization": geo,
        "eff_dim": {"start": known[0] if known else None, "floor": min(known) if known else None,
                    "end": known[-1] if known else None},
        "key_components": key_component_events(run),
        "stages": stages(mem, gen, geo, last, max((s["end"] for s in acquired), default=None)),
        "thresholds": levels,
        "warnings": list(run.warnings),
    }


def stages(mem, gen, geo, last, sym_end=None) -> list[dict]:
    """The paper's three stages as epoch intervals (for tables and shaded plots).

    Symmetry acquisition runs from memorization until both generalization and
    the last symmetry's fall are done (to the last epoch for a run that never
    generalizes); geometric organization from there until the dimension reaches
    its floor. A stage not reached is not in the list: figures shade exactly
    these intervals and reports tabulate exactly these rows.

    >>> [(s["start"], s["end"]) for s in stages(mem=100, gen=400, geo=800, last=1000, sym_end=350)]
    [(0, 100), (100, 400), (400, 800)]
    >>> [s["stage"] for s in stages(mem=100, gen=400, geo=None, last=1000)]
    ['memorization', 'symmetry acquisition']
    """
    out = []
    if mem is not None:
        out.append({"stage": "memorization", "start": 0, "end": mem})
        end2 = last if gen is None else max(gen, sym_end if sym_end is not None else gen)
        out.append({"stage": "symmetry acquisition", "start": mem, "end": end2})
        if gen is not None and geo is not None:  # not reached: no stage (the table says "not reached")
            out.append({"stage": "geometric organization", "start": end2, "end": max(end2, geo)})
    return out


def generalization_summary(evs: list[dict]) -> dict:
    """How many runs generalized, and the median generalization epoch: the one median every output shows.

    A run that never generalized counts as infinitely late (as ``compare`` and
    ``sweep summary`` count it), so the median is ``None`` ("never") once half
    the runs never generalized; min and max are over the runs that did.

    >>> generalization_summary([{"generalization": 750}, {"generalization": 800}])
    {'runs': 2, 'generalized': 2, 'median': 775.0, 'min': 750, 'max': 800}
    >>> generalization_summary([{"generalization": 300}, {"generalization": None}])["median"] is None
    True
    """
    epochs = sorted(ev["generalization"] for ev in evs if ev.get("generalization") is not None)
    n = len(evs)
    med = statistics.median(epochs + [math.inf] * (n - len(epochs))) if n else math.inf
    return {"runs": n, "generalized": len(epochs), "median": None if med == math.inf else float(med),
            "min": epochs[0] if epochs else None, "max": epochs[-1] if epochs else None}


def describe_generalization(summary: dict) -> str:
    """One sentence for :func:`generalization_summary`, the same in every output.

    >>> describe_generalization({"runs": 2, "generalized": 2, "median": 775.0, "min": 750, "max": 800})
    '2 of 2 runs generalized; epoch median 775, range 750-800'
    >>> describe_generalization({"runs": 3, "generalized": 1, "median": None, "min": 300, "max": 300})
    '1 of 3 runs generalized; epoch median never (a run that never generalized counts as never), range 300-300'
    """
    n, k = summary["runs"], summary["generalized"]
    text = f"{k} of {n} run{'s' if n != 1 else ''} generalized"
    if k:
        med = "never (a run that never generalized counts as never)" if summary["median"] is None \
            else f"{summary['median']:g}"
        text += f"; epoch median {med}, range {summary['min']}-{summary['max']}"
    return text


def settle_text(ev: dict) -> str:
    """When the key components of the main measured action settle, and how many: ``350 (3 key)``.

    >>> settle_text({"key_components": {"translation": {"settle_epoch": 350, "n_key": 3}}})
    '350 (3 key)'
    """
    found = primary(ev)
    if found is None:
        return "-"
    item = found[1]
    return f"{fmt_number(item['settle_epoch'])} ({item['n_key']} key)"


def event_table(evs: list[dict]) -> list[list[str]]:
    """Rows for a printed table: one per run.

    >>> event_table([])
    [['run', 'memorized', 'sym onset', 'sym end', 'generalized', 'geometry', 'eff dim', 'keys settle']]
    """
    fmt = fmt_number
    rows = [["run", "memorized", "sym onset", "sym end", "generalized", "geometry", "eff dim", "keys settle"]]
    for ev in evs:
        gen = fmt(ev["generalization"]) if ev["generalized"] else f"never (<= {ev['last_epoch']})"
        if ev["generalized"] and ev.get("sustained_generalization") != ev["generalization"]:
            held = ev.get("sustained_generalization")
            gen += f", held from {fmt(held)}" if held is not None else ", not held"
        if ev.get("collapse") is not None:
            gen += f", collapsed at {fmt(ev['collapse'])}"
        d = ev["eff_dim"]
        rows.append([f"{ev['task']} seed {ev['seed']}", fmt(ev["memorization"]),
                     fmt(ev["symmetry_acquisition"]["onset"]), fmt(ev["symmetry_acquisition"]["end"]),
                     gen, fmt(ev["geometric_organization"]), f"{fmt(d['start'])}->{fmt(d['floor'])}",
                     settle_text(ev)])
    return rows
