"""The contract every registered task must satisfy, as a pytest test class.

:func:`contract_class` builds the class for a list of task names; the pytest
plugin (``symreg_pytest``, a ``pytest11`` entry point) collects it where a test module sets
``symreg_tasks``. Tests take ``name`` (one per task) or ``name, sym`` (one per
declared symmetry, at the task's quick-preset parameters).
"""
from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sympy.combinatorics import Permutation

from symreg.errors import unknown
from symreg.registry import get_symmetries, get_task, task_entries
from symreg.symmetry import GroupAction, Law, apply, element, verify_task
from symreg.testing import assert_law, assert_symmetry, group_elements, law_instances, task_inputs

# pytest makes a new instance of the class for each test; hypothesis would call that a different executor
ONE_EXECUTOR = settings(suppress_health_check=[HealthCheck.differing_executors])
TINY = {"d_model": 16, "n_heads": 1, "d_head": 16, "d_mlp": 32}


def task_names(spec) -> list[str]:
    """``"*"`` (every registered task) or task names, checked against the registry."""
    known = task_entries()
    names = [spec] if isinstance(spec, str) else list(spec)
    if "*" in names:
        return sorted(known)
    if set(names) - set(known):  # named, so load the installed plugins even where loading is off
        from symreg_pytest import load_installed

        load_installed()
        known = task_entries()
    for name in names:
        if name not in known:
            raise unknown("task in symreg_tasks (is its plugin installed?)", name, known)
    return names


@functools.lru_cache(maxsize=None)
def quick_task(name: str):
    """The task at its CPU-preset parameters (small, so tests stay fast); one instance per name."""
    return get_task(name, **task_entries()[name].obj.quick.params)


@functools.lru_cache(maxsize=None)
def quick_symmetries(name: str) -> dict:
    return {s.name: s for s in get_symmetries(quick_task(name))}


def per_symmetry(kind=None):
    """Mark a test to run once per (task, symmetry), optionally only for symmetries of ``kind``."""
    def mark(fn):
        fn.symreg_kind = kind or object
        return fn
    return mark


def wrong_symmetry(task) -> GroupAction:
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


def perfect_logp(task, eps=1e-12):
    """Log-probabilities of a model that has learned the oracle exactly, by row index."""
    onehot = np.full((len(task), task.n_classes), eps)
    onehot[np.arange(len(task)), task.labels] = 1.0
    table = torch.tensor(np.log(onehot / onehot.sum(1, keepdims=True)), dtype=torch.float64)
    return lambda idx: table[torch.as_tensor(np.asarray(idx))]


class TaskContract:
    """Invariants of a task and its symmetries; ``tasks`` names the tasks checked."""

    tasks: list[str] = []

    def pytest_generate_tests(self, metafunc):
        names = task_names(metafunc.cls.tasks)
        kind = getattr(metafunc.function, "symreg_kind", None)
        if kind is None:
            metafunc.parametrize("name", names)
            return
        metafunc.parametrize("name, sym", [
            pytest.param(n, s, id=f"{n}-{s}") for n in names
            for s, sym in quick_symmetries(n).items() if isinstance(sym, kind)])

    def pair(self, name, sym):
        return quick_task(name), quick_symmetries(name)[sym]

    def test_declared_symmetries_verify_at_default_parameters(self, name):
        verdicts = verify_task(get_task(name))
        assert verdicts, f"{name} declares no symmetry"
        assert [str(v.counterexample) for v in verdicts if not v.ok] == []

    def test_domain_is_lexicographic_and_indexable(self, name):
        task = quick_task(name)
        x = task.inputs()
        assert x.shape == (len(task), task.arity)
        assert np.array_equal(task.index_of(x), np.arange(len(task)))
        assert task.labels.min() >= 0 and task.labels.max() < task.n_classes
        assert not task.contains(np.full((1, task.arity), task.vocab_size)).any()

    def test_encoding_round_trips(self, name):
        task = quick_task(name)
        rows = task.inputs()[np.random.default_rng(0).integers(len(task), size=50)]
        for row in rows:
            assert task.encode(task.decode(row)) == tuple(int(t) for t in row)
        assert "->" in task.encoding_example

    def test_task_carries_paper_and_quick_presets(self, name):
        from symreg.train.config import TrainConfig

        cls = task_entries()[name].obj
        for preset in (cls.preset, cls.quick):
            assert 0 < preset.train_frac < 1 and preset.weight_decay >= 0 and preset.epochs > 0
            cfg = TrainConfig.from_preset(preset).validate()  # extras name real settings, of valid values
            assert all(getattr(cfg, k) == v for k, v in preset.extra.items())
            get_task(name, **preset.params)
        assert cls.domain in ("algebraic", "structural", "relational")

    def test_wrong_symmetry_is_caught_with_a_counterexample(self, name):
        verdict = wrong_symmetry(quick_task(name)).verify(quick_task(name))
        assert not verdict.ok
        ce = verdict.counterexample
        assert ce.expected != ce.actual and ce.input is not None

    def test_a_corrupted_oracle_fails_verification(self, name):
        task = get_task(name, **task_entries()[name].obj.quick.params)  # a fresh one: its oracle is replaced
        labels = task.labels.copy()
        cell = len(labels) // 2 + 1
        labels[cell] = (labels[cell] + 1) % task.n_classes
        labels.setflags(write=False)
        task.__dict__["labels"] = labels  # the cached property, replaced
        task.label = lambda x, t=task: t.labels[t.index_of(x)]
        assert not all(v.ok for v in verify_task(task))

    def test_a_few_epochs_train_on_cpu(self, name, tmp_path):
        from symreg.runs.rundir import read_metrics
        from symreg.train.api import train

        [path] = train(name, preset="quick", out=tmp_path / "run", epochs=2, eval_every=1,
                       model_sizes=TINY, device="cpu", violation_samples=8)
        rows = read_metrics(path / "metrics.jsonl")[0]
        assert [r["epoch"] for r in rows][-1] == 2 and all(np.isfinite(r["train_loss"]) for r in rows)

    @per_symmetry()
    def test_oracle_has_no_violation_and_a_random_model_has_some(self, name, sym):
        task, s = self.pair(name, sym)
        gen = torch.Generator().manual_seed(0)
        noise = torch.randn(len(task), task.n_classes, generator=gen, dtype=torch.float64).log_softmax(-1)
        inst = s.sample(task, 64, np.random.default_rng(0))
        perfect = s.violation(task, inst, perfect_logp(task))
        random = s.violation(task, inst, lambda idx: noise[torch.as_tensor(np.asarray(idx))])
        assert perfect.shape == (64,) and float(perfect.max()) < 1e-6
        assert float(random.min()) >= 0 and float(random.mean()) > 1e-3

    @per_symmetry()
    def test_violation_carries_a_leading_seed_axis(self, name, sym):
        task, s = self.pair(name, sym)
        gen = torch.Generator().manual_seed(1)
        tables = torch.randn(2, len(task), task.n_classes, generator=gen, dtype=torch.float64).log_softmax(-1)
        inst = s.sample(task, 16, np.random.default_rng(2))
        both = s.violation(task, inst, lambda idx: tables[:, torch.as_tensor(np.asarray(idx))])
        for seed in range(2):
            one = s.violation(task, inst, lambda idx, seed=seed: tables[seed][torch.as_tensor(np.asarray(idx))])
            assert torch.allclose(both[seed], one)

    @per_symmetry(GroupAction)
    @given(data=st.data())
    @ONE_EXECUTOR
    def test_group_action_holds_on_hypothesis_samples(self, name, sym, data):
        task, action = self.pair(name, sym)
        assert_symmetry(task, action, data.draw(task_inputs(task), "x"), data.draw(group_elements(action), "g"))

    @per_symmetry(Law)
    @given(data=st.data())
    @ONE_EXECUTOR
    def test_law_holds_on_hypothesis_samples(self, name, sym, data):
        task, law = self.pair(name, sym)
        assert_law(task, law, data.draw(law_instances(task, law), "instance"))

    @per_symmetry(GroupAction)
    @given(data=st.data())
    @ONE_EXECUTOR
    def test_composition_follows_sympy_convention(self, name, sym, data):
        """apply(p*q, x) == apply(q, apply(p, x)): p acts first."""
        task, action = self.pair(name, sym)
        v = task.vocab_size
        row = np.asarray([data.draw(task_inputs(task), "x")])
        p, q = data.draw(group_elements(action), "p"), data.draw(group_elements(action), "q")
        assert np.array_equal(apply(p * q, row, v), apply(q, apply(p, row, v), v))
        assert np.array_equal(apply(~p, apply(p, row, v), v), row)

    @per_symmetry(GroupAction)
    def test_random_elements_are_in_the_group(self, name, sym):
        task, action = self.pair(name, sym)
        forms = action.random_elements(5, np.random.default_rng(1), task)
        assert all(action.group.contains(Permutation(list(f))) for f in forms)


def contract_class(tasks) -> type:
    """A :class:`TaskContract` subclass checking ``tasks`` (``"*"`` or a list of names)."""
    return type("SymregContract", (TaskContract,), {"tasks": tasks, "__module__": __name__})
