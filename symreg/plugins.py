"""The plugin manager: entry points in group ``symreg``, loaded once, failures recorded.

Entry points load in a fixed order: symreg's own distribution first, then the
others by entry-point name; where two plugins register the same task name, the
first loaded wins (:mod:`symreg.registry`). ``SYMREG_LOAD_PLUGINS`` restricts
loading to a comma-separated list of entry-point names (an empty value loads
none); a name that is no entry point is an error that lists the ones there are.
A plugin that fails to import, declares a misspelled hook, or whose hook raises
is skipped and listed in ``failures`` (and by ``symreg plugins``) with its
error; the others still work.
"""
from __future__ import annotations

import difflib
import importlib
import os
import sys
from importlib.metadata import entry_points

import pluggy

from symreg import hookspecs
from symreg.errors import unknown

# symreg's own hook implementations, loaded by name as entry points are (llm's DEFAULT_PLUGINS):
# registered name -> module. The core never imports them statically.
DEFAULT_PLUGINS = {"symreg.default_models": "symreg.default_plugins.models"}

pm = pluggy.PluginManager("symreg")
pm.add_hookspecs(hookspecs)
for _name, _module in DEFAULT_PLUGINS.items():
    pm.register(importlib.import_module(_module), name=_name)

failures: dict[str, str] = {}  # plugin name -> why it was skipped
distributions: dict[str, tuple[str, str]] = {}  # plugin name -> (distribution, version)
_loaded = False


def load_plugins() -> None:
    """Load the entry-point plugins once (not when running symreg's own tests)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    wanted = os.environ.get("SYMREG_LOAD_PLUGINS")
    if getattr(sys, "_called_from_test", False) and wanted is None:
        return
    names = None if wanted is None else {n.strip() for n in wanted.split(",") if n.strip()}
    eps = sorted(entry_points(group="symreg"), key=_load_order)
    missing = sorted((names or set()) - {ep.name for ep in eps})
    if missing:
        _loaded = False  # the same error on every lookup, until the variable is fixed
        raise unknown("plugin in SYMREG_LOAD_PLUGINS (an entry-point name in group 'symreg')",
                      missing[0], {ep.name for ep in eps})
    for ep in eps:
        if names is not None and ep.name not in names:
            continue
        if pm.has_plugin(ep.name) or ep.name in failures:
            continue
        try:
            module = ep.load()
        except Exception as err:  # a broken plugin must not break symreg
            failures[ep.name] = f"import failed: {type(err).__name__}: {err}"
            continue
        add_plugin(module, ep.name)
        if ep.dist is not None and pm.has_plugin(ep.name):
            distributions[ep.name] = (ep.dist.name, ep.dist.version)


def _load_order(ep) -> tuple[bool, str]:
    """symreg's own plugins first, then the others by entry-point name."""
    dist = getattr(ep, "dist", None)
    return (getattr(dist, "name", None) != "symreg", ep.name)


def add_plugin(plugin: object, name: str) -> bool:
    """Register ``plugin``; on a bad hook implementation record the failure and return False."""
    try:
        pm.register(plugin, name=name)
    except pluggy.PluginValidationError as err:
        failures[name] = f"invalid hook implementation: {err}"
        return False
    misspelled = _unknown_hooks(plugin)
    if misspelled:
        pm.unregister(plugin)
        failures[name] = "; ".join(misspelled)
        print(f"symreg: plugin {name!r} skipped: {failures[name]}", file=sys.stderr)
        return False
    if not pm.get_hookcallers(plugin):
        pm.unregister(plugin)
        failures[name] = "implements no symreg hook (is it the right module?)"
        return False
    failures.pop(name, None)
    return True


def _unknown_hooks(plugin: object) -> list[str]:
    known = [h for h in dir(hookspecs) if h.startswith("register_")]
    out = []
    for caller in pm.get_hookcallers(plugin) or []:
        if caller.spec is None:
            close = difflib.get_close_matches(caller.name, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            out.append(f"unknown hook {caller.name!r}{hint}")
    return out


def plugin_name(plugin: object) -> str:
    return pm.get_name(plugin) or repr(plugin)
