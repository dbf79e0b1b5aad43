"""Small helpers with no symreg dependencies beyond its errors: mini-language parsing and text tables.

The simplest interface: ``parse_seeds("0-4")`` reads a seed list;
``text_table(rows)`` / ``markdown_table(rows)`` render a table whose first row
is the header, with cells from ``fmt_number(x)`` (``-`` for a missing value).
"""
from __future__ import annotations

from symreg.util.parsing import parse_seeds, parse_set
from symreg.util.tables import fmt_epoch, fmt_number, markdown_table, text_table

__all__ = [
    "fmt_epoch",
    "fmt_number",
    "markdown_table",
    "parse_seeds",
    "parse_set",
    "text_table",
]
