"""Verify tasks' declared symmetries from Python: what ``symreg verify`` does, as result dicts.

>>> results = verify_tasks(["mod_add"], {"p": 5})
>>> [(r["symmetry"], r["ok"]) for r in results]
[('commutativity', True), ('translation', True), ('scaling', True), ('associativity', True)]
"""
from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Iterable, Iterator

from symreg.errors import UsageError, unknown
from symreg.limits import check_verify
from symreg.presets import Params
from symreg.registry import get_symmetries, get_task, task_entries
from symreg.symmetry import MAX_EXHAUSTIVE
from symreg.trust import record
from symreg.util.parsing import parse_pairs


def _given(params: Params, known: set[str], where: str) -> tuple[dict, bool]:
    """The parameters as key -> value (texts untyped), whether they are texts; every key must be known."""
    if params is None:
        return {}, False
    texts = not isinstance(params, Mapping)
    raw = parse_pairs([params] if isinstance(params, str) else params, "Parameter",
                      lambda key, text: text) if texts else dict(params)
    for key in raw:
        if key not in known:
            raise unknown(f"parameter for {where}", key, known)
    return raw, texts


def iter_verify(names: Iterable[str] | None = None, params: Params = None, *, max_exhaustive: int = MAX_EXHAUSTIVE,
                samples: int = 2000, seed: int = 0) -> Iterator[dict]:
    """Check every declared symmetry of the tasks ``names`` (None: every registered task), one result at a time.

    Names, parameters, options and sizes are checked before anything is
    verified: a task whose verification would not fit in memory
    (:func:`symreg.limits.check_verify`) is refused, not sampled, since a group
    action's check is a proof over every input. ``params`` (``{"p": 7}`` or
    ``["p=7"]``) go to each task that takes them; with ``names=None`` and
    ``params``, only the tasks taking one of them are verified. Each result:
    task, params, symmetry, kind, ok, checked, method, seconds, counterexample
    (a dict, or None). Each verdict also refreshes the cache that commands
    using symmetries read (:mod:`symreg.trust`).
    """
    for option, value, least in (("--max-exhaustive", max_exhaustive, 0), ("--samples", samples, 1),
                                 ("--seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < least:
            raise UsageError(f"{option} {value!r} must be an integer of at least {least}.")
    entries = task_entries()
    every = names is None
    names = list(entries) if every else list(dict.fromkeys(names))
    for name in names:  # fail on a bad name before any work
        if name not in entries:
            get_task(name)
    known = {k for n in names for k in entries[n].obj.parameters}
    where = "any task" if every else ", ".join(repr(n) for n in names)
    raw, texts = _given(params, known, where)
    wanted = [n for n in names if not (every and raw) or set(raw) & set(entries[n].obj.parameters)]
    jobs = []
    for name in wanted:
        spec = entries[name].obj.parameters
        task = get_task(name, **{k: spec[k].parse(k, v) if texts else v for k, v in raw.items() if k in spec})
        syms = get_symmetries(task)
        check_verify(task, syms, max_exhaustive)
        jobs.append((task, syms))
    return _verify(jobs, max_exhaustive, samples, seed)


def _verify(jobs: list, max_exhaustive: int, samples: int, seed: int) -> Iterator[dict]:
    settings = {"max_exhaustive": max_exhaustive, "samples": samples, "seed": seed}
    for task, syms in jobs:
        for sym in syms:
            v = sym.verify(task, **settings)
            record(task, sym, v, settings)  # what commands that use symmetries read (symreg.trust)
            yield {"task": task.name, "params": task.params, "symmetry": v.symmetry, "plugin": sym.plugin,
                   "kind": v.kind, "ok": v.ok,
                   "checked": v.checked, "method": v.method, "seconds": round(v.seconds, 3),
                   "counterexample": vars(v.counterexample) if v.counterexample else None}


def verify_tasks(names: Iterable[str] | None = None, params: Params = None, *, max_exhaustive: int = MAX_EXHAUSTIVE,
                 samples: int = 2000, seed: int = 0) -> list[dict]:
    """Every result of :func:`iter_verify` as a list; a result with ``ok`` False names its counterexample."""
    return list(iter_verify(names, params, max_exhaustive=max_exhaustive, samples=samples, seed=seed))
