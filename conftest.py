"""Register the built-in plugins explicitly, so tests never depend on what is installed.

``sys._called_from_test`` stops symreg from loading entry points in-process;
tests that exercise entry-point loading run ``symreg`` in a subprocess.
"""
from __future__ import annotations

import importlib
import os
import sys

from hypothesis import settings

settings.register_profile("dev", deadline=None, max_examples=40)
settings.register_profile("ci", deadline=None, max_examples=100)
settings.load_profile(os.getenv("HYPOTHESIS_PROFILE", "dev"))

BUILTINS = {"algebraic": "symreg_algebraic", "structural": "symreg_structural",
            "relational": "symreg_relational"}


def pytest_configure(config):
    sys._called_from_test = True
    # tiny test models run fastest on one thread, and a shared 2-core CI machine is not
    # oversubscribed by the subprocesses the tests start (they inherit the variable)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    from symreg.plugins import pm

    for name, module in BUILTINS.items():
        if not pm.has_plugin(name):
            pm.register(importlib.import_module(module), name=name)


def pytest_unconfigure(config):
    if hasattr(sys, "_called_from_test"):
        del sys._called_from_test
