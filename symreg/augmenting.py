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

from symreg.errors import UsageError
from symreg.limits import check_closure
from symreg.presets import Params, resolve
from symreg.registry import get_symmetries
from symreg.trust import trusted_symmetries
from symreg.util.parsing import check_seed


def split_file(out: str | Path, force: bool = False) -> Path:
    """The .npz path ``out`` names (``.npz`` appended as :func:`symreg.symmetry.save_split` does), when it
    may be written: a file already there is refused unless ``force``, a directory always.

    >>> split_file("closed").name
    'closed.npz'
    """
    path = Path(out)
    path = path if path.suffix == ".npz" else path.with_name(path.name + ".npz")
    if path.is_dir():
        raise UsageError(f"--out {path} is a directory; give a file name such as {path / 'split.npz'}.")
    if path.exists() and not force:
        raise UsageError(f"--out {path} already exists; choose another name, or overwrite it with --force.")
    for parent in path.parents:
        if parent.exists() and not parent.is_dir():
            raise UsageError(f"--out {path}: {parent} is a file, not a directory.")
    return path


def augment_split(task, params: Params = None, preset: str = "paper", *, train_frac: float | None = None,
                  seed: int = 0, symmetries: Iterable[str] = (), max_rounds: int = 100, verify: bool = False,
                  out: str | Path | None = None, force: bool = False) -> dict:
    """Close the split of ``task`` under ``symmetries`` (default, or ``"all"``: every declared one with a
    deduction rule).

    ``train_frac`` defaults to the preset's and is held to the trainer's rules
    (:func:`symreg.train.config.check_train_frac`). With ``verify``, each chosen
    symmetry is first checked against the oracle and a failing one refused;
    without it, the default (all) takes only the symmetries that verify
    (:func:`symreg.trust.trusted_symmetries`) and named ones fail with a warning.
    With ``out``, the closed split is written to that ``.npz`` file, which must
    not exist unless ``force``. Every argument is checked before anything is
    computed or written. The report (:func:`symreg.symmetry.closure_report`)
    adds seed, train_frac, skipped (declared symmetries without a rule, when
    none were named), untrusted (those left out because they fail
    verification) and out.
    """
    from symreg.symmetry import can_deduce, closure, closure_report, save_split
    from symreg.train.config import augment_symmetries, check_train_frac
    from symreg.train.data import split_rows

    setup = resolve(task, params, preset)
    task = setup.task
    check_seed(seed)
    frac = check_train_frac(setup.defaults.train_frac if train_frac is None else train_frac, len(task))
    if isinstance(max_rounds, bool) or not isinstance(max_rounds, int) or max_rounds < 1:
        raise UsageError(f"--max-rounds {max_rounds!r} must be an integer of at least 1.")
    target = split_file(out, force) if out else None
    declared = get_symmetries(task)
    names = [] if "all" in symmetries else list(dict.fromkeys(symmetries))  # "all": as the trainer takes it
    if names:
        syms, skipped = augment_symmetries(task, names), []
    else:
        syms = [s for s in declared if can_deduce(s)]
        skipped = [s.name for s in declared if not can_deduce(s)]
    check_closure(task, syms)  # memory of the domain and the closure (symreg.limits), before either is built
    # named: used even if they fail verification (with a warning), unless --verify refuses them below;
    # all: only those that verify, since a false one deduces wrong labels
    candidates = syms
    syms = syms if verify and names else trusted_symmetries(task, syms, explicit=names)
    untrusted = [] if names else [s.name for s in candidates if s not in syms]
    if verify:
        for s in syms:
            verdict = s.verify(task, seed=seed)
            if not verdict.ok:
                raise UsageError(f"Symmetry {s.name!r} of task '{task.name}' fails verification: "
                                 f"{verdict.counterexample}; refusing to augment with it.")
    train_rows = split_rows(len(task), frac, seed)
    closed = closure(task, train_rows, syms, labels=task.labels[train_rows], max_rounds=max_rounds)
    report = closure_report(task, closed, train_rows)
    report.update({"seed": seed, "train_frac": frac, "skipped": skipped, "untrusted": untrusted, "out": None})
    if target is not None:
        meta = {"task": task.name, "version": task.version, "params": task.params, "seed": seed,
                "train_frac": frac, "symmetries": [s.name for s in syms], "rounds": closed.rounds,
                "converged": closed.converged}
        report["out"] = str(save_split(target, closed, train_rows, meta))
    return report
