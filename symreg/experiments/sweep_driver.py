"""Drive a sweep from Python: what ``symreg sweep run / status / summary`` do, returning dicts.

One driver per sweep directory (:func:`sweep_lock`). :func:`sweep_run` runs
every point not finished (or, with ``dry_run``, only says what it would do);
:func:`sweep_status` reads where each point stands; :func:`sweep_summary`
diagnoses the finished points and writes ``summary.md``, ``summary.json`` and plots.
"""
from __future__ import annotations

import statistics
from pathlib import Path
from typing import Callable

from symreg.errors import UsageError
from symreg.experiments.sweeps import STATES, Spec, load_spec, point_state, read_sweep, slug, sweep_points
from symreg.runs.locking import FileLock


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) stopped a sweep; its workers checkpointed, and a re-run resumes at ``root``."""

    def __init__(self, root: Path) -> None:
        super().__init__(str(root))
        self.root = root


def sweep_lock(root: Path) -> FileLock:
    """One driver per sweep directory."""
    return FileLock(Path(root) / ".sweep.lock", f"Sweep {root}", verb="run")


def sweep_dir(spec: Spec, out: str | Path | None = None) -> Path:
    """The sweep directory: ``out``, or ``runs/sweep-NAME``."""
    return Path(out) if out else Path("runs") / f"sweep-{spec.name}"


def _plan(spec: Spec, root: Path, points: list, retry_failed: bool) -> tuple[list, list[dict], str]:
    """The points to run, every point's state with its action, and the line saying so."""
    states = {p.name: point_state(root, p) for p in points}
    todo = [p for p in points if states[p.name]["state"] in ("pending", "interrupted")
            or retry_failed and states[p.name]["state"] == "failed"]
    rows = [{**states[p.name], "action": "run" if p in todo else "skip", "epochs": p.train["epochs"]}
            for p in points]
    skip = {s: sum(states[p.name]["state"] == s for p in points if p not in todo) for s in ("done", "running", "failed")}
    line = (f"{spec.name}: {len(points)} points, {len(todo)} to run; skipping {skip['done']} done, "
            f"{skip['running']} running elsewhere, {skip['failed']} failed"
            + ("" if retry_failed or not skip["failed"] else " (--retry-failed runs them)") + f" -> {root}")
    return todo, rows, line


def sweep_run(spec: str | Path | Spec, out: str | Path | None = None, *, backend: str = "local",
              workers: int | None = None, threads: int | str = 1, address: str | None = None,
              retry_failed: bool = False, dry_run: bool = False,
              log: Callable[[str], None] | None = None) -> dict:
    """Run every point of ``spec`` (a TOML path or a parsed Spec) that is not finished; a re-run skips done ones.

    ``threads`` is each local worker's torch threads, or ``"auto"``: the idle cores shared among the
    ``workers`` (:func:`symreg.train.hardware.resolve_threads`). ``log`` receives one line for the plan,
    each retry and each trial's start and finish. Returns ``{"sweep", "root", "dry_run", "points": [state and
    action per point], "ran": count of trials run, "counts": {done, failed,
    interrupted} of those, "ok": every point done}``. With ``dry_run`` nothing is
    written or run. Ctrl-C raises :class:`SweepInterrupted` once the workers have
    checkpointed.
    """
    from symreg.experiments.backends import Tally, default_workers, import_ray, run_local, run_ray
    from symreg.experiments.sweeps import prepare, prepare_retry
    from symreg.train.hardware import parse_threads, resolve_threads

    say = log or (lambda line: None)
    if workers is not None and workers < 1:
        raise UsageError(f"--workers {workers} must be at least 1.")
    parse_threads(threads)
    if backend not in ("local", "ray"):
        raise UsageError(f"Backend {backend!r} is not one of local, ray.")
    if address and backend != "ray":
        raise UsageError("--address is for --backend ray.")
    workers = workers or default_workers()
    threads = resolve_threads(threads, processes=workers)  # "auto": the idle cores, shared among the workers
    spec = spec if isinstance(spec, Spec) else load_spec(spec)
    root = sweep_dir(spec, out)
    if backend == "ray":
        import_ray()  # fail now, before anything is written
    points = prepare(root, spec, write=False)  # every check, before anything is written
    if dry_run:
        _, rows, line = _plan(spec, root, points, retry_failed)
        say(line)
        return {"sweep": spec.name, "root": str(root), "dry_run": True, "points": rows, "ran": 0,
                "counts": {"done": 0, "failed": 0, "interrupted": 0}, "ok": all(r["state"] == "done" for r in rows)}
    root.mkdir(parents=True, exist_ok=True)
    with sweep_lock(root):
        points = prepare(root, spec)
        todo, rows, line = _plan(spec, root, points, retry_failed)
        say(line)
        for p, row in zip(points, rows):
            if row["action"] == "run" and row["state"] == "failed":
                say(f"retry {p.name}: {prepare_retry(root, p)}")
        tally = Tally(len(todo), say)
        try:
            if backend == "ray":
                run_ray(root, todo, address, workers, tally)
            else:
                run_local(root, todo, workers, tally, threads)
        except KeyboardInterrupt as err:
            raise SweepInterrupted(root) from err
    finals = [{**point_state(root, p), "action": row["action"], "epochs": row["epochs"]}
              for p, row in zip(points, rows)]
    return {"sweep": spec.name, "root": str(root), "dry_run": False, "points": finals, "ran": len(todo),
            "counts": dict(tally.counts), "ok": all(r["state"] == "done" for r in finals)}


def sweep_status(root: str | Path) -> dict:
    """Per point: done, running, failed (with the error), interrupted or pending; counts; the driver, if any.

    Returns ``{"sweep", "driver", "counts", "points"}`` (what ``sweep status --json`` prints).
    """
    root = Path(root)
    name = read_sweep(root)["name"]
    rows = [point_state(root, p) for p in sweep_points(root)]
    counts = {s: sum(r["state"] == s for r in rows) for s in STATES}
    return {"sweep": name, "driver": sweep_lock(root).holder(), "counts": counts, "points": rows}


def sweep_summary(root: str | Path) -> dict:
    """Diagnose every finished point's runs; write SWEEP/summary.{md,json} and SWEEP/plots/.

    Returns what ``summary.json`` holds: ``{"sweep", "rows" (per task and method:
    seeds solved, median, IQR and range of epochs to generalize, speed-up),
    "notes", "plots", "events"}``.
    """
    from symreg.diagnose.phases import events
    from symreg.experiments.comparison import summarize, table
    from symreg.runs.criterion import describe_thresholds, thresholds_of
    from symreg.runs.reading import load_runs
    from symreg.runs.rundir import write_json
    from symreg.util.tables import markdown_table

    root = Path(root)
    name, points = read_sweep(root)["name"], sweep_points(root)
    runs, evs, rows, notes, groups = {}, {}, [], [], {}
    for p in points:
        st = point_state(root, p)
        if st["state"] != "done":
            notes.append(f"{p.name}: {st['state']}" + (f" ({st['message']})" if st["message"] else "")
                         + "; not in the table")
            continue
        runs[p.name] = sorted(load_runs([root / p.name])[0], key=lambda r: r.config["seed"])
        evs[p.name] = [events(r) for r in runs[p.name]]  # each run judged by its own generalize_acc
        groups.setdefault(p.group, {})[p.method] = evs[p.name]
    for group, by_method in groups.items():
        gen = {m: [e["generalization"] for e in es] for m, es in by_method.items()}
        for r in summarize(gen):
            mem = [e["memorization"] for e in by_method[r["method"]] if e["memorization"] is not None]
            rows.append({"group": group, **r, "memorized_median": statistics.median(mem) if mem else None})
    plots = _plots(root, points, runs, notes)
    level = describe_thresholds(thresholds_of([r for rs in runs.values() for r in rs]))
    lines = [["task"] + table([])[0]]
    for group in groups:
        lines += [[group] + line for line in table([r for r in rows if r["group"] == group])[1:]]
    md = [f"# Sweep {name}: epochs to test accuracy >= {level}", "",
          "Over finished points; a seed that never generalizes counts as infinity in the median; "
          "speed-up = baseline median / method median, within the same task and parameters.", "",
          markdown_table(lines)]
    md += [""] + [f"- {n}" for n in notes] + [""] + [f"![{k}]({v})" for k, v in plots.items()] + [""]
    (root / "summary.md").write_text("\n".join(md))
    summary = {"sweep": name, "rows": rows, "notes": notes, "plots": plots, "events": evs}
    write_json(root / "summary.json", summary)
    return summary


def _plots(root: Path, points, runs: dict, notes: list) -> dict:
    """One test-accuracy figure per task (methods as lines) and per method (tasks as lines)."""
    try:
        from symreg.plots.dynamics import plot_test_accuracy
    except ImportError as err:
        notes.append(f"no plots: symreg.plots.dynamics is not available ({err})")
        return {}
    done = [p for p in points if p.name in runs]
    out = {}
    for key, label_of, prefix in (("group", lambda p: p.method, "task"), ("method", lambda p: p.group, "method")):
        for value in dict.fromkeys(getattr(p, key) for p in done):
            by_label = {label_of(p): runs[p.name] for p in done if getattr(p, key) == value}
            path = root / "plots" / f"{prefix}-{slug(value)}.png"
            path.parent.mkdir(exist_ok=True)
            out[f"{prefix} {value}"] = str(plot_test_accuracy(by_label, path).relative_to(root))
    return out
