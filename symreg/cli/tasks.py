"""Commands about the registry: tasks, plugins, show, verify."""
from __future__ import annotations

import re
import sys
import time

import click
import numpy as np
from sympy.combinatorics import Permutation, PermutationGroup

from symreg.cli.app import PARAM, cli, emit
from symreg.errors import InvalidSymmetryError
from symreg.limits import MAX_ORDER_POINTS, TooLargeError
from symreg.plugins import distributions, load_plugins, plugin_name, pm
from symreg.presets import resolve_task
from symreg.registry import get_symmetries, model_entries, plugin_problems, probe_symmetry_plugins, task_entries
from symreg.symmetry import MAX_EXHAUSTIVE, GroupAction, Symmetry
from symreg.util.tables import text_table

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
    click.echo(text_table([[r["name"], r["domain"], r["plugin"], " ".join(f"{k}={v}" for k, v in r["params"].items()),
                            first_sentence(r["description"])] for r in rows]))


def first_sentence(text: str) -> str:
    """``text`` up to its first full stop (one followed by a space or the end, so ``0..m-1`` stays whole).

    >>> first_sentence("x+y mod p. Zero included."), first_sentence("ages in 0..m-1"), first_sentence("")
    ('x+y mod p', 'ages in 0..m-1', '')
    """
    return re.split(r"\.(?:\s|$)", text, maxsplit=1)[0]


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
        symmetries, skipped = [_summary(s, task) for s in get_symmetries(task)], None
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
    click.echo(f"{task.name} (v{task.version}, {task.domain}, plugin {entry.plugin})"
               + (f": {task.description}" if task.description else ""))
    for k, p in info["parameters"].items():
        click.echo(f"  parameter {k} = {p['value']}  ({p['help']}; default {p['default']})")
    if not info["parameters"]:
        click.echo("  parameters: none")
    click.echo(f"  inputs: {task.size:,} ({task.arity} tokens from {task.vocab_size:,}), "
               f"classes: {task.n_classes:,}")
    click.echo(f"  encoding: {task.encoding_example}")
    click.echo("  symmetries:" + (f" not built: {skipped}" if skipped else "" if symmetries else " none"))
    for s in symmetries:
        for line in symmetry_lines(s):
            click.echo(f"    {line}".rstrip())
    for label, preset in info["presets"].items():
        extra = f", params {_pairs(preset['params'])}" if preset["params"] else ""
        extra += "".join(f", {k} {v}" for k, v in preset["extra"].items())
        extra += f"  ({preset['note']})" if preset["note"] else ""
        click.echo(f"  preset {label}: train_frac {preset['train_frac']}, weight_decay "
                   f"{preset['weight_decay']}, epochs {preset['epochs']}, model {preset['model']}{extra}")


def _pairs(params: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items())


def symmetry_lines(s: dict) -> list[str]:
    """What ``show`` prints for one symmetry (a :func:`_summary`): kind and group, action and plugin, description.

    >>> symmetry_lines({"name": "translation", "kind": "group", "order": 49, "generators": ["x->x+1"],
    ...                 "action": "equivariance", "output_order": 7, "plugin": "algebraic", "description": "shift"})
    ['translation          group order 49, generators: x->x+1', \
'                     equivariance, order 7 on the classes; declared by plugin algebraic', '                     shift']
    """
    head, action = f"{s['name']:<20} {s['kind']}", ""
    if s["kind"] == "group":
        order = s["order"] if s.get("order") is not None else f"not computed ({s.get('points')} points)"
        head += f" order {order}, generators: {', '.join(s.get('generators', []))}"
    if "action" in s:
        action = s["action"] or f"not a valid action on this task ({str(s.get('problem')).rstrip('.')})"
        if s["action"] == "equivariance" and s.get("output_order") not in (None, s.get("order")):
            action += f", order {s['output_order']} on the classes"
        action += "; "
    lines = [head, f"{'':<20} {action}declared by plugin {s.get('plugin')}"]
    return lines + ([f"{'':<20} {s['description']}"] if s.get("description") else [])


def _summary(sym: Symmetry, task) -> dict:
    """``sym.summary()``, without the group's order where computing it could take minutes; for a group
    action also whether it is an invariance and its order on the classes (:func:`output_action`).

    The order comes from sympy's Schreier-Sims, which grows steeply with the
    points moved: 11 s for mod_add's translations at p=1009, hours at p=10007.
    """
    gens = getattr(sym, "generators", None)
    points = max((getattr(g, "size", 0) for g in gens), default=0) if isinstance(gens, list) else 0
    if points <= MAX_ORDER_POINTS:
        summary = sym.summary()
    else:
        summary = {**Symmetry.summary(sym), "order": None, "points": points,
                   "generators": list(getattr(sym, "generator_names", []))}
    return {**summary, **output_action(sym, task)} if isinstance(sym, GroupAction) else summary


def output_action(sym, task) -> dict:
    """Whether group action ``sym`` is an ``invariance`` of ``task`` (every class fixed) or an
    ``equivariance``, and its ``output_order``: the order of the group's image on the classes, from the
    generators restricted to the class points (None above :data:`MAX_ORDER_POINTS` classes).

    For an equivariance it can be smaller than the order on the inputs: mod_add's
    translations, x -> x+1 and y -> y+1, form Z_p x Z_p but both move the classes by +1.

    >>> from symreg.registry import get_task
    >>> task = get_task("mod_add", p=7)
    >>> [output_action(s, task)["output_order"] for s in get_symmetries(task)[:3]]
    [1, 7, 6]
    """
    try:
        if sym.is_invariance(task):
            return {"action": "invariance", "output_order": 1}
    except InvalidSymmetryError as err:  # verify reports it; show says so and goes on
        return {"action": None, "output_order": None, "problem": str(err)}
    c, offset = task.n_classes, task.arity * task.vocab_size
    if c > MAX_ORDER_POINTS:
        return {"action": "equivariance", "output_order": None}
    images = []
    for g in sym.generators:  # a generator shorter than the point set fixes the points past its size
        af = np.concatenate([np.asarray(g.array_form[offset:offset + c], dtype=np.int64),
                             np.arange(max(g.size, offset), offset + c)])
        images.append(Permutation((af - offset).tolist()))
    return {"action": "equivariance", "output_order": int(PermutationGroup(images).order())}


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
                       f"({r['seconds']:.2f}s; declared by plugin {r['plugin']})")
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
