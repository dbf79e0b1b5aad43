"""Register the built-in plugins explicitly, so tests never depend on what is installed.

``sys._called_from_test`` stops symreg from loading entry points in-process;
tests that exercise entry-point loading run ``symreg`` in a subprocess.
"""
from __future__ import annotations

import importlib
import os
import shutil
import sys
import tempfile

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
    # verdicts of symreg.trust go to a cache of this run only (subprocesses inherit it), never ~/.cache
    os.environ["SYMREG_CACHE_DIR"] = tempfile.mkdtemp(prefix="symreg-test-cache-")
    import torch

    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    from symreg.plugins import pm

    for name, module in BUILTINS.items():
        if not pm.has_plugin(name):
            pm.register(importlib.import_module(module), name=name)


def pytest_unconfigure(config):
    cache = os.environ.get("SYMREG_CACHE_DIR", "")
    if os.path.basename(cache).startswith("symreg-test-cache-"):
        shutil.rmtree(cache, ignore_errors=True)
    if hasattr(sys, "_called_from_test"):
        del sys._called_from_test
