"""Commands about the registry: tasks, plugins, show, verify."""
from __future__ import annotations

import sys
import time

import click

from symreg.cli.app import PARAM, cli, emit
from symreg.limits import MAX_ORDER_POINTS, TooLargeError
from symreg.plugins import distributions, load_plugins, plugin_name, pm
from symreg.presets import resolve_task
from symreg.registry import get_symmetries, model_entries, plugin_problems, probe_symmetry_plugins, task_entries
from symreg.symmetry import MAX_EXHAUSTIVE, Symmetry

SHOW_MAX_POINTS = 3_000_000  # symmetries of at most ~10^6 tokens: sympy builds 3 million points in about 10 s


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def tasks(as_json: bool) -> None:
    """List the registered tasks."""
    rows = []
    for name, entry in task_entries().items():
        cls = entry.obj
        rows.append({"name": name, "domain": cls.domain, "plugin": entry.plugin,
                     "version": cls.version, "description": cls.description,
                     "params": {k: p.default for k, p in cls.parameters.items()}})
    if as_json:
        return emit(rows)
    for r in rows:
        params = " ".join(f"{k}={v}" for k, v in r["params"].items())
        click.echo(f"{r['name']:<18} {r['domain']:<11} {r['plugin']:<11} {params:<14} "
                   f"{r['description'].split('.')[0]}")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def plugins(as_json: bool) -> None:
    """List the plugins, what they provide, and what of them does not work.

    \b
    A plugin that failed to load is FAILED; one that loaded but had a
    registration ignored (a task name an earlier plugin registered, a class
    that is not a Task, a symmetry factory that raises) keeps the rest and
    shows the error. --json: one object per plugin, "error" null when none.
    """
    load_plugins()
    owners = task_entries()
    model_entries()
    probe_symmetry_plugins()
    problems = plugin_problems()
    rows = []
    for plugin in sorted(pm.get_plugins(), key=plugin_name):
        name = plugin_name(plugin)
        dist = distributions.get(name, (None, None))
        rows.append({"name": name, "module": getattr(plugin, "__name__", repr(plugin)),
                     "distribution": dist[0], "version": dist[1], "loaded": True,
                     "hooks": sorted(h.name for h in pm.get_hookcallers(plugin) or []),
                     "tasks": sorted(t for t, e in owners.items() if e.plugin == name),
                     "error": problems.get(name)})
    for name, why in sorted(problems.items()):
        if not pm.has_plugin(name):
            rows.append({"name": name, "module": None, "distribution": None, "version": None, "loaded": False,
                         "hooks": [], "tasks": [], "error": why})
    if as_json:
        return emit(rows)
    for r in rows:
        provides = ", ".join(r["tasks"]) or "-"
        status = (f"FAILED: {r['error']}" if not r["loaded"] else
                  f"{provides}  ERROR: {r['error']}" if r["error"] else provides)
        click.echo(f"{r['name']:<12} {r['version'] or '':<8} {status}")


@cli.command()
@click.argument("task_name", metavar="TASK")
@PARAM
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show(task_name: str, params: tuple[str, ...], as_json: bool) -> None:
    """Show a task: parameters, encoding, size, symmetries and presets."""
    task = resolve_task(task_name, params)
    entry = task_entries()[task.name]
    points = task.arity * task.vocab_size + task.n_classes  # what each symmetry's permutations move
    try:  # the size is a formula; only the symmetries cost memory and time (O(vocabulary)), checked first
        if points > SHOW_MAX_POINTS:
            raise TooLargeError(f"their permutations would move {points:,} points, more than `show` builds "
                                f"({SHOW_MAX_POINTS:,}, about 10 s)")
        symmetries, skipped = [_summary(s) for s in get_symmetries(task)], None
    except TooLargeError as err:
        symmetries, skipped = [], str(err)
    info = {**task.spec(), "plugin": entry.plugin, "description": task.description,
            "encoding_example": task.encoding_example,
            "parameters": {k: {"value": task.params[k], "default": p.default, "help": p.help}
                           for k, p in task.parameters.items()},
            "symmetries": symmetries, "symmetries_skipped": skipped,
            "presets": {"paper": vars(task.preset), "quick": vars(task.quick)}}
    if as_json:
        return emit(info)
    click.echo(f"{task.name} (v{task.version}, {task.domain}, plugin {entry.plugin}): {task.description}")
    for k, p in info["parameters"].items():
        click.echo(f"  parameter {k} = {p['value']}  ({p['help']}; default {p['default']})")
    click.echo(f"  inputs: {task.size:,} ({task.arity} tokens from {task.vocab_size:,}), "
               f"classes: {task.n_classes:,}")
    click.echo(f"  encoding: {task.encoding_example}")
    click.echo("  symmetries:" + (f" not built: {skipped}" if skipped else ""))
    for s in info["symmetries"]:
        order = s["order"] if s.get("order") is not None else f"not computed ({s.get('points')} points)"
        group = f" order {order}, generators: {', '.join(s['generators'])}" if s["kind"] == "group" else ""
        click.echo(f"    {s['name']:<20} {s['kind']:<5}{group}")
        click.echo(f"    {'':<20} {s['description']}")
    for label, preset in info["presets"].items():
        extra = f" params {preset['params']}" if preset["params"] else ""
        extra += "".join(f", {k} {v}" for k, v in preset["extra"].items())
        extra += f"  ({preset['note']})" if preset["note"] else ""
        click.echo(f"  preset {label}: train_frac {preset['train_frac']}, weight_decay "
                   f"{preset['weight_decay']}, epochs {preset['epochs']}, model {preset['model']}{extra}")


def _summary(sym: Symmetry) -> dict:
    """``sym.summary()``, without the group's order where computing it could take minutes.

    The order comes from sympy's Schreier-Sims, which grows steeply with the
    points moved: 11 s for mod_add's translations at p=1009, hours at p=10007.
    """
    gens = getattr(sym, "generators", None)
    points = max((getattr(g, "size", 0) for g in gens), default=0) if isinstance(gens, list) else 0
    if points <= MAX_ORDER_POINTS:
        return sym.summary()
    return {**Symmetry.summary(sym), "order": None, "points": points,
            "generators": list(getattr(sym, "generator_names", []))}


@cli.command()
@click.argument("task_names", metavar="TASK...", nargs=-1)
@click.option("--all", "all_tasks", is_flag=True, help="Verify every registered task.")
@PARAM
@click.option("--max-exhaustive", default=MAX_EXHAUSTIVE, show_default=True,
              help="Check laws on every instance up to this many; above it, sample with hypothesis.")
@click.option("--samples", default=2000, show_default=True, help="Hypothesis samples for large laws.")
@click.option("--seed", default=0, show_default=True, help="Seed for sampled checks.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def verify(task_names, all_tasks, params, max_exhaustive, samples, seed, as_json) -> None:
    """Prove every declared symmetry of TASK against the task's own oracle.

    Group actions: every generator on every input (a proof). Laws: every
    instance, or a hypothesis search above --max-exhaustive. Exit 1 on a failure.
    """
    from symreg.symmetry import Counterexample
    from symreg.verifying import iter_verify

    if bool(task_names) == all_tasks:
        raise click.UsageError("Give task names or --all (not both).")
    start, results = time.perf_counter(), []
    for r in iter_verify(None if all_tasks else task_names, params, max_exhaustive=max_exhaustive,
                         samples=samples, seed=seed):
        results.append(r)
        if not as_json:
            click.echo(f"{'ok  ' if r['ok'] else 'FAIL'} {r['task']:<18} {r['symmetry']:<22} {r['method']} "
                       f"({r['seconds']:.2f}s)")
            if r["counterexample"]:
                click.echo(f"     {Counterexample(**r['counterexample'])}")
    failed = sum(not r["ok"] for r in results)
    total = time.perf_counter() - start
    if as_json:
        emit({"ok": not failed, "seconds": round(total, 3), "results": results})
    else:
        click.echo(f"{len(results) - failed} of {len(results)} symmetries verified in {total:.1f}s")
    if failed:
        sys.exit(1)
