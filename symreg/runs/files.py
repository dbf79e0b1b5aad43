"""Files written so a crash never leaves half of one: atomic JSON and binaries, appended metrics lines.

JSON and checkpoints are written to a temporary file and renamed into place; a
failed write raises the OSError naming its file. Metrics lines are appended and
fsynced, and :func:`read_metrics` skips a truncated last line.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from symreg.errors import UsageError


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so readers see the old file or the new one, never half.

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "x.bin"
    >>> write_atomic(path, b"new"); path.read_bytes()
    b'new'
    """
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    except OSError as err:
        raise with_filename(err, path) from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(err, OSError):
            raise with_filename(err, path) from None
        raise


def with_filename(err: OSError, path: Path) -> OSError:
    """The same error, naming the file it was about (a failed write names none)."""
    return err if err.filename else type(err)(err.errno, err.strerror, str(path))


def write_json(path: Path, obj) -> None:
    """Write ``obj`` as indented JSON with sorted keys, atomically (the format of every JSON file here).

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "x.json"
    >>> write_json(path, {"b": 1, "a": [2]}); read_json(path)
    {'a': [2], 'b': 1}
    """
    write_atomic(path, (json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n").encode())


def read_json(path: Path) -> dict:
    """The JSON in ``path``; a missing or malformed file is a :class:`~symreg.errors.UsageError`.

    >>> read_json("/nonexistent/config.json")
    Traceback (most recent call last):
    symreg.errors.UsageError: /nonexistent/config.json does not exist.
    """
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise UsageError(f"{path} does not exist.") from None
    except json.JSONDecodeError as err:
        raise UsageError(f"{path} is not valid JSON ({err.msg} at line {err.lineno}).") from None


def read_metrics(path: Path) -> tuple[list[dict], str | None]:
    """The rows of a metrics file, and a warning if its last line was cut off mid-write.

    A row is a JSON object with an integer ``epoch``, one per line. A last line
    without its newline that is not one is a write cut short (a crash): it is
    skipped with a warning. Any other line that is not a row means the file was
    damaged: a :class:`~symreg.errors.UsageError` naming the file and line.

    >>> read_metrics("/nonexistent/metrics.jsonl")
    ([], '/nonexistent/metrics.jsonl does not exist')
    """
    rows, warning = [], None
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        return [], f"{path} does not exist"
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not a metrics file (not UTF-8 text).") from None
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            row = None
        if isinstance(row, dict) and isinstance(row.get("epoch"), int) and not isinstance(row["epoch"], bool):
            rows.append(row)
        elif i == len(lines) - 1:  # no newline after it: the write was cut short
            warning = f"{path}: skipped unreadable last line (truncated write)"
        else:
            raise UsageError(f"{path}: line {i + 1} is not a metrics row (a JSON object with an integer "
                             f"epoch): {line[:60]!r}.")
    return rows, warning
