"""symreg: a registry of algorithmic tasks and their symmetries, with a trainer and a diagnostician.

>>> import symreg
>>> task = symreg.get_task("mod_add", p=7)
>>> [s.name for s in symreg.get_symmetries(task)][:2]
['commutativity', 'translation']
"""
from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from symreg.declare import (
    OperationTask,
    all_of,
    between,
    odd_prime,
    operation_task,
    prime,
    slot_permutation,
    swap,
    tasks_hook,
    token_map,
)
from symreg.errors import SymregError, UsageError
from symreg.graph_tasks import GraphTask, graph_task
from symreg.hookspecs import hookimpl
from symreg.registry import get_symmetries, get_symmetry, get_task, task_entries
from symreg.symmetry import (
    Associativity,
    GroupAction,
    Law,
    Symmetry,
    Transitivity,
    TriangleEquality,
    apply,
    element,
    verify_task,
)
from symreg.task import Param, Preset, Task, is_prime

try:
    __version__ = version("symreg")
except PackageNotFoundError:  # running from a checkout that is not installed
    __version__ = "0.0.0+unknown"

__all__ = [
    "Associativity",
    "GraphTask",
    "GroupAction",
    "Law",
    "OperationTask",
    "Param",
    "Preset",
    "Symmetry",
    "SymregError",
    "Task",
    "Transitivity",
    "TriangleEquality",
    "UsageError",
    "all_of",
    "apply",
    "between",
    "element",
    "get_symmetries",
    "get_symmetry",
    "get_task",
    "graph_task",
    "hookimpl",
    "is_prime",
    "odd_prime",
    "operation_task",
    "prime",
    "slot_permutation",
    "swap",
    "task_entries",
    "tasks_hook",
    "token_map",
    "verify_task",
]
