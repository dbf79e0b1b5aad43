"""``symreg diagnose`` and ``symreg plot``: phase events, the early warning, figures and reports.

Thin shells over :func:`symreg.diagnose.api.diagnose` and :func:`symreg.plots.api.plot`.
"""
from __future__ import annotations

import click

from symreg.cli.app import cli, emit
from symreg.diagnose.detector import MAX_FPR
from symreg.diagnose.phases import Thresholds
from symreg.runs.criterion import GENERALIZE_ACC
from symreg.util.tables import text_table


def warn(line: str) -> None:
    click.echo(f"warning: {line}", err=True)


THRESHOLDS = [
    click.option("--memorize-acc", default=Thresholds.memorize_acc, show_default=True,
                 help="Train accuracy that counts as memorized."),
    click.option("--generalize-acc", type=float,
                 help=f"Test accuracy that counts as generalized [default: the run's own generalize_acc, "
                      f"{GENERALIZE_ACC:g} unless it was trained with another]."),
    click.option("--drop", default=Thresholds.drop, show_default=True,
                 help="Decades below its peak a violation must fall: acquired."),
    click.option("--onset", default=Thresholds.onset, show_default=True,
                 help="Decades below the peak still counted as the peak."),
    click.option("--sustain", default=Thresholds.sustain, show_default=True,
                 help="Evaluations in a row at the threshold that count as sustained generalization."),
    click.option("--collapse-drop", default=Thresholds.collapse_drop, show_default=True,
                 help="Fall below the threshold, after sustained generalization, that counts as collapse."),
    click.option("--min-peak", default=Thresholds.min_peak, show_default=True,
                 help="Peak violation (nats) below which a symmetry was never violated, so not acquired."),
    click.option("--dim-slack", default=Thresholds.dim_slack, show_default=True,
                 help="Fall of the effective dimension that still counts as flat."),
    click.option("--plateau", default=Thresholds.plateau, show_default=True,
                 help="Organized at e once the dimension falls <= --dim-slack by epoch PLATEAU*e."),
]
WARNING = [
    click.option("--signal", "signals", multiple=True,
                 help="Early-warning signals to evaluate [default: violation, param_norm, train_loss]."),
    click.option("--horizon", type=int, help="'Generalizes within the next N epochs' [default: chosen from the runs]."),
    click.option("--max-fpr", default=MAX_FPR, show_default=True, help="False-positive rate the threshold is calibrated to."),
]


def _options(opts):
    def wrap(f):
        for o in reversed(opts):
            f = o(f)
        return f
    return wrap


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
    from symreg.diagnose.api import diagnose as diagnose_runs
    from symreg.diagnose.phases import describe_generalization, event_table

    result = diagnose_runs(paths, warn=warn, **kw)
    evs, warning = result["runs"], result["early_warning"]
    if as_json:
        emit({"runs": evs, "generalization": result["generalization"], "early_warning": warning})
        return
    click.echo(text_table(event_table(evs)))
    click.echo("\n" + describe_generalization(result["generalization"]))
    if warning:
        from symreg.diagnose.warning_report import summary_rows, too_few

        click.echo("\nEarly warning (threshold calibrated on some seeds, evaluated on the others):")
        click.echo(too_few(warning) or text_table(summary_rows(warning)))


@cli.command()
@click.argument("paths", metavar="RUN_DIR...", nargs=-1, required=True)
@click.option("--out", type=click.Path(file_okay=False), help="Where to write [default: FIRST_RUN_DIR/plots].")
@click.option("--symmetry", help="Symmetry for the violation scatter [default: the max over all].")
@_options(THRESHOLDS + WARNING)
def plot(paths, out, symmetry, **kw) -> None:
    """Figures and a Markdown report per run, and for a set of runs the
    violation scatter (solved vs unsolved) with the early-warning statistics."""
    from symreg.plots.api import plot as plot_runs

    for path in plot_runs(paths, out, symmetry, warn=warn, **kw):
        click.echo(str(path))
