"""Experiments over many runs: method comparisons and TOML sweeps, run locally or on Ray.

>>> from symreg.experiments import summarize
>>> summarize({"baseline": [200, 400], "fast": [100, 200]})[1]["speedup"]
2.0

:func:`compare` trains methods x seeds against a baseline; :func:`sweep_run`,
:func:`sweep_status` and :func:`sweep_summary` drive a sweep directory.
"""
from __future__ import annotations

from symreg.experiments.comparison import compare, configure, expand_methods, method_names, quartiles, summarize
from symreg.experiments.sweep_driver import SweepInterrupted, sweep_run, sweep_status, sweep_summary
from symreg.experiments.sweeps import load_spec, parse_spec

__all__ = [
    "SweepInterrupted",
    "compare",
    "configure",
    "expand_methods",
    "load_spec",
    "method_names",
    "parse_spec",
    "quartiles",
    "summarize",
    "sweep_run",
    "sweep_status",
    "sweep_summary",
]
