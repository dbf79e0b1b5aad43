"""Parsing of the small command-line mini-languages: seed lists and ``key=value`` pairs.

One ``key=value`` parser, :func:`parse_pairs`, serves both ``-P`` (task
parameters, typed by the task) and ``--set`` (trainer settings, Python literals).
"""
from __future__ import annotations

import ast
from typing import Any, Callable, Iterable

from symreg.errors import UsageError


def parse_seeds(text: str) -> list[int]:
    """``"0-4"`` -> [0, 1, 2, 3, 4]; ``"1,5,9"`` -> [1, 5, 9].

    >>> parse_seeds("0-2,7")
    [0, 1, 2, 7]
    """
    out: list[int] = []
    try:
        for part in text.split(","):
            lo, sep, hi = part.strip().partition("-")
            out += list(range(int(lo), int(hi) + 1)) if sep else [int(lo)]
    except ValueError:
        raise UsageError(f"Seeds {text!r} must look like 0-19 or 1,5,9 (non-negative integers).") from None
    if not out or len(set(out)) != len(out) or min(out) < 0:
        raise UsageError(f"Seeds {text!r} must be distinct non-negative integers.")
    return out


def seed_list(seeds: int | str | Iterable[int]) -> list[int]:
    """Seeds as a list: one integer, a range text (``"0-4"``, ``"1,5,9"``) or a sequence.

    >>> seed_list(3), seed_list("0-2"), seed_list([4, 1])
    ([3], [0, 1, 2], [4, 1])
    """
    if isinstance(seeds, str):
        return parse_seeds(seeds)
    out = [seeds] if isinstance(seeds, int) else list(seeds)
    if not out or any(not isinstance(s, int) or isinstance(s, bool) or s < 0 for s in out) \
            or len(set(out)) != len(out):
        raise UsageError(f"Seeds {seeds!r} must be distinct non-negative integers.")
    return out


def literal(text: str) -> Any:
    """A Python literal, or the text itself when it is none.

    >>> literal("512"), literal("[1, 2]"), literal("cpu")
    (512, [1, 2], 'cpu')
    """
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parse_pairs(pairs: Iterable[str], what: str,
                value: Callable[[str, str], Any] = lambda key, text: literal(text)) -> dict:
    """``["a=1", "b=x"]`` -> ``{"a": 1, "b": "x"}``; ``value(key, text)`` converts (and checks) each value.

    ``what`` names the option in the error for a pair without ``=``; a key given
    twice keeps its last value.

    >>> parse_pairs(["batch_size=512", "device=cpu"], "--set")
    {'batch_size': 512, 'device': 'cpu'}
    >>> parse_pairs(["p"], "Parameter")
    Traceback (most recent call last):
    ...
    symreg.errors.UsageError: Parameter 'p' must look like key=value.
    """
    out = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep:
            raise UsageError(f"{what} {pair!r} must look like key=value.")
        out[key] = value(key, text)
    return out


def parse_set(pairs: Iterable[str]) -> dict:
    """``--set key=value`` pairs; values are Python literals, or plain strings.

    >>> parse_set(["aux=['sym:commutativity']", "lr=3e-3"])
    {'aux': ['sym:commutativity'], 'lr': 0.003}
    """
    return parse_pairs(pairs, "--set")
