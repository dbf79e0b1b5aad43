"""``symreg augment``: close a training split under declared symmetries, without the oracle.

A thin shell over :func:`symreg.augmenting.augment_split`.
"""
from __future__ import annotations

import click

from symreg.augmenting import augment_split
from symreg.cli.app import PARAM, cli, emit


@cli.command()
@click.argument("task_name", metavar="TASK")
@PARAM
@click.option("--preset", type=click.Choice(["paper", "quick"]), default="paper", show_default=True,
              help="Task parameters and train fraction from the paper's or the CPU preset.")
@click.option("--train-frac", type=float, help="Fraction of the domain used for training; default from the preset.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the split (the trainer's split).")
@click.option("--symmetry", "names", multiple=True, metavar="NAME",
              help="Close under this symmetry (repeatable); default ('all'): every declared one with a rule.")
@click.option("--max-rounds", type=int, default=100, show_default=True, help="Stop after this many rounds.")
@click.option("--verify", "check", is_flag=True,
              help="Verify the chosen symmetries against the oracle first; refuse any that fail.")
@click.option("--out", type=click.Path(dir_okay=False),
              help="Write the closed split to this .npz file; an existing file is refused unless --force.")
@click.option("--force", is_flag=True, help="Overwrite the --out file if it exists.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def augment(task_name, params, preset, train_frac, seed, names, max_rounds, check, out, force, as_json) -> None:
    """Close TASK's training split under its symmetries, deducing labels from training labels only.

    The split is the trainer's (same train fraction and seed). Labels of the
    added rows come from the training labels and the symmetries, never from
    the oracle; the oracle is read afterwards only to count mismatches.

    \b
        symreg augment mod_add -P p=11 --train-frac 0.3 --seed 0
        symreg augment graph_grid2d --symmetry swap --symmetry triangle --out split.npz
    """
    report = augment_split(task_name, params, preset, train_frac=train_frac, seed=seed, symmetries=names,
                           max_rounds=max_rounds, verify=check, out=out, force=force)
    if as_json:
        emit(report)
        return
    r = report
    click.echo(" ".join([r["task"], *(f"{k}={v}" for k, v in r["params"].items())]) + ", "
               f"train_frac {r['train_frac']}, seed {r['seed']}, {r['domain_size']} inputs")
    click.echo(f"  train rows: {r['train_before']} -> {r['train_after']} (x{r['growth']:.2f})")
    click.echo(f"  test cells covered: {r['test_covered']} of {r['test_cells']} "
               f"({100 * r['test_covered_share']:.1f}%)")
    click.echo(f"  rounds: {r['rounds']}{'' if r['converged'] else ' (stopped at --max-rounds)'}"
               f", {r['total_seconds']:.2f}s")
    for name, n in r["deduced"].items():
        conflicts = r["conflicts"][name]
        click.echo(f"    {name:<22} deduced {n}" + (f", {conflicts} conflicting" if conflicts else ""))
    if r["skipped"]:
        click.echo(f"  skipped (no deduction rule): {', '.join(r['skipped'])}")
    if r["untrusted"]:
        click.echo(f"  left out (fail verification): {', '.join(r['untrusted'])}")
    click.echo(f"  mismatches with the oracle: {r['mismatches']}")
    if r["out"]:
        click.echo(f"  wrote {r['out']}")
