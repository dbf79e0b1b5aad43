"""What the commands print while they train: a progress line on stderr, and polite stops on SIGTERM."""
from __future__ import annotations

import math
import signal
import sys
import time

import click


def stop_politely_on_sigterm() -> None:
    """Make SIGTERM (a scheduler, a plain ``kill``) checkpoint and stop, as Ctrl-C does."""
    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)


def duration(seconds: float) -> str:
    """A short duration for a progress line.

    >>> duration(42.4), duration(130), duration(7260)
    ('42s', '2m10s', '2h01m')
    """
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def end_epoch(trainer) -> tuple[int, bool]:
    """The epoch training will stop at, and whether that is exact (else it is the cap: an upper bound).

    With ``stop_on_generalize``, once every seed still training has generalized
    the end is known (its last generalization plus ``stop_patience``); before, the cap bounds it.
    """
    cfg = trainer.cfg
    if not getattr(cfg, "stop_on_generalize", False):
        return cfg.epochs, True
    pending = [g for g, active in zip(trainer.generalized, trainer.active) if active]
    if pending and all(g is not None for g in pending):
        return min(cfg.epochs, max(pending) + cfg.stop_patience), True
    return cfg.epochs, False


class Progress:
    """One status line on stderr: epoch, accuracies, epochs per second and the time left.

    Called at each evaluation (the library's ``progress`` callback) for the
    accuracies; the trainer also calls :meth:`tick` after every epoch, which
    redraws the line at most once a second (off a terminal: a line every
    10 s), so the epoch, rate and ETA move between evaluations. A new trainer
    starts a new line, so one Progress serves every trainer a command runs one
    after another.
    """

    REDRAW_S, LOG_S = 1.0, 10.0

    def __init__(self, quiet: bool = False) -> None:
        self.quiet, self.tty = quiet, sys.stderr.isatty()
        self.trainer, self.start, self.start_epoch, self.open = None, 0.0, 0, False
        self.stats = ""
        self.last_print = float("-inf")  # off a terminal: the first line at once, then every 10 s

    def __call__(self, epoch: int, rows: list[dict], trainer) -> None:
        if trainer is not self.trainer:  # kept even when quiet: an interrupted command names its epoch
            self.close()
            self.trainer, self.start, self.start_epoch = trainer, time.perf_counter(), epoch
            self.last_print = float("-inf")
        if self.quiet:
            return
        n = len(rows)
        tr = sum(r["train_acc"] for r in rows) / n
        te = sum(r["test_acc"] or 0 for r in rows) / n
        done = sum(g is not None for g in trainer.generalized)
        self.stats = f"train acc {tr:.3f}  test acc {te:.3f}" + (f"  generalized {done}/{n}" if n > 1 else "")
        end, _ = end_epoch(trainer)
        self.draw(epoch, force=epoch >= end)

    def tick(self, trainer) -> None:
        """After every epoch: redraw when a second has passed (ten, off a terminal); cheap otherwise."""
        if self.quiet or trainer is not self.trainer:
            return
        if time.perf_counter() - self.last_print >= (self.REDRAW_S if self.tty else self.LOG_S):
            self.draw(trainer.epoch)

    def line(self, epoch: int, now: float) -> str:
        end, exact = end_epoch(self.trainer)
        width = 24
        fill = min(width, int(width * epoch / max(1, end)))
        elapsed = now - self.start
        rate = (epoch - self.start_epoch) / elapsed if elapsed > 0.5 and epoch > self.start_epoch else math.nan
        if math.isnan(rate):
            speed = "  -- epochs/s"
        else:
            left = max(0, end - epoch) / rate
            speed = f"  {rate:.3g} epochs/s  ETA {'' if exact else '<= '}{duration(left)}"
        return (f"[{'#' * fill}{'.' * (width - fill)}] epoch {epoch}/{end}  {self.stats}{speed}"
                f"  {duration(elapsed)}")

    def draw(self, epoch: int, force: bool = False) -> None:
        now = time.perf_counter()
        text = self.line(epoch, now)
        if self.tty:
            click.echo("\r" + text + "\033[K", nl=False, err=True)  # \033[K: clear what a longer line left
            self.open = True
        elif not (force or now - self.last_print >= self.LOG_S):
            return
        else:
            click.echo(text, err=True)
        self.last_print = now

    def close(self) -> None:
        """End the current line (on a terminal); safe to call at any time."""
        if self.open:
            click.echo("", err=True)
            self.open = False
