"""Progress measures on a decomposition: energy per component, key components, restricted and excluded embeddings.

Every function takes embeddings batched over seeds, shape ``(S, n, d)`` with
one row per token (or per class, for the unembedding: pass ``W_U`` of shape
``(S, d, classes)`` transposed to ``(S, classes, d)``), as numpy arrays or
torch tensors; a single ``(n, d)`` matrix is one seed. Rows are centred
(the mean over tokens removed) before energies are measured, so a constant
offset, which the component containing the constants would otherwise
dominate, does not count.

The fraction of component ``i`` is ``|P_i (E - mean)|^2 / |E - mean|^2`` with
``P_i`` its orthogonal projector: the fractions of a seed add up to 1, and they
are unchanged when the group moves the tokens (the projectors commute with it).
A random embedding puts about ``dim_i / n`` in component ``i`` (:func:`baseline`).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from symreg.errors import UsageError
from symreg.reps.decomposition import Decomposition


def _rows(embed: Any, dec: Decomposition) -> tuple[Any, bool]:
    """``embed`` as (S, n, d), and whether it was one seed."""
    single = len(embed.shape) == 2
    e = embed[None] if single else embed
    if len(e.shape) != 3 or e.shape[1] != dec.n:
        raise UsageError(f"Expected an embedding of shape (S, {dec.n}, d) or ({dec.n}, d), one row per "
                         f"token of the decomposition; got shape {tuple(embed.shape)}.")
    return e, single


def _numpy(x: Any) -> np.ndarray:
    return x.detach().cpu().double().numpy() if hasattr(x, "detach") else np.asarray(x, dtype=np.float64)


def energy_fractions(embed: Any, dec: Decomposition) -> np.ndarray:
    """Fraction of the centred embedding's energy in each component: (S, K), or (K,) for one seed.

    A seed whose rows are all equal (no centred energy) gets zeros.

    >>> from symreg.reps.decomposition import decompose_permutations
    >>> dec = decompose_permutations([[1, 2, 3, 4, 0]])  # Z_5: trivial, frequency 1, frequency 2
    >>> t = np.arange(5)
    >>> wave = np.stack([np.cos(2 * np.pi * 2 * t / 5), np.sin(2 * np.pi * 2 * t / 5)], axis=1)
    >>> energy_fractions(wave, dec).round(6).tolist()
    [0.0, 0.0, 1.0]
    """
    e, single = _rows(_numpy(embed), dec)
    z = dec.basis.T @ (e - e.mean(axis=1, keepdims=True))  # (S, n, d) in the basis of components
    energy = np.add.reduceat((z ** 2).sum(axis=2), dec.bounds[:-1], axis=1)  # (S, K)
    total = energy.sum(axis=1, keepdims=True)
    nonzero = total > 1e-20 * (e ** 2).sum(axis=(1, 2))[:, None]  # constant rows: rounding, no energy
    out = np.divide(energy, total, out=np.zeros_like(energy), where=nonzero)
    return out[0] if single else out


def baseline(dec: Decomposition) -> np.ndarray:
    """Expected fractions (K,) for an embedding with i.i.d. Gaussian rows: ``dim_i / (n - 1)``, the constants excluded.

    >>> from symreg.reps.decomposition import decompose_permutations
    >>> baseline(decompose_permutations([[1, 2, 3, 4, 0]])).tolist()
    [0.0, 0.5, 0.5]
    """
    ones = np.full(dec.n, 1 / np.sqrt(dec.n))
    const = np.add.reduceat((ones @ dec.basis) ** 2, dec.bounds[:-1])  # the constants' share per component
    return (dec.dims - const) / (dec.n - 1)


def key_components(fractions: Any, threshold: float = 0.9) -> np.ndarray:
    """Mask (S, K) (or (K,)) of the fewest components whose fractions add up to ``threshold``, largest first.

    >>> key_components(np.array([0.05, 0.6, 0.3, 0.05])).tolist()
    [False, True, True, False]
    """
    if not 0 < threshold <= 1:
        raise UsageError(f"threshold={threshold} must be in (0, 1].")
    f = np.asarray(fractions, dtype=np.float64)
    single = f.ndim == 1
    f = f[None] if single else f
    order = np.argsort(-f, axis=1, kind="stable")
    before = np.cumsum(np.take_along_axis(f, order, axis=1), axis=1) - np.take_along_axis(f, order, axis=1)
    total = f.sum(axis=1, keepdims=True)
    keep_sorted = before < threshold * total - 1e-12  # still short of the threshold before this one
    keep_sorted[:, 0] = True
    mask = np.zeros_like(keep_sorted)
    np.put_along_axis(mask, order, keep_sorted, axis=1)
    return mask[0] if single else mask


def sparsity(fractions: Any, dec: Decomposition, threshold: float = 0.9) -> dict[str, np.ndarray]:
    """Per seed: ``n_key`` (fewest components carrying ``threshold``), ``key_dim`` (share of the
    n - 1 centred dimensions they span), ``top`` (largest fraction) and ``effective`` (exp of the
    fractions' entropy: 1 when one component holds everything, K when all hold equal shares).

    >>> from symreg.reps.decomposition import decompose_permutations
    >>> dec = decompose_permutations([[1, 2, 3, 4, 0]])
    >>> {k: v.tolist() for k, v in sparsity(np.array([[0.0, 1.0, 0.0]]), dec).items()}
    {'n_key': [1], 'key_dim': [0.5], 'top': [1.0], 'effective': [1.0]}
    """
    f = np.atleast_2d(np.asarray(fractions, dtype=np.float64))
    mask = key_components(f, threshold)
    p = f / np.maximum(f.sum(axis=1, keepdims=True), 1e-300)
    entropy = -np.where(p > 0, p * np.log(np.where(p > 0, p, 1)), 0).sum(axis=1)
    centred = baseline(dec) * (dec.n - 1)
    return {"n_key": mask.sum(axis=1), "key_dim": (mask * centred).sum(axis=1) / (dec.n - 1),
            "top": f.max(axis=1), "effective": np.exp(entropy)}


def _project(embed: Any, dec: Decomposition, mask: Any, keep: bool) -> Any:
    e, single = _rows(embed, dec)
    m = np.asarray(mask, dtype=bool)
    m = np.broadcast_to(m if m.ndim == 2 else m[None], (e.shape[0], len(dec.components)))
    cols = np.repeat(m, np.diff(dec.bounds), axis=1).astype(np.float64)  # (S, n): basis columns kept
    if hasattr(e, "new_tensor"):  # a torch tensor: stay on its device, keep its graph
        basis, cols = e.new_tensor(dec.basis), e.new_tensor(cols)
    else:
        e, basis = np.asarray(e, dtype=np.float64), dec.basis
    mean = e.mean(1)[:, None, :]
    z = basis.T @ (e - mean)  # (S, n, d) coordinates in the decomposition's basis
    inside = basis @ (cols[:, :, None] * z)
    out = mean + inside if keep else e - inside
    return out[0] if single else out


def restrict(embed: Any, dec: Decomposition, mask: Any) -> Any:
    """The embedding with its centred part projected onto the components in ``mask`` (K,) or (S, K).

    The mean row is kept; numpy in, numpy out; torch in, torch out (differentiable).

    >>> from symreg.reps.decomposition import decompose_permutations
    >>> dec = decompose_permutations([[1, 2, 0]])  # Z_3: trivial, frequency 1
    >>> e = np.array([[1.0], [2.0], [6.0]])
    >>> restrict(e, dec, [True, False]).ravel().round(9).tolist()  # the constants only: the mean row
    [3.0, 3.0, 3.0]
    """
    return _project(embed, dec, mask, keep=True)


def exclude(embed: Any, dec: Decomposition, mask: Any) -> Any:
    """The embedding with the components in ``mask`` removed from its centred part (the mean row kept).

    ``restrict(e, dec, m) + exclude(e, dec, m) == e + mean row``.

    >>> from symreg.reps.decomposition import decompose_permutations
    >>> dec = decompose_permutations([[1, 2, 0]])
    >>> exclude(np.array([[1.0], [2.0], [6.0]]), dec, [False, True]).ravel().round(9).tolist()
    [3.0, 3.0, 3.0]
    """
    return _project(embed, dec, mask, keep=False)
