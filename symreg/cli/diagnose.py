"""``symreg diagnose`` and ``symreg plot``: phase events, the early warning, figures and reports."""
from __future__ import annotations

import json
from pathlib import Path

import click

from symreg.cli.app import cli
from symreg.diagnose.phases import Thresholds, event_table, events
from symreg.errors import UsageError
from symreg.runs.rundir import write_json
from symreg.runs.reading import load_runs


def _load(paths) -> list:
    runs, problems = load_runs(paths)
    for p in problems:
        click.echo(f"warning: {p}", err=True)
    for run in runs:
        for w in run.warnings:
            click.echo(f"warning: {w}", err=True)
    runs = [r for r in runs if r.rows]
    if not runs:
        raise UsageError("No run with metrics to diagnose in " + ", ".join(str(p) for p in paths) + ".")
    return runs


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


THRESHOLDS = [
    click.option("--memorize-acc", default=0.99, show_default=True, help="Train accuracy that counts as memorized."),
    click.option("--generalize-acc", default=0.99, show_default=True, help="Test accuracy that counts as generalized."),
    click.option("--drop", default=2.0, show_default=True, help="Decades below its peak a violation must fall: acquired."),
    click.option("--onset", default=0.3, show_default=True, help="Decades below the peak still counted as the peak."),
    click.option("--dim-slack", default=1, show_default=True, help="Fall of the effective dimension that still counts as flat."),
    click.option("--plateau", default=2.0, show_default=True,
                 help="Organized at e once the dimension falls <= --dim-slack by epoch PLATEAU*e."),
]
WARNING = [
    click.option("--signal", "signals", multiple=True,
                 help="Early-warning signals to evaluate [default: violation, param_norm, train_loss]."),
    click.option("--horizon", type=int, help="'Generalizes within the next N epochs' [default: chosen from the runs]."),
    click.option("--max-fpr", default=0.05, show_default=True, help="False-positive rate the threshold is calibrated to."),
]


def _options(opts):
    def wrap(f):
        for o in reversed(opts):
            f = o(f)
        return f
    return wrap


def _thresholds(kw) -> Thresholds:
    return Thresholds(memorize_acc=kw["memorize_acc"], generalize_acc=kw["generalize_acc"],
                      drop=kw["drop"], onset=kw["onset"], dim_slack=kw["dim_slack"], plateau=kw["plateau"])


def _warning(runs, kw) -> dict | None:
    if len(runs) < 2:
        return None
    from symreg.diagnose.early_warning import analyse

    signals = kw["signals"] or ("violation", "param_norm", "train_loss")
    return analyse(runs, signals=signals, horizon=kw["horizon"], max_fpr=kw["max_fpr"])


@cli.command()
@click.argument("paths", metavar="RUN_DIR...", nargs=-1, required=True)
@_options(THRESHOLDS + WARNING)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def diagnose(paths, as_json, **kw) -> None:
    """Phase events of each run (memorization, symmetry acquisition, generalization,
    geometric organization), written to RUN_DIR/events.json; over several runs,
    the early-warning signal evaluated as a detector against baselines.

    RUN_DIR may be a run, a batch of seeds, or a directory holding runs.
    """
    runs = _load(paths)
    th = _thresholds(kw)
    evs = [events(r, th) for r in runs]
    for run, ev in zip(runs, evs):
        write_json(run.path / "events.json", ev)
    warning = _warning(runs, kw)
    if as_json:
        click.echo(json.dumps({"runs": evs, "early_warning": warning}, indent=2, default=str))
        return
    click.echo(_table(event_table(evs)))
    solved = [e["generalization"] for e in evs if e["generalized"]]
    click.echo(f"\n{len(solved)} of {len(evs)} runs generalized"
               + (f"; epochs median {sorted(solved)[len(solved) // 2]}, range {min(solved)}-{max(solved)}"
                  if solved else ""))
    if warning:
        from symreg.diagnose.early_warning import summary_rows

        click.echo("\nEarly warning (threshold calibrated on some seeds, evaluated on the others):")
        click.echo(_table(summary_rows(warning)))


@cli.command()
@click.argument("paths", metavar="RUN_DIR...", nargs=-1, required=True)
@click.option("--out", type=click.Path(file_okay=False), help="Where to write [default: FIRST_RUN_DIR/plots].")
@click.option("--symmetry", help="Symmetry for the violation scatter [default: the max over all].")
@_options(THRESHOLDS + WARNING)
def plot(paths, out, symmetry, **kw) -> None:
    """Figures and a Markdown report per run, and for a set of runs the
    violation scatter (solved vs unsolved) with the early-warning statistics."""
    from symreg.diagnose.early_warning import markdown
    from symreg.plots.dynamics import plot_dynamics, plot_violation_scatter
    from symreg.plots.embedding import plot_embedding
    from symreg.diagnose.report import run_report, set_report

    runs = _load(paths)
    th = _thresholds(kw)
    evs = [events(r, th) for r in runs]
    out_dir = Path(out) if out else Path(paths[0]) / "plots"
    out_dir.mkdir(parents=True, exist_ok=True)
    if symmetry and not any(symmetry in r.symmetries() for r in runs):
        choices = sorted({s for r in runs for s in r.symmetries()})
        raise UsageError(f"Unknown symmetry {symmetry!r} in these runs. Available: {', '.join(choices)}.")
    written = []
    for run, ev in zip(runs, evs):
        sub = out_dir if len(runs) == 1 else out_dir / _slug(run)
        sub.mkdir(parents=True, exist_ok=True)
        figs = {"dynamics": plot_dynamics(run, ev, sub / "dynamics.png")}
        if (run.path / "checkpoints" / "last.safetensors").exists():
            figs["embedding"] = plot_embedding(run, sub / "embedding.png")
        written.append(run_report(run, ev, figs, sub))
    if len(runs) > 1:
        scatter = plot_violation_scatter(runs, evs, out_dir / "violation_scatter.png", symmetry=symmetry)
        warning = _warning(runs, kw)
        extra = {"Early warning": markdown(warning)} if warning else None
        written.append(set_report(runs, evs, {"violation_scatter": scatter}, out_dir, extra))
    for path in written:
        click.echo(str(path))


def _slug(run) -> str:
    return "-".join(run.path.parts[-2:]) if run.path.name.startswith("seed-") else run.path.name
