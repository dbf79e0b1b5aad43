"""Deduction: what a symmetry says about unknown cells, from known ones.

The labels it produces are *deduced*: they come from the training labels and
the declared symmetries, never from the task's oracle. This is the "orbit
closure" of the training set: it says which test cells a
model could get right by symmetry alone, so accuracy can be reported inside
and outside it, and an augmented training set carries no oracle labels.

Representation: ``known`` is an int64 array over the task's domain rows
(``len(task)``), ``-1`` (:data:`~symreg.symmetry.base.UNKNOWN`) for unknown,
else the class::

    >>> from symreg.registry import get_task, get_symmetry
    >>> task = get_task("mod_add", p=5)
    >>> known = np.full(len(task), -1, dtype=np.int64)
    >>> known[task.index_of(np.array([[1, 3]]))] = 4        # the one training fact 1+3=4
    >>> out = deduce(get_symmetry(task, "commutativity"), task, known)
    >>> [task.decode(x) for x in task.inputs()[out >= 0]], out[out >= 0].tolist()
    ([(1, 3), (3, 1)], [4, 4])

Each kind of symmetry owns its rule, and deduces only its own consequences:
a group action its full orbit closure (:meth:`GroupAction.deducer
<symreg.symmetry.group.GroupAction.deducer>`), each law one step of its rule
(see :mod:`symreg.symmetry.laws`); :func:`~symreg.symmetry.augmentation.closure`
iterates every chosen symmetry until nothing changes. This module only finds
the rule. How a plugin gives its own kind of symmetry a rule, in the order
they are tried:

1. a ``deduce(task, known)`` method returning a new ``known`` array (the
   simplest; it may add cells, and a change to a known cell counts as a
   conflict and is undone);
2. a rule registered for the kind with ``@prepare.register(Kind)``, a
   function ``(sym, task) -> Deducer``: for a kind one does not own;
3. an override of :meth:`Symmetry.deducer <symreg.symmetry.base.Symmetry.deducer>`
   returning a :data:`~symreg.symmetry.base.Deducer` (what the built-in kinds do).
"""
from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import numpy as np

from symreg.errors import InvalidSymmetryError, UsageError
from symreg.symmetry.base import Deducer, Symmetry

if TYPE_CHECKING:
    from symreg.task import Task


@functools.singledispatch
def prepare(sym: Symmetry, task: "Task") -> Deducer:
    """The deduction rule of ``sym`` on ``task``, as a function of ``known``.

    Dispatches on the symmetry's type (register a rule for a kind with
    ``@prepare.register(Kind)``); the default is the symmetry's own
    :meth:`~symreg.symmetry.base.Symmetry.deducer`. A symmetry without a rule
    raises :class:`~symreg.errors.UsageError`.

    >>> from symreg.registry import get_task, get_symmetry
    >>> task = get_task("mod_add", p=5)
    >>> rule = prepare(get_symmetry(task, "commutativity"), task)
    >>> int((rule(np.full(len(task), -1))[0] >= 0).sum())
    0
    """
    if not _has_method_rule(type(sym)):
        raise UsageError(f"Symmetry {sym.name!r} ({type(sym).__name__}) has no deduction rule; "
                         f"supported: {', '.join(supported_kinds())}, or a deduce(task, known) method.")
    return sym.deducer(task)


def _has_method_rule(cls: type) -> bool:
    return getattr(cls, "deducer", Symmetry.deducer) is not Symmetry.deducer


def _wrap_own(sym, task: "Task") -> Deducer:
    def run(known: np.ndarray):
        out = np.asarray(sym.deduce(task, known.copy()), dtype=np.int64)
        if out.shape != known.shape:
            raise InvalidSymmetryError(f"{sym.name!r}.deduce returned shape {out.shape}, "
                                       f"expected {known.shape}.")
        had = known >= 0
        clash = np.nonzero(had & (out != known))[0]
        out = np.where(had, known, out)  # a rule may add cells, never change known ones
        return out, clash
    return run


def _subclasses(cls: type) -> set[type]:
    out = set()
    for sub in cls.__subclasses__():
        out |= {sub} | _subclasses(sub)
    return out


def supported_kinds() -> list[str]:
    """Names of the symmetry classes loaded now that have a deduction rule.

    >>> {"Associativity", "GroupAction", "Transitivity", "TriangleEquality"} <= set(supported_kinds())
    True
    """
    kinds = {c for c in _subclasses(Symmetry)
             if _has_method_rule(c) or callable(getattr(c, "deduce", None))}
    kinds |= {c for c in prepare.registry if c is not object}
    return sorted({c.__name__ for c in kinds})


def can_deduce(sym: Symmetry) -> bool:
    """Whether :func:`deduce` has a rule for ``sym``.

    >>> from symreg.registry import get_task, get_symmetries
    >>> all(can_deduce(s) for s in get_symmetries(get_task("mod_add", p=5)))
    True
    """
    if callable(getattr(sym, "deduce", None)):
        return True
    return prepare.dispatch(type(sym)) is not prepare.dispatch(object) or _has_method_rule(type(sym))


def rule_for(sym: Symmetry, task: "Task") -> Deducer:
    """The rule :func:`deduce` applies: ``sym``'s own ``deduce`` method if it has one, else :func:`prepare`.

    >>> from symreg.registry import get_task, get_symmetry
    >>> task = get_task("mod_add", p=5)
    >>> new, clashes = rule_for(get_symmetry(task, "commutativity"), task)(np.full(len(task), -1))
    >>> clashes.tolist()
    []
    """
    if callable(getattr(sym, "deduce", None)):
        return _wrap_own(sym, task)
    return prepare(sym, task)


def deduce(sym: Symmetry, task: "Task", known: np.ndarray) -> np.ndarray:
    """A new ``known`` array with what ``sym`` deduces from ``known`` added.

    Group actions return their full orbit closure; laws one step of their
    rule (iterate with :func:`~symreg.symmetry.augmentation.closure`).

    >>> from symreg.registry import get_task, get_symmetry
    >>> task = get_task("mod_add", p=3)
    >>> deduce(get_symmetry(task, "translation"), task, np.r_[0, np.full(8, -1)]).tolist()
    [0, 1, 2, 1, 2, 0, 2, 0, 1]
    """
    known = np.asarray(known, dtype=np.int64)
    if known.shape != (len(task),):
        raise UsageError(f"known has shape {known.shape}; task '{task.name}' has {len(task)} rows.")
    if known.size and (known.min() < -1 or known.max() >= task.n_classes):
        raise UsageError(f"known holds {int(known.min())}..{int(known.max())}; each cell must be -1 "
                         f"(unknown) or a class of task '{task.name}', 0..{task.n_classes - 1}.")
    return rule_for(sym, task)(known)[0]
