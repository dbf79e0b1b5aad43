"""bliss (python-igraph) against networkx's enumeration: automorphism groups of the graph zoo.

For every graph of ``tests/graph_zoo.py`` (named graphs, random regular
graphs, and a few disconnected, directed and looped ones) it computes
generators and the group order with bliss, enumerates the group with
networkx, and checks that the two generate the same group
(:func:`tests.graph_zoo.compare`). Prints one row per graph (nodes, edges,
both orders, agreement, milliseconds each) and writes
``benchmarks/results/graph_generators.json``. ``igraph_ms`` is both bliss calls
(generators and count, igraph already imported); ``networkx_ms`` is
:func:`~symreg.symmetry.graphs.automorphism_group_generators`, which lists
every automorphism (VF2) and keeps those sympy finds outside the group so far.

    python benchmarks/graph_generators.py
"""
from __future__ import annotations

import json
import platform
import sys
from pathlib import Path

import igraph
import networkx as nx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.graph_zoo import ZOO, compare  # noqa: E402

RESULTS = Path(__file__).parent / "results"
COLUMNS = ("graph", "nodes", "edges", "order_igraph", "order_networkx", "agree", "igraph_ms", "networkx_ms")


def main() -> int:
    rows = [{"graph": name, **compare(make())} for name, make in ZOO.items()]
    widths = [max(len(c), *(len(str(r[c])) for r in rows)) for c in COLUMNS]
    for line in [COLUMNS, *([r[c] for c in COLUMNS] for r in rows)]:
        print("  ".join(str(v).rjust(w) if i else str(v).ljust(w) for i, (v, w) in enumerate(zip(line, widths))))
    agree = sum(r["agree"] for r in rows)
    print(f"{agree} of {len(rows)} graphs agree; bliss {sum(r['igraph_ms'] for r in rows):.1f} ms in all, "
          f"networkx {sum(r['networkx_ms'] for r in rows):.1f} ms")
    RESULTS.mkdir(exist_ok=True)
    meta = {"python": platform.python_version(), "igraph": igraph.__version__, "networkx": nx.__version__,
            "machine": platform.machine()}
    (RESULTS / "graph_generators.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")
    return 0 if agree == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
