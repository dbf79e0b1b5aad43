"""Invariants every registered task must satisfy; a new plugin's tasks are checked for free."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from symreg import GroupAction, element, get_symmetries, get_task, task_entries
from symreg.train.config import TrainConfig
from symreg.symmetry.base import apply
from symreg.testing import assert_law, assert_symmetry, group_elements, law_instances, task_inputs
from symreg.symmetry.verification import verify_task

TASKS = sorted(task_entries())


def quick_task(name):
    """The task at its CPU-preset parameters (small, so tests stay fast)."""
    cls = task_entries()[name].obj
    return get_task(name, **cls.quick.params)


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
    task = quick_task(name)
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


@pytest.mark.parametrize("name", TASKS)
def test_oracle_has_no_violation_and_a_random_model_has_some(name):
    task = quick_task(name)
    gen = torch.Generator().manual_seed(0)
    noise = torch.randn(len(task), task.n_classes, generator=gen, dtype=torch.float64).log_softmax(-1)
    rng = np.random.default_rng(0)
    for sym in get_symmetries(task):
        inst = sym.sample(task, 64, rng)
        perfect = sym.violation(task, inst, _perfect_logp(task))
        random = sym.violation(task, inst, lambda idx: noise[torch.as_tensor(np.asarray(idx))])
        assert perfect.shape == (64,) and float(perfect.max()) < 1e-6, sym.name
        assert float(random.min()) >= 0 and float(random.mean()) > 1e-3, sym.name


def _check_action(task, sym):
    @given(x=task_inputs(task), g=group_elements(sym))
    def holds(x, g):
        assert_symmetry(task, sym, x, g)

    holds()


def _check_law(task, law):
    @given(inst=law_instances(task, law))
    def holds(inst):
        assert_law(task, law, inst)

    holds()


def _check_convention(task, sym):
    v = task.vocab_size

    @given(x=task_inputs(task), p=group_elements(sym), q=group_elements(sym))
    def convention(x, p, q):
        row = np.asarray([x])
        assert np.array_equal(apply(p * q, row, v), apply(q, apply(p, row, v), v))
        assert np.array_equal(apply(~p, apply(p, row, v), v), row)

    convention()


@pytest.mark.parametrize("name", TASKS)
def test_symmetries_hold_on_hypothesis_samples(name):
    task = quick_task(name)
    for sym in get_symmetries(task):
        (_check_action if isinstance(sym, GroupAction) else _check_law)(task, sym)


@pytest.mark.parametrize("name", TASKS)
def test_composition_follows_sympy_convention(name):
    """apply(p*q, x) == apply(q, apply(p, x)): p acts first."""
    task = quick_task(name)
    for sym in get_symmetries(task):
        if isinstance(sym, GroupAction):
            _check_convention(task, sym)


@pytest.mark.parametrize("name", TASKS)
def test_random_elements_are_in_the_group(name):
    task = quick_task(name)
    rng = np.random.default_rng(1)
    for sym in (s for s in get_symmetries(task) if isinstance(s, GroupAction)):
        forms = sym.random_elements(5, rng, task)
        from sympy.combinatorics import Permutation

        assert all(sym.group.contains(Permutation(list(f))) for f in forms)


@given(st.data())
def test_mod_add_orbit_matches_hand_computation(data):
    task = get_task("mod_add", p=11)
    x, y, k = (data.draw(st.integers(0, 10)) for _ in range(3))
    shift = (np.arange(11) + k) % 11
    g = element(task, tokens={0: shift}, outputs=shift)
    assert apply(g, np.array([[x, y]]), 11).tolist() == [[(x + k) % 11, y]]


@pytest.mark.parametrize("name", TASKS)
def test_violation_carries_a_leading_seed_axis(name):
    task = quick_task(name)
    gen = torch.Generator().manual_seed(1)
    tables = torch.randn(2, len(task), task.n_classes, generator=gen, dtype=torch.float64).log_softmax(-1)
    rng = np.random.default_rng(2)
    for sym in get_symmetries(task):
        inst = sym.sample(task, 16, rng)
        both = sym.violation(task, inst, lambda idx: tables[:, torch.as_tensor(np.asarray(idx))])
        for s in range(2):
            one = sym.violation(task, inst, lambda idx, s=s: tables[s][torch.as_tensor(np.asarray(idx))])
            assert torch.allclose(both[s], one), sym.name
