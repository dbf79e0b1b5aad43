"""Built-in plugin ``relational``: comparison of entities by their attributes (the paper's 2D and 3D tasks)."""
from __future__ import annotations

import symreg

from .compare import Compare2D, Compare3D

TASKS = (Compare2D, Compare3D)


@symreg.hookimpl
def register_tasks(register):
    for cls in TASKS:
        register(cls)
