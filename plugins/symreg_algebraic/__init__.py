"""Built-in plugin ``algebraic``: modular arithmetic (the paper's six tasks) and finite groups."""
from __future__ import annotations

import symreg

from .groups import DihedralCompose, PermCompose
from .modular import ModAdd, ModMul, ModSub, ModSumCube, ModSumSq, ModXyPlus

TASKS = (ModAdd, ModSub, ModSumSq, ModSumCube, ModMul, ModXyPlus, PermCompose, DihedralCompose)


@symreg.hookimpl
def register_tasks(register):
    for cls in TASKS:
        register(cls)
