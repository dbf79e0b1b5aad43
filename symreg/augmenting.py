"""Close a training split under symmetries from Python: what ``symreg augment`` does, as a report dict.

The split is the trainer's (same train fraction and seed). Labels of the added
rows are deduced from the training labels and the symmetries, never asked of
the oracle; the oracle is read afterwards only to count mismatches.

>>> report = augment_split("mod_add", {"p": 11}, train_frac=0.3, symmetries=["commutativity"])
>>> report["train_before"] < report["train_after"], report["mismatches"]
(True, 0)
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from symreg.errors import UsageError, unknown
from symreg.presets import Params, resolve
from symreg.registry import get_symmetries


def augment_split(task, params: Params = None, preset: str = "paper", *, train_frac: float | None = None,
                  seed: int = 0, symmetries: Iterable[str] = (), max_rounds: int = 100, verify: bool = False,
                  out: str | Path | None = None) -> dict:
    """Close the split of ``task`` under ``symmetries`` (default: every declared one with a deduction rule).

    ``train_frac`` defaults to the preset's. With ``verify``, each chosen
    symmetry is first checked against the oracle and a failing one refused.
    With ``out``, the closed split is written to that ``.npz`` file. The report
    (:func:`symreg.symmetry.closure_report`) adds seed, train_frac,
    skipped (declared symmetries without a rule, when none were named) and out.
    """
    from symreg.symmetry import can_deduce, closure, closure_report, save_split
    from symreg.train.data import split_rows

    setup = resolve(task, params, preset)
    task = setup.task
    frac = setup.defaults.train_frac if train_frac is None else train_frac
    if not 0 < frac < 1:
        raise UsageError(f"--train-frac {frac} must be between 0 and 1 (exclusive).")
    if max_rounds < 1:
        raise UsageError(f"--max-rounds {max_rounds} must be at least 1.")
    declared = {s.name: s for s in get_symmetries(task)}
    names = list(dict.fromkeys(symmetries))
    for n in names:
        if n not in declared:
            raise unknown(f"symmetry of task '{task.name}'", n, declared)
        if not can_deduce(declared[n]):
            rules = [k for k, s in declared.items() if can_deduce(s)]
            raise UsageError(f"Symmetry {n!r} of task '{task.name}' has no deduction rule; "
                             f"usable: {', '.join(rules) or '(none)'}.")
    if names:
        syms, skipped = [declared[n] for n in names], []
    else:
        syms = [s for s in declared.values() if can_deduce(s)]
        skipped = [n for n, s in declared.items() if not can_deduce(s)]
    if verify:
        for s in syms:
            verdict = s.verify(task, seed=seed)
            if not verdict.ok:
                raise UsageError(f"Symmetry {s.name!r} of task '{task.name}' fails verification: "
                                 f"{verdict.counterexample}; refusing to augment with it.")
    train_rows = split_rows(len(task), frac, seed)
    closed = closure(task, train_rows, syms, labels=task.labels[train_rows], max_rounds=max_rounds)
    report = closure_report(task, closed, train_rows)
    report.update({"seed": seed, "train_frac": frac, "skipped": skipped, "out": None})
    if out:
        meta = {"task": task.name, "version": task.version, "params": task.params, "seed": seed,
                "train_frac": frac, "symmetries": [s.name for s in syms], "rounds": closed.rounds,
                "converged": closed.converged}
        report["out"] = str(save_split(out, closed, train_rows, meta))
    return report
