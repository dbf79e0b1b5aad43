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

import difflib
import inspect
import re
from dataclasses import dataclass
from typing import Any, Callable

from symreg.errors import PluginError, SymregError, unknown
from symreg.limits import check_symmetries
from symreg.plugins import distributions, failures, load_plugins, plugin_name, pm
from symreg.symmetry.base import Symmetry
from symreg.symmetry.verification import set_symmetry_source
from symreg.task import DOMAINS, Param, Preset, Task
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


TASK_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")


def task_class_problem(cls: Any) -> str | None:
    """Why ``cls`` cannot be registered as a task (None if it can): type, name, domain, parameters, presets.

    >>> task_class_problem(get_task("mod_add", p=5).__class__) is None
    True
    >>> task_class_problem(int)
    'int is not a Task subclass'
    """
    if not (inspect.isclass(cls) and issubclass(cls, Task)):
        return f"{getattr(cls, '__name__', repr(cls))} is not a Task subclass"
    label = f"task class {cls.__name__}"
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not TASK_NAME.fullmatch(name):
        return f"{label} has name {name!r}, not a word of letters, digits, '_', '.', '-' starting with a letter"
    if getattr(cls, "domain", None) not in DOMAINS:
        return f"{label} has domain {getattr(cls, 'domain', None)!r}, not one of {', '.join(DOMAINS)}"
    spec = getattr(cls, "parameters", None)
    if not isinstance(spec, dict) or not all(isinstance(p, Param) for p in spec.values()):
        return f"{label} has parameters {spec!r}, not a dict of name -> symreg.Param"
    for key, p in spec.items():
        why = p.check(p.default) if p.check else None
        if why:
            return f"{label}'s parameter {key} has default {p.default!r}, which {why}"
    for which in ("preset", "quick"):
        preset = getattr(cls, which, None)
        why = _preset_problem(preset, spec) if isinstance(preset, Preset) else "is missing (a symreg.Preset)"
        if why:
            return f"{label}'s {which} preset {why}"
    return None


def _preset_problem(preset: Preset, spec: dict) -> str | None:
    if not 0 < preset.train_frac <= 1:
        return f"has train_frac {preset.train_frac!r}, not in (0, 1]"
    if not preset.weight_decay >= 0:
        return f"has weight_decay {preset.weight_decay!r}, not >= 0"
    if isinstance(preset.epochs, bool) or not isinstance(preset.epochs, int) or preset.epochs < 1:
        return f"has epochs {preset.epochs!r}, not an integer >= 1"
    for key, value in preset.params.items():
        if key not in spec:
            return f"sets parameter {key!r}, which the task does not take (it takes: {', '.join(spec) or 'none'})"
        why = spec[key].check(value) if spec[key].check else None
        if why:
            return f"sets {key}={value!r}, which {why}"
    return None


def _task_register(plugin: str, got: list) -> Callable:
    def register(cls: type) -> None:
        why = task_class_problem(cls)
        if why:
            _note("register_tasks", plugin, f"{why} (ignored)")
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

    Each symmetry's ``plugin`` names the plugin that declared it.

    >>> [(s.name, s.plugin) for s in get_symmetries(get_task("mod_add", p=5))][:2]
    [('commutativity', 'algebraic'), ('translation', 'algebraic')]
    """
    check_symmetries(task)  # the token maps are O(vocabulary) each: refuse before building them
    syms = list(task.symmetries())
    owner = task_entries().get(task.name)
    seen: set[str] = set()
    for s in syms:
        if not isinstance(s, Symmetry):
            raise PluginError(f"Task {task.name!r} declares {s!r}, which is not a Symmetry.")
        if s.name in seen:
            raise PluginError(f"Task {task.name!r} declares two symmetries named {s.name!r}.")
        seen.add(s.name)
        s.plugin = owner.plugin if owner is not None and owner.obj is type(task) else s.plugin
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
                s.plugin = entry.plugin
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


def build_model(task: Task, name: str, seeds: list[int], sizes: dict) -> Any:
    """Model ``name`` for ``task`` from its plugin's factory; a factory that raises is that plugin's fault.

    Its error becomes a one-line :class:`~symreg.errors.PluginError` naming the plugin (noted for
    ``symreg plugins`` too); a :class:`~symreg.errors.SymregError` (bad sizes) passes through.
    """
    entries = model_entries()
    if name not in entries:
        raise unknown("model", name, entries)
    entry = entries[name]
    try:
        return entry.obj(task, seeds, **sizes)
    except SymregError:
        raise
    except Exception as err:
        why = f"its model factory {name!r} raised {type(err).__name__}: {err}"
        _note("models", entry.plugin, why)
        raise PluginError(f"Plugin {entry.plugin!r}: {why} (task '{task.name}').") from None


def probe_symmetry_plugins() -> None:
    """Build each task plugins register symmetries for (default parameters), and each model once, so that
    broken factories are noted.

    What :func:`plugin_problems` then reports for them is what ``symreg plugins`` shows.
    """
    entries, _problems["symmetry targets"] = task_entries(), {}
    registered = _collect("register_symmetries", _symmetry_register)
    for entry in registered:
        if entry.name not in entries:
            close = difflib.get_close_matches(str(entry.name), list(entries), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            _note("symmetry targets", entry.plugin, f"registered a symmetry for task {entry.name!r}, "
                  f"which no plugin registers (ignored){hint}")
    for name in dict.fromkeys(e.name for e in registered):
        if name in entries:
            try:
                get_symmetries(entries[name].obj())
            except SymregError:
                pass  # the task's own fault, shown when it is used
    _probe_models(entries)


def _probe_models(entries: dict[str, Entry]) -> None:
    """Build each registered model once, for the first task that builds, so that a factory that raises is noted."""
    for entry in entries.values():
        try:
            task = entry.obj()
        except SymregError:
            continue
        for name in model_entries():
            try:
                build_model(task, name, [0], {})
            except SymregError:
                pass  # noted by build_model when it is the plugin's fault
        return
