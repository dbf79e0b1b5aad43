"""Graph tasks on any graph (symreg.graph_tasks) and bliss's automorphism generators (symreg.symmetry.graphs)."""
from __future__ import annotations

import json
import math
import pickle
import sys
import types
from dataclasses import replace
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from click.testing import CliRunner

from symreg.cli import cli
from symreg.contract.checks import TaskContract
from symreg.declare import between, tasks_hook
from symreg.errors import InvalidSymmetryError, UsageError
from symreg.graph_tasks import QUICK, graph_task
from symreg.registry import get_task
from symreg.symmetry.graphs import automorphism_generators, automorphism_group_order
from symreg.task import Param
from symreg.train.api import train
from tests.graph_zoo import ZOO, compare, group
from tests.helpers import TINY, registered

Petersen = graph_task("gt_petersen", nx.petersen_graph())
Ladder = graph_task("gt_ladder", lambda rungs: nx.ladder_graph(rungs),
                    params={"rungs": Param(6, "rungs of the ladder", between(2, 750))},
                    quick=replace(QUICK, params={"rungs": 4}))
Star = graph_task("gt_star", lambda leaves: nx.star_graph(leaves), params={"leaves": Param(30, "leaves", between(2, 999))})
Frucht = graph_task("gt_frucht", nx.frucht_graph())  # 3-regular with no symmetry at all
PLUGIN = types.SimpleNamespace(register_tasks=tasks_hook(Petersen, Ladder, Star))


# --- bliss's generators against networkx's enumeration ---------------------------------------------------
def test_the_zoo_has_at_least_20_graphs_some_random_regular():
    assert len(ZOO) >= 20 and sum(name.startswith("random_regular") for name in ZOO) >= 4


@pytest.mark.parametrize("name", sorted(ZOO))
def test_bliss_generators_generate_the_enumerated_group(name):
    row = compare(ZOO[name]())
    assert row["agree"], row
    assert row["order_igraph"] == row["order_networkx"]


def test_generators_follow_the_given_node_order():
    G = nx.path_graph(4)
    nodes = [2, 0, 3, 1]  # token t is nodes[t]; the reversal 0<->3, 1<->2 becomes tokens 0<->3, 1<->2
    assert [g.tolist() for g in automorphism_generators(G, nodes)] == [[3, 2, 1, 0]]
    with pytest.raises(InvalidSymmetryError, match="each of the graph's 4 nodes exactly once"):
        automorphism_generators(G, [0, 1, 2])


def test_parallel_edges_are_refused_and_a_missing_igraph_is_named(monkeypatch):
    with pytest.raises(InvalidSymmetryError, match="parallel edges"):
        automorphism_generators(nx.MultiGraph([(0, 1), (0, 1), (1, 2)]), [0, 1, 2])
    assert automorphism_group_order(nx.MultiGraph([(0, 1), (1, 2)])) == 2  # one copy of each edge is fine
    monkeypatch.setitem(sys.modules, "igraph", None)  # import igraph now raises ImportError
    with pytest.raises(UsageError, match="pip install igraph"):
        automorphism_group_order(nx.path_graph(3))


def test_group_orders_are_counted_not_enumerated():
    assert automorphism_group_order(nx.hypercube_graph(10)) == 2 ** 10 * math.factorial(10)
    assert automorphism_group_order(nx.complete_bipartite_graph(40, 40)) == 2 * math.factorial(40) ** 2


@pytest.mark.parametrize("name, params", [
    ("graph_grid2d", {"rows": 3, "cols": 4}), ("graph_grid2d", {"rows": 4, "cols": 4}),
    ("graph_grid3d", {"rows": 2, "cols": 3, "layers": 3}), ("graph_grid3d", {}),
    ("graph_cycle", {"n": 6}), ("graph_path", {"n": 5}),
    ("graph_cylinder", {"cycle": 5, "length": 3}), ("graph_cylinder", {"cycle": 4, "length": 4}),
    ("graph_hypercube", {"dim": 3}), ("graph_hypercube", {}),
])
def test_builtin_known_generators_generate_the_bliss_group(name, params):
    task = get_task(name, **params)
    n = len(task.nodes)
    known = group([p for _, p in task.automorphism_generators()], n)
    found = group(automorphism_generators(task.graph, task.nodes), n)
    assert known.order() == found.order() == automorphism_group_order(task.graph)
    assert all(found.contains(g) for g in known.generators) and all(known.contains(g) for g in found.generators)


# --- graph_task -----------------------------------------------------------------------------------------
def shortest_paths(task) -> np.ndarray:
    lengths = dict(nx.all_pairs_shortest_path_length(task.graph))
    return np.array([lengths[task.nodes[u]][task.nodes[v]] for u, v in task.inputs()])


@pytest.mark.parametrize("task", [Petersen(), Ladder(), Ladder(rungs=2)], ids=str)
def test_labels_are_networkx_distances_and_every_symmetry_verifies(task):
    assert np.array_equal(task.labels, shortest_paths(task))
    assert task.n_classes == nx.diameter(task.graph) + 1 and task.size == len(task.nodes) ** 2
    syms = task.symmetries()
    assert [s.name for s in syms] == ["automorphism", "swap", "triangle"]
    assert syms[0].order() == automorphism_group_order(task.graph) and syms[1].order() == 2
    assert [str(v.counterexample) for v in (s.verify(task) for s in syms) if not v.ok] == []


def test_a_graph_of_the_parameters_is_built_per_task():
    assert [Ladder(rungs=k).vocab_size for k in (2, 5)] == [4, 10]
    assert Ladder.parameters["rungs"].default == 6 and Ladder.quick.params == {"rungs": 4}
    assert Petersen.preset.train_frac == 0.8 and Petersen.preset.weight_decay == 3.0
    assert Petersen.domain == "structural" and Petersen.__module__ == __name__


def test_tasks_pickle_by_name_and_parameters():
    for task in (Petersen(), Ladder(rungs=3)):
        back = pickle.loads(pickle.dumps(task))
        assert type(back) is type(task) and back.params == task.params
        assert np.array_equal(back.labels, task.labels)


def test_a_disconnected_graph_is_refused_in_one_line():
    two = nx.disjoint_union(nx.path_graph(3), nx.path_graph(2))
    with pytest.raises(UsageError, match=r"^Graph of task 'gt_bad' \(Graph with 5 nodes and 3 edges\) is not "
                                         r"connected \(2 components\)") as err:
        graph_task("gt_bad", two)
    assert "\n" not in str(err.value)
    Bad = graph_task("gt_bad", lambda k: nx.empty_graph(k), params={"k": Param(3, "nodes")})  # checked when built
    with pytest.raises(UsageError, match="'gt_bad'.* not connected"):
        Bad()


@pytest.mark.parametrize("graph, message", [
    (nx.path_graph(3, create_using=nx.DiGraph), "is directed"),
    (nx.path_graph(1501), "2 to 1500 nodes"),
    (nx.empty_graph(1), "2 to 1500 nodes"),
    ([(0, 1)], "is a list, not a networkx graph"),
])
def test_graphs_a_distance_task_cannot_use_are_refused(graph, message):
    with pytest.raises(UsageError, match=message):
        graph_task("gt_bad", graph)


def test_an_asymmetric_graph_keeps_swap_and_triangle():
    task = Frucht()
    assert automorphism_group_order(task.graph) == 1 and task.automorphism_generators() == []
    assert [s.name for s in task.symmetries()] == ["swap", "triangle"]
    assert all(s.verify(task).ok for s in task.symmetries())


def test_diameter_one_has_no_triangle_law_and_loops_and_parallel_edges_are_dropped():
    assert [s.name for s in graph_task("gt_k4", nx.complete_graph(4))().symmetries()] == ["automorphism", "swap"]
    multi = nx.MultiGraph(nx.cycle_graph(5))
    multi.add_edges_from([(0, 1), (2, 2)])
    task = graph_task("gt_multi", multi)()
    assert np.array_equal(task.labels, graph_task("gt_c5", nx.cycle_graph(5))().labels)
    assert task.symmetries()[0].order() == 10  # the 5-cycle's, as the distances see it


def test_encoding_names_nodes_and_round_trips():
    Grid = graph_task("gt_grid", nx.grid_2d_graph(3, 4), node_name=lambda rc: f"r{rc[0]}c{rc[1]}")
    task = Grid()
    assert task.encode(((0, 1), [2, 3])) == (1, 11) == task.encode(("r0c1", "r2c3"))
    assert task.decode((1, 11)) == ((0, 1), (2, 3)) and task.token_name(11) == "r2c3"
    assert all(task.encode(task.decode(row)) == tuple(row) for row in task.inputs().tolist())
    assert task.encoding_example.startswith("d(r0c3, r2c2) = 3: tokens (3, 10) -> class 3")
    with pytest.raises(UsageError, match=r"\(5, 5\) is not a node of task 'gt_grid' \(its nodes: r0c0, r0c1"):
        task.encode(((5, 5), (0, 0)))


def test_geometry_is_the_graph():
    task = Ladder(rungs=3)  # nodes 0-1-2 and 3-4-5, rungs i-(i+3)
    assert task.geometry_edges().tolist() == [[0, 1], [0, 3], [1, 2], [1, 4], [2, 5], [3, 4], [4, 5]]
    coords = task.geometry_coords()
    assert coords.shape == (6, 2) and np.array_equal(coords, Ladder(rungs=3).geometry_coords())
    d = np.linalg.norm(coords[:, None] - coords[None], axis=-1)
    assert d[0, 2] > d[0, 1] > 0  # classical MDS keeps the path's order along the ladder


def test_show_reports_a_group_order_no_enumeration_could_reach():
    with registered(PLUGIN, "graph-task-test"):
        result = CliRunner().invoke(cli, ["show", "gt_star", "-P", "leaves=30", "--json"])
    assert result.exit_code == 0, result.output
    orders = {s["name"]: s.get("order") for s in json.loads(result.output)["symmetries"]}
    assert orders == {"automorphism": math.factorial(30), "swap": 2, "triangle": None}


# --- the README example ---------------------------------------------------------------------------------
README = (Path(__file__).parent.parent / "README.md").read_text()
README_EXAMPLE = README.split("### Declaring a graph task")[1].split("```python")[1].split("```")[0]


def test_readme_example_declares_two_graph_tasks_in_at_most_10_lines():
    assert len([line for line in README_EXAMPLE.splitlines() if line.strip()]) <= 10
    namespace: dict = {"__name__": "readme_graph_example"}
    exec(compile(README_EXAMPLE, "README.md", "exec"), namespace)
    petersen, ladder = namespace["Petersen"](), namespace["Ladder"](rungs=3)
    assert [(s.name, s.order()) for s in petersen.symmetries()[:2]] == [("automorphism", 120), ("swap", 2)]
    assert all(v.ok for v in (s.verify(ladder) for s in ladder.symmetries()))
    got: list = []
    namespace["register_tasks"](got.append)
    assert got == [namespace["Petersen"], namespace["Ladder"]]


# --- symreg's contract suite, on declared graph tasks ------------------------------------------------------
class TestGraphTaskContract(TaskContract):
    """The checks every registered task passes (symreg.contract), with the test plugin registered around them."""

    tasks = ["gt_petersen", "gt_ladder"]

    def pytest_generate_tests(self, metafunc):
        with registered(PLUGIN, "graph-task-test"):
            super().pytest_generate_tests(metafunc)

    @pytest.fixture(autouse=True, scope="class")
    @classmethod
    def _plugin(cls):
        with registered(PLUGIN, "graph-task-test"):
            yield


def test_a_built_graph_task_trains_three_epochs(tmp_path):
    with registered(PLUGIN, "graph-task-test"):  # checking which symmetries to trust looks up the task's plugin
        [path] = train(Ladder(rungs=3), preset="quick", out=tmp_path / "run", epochs=3, eval_every=1,
                       model_sizes=TINY, device="cpu", violation_samples=8)
    rows = [json.loads(line) for line in (path / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["epoch"] == 3 and all(np.isfinite(r["train_loss"]) for r in rows)
