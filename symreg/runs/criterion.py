"""When has a run generalized? The one rule the trainer, diagnosis, plots and summaries share.

A run has generalized at the first evaluation whose held-out test accuracy
(:func:`held_out_acc`) is at least a threshold. Each run records the threshold
it was trained with (``config.json``: ``train.generalize_acc``); readers use
that one unless told otherwise (:func:`run_threshold`), and
:data:`GENERALIZE_ACC` where a run records none (runs older than the setting).
"""
from __future__ import annotations

GENERALIZE_ACC = 0.99  # test accuracy that counts as generalized, unless a run says otherwise
MEMORIZE_ACC = 0.99  # train accuracy that counts as memorized


def held_out_acc(row: dict) -> float | None:
    """The test accuracy that counts as generalization in one metrics row.

    A run trained on a closure (``--augment``) has test cells whose labels were
    deduced from training labels; only the cells outside the closure count.
    Where the closure holds every test cell, or nothing was deduced, it is the
    plain test accuracy.

    >>> held_out_acc({"test_acc": 0.99, "test_outside_closure_acc": 0.96})
    0.96
    >>> held_out_acc({"test_acc": 0.99}), held_out_acc({"test_acc": 0.9, "test_outside_closure_acc": None})
    (0.99, 0.9)
    """
    outside = row.get("test_outside_closure_acc")
    return row.get("test_acc") if outside is None else outside


def reaches(row: dict, threshold: float = GENERALIZE_ACC) -> bool:
    """Whether one metrics row counts as generalized at ``threshold``.

    >>> reaches({"test_acc": 0.995}), reaches({"test_acc": 0.95}, 0.9), reaches({"epoch": 0})
    (True, True, False)
    """
    acc = held_out_acc(row)
    return acc is not None and acc >= threshold


def run_threshold(config: dict | None) -> float:
    """The threshold a run was trained with (its ``config.json``), else :data:`GENERALIZE_ACC`.

    >>> run_threshold({"train": {"generalize_acc": 0.9}}), run_threshold({})
    (0.9, 0.99)
    """
    level = ((config or {}).get("train") or {}).get("generalize_acc")
    return GENERALIZE_ACC if level is None else float(level)


def _rows_and_level(run_or_rows, threshold: float | None) -> tuple[list[dict], float]:
    rows = getattr(run_or_rows, "rows", run_or_rows)
    if threshold is None:
        threshold = run_threshold(getattr(run_or_rows, "config", None))
    return rows, threshold


def generalization_epoch(run_or_rows, threshold: float | None = None) -> int | None:
    """First epoch at which a run (or a list of metrics rows) reaches ``threshold``.

    ``threshold=None`` means the run's own (:func:`run_threshold`); for bare
    rows, :data:`GENERALIZE_ACC`. ``None`` if the run never gets there.

    >>> rows = [{"epoch": 0, "test_acc": 0.1}, {"epoch": 50, "test_acc": 0.95}, {"epoch": 90, "test_acc": 1.0}]
    >>> generalization_epoch(rows), generalization_epoch(rows, 0.9), generalization_epoch(rows[:2]) is None
    (90, 50, True)
    """
    rows, level = _rows_and_level(run_or_rows, threshold)
    return next((r["epoch"] for r in rows if reaches(r, level)), None)


def sustained_epoch(run_or_rows, threshold: float | None = None, evaluations: int = 3) -> int | None:
    """First epoch from which a run stays at ``threshold`` for ``evaluations`` evaluations in a row.

    A first crossing can be a fluke of one evaluation; this is the one that lasts.

    >>> rows = [{"epoch": e, "test_acc": a} for e, a in [(0, .1), (10, .995), (20, .5), (30, .995), (40, 1), (50, 1)]]
    >>> generalization_epoch(rows), sustained_epoch(rows), sustained_epoch(rows, evaluations=4) is None
    (10, 30, True)
    """
    rows, level = _rows_and_level(run_or_rows, threshold)
    streak = 0
    for i, r in enumerate(rows):
        streak = streak + 1 if reaches(r, level) else 0
        if streak == evaluations:
            return rows[i - evaluations + 1]["epoch"]
    return None


def collapse_epoch(run_or_rows, threshold: float | None = None, evaluations: int = 3,
                   drop: float = 0.1) -> int | None:
    """First epoch after sustained generalization at which the held-out accuracy falls ``drop`` below ``threshold``.

    >>> rows = [{"epoch": e, "test_acc": a} for e, a in [(0, .1), (10, 1), (20, 1), (30, 1), (40, .95), (50, .6)]]
    >>> collapse_epoch(rows), collapse_epoch(rows[:5]) is None
    (50, True)
    """
    rows, level = _rows_and_level(run_or_rows, threshold)
    start = sustained_epoch(rows, level, evaluations)
    if start is None:
        return None
    return next((r["epoch"] for r in rows if r["epoch"] > start and (acc := held_out_acc(r)) is not None
                 and acc < level - drop), None)


def generalized(run_or_rows, threshold: float | None = None) -> bool:
    """Whether a run (or a list of metrics rows) ever reaches ``threshold`` (default: its own).

    >>> generalized([{"epoch": 0, "test_acc": 0.95}]), generalized([{"epoch": 0, "test_acc": 0.95}], 0.9)
    (False, True)
    """
    return generalization_epoch(run_or_rows, threshold) is not None


def thresholds_of(runs, threshold: float | None = None) -> list[float]:
    """The distinct thresholds a set of runs is judged by: ``[threshold]`` if given, else their own.

    >>> class R:
    ...     def __init__(self, level): self.config = {"train": {"generalize_acc": level}}
    >>> thresholds_of([R(0.99), R(0.9), R(0.99)]), thresholds_of([R(0.9)], 0.5), thresholds_of([])
    ([0.9, 0.99], [0.5], [0.99])
    """
    if threshold is not None:
        return [float(threshold)]
    return sorted({run_threshold(getattr(r, "config", None)) for r in runs}) or [GENERALIZE_ACC]


def describe_thresholds(levels) -> str:
    """One threshold as ``0.99``; several (runs trained differently) as ``0.9 or 0.99 (each run's own)``.

    >>> describe_thresholds([0.99]), describe_thresholds([0.9, 0.99])
    ('0.99', "0.9 or 0.99 (each run's own)")
    """
    levels = sorted(set(levels)) or [GENERALIZE_ACC]
    if len(levels) == 1:
        return f"{levels[0]:g}"
    return " or ".join(f"{x:g}" for x in levels) + " (each run's own)"
