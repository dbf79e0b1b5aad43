"""``symreg sweep``: run a TOML grid of tasks x params x methods x seeds, locally or on Ray.

Thin shells over :mod:`symreg.experiments.sweep_driver`; the spec format is
documented in :mod:`symreg.experiments.sweeps`, the backends in
:mod:`symreg.experiments.backends`.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from symreg.cli.app import Threads, cli, emit


def echo_err(line: str) -> None:
    click.echo(line, err=True)


@cli.group()
def sweep() -> None:
    """Run a grid of trials from a TOML spec, then read its status and summary.

    \b
        symreg sweep run examples/sweeps/acceleration_cpu.toml --workers 2
        symreg sweep status runs/sweep-acceleration-cpu
        symreg sweep summary runs/sweep-acceleration-cpu
    """


@sweep.command("run")
@click.argument("spec_path", metavar="SPEC.toml", type=click.Path(dir_okay=False))
@click.option("--out", type=click.Path(file_okay=False), help="Sweep directory [default: runs/sweep-NAME].")
@click.option("--backend", type=click.Choice(["local", "ray"]), default="local", show_default=True)
@click.option("--workers", type=int, help="Trials at a time (local), or CPUs of a local Ray instance "
              "[default: cores // 2].")
@click.option("--threads", type=Threads(), default="1", show_default=True, metavar="N|auto",
              help="Torch threads per local worker; auto: the idle cores shared among the workers "
              "(Ray gives each task 1).")
@click.option("--address", help="Ray cluster address (ray backend); default: start a local instance.")
@click.option("--retry-failed", is_flag=True, help="Run failed points again (resuming where possible).")
@click.option("--dry-run", is_flag=True, help="Print the plan and what would run; write nothing.")
def run_cmd(spec_path, out, backend, workers, threads, address, retry_failed, dry_run) -> None:
    """Run every point of SPEC.toml that is not finished; a re-run skips done points.

    Exit status 0 when every point is done, 1 when some failed or did not finish.
    """
    from symreg.experiments.sweep_driver import SweepInterrupted, sweep_run

    try:
        result = sweep_run(spec_path, out, backend=backend, workers=workers, threads=threads, address=address,
                           retry_failed=retry_failed, dry_run=dry_run, log=echo_err)
    except SweepInterrupted as stop:
        echo_err(f"Interrupted; run the same command again to resume: {stop.root}")
        sys.exit(130)
    root = result["root"]
    if dry_run:
        for r in result["points"]:
            click.echo(f"{r['action']:<5} {r['state']:<11} {r['point']}  seeds {r['seeds']}  "
                       f"epochs {r['epochs']}" + (f"  ({r['message']})" if r["message"] else ""))
        return
    c = result["counts"]
    done = (f"{c['done']} done, {c['failed']} failed, {c['interrupted']} not finished" if result["ran"]
            else "Nothing to run")
    echo_err(f"{done}; see symreg sweep status {root} / symreg sweep summary {root}")
    click.echo(root)
    if not result["ok"]:
        sys.exit(1)


@sweep.command("run-point", hidden=True)
@click.argument("root", type=click.Path(exists=True, file_okay=False))
@click.argument("name")
def run_point_cmd(root, name) -> None:
    """Run one point of a sweep in this process (what each local worker runs)."""
    import signal

    from symreg.cli.progress import Progress, stop_politely_on_sigterm
    from symreg.experiments.backends import run_point

    # a driver started in the background may pass SIGINT down ignored; the worker must still obey it
    signal.signal(signal.SIGINT, signal.default_int_handler)
    stop_politely_on_sigterm()
    try:
        state = run_point(Path(root), name, progress=Progress())
    except KeyboardInterrupt:  # the runs are checkpointed and marked interrupted
        sys.exit(130)
    click.echo(json.dumps(state))
    sys.exit(0 if state["state"] == "done" else 1)


@sweep.command("status")
@click.argument("root", metavar="DIR", type=click.Path(exists=True, file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status_cmd(root, as_json) -> None:
    """Per point: done, running, failed (with the error), interrupted or pending; and counts."""
    from symreg.experiments.sweep_driver import sweep_status
    from symreg.experiments.sweeps import STATES

    status = sweep_status(root)
    if as_json:
        emit(status)
        return
    rows, counts, driver = status["points"], status["counts"], status["driver"]
    width = max((len(r["point"]) for r in rows), default=10)
    for r in rows:
        seeds = f"{r['seeds_done']}/{r['seeds']} seeds"
        epoch = f"epoch {r['epoch']}" if r["epoch"] is not None else ""
        click.echo(f"{r['state']:<11} {r['point']:<{width}}  {seeds:<11} {epoch:<12} {r['message']}".rstrip())
    click.echo(f"{status['sweep']}: {len(rows)} points: " + ", ".join(f"{counts[s]} {s}" for s in STATES if counts[s])
               + (f"; driver: {driver}" if driver else ""))


@sweep.command("summary")
@click.argument("root", metavar="DIR", type=click.Path(exists=True, file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def summary_cmd(root, as_json) -> None:
    """Epochs to generalize per task x method over the finished points: summary.md, summary.json, plots."""
    from symreg.experiments.sweep_driver import sweep_summary

    summary = sweep_summary(root)
    if as_json:
        emit(summary)
        return
    click.echo((Path(root) / "summary.md").read_text())
