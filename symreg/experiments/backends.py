"""Where a sweep's trials run: a local pool of worker processes, or Ray tasks.

Both backends run each trial with :func:`run_point`, which writes
the point's batch directory and, when the trial fails, ``failed.json``. What a
worker cannot record itself (it was killed, or crashed outright) the driver
records from the worker's exit: a killed or crashed worker marks its point
failed and the others go on.

- ``local``: ``--workers N`` processes at a time, each
  ``python -m symreg sweep run-point SWEEP POINT`` in its own session (so a
  Ctrl-C reaches the driver, which passes one SIGINT on to each worker: they
  checkpoint, mark their runs interrupted and a re-run resumes them), with
  ``--threads`` torch threads (``OMP_NUM_THREADS``, default 1: throughput comes
  from more workers; on a busy 2-core machine a tiny trial took 48 s with 2
  threads and 5 s with 1) and its output in ``SWEEP/logs/POINT.log``. A worker
  stopped by SIGINT or SIGTERM checkpoints and leaves its point interrupted (a
  re-run resumes it); one killed by SIGKILL (or any crash) leaves it failed.
- ``ray``: each trial is one Ray task (``num_cpus=1``, no automatic retries)
  on the cluster at ``--address``, or on a local instance started with
  ``--workers`` CPUs; Ray gives each task ``OMP_NUM_THREADS=1``. The sweep directory must be on a filesystem every node
  sees, and symreg (with the plugins the spec names) installed on every node.
"""
from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Callable

from symreg.errors import UsageError
from symreg.experiments.sweeps import Point, point_state, record_failure, sweep_points
from symreg.runs.rundir import RunDir, run_paths


# --- one trial, in whatever process runs it -------------------------------------------
def nan_seeds(d: Path) -> dict[int, int]:
    """Seed -> the epoch it diverged at: its status (the trainer stops a seed whose train loss or
    weights stop being finite), or for runs from before it did, the first non-finite train loss."""
    out = {}
    for p in run_paths(d):
        run = RunDir(p)
        status = run.status
        if status.get("state") == "diverged":
            out[run.config["seed"]] = status.get("epoch")
            continue
        rows, _ = run.metrics()
        bad = [r["epoch"] for r in rows if r.get("train_loss") is not None and not math.isfinite(r["train_loss"])]
        if bad:
            out[run.config["seed"]] = min(bad)
    return out


def run_point(root, name: str, progress=None) -> dict:
    """Run (or resume) one trial in this process and record its outcome; never raises on failure.

    ``progress`` is called at each evaluation as ``progress(epoch, rows, trainer)``.
    """
    from symreg.registry import get_task
    from symreg.train.trainer import TrainConfig, Trainer

    root, t0 = Path(root), time.perf_counter()
    pt = next((p for p in sweep_points(root) if p.name == name), None)
    if pt is None:
        raise UsageError(f"{root} has no point {name!r}.")
    d = root / pt.name

    trainer = None
    try:
        state = point_state(root, pt)["state"]
        if state == "running":  # someone else writes it: leave it alone, record nothing
            return point_state(root, pt)
        if state == "done":  # a retried NaN failure: check it again
            pass
        elif run_paths(d):
            trainer = Trainer.resume(d)  # seeds that diverged stay stopped; a finished point returns at once
        else:
            trainer = Trainer.fresh(get_task(pt.task, **pt.params), TrainConfig(**pt.train), pt.seeds, d)
        if trainer is not None:
            trainer.progress = progress  # the trainer stops each seed that diverges (status "diverged")
            trainer.run()
        bad = nan_seeds(d)
        if bad:
            where = ", ".join(f"seed {s} from epoch {e}" for s, e in sorted(bad.items()))
            record_failure(root, pt, "nan", f"non-finite train loss ({where})", seeds=sorted(bad))
    except Exception as err:  # recorded, never fatal for the sweep
        diverged = trainer is not None and not all(bool(q.isfinite().all()) for q in trainer.model.parameters())
        record_failure(root, pt, "nan" if diverged else "exception",
                       ("the weights are no longer finite; " if diverged else "") + f"{type(err).__name__}: {err}",
                       traceback=traceback.format_exc()[-4000:])
    return {**point_state(root, pt), "seconds": round(time.perf_counter() - t0, 2)}


# --- the backends --------------------------------------------------------------------
def default_workers() -> int:
    return max(1, (os.cpu_count() or 2) // 2)


class Tally:
    """Counts outcomes and prints one line per start and finish."""

    def __init__(self, total: int, echo: Callable[[str], None]) -> None:
        self.total, self.echo, self.n = total, echo, 0
        self.counts = {"done": 0, "failed": 0, "interrupted": 0}
        self.started: dict[str, tuple[int, float]] = {}

    def start(self, pt: Point, what: str = "start") -> None:
        self.n += 1
        self.started[pt.name] = (self.n, time.perf_counter())
        seeds = pt.seeds
        self.echo(f"[{self.n}/{self.total}] {what} {pt.name} ({len(seeds)} seed{'s' * (len(seeds) != 1)})")

    def finish(self, pt: Point, state: dict, seconds: float | None = None) -> None:
        i, t0 = self.started.pop(pt.name, (0, time.perf_counter()))
        seconds = time.perf_counter() - t0 if seconds is None else seconds
        kind = state["state"] if state["state"] in self.counts else "interrupted"
        self.counts[kind] += 1
        if kind == "done":
            what = f"done: {state['seeds_done']}/{state['seeds']} seeds"
        elif kind == "failed":
            what = f"FAILED: {state['message']}"
        else:
            what = f"not finished ({state['state']} {state['message']}); a re-run resumes it"
        self.echo(f"[{i}/{self.total}] {pt.name} {what} ({seconds:.1f}s)")


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(code).name
    except ValueError:
        return f"signal {code}"


def run_local(root: Path, points: list[Point], workers: int, tally: Tally, threads: int = 1) -> None:
    """Run the points in a pool of ``workers`` processes, one trial per process."""
    threads = str(threads)
    env = {**os.environ, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads,
           "PYTHONPATH": os.pathsep.join(p for p in [os.environ.get("PYTHONPATH", ""), *sys.path] if p)}
    queue, active = list(points), {}
    try:
        while queue or active:
            while queue and len(active) < workers:
                pt = queue.pop(0)
                log = root / "logs" / f"{pt.name}.log"
                log.parent.mkdir(parents=True, exist_ok=True)
                with open(log, "ab") as f:
                    proc = subprocess.Popen(
                        [sys.executable, "-m", "symreg", "sweep", "run-point", str(root), pt.name],
                        stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT, env=env,
                        start_new_session=True)
                active[proc] = (pt, log)
                tally.start(pt)
            time.sleep(0.2)
            for proc in [p for p in active if p.poll() is not None]:
                pt, log = active.pop(proc)
                settle(root, pt, proc.returncode, f"worker process {proc.pid}", str(log), tally)
    except KeyboardInterrupt:
        for proc in active:  # one SIGINT each: they checkpoint and mark their runs interrupted
            proc.send_signal(signal.SIGINT)
        for proc, (pt, log) in active.items():
            proc.wait()
            tally.finish(pt, point_state(root, pt))
        raise


def settle(root: Path, pt: Point, code: int, who: str, log: str, tally: Tally,
            seconds: float | None = None) -> None:
    """Record what the worker could not (it was killed or crashed), then count the outcome."""
    state = point_state(root, pt)
    if state["state"] not in ("done", "failed") and code not in (0, 130, -signal.SIGINT):
        if code < 0:
            error = f"{who} was killed by {_signal_name(-code)}"
            record_failure(root, pt, "killed", error, log=log)
        else:
            record_failure(root, pt, "crashed", f"{who} exited with status {code}", log=log)
        state = point_state(root, pt)
    tally.finish(pt, state, seconds)


def import_ray():
    """The ray module, or a UsageError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise UsageError("The ray backend needs Ray, which is not installed: "
                         "pip install 'symreg[ray]' (or pip install ray).") from None
    return ray


def _ray_trial(root: str, name: str) -> dict:
    """The body of one Ray task: the trial runs inside the Ray worker process."""
    return run_point(Path(root), name)


def run_ray(root: Path, points: list[Point], address: str | None, workers: int, tally: Tally) -> None:
    """Run each point as one Ray task; ``ray.init`` only if Ray is not initialized already."""
    ray = import_ray()
    started = not ray.is_initialized()
    if started and address:
        ray.init(address=address, logging_level="WARNING")
    elif started:
        ray.init(num_cpus=workers, include_dashboard=False, logging_level="WARNING")
    try:
        _ray_loop(ray, root, points, tally)
    finally:
        if started:
            ray.shutdown()


def _ray_loop(ray, root: Path, points: list[Point], tally: Tally) -> None:
    trial = ray.remote(num_cpus=1, max_retries=0)(_ray_trial)
    pending = {}
    for pt in points:
        pending[trial.remote(str(root.resolve()), pt.name)] = pt
        tally.start(pt, "submit")
    try:
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            pt = pending.pop(done[0])
            try:
                settle(root, pt, 0, "", "", tally, ray.get(done[0]).get("seconds"))
            except ray.exceptions.TaskCancelledError:
                tally.finish(pt, point_state(root, pt))
            except ray.exceptions.RayError as err:  # the worker died, or Ray lost it
                kind = "killed" if isinstance(err, ray.exceptions.WorkerCrashedError) else "crashed"
                record_failure(root, pt, kind, f"Ray task failed: {type(err).__name__}: "
                               f"{str(err).strip().splitlines()[0] if str(err).strip() else ''}")
                tally.finish(pt, point_state(root, pt))
    except KeyboardInterrupt:
        for ref in pending:  # a KeyboardInterrupt in each task: it checkpoints and marks interrupted
            ray.cancel(ref)
        for ref, pt in pending.items():
            try:
                ray.get(ref)
            except Exception:
                pass
            tally.finish(pt, point_state(root, pt))
        raise
