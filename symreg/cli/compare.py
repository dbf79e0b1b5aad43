"""``symreg compare``: methods x seeds, epochs to generalize, speed-ups (:func:`symreg.experiments.compare`)."""
from __future__ import annotations

import datetime as dt
import shlex
import sys
from pathlib import Path

import click
from click.core import ParameterSource

from symreg.cli.app import PARAM, PRECISION, THREADS, cli, emit, settings_from, use_threads
from symreg.cli.progress import Progress, stop_politely_on_sigterm
from symreg.util.tables import text_table


@cli.command()
@click.argument("task_name", metavar="TASK")
@PARAM
@click.option("--methods", required=True, help="Comma-separated, e.g. baseline,sym:commutativity,grokfast,augment.")
@click.option("--seeds", default="0-4", show_default=True, help="Seeds per method, e.g. 0-4.")
@click.option("--preset", type=click.Choice(["paper", "quick"]), default="quick", show_default=True)
@click.option("--model", help="Model name (transformer, mlp, or a plugin's).")
@click.option("--epochs", type=int, help="Epoch cap per run; default from the preset.")
@click.option("--train-frac", type=float, help="Training fraction; default from the preset.")
@click.option("--weight-decay", type=float, help="Weight decay; default from the preset.")
@click.option("--lr", type=float, help="Learning rate [default: 1e-3].")
@click.option("--eval-every", type=int, help="Epochs between evaluations.")
@click.option("--device", default="auto", show_default=True)
@THREADS
@PRECISION
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE", help="Any TrainConfig field.")
@click.option("--out", type=click.Path(file_okay=False), help="Directory [default: runs/compare-TASK-TIME].")
@click.option("-q", "--quiet", is_flag=True)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def compare(task_name, params, methods, seeds, preset, model, epochs, train_frac, weight_decay, lr,
            eval_every, device, threads, precision, settings, out, quiet, as_json) -> None:
    """Train TASK with each method over the seeds and compare epochs to generalization.

    \b
        symreg compare mod_add --methods baseline,sym:associativity,geom:lipschitz,grokfast,augment:commutativity
    A re-run with the same --out skips finished methods and resumes interrupted ones.
    """
    from symreg.experiments import compare as run_comparison
    from symreg.experiments.comparison import table

    use_threads(threads)
    settings = settings_from(settings, model=model, epochs=epochs, train_frac=train_frac, lr=lr,
                             weight_decay=weight_decay, device=device, precision=precision,
                             eval_every=eval_every)
    progress = Progress(quiet or as_json)
    current = []

    def on_method(method: str) -> None:
        progress.close()
        current.append(method)
        if not quiet and not as_json:
            click.echo(f"{method}:", err=True)

    # the directory is named here, so that an interrupted comparison can be named to continue it
    out = out or str(Path("runs") / f"compare-{task_name}-{dt.datetime.now():%Y%m%d-%H%M%S}")
    stop_politely_on_sigterm()
    try:
        summary = run_comparison(task_name, methods, params, preset, seeds, out, progress, on_method, **settings)
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: the trainer has checkpointed the method in progress
        progress.close()
        where = f" ({current[-1]}, epoch {progress.trainer.epoch})" if current and progress.trainer else ""
        click.echo(f"Interrupted{where}; continue with: {rerun(click.get_current_context(), out)}", err=True)
        sys.exit(130)
    progress.close()
    if as_json:
        emit(summary)
        return
    click.echo(text_table(table(summary["methods"])))
    click.echo(str(Path(summary["figure"]).parent))


def rerun(ctx: click.Context, out: str) -> str:
    """The command line that continues this comparison: the options given, and ``--out``.

    A re-run with the same settings and ``--out`` skips finished methods and
    resumes the interrupted one from its last checkpoint.
    """
    parts = ["symreg", ctx.info_name or "compare"]
    for p in ctx.command.params:
        if p.name == "out" or ctx.get_parameter_source(p.name) not in (ParameterSource.COMMANDLINE,
                                                                        ParameterSource.ENVIRONMENT):
            continue
        value = ctx.params[p.name]
        if isinstance(p, click.Argument):
            parts.append(str(value))
        elif getattr(p, "is_flag", False):
            parts += [p.opts[0]] if value else []
        else:
            for v in (value if p.multiple else [value]):
                parts += [p.opts[0], str(v)]
    return shlex.join(parts + ["--out", str(out)])
