"""Sweeps: a TOML spec -> a grid of trials -> one batch directory per trial.

A spec (``symreg sweep run SPEC.toml``)::

    name = "paper-cpu"          # default: the file's stem; the default --out is runs/sweep-NAME
    preset = "quick"            # "paper" or "quick": each task's own defaults [default: quick]
    seeds = "0-4"               # "0-4", "1,5,9", a list [0, 1] or one integer [default: "0-4"]
    methods = ["baseline", "sym:commutativity"]   # as in `symreg compare` [default: ["baseline"]]
    [train]                     # any TrainConfig field, for every task
    eval_every = 50
    model_sizes = { d_model = 32, n_heads = 2, d_head = 16, d_mlp = 64 }
    [[task]]                    # one or more
    name = "mod_add"            # a registered task
    params = { p = [97, 113] }  # task parameters over the preset's; a list is a grid axis
    label = "wd0"               # optional, appended to the point name (two entries, same task)
    preset = "paper"            # optional per-task override, as are seeds and methods
    [task.train]                # per-task TrainConfig overrides (a key replaces the [train] one)
    weight_decay = 0.0

The grid is, per ``[[task]]``, the product of its list-valued params, times its
methods (with the learning-rate-matched baseline ``compare`` adds for GrokFast).
Each point trains all its seeds as one batch in ``SWEEP/TASK-PARAMS[-LABEL]/METHOD``
(e.g. ``mod_add-p97/sym_commutativity``); ``SWEEP/sweep.json`` holds the plan and
the spec. A re-run skips finished points, resumes interrupted ones and refuses a
spec that changes an existing point. A trial that raises, reports a NaN or
infinite train loss, or whose worker dies leaves ``POINT/failed.json`` and is
retried only with ``--retry-failed`` (resuming from its last checkpoint when
every seed has one, else after moving the old directory aside to
``POINT.attempt-N``; nothing is deleted).

Planning refuses, before any task is built: a grid of more than 10,000 points
or a point of more than 10,000 seeds (``SYMREG_MAX_POINTS``,
``SYMREG_MAX_SEEDS``), and a point whose training would not fit in memory
(:mod:`symreg.limits`; ``SYMREG_MEMORY_LIMIT_GB``) -- a dry run included.
"""
from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import os
import re
import socket
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from symreg.errors import SymregError, UsageError, unknown
from symreg.runs.rundir import RunDir, read_json, run_paths, write_json
from symreg.train.config import train_differences

SPEC_KEYS = ("name", "preset", "seeds", "methods", "train", "task")
TASK_KEYS = ("name", "params", "label", "preset", "seeds", "methods", "train")
PRESETS = ("paper", "quick")
STATES = ("done", "running", "failed", "interrupted", "pending")


@dataclass
class Point:
    """One trial: a task with parameters, a method, its seeds and its full training config."""

    name: str  # "mod_add-p97/sym_commutativity": the directory under the sweep
    task: str
    params: dict
    method: str
    seeds: list
    preset: str
    train: dict  # asdict(TrainConfig) with the method applied
    label: str = ""

    @property
    def group(self) -> str:
        return self.name.split("/")[0]


@dataclass
class Spec:
    name: str
    source: str
    text: str
    data: dict
    points: list = field(default_factory=list)


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(text)).strip("_")


def point_name(task: str, params: dict, method: str, label: str = "") -> str:
    """The directory of a point, from its content only.

    >>> point_name("mod_add", {"p": 97}, "sym:commutativity")
    'mod_add-p97/sym_commutativity'
    >>> point_name("graph_grid2d", {"rows": 5, "cols": 5}, "baseline@lr*3", "wd0")
    'graph_grid2d-rows5-cols5-wd0/baseline_lr_3'
    """
    def fmt(v):
        return str(v).lower() if isinstance(v, bool) else f"{v:g}" if isinstance(v, float) else slug(v)
    group = "-".join([task] + [f"{slug(k)}{fmt(v)}" for k, v in params.items()] + ([label] if label else []))
    return f"{group}/{slug(method)}"


# --- the spec ------------------------------------------------------------------------
def load_spec(path) -> Spec:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise UsageError(f"Cannot read sweep spec {path} ({err.strerror}).") from None
    return parse_spec(text, str(path), default_name=path.stem)


def parse_spec(text: str, source: str = "spec", default_name: str = "sweep") -> Spec:
    """Parse and validate a spec, and expand it into points (every task and method checked)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise UsageError(f"{source}: not valid TOML ({err}).") from None
    try:
        return Spec(_name(data, default_name), source, text, data, plan(data))
    except SymregError as err:
        raise UsageError(f"{source}: {err}") from None


def _keys(table, allowed, where: str) -> None:
    if not isinstance(table, dict):
        raise UsageError(f"{where} must be a table, not {table!r}.")
    for key in table:
        if key not in allowed:
            raise unknown(f"key in {where}", key, allowed)


def _name(data: dict, default: str) -> str:
    name = data.get("name", default)
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise UsageError(f"name = {name!r} must be a string of letters, digits, '_', '.' and '-'.")
    return name


def _seeds(value, where: str) -> list[int]:
    from symreg.util.parsing import parse_seeds

    if isinstance(value, str):
        try:
            return parse_seeds(value)
        except UsageError as err:
            raise UsageError(f"{where}seeds: {err}") from None
    items = [value] if isinstance(value, int) and not isinstance(value, bool) else value
    if (isinstance(items, list) and items and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0
                                                  for s in items) and len(set(items)) == len(items)):
        return list(items)
    raise UsageError(f"{where}seeds = {value!r} must be like \"0-4\", \"1,5,9\", a list of distinct "
                     f"non-negative integers or one integer.")


def _train(table, where: str) -> dict:
    from symreg.train.config import TrainConfig

    names = {f.name: f for f in fields(TrainConfig)}
    _keys(table, names, where)
    defaults = asdict(TrainConfig())
    for key, value in table.items():
        want = type(defaults[key])
        ok = (isinstance(value, bool) if want is bool else
              isinstance(value, (int, float)) and not isinstance(value, bool) if want is float else
              isinstance(value, want) and not isinstance(value, bool))
        if not ok:
            raise UsageError(f"{where} {key} = {value!r} must be of type {want.__name__}.")
    return dict(table)


def _methods(value, where: str) -> list[str]:
    if not (isinstance(value, list) and value and all(isinstance(m, str) and m for m in value)):
        raise UsageError(f"{where}methods = {value!r} must be a non-empty list of method strings "
                         f"such as [\"baseline\", \"sym:commutativity\", \"grokfast\"].")
    return value


def _preset(value, where: str) -> str:
    if value not in PRESETS:
        raise UsageError(f"{where}preset = {value!r} is not one of {', '.join(PRESETS)}.")
    return value


def plan(data: dict) -> list[Point]:
    """Every point of a spec (already parsed from TOML), in spec order."""
    from symreg.experiments.comparison import configure, expand_methods
    from symreg.limits import check_points, check_seeds, check_training
    from symreg.presets import resolve
    from symreg.registry import task_entries
    from symreg.train.config import TrainConfig

    _keys(data, SPEC_KEYS, "the spec")
    preset = _preset(data.get("preset", "quick"), "")
    seeds = _seeds(data.get("seeds", "0-4"), "")
    methods = _methods(data.get("methods", ["baseline"]), "")
    train = _train(data.get("train", {}), "[train]")
    tasks = data.get("task")
    if isinstance(tasks, dict):
        raise UsageError("task must be an array of tables: write [[task]], not [task].")
    if not (isinstance(tasks, list) and tasks):
        raise UsageError("The spec has no [[task]] table; add one with at least name = \"TASK\".")
    entries, groups = task_entries(), []
    for i, t in enumerate(tasks, 1):  # every entry checked, and the grid counted, before any task is built
        where = f"[[task]] #{i}"
        _keys(t, TASK_KEYS, where)
        name = t.get("name")
        if not isinstance(name, str):
            raise UsageError(f"{where} needs name = \"TASK\" (a registered task).")
        if name not in entries:
            raise unknown(f"task in {where}", name, entries)
        where = f"[[task]] #{i} ({name}): "
        chosen = _preset(t.get("preset", preset), where)
        own_seeds = _seeds(t["seeds"], where) if "seeds" in t else seeds
        check_seeds(len(own_seeds), where)
        own_methods = _methods(t["methods"], where) if "methods" in t else methods
        own_train = {**train, **_train(t.get("train", {}), f"[task.train] of {where[:-2]}")}
        label = t.get("label", "")
        if not isinstance(label, str) or (label and slug(label) != label):
            raise UsageError(f"{where}label = {label!r} must be letters, digits, '_', '.' and '-'.")
        params = t.get("params", {})
        _keys(params, entries[name].obj.parameters, f"params of {where[:-2]}")
        axes = {k: (v if isinstance(v, list) else [v]) for k, v in params.items()}
        for k, v in axes.items():
            if not v:
                raise UsageError(f"{where}params {k} = [] is empty; give at least one value.")
        groups.append((where, name, chosen, own_seeds, own_methods, own_train, label, axes))
    check_points(sum(math.prod(len(v) for v in g[-1].values()) * len(g[4]) for g in groups))
    points, owner = [], {}
    for where, name, chosen, own_seeds, own_methods, own_train, label, axes in groups:
        for combo in itertools.product(*axes.values()):
            setup = resolve(name, dict(zip(axes, combo)), chosen, own_train)  # refuses a domain too large
            task, base = setup.task, TrainConfig.from_setup(setup)
            for method in expand_methods(task, own_methods, base):
                cfg = configure(task, method, base).validate()
                check_training(task, cfg, len(own_seeds))  # what the point's batch would hold
                pt = Point(point_name(name, task.params, method, label), name, dict(task.params), method,
                           own_seeds, chosen, json.loads(json.dumps(asdict(cfg))), label)
                if pt.name in owner:
                    raise UsageError(f"{owner[pt.name]} and {where[:-2]} both give point {pt.name}; "
                                     f"give one of them a distinct label = \"...\".")
                owner[pt.name] = where[:-2]
                points.append(pt)
    return points


# --- the sweep directory -------------------------------------------------------------
def read_sweep(root) -> dict:
    root = Path(root)
    if not (root / "sweep.json").exists():
        raise UsageError(f"{root} is not a sweep directory (no sweep.json); start one with symreg sweep run SPEC.")
    return read_json(root / "sweep.json")


def sweep_points(root) -> list[Point]:
    return [Point(**p) for p in read_sweep(root)["points"]]


def _differences(old: dict, new: dict) -> list[str]:
    out = [f"{k} {old.get(k)!r} -> {new.get(k)!r}" for k in ("task", "params", "method", "seeds", "preset")
           if old.get(k) != new.get(k)]
    return out + train_differences(old.get("train", {}), new["train"])


def prepare(root, spec: Spec, write: bool = True) -> list[Point]:
    """Check ``spec`` against what the sweep directory holds, then record it (plan + spec)."""
    root = Path(root)
    now = dt.datetime.now().isoformat(timespec="seconds")
    entry = {"source": spec.source, "text": spec.text, "data": spec.data, "at": now}
    if (root / "sweep.json").exists():
        sweep = read_sweep(root)
        old = {p["name"]: p for p in sweep["points"]}
        for pt in spec.points:
            diff = old.get(pt.name) and _differences(old[pt.name], asdict(pt))
            if diff:
                raise UsageError(f"Point {pt.name} of {spec.source} differs from the one already in {root} "
                                 f"({'; '.join(diff)}); use another --out, or a label to make it a new point.")
        merged = {**old, **{p.name: asdict(p) for p in spec.points}}
        sweep["points"] = list(merged.values())
        if sweep["specs"][-1]["text"] != spec.text:
            sweep["specs"].append(entry)
        sweep["updated"] = now
    else:
        if root.exists() and any(p.name != ".sweep.lock" for p in root.iterdir()):
            raise UsageError(f"{root} exists, is not empty and holds no sweep.json; choose another --out.")
        from symreg import __version__
        sweep = {"name": spec.name, "created": now, "updated": now, "symreg_version": __version__,
                 "specs": [entry], "points": [asdict(p) for p in spec.points]}
    if write:
        root.mkdir(parents=True, exist_ok=True)
        write_json(root / "sweep.json", sweep)
    return spec.points


def point_state(root, pt: Point) -> dict:
    """done / running (a seed is locked) / failed (failed.json) / interrupted / pending, and why."""
    d = Path(root) / pt.name
    paths = run_paths(d)
    statuses = [RunDir(p).status for p in paths]
    done = sum(s.get("state") == "done" for s in statuses)
    info = {"point": pt.name, "seeds": len(pt.seeds), "seeds_done": done,
            "epoch": max((s.get("epoch", 0) for s in statuses), default=None), "message": ""}
    if any(RunDir(p).is_locked() for p in paths):
        return {**info, "state": "running"}
    if (d / "failed.json").exists():
        f = read_json(d / "failed.json")
        return {**info, "state": "failed", "message": f"{f.get('kind', 'error')}: {f.get('error', '?')}"}
    if not paths:
        return {**info, "state": "pending"}
    if done == len(pt.seeds) == len(paths):
        return {**info, "state": "done"}
    return {**info, "state": "interrupted", "message": f"at epoch {info['epoch']}"}


def record_failure(root, pt: Point, kind: str, error: str, **extra) -> None:
    d = Path(root) / pt.name
    d.mkdir(parents=True, exist_ok=True)
    write_json(d / "failed.json", {"point": pt.name, "kind": kind, "error": error,
                                   "at": dt.datetime.now().isoformat(timespec="seconds"),
                                   "host": socket.gethostname(), **extra})


def prepare_retry(root, pt: Point) -> str:
    """Clear a failed point for another try without deleting anything; says what it did."""
    d = Path(root) / pt.name
    paths = run_paths(d)
    if paths and all(RunDir(p).has_checkpoint("last") for p in paths):
        n = next(i for i in itertools.count(1) if not (d / f"failed-{i}.json").exists())
        os.replace(d / "failed.json", d / f"failed-{n}.json")
        return f"resuming (old error kept in failed-{n}.json)"
    aside = next(a for i in itertools.count(1) if not (a := d.with_name(f"{d.name}.attempt-{i}")).exists())
    os.replace(d, aside)
    return f"starting afresh (old attempt moved to {aside.name})"
