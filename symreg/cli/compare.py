"""``symreg compare``: methods x seeds, epochs to generalize, speed-ups, and the paper's Fig. 9."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from symreg.cli.app import PARAM, cli
from symreg.util.parsing import parse_seeds, parse_set
from symreg.registry import get_task, parse_params, task_entries


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
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE", help="Any TrainConfig field.")
@click.option("--out", type=click.Path(file_okay=False), help="Directory [default: runs/compare-TASK-TIME].")
@click.option("-q", "--quiet", is_flag=True)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def compare(task_name, params, methods, seeds, preset, model, epochs, train_frac, weight_decay, lr,
            eval_every, device, settings, out, quiet, as_json) -> None:
    """Train TASK with each method over the seeds and compare epochs to generalization.

    \b
        symreg compare mod_add --methods baseline,sym:associativity,geom:lipschitz,grokfast,augment:commutativity
    A re-run with the same --out skips finished methods and resumes interrupted ones.
    """
    from symreg.cli.train import Progress, stop_politely_on_sigterm
    from symreg.experiments.comparison import configure, expand_methods, out_dirs, settings_mismatch, summarize, table
    from symreg.errors import UsageError
    from symreg.plots.dynamics import plot_test_accuracy
    from symreg.runs.rundir import write_json
    from symreg.runs.reading import load_runs
    from symreg.train.trainer import Trainer, TrainConfig

    entries = task_entries()
    if task_name not in entries:
        get_task(task_name)
    chosen = entries[task_name].obj.preset if preset == "paper" else entries[task_name].obj.quick
    task = get_task(task_name, **{**chosen.params, **parse_params(task_name, params)})
    base = TrainConfig.from_preset(chosen, model=model, epochs=epochs, train_frac=train_frac, lr=lr,
                                   weight_decay=weight_decay, device=device, eval_every=eval_every)
    base.stop_on_generalize = True
    for key, value in parse_set(settings).items():
        base.set(key, value)
    base.validate()
    seed_list = parse_seeds(seeds)
    method_list = expand_methods(task, [m.strip() for m in methods.split(",") if m.strip()], base)
    root = Path(out) if out else Path("runs") / f"compare-{task.name}-{dt.datetime.now():%Y%m%d-%H%M%S}"
    root.mkdir(parents=True, exist_ok=True)
    dirs = out_dirs(root, method_list)
    stop_politely_on_sigterm()
    results = {}
    for method in method_list:
        cfg = configure(task, method, base)
        d = dirs[method]
        if (d / "batch.json").exists() or (d / "config.json").exists():
            runs, _ = load_runs([d])
            why = next((w for r in runs if (w := settings_mismatch(r.config, task, cfg))), None)
            if why is None and sorted(r.config["seed"] for r in runs) != sorted(seed_list):
                why = f"seeds {sorted(r.config['seed'] for r in runs)} (now {seed_list})"
            if why:
                raise UsageError(f"{d} holds runs made with {why}; choose another --out.")
            if runs and all(r.status.get("state") == "done" for r in runs) and len(runs) == len(seed_list):
                trainer = None
            else:
                trainer = Trainer.resume(d)
        else:
            trainer = Trainer.fresh(task, cfg, seed_list, d)
        if trainer is not None:
            if not quiet and not as_json:
                click.echo(f"{method}:", err=True)
            trainer.progress = Progress(cfg.epochs, quiet or as_json)
            trainer.run()
            trainer.progress.close()
        runs, _ = load_runs([d])
        results[method] = [r.status.get("generalized_epoch") for r in sorted(runs, key=lambda r: r.config["seed"])]
    rows = summarize(results, cap=base.epochs)
    runs_by_method = {m: load_runs([dirs[m]])[0] for m in method_list}
    figure = plot_test_accuracy(runs_by_method, root / "test_accuracy.png")
    summary = {"task": task.name, "params": task.params, "preset": preset, "seeds": seed_list,
               "base_config": base.__dict__, "methods": rows, "figure": str(figure)}
    write_json(root / "compare.json", summary)
    lines = table(rows)
    md = ["# " + f"{task.name} {task.params}: epochs to test accuracy >= 0.99, seeds {seeds}", "",
          "| " + " | ".join(lines[0]) + " |", "|" + "---|" * len(lines[0])]
    md += ["| " + " | ".join(r) + " |" for r in lines[1:]] + ["", f"![test accuracy]({figure.name})", ""]
    (root / "compare.md").write_text("\n".join(md))
    if as_json:
        click.echo(json.dumps(summary, indent=2, default=str))
        return
    widths = [max(len(r[i]) for r in lines) for i in range(len(lines[0]))]
    for r in lines:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    click.echo(str(root))
