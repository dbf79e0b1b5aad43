"""The paper's diagnostic tested as a detector: 20 grokking seeds plus runs that do not grok.

Trains (or resumes, or reuses) two batches of a task (default ``mod_add``) at its CPU preset:
``--seeds`` generalizing runs (weight decay 1, each stopped ``--patience``
epochs after it generalizes) and ``--negatives`` runs without weight decay
(which do not generalize within the cap, so false alarms can happen and are
counted). Then it writes the event table, the early-warning analysis of the
symmetry signal against the parameter-norm and train-loss baselines, and the
figures, into ``--out``.

    python benchmarks/early_warning_study.py --out benchmarks/results/early_warning
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import symreg
from symreg.diagnose.early_warning import analyse
from symreg.diagnose.phases import event_table, events
from symreg.diagnose.warning_report import markdown, summary_rows
from symreg.plots.dynamics import plot_dynamics, plot_violation_scatter
from symreg.runs.reading import load_runs
from symreg.train.trainer import TrainConfig, Trainer
from symreg.util.parsing import parse_seeds


def train_batch(task, cfg, seeds, path):
    if (path / "batch.json").exists() or (path / "config.json").exists():
        runs, _ = load_runs([path])
        if runs and all(r.status.get("state") == "done" for r in runs):
            return
        Trainer.resume(path).run()
    else:
        Trainer.fresh(task, cfg, seeds, path).run()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", default="mod_add")
    ap.add_argument("-P", "--param", action="append", default=[], help="task parameter key=value")
    ap.add_argument("--seeds", default="0-19")
    ap.add_argument("--negatives", default="100-107")
    ap.add_argument("--epochs", type=int, default=3000)
    ap.add_argument("--patience", type=int, default=400)
    ap.add_argument("--eval-every", type=int, default=20)
    ap.add_argument("--out", default="benchmarks/results/early_warning")
    ap.add_argument("--analyse-only", action="store_true", help="use the runs already there, train nothing")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cls = symreg.task_entries()[args.task].obj
    task = symreg.get_task(args.task, **{**cls.quick.params,
                                         **symreg.registry.parse_params(args.task, args.param)})
    base = TrainConfig.from_preset(cls.quick, epochs=args.epochs, eval_every=args.eval_every)
    grok = TrainConfig(**{**base.__dict__, "stop_on_generalize": True, "stop_patience": args.patience})
    no_wd = TrainConfig(**{**base.__dict__, "weight_decay": 0.0})
    if not args.analyse_only:
        train_batch(task, grok, parse_seeds(args.seeds), out / "runs" / "wd1")
        train_batch(task, no_wd, parse_seeds(args.negatives), out / "runs" / "wd0")

    runs, problems = load_runs([out / "runs"])
    evs = [events(r) for r in runs]
    main_sym = [f"violation:{s}" for s in runs[0].symmetries()]
    result = analyse(runs, signals=("violation", *main_sym, "param_norm", "train_loss"))
    (out / "analysis.json").write_text(json.dumps({"events": evs, "early_warning": result}, indent=2, default=str))
    plot_violation_scatter(runs, evs, out / "violation_scatter.png")
    for sym in runs[0].symmetries():
        plot_violation_scatter(runs, evs, out / f"violation_scatter_{sym}.png", symmetry=sym)
    first = next((r for r, e in zip(runs, evs) if e["generalized"]), runs[0])
    plot_dynamics(first, events(first), out / "dynamics_example.png")
    rows = event_table(evs)
    table = "\n".join("| " + " | ".join(r) + " |" for r in rows[:1] + [["---"] * len(rows[0])] + rows[1:])
    lead = summary_rows(result)
    text = (f"# Early warning on {task.name} {task.params}\n\n{len(runs)} runs; problems: {problems or 'none'}\n\n"
            f"## Events\n\n{table}\n\n{markdown(result)}\n")
    (out / "report.md").write_text(text)
    widths = [max(len(r[i]) for r in lead) for i in range(len(lead[0]))]
    for r in lead:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)))
    print(f"wrote {out / 'report.md'}")


if __name__ == "__main__":
    main()
