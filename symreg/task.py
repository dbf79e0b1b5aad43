"""Tasks: finite supervised tables with an oracle.

A task maps a fixed number of input tokens (its *arity*) to one output class.
Its domain is a finite set of token tuples, enumerated in lexicographic order,
so a row of the domain is identified by its index. The simplest interface is::

    task = get_task("mod_add", p=7)
    x = task.inputs()            # (N, arity) int64, every input once
    y = task.label(x)            # (N,) int64, the oracle, vectorised

Subclasses declare ``name``, ``domain``, ``parameters``, ``preset`` and
``quick``, and implement ``slot_tokens``, ``label``, ``decode``, ``encode``
and ``symmetries``. ``task.size`` (the number of inputs) is a product of slot
sizes, never an enumeration; a task with a large vocabulary also defines
``slot_sizes`` as a formula, so that its size is known before its tokens are
listed. The domain is enumerated only after :func:`symreg.limits.check_domain`
says it fits in memory.
"""
from __future__ import annotations

import functools
import math
import sys
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, ClassVar

import numpy as np

from symreg.errors import UsageError, unknown

if TYPE_CHECKING:
    from symreg.symmetry.base import Symmetry

DOMAINS = ("algebraic", "structural", "relational")


@dataclass(frozen=True)
class Param:
    """One task parameter: its default, its type, a help line and a check.

    ``check`` returns ``None`` for a valid value, or the reason it is invalid.
    """

    default: Any
    help: str
    check: Callable[[Any], str | None] | None = None

    @property
    def type(self) -> type:
        return type(self.default)

    def parse(self, name: str, text: str) -> Any:
        """Parse ``text`` from the command line into this parameter's type.

        >>> Param(113, "modulus").parse("p", "97")
        97
        """
        try:
            if self.type is bool:
                if text.lower() not in ("1", "0", "true", "false", "yes", "no"):
                    raise ValueError(text)
                return text.lower() in ("1", "true", "yes")
            return self.type(text)
        except ValueError:
            raise UsageError(
                f"Parameter {name}={text!r} is not a valid {self.type.__name__}."
            ) from None


@dataclass(frozen=True)
class Preset:
    """A training configuration: train fraction, weight decay, epochs.

    ``params`` overrides task parameters (CPU presets shrink the task);
    ``model`` names the model and ``extra`` holds further trainer settings.
    """

    train_frac: float
    weight_decay: float
    epochs: int
    params: dict = field(default_factory=dict)
    model: str = "transformer"
    extra: dict = field(default_factory=dict)
    note: str = ""


def row_text(row) -> str:
    """A row of tokens (or a decoded value) as text; a tuple of one has no trailing comma.

    >>> row_text((3, 5)), row_text((3,)), row_text(()), row_text("d(1, 2)")
    ('(3, 5)', '(3)', '()', 'd(1, 2)')
    """
    return f"({', '.join(str(v) for v in row)})" if isinstance(row, tuple) else str(row)


_WITNESSES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37)


def is_prime(n: int) -> bool:
    """Primality, fast at any size: Miller-Rabin with the first 12 primes as witnesses.

    Exact below 3.3e24 (every parameter a task can use); a strong
    probable-prime test above.

    >>> [n for n in range(20) if is_prime(n)], is_prime(2**61 - 1), is_prime(10**18 + 1)
    ([2, 3, 5, 7, 11, 13, 17, 19], True, False)
    """
    if n < 2:
        return False
    for w in _WITNESSES:
        if n % w == 0:
            return n == w
    d, r = n - 1, 0
    while d % 2 == 0:
        d, r = d // 2, r + 1
    for w in _WITNESSES:
        x = pow(w, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


class Task(ABC):
    """A finite supervised task: tokens in, one class out, with its symmetries."""

    name: ClassVar[str]
    domain: ClassVar[str]
    version: ClassVar[int] = 1
    description: ClassVar[str] = ""
    parameters: ClassVar[dict[str, Param]] = {}
    preset: ClassVar[Preset]  # the paper's configuration
    quick: ClassVar[Preset]  # a CPU configuration that groks in about a minute

    def __init__(self, **params: Any) -> None:
        unknown_keys = set(params) - set(self.parameters)
        if unknown_keys:
            bad = sorted(unknown_keys)[0]
            raise unknown(f"parameter for task '{self.name}'", bad, self.parameters)
        self.params = {k: params.get(k, p.default) for k, p in self.parameters.items()}
        for key, value in self.params.items():
            spec = self.parameters[key]
            accepted = (int, float) if spec.type is float else spec.type
            if not isinstance(value, accepted) or (
                isinstance(value, bool) and spec.type is not bool
            ):
                raise UsageError(
                    f"Parameter {key}={value!r} of task '{self.name}' must be of type "
                    f"{spec.type.__name__}."
                )
            reason = spec.check(value) if spec.check else None
            if reason:
                raise UsageError(f"Parameter {key}={value!r} of task '{self.name}' {reason}.")
        self.setup()

    def setup(self) -> None:
        """Build derived structures after the parameters are validated."""

    # --- structure ---------------------------------------------------------
    @property
    @abstractmethod
    def vocab_size(self) -> int:
        """Number of distinct input tokens (ids 0 .. vocab_size-1)."""

    @property
    @abstractmethod
    def n_classes(self) -> int:
        """Number of output classes (ids 0 .. n_classes-1)."""

    @abstractmethod
    def slot_tokens(self) -> list[np.ndarray]:
        """The tokens allowed in each input slot; the domain is their product."""

    def slot_sizes(self) -> list[int]:
        """How many distinct tokens each slot allows, without listing the domain.

        The default lists each slot's tokens (after a check that a slot's worth
        of tokens fits in memory); a task with a large vocabulary overrides it
        with a formula, so that its size is known before anything is allocated.
        """
        from symreg.limits import check

        check({"token lists": 8 * 4 * self.vocab_size}, f"Listing the tokens of task '{self.name}'")
        return [len(np.unique(np.asarray(s, dtype=np.int64))) for s in self.slot_tokens()]

    @functools.cached_property
    def _slot_counts(self) -> tuple[int, ...]:
        return tuple(int(n) for n in self.slot_sizes())

    @property
    def arity(self) -> int:
        return len(self._slot_counts)

    @property
    def size(self) -> int:
        """Number of inputs (the product of the slot sizes): cheap, nothing is enumerated.

        >>> from symreg.registry import get_task
        >>> get_task("mod_add", p=10**9 + 7).size
        1000000014000000049
        """
        return math.prod(self._slot_counts)

    @abstractmethod
    def label(self, x: np.ndarray) -> np.ndarray:
        """The oracle: class of each row of ``x`` (shape (N, arity))."""

    @abstractmethod
    def decode(self, tokens) -> Any:
        """The readable value behind one input row (inverse of ``encode``)."""

    @abstractmethod
    def encode(self, value) -> tuple[int, ...]:
        """The token row for a readable value (inverse of ``decode``)."""

    def symmetries(self) -> list["Symmetry"]:
        """The symmetries this task declares itself (plugins may add more)."""
        return []

    def token_name(self, token: int) -> str:
        return str(int(token))

    def class_name(self, cls: int) -> str:
        return str(int(cls))

    # --- embedding geometry: what `symreg plot`'s embedding figure, eff_dim and geom:* losses read ---
    def geometry_tokens(self) -> np.ndarray:
        """The tokens whose learned embedding geometry is studied: token ids, int, shape (K,).

        Row ``i`` of :meth:`geometry_coords` and position ``i`` in
        :meth:`geometry_edges` refer to ``geometry_tokens()[i]``. These rows of
        the input embedding, centred, give the effective dimension (``eff_dim``
        in the metrics), the ``geom:*`` priors, and the principal components the
        embedding figure (``symreg plot``, ``embedding.png``) draws, coloured and
        labelled (``token_name``) in this order. Default: every token some slot
        allows. Override to leave out tokens without geometry (the comparison
        tasks keep their entities and drop the relation tokens).

        >>> from symreg.registry import get_task
        >>> get_task("mod_add", p=5).geometry_tokens().tolist()
        [0, 1, 2, 3, 4]
        """
        return np.unique(np.concatenate(self.slot_tokens()))

    def geometry_coords(self) -> np.ndarray | None:
        """Known coordinates of the geometry tokens, shape (K, D) float (row ``i`` for
        ``geometry_tokens()[i]``), or None (the default) when the task has none.

        They are never drawn themselves; the embedding figure draws the model's
        own principal components and joins the tokens :meth:`geometry_edges`
        names, so that whether the learned geometry matches the task's shows.
        With coordinates the default edges are their nearest neighbours; without
        them, an algebraic task whose geometry tokens are ``0..K-1`` has each
        panel searched for a circle (``t`` at angle ``2*pi*k*t/K``, as a grokked
        ``x+y mod p`` draws), edges joining its neighbours. The graph tasks give
        a layout (a path axis one coordinate, a cycle axis a circle), the
        comparison tasks the attribute grid.

        >>> from symreg.registry import get_task
        >>> grid = get_task("graph_grid2d", rows=2, cols=3)
        >>> get_task("mod_add", p=5).geometry_coords() is None, grid.geometry_coords().shape
        (True, (6, 2))
        """
        return None

    def geometry_edges(self) -> np.ndarray:
        """Pairs ``(i, j)``, ``i < j``, of positions in :meth:`geometry_tokens` that are neighbours: int, shape (E, 2).

        Default: nearest neighbours in :meth:`geometry_coords` (pairs at most
        1.3 times the smallest distance apart: grid, cycle and cube edges,
        attribute-grid steps); without coordinates, consecutive tokens
        ``(i, i+1)``. The embedding figure joins each pair with a line in every
        panel, and ``geom:lipschitz`` pulls each pair's embeddings together.
        Override it to give a graph's own edges when distances do not tell them.

        >>> from symreg.registry import get_task
        >>> get_task("mod_add", p=5).geometry_edges().tolist()
        [[0, 1], [1, 2], [2, 3], [3, 4]]
        """
        coords = self.geometry_coords()
        n = len(self.geometry_tokens())
        if coords is None:
            return np.stack([np.arange(n - 1), np.arange(1, n)], 1)
        d = np.linalg.norm(coords[:, None, :] - coords[None, :, :], axis=-1)
        step = d[d > 1e-9].min()
        # up to 30% longer: a cylinder's chords around its cycle are a little shorter than its
        # unit steps along the path, while diagonals are at least 41% longer
        i, j = np.nonzero(np.triu((d > 1e-9) & (d <= 1.3 * step), 1))
        return np.stack([i, j], 1)

    @property
    def encoding_example(self) -> str:
        """One worked example of the token encoding, in words (row ``size // 3 + 1``, not enumerated)."""
        slots = [np.unique(np.asarray(s, dtype=np.int64)) for s in self.slot_tokens()]
        i = min(self.size // 3 + 1, self.size - 1)
        x = np.zeros(len(slots), dtype=np.int64)
        for j in range(len(slots) - 1, -1, -1):  # lexicographic: the last slot varies fastest
            i, r = divmod(i, len(slots[j]))
            x[j] = slots[j][r]
        y = int(self.label(x[None])[0])
        return f"{row_text(self.decode(x))} -> tokens {row_text(tuple(int(t) for t in x))} -> class {y}"

    # --- the domain ----------------------------------------------------------
    @functools.cached_property
    def _domain(self) -> tuple[np.ndarray, np.ndarray]:
        from symreg.limits import check_domain

        check_domain(self)  # refuse before allocating what cannot fit
        slots = [np.unique(np.asarray(s, dtype=np.int64)) for s in self.slot_tokens()]
        grids = np.meshgrid(*slots, indexing="ij")
        x = np.stack([g.reshape(-1) for g in grids], axis=1)
        keys = self._keys(x)
        assert np.all(np.diff(keys) > 0), "domain must be strictly lexicographic"
        return x, keys

    def _keys(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.int64)
        weights = self.vocab_size ** np.arange(x.shape[1] - 1, -1, -1, dtype=np.int64)
        return x @ weights

    def inputs(self) -> np.ndarray:
        """Every input of the task once, in lexicographic order (read-only)."""
        x = self._domain[0]
        x.setflags(write=False)
        return x

    @functools.cached_property
    def labels(self) -> np.ndarray:
        """The oracle's class for every row of ``inputs()``."""
        y = np.asarray(self.label(self.inputs()), dtype=np.int64)
        y.setflags(write=False)
        return y

    def __len__(self) -> int:
        n = self.size
        if n > sys.maxsize:  # len() cannot say it; nothing could enumerate it either
            from symreg.limits import TooLargeError, count

            args = ", ".join(f"{k}={v}" for k, v in self.params.items())
            raise TooLargeError(f"Task '{self.name}'{f' ({args})' if args else ''} has {count(n)} inputs, more "
                                f"than can be indexed ({sys.maxsize:,}); use smaller parameters.")
        return n

    def contains(self, x: np.ndarray) -> np.ndarray:
        """Whether each row of ``x`` is in the domain."""
        x = np.asarray(x, dtype=np.int64)
        if x.ndim != 2 or x.shape[1] != self.arity:
            return np.zeros(len(x), dtype=bool)
        inside = np.all((x >= 0) & (x < self.vocab_size), axis=1)
        keys = self._domain[1]
        wanted = self._keys(np.where(inside[:, None], x, 0))
        pos = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
        return inside & (keys[pos] == wanted)

    def index_of(self, x: np.ndarray) -> np.ndarray:
        """Row index in ``inputs()`` of each row of ``x``; raises if one is outside."""
        x = np.asarray(x, dtype=np.int64)
        ok = self.contains(x)
        if not ok.all():
            bad = tuple(int(t) for t in x[~ok][0])
            raise UsageError(f"Input {bad} is not in the domain of task '{self.name}'.")
        return np.searchsorted(self._domain[1], self._keys(x))

    # --- description -----------------------------------------------------------
    def spec(self) -> dict:
        """A JSON-ready description: name, parameters, sizes, version."""
        return {
            "name": self.name,
            "domain": self.domain,
            "version": self.version,
            "params": dict(self.params),
            "arity": self.arity,
            "vocab_size": self.vocab_size,
            "n_classes": self.n_classes,
            "size": self.size,
        }

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"<Task {self.name}({args})>"
