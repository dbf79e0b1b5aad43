"""The plugin hooks symreg calls. A plugin implements any of them with ``@symreg.hookimpl``.

Registration is pull-based: every lookup loads the plugins, then calls the hook,
so no plugin can register after a call it should have seen. That is why no hook
here is ``historic``; none is ``firstresult`` because every hook collects.
Hooks grow only by gaining parameters; an implementation may accept any subset.
"""
from __future__ import annotations

from typing import Callable

import click
import pluggy

hookspec = pluggy.HookspecMarker("symreg")
hookimpl = pluggy.HookimplMarker("symreg")


@hookspec
def register_tasks(register: Callable) -> None:
    """Register Task classes.

    :param register: call ``register(TaskClass)`` once per task; the class's
        ``name`` must be unique across all plugins.
    """


@hookspec
def register_symmetries(register: Callable) -> None:
    """Register symmetries on any plugin's tasks.

    :param register: call ``register(task_name, factory)`` where
        ``factory(task)`` returns a Symmetry or a list of them for a task instance.
    """


@hookspec
def register_models(register: Callable) -> None:
    """Register model architectures for ``symreg train --model``.

    :param register: call ``register(name, factory)`` where
        ``factory(task, seeds, **sizes)`` returns a seed-batched ``torch.nn.Module``
        (see :mod:`symreg.train.models` for the contract).
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add click commands to the ``symreg`` command line.

    :param cli: the root click group; use ``@cli.command()``.
    """
