"""Symmetries: what a task is known to respect, proven against its oracle, and what they deduce.

Two kinds share the :class:`Symmetry` interface: a :class:`GroupAction` (a
finite group moving inputs and classes) and a :class:`Law` (an identity such as
:class:`Associativity`). Each owns its ``verify`` and its deduction rule. The
simplest interface: ``verify_task(task)`` proves every symmetry declared for a
task, and ``closure(task, rows, symmetries, labels=...)`` closes a training
split under them without reading the oracle.
"""
from __future__ import annotations

from symreg.symmetry.augmentation import Closure, SavedSplit, closure, closure_report, load_split, save_split
from symreg.symmetry.base import (
    MAX_EXHAUSTIVE,
    UNKNOWN,
    Counterexample,
    Deducer,
    LogpFn,
    Symmetry,
    Verdict,
    assign,
    kl_sym,
)
from symreg.symmetry.deduction import can_deduce, deduce, prepare, rule_for, supported_kinds
from symreg.symmetry.graphs import (
    automorphism_generators,
    automorphism_group_generators,
    automorphism_group_order,
    is_automorphism,
    node_positions,
)
from symreg.symmetry.group import GroupAction, apply, apply_label, element
from symreg.symmetry.laws import Associativity, Law, Transitivity, TriangleEquality, triangle_bounds
from symreg.symmetry.verification import set_symmetry_source, symmetries_of, verify_task

__all__ = [
    "Associativity",
    "Closure",
    "Counterexample",
    "Deducer",
    "GroupAction",
    "Law",
    "LogpFn",
    "MAX_EXHAUSTIVE",
    "SavedSplit",
    "Symmetry",
    "Transitivity",
    "TriangleEquality",
    "UNKNOWN",
    "Verdict",
    "apply",
    "apply_label",
    "assign",
    "automorphism_generators",
    "automorphism_group_generators",
    "automorphism_group_order",
    "can_deduce",
    "closure",
    "closure_report",
    "deduce",
    "element",
    "is_automorphism",
    "kl_sym",
    "load_split",
    "node_positions",
    "prepare",
    "rule_for",
    "save_split",
    "set_symmetry_source",
    "supported_kinds",
    "symmetries_of",
    "triangle_bounds",
    "verify_task",
]
