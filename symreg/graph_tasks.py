"""Graph-distance tasks on any connected graph: :func:`graph_task` builds the Task class.

The input is an ordered pair of nodes ``(u, v)``, ``u == v`` included; its
class is the shortest-path distance ``d(u, v)`` (networkx BFS from every
node), from 0 to the diameter. Tokens number the nodes in the graph's own
order (``list(G)``). Every such task declares the automorphism group of the
graph (generators from bliss, :func:`~symreg.symmetry.graphs.automorphism_generators`;
left out when the group is trivial), the swap ``d(u, v) = d(v, u)`` and the
triangle law (left out below diameter 2, where it has no instance)::

    Petersen = graph_task("petersen", nx.petersen_graph())
    Ladder = graph_task("ladder", lambda n: nx.ladder_graph(n),
                        params={"n": Param(8, "rungs", between(2, 750))})

The graph is a networkx graph or a function of the task parameters it names
returning one (called as :func:`~symreg.declare.operation_task` calls its
functions). Distances depend on adjacency only, so parallel edges and
self-loops are dropped: the task's symmetries are those of the simple graph.
"""
from __future__ import annotations

import functools
import sys
from dataclasses import dataclass
from typing import Any, Callable

import networkx as nx
import numpy as np
from sympy.combinatorics import Permutation

from symreg.declare import Declared, _class_name, _rebuild, _value, swap
from symreg.errors import UsageError
from symreg.symmetry.base import Symmetry
from symreg.symmetry.graphs import automorphism_generators
from symreg.symmetry.group import element
from symreg.symmetry.laws import TriangleEquality
from symreg.task import Param, Preset, Task

__all__ = ["GraphSource", "GraphTask", "checked_graph", "distance_table", "graph_task"]

MAX_NODES = 1500  # as the built-in graph tasks: the domain is nodes**2 inputs, 2.25 million
PRESET = Preset(train_frac=0.8, weight_decay=3.0, epochs=100_000,
                note="like the paper's graph tasks (App. F): train 0.8, weight decay 3")
QUICK = Preset(train_frac=0.8, weight_decay=3.0, epochs=5_000,
               note="CPU: the paper's train fraction and weight decay, 5,000 epochs")

AUTOMORPHISM = Declared("automorphism", "d(g u, g v) = d(u, v) for every graph automorphism g (bliss)",
                        lambda task: [(n, element(task, tokens=p)) for n, p in task.automorphism_generators()])
SWAP = swap("swap", description="d(u, v) = d(v, u)")


@dataclass(frozen=True)
class GraphSource:
    """What :func:`graph_task` was given (kept on the class as ``source``)."""

    graph: Any  # a checked, frozen nx.Graph, or a function of the parameters returning a graph
    node_name: Callable[[Any], str] | None


def checked_graph(name: str, G: Any) -> nx.Graph:
    """``G`` as a frozen simple graph, or a UsageError saying why task ``name`` cannot use it.

    >>> checked_graph("t", nx.MultiGraph([(0, 1), (0, 1), (1, 1), (1, 2)])).edges
    EdgeView([(0, 1), (1, 2)])
    >>> checked_graph("t", nx.empty_graph(3))
    Traceback (most recent call last):
    ...
    symreg.errors.UsageError: Graph of task 't' (Graph with 3 nodes and 0 edges) is not connected (3 components); every pair of nodes needs a distance.
    """
    where = f"Graph of task {name!r}"
    if not isinstance(G, nx.Graph):
        raise UsageError(f"{where} is a {type(G).__name__}, not a networkx graph.")
    if G.is_directed():
        raise UsageError(f"{where} ({G}) is directed; a distance task needs an undirected graph "
                         "(nx.Graph(G) forgets the directions).")
    if not 2 <= len(G) <= MAX_NODES:
        raise UsageError(f"{where} ({G}) must have 2 to {MAX_NODES} nodes ({MAX_NODES}**2 inputs).")
    if not nx.is_connected(G):
        raise UsageError(f"{where} ({G}) is not connected ({nx.number_connected_components(G)} components); "
                         "every pair of nodes needs a distance.")
    simple = nx.Graph(G)
    simple.remove_edges_from(list(nx.selfloop_edges(simple)))
    return nx.freeze(simple)


def distance_table(G: nx.Graph, nodes: list) -> np.ndarray:
    """``d[s, t]``: the length of a shortest path from ``nodes[s]`` to ``nodes[t]`` (networkx BFS).

    >>> distance_table(nx.path_graph(3), [0, 1, 2]).tolist()
    [[0, 1, 2], [1, 0, 1], [2, 1, 0]]
    """
    token = {v: t for t, v in enumerate(nodes)}
    d = np.full((len(nodes), len(nodes)), -1, dtype=np.int64)
    for src, lengths in nx.all_pairs_shortest_path_length(G):
        d[token[src], [token[v] for v in lengths]] = list(lengths.values())
    return d


def _cycles(i: int, perm: np.ndarray, names: list[str]) -> str:
    """Generator ``g<i>`` with its cycles over node names, or how many nodes it moves when they are long."""
    cycles = Permutation(perm.tolist()).cyclic_form
    text = "".join("(" + " ".join(names[t] for t in c) + ")" for c in cycles)
    return f"g{i} = {text}" if len(text) <= 60 else f"g{i} (moves {sum(map(len, cycles))} of {len(perm)} nodes)"


class GraphTask(Task):
    """Base of the classes :func:`graph_task` builds: ``d(u, v)`` on one connected graph."""

    domain = "structural"
    source: GraphSource

    def setup(self) -> None:
        G = self.source.graph
        self.graph = G if isinstance(G, nx.Graph) else checked_graph(self.name, _value(G, self.params))
        self.nodes = list(self.graph)
        self._token = {v: t for t, v in enumerate(self.nodes)}
        self.table = distance_table(self.graph, self.nodes)
        self.table.setflags(write=False)

    # --- structure -------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        return len(self.nodes)

    @property
    def n_classes(self) -> int:
        return int(self.table.max()) + 1

    def slot_tokens(self) -> list[np.ndarray]:
        return [np.arange(len(self.nodes))] * 2

    def slot_sizes(self) -> list[int]:
        return [len(self.nodes)] * 2

    def label(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.int64)
        return self.table[x[:, 0], x[:, 1]]

    # --- encoding ----------------------------------------------------------------
    def token_name(self, token: int) -> str:
        node = self.nodes[int(token)]
        return str(node) if self.source.node_name is None else str(self.source.node_name(node))

    @functools.cached_property
    def _by_name(self) -> dict[str, int]:
        return {self.token_name(t): t for t in range(len(self.nodes))}

    def _lookup(self, node: Any) -> int:
        """The token of ``node``: the node itself (a list stands for a tuple) or its token name."""
        key = tuple(node) if isinstance(node, (list, np.ndarray)) else node
        try:
            return self._token[key]
        except (KeyError, TypeError):
            pass
        if isinstance(node, str) and node in self._by_name:
            return self._by_name[node]
        first = ", ".join(map(self.token_name, range(min(3, len(self.nodes)))))
        raise UsageError(f"{node!r} is not a node of task '{self.name}' (its nodes: {first}, ...).")

    def encode(self, value) -> tuple[int, ...]:
        u, v = value
        return (self._lookup(u), self._lookup(v))

    def decode(self, tokens) -> tuple:
        return tuple(self.nodes[int(t)] for t in tokens)

    @property
    def encoding_example(self) -> str:
        n = len(self.nodes)
        u, v = n // 4, n - 1 - n // 8
        d = int(self.table[u, v])
        if self.nodes == list(range(n)):
            rule = "node i is token i"
        else:
            rule = "tokens number the nodes in the graph's order: " + ", ".join(
                f"{self.token_name(t)} is {t}" for t in range(min(3, n))) + ", ..."
        return f"d({self.token_name(u)}, {self.token_name(v)}) = {d}: tokens ({u}, {v}) -> class {d} ({rule})"

    # --- geometry ------------------------------------------------------------------
    def geometry_edges(self) -> np.ndarray:
        """The graph's edges as pairs of tokens (smaller first), sorted."""
        pairs = {tuple(sorted((self._token[u], self._token[v]))) for u, v in self.graph.edges}
        return np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)

    def geometry_coords(self) -> np.ndarray:
        """A deterministic 2-D layout: classical MDS of the distance table (a graph has no coordinates of its own)."""
        d2 = self.table.astype(float) ** 2
        gram = -(d2 - d2.mean(0) - d2.mean(1)[:, None] + d2.mean()) / 2
        w, v = np.linalg.eigh(gram)  # ascending eigenvalues
        top = v[:, [-1, -2]] * np.sqrt(np.clip(w[[-1, -2]], 0, None))
        return top * np.where(top[np.abs(top).argmax(0), [0, 1]] < 0, -1, 1)  # a fixed sign per axis

    # --- symmetries ------------------------------------------------------------------
    @functools.cached_property
    def _automorphisms(self) -> list[tuple[str, np.ndarray]]:
        names = [self.token_name(t) for t in range(len(self.nodes))]
        return [(_cycles(i, p, names), p) for i, p in enumerate(automorphism_generators(self.graph, self.nodes), 1)]

    def automorphism_generators(self) -> list[tuple[str, np.ndarray]]:
        """Generators of Aut(G) from bliss as ``(name, token permutation)``; none when the group is trivial."""
        return list(self._automorphisms)

    def symmetries(self) -> list[Symmetry]:
        out = [AUTOMORPHISM.build(self), SWAP.build(self)]
        if self.n_classes > 2:  # diameter 2 or more: the triangle law has instances
            out.append(TriangleEquality(self.graph, self.nodes))
        return [s for s in out if s is not None]

    def __reduce__(self) -> tuple:
        return _rebuild, (type(self).__module__, self.name, self.params, GraphTask)


def graph_task(name: str, graph: nx.Graph | Callable[..., nx.Graph], *, params: dict[str, Param] | None = None,
               preset: Preset = PRESET, quick: Preset = QUICK, description: str = "", version: int = 1,
               node_name: Callable[[Any], str] | None = None) -> type[Task]:
    """The Task class of shortest-path distance on ``graph``, with its automorphisms, swap and triangle law.

    ``graph`` is a connected networkx graph (checked now) or a function of
    the parameters it names returning one (checked when a task is built);
    ``node_name(node)`` names a token (default ``str(node)``). Presets default
    to the built-in graph tasks' (train 0.8, weight decay 3). Register the
    class with :func:`~symreg.declare.tasks_hook`.

    >>> Petersen = graph_task("petersen", nx.petersen_graph())
    >>> task = Petersen()
    >>> task.size, task.n_classes, [(s.name, s.order()) for s in task.symmetries()[:2]]
    (100, 3, [('automorphism', 120), ('swap', 2)])
    >>> task.encoding_example
    'd(2, 8) = 2: tokens (2, 8) -> class 2 (node i is token i)'
    >>> graph_task("grid", nx.grid_2d_graph(3, 3))().encoding_example
    "d((0, 2), (2, 1)) = 3: tokens (2, 7) -> class 3 (tokens number the nodes in the graph's order: (0, 0) is 0, (0, 1) is 1, (0, 2) is 2, ...)"
    """
    if callable(graph):
        source = GraphSource(graph, node_name)
        about = "the graph its parameters make"
    else:
        source = GraphSource(checked_graph(name, graph), node_name)
        about = str(graph)
    cls_name = _class_name(name, "Graph")
    attrs = {"name": name, "version": version, "parameters": dict(params or {}), "preset": preset,
             "quick": quick, "source": source,
             "description": description or f"shortest-path distance d(u,v) on {about}",
             "__module__": sys._getframe(1).f_globals.get("__name__", __name__),
             "__doc__": description or f"The graph-distance task {name!r}."}
    return type(cls_name, (GraphTask,), attrs)
