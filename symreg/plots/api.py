"""Draw runs from Python: what ``symreg plot`` does, returning the reports it wrote (no torch).

Per run: the dynamics figure, the embedding geometry (when a checkpoint is
there), the energy of each measured group action's components and a Markdown report; over several runs, the violation scatter and a
report with the early-warning statistics.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable

from symreg.diagnose.api import load, thresholds, warning_for
from symreg.diagnose.detector import MAX_FPR
from symreg.diagnose.phases import events
from symreg.runs.reading import Run
from symreg.runs.rundir import RunDir


def figure_dir(run: Run, out: Path, several: bool) -> Path:
    """Where a run's figures go: ``out`` for a single run; ``out/RUN`` (``out/BATCH-seed-K``) among several.

    >>> figure_dir(Run(Path("b/seed-3"), {}, []), Path("out"), several=True).as_posix()
    'out/b-seed-3'
    """
    if not several:
        return out
    return out / ("-".join(run.path.parts[-2:]) if run.path.name.startswith("seed-") else run.path.name)


def plot(paths: Iterable, out: str | Path | None = None, symmetry: str | None = None, *,
         signals: Iterable[str] | None = None, horizon: int | None = None, max_fpr: float = MAX_FPR,
         warn: Callable[[str], None] | None = None, **levels) -> list[Path]:
    """Figures and reports for the runs under ``paths``; the paths of the reports written.

    ``out`` defaults to ``FIRST_PATH/plots``; ``symmetry`` picks the violation of
    the scatter (default: the max over all); ``levels`` are threshold fields as
    in :func:`symreg.diagnose.api.diagnose`; ``warn`` receives a line for each
    run skipped or read partially.
    """
    from symreg.diagnose.report import run_report, set_report
    from symreg.diagnose.warning_report import markdown
    from symreg.plots.components import component_figures
    from symreg.plots.dynamics import check_symmetry, plot_dynamics, plot_violation_scatter, run_title
    from symreg.plots.embedding import plot_embedding

    paths = [str(p) for p in paths]
    th = thresholds(**levels)
    runs, _ = load(paths, warn)
    evs = [events(r, th) for r in runs]
    check_symmetry(runs, symmetry)
    warning = warning_for(runs, signals, horizon, max_fpr, th.generalize_acc)  # before anything is written
    out_dir = Path(out) if out else Path(paths[0]) / "plots"
    out_dir.mkdir(parents=True, exist_ok=True)
    written, dynamics = [], {}
    for run, ev in zip(runs, evs):
        sub = figure_dir(run, out_dir, len(runs) > 1)
        sub.mkdir(parents=True, exist_ok=True)
        figs = {"dynamics": plot_dynamics(run, ev, sub / "dynamics.png")}
        dynamics[f"dynamics of {run_title(run)}"] = figs["dynamics"]
        if RunDir(run.path).has_checkpoint("last"):
            figs["embedding"] = plot_embedding(run, sub / "embedding.png")
        figs.update(component_figures(run, ev, sub))  # energy per component, restricted/excluded loss
        written.append(run_report(run, ev, figs, sub))
    if len(runs) > 1:
        scatter = plot_violation_scatter(runs, evs, out_dir / "violation_scatter.png", symmetry=symmetry)
        extra = None
        if warning:  # the section's own heading becomes the report's
            title, _, body = markdown(warning).partition("\n")
            extra = {title.lstrip("# "): body}
        written.append(set_report(runs, evs, {"violation scatter": scatter, **dynamics}, out_dir, extra))
    return written
