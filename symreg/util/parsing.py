"""Parsing of the small command-line mini-languages: seed lists and ``key=value`` pairs.

One ``key=value`` parser, :func:`parse_pairs`, serves both ``-P`` (task
parameters, typed by the task) and ``--set`` (trainer settings, Python literals).
"""
from __future__ import annotations

import ast
from typing import Any, Callable, Iterable

from symreg.errors import UsageError
from symreg.limits import check_seeds

# Seeds are non-negative and below 2**32: numpy's seed range, and what keeps every torch generator
# seed the models derive from one (seed * SEED_STRIDE + salt, symreg/train/models.py) inside 64 bits.
MAX_SEED = 2**32 - 1


def check_seed(seed, what: str = "Seed") -> int:
    """``seed`` itself when it is an integer in 0..MAX_SEED; otherwise the error names it.

    >>> check_seed(7)
    7
    >>> check_seed(-1)
    Traceback (most recent call last):
    ...
    symreg.errors.UsageError: Seed -1 must be a non-negative integer (at most 4294967295).
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise UsageError(f"{what} {seed!r} must be a non-negative integer (at most {MAX_SEED}).")
    return seed


def parse_seeds(text: str) -> list[int]:
    """``"0-4"`` -> [0, 1, 2, 3, 4]; ``"1,5,9"`` -> [1, 5, 9].

    >>> parse_seeds("0-2,7")
    [0, 1, 2, 7]
    """
    out: list[int] = []
    for part in text.split(","):
        lo, sep, hi = part.strip().partition("-")
        try:
            lo, hi = int(lo), int(hi) if sep else int(lo)
        except ValueError:
            raise UsageError(f"Seeds {text!r} must look like 0-19 or 1,5,9 (non-negative integers).") from None
        if not (0 <= lo <= MAX_SEED and 0 <= hi <= MAX_SEED):  # refused before a range is built
            raise UsageError(f"Seeds {text!r}: {hi if 0 <= lo <= MAX_SEED else lo} is not a "
                             f"non-negative integer of at most {MAX_SEED}.")
        check_seeds(len(out) + max(0, hi - lo + 1))  # the seed cap (symreg.limits), before the list is built
        out += list(range(lo, hi + 1))
    if not out or len(set(out)) != len(out) or min(out) < 0 or max(out) > MAX_SEED:
        raise UsageError(f"Seeds {text!r} must be distinct non-negative integers (at most {MAX_SEED}).")
    return out


def seed_list(seeds: int | str | Iterable[int]) -> list[int]:
    """Seeds as a list: one integer, a range text (``"0-4"``, ``"1,5,9"``) or a sequence.

    >>> seed_list(3), seed_list("0-2"), seed_list([4, 1])
    ([3], [0, 1, 2], [4, 1])
    """
    if isinstance(seeds, str):
        return parse_seeds(seeds)
    try:
        out = [seeds] if isinstance(seeds, int) else list(seeds)
    except TypeError:
        raise UsageError(f"Seeds {seeds!r} must be an integer, a text like 0-4 or 1,5,9, "
                         f"or a list of integers.") from None
    for s in out:
        check_seed(s)
    if not out or len(set(out)) != len(out):
        raise UsageError(f"Seeds {seeds!r} must be distinct non-negative integers (at most {MAX_SEED}).")
    return out


def literal(text: str) -> Any:
    """A Python literal, or the text itself when it is none.

    >>> literal("512"), literal("[1, 2]"), literal("cpu")
    (512, [1, 2], 'cpu')
    """
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):  # e.g. "{[1]: 2}", "-" * 10**5
        return text


def parse_pairs(pairs: Iterable[str], what: str,
                value: Callable[[str, str], Any] = lambda key, text: literal(text)) -> dict:
    """``["a=1", "b=x"]`` -> ``{"a": 1, "b": "x"}``; ``value(key, text)`` converts (and checks) each value.

    ``what`` names the option in the errors: for a pair without ``=`` or with
    an empty key, and for a key given twice (which of two values was meant
    cannot be guessed, so neither wins).

    >>> parse_pairs(["batch_size=512", "device=cpu"], "--set")
    {'batch_size': 512, 'device': 'cpu'}
    >>> parse_pairs(["p"], "Parameter")
    Traceback (most recent call last):
    ...
    symreg.errors.UsageError: Parameter 'p' must look like key=value.
    >>> parse_pairs(["p=5", "p=7"], "Parameter")
    Traceback (most recent call last):
    ...
    symreg.errors.UsageError: Parameter 'p' is given twice ('p=5', then 'p=7'); give it once.
    """
    out, given = {}, {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"{what} {pair!r} must look like key=value.")
        if key in given:
            raise UsageError(f"{what} {key!r} is given twice ({given[key]!r}, then {pair!r}); give it once.")
        given[key] = pair
        out[key] = value(key, text)
    return out


def parse_set(pairs: Iterable[str]) -> dict:
    """``--set key=value`` pairs; values are Python literals, or plain strings.

    >>> parse_set(["aux=['sym:commutativity']", "lr=3e-3"])
    {'aux': ['sym:commutativity'], 'lr': 0.003}
    """
    return parse_pairs(pairs, "--set")
