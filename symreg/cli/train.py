"""``symreg train``: train a registered task's model and leave a run directory (:func:`symreg.train.train`)."""
from __future__ import annotations

import sys

import click

from symreg.cli.app import PARAM, PRECISION, THREADS, cli, emit, settings_from, use_threads
from symreg.cli.progress import Progress, stop_politely_on_sigterm
from symreg.runs.criterion import GENERALIZE_ACC
from symreg.util.parsing import parse_seeds


@cli.command()
@click.argument("task_name", metavar="TASK", required=False)
@PARAM
@click.option("--preset", type=click.Choice(["paper", "quick"]), default="paper", show_default=True,
              help="The task's paper configuration, or its CPU-sized one.")
@click.option("--model", help="Model name (transformer, mlp, or a plugin's).")
@click.option("--epochs", type=int, help="Epochs (full-batch steps); default from the preset.")
@click.option("--train-frac", type=float, help="Fraction of the domain used for training.")
@click.option("--lr", type=float, help="AdamW learning rate [default: 1e-3].")
@click.option("--weight-decay", type=float, help="AdamW weight decay; default from the preset.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the split and the init.")
@click.option("--seeds", help="Several seeds trained as one batch, e.g. 0-19 or 1,5,9.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N or mps.")
@THREADS
@PRECISION
@click.option("--eval-every", type=int, help="Epochs between evaluations [default: 50].")
@click.option("--stop-on-generalize", is_flag=True,
              help=f"Stop a seed once test accuracy reaches generalize_acc ({GENERALIZE_ACC:g}; --set changes it).")
@click.option("--out", type=click.Path(file_okay=False), help="Run directory [default: runs/TASK-TIME-SEED].")
@click.option("--augment", "augment", multiple=True, metavar="SYMMETRY",
              help="Train on the split closed under this symmetry ('all' for every one); repeatable.")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="Any TrainConfig field, e.g. --set batch_size=512 (repeatable).")
@click.option("--resume", type=click.Path(exists=True, file_okay=False),
              help="Continue an interrupted run directory (or batch) from its last checkpoint.")
@click.option("-q", "--quiet", is_flag=True, help="No progress line.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout.")
def train(task_name, params, preset, model, epochs, train_frac, lr, weight_decay, seed, seeds,
          device, threads, precision, eval_every, stop_on_generalize, out, augment, settings, resume, quiet, as_json) -> None:
    """Train TASK's model and write a run directory (config, metrics, checkpoints).

    \b
        symreg train mod_add --preset quick --stop-on-generalize
        symreg train graph_grid2d --seeds 0-4 --epochs 20000
        symreg train --resume runs/mod_add-20261128-120000-s0
    """
    from symreg.train import Trainer, new_trainer

    threads = use_threads(threads)
    if resume:
        if task_name or params:
            raise click.UsageError("--resume takes the run directory only, not TASK or -P.")
        trainer = Trainer.resume(resume, epochs=epochs, warn=warn)
        if trainer.finished:  # nothing was locked or written
            if as_json:
                emit(run_summary(trainer, trainer.root, trainer.run(), threads))
            else:
                click.echo(nothing_to_train(trainer), err=True)
            return
    else:
        if not task_name:
            raise click.UsageError("Missing argument 'TASK' (or use --resume RUN_DIR).")
        settings = settings_from(settings, model=model, epochs=epochs, train_frac=train_frac, lr=lr,
                                 weight_decay=weight_decay, device=device, precision=precision, eval_every=eval_every,
                                 stop_on_generalize=stop_on_generalize or None, augment=list(augment) or None)
        trainer = new_trainer(task_name, params, preset, parse_seeds(seeds) if seeds else [seed], out, **settings)
    stop_politely_on_sigterm()
    progress = Progress(quiet or as_json)
    trainer.progress = progress
    paths = [run.path for run in trainer.runs]
    root = paths[0] if len(paths) == 1 else paths[0].parent
    try:
        summary = trainer.run()
    except KeyboardInterrupt:
        progress.close()
        click.echo(f"Interrupted at epoch {trainer.epoch}; continue with: symreg train --resume {root}",
                   err=True)
        sys.exit(130)
    except Exception:  # a SymregError (disk full) becomes one Error: line, after the progress line
        progress.close()
        raise
    progress.close()
    if as_json:
        emit(run_summary(trainer, root, summary, threads))
    else:
        for s in summary:
            gen = s["generalized_epoch"]
            what = ("generalized at epoch " + str(gen) if gen is not None else "did not generalize")
            if s["stopped"] == "diverged":
                what = f"diverged, stopped ({s.get('diverged') or 'at epoch ' + str(s['epochs'])})"
            click.echo(f"seed {s['seed']}: {what} ({s['seconds']:.1f}s)", err=True)
        click.echo(str(root))


def run_summary(trainer, root, runs, threads: int) -> dict:
    """What ``--json`` prints: the run directory, the task and its parameters, the torch threads, one
    summary per seed."""
    return {"run_dir": str(root), "task": trainer.task.name, "params": trainer.task.params, "threads": threads,
            "runs": runs}


def warn(line: str) -> None:
    click.echo(f"warning: {line}", err=True)


def nothing_to_train(trainer) -> str:
    """The one line for a resumed run whose every seed has stopped."""
    epoch, why = trainer.epoch, trainer.stopped
    if all(w == "epochs" for w in why):
        return f"{trainer.root} is already done at epoch {epoch}; give --epochs above {epoch} to train further."
    counts = ", ".join(f"{why.count(w)} {w}" for w in ("epochs", "generalized", "diverged") if w in why)
    return (f"{trainer.root} has nothing left to train: every seed stopped by epoch {epoch} "
            f"({counts.replace('epochs', 'at the last epoch')}).")
