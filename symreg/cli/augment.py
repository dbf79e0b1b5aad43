"""``symreg augment``: close a training split under declared symmetries, without the oracle."""
from __future__ import annotations

import json

import click

from symreg.symmetry.closure import can_deduce, closure, closure_report, save_split
from symreg.cli.app import PARAM, cli
from symreg.train.data import split_rows
from symreg.errors import UsageError, unknown
from symreg.registry import get_symmetries, get_task, parse_params, task_entries


@cli.command()
@click.argument("task_name", metavar="TASK")
@PARAM
@click.option("--preset", type=click.Choice(["paper", "quick"]), default="paper", show_default=True,
              help="Task parameters and train fraction from the paper's or the CPU preset.")
@click.option("--train-frac", type=float, help="Fraction of the domain used for training; default from the preset.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the split (the trainer's split).")
@click.option("--symmetry", "names", multiple=True, metavar="NAME",
              help="Close under this symmetry (repeatable); default: every declared one with a rule.")
@click.option("--max-rounds", type=int, default=100, show_default=True, help="Stop after this many rounds.")
@click.option("--verify", "check", is_flag=True,
              help="Verify the chosen symmetries against the oracle first; refuse any that fail.")
@click.option("--out", type=click.Path(dir_okay=False), help="Write the closed split to this .npz file.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def augment(task_name, params, preset, train_frac, seed, names, max_rounds, check, out, as_json) -> None:
    """Close TASK's training split under its symmetries, deducing labels from training labels only.

    The split is the trainer's (same train fraction and seed). Labels of the
    added rows come from the training labels and the symmetries, never from
    the oracle; the oracle is read afterwards only to count mismatches.

    \b
        symreg augment mod_add -P p=11 --train-frac 0.3 --seed 0
        symreg augment graph_grid2d --symmetry swap --symmetry triangle --out split.npz
    """
    entries = task_entries()
    if task_name not in entries:
        get_task(task_name)  # raises the unknown-task error with suggestions
    chosen = entries[task_name].obj.preset if preset == "paper" else entries[task_name].obj.quick
    task = get_task(task_name, **{**chosen.params, **parse_params(task_name, params)})
    frac = chosen.train_frac if train_frac is None else train_frac
    if not 0 < frac < 1:
        raise UsageError(f"--train-frac {frac} must be between 0 and 1 (exclusive).")
    if max_rounds < 1:
        raise UsageError(f"--max-rounds {max_rounds} must be at least 1.")
    declared = {s.name: s for s in get_symmetries(task)}
    if names:
        for n in names:
            if n not in declared:
                raise unknown(f"symmetry of task '{task.name}'", n, declared)
            if not can_deduce(declared[n]):
                rules = [k for k, s in declared.items() if can_deduce(s)]
                raise UsageError(f"Symmetry {n!r} of task '{task.name}' has no deduction rule; "
                                 f"usable: {', '.join(rules) or '(none)'}.")
        syms = [declared[n] for n in dict.fromkeys(names)]
        skipped = []
    else:
        syms = [s for s in declared.values() if can_deduce(s)]
        skipped = [n for n, s in declared.items() if not can_deduce(s)]
    if check:
        for s in syms:
            verdict = s.verify(task, seed=seed)
            if not verdict.ok:
                raise UsageError(f"Symmetry {s.name!r} of task '{task.name}' fails verification: "
                                 f"{verdict.counterexample}; refusing to augment with it.")
    train_rows = split_rows(len(task), frac, seed)
    closed = closure(task, train_rows, syms, labels=task.labels[train_rows], max_rounds=max_rounds)
    report = closure_report(task, closed, train_rows)
    report.update({"seed": seed, "train_frac": frac, "skipped": skipped, "out": None})
    if out:
        meta = {"task": task.name, "version": task.version, "params": task.params, "seed": seed,
                "train_frac": frac, "symmetries": [s.name for s in syms], "rounds": closed.rounds,
                "converged": closed.converged}
        report["out"] = str(save_split(out, closed, train_rows, meta))
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    r = report
    click.echo(f"{task.name} {' '.join(f'{k}={v}' for k, v in task.params.items())}, "
               f"train_frac {frac}, seed {seed}, {r['domain_size']} inputs")
    click.echo(f"  train rows: {r['train_before']} -> {r['train_after']} (x{r['growth']:.2f})")
    click.echo(f"  test cells covered: {r['test_covered']} of {r['test_cells']} "
               f"({100 * r['test_covered_share']:.1f}%)")
    click.echo(f"  rounds: {r['rounds']}{'' if r['converged'] else ' (stopped at --max-rounds)'}"
               f", {r['total_seconds']:.2f}s")
    for name, n in r["deduced"].items():
        conflicts = r["conflicts"][name]
        click.echo(f"    {name:<22} deduced {n}" + (f", {conflicts} conflicting" if conflicts else ""))
    if skipped:
        click.echo(f"  skipped (no deduction rule): {', '.join(skipped)}")
    click.echo(f"  mismatches with the oracle: {r['mismatches']}")
    if r["out"]:
        click.echo(f"  wrote {r['out']}")
