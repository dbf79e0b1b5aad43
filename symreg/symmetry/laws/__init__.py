"""Laws: identities that tie several predictions together.

No single group element expresses them, so each law names its instances (rows
of tokens), says when an instance holds under the task's oracle, measures a
model's violation by combining its predictive distributions, as the paper
does, and owns its deduction rule:

- :class:`Associativity`: ``f(f(a, b), c) = f(a, f(alpha b, beta c))``; the
  model's two paths are marginalised, ``P(k) = sum_w p(w|a,b) p(k|w,c)``.
- :class:`TriangleEquality`: ``d(a,c) = d(a,b) + d(b,c)`` for ``b`` on a
  shortest ``a``-``c`` path; the two distance distributions are convolved.
- :class:`Transitivity`: ``a < b`` and ``b < c`` give ``a < c``; the model's
  log-odds are compared as a Bradley-Terry model, ``l_ac ~ l_ab + l_bc``.

A new law subclasses :class:`Law`, which verifies it exhaustively or by a
hypothesis search.
"""
from __future__ import annotations

from symreg.symmetry.laws.associativity import Associativity
from symreg.symmetry.laws.law import Law
from symreg.symmetry.laws.transitivity import Transitivity
from symreg.symmetry.laws.triangle import TriangleEquality, triangle_bounds

__all__ = ["Associativity", "Law", "Transitivity", "TriangleEquality", "triangle_bounds"]
