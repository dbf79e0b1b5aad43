"""The ``symreg`` command line: a thin click layer over the library.

Library errors (:class:`symreg.errors.SymregError`) become one-line messages
with exit status 2 here and nowhere else; a failed verification exits 1.
"""
from __future__ import annotations

import json
import sys
import warnings

import click

from symreg import __version__
from symreg.errors import SymregError, SymregWarning
from symreg.util.parsing import parse_set


class Group(click.Group):
    """A click group whose every usage error is one ``Error:`` line and exit status 2."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            with warnings.catch_warnings():
                warnings.showwarning = _show_warning  # a SymregWarning is one "warning:" line
                super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.Exit as done:  # --help, --version, ctx.exit()
            sys.exit(done.exit_code)
        except (click.UsageError, SymregError) as err:
            message = err.format_message() if isinstance(err, click.UsageError) else str(err)
            click.echo(f"Error: {message}", err=True)
            sys.exit(2)
        except click.ClickException as err:
            err.show()
            sys.exit(err.exit_code)
        except click.exceptions.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(0)


_python_showwarning = warnings.showwarning


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    if issubclass(category, SymregWarning):
        click.echo(f"warning: {message}", err=True)
    else:
        _python_showwarning(message, category, filename, lineno, file, line)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="symreg")
def cli() -> None:
    """Tasks, symmetries, training and diagnosis for grokking research.

    \b
        symreg tasks                      # what is registered
        symreg show mod_add -P p=97       # a task, its encoding and symmetries
        symreg verify --all               # prove every declared symmetry
    """


def settings_from(pairs: tuple[str, ...], **options) -> dict:
    """Trainer settings: the typed options that were given (not None), then ``--set`` pairs over them.

    >>> settings_from(("lr=0.003",), lr=0.001, epochs=None, device="cpu")
    {'lr': 0.003, 'device': 'cpu'}
    """
    return {**{k: v for k, v in options.items() if v is not None}, **parse_set(pairs)}


def emit(obj) -> None:
    """Print ``obj`` as indented JSON (what every ``--json`` prints)."""
    click.echo(json.dumps(obj, indent=2, default=str))


PARAM = click.option("-P", "--param", "params", multiple=True, metavar="KEY=VALUE",
                     help="Task parameter, e.g. -P p=97 (repeatable).")


class Threads(click.ParamType):
    """``--threads``: an integer >= 1 or ``auto``; a bad value is one ``Error:`` line naming it."""

    name = "threads"

    def convert(self, value, param, ctx):
        from symreg.train.hardware import parse_threads

        return parse_threads(value)


THREADS = click.option("--threads", type=Threads(), default="auto", show_default=True, metavar="N|auto",
                       help="Torch threads for this process; auto: the cores the load average leaves idle "
                            "(1 on a busy machine; never more than OMP_NUM_THREADS).")


PRECISION = click.option("--precision", type=click.Choice(["fp32", "bf16", "tf32"]),
                         help="Matmul precision [default: fp32]; bf16 only where the device has native bf16 "
                              "(refused otherwise unless --set force_precision=true), tf32 on CUDA only.")


def use_threads(value) -> int:
    """Train with ``value`` torch threads (a count, or auto) until the command ends; the count used."""
    from symreg.train.hardware import resolve_threads, torch_threads

    return click.get_current_context().with_resource(torch_threads(resolve_threads(value)))
