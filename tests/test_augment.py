"""Leak-free augmentation: closures are sound, contain the split, are idempotent, never read the oracle.

Every closure in this file is computed with the oracle disabled (``task.label``,
``Task.labels``, the laws' oracle lookup and the triangle law's networkx
distances all raise); the oracle is read only afterwards, to check.
"""
from __future__ import annotations

import contextlib
import functools
import json

import numpy as np
import pytest
from click.testing import CliRunner

from symreg import GroupAction, Symmetry, Task, TriangleEquality, element
from symreg.cli import cli
from symreg.errors import UsageError
from symreg.registry import get_symmetries, get_symmetry, get_task, task_entries
from symreg.symmetry import (
    Closure,
    apply,
    apply_label,
    can_deduce,
    closure,
    closure_report,
    deduce,
    load_split,
    prepare,
    save_split,
    supported_kinds,
    triangle_bounds,
)
from symreg.train.data import split_rows

TASKS = sorted(task_entries())
FRAC, SEED = 0.2, 0


class OracleCalled(AssertionError):
    pass


def _boom(*args, **kwargs):
    raise OracleCalled("the oracle was read during deduction")


@contextlib.contextmanager
def no_oracle(task: Task):
    """Every way to the oracle raises inside this block."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(task, "label", _boom)
        mp.setattr(Task, "labels", property(_boom))  # a data descriptor beats the cached value (laws read it)
        mp.setattr(TriangleEquality, "distances", property(_boom))
        yield


def known_from(task: Task, rows: np.ndarray, labels: np.ndarray) -> np.ndarray:
    known = np.full(len(task), -1, dtype=np.int64)
    known[rows] = labels
    return known


@functools.lru_cache(maxsize=None)
def closed(name: str) -> tuple[Task, list, np.ndarray, Closure]:
    """The task at its quick parameters, its symmetries, the split and its closure (oracle off)."""
    task = get_task(name, **task_entries()[name].obj.quick.params)
    syms = [s for s in get_symmetries(task) if can_deduce(s)]
    train = split_rows(len(task), FRAC, SEED)
    labels = task.labels[train]  # the training data, read before the oracle is switched off
    with no_oracle(task):
        c = closure(task, train, syms, labels=labels)
    return task, syms, train, c


# --- properties, on every registered task ------------------------------------------------
@pytest.mark.parametrize("name", TASKS)
def test_closure_is_sound(name):
    task, _, _, c = closed(name)
    assert np.array_equal(c.labels, task.labels[c.rows])
    assert all(v == 0 for v in c.conflicts.values()), c.conflicts
    assert c.converged


@pytest.mark.parametrize("name", TASKS)
def test_closure_contains_the_training_rows(name):
    task, _, train, c = closed(name)
    assert c.in_closure[train].all()
    assert np.array_equal(c.rows, np.nonzero(c.in_closure)[0])
    assert c.n_train == len(train) and c.n_closed == len(c.rows) >= len(train)
    assert sum(c.deduced.values()) == c.n_closed - c.n_train


@pytest.mark.parametrize("name", TASKS)
def test_closure_is_idempotent(name):
    task, syms, _, c = closed(name)
    with no_oracle(task):
        again = closure(task, c.rows, syms, labels=c.labels)
    assert np.array_equal(again.rows, c.rows) and np.array_equal(again.labels, c.labels)
    assert sum(again.deduced.values()) == 0 and again.rounds == 0


@pytest.mark.parametrize("name", TASKS)
def test_every_declared_builtin_symmetry_has_a_rule(name):
    task, syms, _, _ = closed(name)
    assert [s.name for s in syms] == [s.name for s in get_symmetries(task)]


@pytest.mark.parametrize("name", TASKS)
def test_each_symmetry_alone_is_sound_on_a_sparse_split(name):
    task, syms, _, _ = closed(name)
    train = split_rows(len(task), 0.05, SEED)
    labels = task.labels[train]
    for sym in syms:
        with no_oracle(task):
            c = closure(task, train, [sym], labels=labels)
        assert np.array_equal(c.labels, task.labels[c.rows]), sym.name
        assert c.conflicts == {sym.name: 0} and c.in_closure[train].all()


def test_the_oracle_guard_bites():
    task = get_task("mod_add", p=5)
    with no_oracle(task):
        with pytest.raises(OracleCalled):
            task.labels
        with pytest.raises(OracleCalled):
            task.label(task.inputs())
        with pytest.raises(OracleCalled):
            get_symmetry(task, "associativity").holds(task, np.zeros((1, 3), dtype=np.int64))
    assert task.labels[3] == 3  # restored


def test_closure_report_numbers():
    task, _, train, c = closed("graph_path")
    r = closure_report(task, c, train)
    assert r["train_before"] == len(train) and r["train_after"] == c.n_closed
    assert r["test_cells"] == len(task) - len(train)
    assert r["test_covered"] == c.n_closed - len(train)
    assert r["mismatches"] == 0 and r["contains_train"]
    assert 0 < r["test_covered_share"] <= 1


# --- group actions: the closure is the union of orbits -----------------------------------
ORBIT_CASES = [("mod_add", {"p": 7}, 0.05), ("mod_mul", {"p": 7}, 0.05),
               ("perm_compose", {"n": 3}, 0.05), ("graph_cylinder", {"cycle": 5, "length": 3}, 0.03),
               ("compare_3d", {"m": 3}, 0.002)]


@pytest.mark.parametrize("name, params, frac", ORBIT_CASES, ids=[c[0] for c in ORBIT_CASES])
def test_group_closure_is_the_union_of_orbits(name, params, frac):
    task = get_task(name, **params)
    train = split_rows(len(task), frac, 1)
    x, y, v = task.inputs()[train], task.labels[train], task.vocab_size
    for sym in get_symmetries(task):
        if not isinstance(sym, GroupAction):
            continue
        expect = known_from(task, train, y)
        for g in sym.group.generate():  # every element, by sympy; not the generators' walk
            expect[task.index_of(apply(g, x, v))] = apply_label(g, y, task.arity * v)
        with no_oracle(task):
            got = deduce(sym, task, known_from(task, train, y))
        assert np.array_equal(got, expect), sym.name
        assert (got >= 0).sum() < len(task) or sym.name in ("translation",), sym.name


def test_commutativity_alone_adds_exactly_the_swaps():
    task = get_task("mod_add", p=11)
    train = split_rows(len(task), 0.3, 0)
    x = task.inputs()[train]
    sym = get_symmetry(task, "commutativity")
    with no_oracle(task):
        c = closure(task, train, [sym], labels=(x[:, 0] + x[:, 1]) % 11)
    swapped = task.index_of(x[:, ::-1])
    assert np.array_equal(c.rows, np.union1d(train, swapped))
    assert c.deduced == {"commutativity": len(np.setdiff1d(swapped, train))}
    assert c.rounds == 1


# --- laws: each rule on a hand-made case ---------------------------------------------------
def _single(task, facts):
    rows = task.index_of(np.array([f[:-1] for f in facts]))
    return known_from(task, rows, np.array([f[-1] for f in facts]))


def _new_cells(task, before, after):
    new = np.nonzero((after >= 0) & (before < 0))[0]
    return {tuple(int(t) for t in task.inputs()[i]): int(after[i]) for i in new}


def test_associativity_both_rules():
    task = get_task("mod_add", p=5)
    law = get_symmetry(task, "associativity")
    before = _single(task, [(1, 2, 3), (3, 4, 2), (2, 4, 1)])  # f(a,b)=w, f(w,c)=k, f(b,c)=u
    with no_oracle(task):
        assert _new_cells(task, before, deduce(law, task, before)) == {(1, 1): 2}
    before = _single(task, [(1, 2, 3), (2, 4, 1), (1, 1, 2)])  # f(a,b)=w, f(b,c)=u, f(a,u)=k
    with no_oracle(task):  # and (1+1)+1 = 1+(1+1) gives f(2,1) = f(1,2)
        assert _new_cells(task, before, deduce(law, task, before)) == {(3, 4): 2, (2, 1): 3}


def test_associativity_proxy_uses_beta():
    task = get_task("mod_sub", p=7)  # (x-y)-z = x-(y-(-z))
    law = get_symmetry(task, "associativity")
    before = _single(task, [(5, 2, 3), (3, 1, 2), (2, 6, 3)])  # w=5-2, k=w-1, u=2-(-1)
    with no_oracle(task):
        assert _new_cells(task, before, deduce(law, task, before)) == {(5, 3): 2}


def test_transitivity_forward_and_contrapositive():
    task = get_task("compare_2d", m=3)
    law = get_symmetry(task, "transitivity")
    e = task.entity
    lt, gt = task.relation(0, 0), task.relation(0, 2)  # age < and age >
    a, b, c = e((0, 0)), e((1, 0)), e((2, 0))
    before = _single(task, [(a, lt, b, 1), (b, lt, c, 1)])
    with no_oracle(task):
        assert _new_cells(task, before, deduce(law, task, before)) == {(a, lt, c): 1, (a, gt, c): 0}
    # a<b yes and a<c no give b<c no
    a, b, c = e((1, 0)), e((2, 0)), e((0, 0))
    before = _single(task, [(a, lt, b, 1), (a, lt, c, 0)])
    with no_oracle(task):
        assert _new_cells(task, before, deduce(law, task, before)) == {(b, lt, c): 0}


def test_triangle_uses_bounds_not_the_geodesic_premise():
    task = get_task("graph_path", n=5)
    law = get_symmetry(task, "triangle")
    before = _single(task, [(1, 2, 1), (2, 3, 1)])  # 2 is on the 1-3 geodesic, but only d<=2 follows
    with no_oracle(task):
        assert _new_cells(task, before, deduce(law, task, before)) == {}
    before = _single(task, [(1, 2, 1), (2, 3, 1), (1, 4, 3), (3, 4, 1)])
    with no_oracle(task):  # d(1,3) in [d(1,4)-d(3,4), d(1,2)+d(2,3)]; d(2,4) in [d(1,4)-d(1,2), d(2,3)+d(3,4)]
        assert _new_cells(task, before, deduce(law, task, before)) == {(1, 3): 2, (2, 4): 2}


def test_triangle_bounds_directed():
    d = np.full((3, 3), -1)
    d[0, 1], d[1, 2] = 2, 3
    lo, hi = triangle_bounds(d, 10)
    assert (lo[0, 2], hi[0, 2]) == (0, 5)  # d(0,2)-style lower bounds need d(2,1) or d(1,0)
    d[2, 1] = 3
    lo, hi = triangle_bounds(d, 10)
    assert lo[0, 2] == 0 and hi[0, 2] == 5 and lo[0, 1] == 0
    d[0, 1], d[2, 1] = 5, 2  # d(0,2) >= d(0,1) - d(2,1) = 3
    lo, hi = triangle_bounds(d, 10)
    assert lo[0, 2] == 3 and hi[0, 2] == 8


# --- wrong symmetries, plugin rules, errors ---------------------------------------------
def test_a_false_symmetry_is_caught_by_conflicts_and_mismatches():
    task = get_task("mod_add", p=7)
    swap = np.arange(7)
    swap[[0, 1]] = [1, 0]
    wrong = GroupAction("wrong_swap", [element(task, tokens={0: swap})], "false")
    train = split_rows(len(task), 0.5, 0)
    c = closure(task, train, [wrong], labels=task.labels[train])
    assert c.conflicts["wrong_swap"] > 0
    assert closure_report(task, c, train)["mismatches"] > 0


class EverythingIsZero(Symmetry):
    """A plugin's own kind with its own (wrong) deduce: fills every cell with 0."""

    kind, name, description = "custom", "zeros", "test"

    def verify(self, task, **kw):  # pragma: no cover - not used
        raise NotImplementedError

    def sample(self, task, n, rng):  # pragma: no cover
        raise NotImplementedError

    def violation(self, task, instances, logp):  # pragma: no cover
        raise NotImplementedError

    def deduce(self, task, known):
        return np.zeros_like(known)


def test_a_symmetry_with_its_own_deduce_is_used_and_cannot_overwrite():
    task = get_task("mod_add", p=5)
    sym = EverythingIsZero()
    assert can_deduce(sym)
    train = np.array([1, 7])  # (0,1) -> 1 and (1,2) -> 3
    with no_oracle(task):
        c = closure(task, train, [sym], labels=np.array([1, 3]))
    assert c.n_closed == len(task) and c.conflicts == {"zeros": 2}
    assert c.known[1] == 1 and c.known[7] == 3


def test_unsupported_symmetry_is_a_usage_error():
    class Bare(EverythingIsZero):
        deduce = None

    task = get_task("mod_add", p=5)
    assert not can_deduce(Bare())
    with pytest.raises(UsageError, match="no deduction rule"):
        deduce(Bare(), task, np.full(len(task), -1))


class SwapFirstTwo(EverythingIsZero):
    """A plugin's kind with a full rule (``deducer``): copies (0, 1)'s label to (1, 0) and back."""

    deduce = None

    def deducer(self, task):
        a, b = task.index_of(np.array([[0, 1], [1, 0]]))

        def run(known):
            out = known.copy()
            for src, dst in ((a, b), (b, a)):
                if out[dst] < 0:
                    out[dst] = out[src]
            return out, np.zeros(0, np.int64)
        return run


def test_a_symmetry_with_its_own_deducer_is_used():
    task = get_task("mod_add", p=5)
    sym = SwapFirstTwo()
    assert can_deduce(sym) and "SwapFirstTwo" in supported_kinds()
    with no_oracle(task):
        c = closure(task, np.array([1]), [sym], labels=np.array([1]))
    assert c.rows.tolist() == [1, 5] and c.labels.tolist() == [1, 1]


def test_a_rule_registered_for_a_kind_is_used():
    class Registered(EverythingIsZero):
        deduce = None

    task = get_task("mod_add", p=5)
    assert not can_deduce(Registered())
    prepare.register(Registered, lambda sym, task: SwapFirstTwo().deducer(task))
    assert can_deduce(Registered()) and "Registered" in supported_kinds()
    with no_oracle(task):
        assert deduce(Registered(), task, known_from(task, np.array([5]), np.array([1])))[1] == 1


def test_known_values_must_be_classes():
    task = get_task("mod_add", p=5)
    known = np.full(len(task), -1)
    known[0] = 5
    with pytest.raises(UsageError, match="0..4"):
        deduce(get_symmetry(task, "commutativity"), task, known)


def test_loading_something_that_is_not_a_split_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="not a split"):
        load_split(tmp_path / "missing.npz")
    np.savez(tmp_path / "other.npz", rows=np.arange(3))
    with pytest.raises(UsageError, match="not a split"):
        load_split(tmp_path / "other.npz")


def test_labels_must_match_rows():
    task = get_task("mod_add", p=5)
    with pytest.raises(UsageError, match="one label per training row"):
        closure(task, np.array([1, 2]), [], labels=np.array([1]))


def test_save_and_load_round_trip(tmp_path):
    task, syms, train, c = closed("mod_add")
    meta = {"task": task.name, "params": task.params, "seed": SEED, "train_frac": FRAC,
            "symmetries": [s.name for s in syms]}
    path = save_split(tmp_path / "split.npz", c, train, meta)
    back = load_split(path)
    assert np.array_equal(back.rows, c.rows) and np.array_equal(back.labels, c.labels)
    assert np.array_equal(back.train_rows, train) and back.meta == meta


# --- the command line -------------------------------------------------------------------------
def invoke(*args):
    result = CliRunner().invoke(cli, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def test_cli_json(tmp_path):
    out = tmp_path / "aug.npz"
    result = invoke("augment", "mod_add", "-P", "p=11", "--train-frac", "0.3", "--seed", "0",
                    "--out", str(out), "--json")
    assert result.exit_code == 0, result.output
    r = json.loads(result.output)
    assert r["train_before"] == len(split_rows(121, 0.3, 0)) == 36
    assert r["train_after"] == 121 and r["mismatches"] == 0 and r["test_covered_share"] == 1.0
    back = load_split(out)
    assert np.array_equal(back.train_rows, split_rows(121, 0.3, 0))
    assert back.meta["symmetries"] == ["commutativity", "translation", "scaling", "associativity"]


def test_cli_text_with_one_symmetry():
    result = invoke("augment", "mod_add", "-P", "p=11", "--train-frac", "0.3", "--symmetry", "commutativity")
    assert result.exit_code == 0, result.output
    assert "train rows: 36 -> " in result.output and "mismatches with the oracle: 0" in result.output


def test_cli_unknown_symmetry_exits_2_with_one_error_line():
    result = invoke("augment", "mod_add", "-P", "p=11", "--symmetry", "commutatvity")
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    for name in ("associativity", "commutativity", "scaling", "translation"):
        assert name in lines[0]
