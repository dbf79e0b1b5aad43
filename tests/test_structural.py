"""The structural plugin (graph distances) and the core's graph helpers."""
from __future__ import annotations

import time

import networkx as nx
import numpy as np
import pytest
from networkx.algorithms.isomorphism import GraphMatcher
from sympy.combinatorics import Permutation, PermutationGroup

from symreg.errors import InvalidSymmetryError, UsageError
from symreg.symmetry import automorphism_group_generators, is_automorphism, verify_task
from symreg_structural import TASKS, register_tasks
from symreg_structural.tasks import Cycle, Cylinder, Grid2D, Grid3D, Hypercube, Path

SMALL = [Grid2D(rows=2, cols=2), Grid2D(rows=3, cols=3), Grid2D(rows=3, cols=4),
         Grid3D(rows=2, cols=2, layers=2), Grid3D(rows=2, cols=3, layers=3),
         Grid3D(rows=3, cols=3, layers=3), Cycle(n=4), Cycle(n=6), Cycle(n=7), Path(n=3),
         Path(n=5), Cylinder(cycle=3, length=2), Cylinder(cycle=4, length=3),
         Cylinder(cycle=4, length=4), Cylinder(cycle=5, length=3), Hypercube(dim=2),
         Hypercube(dim=3), Hypercube(dim=4)]


def _nx_distances(G, nodes):
    pos = {v: i for i, v in enumerate(nodes)}
    d = np.full((len(nodes), len(nodes)), -1)
    for src, lengths in nx.all_pairs_shortest_path_length(G):
        for dst, k in lengths.items():
            d[pos[src], pos[dst]] = k
    return d


def _node_group(task):
    return PermutationGroup([Permutation(p.tolist()) for _, p in task.automorphism_generators()])


def test_registers_the_six_tasks():
    got = []
    register_tasks(got.append)
    assert [c.name for c in got] == ["graph_grid2d", "graph_grid3d", "graph_cycle", "graph_path",
                                     "graph_cylinder", "graph_hypercube"]


@pytest.mark.parametrize("task", SMALL + [cls() for cls in TASKS], ids=repr)
def test_closed_form_matches_networkx(task):
    assert np.array_equal(task.table, _nx_distances(task.graph, task.nodes))
    assert task.n_classes == task.table.max() + 1
    assert np.array_equal(task.labels, task.table.reshape(-1))  # row-major domain


@pytest.mark.parametrize("task", SMALL, ids=repr)
def test_known_generators_generate_the_whole_automorphism_group(task):
    G, nodes = task.graph, task.nodes
    for _, p in task.automorphism_generators():
        assert is_automorphism(G, nodes, p)
    n_aut = sum(1 for _ in GraphMatcher(G, G).isomorphisms_iter())
    assert _node_group(task).order() == n_aut
    assert task.symmetries()[0].order() == n_aut  # the action on (u, v) is faithful
    assert PermutationGroup(automorphism_group_generators(G, nodes)).order() == n_aut


@pytest.mark.parametrize("cls, order", [(Grid2D, 8), (Grid3D, 48), (Cycle, 128), (Path, 2),
                                        (Cylinder, 28), (Hypercube, 645_120)])
def test_group_orders_at_default_sizes(cls, order):
    task = cls()
    assert task.symmetries()[0].order() == order
    assert all(is_automorphism(task.graph, task.nodes, p) for _, p in task.automorphism_generators())


def test_small_cylinder_that_is_a_cube_is_refused():
    """C4 x P2 is the 3-cube: 48 automorphisms, not the cylinder's 16."""
    G = nx.grid_2d_graph(4, 2, periodic=(True, False))
    assert sum(1 for _ in GraphMatcher(G, G).isomorphisms_iter()) == 48
    with pytest.raises(UsageError, match="cycle=4, length=2 .* graph_hypercube dim=3"):
        Cylinder(cycle=4, length=2)


@pytest.mark.parametrize("cls, params, match", [
    (Cycle, {"n": 3}, "n=3 of task 'graph_cycle' must be at least 4"),
    (Cycle, {"n": 2000}, "n=2000 .* at most 1500"),
    (Path, {"n": 2}, "n=2 of task 'graph_path' must be at least 3"),
    (Grid2D, {"rows": 1}, "rows=1 of task 'graph_grid2d' must be at least 2"),
    (Grid2D, {"rows": 40, "cols": 40}, "1600 nodes .* limit is 1500"),
    (Grid3D, {"layers": 1}, "layers=1 .* at least 2"),
    (Grid3D, {"rows": 12, "cols": 12, "layers": 12}, "1728 nodes"),
    (Cylinder, {"cycle": 2}, "cycle=2 .* at least 3"),
    (Hypercube, {"dim": 1}, "dim=1 .* at least 2"),
    (Hypercube, {"dim": 11}, "dim=11 .* at most 10"),
    (Hypercube, {"dim": 7.0}, "dim=7.0 of task 'graph_hypercube' must be"),
])
def test_bad_parameters_are_named(cls, params, match):
    with pytest.raises(UsageError, match=match):
        cls(**params)


@pytest.mark.parametrize("cls", TASKS)
def test_encode_decode_round_trip(cls):
    task = cls(**cls.quick.params)
    x = task.inputs()[::7]
    for row in x:
        value = task.decode(row)
        assert task.encode(value) == tuple(int(t) for t in row)
        names = tuple(task.token_name(t) for t in row)
        assert task.encode(names) == tuple(int(t) for t in row)
    with pytest.raises(UsageError, match="is not a node"):
        task.encode(((99, 99), 0))
    assert "tokens (" in task.encoding_example


def test_encode_accepts_lists_and_bit_strings():
    assert Grid2D().encode(([1, 2], [4, 0])) == (9, 28)
    assert Hypercube(dim=3).encode(((1, 0, 1), "011")) == (5, 3)
    assert Path().decode([0, 63]) == (0, 63)


def test_geometry_coords_draw_the_shape():
    cyc = Cycle(n=12).geometry_coords()
    step = np.linalg.norm(cyc - np.roll(cyc, 1, axis=0), axis=1)
    assert cyc.shape == (12, 2) and np.allclose(step, step[0])
    assert Path(n=5).geometry_coords().ravel().tolist() == [0, 1, 2, 3, 4]
    assert Cylinder().geometry_coords().shape == (49, 3)
    assert np.array_equal(Grid3D().geometry_coords(), Grid3D().coords)
    assert Hypercube(dim=3).geometry_coords()[5].tolist() == [1, 0, 1]


@pytest.mark.parametrize("cls", TASKS)
@pytest.mark.parametrize("which", ["default", "quick"])
def test_verify_task_passes(cls, which):
    task = cls(**(cls.quick.params if which == "quick" else {}))
    start = time.perf_counter()
    verdicts = verify_task(task, task.symmetries())
    print(f"{task!r}: verified in {time.perf_counter() - start:.2f} s")
    assert [v.symmetry for v in verdicts] == ["automorphism", "swap", "triangle"]
    assert all(v.ok for v in verdicts), [str(v.counterexample) for v in verdicts if not v.ok]


class WrongCycle(Cycle):
    """The path metric on cycle nodes: invariant under reversal, not under rotation."""

    def distance_table(self):
        return np.abs(np.arange(self.params["n"])[:, None] - np.arange(self.params["n"]))

    @property
    def n_classes(self):
        return self.params["n"]


def test_verification_catches_a_wrong_oracle():
    task = WrongCycle(n=8)
    by_name = {v.symmetry: v for v in verify_task(task, task.symmetries(), max_exhaustive=0,
                                                  samples=300)}
    assert not by_name["automorphism"].ok and by_name["swap"].ok
    tri = by_name["triangle"]
    assert not tri.ok and tri.method == "hypothesis (shrunk)"
    assert "networkx d(a,c)" in tri.counterexample.detail


def test_triangle_hypothesis_fallback_on_the_3d_grid():
    task = Grid3D(rows=4, cols=4, layers=4)
    verdict = task.symmetries()[2].verify(task, max_exhaustive=0, samples=200)
    assert verdict.ok and verdict.method.startswith("hypothesis")


def test_automorphism_search_refuses_large_groups():
    with pytest.raises(InvalidSymmetryError, match="more than max_automorphisms=100 .* known generators"):
        automorphism_group_generators(nx.complete_graph(6), range(6), max_automorphisms=100)
    assert automorphism_group_generators(nx.path_graph(1), [0]) == []
    assert PermutationGroup(automorphism_group_generators(nx.petersen_graph(), range(10))).order() == 120


def test_helpers_check_their_node_list_and_permutation():
    G = nx.cycle_graph(4)
    with pytest.raises(InvalidSymmetryError, match="exactly once"):
        is_automorphism(G, [0, 1, 2], [0, 1, 2])
    assert not is_automorphism(G, range(4), [0, 0, 1, 2])
    assert not is_automorphism(G, range(4), [0, 1, 2])
    assert is_automorphism(G, range(4), Permutation([1, 2, 3, 0]))
    D = nx.DiGraph([(0, 1), (1, 2)])
    assert not is_automorphism(D, range(3), [2, 1, 0])
    assert is_automorphism(D.to_undirected(), range(3), [2, 1, 0])
