"""Decompositions of token spaces under declared groups, and the progress measures on them (issue 15)."""
from __future__ import annotations

import math
import time

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from sympy.combinatorics import PermutationGroup

from symreg import operation_task, token_map
from symreg.errors import UsageError
from symreg.registry import get_task
from symreg.reps import decompose, decompose_permutations, orbitals, skipped_actions, token_actions
from symreg.reps.decomposition import KINDS
from symreg.reps.measures import baseline, energy_fractions, exclude, key_components, restrict, sparsity

E = {kind: e for e, kind in KINDS.items()}


def matrix(p) -> np.ndarray:
    """The permutation matrix sending e_t to e_p[t]."""
    m = np.zeros((len(p), len(p)))
    m[np.asarray(p), np.arange(len(p))] = 1
    return m


def assert_valid(dec) -> None:
    """Everything item 5 asks of a decomposition, checked independently of how it was computed."""
    n, k = dec.n, len(dec.components)
    assert np.allclose(dec.basis.T @ dec.basis, np.eye(n), atol=1e-8)
    projectors = [dec.projector(i) for i in range(k)]
    assert np.allclose(sum(projectors), np.eye(n), atol=1e-8)
    for i, p in enumerate(projectors):
        assert np.allclose(p, p.T, atol=1e-10) and np.allclose(p @ p, p, atol=1e-8)
        for q in projectors[:i]:
            assert np.allclose(p @ q, 0, atol=1e-8)
    gens = [matrix(g) for g in dec.generators]
    for g in gens:
        for p in projectors:
            assert np.allclose(g @ p, p @ g, atol=1e-8)
    assert sum(c.dim * c.multiplicity for c in dec.components) == n
    assert sum(E[c.kind] * c.multiplicity ** 2 for c in dec.components) == dec.n_orbitals
    # the permutation character: fixed points of g = sum of multiplicity * character
    for j, g in enumerate(dec.generators):
        fixed = int((g == np.arange(n)).sum())
        assert math.isclose(sum(c.multiplicity * c.character[j] for c in dec.components), fixed, abs_tol=1e-6)
    for i, c in enumerate(dec.components):
        copies = dec.irreducibles(i)
        assert len(copies) == c.multiplicity and all(q.shape == (n, c.dim) for q in copies)
        for q in copies:  # each copy is invariant, with the component's character
            for j, g in enumerate(gens):
                assert np.allclose(g @ q, q @ (q.T @ g @ q), atol=1e-8)
                assert math.isclose(np.trace(q.T @ g @ q), c.character[j], abs_tol=1e-6)


def dims(dec) -> list[tuple[int, int]]:
    return sorted((c.dim, c.multiplicity) for c in dec.components)


# --- random permutation groups -------------------------------------------------------------

@st.composite
def permutation_groups(draw):
    n = draw(st.integers(1, 10))
    return np.array(draw(st.lists(st.permutations(range(n)), min_size=1, max_size=3)))


@given(permutation_groups())
def test_any_permutation_group_decomposes_correctly(perms):
    assert_valid(decompose_permutations(perms))


@given(permutation_groups(), st.randoms(use_true_random=False))
def test_relabelling_the_tokens_relabels_the_decomposition(perms, rnd):
    n = perms.shape[1]
    sigma = np.array(rnd.sample(range(n), n))  # token t is renamed sigma[t]
    moved = np.empty_like(perms)
    moved[:, sigma] = sigma[perms]
    a, b = decompose_permutations(perms), decompose_permutations(moved)
    inv = np.argsort(sigma)
    found = [(c.dim, c.multiplicity, c.kind, c.character, b.projector(i)) for i, c in enumerate(b.components)]
    assert len(found) == len(a.components)
    for i, c in enumerate(a.components):  # the same components, in any order among equal labels
        image = a.projector(i)[np.ix_(inv, inv)]
        assert sum(f[:4] == (c.dim, c.multiplicity, c.kind, c.character) and np.allclose(f[4], image, atol=1e-8)
                   for f in found) == 1


@given(permutation_groups())
def test_orbitals_span_the_commutant(perms):
    labels, r = orbitals(perms)
    n = perms.shape[1]
    assert sorted(np.unique(labels)) == list(range(r))
    ms = [matrix(p) for p in perms]
    for j in range(r):
        o = (labels == j).astype(float)
        assert all(np.allclose(m @ o, o @ m) for m in ms)
    # the commutant's dimension, from linear algebra: X with M X = X M for every generator
    system = np.concatenate([np.kron(np.eye(n), m) - np.kron(m.T, np.eye(n)) for m in ms])
    assert n * n - np.linalg.matrix_rank(system) == r


def test_orbitals_of_two_independent_flips():
    labels, r = orbitals(np.array([[1, 0, 2, 3], [0, 1, 3, 2]]))  # Z_2 x Z_2, one flip on each orbit of 2
    assert r == 6 and labels[0, 2] == labels[1, 3] == labels[0, 3]


def test_complex_type_with_multiplicity_two():
    perms = [[1, 2, 0, 4, 5, 3]]  # Z_3 acting regularly on two orbits
    dec = decompose_permutations(perms)
    assert_valid(dec)
    assert [(c.label, c.dim, c.multiplicity, c.kind) for c in dec.components] == [
        ("trivial", 1, 2, "real"), ("frequency 1", 2, 2, "complex")]
    assert dec.n_orbitals == 12


def test_quaternion_group_has_a_quaternionic_irreducible():
    one, i, j = np.eye(2, dtype=complex), np.diag([1j, -1j]), np.array([[0, 1], [-1, 0]], dtype=complex)
    elements = [one]
    for g in elements:  # closure under right multiplication by i and j
        for h in (i, j):
            if not any(np.allclose(g @ h, x) for x in elements):
                elements.append(g @ h)
    index = lambda m: next(k for k, x in enumerate(elements) if np.allclose(m, x))  # noqa: E731
    perms = [[index(h @ g) for g in elements] for h in (i, j)]  # left multiplication: regular
    dec = decompose_permutations(perms)
    assert_valid(dec)
    assert len(elements) == 8 and dims(dec) == [(1, 1)] * 4 + [(4, 1)]
    assert dec.components[-1].kind == "quaternionic"


# --- built-in tasks ---------------------------------------------------------------------------

def dft_projector(p: int, k: int) -> np.ndarray:
    s = np.arange(p)
    weight = 1 if k == 0 or 2 * k == p else 2
    return weight / p * np.cos(2 * np.pi * k * (s[:, None] - s[None, :]) / p)


@given(st.sampled_from([3, 4, 5, 6, 7, 8, 9, 12, 13, 16, 31]))
def test_cyclic_translation_agrees_with_the_dft(p):
    task = get_task("mod_add", p=p)
    dec = decompose(task, "translation")
    assert dec.group == f"Z_{p}" and dec.order == p
    assert [c.frequency for c in dec.components] == list(range(p // 2 + 1))
    for i, c in enumerate(dec.components):
        assert c.multiplicity == 1 and c.dim == (1 if c.frequency in (0, p / 2) else 2)
        assert np.allclose(dec.projector(i), dft_projector(p, c.frequency), atol=1e-8)
    classes = decompose(task, "translation", on="classes")
    assert [c.frequency for c in classes.components] == list(range(p // 2 + 1))


def test_mod_add_actions_and_skips():
    task = get_task("mod_add", p=7)
    found = {(a.action, a.on): a for a in token_actions(task)}
    assert set(found) == {("translation", "tokens"), ("translation", "classes"),
                          ("scaling", "tokens"), ("scaling", "classes")}
    assert found["translation", "tokens"].slot == 0 and found["translation", "tokens"].slots == (0, 1)
    assert found["scaling", "tokens"].slot is None  # the same map in both slots
    assert set(skipped_actions(task)) == {"commutativity"}
    with pytest.raises(UsageError, match="only moves slots"):
        decompose(task, "commutativity")
    with pytest.raises(UsageError, match="Unknown group action"):
        decompose(task, "translations")
    one = decompose(task, "translation", slot=1)
    assert [c.frequency for c in one.components] == [0, 1, 2, 3]
    scaling = decompose(task, "scaling")  # Z_6 on the units, 0 fixed: constants twice
    assert scaling.group == "Z_6"
    assert (scaling.components[0].label, scaling.components[0].multiplicity) == ("trivial", 2)
    assert_valid(scaling)


KNOWN = {3: [1, 1, 2], 4: [1, 1, 2, 3, 3]}


@pytest.mark.parametrize("n", [3, 4])
@pytest.mark.parametrize("action", ["left_translation", "right_translation"])
def test_regular_representation_of_s_n(n, action):
    dec = decompose(get_task("perm_compose", n=n), action)
    assert_valid(dec)
    assert dec.order == math.factorial(n) == dec.n
    assert sorted(c.dim for c in dec.components) == KNOWN[n]
    assert all(c.multiplicity == c.dim and c.kind == "real" for c in dec.components)
    assert sum(c.dim ** 2 for c in dec.components) == dec.order


@given(st.integers(3, 12))
def test_regular_representation_of_d_n(n):
    task = get_task("dihedral_compose", n=n)
    dec = decompose(task, "left_translation")
    assert dec.group == f"D_{n}" and dec.order == 2 * n
    ones = 2 if n % 2 else 4
    assert sorted(c.dim for c in dec.components) == [1] * ones + [2] * ((2 * n - ones) // 4)
    assert all(c.multiplicity == c.dim for c in dec.components)
    assert sum(c.dim ** 2 for c in dec.components) == dec.order
    assert_valid(dec)


def test_conjugation_counts_conjugacy_classes_and_isotypic_parts_are_canonical():
    task = get_task("perm_compose", n=4)
    dec = decompose(task, "conjugation")
    assert_valid(dec)
    assert dec.components[0].label == "trivial" and dec.components[0].multiplicity == 5  # classes of S_4
    other = decompose(task, "conjugation", seed=3)  # other random commutant elements, same components
    assert dec.table() == other.table()
    for i in range(len(dec.components)):
        assert np.allclose(dec.projector(i), other.projector(i), atol=1e-8)


def test_hypercube_group_is_never_enumerated(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the group was enumerated")

    monkeypatch.setattr(PermutationGroup, "generate", refuse)
    monkeypatch.setattr(PermutationGroup, "elements", property(refuse))
    task = get_task("graph_hypercube", dim=7)
    start = time.perf_counter()
    dec = decompose(task, "automorphism", seed=7)
    assert time.perf_counter() - start < 10
    assert dec.order == 645_120 and dec.n == 128 and dec.n_orbitals == 8
    assert dims(dec) == sorted((math.comb(7, k), 1) for k in range(8))
    assert_valid(dec)
    assert skipped_actions(task) == {"swap": "it only moves slots, so it acts trivially on the vocabulary of a slot"}


@given(st.integers(4, 30))
def test_cycle_graph_gives_dihedral_fourier_modes(n):
    dec = decompose(get_task("graph_cycle", n=n), "automorphism")
    assert dec.group == f"D_{n}"
    assert all(c.multiplicity == 1 for c in dec.components)
    fourier = [dft_projector(n, k) for k in range(n // 2 + 1)]
    for i in range(len(dec.components)):
        assert sum(np.allclose(dec.projector(i), f, atol=1e-8) for f in fourier) == 1


def test_compare_2d_actions():
    task = get_task("compare_2d", m=3)
    actions = token_actions(task)
    assert {a.action for a in actions} == {"converse", "reversal", "attribute_permutation"}
    assert all(a.on == "tokens" and a.slot is None for a in actions)  # yes/no answers are invariant
    for a in actions:
        dec = decompose(task, a.action)
        assert dec.n == 9 + 6
        assert_valid(dec)
    with pytest.raises(UsageError, match="invariance"):
        decompose(task, "reversal", on="classes")


Add12 = operation_task(
    "reps_add12", lambda x, y: (x + y) % 12, n=12,
    symmetries=[token_map("shift", lambda t: {"x->x+1": (t + 1) % 12}, slots=[0]),
                token_map("negation", lambda t: {"t->-t": -t % 12}),
                token_map("units", lambda t: {"t->5t": 5 * t % 12, "t->7t": 7 * t % 12})])


def test_a_plugin_task_gets_its_decompositions_for_free():
    task = Add12()
    assert {(a.action, a.on) for a in token_actions(task)} == {
        (s, o) for s in ("shift", "negation", "units") for o in ("tokens", "classes")}
    shift = decompose(task, "shift")
    assert shift.group == "Z_12" and shift.generator_names == ("x->x+1",)
    assert [c.label for c in shift.components] == ["trivial"] + [f"frequency {k}" for k in range(1, 7)]
    units = decompose(task, "units")
    assert units.group == "abelian, order 4"
    for dec in (shift, units, decompose(task, "negation")):
        assert_valid(dec)


def test_bad_generators_are_refused():
    with pytest.raises(UsageError, match="permutation"):
        decompose_permutations([[0, 0, 1]])
    with pytest.raises(UsageError, match="shape"):
        decompose_permutations([0, 1, 2])
    with pytest.raises(UsageError, match="limit"):
        decompose_permutations([np.arange(3001)])


# --- measures ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def z7():
    return decompose(get_task("mod_add", p=7), "translation")


@given(st.integers(1, 4), st.integers(1, 9), st.integers(0, 2**32 - 1))
def test_energy_fractions_are_batched_invariant_and_sum_to_one(seeds, d, seed):
    dec = decompose(get_task("dihedral_compose", n=4), "conjugation")
    rng = np.random.default_rng(seed)
    e = rng.standard_normal((seeds, dec.n, d)) + 5.0  # the offset is centred away
    f = energy_fractions(e, dec)
    assert f.shape == (seeds, len(dec.components))
    assert np.all(f >= -1e-12) and np.allclose(f.sum(axis=1), 1)
    assert np.allclose(f, np.stack([energy_fractions(x, dec) for x in e]))
    for g in dec.generators:  # moving the tokens by the group moves no energy between components
        moved = np.empty_like(e)
        moved[:, g] = e
        assert np.allclose(energy_fractions(moved, dec), f)


def test_an_embedding_inside_one_component_is_all_there(z7):
    rng = np.random.default_rng(0)
    for i in range(len(z7.components)):
        e = z7.columns(i) @ rng.standard_normal((z7.dims[i], 16))
        f = energy_fractions(e, z7)
        expected = np.zeros(len(z7.components))
        if z7.components[i].label != "trivial":  # constants vanish when centred
            expected[i] = 1
        assert np.allclose(f, expected, atol=1e-9)


def test_baseline_is_what_random_embeddings_get(z7):
    e = np.random.default_rng(1).standard_normal((7, 20000))
    assert np.allclose(energy_fractions(e, z7), baseline(z7), atol=0.02)
    assert math.isclose(baseline(z7).sum(), 1)


@given(st.lists(st.floats(0, 1), min_size=1, max_size=7), st.floats(0.05, 1))
def test_key_components_are_the_fewest_reaching_the_threshold(weights, threshold):
    f = np.array(weights)
    f = f / f.sum() if f.sum() > 0 else np.full(len(f), 1 / len(f))
    mask = key_components(f, threshold)
    assert f[mask].sum() >= threshold - 1e-9
    fewest = next(k for k in range(1, len(f) + 1) if np.sort(f)[::-1][:k].sum() >= threshold - 1e-9)
    assert mask.sum() == fewest


def test_sparsity_summary(z7):
    f = np.array([[0.0, 1.0, 0.0, 0.0], [0.0, 0.5, 0.25, 0.25]])
    s = sparsity(f, z7)
    assert s["n_key"].tolist() == [1, 3] and s["top"].tolist() == [1.0, 0.5]
    assert np.allclose(s["key_dim"], [2 / 6, 1.0]) and np.allclose(s["effective"], [1, 2 ** 1.5])


def test_restricted_and_excluded_embeddings(z7):
    rng = np.random.default_rng(2)
    e = rng.standard_normal((3, 7, 5))
    mask = np.array([[True, True, False, False], [False, False, True, True], [True] * 4])
    r, x = restrict(e, z7, mask), exclude(e, z7, mask)
    mean = e.mean(axis=1, keepdims=True)
    assert np.allclose(r + x, e + mean)
    assert np.allclose(r[2], e[2]) and np.allclose(x[2], np.broadcast_to(mean[2], (7, 5)))
    fr, fx = energy_fractions(r, z7), energy_fractions(x, z7)
    assert np.allclose(fr[~mask], 0, atol=1e-12) and np.allclose(fx[mask], 0, atol=1e-12)
    assert np.allclose(restrict(e, z7, mask[0]), restrict(e, z7, np.stack([mask[0]] * 3)))


def test_torch_in_torch_out_differentiable(z7):
    e = torch.randn(2, 7, 4, dtype=torch.float64, requires_grad=True)
    mask = [False, True, False, True]
    r = restrict(e, z7, mask)
    assert isinstance(r, torch.Tensor) and np.allclose(r.detach().numpy(), restrict(e.detach().numpy(), z7, mask))
    r.pow(2).sum().backward()
    assert e.grad is not None and e.grad.abs().sum() > 0
    assert np.allclose(energy_fractions(e, z7), energy_fractions(e.detach().numpy(), z7))
    with pytest.raises(UsageError, match="shape"):
        energy_fractions(torch.zeros(2, 8, 4), z7)
