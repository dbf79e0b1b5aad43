"""Prove declared symmetries against a task's own oracle.

A group action is checked generator by generator on every input of the finite
table: each image must lie in the domain and carry the predicted label. Since
the generators generate the group, this is a proof for every element. Then a
few random elements check that the action respects composition and identity.
A law is checked on every instance when there are at most ``max_exhaustive``
of them; above that, hypothesis searches ``samples`` instances and shrinks a
failure to a small counterexample.
"""
from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING

import numpy as np
from hypothesis import HealthCheck, Phase, find, settings
from hypothesis.errors import NoSuchExample

from symreg.errors import InvalidSymmetryError
from symreg.symmetry.base import Counterexample, GroupAction, Verdict, apply, apply_label

if TYPE_CHECKING:
    from symreg.symmetry.laws import Law
    from symreg.task import Task


def verify_group_action(sym: GroupAction, task: "Task", *, seed: int = 0) -> Verdict:
    """Check every generator of ``sym`` on every input of ``task``."""
    start = time.perf_counter()
    try:
        sym.check_shape(task)
    except InvalidSymmetryError as err:
        return Verdict(sym.name, sym.kind, False, 0, "shape check",
                       Counterexample(sym.name, "-", "-", "a block-preserving permutation",
                                      "not one", str(err)), time.perf_counter() - start)
    x, y = task.inputs(), task.labels
    offset, v = task.arity * task.vocab_size, task.vocab_size
    for name, g in zip(sym.generator_names, sym.generators):
        gx = apply(g, x, v)
        inside = task.contains(gx)
        if not inside.all():
            i = int(np.argmin(inside))
            return _fail(sym, task, name, x[i], "an input in the domain",
                         f"{tuple(int(t) for t in gx[i])} (outside)", start)
        expected = apply_label(g, y, offset)
        actual = task.labels[task.index_of(gx)]
        bad = np.nonzero(expected != actual)[0]
        if bad.size:
            i = int(bad[0])
            return _fail(sym, task, name, x[i], task.class_name(expected[i]),
                         task.class_name(actual[i]), start,
                         f"image {task.decode(gx[i])}")
    checked = len(x) * len(sym.generators)
    problem = _composition_problem(sym, task, seed)
    if problem:
        return _fail(sym, task, "composition", x[0], "apply(p*q) == apply(q, apply(p))", problem, start)
    return Verdict(sym.name, sym.kind, True, checked,
                   f"exhaustive: {len(sym.generators)} generators x {len(x)} inputs",
                   seconds=time.perf_counter() - start)


def _composition_problem(sym: GroupAction, task: "Task", seed: int) -> str | None:
    rng = np.random.default_rng(seed)
    v = task.vocab_size
    x = task.inputs()[rng.integers(len(task), size=min(256, len(task)))]
    g, h = sym.random_elements(8, rng, task), sym.random_elements(8, rng, task)
    for gi, hi in zip(g, h):
        gh = hi[gi]  # sympy's p*q: apply p (gi) first, then q (hi)
        if not np.array_equal(apply(gh, x, v), apply(hi, apply(gi, x, v), v)):
            return "composition not respected"
    if not np.array_equal(apply(np.arange(g.shape[1]), x, v), x):
        return "identity moves an input"
    return None


def _fail(sym, task, element, x, expected, actual, start, detail="") -> Verdict:
    ce = Counterexample(sym.name, str(element), task.decode(x), expected, actual, detail)
    return Verdict(sym.name, sym.kind, False, 0, "exhaustive", ce, time.perf_counter() - start)


def verify_law(law: "Law", task: "Task", *, max_exhaustive: int = 4_000_000,
               samples: int = 2000, seed: int = 0) -> Verdict:
    """Check ``law`` on every instance, or on a hypothesis search above ``max_exhaustive``."""
    start = time.perf_counter()
    try:
        count = law.count(task)
    except InvalidSymmetryError as err:
        return Verdict(law.name, law.kind, False, 0, "shape check",
                       Counterexample(law.name, "law", "-", "-", "-", str(err)),
                       time.perf_counter() - start)
    if count <= max_exhaustive:
        inst = law.all_instances(task)
        ok = law.holds(task, inst) if len(inst) else np.ones(0, bool)
        if not ok.all():
            return Verdict(law.name, law.kind, False, len(inst), "exhaustive",
                           law.explain(task, inst[int(np.argmin(ok))]), time.perf_counter() - start)
        return Verdict(law.name, law.kind, True, len(inst), f"exhaustive: {len(inst)} instances",
                       seconds=time.perf_counter() - start)
    cfg = settings(max_examples=samples, database=None, deadline=None,
                   phases=[Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck))
    try:
        row = find(law.strategy(task), lambda r: not law.holds(task, np.array([r]))[0],
                   settings=cfg, random=random.Random(seed))
    except NoSuchExample:
        return Verdict(law.name, law.kind, True, samples,
                       f"hypothesis: {samples} samples of {count} instances (above {max_exhaustive})",
                       seconds=time.perf_counter() - start)
    return Verdict(law.name, law.kind, False, samples, "hypothesis (shrunk)",
                   law.explain(task, np.asarray(row)), time.perf_counter() - start)


def verify_task(task: "Task", symmetries=None, **kw) -> list[Verdict]:
    """Verify every symmetry declared for ``task`` (or the ones given)."""
    from symreg.registry import get_symmetries

    syms = get_symmetries(task) if symmetries is None else symmetries
    return [s.verify(task, **kw) for s in syms]
