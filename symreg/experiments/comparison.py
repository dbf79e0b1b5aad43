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
- ``baseline@lr*K``: the baseline with the learning rate multiplied by K.

Each method trains all seeds as one batch; "epochs to generalize" is the first
evaluation with test accuracy >= 0.99, per seed; runs that never get there are
counted, not dropped, and the median is taken over seeds with infinity for them.
"""
from __future__ import annotations

import math
import re
import statistics
from dataclasses import replace
from pathlib import Path

from symreg.train.auxiliary import GEOMETRY
from symreg.errors import UsageError, unknown
from symreg.registry import get_symmetries
from symreg.train.config import OPERATIONAL, TrainConfig, train_differences


def method_names(task) -> list[str]:
    """The valid method strings for ``task`` (singletons; ``+`` combines them)."""
    syms = [s.name for s in get_symmetries(task)]
    return (["baseline", "grokfast", "grokfast:ema", "grokfast:ma", "augment"]
            + [f"sym:{s}" for s in syms] + [f"geom:{g}" for g in GEOMETRY]
            + [f"augment:{s}" for s in syms])


def configure(task, method: str, base: TrainConfig) -> TrainConfig:
    """The training configuration of ``method``, derived from ``base``."""
    m = re.fullmatch(r"baseline@lr\*([0-9.]+)", method)
    if m:
        return replace(base, lr=base.lr * float(m.group(1)))
    valid = method_names(task)
    cfg = replace(base, aux=list(base.aux))
    for part in method.split("+"):
        if part not in valid:
            raise unknown(f"method for task '{task.name}'", part, valid)
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
        configure(task, m, base)  # validate every name before any training
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
            "quartiles": _quartiles(epochs), "speedup": speedup, "speedup_bound": bound,
        })
    return rows


def _at_least(epochs, cap):
    return [cap if e is None else e for e in epochs]


def _quartiles(epochs):
    """First and third quartiles (inclusive method), "never" counting as infinity.

    >>> _quartiles([1050, 2275, None, None, None])
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
        iqr = "-" if not q else f"{_fmt(q[0])}-{_fmt(q[1])}"
        rng = "-" if r["min"] is None else f"{r['min']}-{r['max']}"
        out.append([r["method"], f"{r['solved']}/{r['solved'] + r['never']}", _fmt(r["median"]), iqr, rng,
                    "-" if r["speedup"] is None else f"{r.get('speedup_bound') or ''}{r['speedup']:.2f}x"])
    return out


def _fmt(x) -> str:
    return "never" if x is None else (str(int(x)) if float(x).is_integer() else f"{x:.1f}")


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
