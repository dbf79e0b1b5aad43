"""Built-in plugin ``structural``: shortest-path distance on six graphs (the paper's Graph Metric Completion)."""
from __future__ import annotations

import symreg

from .tasks import Cycle, Cylinder, Grid2D, Grid3D, Hypercube, Path

TASKS = (Grid2D, Grid3D, Cycle, Path, Cylinder, Hypercube)


@symreg.hookimpl
def register_tasks(register):
    for cls in TASKS:
        register(cls)
