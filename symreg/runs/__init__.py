"""Run directories on disk: how they are laid out, written, locked and read (no torch).

The simplest interface: ``runs, problems = load_runs(["runs/x"])`` reads every run
under a path (a run, a batch of seeds, a directory of them); ``RunDir(path)`` owns
one run's files and ``BatchDir(path)`` a batch's. :func:`generalization_epoch`
is the one rule for when a run has generalized.
"""
from __future__ import annotations

from symreg.runs.criterion import (
    GENERALIZE_ACC,
    MEMORIZE_ACC,
    describe_thresholds,
    generalization_epoch,
    generalized,
    held_out_acc,
    reaches,
    run_threshold,
    thresholds_of,
)
from symreg.runs.locking import FileLock
from symreg.runs.reading import Run, find_runs, load_run, load_runs
from symreg.runs.rundir import (
    BatchDir,
    RunDir,
    checkpoint_schedule,
    read_json,
    read_metrics,
    run_paths,
    write_atomic,
    write_json,
)

__all__ = [
    "BatchDir",
    "FileLock",
    "GENERALIZE_ACC",
    "MEMORIZE_ACC",
    "Run",
    "RunDir",
    "checkpoint_schedule",
    "describe_thresholds",
    "find_runs",
    "generalization_epoch",
    "generalized",
    "held_out_acc",
    "load_run",
    "load_runs",
    "reaches",
    "read_json",
    "read_metrics",
    "run_paths",
    "run_threshold",
    "thresholds_of",
    "write_atomic",
    "write_json",
]
