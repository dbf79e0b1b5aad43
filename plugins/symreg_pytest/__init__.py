"""The pytest plugin behind symreg's contract tests, kept outside the ``symreg`` package.

It lives in its own tiny top-level package so that merely having symreg installed
costs another project's pytest nothing: ``symreg`` (sympy, hypothesis, ...) is imported
only when a test module opts in.

Installed with symreg (a ``pytest11`` entry point) and inert until a test
module opts in with one line::

    symreg_tasks = ["xor"]  # or "*": every registered task

That module then collects a ``SymregContract`` class (:mod:`symreg.contract.checks`):
symmetries verified, encoding round-tripped, a wrong symmetry and a corrupted
oracle caught, laws and group actions property-tested, violations checked and
two epochs trained, for each named task. ``--symreg-installed`` loads every
installed plugin's entry points first, even under symreg's own test suite
(which otherwise registers only the built-ins), so ``"*"`` covers them.
"""
from __future__ import annotations

import sys

import pytest

__all__ = ["OPT_IN", "load_installed"]

OPT_IN = "symreg_tasks"  # the module-level name a test module sets to opt in


def pytest_addoption(parser):
    parser.getgroup("symreg").addoption(
        "--symreg-installed", action="store_true",
        help="load every installed symreg plugin (entry points) so symreg_tasks = '*' checks its tasks")


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    if config.getoption("symreg_installed", False):
        load_installed()


def load_installed() -> None:
    """Load every ``symreg`` entry point, even where the test run has turned loading off."""
    from symreg import plugins

    flag = sys.__dict__.pop("_called_from_test", None)
    try:
        plugins._loaded = False
        plugins.load_plugins()
    finally:
        if flag is not None:
            sys._called_from_test = flag


def pytest_pycollect_makeitem(collector, name, obj):
    if name != OPT_IN or not isinstance(collector, pytest.Module):
        return None
    from symreg.contract.checks import contract_class

    cls = contract_class(obj)
    setattr(collector.obj, cls.__name__, cls)  # pytest.Class reads its object from the module
    return pytest.Class.from_parent(collector, name=cls.__name__)
