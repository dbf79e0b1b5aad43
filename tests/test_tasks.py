"""Task tests beyond the contract: every registered task runs symreg's contract tests here.

``symreg_tasks = "*"`` collects :mod:`symreg.contract.checks` for every registered task
(the built-ins; with ``--symreg-installed``, every installed plugin's too).
"""
from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from symreg import (
    Associativity,
    GroupAction,
    Transitivity,
    TriangleEquality,
    element,
    get_task,
    hookimpl,
)
from symreg.errors import InvalidSymmetryError, UsageError
from symreg.symmetry import apply, verify_task
from tests.helpers import registered

symreg_tasks = "*"  # the contract tests (symreg.contract), for every registered task


@given(st.data())
def test_mod_add_orbit_matches_hand_computation(data):
    task = get_task("mod_add", p=11)
    x, y, k = (data.draw(st.integers(0, 10)) for _ in range(3))
    shift = (np.arange(11) + k) % 11
    g = element(task, tokens={0: shift}, outputs=shift)
    assert apply(g, np.array([[x, y]]), 11).tolist() == [[(x + k) % 11, y]]


def test_verify_task_checks_the_symmetries_plugins_register():
    class SymPlugin:
        @hookimpl
        def register_symmetries(self, register):
            def negation(task):
                neg = (-np.arange(task.p)) % task.p
                return GroupAction("negation", [element(task, tokens=neg, outputs=neg)])
            register("mod_add", negation)

    with registered(SymPlugin(), "verify-plugin"):
        verdicts = {v.symmetry: v.ok for v in verify_task(get_task("mod_add", p=7))}
    assert verdicts["negation"] and verdicts["commutativity"]


def test_bad_symmetry_declarations_name_the_bad_value():
    task = get_task("mod_add", p=5)
    with pytest.raises(InvalidSymmetryError, match=r"slot\(s\) \[2\]"):
        element(task, tokens={2: list(range(5))})
    with pytest.raises(InvalidSymmetryError, match="2 generators but 1 generator names"):
        GroupAction("g", [element(task), element(task)], generator_names=["a"])
    with pytest.raises(InvalidSymmetryError, match="got 1 and 0"):
        Transitivity([0, 1], [2], [])
    with pytest.raises(InvalidSymmetryError, match="each of the graph's 3 nodes"):
        TriangleEquality(nx.path_graph(3), [0, 1])
    with pytest.raises(UsageError, match=r"shape \(2,\)"):
        apply(element(task), np.array([1, 2]), 5)
    verdict = Associativity(beta=[0, 1]).verify(task)
    assert not verdict.ok and "beta must map each of the 5 tokens" in verdict.counterexample.detail
