"""The paper's figures, drawn from run directories (matplotlib, Agg backend, no torch).

The simplest interface: ``plot_dynamics(run, events(run), "dynamics.png")``;
``plot_embedding``, ``plot_violation_scatter`` and ``plot_test_accuracy`` draw
the other figures. Each writes one PNG and returns its path.
"""
from __future__ import annotations

from symreg.plots.api import plot
from symreg.plots.dynamics import (
    plot_dynamics,
    plot_test_accuracy,
    plot_violation_scatter,
    run_settings,
    run_title,
    save_figure,
)
from symreg.plots.embedding import circle_frequency, embedding_pca, load_embedding, plot_embedding

__all__ = [
    "circle_frequency",
    "embedding_pca",
    "load_embedding",
    "plot",
    "plot_dynamics",
    "plot_embedding",
    "plot_test_accuracy",
    "plot_violation_scatter",
    "run_settings",
    "run_title",
    "save_figure",
]
