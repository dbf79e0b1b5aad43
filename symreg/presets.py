"""One resolution of "TASK at a preset, with parameter overrides", for every command and the library.

A preset (``paper`` or ``quick``) is a task's training configuration and may
shrink the task (``quick`` trains mod_add at p=97). :func:`resolve` builds the
task with the preset's parameters under the user's, and keeps the user's
trainer settings apart, to be applied over the preset's by
:meth:`symreg.train.TrainConfig.from_setup`.

>>> setup = resolve("mod_add", ["p=11"], preset="quick", settings={"epochs": 100})
>>> setup.task.params, setup.preset, setup.defaults.train_frac, setup.settings
({'p': 11}, 'quick', 0.5, {'epochs': 100})
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional, Union

from symreg.errors import UsageError, unknown
from symreg.limits import check_domain
from symreg.registry import get_task, parse_params, task_entries
from symreg.task import Preset, Task

PRESETS = ("paper", "quick")

# Parameters as given: a mapping of typed values ({"p": 97}), or the command line's "key=value" texts.
Params = Optional[Union[Mapping[str, Any], Iterable[str]]]


@dataclass(frozen=True)
class Setup:
    """A task built at a preset, the preset itself, and the trainer settings chosen over it."""

    task: Task
    preset: str  # "paper" or "quick"
    defaults: Preset
    settings: dict = field(default_factory=dict)  # TrainConfig fields, applied over the preset's


def preset_of(task_class: type[Task] | Task, name: str) -> Preset:
    """The ``paper`` or ``quick`` preset of a task (class or instance).

    >>> preset_of(get_task("mod_add", p=5), "paper").train_frac
    0.3
    """
    if name not in PRESETS:
        raise UsageError(f"Preset {name!r} is not one of {', '.join(PRESETS)}.")
    return task_class.preset if name == "paper" else task_class.quick


def task_params(name: str, params: Params = None) -> dict[str, Any]:
    """Parameters of task ``name`` as a dict: a mapping is taken as is, ``key=value`` texts are typed.

    >>> task_params("mod_add", ["p=7"]), task_params("mod_add", {"p": 7}), task_params("mod_add")
    ({'p': 7}, {'p': 7}, {})
    """
    if params is None:
        return {}
    if isinstance(params, Mapping):
        return dict(params)
    if isinstance(params, str):
        params = [params]
    return parse_params(name, list(params))


def resolve_task(name: str, params: Params = None, preset: str | None = None) -> Task:
    """Build task ``name``: the preset's parameters (none for ``preset=None``), then ``params``.

    >>> resolve_task("mod_add").params, resolve_task("mod_add", preset="quick").params
    ({'p': 113}, {'p': 97})
    """
    entries = task_entries()
    if name not in entries:
        raise unknown("task", name, entries)
    base = {} if preset is None else preset_of(entries[name].obj, preset).params
    return get_task(name, **{**base, **task_params(name, params)})


def resolve(task: str | Task, params: Params = None, preset: str = "paper",
            settings: Mapping[str, Any] | None = None) -> Setup:
    """The task (a name, or an already built Task) at ``preset``, and the trainer ``settings``.

    ``settings`` are TrainConfig fields by name (``{"epochs": 2000, "lr": 3e-3}``);
    they are checked when applied (:meth:`symreg.train.TrainConfig.from_setup`).
    Every user of a Setup enumerates the task's domain, so a domain that would
    not fit in memory is refused here, before anything is built
    (:func:`symreg.limits.check_domain`).

    >>> resolve(get_task("mod_add", p=7), preset="quick").task.params
    {'p': 7}
    """
    if isinstance(task, Task):
        if params:
            raise UsageError(f"Task '{task.name}' is already built; give parameters with its name instead.")
        check_domain(task)
        return Setup(task, preset, preset_of(task, preset), dict(settings or {}))
    built = resolve_task(task, params, preset)
    check_domain(built)
    return Setup(built, preset, preset_of(built, preset), dict(settings or {}))
