"""Diagnosis of runs from their metrics (no torch): phase events, the early warning, reports.

The simplest interface: ``ev = events(run)`` places memorization, symmetry
acquisition, generalization and geometric organization in one run;
``result = analyse(runs)`` scores the symmetry-violation signal as an early
warning of generalization over many runs, and ``markdown(result)`` /
``summary_rows(result)`` render it; ``run_report`` / ``set_report`` write reports.
"""
from __future__ import annotations

from symreg.diagnose.api import diagnose, runs_table, warning_for
from symreg.diagnose.detector import (
    FALLBACK_HORIZON,
    MAX_FPR,
    auc_by_epoch,
    calibrate_threshold,
    check_horizon,
    check_max_fpr,
    evaluate_detector,
    pooled_samples,
    rates,
    run_sort_key,
    sign_test,
)
from symreg.diagnose.early_warning import analyse, check_options, default_horizon, split_runs
from symreg.diagnose.phases import Thresholds, event_table, events, organization_epoch, violation_fall
from symreg.diagnose.report import run_report, set_report
from symreg.diagnose.signals import BASELINES, DEFAULT_SIGNALS, check_signals, predicted_epoch, signal_series
from symreg.diagnose.stats import quantiles, roc_auc, sign_test_p
from symreg.diagnose.warning_report import markdown, summary_rows

__all__ = [
    "BASELINES",
    "DEFAULT_SIGNALS",
    "FALLBACK_HORIZON",
    "MAX_FPR",
    "Thresholds",
    "analyse",
    "auc_by_epoch",
    "calibrate_threshold",
    "check_horizon",
    "check_max_fpr",
    "check_options",
    "check_signals",
    "default_horizon",
    "diagnose",
    "evaluate_detector",
    "event_table",
    "events",
    "markdown",
    "organization_epoch",
    "pooled_samples",
    "predicted_epoch",
    "quantiles",
    "rates",
    "roc_auc",
    "run_report",
    "run_sort_key",
    "runs_table",
    "set_report",
    "sign_test",
    "sign_test_p",
    "signal_series",
    "split_runs",
    "summary_rows",
    "violation_fall",
    "warning_for",
]
