"""The ``symreg`` command line: a thin click layer over the library.

Library errors (:class:`symreg.errors.SymregError`) become one-line messages
with exit status 2 here and nowhere else; a failed verification exits 1.
Each command family lives in its own module and attaches to :data:`cli`.
"""
from __future__ import annotations

import sys

import click

from symreg.cli import augment, compare, diagnose, sweep, tasks, train  # noqa: F401 - attach commands
from symreg.cli.app import cli
from symreg.errors import SymregError
from symreg.plugins import failures, load_plugins, plugin_name, pm

__all__ = ["add_plugin_commands", "cli", "main"]


def add_plugin_commands(group: click.Group = cli) -> None:
    """Let each plugin add its commands; one that raises is skipped and recorded."""
    load_plugins()
    for impl in pm.hook.register_commands.get_hookimpls():
        try:
            impl.function(cli=group)
        except Exception as err:  # a broken plugin must not break symreg
            failures[plugin_name(impl.plugin)] = f"hook register_commands raised {type(err).__name__}: {err}"


def main() -> None:
    """Entry point: load plugins, let them add commands, run."""
    try:
        add_plugin_commands()
    except SymregError as err:  # e.g. SYMREG_LOAD_PLUGINS names no entry point: before any command runs
        click.echo(f"Error: {err}", err=True)
        sys.exit(2)
    cli(prog_name="symreg")
