"""Hypothesis strategies and assertions for property-testing a task's symmetries.

A plugin author checks a symmetry in three lines::

    @given(x=task_inputs(task), g=group_elements(sym))
    def test_commutes(x, g):
        assert_symmetry(task, sym, x, g)

and a law with ``law_instances(task, law)`` and :func:`assert_law`.
"""
from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from sympy.combinatorics import Permutation

from symreg.symmetry.group import GroupAction, apply, apply_label

if TYPE_CHECKING:
    from symreg.symmetry.laws import Law
    from symreg.task import Task


def task_inputs(task: "Task") -> st.SearchStrategy[tuple[int, ...]]:
    """Input rows of ``task`` (tuples of tokens); shrinks towards the first tokens.

    >>> from hypothesis import find
    >>> from symreg.registry import get_task
    >>> find(task_inputs(get_task("mod_add", p=5)), lambda x: sum(x) == 7)
    (3, 4)
    """
    return st.tuples(*(st.sampled_from(sorted(int(t) for t in s)) for s in task.slot_tokens()))


def group_elements(symmetry: GroupAction, *, max_length: int = 8) -> st.SearchStrategy[Permutation]:
    """Elements of a group action, as words of up to ``max_length`` generators and inverses.

    The empty word (the identity) is included and is what failures shrink towards.

    >>> from hypothesis import find
    >>> from symreg.registry import get_task, get_symmetry
    >>> swap = get_symmetry(get_task("mod_add", p=5), "commutativity")
    >>> find(group_elements(swap), lambda g: g.order() == 2) == swap.generators[0]
    True
    """
    if not isinstance(symmetry, GroupAction):
        raise InvalidArgument(f"group_elements needs a GroupAction, not {type(symmetry).__name__}")
    if max_length < 0:
        raise InvalidArgument(f"max_length={max_length} must be at least 0")
    letters = symmetry.generators + [~g for g in symmetry.generators]
    identity = Permutation(max(g.size for g in letters) - 1)
    return st.lists(st.sampled_from(letters), max_size=max_length).map(
        lambda word: functools.reduce(lambda a, b: a * b, word, identity))


def law_instances(task: "Task", law: "Law") -> st.SearchStrategy[tuple[int, ...]]:
    """Instances of ``law`` on ``task`` (rows whose premise holds).

    >>> from hypothesis import find
    >>> from symreg.registry import get_task, get_symmetry
    >>> task = get_task("mod_add", p=5)
    >>> find(law_instances(task, get_symmetry(task, "associativity")), lambda r: True)
    (0, 0, 0)
    """
    return law.strategy(task)


def assert_symmetry(task: "Task", symmetry: GroupAction, x, g: Permutation) -> None:
    """Assert that moving input ``x`` by ``g`` moves its label as the action says.

    >>> from symreg.registry import get_task, get_symmetry
    >>> task = get_task("mod_add", p=5)
    >>> swap = get_symmetry(task, "commutativity")
    >>> assert_symmetry(task, swap, (1, 3), swap.generators[0])  # 1+3 == 3+1: passes silently
    """
    row = np.asarray([x], dtype=np.int64)
    gx = apply(g, row, task.vocab_size)
    assert task.contains(gx).all(), (
        f"{symmetry.name}: {g.cyclic_form} maps {task.decode(row[0])} outside the domain")
    expected = int(apply_label(g, task.label(row), task.arity * task.vocab_size)[0])
    actual = int(task.label(gx)[0])
    assert expected == actual, (
        f"{symmetry.name}: input {task.decode(row[0])} -> {task.decode(gx[0])}: "
        f"expected {task.class_name(expected)}, got {task.class_name(actual)}")


def assert_law(task: "Task", law: "Law", instance) -> None:
    """Assert that the task's oracle satisfies ``law`` on one instance.

    >>> from symreg.registry import get_task, get_symmetry
    >>> task = get_task("mod_add", p=5)
    >>> assert_law(task, get_symmetry(task, "associativity"), (1, 2, 3))  # passes silently
    """
    row = np.asarray([instance], dtype=np.int64)
    assert law.holds(task, row)[0], str(law.explain(task, row[0]))
