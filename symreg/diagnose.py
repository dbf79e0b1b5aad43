"""Phase events of one run, read off its metrics history (pure functions, no torch).

The paper reads its three stages off plots; here each is a number:

- **memorization**: first evaluation with train accuracy >= ``memorize_acc``;
- **symmetry acquisition**, per symmetry, on the log of its maximum violation:
  the *peak* (largest value), the *onset* of the fall (last evaluation before
  the end still within ``band`` of the peak's log-height above the floor) and
  its *end* (first evaluation after the peak within ``band`` of the floor).
  A fall of less than ``min_drop`` decades counts as no acquisition;
- **generalization**: first evaluation with test accuracy >= ``generalize_acc``;
  a run that never gets there is labelled ``generalized: false``, not forced
  into a phase;
- **geometric organization**: first evaluation at or after generalization at
  which the effective embedding dimension is within ``dim_slack`` of its
  floor (its minimum over the run).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from .runs import Run


@dataclass(frozen=True)
class Thresholds:
    memorize_acc: float = 0.99
    generalize_acc: float = 0.99
    band: float = 0.1  # fraction of the log-fall that counts as "still at the peak" / "at the floor"
    min_drop: float = 1.0  # decades; a smaller fall is not an acquisition
    dim_slack: int = 1


def first_at_least(epochs, values, level) -> int | None:
    """First epoch whose value is at least ``level``.

    >>> first_at_least([0, 10, 20], [0.1, 0.995, 1.0], 0.99)
    10
    """
    return next((e for e, v in zip(epochs, values) if v is not None and v >= level), None)


def violation_fall(epochs, values, band: float = 0.1, min_drop: float = 1.0) -> dict:
    """Peak, onset and end of the fall of a violation curve, on a log scale.

    >>> fall = violation_fall([0, 10, 20, 30, 40], [1e-3, 1.0, 0.9, 1e-4, 1e-4])
    >>> fall["onset"], fall["end"], fall["acquired"]
    (20, 30, True)
    """
    pts = [(e, math.log10(max(v, 1e-30))) for e, v in zip(epochs, values) if v is not None]
    if not pts:
        return {"acquired": False, "peak_epoch": None, "onset": None, "end": None,
                "peak": None, "floor": None, "drop_decades": 0.0}
    i_peak = max(range(len(pts)), key=lambda i: pts[i][1])
    after = pts[i_peak:]
    peak, floor = pts[i_peak][1], min(v for _, v in after)
    drop = peak - floor
    out = {"peak_epoch": pts[i_peak][0], "peak": 10 ** peak, "floor": 10 ** floor,
           "drop_decades": round(drop, 3)}
    if drop < min_drop:
        return {**out, "acquired": False, "onset": None, "end": None}
    i_end = next(i for i, (_, v) in enumerate(after) if v <= floor + band * drop)
    i_onset = max(i for i, (_, v) in enumerate(after[: i_end + 1]) if v >= peak - band * drop)
    return {**out, "acquired": True, "onset": after[i_onset][0], "end": after[i_end][0]}


def events(run: Run, th: Thresholds = Thresholds()) -> dict:
    """All phase events of ``run`` as a JSON-ready dict."""
    epochs, train_acc = run.series("train_acc")
    _, test_acc = run.series("test_acc")
    mem = first_at_least(epochs, train_acc, th.memorize_acc)
    gen = first_at_least(epochs, test_acc, th.generalize_acc)
    syms = {}
    for name in run.symmetries():
        e, v = run.series("violation_max", name)
        syms[name] = violation_fall(e, v, th.band, th.min_drop)
    _, dims = run.series("eff_dim")
    geo = None
    known = [d for d in dims if d is not None]
    if known and gen is not None:
        floor = min(known)
        geo = next((e for e, d in zip(epochs, dims)
                    if e >= gen and d is not None and d <= floor + th.dim_slack), None)
    acquired = [s for s in syms.values() if s["acquired"]]
    last = epochs[-1] if epochs else None
    return {
        "run": str(run.path), "task": run.config.get("task"), "seed": run.config.get("seed"),
        "last_epoch": last, "running": run.running,
        "memorization": mem, "generalization": gen, "generalized": gen is not None,
        "symmetry_acquisition": {"onset": min((s["onset"] for s in acquired), default=None),
                                 "end": max((s["end"] for s in acquired), default=None)},
        "symmetries": syms,
        "geometric_organization": geo,
        "eff_dim": {"start": known[0] if known else None, "floor": min(known) if known else None,
                    "end": known[-1] if known else None},
        "stages": stages(mem, gen, geo, last),
        "thresholds": asdict(th),
        "warnings": list(run.warnings),
    }


def stages(mem, gen, geo, last) -> list[dict]:
    """The paper's three stages as epoch intervals (for tables and shaded plots)."""
    out = []
    if mem is not None:
        out.append({"stage": "memorization", "start": 0, "end": mem})
        out.append({"stage": "symmetry acquisition", "start": mem, "end": gen if gen is not None else last})
    if gen is not None:
        out.append({"stage": "geometric organization", "start": gen, "end": geo if geo is not None else last})
    return out


def event_table(evs: list[dict]) -> list[list[str]]:
    """Rows for a printed table: one per run."""
    def fmt(x):
        return "-" if x is None else str(x)

    rows = [["run", "memorized", "sym onset", "sym end", "generalized", "geometry", "eff dim"]]
    for ev in evs:
        gen = fmt(ev["generalization"]) if ev["generalized"] else f"never (<= {ev['last_epoch']})"
        d = ev["eff_dim"]
        rows.append([f"{ev['task']} seed {ev['seed']}", fmt(ev["memorization"]),
                     fmt(ev["symmetry_acquisition"]["onset"]), fmt(ev["symmetry_acquisition"]["end"]),
                     gen, fmt(ev["geometric_organization"]), f"{fmt(d['start'])}->{fmt(d['floor'])}"])
    return rows
