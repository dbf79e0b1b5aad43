"""Graph automorphisms as token permutations, for tasks defined on a graph.

A task on a graph numbers its nodes: token ``t`` is ``nodes[t]``. An
automorphism is then a permutation ``perm`` of ``range(len(nodes))``, with
``perm[t]`` the token of the image of ``nodes[t]``, which is what
:func:`symreg.symmetry.group.element` takes as ``tokens``. The simplest interface::

    gens = automorphism_generators(G, nodes)   # any graph: bliss, via python-igraph
    action = GroupAction("automorphism", [element(task, tokens=g) for g in gens])

:func:`automorphism_generators` and :func:`automorphism_group_order` ask
bliss (python-igraph's ``automorphism_group`` and ``count_automorphisms``),
which finds generators by search with pruning and never lists the group: the
7-cube's 645,120 automorphisms come from 7 generators in milliseconds.
:func:`automorphism_group_generators` enumerates the group with networkx
instead (exponential in general, small graphs only); it is the independent
reference the bliss results are tested against. Tasks may also declare known
generators and check each one with :func:`is_automorphism`.
"""
from __future__ import annotations

from typing import Sequence

import networkx as nx
import numpy as np
from networkx.algorithms import isomorphism
from sympy.combinatorics import Permutation, PermutationGroup

from symreg.errors import InvalidSymmetryError, UsageError

__all__ = ["automorphism_generators", "automorphism_group_generators", "automorphism_group_order",
           "is_automorphism", "node_positions"]


def node_positions(G: nx.Graph, nodes: Sequence) -> dict:
    """The token of each node: ``{nodes[t]: t}``, checking that ``nodes`` lists each node of ``G`` once.

    >>> node_positions(nx.path_graph(3), [2, 0, 1])
    {2: 0, 0: 1, 1: 2}
    """
    pos = {v: i for i, v in enumerate(nodes)}
    if len(pos) != len(nodes) or len(pos) != G.number_of_nodes() or any(v not in G for v in pos):
        raise InvalidSymmetryError(
            f"The node list ({len(nodes)} entries) must name each of the graph's "
            f"{G.number_of_nodes()} nodes exactly once.")
    return pos


def _bliss_graph(G: nx.Graph, nodes: Sequence):
    """``G`` as a python-igraph graph whose vertex ``t`` is ``nodes[t]`` (bliss runs inside igraph)."""
    try:
        import igraph
    except ImportError:
        raise UsageError("Graph automorphisms need python-igraph (bliss inside): pip install igraph") from None
    pos = node_positions(G, nodes)
    if G.is_multigraph() and (nx.DiGraph if G.is_directed() else nx.Graph)(G).size() != G.size():
        raise InvalidSymmetryError(f"{G} has parallel edges, whose multiplicity bliss ignores; "
                                   "give each edge once (nx.Graph(G) or nx.DiGraph(G)).")
    edges = [(pos[u], pos[v]) for u, v in G.edges()]
    return igraph.Graph(n=len(pos), edges=edges, directed=G.is_directed())


def automorphism_generators(G: nx.Graph, nodes: Sequence) -> list[np.ndarray]:
    """Generators of the automorphism group of ``G`` as token permutations, from bliss: nothing is enumerated.

    ``g[t]`` is the token of the image of ``nodes[t]``. Directed graphs,
    self-loops, isolated nodes and disconnected graphs are matched as they
    are; a multigraph with parallel edges is refused (bliss would ignore their
    multiplicity). The list is empty when the only automorphism is the
    identity; it is short but not always minimal.

    >>> G = nx.hypercube_graph(7)
    >>> gens = automorphism_generators(G, list(G))
    >>> len(gens) <= 7, PermutationGroup([Permutation(g.tolist()) for g in gens]).order()
    (True, 645120)
    """
    nodes = list(nodes)
    identity = list(range(len(nodes)))
    found = {tuple(g) for g in _bliss_graph(G, nodes).automorphism_group() if list(g) != identity}
    return [np.array(g, dtype=np.int64) for g in sorted(found)]


def automorphism_group_order(G: nx.Graph) -> int:
    """The number of automorphisms of ``G``, counted by bliss without listing them.

    >>> automorphism_group_order(nx.hypercube_graph(7)), automorphism_group_order(nx.petersen_graph())
    (645120, 120)
    >>> import math
    >>> automorphism_group_order(nx.empty_graph(30)) == math.factorial(30)  # isolated nodes: S_30
    True
    """
    return int(_bliss_graph(G, list(G)).count_automorphisms())


def automorphism_group_generators(G: nx.Graph, nodes: Sequence, *,
                                  max_automorphisms: int = 20_000) -> list[Permutation]:
    """A generating set of the automorphism group of ``G``, found with networkx.

    Parameters
    ----------
    G : networkx.Graph
        The graph (a ``DiGraph`` is matched as directed).
    nodes : sequence
        Every node of ``G`` once; position ``t`` is token ``t``.
    max_automorphisms : int
        Give up once more automorphisms than this have been enumerated.

    Returns
    -------
    list of sympy Permutation
        Node permutations (``g(t)`` is the token of the image of ``nodes[t]``);
        each is kept only if the ones before it do not generate it, so the list
        is short. It is empty when the only automorphism is the identity.

    Raises
    ------
    InvalidSymmetryError
        If ``nodes`` does not list the graph's nodes, or the group has more
        than ``max_automorphisms`` elements.

    Examples
    --------
    >>> G = nx.cycle_graph(5)
    >>> gens = automorphism_group_generators(G, list(G))
    >>> PermutationGroup(gens).order()
    10
    """
    nodes = list(nodes)
    pos = node_positions(G, nodes)
    n = len(nodes)
    if n == 0:
        return []
    matcher = (isomorphism.DiGraphMatcher if G.is_directed() else isomorphism.GraphMatcher)(G, G)
    gens: list[Permutation] = []
    group = PermutationGroup([Permutation(n - 1)])  # the identity on n points
    for count, m in enumerate(matcher.isomorphisms_iter(), 1):
        if count > max_automorphisms:
            raise InvalidSymmetryError(
                f"The graph has more than max_automorphisms={max_automorphisms} automorphisms, "
                "too many to enumerate; supply known generators instead (for a product graph, "
                "the symmetries of each factor and swaps of equal factors) and check each "
                "with is_automorphism().")
        p = Permutation([pos[m[v]] for v in nodes])
        if not group.contains(p):
            gens.append(p)
            group = PermutationGroup(gens)
    return gens


def is_automorphism(G: nx.Graph, nodes: Sequence, perm) -> bool:
    """Whether the token permutation ``perm`` maps the edges of ``G`` onto its edges.

    Parameters
    ----------
    G : networkx.Graph
        The graph (directed and multi-graphs are compared as such).
    nodes : sequence
        Every node of ``G`` once; position ``t`` is token ``t``.
    perm : sequence of int or sympy Permutation
        ``perm[t]`` is the token of the image of ``nodes[t]``.

    Returns
    -------
    bool
        False also when ``perm`` is not a permutation of ``range(len(nodes))``.

    Examples
    --------
    >>> G = nx.path_graph(4)
    >>> is_automorphism(G, list(G), [3, 2, 1, 0]), is_automorphism(G, list(G), [1, 0, 2, 3])
    (True, False)
    """
    nodes = list(nodes)
    pos = node_positions(G, nodes)
    n = len(nodes)
    p = np.asarray(getattr(perm, "array_form", perm), dtype=np.int64)
    if p.shape != (n,) or not np.array_equal(np.sort(p), np.arange(n)):
        return False
    edges = np.array([(pos[u], pos[v]) for u, v in G.edges()], dtype=np.int64).reshape(-1, 2)

    def keys(e: np.ndarray) -> np.ndarray:  # sorted edge codes: a multiset of edges
        if not G.is_directed():
            e = np.sort(e, axis=1)
        return np.sort(e[:, 0] * n + e[:, 1])

    return bool(np.array_equal(keys(edges), keys(p[edges])))
