"""What the commands print while they train: a progress line on stderr, and polite stops on SIGTERM."""
from __future__ import annotations

import signal
import sys
import time

import click


def stop_politely_on_sigterm() -> None:
    """Make SIGTERM (a scheduler, a plain ``kill``) checkpoint and stop, as Ctrl-C does."""
    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)


class Progress:
    """One status line on stderr, redrawn at each evaluation (a library ``progress`` callback).

    A new trainer starts a new line (its epoch cap is the bar's total), so one
    Progress serves every trainer a command runs one after another.
    """

    def __init__(self, quiet: bool = False) -> None:
        self.quiet, self.tty = quiet, sys.stderr.isatty()
        self.trainer, self.total, self.start, self.open = None, 0, 0.0, False
        self.last_print = float("-inf")  # off a terminal: the first line at once, then every 10 s

    def __call__(self, epoch: int, rows: list[dict], trainer) -> None:
        if self.quiet:
            return
        if trainer is not self.trainer:
            self.close()
            self.trainer, self.total, self.start = trainer, trainer.cfg.epochs, time.perf_counter()
        n = len(rows)
        tr = sum(r["train_acc"] for r in rows) / n
        te = sum(r["test_acc"] or 0 for r in rows) / n
        done = sum(g is not None for g in trainer.generalized)
        width = 24
        fill = int(width * epoch / max(1, self.total))
        now = time.perf_counter()
        line = (f"[{'#' * fill}{'.' * (width - fill)}] epoch {epoch}/{self.total}  "
                f"train acc {tr:.3f}  test acc {te:.3f}"
                + (f"  generalized {done}/{n}" if n > 1 else "")
                + f"  {now - self.start:.0f}s")
        if self.tty:
            click.echo("\r" + line, nl=False, err=True)
            self.open = True
        elif now - self.last_print > 10 or epoch == self.total:
            click.echo(line, err=True)
            self.last_print = now

    def close(self) -> None:
        """End the current line (on a terminal); safe to call at any time."""
        if self.open:
            click.echo("", err=True)
            self.open = False
