"""One exclusive writer per directory: an ``flock`` on a lock file that names its holder.

The kernel drops the lock when the holder dies (even by ``kill -9``), so a
stale lock never blocks a later run. A batch of seeds is written under one
lock (its ``BATCH/.lock``), so a batch holds one open file however many seeds.
"""
from __future__ import annotations

import fcntl
import os
from pathlib import Path

from symreg.errors import UsageError


class FileLock:
    """``with FileLock(path, what="Run directory X", verb="written"):`` or ``acquire()``/``release()``."""

    def __init__(self, path: Path, what: str, verb: str = "written") -> None:
        self.path, self.what, self.verb = Path(path), what, verb
        self.fd: int | None = None

    def acquire(self) -> "FileLock":
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            raise UsageError(f"{self.what} cannot be locked: {self.path} ({err.strerror}).") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise UsageError(f"{self.what} is being {self.verb} by {self.holder() or 'another process'}.") from None
        try:  # who holds it, for the message a second writer gets; the flock alone is the lock
            os.ftruncate(fd, 0)
            os.write(fd, f"process {os.getpid()}".encode())
        except OSError:  # a full disk: the lock holds all the same
            pass
        self.fd = fd
        return self

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing releases the flock
            self.fd = None

    __enter__ = acquire

    def __exit__(self, *exc) -> None:
        self.release()

    def holder(self) -> str | None:
        """Who holds the lock now, if anyone (without taking it)."""
        try:
            fd = os.open(self.path, os.O_RDONLY)  # flock needs no write access
        except OSError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return None
        except BlockingIOError:
            return self.path.read_text().strip() or "another process"
        finally:
            os.close(fd)
