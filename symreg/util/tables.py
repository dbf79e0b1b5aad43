"""Tables and numbers as text: one formatting rule for every report and printed summary.

A table is a list of rows of strings, the first row the header.
:func:`text_table` aligns it for a terminal, :func:`markdown_table` renders
it for a report; :func:`fmt_number` and :func:`fmt_epoch` turn values into
cells, with ``-`` (or ``never``) for a missing one.
"""
from __future__ import annotations

MISSING = "-"  # the cell of a value that is not there
NEVER = "never"  # the cell of an epoch that never came


def fmt_number(x, spec: str = "", missing: str = MISSING) -> str:
    """``x`` formatted with the format ``spec`` ("" = ``str(x)``), or ``missing`` for None.

    >>> fmt_number(None), fmt_number(12), fmt_number(0.000123456, ".3g"), fmt_number(5, "+g")
    ('-', '12', '0.000123', '+5')
    """
    return missing if x is None else format(x, spec)


def fmt_epoch(x, never: str = NEVER) -> str:
    """An epoch count: whole numbers as integers, others to one decimal, ``never`` for None.

    >>> fmt_epoch(1200.0), fmt_epoch(1237.5), fmt_epoch(None)
    ('1200', '1237.5', 'never')
    """
    return never if x is None else (str(int(x)) if float(x).is_integer() else f"{x:.1f}")


def text_table(rows: list[list[str]]) -> str:
    """Columns padded to their widest cell, two spaces apart, no trailing spaces.

    >>> print(text_table([["run", "epoch"], ["a", "10"], ["long name", "-"]]))
    run        epoch
    a          10
    long name  -
    """
    if not rows:
        return ""
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def _cell(c) -> str:
    return str(c).replace("|", "\\|")


def markdown_table(rows: list[list[str]]) -> str:
    """A Markdown table (the first row is the header); a ``|`` in a cell is escaped.

    >>> print(markdown_table([["a", "b"], ["1", "x|y"]]))
    | a | b |
    |---|---|
    | 1 | x\\|y |
    """
    if not rows:
        return ""
    head, *body = rows
    lines = ["| " + " | ".join(_cell(c) for c in head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_cell(c) for c in r) + " |" for r in body]
    return "\n".join(lines)
