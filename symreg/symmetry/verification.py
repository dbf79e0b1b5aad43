"""Prove a task's symmetries against its own oracle, all at once.

Each kind of symmetry owns its check (:meth:`GroupAction.verify
<symreg.symmetry.group.GroupAction.verify>`: every generator on every input;
:meth:`Law.verify <symreg.symmetry.laws.Law.verify>`: every instance up to
``max_exhaustive``, a shrinking hypothesis search above). :func:`verify_task`
runs them over a task's symmetries.

Which symmetries a task has is the registry's business (the task's own plus
those plugins register for it), and the registry sits above this package, so
it hands its lookup down with :func:`set_symmetry_source` when it is imported
(``import symreg`` always imports it); before that, a task's own
``symmetries()`` are used.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Iterable

from symreg.symmetry.base import Symmetry, Verdict

if TYPE_CHECKING:
    from symreg.task import Task

SymmetrySource = Callable[["Task"], "list[Symmetry]"]


def _own_symmetries(task: "Task") -> list[Symmetry]:
    return list(task.symmetries())


_source: SymmetrySource = _own_symmetries


def set_symmetry_source(source: SymmetrySource | None) -> None:
    """Make ``source(task)`` the symmetries :func:`verify_task` checks by default (None: the task's own).

    >>> from symreg.registry import get_symmetries, get_task
    >>> set_symmetry_source(None)
    >>> symmetries_of(get_task("mod_add", p=5))[0].name
    'commutativity'
    >>> set_symmetry_source(get_symmetries)  # what symreg.registry installs
    """
    global _source
    _source = _own_symmetries if source is None else source


def symmetries_of(task: "Task") -> list[Symmetry]:
    """Every symmetry declared for ``task``: its own and, through the registry, the plugins'.

    >>> from symreg.registry import get_task
    >>> [s.name for s in symmetries_of(get_task("mod_add", p=5))]
    ['commutativity', 'translation', 'scaling', 'associativity']
    """
    return list(_source(task))


def verify_task(task: "Task", symmetries: Iterable[Symmetry] | None = None, **kw) -> list[Verdict]:
    """Verify every symmetry declared for ``task`` (or the ones given), one :class:`Verdict` each.

    ``kw`` goes to each symmetry's ``verify`` (``max_exhaustive``, default
    :data:`~symreg.symmetry.base.MAX_EXHAUSTIVE`; ``samples``; ``seed``).

    >>> from symreg.registry import get_task
    >>> [(v.symmetry, v.ok) for v in verify_task(get_task("mod_add", p=5))][:2]
    [('commutativity', True), ('translation', True)]
    """
    syms = symmetries_of(task) if symmetries is None else symmetries
    return [s.verify(task, **kw) for s in syms]
