"""Compare ways of making a task generalize sooner, over seeds, against a baseline.

A method string names what changes from the baseline configuration:

- ``baseline``: the configuration as given;
- ``sym:NAME`` / ``geom:NAME``: one auxiliary loss (``symreg.train.auxiliary``);
  join several with ``+`` (``sym:commutativity+sym:associativity`` is the
  paper's "consistency");
- ``grokfast`` or ``grokfast:ema`` / ``grokfast:ma``: the gradient filter. It
  changes the effective step size, so a learning-rate-matched baseline
  (``baseline@lr*K`` with K = 1 + lamb) is added automatically;
- ``augment`` / ``augment:NAME``: train on the closure of the split under all
  (or the named) symmetries; test accuracy is also reported inside and outside
  the closure;
- ``baseline@lr*K``: the baseline with the learning rate multiplied by K (a
  positive number, such as 3 or 0.5).

Each method trains all seeds as one batch; "epochs to generalize" is the first
evaluation with test accuracy >= the run's ``generalize_acc`` (0.99 unless set;
:mod:`symreg.runs.criterion`), per seed; runs that never get there are
counted, not dropped, and the median is taken over seeds with infinity for them.
"""
from __future__ import annotations

import datetime as dt
import math
import re
import statistics
from dataclasses import replace
from pathlib import Path
from typing import Callable

from symreg.errors import UsageError, unknown
from symreg.limits import check_training
from symreg.presets import Params, resolve
from symreg.registry import get_symmetries
from symreg.train.config import GEOMETRY, OPERATIONAL, TrainConfig, train_differences
from symreg.util.parsing import seed_list
from symreg.util.tables import fmt_epoch


def method_names(task) -> list[str]:
    """The valid method strings for ``task`` (singletons; ``+`` combines them)."""
    syms = [s.name for s in get_symmetries(task)]
    return (["baseline", "grokfast", "grokfast:ema", "grokfast:ma", "augment"]
            + [f"sym:{s}" for s in syms] + [f"geom:{g}" for g in GEOMETRY]
            + [f"augment:{s}" for s in syms])


LR_MATCHED = "baseline@lr*"  # + K
FORMS = "baseline, baseline@lr*K, sym:NAME, geom:NAME, grokfast[:ema|:ma], augment[:NAME], joined with +"


def lr_factor(method: str) -> float:
    """K of ``baseline@lr*K``: a finite positive number.

    >>> lr_factor("baseline@lr*3"), lr_factor("baseline@lr*0.5")
    (3.0, 0.5)
    >>> lr_factor("baseline@lr*1.2.3")
    Traceback (most recent call last):
    ...
    symreg.errors.UsageError: Method 'baseline@lr*1.2.3': the learning-rate factor '1.2.3' must be a positive \
number, as in baseline@lr*3 (method forms: baseline, baseline@lr*K, sym:NAME, geom:NAME, grokfast[:ema|:ma], \
augment[:NAME], joined with +).
    """
    text = method[len(LR_MATCHED):]
    try:
        k = float(text) if re.fullmatch(r"[0-9.eE+-]+", text) else math.nan
    except ValueError:
        k = math.nan
    if not (math.isfinite(k) and k > 0):
        raise UsageError(f"Method {method!r}: the learning-rate factor {text!r} must be a positive number, "
                         f"as in baseline@lr*3 (method forms: {FORMS}).")
    return k


def configure(task, method: str, base: TrainConfig) -> TrainConfig:
    """The training configuration of ``method``, derived from ``base`` (not yet validated)."""
    if method.startswith(LR_MATCHED):
        return replace(base, lr=base.lr * lr_factor(method))
    valid = method_names(task)
    cfg = replace(base, aux=list(base.aux))
    for part in method.split("+"):
        if part not in valid:
            raise unknown(f"method for task '{task.name}'", part, [*valid, "baseline@lr*K"])
        kind, _, name = part.partition(":")
        if kind in ("sym", "geom"):
            cfg.aux.append(part)
        elif kind == "grokfast":
            cfg.grokfast = name or "ema"
        elif kind == "augment":
            cfg.augment = [name] if name else ["all"]
    return cfg


def expand_methods(task, methods: list[str], base: TrainConfig) -> list[str]:
    """Methods as given, plus the learning-rate-matched baseline GrokFast calls for."""
    if not methods:
        raise UsageError("Give at least one method, e.g. --methods baseline,sym:commutativity.")
    out = list(dict.fromkeys(methods))
    for m in methods:
        configure(task, m, base).validate(task)  # check every method before any training
    if any(p.startswith("grokfast") for m in methods for p in m.split("+")):
        matched = f"baseline@lr*{1 + base.grokfast_lamb:g}"
        if matched not in out:
            out.append(matched)
    return out


def summarize(results: dict[str, list[int | None]], baseline: str = "baseline",
              cap: int | None = None) -> list[dict]:
    """Per method: epochs to generalize per seed, median, quartiles, never, speed-up.

    A run that never generalized counts as infinitely slow. When a median is
    infinite and ``cap`` (the epochs each run was allowed) is known, the
    speed-up is still bounded, since a median only grows when a "never" becomes
    a finite count of at least ``cap``: with "never" read as ``cap``, the ratio
    is a lower bound when the baseline's median never came, an upper bound when
    the method's never came; ``speedup_bound`` says which (``">"`` or ``"<"``).

    >>> rows = summarize({"baseline": [100, 200, None], "fast": [10, 20, 30]})
    >>> rows[1]["median"], rows[1]["speedup"], rows[0]["never"]
    (20, 10.0, 1)
    >>> rows = summarize({"baseline": [None, None, 900], "fast": [10, 20, 30]}, cap=4000)
    >>> rows[1]["speedup"], rows[1]["speedup_bound"]
    (200.0, '>')
    """
    def med(xs):
        vals = sorted(math.inf if x is None else x for x in xs)
        return statistics.median(vals) if vals else None

    base = med(results.get(baseline, []))
    rows = []
    for method, epochs in results.items():
        solved = sorted(e for e in epochs if e is not None)
        m = med(epochs)
        speedup, bound = None, None
        if base not in (None, math.inf) and m not in (None, math.inf, 0):
            speedup = round(base / m, 3)
        elif cap and base == math.inf and m not in (None, math.inf, 0):
            speedup, bound = round(med(_at_least(results[baseline], cap)) / m, 3), ">"
        elif cap and m == math.inf and base not in (None, math.inf):
            speedup, bound = round(base / med(_at_least(epochs, cap)), 3), "<"
        rows.append({
            "method": method, "epochs": epochs, "solved": len(solved), "never": len(epochs) - len(solved),
            "median": None if m in (None, math.inf) else m,
            "min": solved[0] if solved else None, "max": solved[-1] if solved else None,
            "quartiles": quartiles(epochs), "speedup": speedup, "speedup_bound": bound,
        })
    return rows


def _at_least(epochs, cap):
    return [cap if e is None else e for e in epochs]


def quartiles(epochs):
    """First and third quartiles (inclusive method), "never" counting as infinity.

    >>> quartiles([1050, 2275, None, None, None])
    [2275, None]
    """
    vals = sorted(math.inf if x is None else x for x in epochs)
    if len(vals) < 2:
        return None

    def at(q):  # linear interpolation, without inf - inf = nan
        pos = q * (len(vals) - 1)
        lo, frac = int(pos), pos - int(pos)
        if frac == 0:
            return vals[lo]
        hi = vals[lo + 1]
        return math.inf if math.inf in (vals[lo], hi) else vals[lo] + frac * (hi - vals[lo])

    return [None if math.isinf(v) else v for v in (at(0.25), at(0.75))]


def table(rows: list[dict]) -> list[list[str]]:
    out = [["method", "solved", "median epochs", "IQR", "range", "speed-up"]]
    for r in rows:
        q = r["quartiles"]
        iqr = "-" if not q else f"{fmt_epoch(q[0])}-{fmt_epoch(q[1])}"
        rng = "-" if r["min"] is None else f"{r['min']}-{r['max']}"
        out.append([r["method"], f"{r['solved']}/{r['solved'] + r['never']}", fmt_epoch(r["median"]), iqr, rng,
                    "-" if r["speedup"] is None else f"{r.get('speedup_bound') or ''}{r['speedup']:.2f}x"])
    return out


def settings_mismatch(config: dict, task, cfg: TrainConfig) -> str | None:
    """Why an existing method directory cannot be continued as asked, or None.

    Operational settings (a longer epoch cap, another device) may change.

    >>> from symreg import get_task
    >>> task, cfg = get_task("mod_add", p=7), TrainConfig()
    >>> old = {"task": "mod_add", "params": {"p": 5}, "train": {**cfg.__dict__, "epochs": 1}}
    >>> settings_mismatch(old, task, cfg)
    "params {'p': 5} -> {'p': 7}"
    """
    diff = [f"{k} {config.get(k)!r} -> {now!r}" for k, now in (("task", task.name), ("params", task.params))
            if config.get(k) != now]
    diff += train_differences(config.get("train", {}), cfg.__dict__, ignore=OPERATIONAL)
    return "; ".join(diff) or None


def slug(method: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", method)


def out_dirs(root: Path, methods: list[str]) -> dict[str, Path]:
    return {m: root / slug(m) for m in methods}


def _seeds_text(seeds) -> str:
    return seeds if isinstance(seeds, str) else ",".join(str(s) for s in seed_list(seeds))


def compare(task, methods, params: Params = None, preset: str = "quick", seeds="0-4",
            out: str | Path | None = None, progress: Callable | None = None,
            on_method: Callable[[str], None] | None = None, **settings) -> dict:
    """Train ``task`` with each method over ``seeds``; epochs to generalization per method, and speed-ups.

    ``methods`` is a list (or a comma-separated text) of method strings (see
    the module); ``settings`` are TrainConfig fields over the preset's (each
    seed stops once it generalizes unless ``stop_on_generalize=False``). Each
    method's seeds train as one batch in ``out/METHOD``; a re-run with the same
    ``out`` skips finished methods, resumes interrupted ones and refuses other
    settings. ``progress`` is called at each evaluation, ``on_method(method)``
    before a method trains. Writes ``compare.json`` (the returned summary:
    task, params, preset, seeds, base_config, methods (:func:`summarize` rows),
    figure), ``compare.md`` and ``test_accuracy.png`` (the ``figure``, in ``out``).
    """
    from symreg.plots.dynamics import plot_test_accuracy
    from symreg.runs.reading import load_runs
    from symreg.runs.rundir import run_paths, write_json
    from symreg.train.trainer import Trainer
    from symreg.util.tables import markdown_table

    setup = resolve(task, params, preset, {"stop_on_generalize": True, **settings})
    task, base = setup.task, TrainConfig.from_setup(setup)
    seed_nums = seed_list(seeds)
    names = [m.strip() for m in (methods.split(",") if isinstance(methods, str) else methods) if m.strip()]
    method_list = expand_methods(task, names, base)
    for method in method_list:  # seeds and memory of every method (symreg.limits), before anything is written
        check_training(task, configure(task, method, base), len(seed_nums))
    root = Path(out) if out else Path("runs") / f"compare-{task.name}-{dt.datetime.now():%Y%m%d-%H%M%S}"
    root.mkdir(parents=True, exist_ok=True)
    dirs = out_dirs(root, method_list)
    results = {}
    for method in method_list:
        cfg = configure(task, method, base)
        d = dirs[method]
        trainer = None
        if run_paths(d):
            runs, _ = load_runs([d])
            why = next((w for r in runs if (w := settings_mismatch(r.config, task, cfg))), None)
            if why is None and sorted(r.config["seed"] for r in runs) != sorted(seed_nums):
                why = f"seeds {sorted(r.config['seed'] for r in runs)} (now {seed_nums})"
            if why:
                raise UsageError(f"{d} holds runs made with {why}; choose another --out.")
            if not (runs and all(r.status.get("state") == "done" for r in runs) and len(runs) == len(seed_nums)):
                trainer = Trainer.resume(d)
        else:
            trainer = Trainer.fresh(task, cfg, seed_nums, d)
        if trainer is not None:
            if on_method:
                on_method(method)
            trainer.progress = progress
            trainer.run()
        runs, _ = load_runs([d])
        results[method] = [r.status.get("generalized_epoch") for r in sorted(runs, key=lambda r: r.config["seed"])]
    rows = summarize(results, cap=base.epochs)
    runs_by_method = {m: load_runs([dirs[m]])[0] for m in method_list}
    figure = plot_test_accuracy(runs_by_method, root / "test_accuracy.png")
    summary = {"task": task.name, "params": task.params, "preset": preset, "seeds": seed_nums,
               "base_config": base.__dict__, "methods": rows, "figure": str(figure)}
    write_json(root / "compare.json", summary)
    args = ", ".join(f"{k}={v}" for k, v in task.params.items())
    md = [f"# {task.name}{f' ({args})' if args else ''}: epochs to test accuracy >= {base.generalize_acc:g}, "
          f"seeds {_seeds_text(seeds)}", "", markdown_table(table(rows)), "", f"![test accuracy]({figure.name})", ""]
    (root / "compare.md").write_text("\n".join(md))
    return summary
