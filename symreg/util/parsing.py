"""Parsing of the small command-line mini-languages: seed lists and ``key=value`` settings."""
from __future__ import annotations

import ast

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


def parse_set(pairs: tuple[str, ...]) -> dict:
    """``--set key=value`` pairs; values are Python literals, or plain strings."""
    out = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep:
            raise UsageError(f"--set {pair!r} must look like key=value.")
        try:
            out[key] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            out[key] = text
    return out
