"""Small exact statistics for detector evaluation: ROC-AUC, the sign test, quantiles."""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from symreg.errors import UsageError


def _average_ranks(x: np.ndarray) -> np.ndarray:
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    n = len(x)
    starts = np.flatnonzero(np.r_[True, xs[1:] != xs[:-1]]) if n else np.array([], int)
    ends = np.r_[starts[1:], n]
    ranks = np.empty(n)
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    return ranks


def roc_auc(scores, labels) -> float | None:
    """ROC-AUC of ``scores`` for ``labels`` (higher score = positive) via Mann-Whitney U.

    Ties get average ranks, so a tied positive/negative pair counts 1/2.
    Returns None when either class is empty.

    Examples
    --------
    >>> roc_auc([0.9, 0.8, 0.3, 0.1], [1, 1, 0, 0])
    1.0
    >>> roc_auc([0.5, 0.5, 0.2], [1, 0, 0])
    0.75
    >>> roc_auc([1.0, 2.0], [1, 1]) is None
    True
    """
    s = np.asarray(scores, dtype=float).ravel()
    y = np.asarray(labels).astype(bool).ravel()
    if s.shape != y.shape:
        raise UsageError(f"{len(s)} scores but {len(y)} labels; give one label per score.")
    if np.isnan(s).any():
        raise UsageError("Scores contain NaN; drop or replace them before ranking.")
    n1 = int(y.sum())
    n0 = len(y) - n1
    if n1 == 0 or n0 == 0:
        return None
    u = _average_ranks(s)[y].sum() - n1 * (n1 + 1) / 2.0
    return float(u / (n1 * n0))


def sign_test_p(k: int, n: int) -> float | None:
    """Exact one-sided binomial tail ``P(X >= k | n, 1/2)``; None when ``n == 0``.

    Examples
    --------
    >>> sign_test_p(20, 20) == 2 ** -20
    True
    >>> sign_test_p(0, 5)
    1.0
    """
    if n <= 0:
        return None
    if not 0 <= k <= n:
        raise UsageError(f"k = {k} must be in [0, n = {n}].")
    return float(Fraction(sum(math.comb(n, i) for i in range(k, n + 1)), 2 ** n))


def quantiles(xs) -> dict:
    """Count, median, quartiles and range of ``xs`` (all None when it is empty).

    >>> quantiles([1, 2, 3, 4, 5])
    {'n': 5, 'median': 3.0, 'q1': 2.0, 'q3': 4.0, 'min': 1.0, 'max': 5.0}
    """
    if not xs:
        return {"n": 0, "median": None, "q1": None, "q3": None, "min": None, "max": None}
    a = np.asarray(xs, dtype=float)
    q1, med, q3 = np.percentile(a, [25, 50, 75])
    return {"n": len(xs), "median": float(med), "q1": float(q1), "q3": float(q3),
            "min": float(a.min()), "max": float(a.max())}
