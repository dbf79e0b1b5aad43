"""Lookups over what the plugins registered: tasks, symmetries, models.

Hooks are called one plugin at a time, so each registration is stamped with
the plugin that supplied it and a plugin whose hook raises is skipped alone.

>>> task = get_task("mod_add", p=5)
>>> task.label(task.inputs()[:3]).tolist()
[0, 1, 2]
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable

from symreg.errors import PluginError, unknown
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


def _collect(hook_name: str, make_register: Callable[[str, list], Callable]) -> list:
    load_plugins()
    hook = getattr(pm.hook, hook_name)
    out: list = []
    for impl in hook.get_hookimpls():  # registration order
        name = plugin_name(impl.plugin)
        got: list = []
        try:
            impl.function(**{a: make_register(name, got) for a in impl.argnames})
        except PluginError:
            raise
        except Exception as err:  # a broken plugin must not break symreg
            failures[name] = f"hook {hook_name} raised {type(err).__name__}: {err}"
            continue
        out.extend(got)
    return out


def _task_register(plugin: str, got: list) -> Callable:
    def register(cls: type) -> None:
        if not (inspect.isclass(cls) and issubclass(cls, Task)):
            raise PluginError(f"Plugin {plugin!r} registered {cls!r}, which is not a Task subclass.")
        if getattr(cls, "domain", None) not in DOMAINS:
            raise PluginError(f"Task {cls.__name__} of plugin {plugin!r} has domain "
                              f"{getattr(cls, 'domain', None)!r}; valid: {', '.join(DOMAINS)}.")
        got.append(Entry(cls.name, cls, plugin))
    return register


def task_entries() -> dict[str, Entry]:
    """Every registered task class by name; a name registered twice is an error.

    >>> task_entries()["mod_add"].obj.domain
    'algebraic'
    """
    out: dict[str, Entry] = {}
    for entry in _collect("register_tasks", _task_register):
        if entry.name in out:
            raise PluginError(f"Task {entry.name!r} is registered by both plugin "
                              f"{out[entry.name].plugin!r} and plugin {entry.plugin!r}.")
        out[entry.name] = entry
    return dict(sorted(out.items()))


def get_task(name: str, **params: Any) -> Task:
    """Build the task ``name`` with ``params`` (validated); unknown names get suggestions.

    >>> get_task("mod_add", p=7).n_classes
    7
    """
    entries = task_entries()
    if name not in entries:
        raise unknown("task", name, entries)
    return entries[name].obj(**params)


def task_entry(task: Task) -> Entry:
    """The registration of ``task``'s class: which plugin supplied it.

    >>> task_entry(get_task("mod_add", p=5)).plugin
    'algebraic'
    """
    entries = task_entries()
    if task.name not in entries:
        raise unknown("task", task.name, entries)
    return entries[task.name]


def parse_params(name: str, pairs: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """Turn ``["p=97"]`` into ``{"p": 97}`` using the task's parameter types.

    >>> parse_params("mod_add", ["p=97"])
    {'p': 97}
    """
    entries = task_entries()
    if name not in entries:
        raise unknown("task", name, entries)
    spec = entries[name].obj.parameters

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
    syms = list(task.symmetries())
    for entry in _collect("register_symmetries", _symmetry_register):
        if entry.name == task.name:
            made = entry.obj(task)
            syms.extend(made if isinstance(made, (list, tuple)) else [made])
    seen: set[str] = set()
    for s in syms:
        if not isinstance(s, Symmetry):
            raise PluginError(f"Task {task.name!r} got {s!r}, which is not a Symmetry.")
        if s.name in seen:
            raise PluginError(f"Task {task.name!r} has two symmetries named {s.name!r}.")
        seen.add(s.name)
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
    """Every registered model factory by name.

    >>> sorted(model_entries())[:2]
    ['mlp', 'transformer']
    """
    out: dict[str, Entry] = {}
    for entry in _collect("register_models", _model_register):
        if entry.name in out:
            raise PluginError(f"Model {entry.name!r} is registered by both plugin "
                              f"{out[entry.name].plugin!r} and plugin {entry.plugin!r}.")
        out[entry.name] = entry
    return dict(sorted(out.items()))
