"""Which declared symmetries a command may use: the ones that verify for the task's parameters.

Any plugin can declare a symmetry for any task, so a false one must not reach
training, augmentation or the early warning unnoticed. Commands that *use*
symmetries without naming them (violation metrics, ``augment`` with all
symmetries, ``compare``'s ``augment``) take :func:`trusted_symmetries`: each
symmetry is verified against the task's oracle (what ``symreg verify`` does,
with its default settings) and one that fails is left out with a one-line
:class:`~symreg.errors.SymregWarning` naming it and its plugin. A symmetry the
user names (``--aux sym:NAME``, ``--augment NAME``) is used even so, with the
same warning.

Verdicts are cached on disk, one small JSON file per fingerprint (task name,
version and parameters; the symmetry, its generators and the versions of the
plugins and of symreg), under ``$SYMREG_CACHE_DIR`` (default
``$XDG_CACHE_HOME/symreg`` or ``~/.cache/symreg``), so the check costs nothing
after the first time. ``symreg verify`` always checks afresh and refreshes the
cache; ``SYMREG_CACHE_DIR=off`` turns caching off.

>>> from symreg.registry import get_task
>>> [s.name for s in trusted_symmetries(get_task("mod_add", p=5))]
['commutativity', 'translation', 'scaling', 'associativity']
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Mapping

import numpy as np

from symreg import __version__
from symreg.errors import SymregWarning
from symreg.plugins import distributions
from symreg.registry import get_symmetries, task_entries
from symreg.symmetry.base import MAX_EXHAUSTIVE, Symmetry, Verdict

if TYPE_CHECKING:
    from symreg.task import Task

SETTINGS = {"max_exhaustive": MAX_EXHAUSTIVE, "samples": 2000, "seed": 0}
"""What a use-time check runs with: ``symreg verify``'s defaults, so both share the cache."""


def cache_dir(env: Mapping[str, str] = os.environ) -> Path | None:
    """Where verdicts are cached, or None when ``SYMREG_CACHE_DIR=off``.

    >>> cache_dir({"SYMREG_CACHE_DIR": "/tmp/c"}).as_posix(), cache_dir({"SYMREG_CACHE_DIR": "off"})
    ('/tmp/c/verified', None)
    """
    given = env.get("SYMREG_CACHE_DIR")
    if given is not None:
        return None if given.strip().lower() in ("", "off", "0", "none") else Path(given) / "verified"
    base = env.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "symreg" / "verified"


def fingerprint(task: "Task", sym: Symmetry, settings: dict = SETTINGS) -> str:
    """A hash of everything a verdict depends on: the task, the symmetry, the code that made both.

    >>> from symreg.registry import get_task, get_symmetry
    >>> task = get_task("mod_add", p=5)
    >>> fingerprint(task, get_symmetry(task, "translation")) == fingerprint(task, get_symmetry(task, "scaling"))
    False
    """
    h = hashlib.sha256()
    owner = task_entries().get(task.name)  # None for a task class built but not registered
    plugins = {p: distributions.get(p, (None, None))[1] for p in (owner and owner.plugin, sym.plugin) if p}
    head = {"task": task.name, "version": task.version, "params": task.params, "class": type(task).__qualname__,
            "symmetry": [sym.name, sym.kind, type(sym).__qualname__, sym.description, sym.plugin],
            "plugins": plugins, "symreg": __version__, "settings": settings}
    h.update(json.dumps(head, sort_keys=True, default=repr).encode())
    for g in getattr(sym, "generators", None) or []:  # a group action is its generators
        h.update(np.asarray(getattr(g, "array_form", g), dtype=np.int64).tobytes())
    return h.hexdigest()[:32]


def _path(task: "Task", sym: Symmetry, settings: dict) -> Path | None:
    root = cache_dir()
    return None if root is None else root / f"{task.name}-{fingerprint(task, sym, settings)}.json"


def cached(task: "Task", sym: Symmetry, settings: dict = SETTINGS) -> dict | None:
    """The cached verdict of ``sym`` on ``task`` (``ok``, ``method``, ``counterexample``), or None."""
    path = _path(task, sym, settings)
    try:
        got = json.loads(path.read_text()) if path is not None else None
    except (OSError, ValueError):  # absent, unreadable or damaged: verify again
        return None
    return got if isinstance(got, dict) and isinstance(got.get("ok"), bool) else None


def record(task: "Task", sym: Symmetry, verdict: Verdict, settings: dict = SETTINGS) -> None:
    """Cache ``verdict`` (atomically; a cache that cannot be written is skipped, never an error)."""
    path = _path(task, sym, settings)
    if path is None:
        return
    data = {"task": task.name, "params": task.params, "symmetry": sym.name, "plugin": sym.plugin,
            "ok": verdict.ok, "method": verdict.method, "checked": verdict.checked,
            "counterexample": str(verdict.counterexample) if verdict.counterexample else None}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False) as f:
            json.dump(data, f, default=repr)
        os.replace(f.name, path)
    except OSError:
        pass


def check(task: "Task", sym: Symmetry) -> dict:
    """The verdict of ``sym`` on ``task`` with the default settings: from the cache, or verified now.

    >>> from symreg.registry import get_task, get_symmetry
    >>> task = get_task("mod_add", p=5)
    >>> check(task, get_symmetry(task, "commutativity"))["ok"]
    True
    """
    got = cached(task, sym)
    if got is None:
        verdict = sym.verify(task, **SETTINGS)
        record(task, sym, verdict)
        got = cached(task, sym) or {"ok": verdict.ok, "method": verdict.method,
                                    "counterexample": str(verdict.counterexample or "")}
    return got


def _warn(task: "Task", sym: Symmetry, verdict: dict, used: bool) -> None:
    what = "used because it was asked for by name" if used else "left out"
    why = (verdict.get("counterexample") or verdict.get("method") or "").removeprefix(f"symmetry {sym.name!r} fails: ")
    warnings.warn(f"symmetry {sym.name!r} of task '{task.name}' (plugin {sym.plugin}) fails verification "
                  f"({why}); {what}", SymregWarning, stacklevel=3)


def trusted_symmetries(task: "Task", symmetries: Iterable[Symmetry] | None = None, *,
                       explicit: Iterable[str] = ()) -> list[Symmetry]:
    """``symmetries`` (default: all declared) that verify on ``task``, plus those named in ``explicit``.

    Each failing one gets a one-line warning; see the module docstring.
    """
    named = set(explicit)
    out = []
    for sym in get_symmetries(task) if symmetries is None else symmetries:
        verdict = check(task, sym)
        if not verdict["ok"]:
            _warn(task, sym, verdict, sym.name in named)
        if verdict["ok"] or sym.name in named:
            out.append(sym)
    return out


def untrusted(task: "Task") -> list[dict]:
    """The declared symmetries of ``task`` that fail verification: name, plugin, why (cached verdicts)."""
    return [{"name": s.name, "plugin": s.plugin, "why": v.get("counterexample") or v.get("method")}
            for s in get_symmetries(task) if not (v := check(task, s))["ok"]]
