"""Reading checkpoints that may be damaged: which one is intact, and its tensors (no torch here).

A checkpoint is a safetensors file whose metadata ``meta`` is JSON with an
integer ``epoch``. ``last`` is written atomically, so a crash never leaves it
half-written; a disk that lies, a copy cut short or a stray editor can still
damage it. :func:`newest_intact` then falls back to the newest ``epoch-N`` file
that reads, with a warning naming what was skipped; the caller (the trainer,
the plots) carries on from that epoch.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from symreg.errors import UsageError

EPOCH_FILE = re.compile(r"epoch-(\d+)\.safetensors")


class Damaged(Exception):
    """A checkpoint file that exists but cannot be read; the message says why."""


def read_meta(path: Path) -> dict:
    """The ``meta`` of checkpoint ``path``; raises :class:`Damaged` (or FileNotFoundError).

    Opening checks the header and that the file is as long as the header says,
    so a truncated or foreign file is caught here, without reading the tensors.
    """
    from safetensors import safe_open

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(str(path))
    try:
        with safe_open(str(path), framework="np") as f:
            meta = json.loads((f.metadata() or {})["meta"])
    except KeyError:
        raise Damaged(f"{path} has no symreg metadata") from None
    except Exception as err:  # safetensors' own error, OSError, bad JSON: all mean unreadable
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise Damaged(f"{path} is damaged ({reason})") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("epoch"), int) or meta["epoch"] < 0:
        raise Damaged(f"{path} has no epoch in its metadata")
    return meta


def read_tensors(path: Path, framework: str = "pt", keys=None) -> dict:
    """The tensors of checkpoint ``path`` (all, or ``keys``); raises :class:`Damaged`."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework=framework) as f:
            names = list(f.keys()) if keys is None else [k for k in keys if k in f.keys()]
            return {k: f.get_tensor(k) for k in names}
    except Exception as err:
        raise Damaged(f"{path} is damaged ({type(err).__name__}: {err})") from None


def epoch_files(folder: Path) -> dict[int, Path]:
    """The ``epoch-N`` checkpoints in ``folder`` by epoch, oldest first."""
    out = {}
    for p in Path(folder).glob("epoch-*.safetensors"):
        m = EPOCH_FILE.fullmatch(p.name)
        if m:
            out[int(m.group(1))] = p
    return dict(sorted(out.items()))


def newest_intact(last: Path, folder: Path, at_most: int | None = None) -> tuple[Path | None, dict | None, list[str]]:
    """The newest readable checkpoint at or before epoch ``at_most``: ``last``, else the newest ``epoch-N``.

    Returns (path, meta, warnings); path is None when none reads. A damaged file
    is a warning, naming it and the one used instead; a missing ``last`` (a run
    stopped before its first checkpoint, or an old copy) is not.
    """
    skipped: list[str] = []
    candidates = [last] + [p for e, p in reversed(epoch_files(folder).items()) if at_most is None or e <= at_most]
    for path in candidates:
        try:
            meta = read_meta(path)
        except FileNotFoundError:
            continue
        except Damaged as err:
            skipped.append(str(err))
            continue
        if at_most is not None and meta["epoch"] > at_most:
            continue
        warnings = [f"{'; '.join(skipped)}; using {path.name} (epoch {meta['epoch']}) instead"] if skipped else []
        return path, meta, warnings
    return None, None, skipped


def no_intact(run: Path, skipped: list[str]) -> UsageError:
    """The error for a run none of whose checkpoints reads."""
    why = f" ({skipped[0]}{f', and {len(skipped) - 1} more' if len(skipped) > 1 else ''})" if skipped else ""
    return UsageError(f"{run} has no intact checkpoint{why}; it cannot be resumed or plotted from one.")
