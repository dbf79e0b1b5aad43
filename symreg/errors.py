"""The exceptions symreg raises for the user to read.

Every message is one sentence that names the bad value and, where there is a
finite set of valid ones, lists them. The CLI turns these into one-line errors.
"""
from __future__ import annotations

import difflib


class SymregError(Exception):
    """An error whose message is shown to the user as it is."""


class UsageError(SymregError, ValueError):
    """A bad name, parameter or option value supplied by the user."""


class UnknownNameError(UsageError, KeyError):
    """A name that is not among the registered ones (task, model, symmetry)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class SymregWarning(UserWarning):
    """Something the user should know that does not stop the command (a damaged checkpoint skipped);
    the CLI shows it as one ``warning:`` line."""


class PluginError(SymregError):
    """A plugin broke a registration rule (duplicate name, wrong type)."""


class InvalidSymmetryError(SymregError, ValueError):
    """A symmetry that cannot act on the task it is declared for."""


def unknown(kind: str, name: str, choices) -> UnknownNameError:
    """Build the error for an unknown ``name``, with close matches first.

    >>> str(unknown("task", "mod_ad", ["mod_add", "mod_sub"]))
    "Unknown task: 'mod_ad'. Did you mean 'mod_add', 'mod_sub'? Available: mod_add, mod_sub."
    """
    choices = sorted(choices)
    close = difflib.get_close_matches(name, choices, n=3, cutoff=0.6)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    listed = ", ".join(choices) if choices else "(none registered)"
    return UnknownNameError(f"Unknown {kind}: {name!r}.{hint} Available: {listed}.")
