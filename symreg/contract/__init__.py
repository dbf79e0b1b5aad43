"""The contract tests every symreg task must pass, for plugin authors and for symreg itself.

A test module opts in with one line, ``symreg_tasks = ["xor"]`` (or ``"*"`` for every
registered task), and collects :func:`contract_class`'s ``SymregContract`` for those
tasks; the pytest hooks are in the tiny ``symreg_pytest`` package (a ``pytest11``
entry point), so pytest runs that never opt in do not import symreg.
"""
from __future__ import annotations

from symreg.contract.checks import contract_class

__all__ = ["contract_class"]
