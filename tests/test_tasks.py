"""Invariants every registered task must satisfy; a new plugin's tasks are checked for free."""
from __future__ import annotations

import functools

import networkx as nx
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from sympy.combinatorics import Permutation

from symreg import (
    Associativity,
    GroupAction,
    Law,
    Transitivity,
    TriangleEquality,
    element,
    get_symmetries,
    get_task,
    hookimpl,
    task_entries,
)
from symreg.errors import InvalidSymmetryError, UsageError
from symreg.symmetry import apply, verify_task
from symreg.testing import assert_law, assert_symmetry, group_elements, law_instances, task_inputs
from symreg.train.config import TrainConfig
from tests.helpers import registered

TASKS = sorted(task_entries())


@functools.lru_cache(maxsize=None)
def quick_task(name):
    """The task at its CPU-preset parameters (small, so tests stay fast); one instance per name."""
    cls = task_entries()[name].obj
    return get_task(name, **cls.quick.params)


@functools.lru_cache(maxsize=None)
def quick_symmetries(name):
    return {s.name: s for s in get_symmetries(quick_task(name))}


def pairs(kind=None):
    """``(task, symmetry)`` names for every symmetry of every registered task, read at collection time."""
    return [pytest.param(name, sym, id=f"{name}-{sym}") for name in TASKS
            for sym, s in quick_symmetries(name).items() if kind is None or isinstance(s, kind)]


def pair(name, sym):
    return quick_task(name), quick_symmetries(name)[sym]


@pytest.mark.parametrize("name", TASKS)
def test_declared_symmetries_verify_at_default_parameters(name):
    task = get_task(name)
    verdicts = verify_task(task)
    assert verdicts, f"{name} declares no symmetry"
    assert [v.symmetry for v in verdicts if not v.ok] == []


@pytest.mark.parametrize("name", TASKS)
def test_domain_is_lexicographic_and_indexable(name):
    task = quick_task(name)
    x = task.inputs()
    assert x.shape == (len(task), task.arity)
    assert np.array_equal(task.index_of(x), np.arange(len(task)))
    assert task.labels.min() >= 0 and task.labels.max() < task.n_classes
    assert not task.contains(np.full((1, task.arity), task.vocab_size)).any()


@pytest.mark.parametrize("name", TASKS)
def test_encoding_round_trips(name):
    task = quick_task(name)
    rows = task.inputs()[np.random.default_rng(0).integers(len(task), size=50)]
    for row in rows:
        assert task.encode(task.decode(row)) == tuple(int(t) for t in row)
    assert "->" in task.encoding_example


@pytest.mark.parametrize("name", TASKS)
def test_task_carries_paper_and_quick_presets(name):
    cls = task_entries()[name].obj
    for preset in (cls.preset, cls.quick):
        assert 0 < preset.train_frac < 1 and preset.weight_decay >= 0 and preset.epochs > 0
        cfg = TrainConfig.from_preset(preset).validate()  # extras name real settings, of valid values
        assert all(getattr(cfg, k) == v for k, v in preset.extra.items())
        get_task(name, **preset.params)
    assert cls.domain in ("algebraic", "structural", "relational")


def _wrong_symmetry(task):
    """Swap two slot-0 tokens whose inputs (same other slots) have different labels."""
    x, y = task.inputs(), task.labels
    others = task._keys(np.concatenate([np.zeros((len(x), 1), np.int64), x[:, 1:]], 1))
    order = np.lexsort((x[:, 0], others))
    same_rest = others[order][1:] == others[order][:-1]
    differ = y[order][1:] != y[order][:-1]
    i = int(np.argmax(same_rest & differ))
    a, b = x[order[i], 0], x[order[i + 1], 0]
    swap = np.arange(task.vocab_size)
    swap[[a, b]] = swap[[b, a]]
    return GroupAction("wrong", [element(task, tokens={0: swap})], "deliberately wrong")


@pytest.mark.parametrize("name", TASKS)
def test_wrong_symmetry_is_caught_with_a_counterexample(name):
    task = quick_task(name)
    verdict = _wrong_symmetry(task).verify(task)
    assert not verdict.ok
    ce = verdict.counterexample
    assert ce.expected != ce.actual and ce.input is not None


@pytest.mark.parametrize("name", TASKS)
def test_a_corrupted_oracle_fails_verification(name):
    task = get_task(name, **task_entries()[name].obj.quick.params)  # a fresh one: its oracle is replaced
    labels = task.labels.copy()
    cell = len(labels) // 2 + 1
    labels[cell] = (labels[cell] + 1) % task.n_classes
    labels.setflags(write=False)
    task.__dict__["labels"] = labels  # the cached property, replaced
    task.label = lambda x, t=task: t.labels[t.index_of(x)]
    assert not all(v.ok for v in verify_task(task))


def _perfect_logp(task, eps=1e-12):
    onehot = np.full((len(task), task.n_classes), eps)
    onehot[np.arange(len(task)), task.labels] = 1.0
    table = torch.tensor(np.log(onehot / onehot.sum(1, keepdims=True)), dtype=torch.float64)
    return lambda idx: table[torch.as_tensor(np.asarray(idx))]


@pytest.mark.parametrize("name, sym", pairs())
def test_oracle_has_no_violation_and_a_random_model_has_some(name, sym):
    task, s = pair(name, sym)
    gen = torch.Generator().manual_seed(0)
    noise = torch.randn(len(task), task.n_classes, generator=gen, dtype=torch.float64).log_softmax(-1)
    inst = s.sample(task, 64, np.random.default_rng(0))
    perfect = s.violation(task, inst, _perfect_logp(task))
    random = s.violation(task, inst, lambda idx: noise[torch.as_tensor(np.asarray(idx))])
    assert perfect.shape == (64,) and float(perfect.max()) < 1e-6
    assert float(random.min()) >= 0 and float(random.mean()) > 1e-3


@pytest.mark.parametrize("name, sym", pairs(GroupAction))
@given(data=st.data())
def test_group_action_holds_on_hypothesis_samples(name, sym, data):
    task, action = pair(name, sym)
    assert_symmetry(task, action, data.draw(task_inputs(task), "x"), data.draw(group_elements(action), "g"))


@pytest.mark.parametrize("name, sym", pairs(Law))
@given(data=st.data())
def test_law_holds_on_hypothesis_samples(name, sym, data):
    task, law = pair(name, sym)
    assert_law(task, law, data.draw(law_instances(task, law), "instance"))


@pytest.mark.parametrize("name, sym", pairs(GroupAction))
@given(data=st.data())
def test_composition_follows_sympy_convention(name, sym, data):
    """apply(p*q, x) == apply(q, apply(p, x)): p acts first."""
    task, action = pair(name, sym)
    v = task.vocab_size
    row = np.asarray([data.draw(task_inputs(task), "x")])
    p, q = data.draw(group_elements(action), "p"), data.draw(group_elements(action), "q")
    assert np.array_equal(apply(p * q, row, v), apply(q, apply(p, row, v), v))
    assert np.array_equal(apply(~p, apply(p, row, v), v), row)


@pytest.mark.parametrize("name, sym", pairs(GroupAction))
def test_random_elements_are_in_the_group(name, sym):
    task, action = pair(name, sym)
    forms = action.random_elements(5, np.random.default_rng(1), task)
    assert all(action.group.contains(Permutation(list(f))) for f in forms)


@given(st.data())
def test_mod_add_orbit_matches_hand_computation(data):
    task = get_task("mod_add", p=11)
    x, y, k = (data.draw(st.integers(0, 10)) for _ in range(3))
    shift = (np.arange(11) + k) % 11
    g = element(task, tokens={0: shift}, outputs=shift)
    assert apply(g, np.array([[x, y]]), 11).tolist() == [[(x + k) % 11, y]]


@pytest.mark.parametrize("name, sym", pairs())
def test_violation_carries_a_leading_seed_axis(name, sym):
    task, s = pair(name, sym)
    gen = torch.Generator().manual_seed(1)
    tables = torch.randn(2, len(task), task.n_classes, generator=gen, dtype=torch.float64).log_softmax(-1)
    inst = s.sample(task, 16, np.random.default_rng(2))
    both = s.violation(task, inst, lambda idx: tables[:, torch.as_tensor(np.asarray(idx))])
    for seed in range(2):
        one = s.violation(task, inst, lambda idx, seed=seed: tables[seed][torch.as_tensor(np.asarray(idx))])
        assert torch.allclose(both[seed], one)


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
