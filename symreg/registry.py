"""Lookups over what the plugins registered: tasks, symmetries, models.

Hooks are called one plugin at a time, so each registration is stamped with
the plugin that supplied it, and a plugin that breaks a rule loses only what
it broke: a hook that raises skips that plugin's hook; a registration that is
not a Task, or names a task (or model) that an earlier plugin already
registered, is ignored and noted (:func:`plugin_problems`, ``symreg plugins``).
The first registration of a name wins, in plugin load order (symreg's own
plugins first, then the others by entry-point name): installing a plugin never
takes a task away from the ones loaded before it.

>>> task = get_task("mod_add", p=5)
>>> task.label(task.inputs()[:3]).tolist()
[0, 1, 2]
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable

from symreg.errors import PluginError, SymregError, unknown
from symreg.limits import check_symmetries
from symreg.plugins import distributions, failures, load_plugins, plugin_name, pm
from symreg.symmetry.base import Symmetry
from symreg.symmetry.verification import set_symmetry_source
from symreg.task import DOMAINS, Task
from symreg.util.parsing import parse_pairs


@dataclass(frozen=True)
class Entry:
    """One registered thing and the plugin that supplied it."""

    name: str
    obj: Any
    plugin: str

    @property
    def plugin_version(self) -> str | None:
        return distributions.get(self.plugin, (None, None))[1]


# what the last lookups ignored, by hook (or "symmetries of TASK") and plugin
_problems: dict[str, dict[str, list[str]]] = {}


def _note(where: str, plugin: str, message: str) -> None:
    notes = _problems.setdefault(where, {}).setdefault(plugin, [])
    if message not in notes:
        notes.append(message)


def plugin_problems() -> dict[str, str]:
    """Per plugin, what of it does not work: why it failed to load, and what the last lookups ignored.

    >>> plugin_problems().get("algebraic") is None
    True
    """
    out: dict[str, list[str]] = {name: [why] for name, why in failures.items()}
    for by_plugin in _problems.values():
        for plugin, notes in by_plugin.items():
            out.setdefault(plugin, []).extend(n for n in notes if n not in out.get(plugin, []))
    return {plugin: "; ".join(notes) for plugin, notes in sorted(out.items()) if notes}


def _collect(hook_name: str, make_register: Callable[[str, list], Callable]) -> list:
    load_plugins()
    hook = getattr(pm.hook, hook_name)
    _problems[hook_name] = {}
    out: list = []
    for impl in hook.get_hookimpls():  # registration order
        name = plugin_name(impl.plugin)
        got: list = []
        try:
            impl.function(**{a: make_register(name, got) for a in impl.argnames})
        except Exception as err:  # a broken plugin must not break symreg
            failures[name] = f"hook {hook_name} raised {type(err).__name__}: {err}"
            continue
        out.extend(got)
    return out


def _task_register(plugin: str, got: list) -> Callable:
    def register(cls: type) -> None:
        if not (inspect.isclass(cls) and issubclass(cls, Task)):
            _note("register_tasks", plugin, f"registered {cls!r}, which is not a Task subclass (ignored)")
        elif getattr(cls, "domain", None) not in DOMAINS:
            _note("register_tasks", plugin, f"task class {cls.__name__} has domain "
                  f"{getattr(cls, 'domain', None)!r}, not one of {', '.join(DOMAINS)} (ignored)")
        elif not isinstance(getattr(cls, "name", None), str):
            _note("register_tasks", plugin, f"task class {cls.__name__} has no name (ignored)")
        else:
            got.append(Entry(cls.name, cls, plugin))
    return register


def _first_wins(entries: list[Entry], hook: str, kind: str) -> dict[str, Entry]:
    out: dict[str, Entry] = {}
    for entry in entries:
        if entry.name in out:
            _note(hook, entry.plugin, f"{kind} {entry.name!r} is already registered by plugin "
                  f"{out[entry.name].plugin!r}, loaded first (this registration is ignored)")
            continue
        out[entry.name] = entry
    return dict(sorted(out.items()))


def task_entries() -> dict[str, Entry]:
    """Every registered task class by name; a name registered again by a later plugin is ignored.

    >>> task_entries()["mod_add"].obj.domain
    'algebraic'
    """
    return _first_wins(_collect("register_tasks", _task_register), "register_tasks", "task")


def get_task(name: str, **params: Any) -> Task:
    """Build the task ``name`` with ``params`` (validated); unknown names get suggestions.

    >>> get_task("mod_add", p=7).n_classes
    7
    """
    return _entry(name).obj(**params)


def _entry(name: str) -> Entry:
    """The registration of task ``name``; unknown names get suggestions."""
    entries = task_entries()
    if name not in entries:
        raise unknown("task", name, entries)
    return entries[name]


def task_entry(task: Task) -> Entry:
    """The registration of ``task``'s class: which plugin supplied it.

    >>> task_entry(get_task("mod_add", p=5)).plugin
    'algebraic'
    """
    return _entry(task.name)


def parse_params(name: str, pairs: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """Turn ``["p=97"]`` into ``{"p": 97}`` using the task's parameter types.

    >>> parse_params("mod_add", ["p=97"])
    {'p': 97}
    """
    spec = _entry(name).obj.parameters

    def typed(key: str, text: str) -> Any:
        if key not in spec:
            raise unknown(f"parameter for task '{name}'", key, spec)
        return spec[key].parse(key, text)

    return parse_pairs(pairs, "Parameter", typed)


def _symmetry_register(plugin: str, got: list) -> Callable:
    def register(task_name: str, factory: Callable) -> None:
        got.append(Entry(task_name, factory, plugin))
    return register


def get_symmetries(task: Task) -> list[Symmetry]:
    """The task's own symmetries followed by those other plugins registered for it.

    >>> [s.name for s in get_symmetries(get_task("mod_add", p=5))]
    ['commutativity', 'translation', 'scaling', 'associativity']
    """
    check_symmetries(task)  # the token maps are O(vocabulary) each: refuse before building them
    syms = list(task.symmetries())
    seen: set[str] = set()
    for s in syms:
        if not isinstance(s, Symmetry):
            raise PluginError(f"Task {task.name!r} declares {s!r}, which is not a Symmetry.")
        if s.name in seen:
            raise PluginError(f"Task {task.name!r} declares two symmetries named {s.name!r}.")
        seen.add(s.name)
    where = f"symmetries of {task.name}"
    _problems[where] = {}
    for entry in _collect("register_symmetries", _symmetry_register):
        if entry.name != task.name:
            continue
        try:
            made = entry.obj(task)
        except SymregError:
            raise
        except Exception as err:  # a broken plugin loses its symmetry, not the task
            _note(where, entry.plugin, f"its symmetry factory for task {task.name!r} raised "
                  f"{type(err).__name__}: {err} (ignored)")
            continue
        for s in made if isinstance(made, (list, tuple)) else [made]:
            if not isinstance(s, Symmetry):
                _note(where, entry.plugin, f"registered {s!r} for task {task.name!r}, which is not a "
                      "Symmetry (ignored)")
            elif s.name in seen:
                _note(where, entry.plugin, f"symmetry {s.name!r} of task {task.name!r} is already declared "
                      "(this one is ignored)")
            else:
                seen.add(s.name)
                syms.append(s)
    return syms


set_symmetry_source(get_symmetries)  # verify_task's default: the symmetry package cannot import this module


def get_symmetry(task: Task, name: str) -> Symmetry:
    """The symmetry of ``task`` called ``name``; unknown names get suggestions.

    >>> get_symmetry(get_task("mod_add", p=5), "commutativity").kind
    'group'
    """
    syms = {s.name: s for s in get_symmetries(task)}
    if name not in syms:
        raise unknown(f"symmetry of task '{task.name}'", name, syms)
    return syms[name]


def _model_register(plugin: str, got: list) -> Callable:
    def register(name: str, factory: Callable) -> None:
        got.append(Entry(name, factory, plugin))
    return register


def model_entries() -> dict[str, Entry]:
    """Every registered model factory by name (the first registration of a name wins).

    >>> sorted(model_entries())[:2]
    ['mlp', 'transformer']
    """
    return _first_wins(_collect("register_models", _model_register), "register_models", "model")


def probe_symmetry_plugins() -> None:
    """Build each task plugins register symmetries for (default parameters), so that broken factories are noted.

    What :func:`plugin_problems` then reports for them is what ``symreg plugins`` shows.
    """
    entries, _problems["symmetry targets"] = task_entries(), {}
    registered = _collect("register_symmetries", _symmetry_register)
    for entry in registered:
        if entry.name not in entries:
            _note("symmetry targets", entry.plugin, f"registered a symmetry for task {entry.name!r}, "
                  "which no plugin registers (ignored)")
    for name in dict.fromkeys(e.name for e in registered):
        if name in entries:
            try:
                get_symmetries(entries[name].obj())
            except SymregError:
                pass  # the task's own fault, shown when it is used
