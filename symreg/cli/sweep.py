"""``symreg sweep``: run a TOML grid of tasks x params x methods x seeds, locally or on Ray.

The spec format is documented in :mod:`symreg.experiments.sweeps`; the backends in
:mod:`symreg.experiments.backends`.
"""
from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

import click

from symreg.cli.app import cli
from symreg.errors import UsageError
from symreg.runs.locking import FileLock


@cli.group()
def sweep() -> None:
    """Run a grid of trials from a TOML spec, then read its status and summary.

    \b
        symreg sweep run examples/sweeps/acceleration_cpu.toml --workers 2
        symreg sweep status runs/sweep-acceleration-cpu
        symreg sweep summary runs/sweep-acceleration-cpu
    """


def sweep_lock(root: Path) -> FileLock:
    """One driver per sweep directory."""
    return FileLock(root / ".sweep.lock", f"Sweep {root}", verb="run")


@sweep.command("run")
@click.argument("spec_path", metavar="SPEC.toml", type=click.Path(dir_okay=False))
@click.option("--out", type=click.Path(file_okay=False), help="Sweep directory [default: runs/sweep-NAME].")
@click.option("--backend", type=click.Choice(["local", "ray"]), default="local", show_default=True)
@click.option("--workers", type=int, help="Trials at a time (local), or CPUs of a local Ray instance "
              "[default: cores // 2].")
@click.option("--threads", type=int, default=1, show_default=True,
              help="Torch threads per local worker (Ray gives each task 1).")
@click.option("--address", help="Ray cluster address (ray backend); default: start a local instance.")
@click.option("--retry-failed", is_flag=True, help="Run failed points again (resuming where possible).")
@click.option("--dry-run", is_flag=True, help="Print the plan and what would run; write nothing.")
def run_cmd(spec_path, out, backend, workers, threads, address, retry_failed, dry_run) -> None:
    """Run every point of SPEC.toml that is not finished; a re-run skips done points.

    Exit status 0 when every point is done, 1 when some failed or did not finish.
    """
    from symreg.experiments.sweeps import load_spec, point_state, prepare, prepare_retry
    from symreg.experiments.backends import Tally, _ray, default_workers, run_local, run_ray

    if workers is not None and workers < 1 or threads < 1:
        bad = ("--workers", workers) if workers is not None and workers < 1 else ("--threads", threads)
        raise UsageError(f"{bad[0]} {bad[1]} must be at least 1.")
    if address and backend != "ray":
        raise UsageError("--address is for --backend ray.")
    workers = workers or default_workers()
    spec = load_spec(spec_path)
    root = Path(out) if out else Path("runs") / f"sweep-{spec.name}"
    if backend == "ray":
        _ray()  # fail now, before anything is written
    points = prepare(root, spec, write=False)  # every check, before anything is written
    if dry_run:
        _report(spec, root, points, retry_failed, dry_run=True)
        return
    root.mkdir(parents=True, exist_ok=True)
    with sweep_lock(root):
        points = prepare(root, spec)
        todo, states = _report(spec, root, points, retry_failed)
        for p in todo:
            if states[p.name]["state"] == "failed":
                click.echo(f"retry {p.name}: {prepare_retry(root, p)}", err=True)
        tally = Tally(len(todo), lambda line: click.echo(line, err=True))
        try:
            if backend == "ray":
                run_ray(root, todo, address, workers, tally)
            else:
                run_local(root, todo, workers, tally, threads)
        except KeyboardInterrupt:
            click.echo(f"Interrupted; run the same command again to resume: {root}", err=True)
            sys.exit(130)
    c = tally.counts
    done = f"{c['done']} done, {c['failed']} failed, {c['interrupted']} not finished" if todo else "Nothing to run"
    click.echo(f"{done}; see symreg sweep status {root} / symreg sweep summary {root}", err=True)
    click.echo(str(root))
    finals = [point_state(root, p)["state"] for p in points]
    if any(s != "done" for s in finals):
        sys.exit(1)


def _report(spec, root: Path, points, retry_failed: bool, dry_run: bool = False):
    """Say what will run and what is skipped; with ``dry_run``, one line per point."""
    from symreg.experiments.sweeps import point_state

    states = {p.name: point_state(root, p) for p in points}
    todo = [p for p in points if states[p.name]["state"] in ("pending", "interrupted")
            or retry_failed and states[p.name]["state"] == "failed"]
    skip = {s: sum(states[p.name]["state"] == s for p in points if p not in todo) for s in ("done", "running", "failed")}
    click.echo(f"{spec.name}: {len(points)} points, {len(todo)} to run; skipping {skip['done']} done, "
               f"{skip['running']} running elsewhere, {skip['failed']} failed"
               + ("" if retry_failed or not skip["failed"] else " (--retry-failed runs them)") + f" -> {root}",
               err=True)
    if dry_run:
        for p in points:
            s = states[p.name]
            click.echo(f"{'run' if p in todo else 'skip':<5} {s['state']:<11} {p.name}  seeds {len(p.seeds)}  "
                       f"epochs {p.train['epochs']}" + (f"  ({s['message']})" if s["message"] else ""))
    return todo, states


@sweep.command("run-point", hidden=True)
@click.argument("root", type=click.Path(exists=True, file_okay=False))
@click.argument("name")
def run_point_cmd(root, name) -> None:
    """Run one point of a sweep in this process (what each local worker runs)."""
    import signal

    from symreg.cli.train import Progress
    from symreg.experiments.backends import run_point

    def stop(signum, frame):  # SIGTERM (a scheduler, a plain kill) stops politely, as Ctrl-C does
        raise KeyboardInterrupt

    # a driver started in the background may pass SIGINT down ignored; the worker must still obey it
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, stop)
    try:
        state = run_point(Path(root), name, progress=Progress(0, False))
    except KeyboardInterrupt:  # the runs are checkpointed and marked interrupted
        sys.exit(130)
    click.echo(json.dumps(state))
    sys.exit(0 if state["state"] == "done" else 1)


@sweep.command("status")
@click.argument("root", metavar="DIR", type=click.Path(exists=True, file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status_cmd(root, as_json) -> None:
    """Per point: done, running, failed (with the error), interrupted or pending; and counts."""
    from symreg.experiments.sweeps import STATES, point_state, read_sweep, sweep_points

    root = Path(root)
    name = read_sweep(root)["name"]
    rows = [point_state(root, p) for p in sweep_points(root)]
    counts = {s: sum(r["state"] == s for r in rows) for s in STATES}
    driver = sweep_lock(root).holder()
    if as_json:
        click.echo(json.dumps({"sweep": name, "driver": driver, "counts": counts, "points": rows}, indent=2))
        return
    width = max((len(r["point"]) for r in rows), default=10)
    for r in rows:
        seeds = f"{r['seeds_done']}/{r['seeds']} seeds"
        epoch = f"epoch {r['epoch']}" if r["epoch"] is not None else ""
        click.echo(f"{r['state']:<11} {r['point']:<{width}}  {seeds:<11} {epoch:<12} {r['message']}".rstrip())
    click.echo(f"{name}: {len(rows)} points: " + ", ".join(f"{counts[s]} {s}" for s in STATES if counts[s])
               + (f"; driver: {driver}" if driver else ""))


@sweep.command("summary")
@click.argument("root", metavar="DIR", type=click.Path(exists=True, file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def summary_cmd(root, as_json) -> None:
    """Epochs to generalize per task x method over the finished points: summary.md, summary.json, plots."""
    summary = summarize_sweep(Path(root))
    if as_json:
        click.echo(json.dumps(summary, indent=2, default=str))
        return
    click.echo((Path(root) / "summary.md").read_text())


def summarize_sweep(root: Path) -> dict:
    """Diagnose every finished point's runs; write SWEEP/summary.{md,json} and SWEEP/plots/."""
    from symreg.experiments.comparison import summarize, table
    from symreg.diagnose.phases import events
    from symreg.runs.rundir import write_json
    from symreg.runs.reading import load_runs
    from symreg.experiments.sweeps import point_state, read_sweep, sweep_points

    name, points = read_sweep(root)["name"], sweep_points(root)
    runs, evs, rows, notes, groups = {}, {}, [], [], {}
    for p in points:
        st = point_state(root, p)
        if st["state"] != "done":
            notes.append(f"{p.name}: {st['state']}" + (f" ({st['message']})" if st["message"] else "")
                         + "; not in the table")
            continue
        runs[p.name] = sorted(load_runs([root / p.name])[0], key=lambda r: r.config["seed"])
        evs[p.name] = [events(r) for r in runs[p.name]]
        groups.setdefault(p.group, {})[p.method] = evs[p.name]
    for group, by_method in groups.items():
        gen = {m: [e["generalization"] for e in es] for m, es in by_method.items()}
        for r in summarize(gen):
            mem = [e["memorization"] for e in by_method[r["method"]] if e["memorization"] is not None]
            rows.append({"group": group, **r, "memorized_median": statistics.median(mem) if mem else None})
    plots = _plots(root, points, runs, notes)
    md = [f"# Sweep {name}: epochs to test accuracy >= 0.99", "",
          "Over finished points; a seed that never generalizes counts as infinity in the median; "
          "speed-up = baseline median / method median, within the same task and parameters.", "",
          "| task | " + " | ".join(table([])[0]) + " |", "|" + "---|" * (len(table([])[0]) + 1)]
    for group in groups:
        for line in table([r for r in rows if r["group"] == group])[1:]:
            md.append(f"| {group} | " + " | ".join(line) + " |")
    md += [""] + [f"- {n}" for n in notes] + [""] + [f"![{k}]({v})" for k, v in plots.items()] + [""]
    (root / "summary.md").write_text("\n".join(md))
    summary = {"sweep": name, "rows": rows, "notes": notes, "plots": plots,
               "events": evs}
    write_json(root / "summary.json", summary)
    return summary


def _plots(root: Path, points, runs: dict, notes: list) -> dict:
    """One test-accuracy figure per task (methods as lines) and per method (tasks as lines)."""
    try:
        from symreg.plots.dynamics import plot_test_accuracy
    except ImportError as err:
        notes.append(f"no plots: symreg.plots.dynamics is not available ({err})")
        return {}
    from symreg.experiments.sweeps import slug

    done = [p for p in points if p.name in runs]
    out = {}
    for key, label_of, prefix in (("group", lambda p: p.method, "task"), ("method", lambda p: p.group, "method")):
        for value in dict.fromkeys(getattr(p, key) for p in done):
            by_label = {label_of(p): runs[p.name] for p in done if getattr(p, key) == value}
            path = root / "plots" / f"{prefix}-{slug(value)}.png"
            path.parent.mkdir(exist_ok=True)
            out[f"{prefix} {value}"] = str(plot_test_accuracy(by_label, path).relative_to(root))
    return out
