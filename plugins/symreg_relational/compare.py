"""Comparison of entities by their attributes: ``compare_2d`` and ``compare_3d``.

Each entity is a person with ``k`` integer attributes (age, height, weight),
each in ``0 .. m-1``; every combination is one entity. Only relative order is
supervised: the input ``(a, r, b)`` asks whether relation ``r`` (``<``, ``=``
or ``>`` on one attribute) holds between entities ``a`` and ``b``.

Encoding. Entity tokens are ``0 .. E-1`` with ``E = m**k``, numbered in mixed
radix with the first attribute most significant. Relation ``op`` on attribute
``i`` is token ``E + 3*i + op`` (op 0 ``<``, 1 ``=``, 2 ``>``). Classes are
0 (no) and 1 (yes). For ``compare_2d`` (m=7): entity (2,5) is token 2*7+5=19;
'height >' is token 49+3*1+2=54; (19, 54, 8) asks whether height 5 > height 1
(entity 8 is (1,1)): class 1 (yes).

>>> task = Compare2D()
>>> task.encode(((2, 5), "height >", (1, 1)))
(19, 54, 8)
>>> int(task.label(np.array([[19, 54, 8]]))[0])
1

The paper's labels are binary, yet its transitivity metric uses "logit_> -
logit_<" (research/paper.md 1.3). Our resolution, implemented by
:class:`symreg.Transitivity`: the model's log-odds that ``a > b`` on an
attribute are ``l_ab = s(a, >, b) - s(a, <, b)``, where ``s = logit(yes) -
logit(no)`` of that query. The output stays yes/no, so every symmetry below is
a pure relabelling of tokens and slots that leaves the class unchanged.
"""
from __future__ import annotations

import functools
import itertools
from typing import ClassVar

import numpy as np

from symreg import GroupAction, Param, Preset, Task, Transitivity, UsageError, element

ATTRIBUTES = ("age", "height", "weight")
OPS = ("<", "=", ">")
LESS, EQUAL, GREATER = range(3)

PAPER = Preset(train_frac=0.2, weight_decay=1.0, epochs=100_000, note="paper: 20% train, wd 1")
QUICK = Preset(train_frac=0.4, weight_decay=1.0, epochs=5_000,
               note="CPU, provisional (not yet calibrated): paper sizes, 40% train")


def _range_check(k: int, hi: int):
    def check(m: int) -> str | None:
        if m < 2:
            return f"must be between 2 and {hi} (an order needs at least 2 values)"
        if m > hi:
            return (f"must be between 2 and {hi} (the domain has 3*{k}*m^{2 * k} inputs: "
                    f"{3 * k * m ** (2 * k):,} for m={m}, above the cap of 200,000)")
        return None
    return check


class Compare(Task):
    """Is ``value_attr(a) op value_attr(b)``? Entities on an ``m**k`` grid of attribute values.

    Input ``(entity, relation, entity)``; class 1 (yes) iff the relation holds,
    0 (no) otherwise. See the module docstring for the encoding and for how the
    paper's "logit_> - logit_<" is read off these yes/no outputs.
    """

    domain = "relational"
    attributes: ClassVar[tuple[str, ...]]
    preset, quick = PAPER, QUICK

    def setup(self) -> None:
        m, k = self.m, self.k
        # coords[t] = attribute values of entity t, first attribute most significant
        self.coords = np.array(list(itertools.product(range(m), repeat=k)), dtype=np.int64).reshape(-1, k)
        self.radix = m ** np.arange(k - 1, -1, -1, dtype=np.int64)

    @property
    def m(self) -> int:
        return self.params["m"]

    @property
    def k(self) -> int:
        return len(self.attributes)

    @property
    def n_entities(self) -> int:
        return self.m ** self.k

    @property
    def vocab_size(self) -> int:
        return self.n_entities + 3 * self.k

    @property
    def n_classes(self) -> int:
        return 2

    def relation(self, attr: int, op: int) -> int:
        """The token of relation ``op`` (0 ``<``, 1 ``=``, 2 ``>``) on attribute ``attr``."""
        return self.n_entities + 3 * attr + op

    def entity(self, values) -> int:
        """The token of the entity with these attribute values."""
        return int(np.asarray(values, dtype=np.int64) @ self.radix)

    def slot_tokens(self):
        e = np.arange(self.n_entities)
        return [e, np.arange(self.n_entities, self.vocab_size), e]

    def label(self, x):
        x = np.asarray(x, dtype=np.int64)
        attr, op = np.divmod(x[:, 1] - self.n_entities, 3)
        va, vb = self.coords[x[:, 0], attr], self.coords[x[:, 2], attr]
        return (np.sign(va - vb) + 1 == op).astype(np.int64)  # sign+1: 0 '<', 1 '=', 2 '>'

    # --- names ----------------------------------------------------------------
    def token_name(self, token: int) -> str:
        t = int(token)
        if t < self.n_entities:
            return "(" + ",".join(str(v) for v in self.coords[t]) + ")"
        attr, op = divmod(t - self.n_entities, 3)
        return f"{self.attributes[attr]}{OPS[op]}"

    def class_name(self, cls: int) -> str:
        return ("no", "yes")[int(cls)]

    def decode(self, tokens):
        a, r, b = (int(t) for t in tokens)
        attr, op = divmod(r - self.n_entities, 3)
        return (tuple(int(v) for v in self.coords[a]), f"{self.attributes[attr]} {OPS[op]}",
                tuple(int(v) for v in self.coords[b]))

    @functools.cached_property
    def _relations(self) -> dict[str, int]:
        return {f"{name}{o}": self.relation(i, j)
                for i, name in enumerate(self.attributes) for j, o in enumerate(OPS)}

    def encode(self, value):
        a, rel, b = value
        for ent in (a, b):
            if len(ent) != self.k or not all(0 <= int(v) < self.m for v in ent):
                raise UsageError(f"Entity {tuple(ent)!r} is not {self.k} attribute values in 0..{self.m - 1}.")
        key = str(rel).replace(" ", "")
        if key not in self._relations:
            raise UsageError(f"Relation {rel!r} is unknown; valid: {', '.join(self._relations)}.")
        return (self.entity(a), self._relations[key], self.entity(b))

    @property
    def encoding_example(self) -> str:
        a = tuple((2 + 3 * i) % self.m for i in range(self.k))
        b = tuple((3 + 5 * i) % self.m for i in range(self.k))
        x = self.encode((a, f"{self.attributes[-1]} >", b))
        y = int(self.label(np.array([x]))[0])
        return f"is {a} > {b} on {self.attributes[-1]}? tokens {x} -> class {y} ({self.class_name(y)})"

    def geometry_tokens(self) -> np.ndarray:
        return np.arange(self.n_entities)

    def geometry_coords(self) -> np.ndarray:
        return self.coords.astype(float)

    # --- symmetries -------------------------------------------------------------
    def _token_map(self, coords: np.ndarray, relations: np.ndarray) -> np.ndarray:
        """A map of all tokens: entity ``t`` -> entity at ``coords[t]``, relation ``E+j`` -> ``E+relations[j]``."""
        return np.concatenate([coords @ self.radix, self.n_entities + relations])

    def _converse(self) -> np.ndarray:
        rel = np.arange(3 * self.k).reshape(self.k, 3)[:, ::-1].reshape(-1)  # swap < and >
        return self._token_map(self.coords, rel)

    def _reverse(self, attr: int) -> np.ndarray:
        coords = self.coords.copy()
        coords[:, attr] = self.m - 1 - coords[:, attr]
        rel = np.arange(3 * self.k).reshape(self.k, 3)
        rel[attr] = rel[attr][::-1]
        return self._token_map(coords, rel.reshape(-1))

    def _permute(self, sigma: list[int]) -> np.ndarray:
        """Attribute ``i`` becomes attribute ``sigma[i]``, in entities and relations."""
        coords = np.empty_like(self.coords)
        coords[:, sigma] = self.coords
        rel = (3 * np.asarray(sigma)[:, None] + np.arange(3)).reshape(-1)
        return self._token_map(coords, rel)

    def symmetries(self):
        k, names = self.k, self.attributes
        perms = [[1, 0] + list(range(2, k))]
        perm_names = [f"swap {names[0]},{names[1]}"]
        if k >= 3:
            perms.append([(i + 1) % k for i in range(k)])
            perm_names.append("->".join(names + names[:1]))
        entities = np.arange(self.n_entities)
        return [
            GroupAction("converse", [element(self, slots=[2, 1, 0], tokens=self._converse())],
                        "(a r b) = (b r' a), r' exchanging < and >", ["(a r b)->(b r' a)"]),
            GroupAction("reversal", [element(self, tokens=self._reverse(i)) for i in range(k)],
                        "reflect one attribute's values (v -> m-1-v) and exchange its < and >",
                        [f"reverse {n}" for n in names]),
            GroupAction("attribute_permutation", [element(self, tokens=self._permute(s)) for s in perms],
                        "permute attributes (all have range m) in entities and relations", perm_names),
            Transitivity(entities, [self.relation(i, LESS) for i in range(k)],
                         [self.relation(i, GREATER) for i in range(k)],
                         description="a<b and b<c imply a<c on each attribute; model log-odds "
                                     "l_ab = s(a,>,b) - s(a,<,b), s = logit(yes) - logit(no)"),
        ]


class Compare2D(Compare):
    """Two attributes (age, height) on a 7x7 grid: 49 entities, 6 relations, 14,406 inputs."""

    name = "compare_2d"
    description = "is a r b? for entities with 2 attributes (age, height) in 0..m-1; yes/no"
    attributes = ATTRIBUTES[:2]
    parameters = {"m": Param(7, "values per attribute (entities = m^2)", _range_check(2, 13))}


class Compare3D(Compare):
    """Three attributes (age, height, weight) on a 3x3x3 grid: 27 entities, 9 relations, 6,561 inputs."""

    name = "compare_3d"
    description = "is a r b? for entities with 3 attributes (age, height, weight) in 0..m-1; yes/no"
    attributes = ATTRIBUTES
    parameters = {"m": Param(3, "values per attribute (entities = m^3)", _range_check(3, 5))}
