"""Representation-theoretic progress measures at every evaluation (issue 15), batched over seeds.

For each chosen group action (``TrainConfig.reps``) the token space, and for
an equivariance also the class space, is decomposed once per trainer
(:func:`symreg.reps.decompose`); each evaluation then measures, per seed:

- ``fractions``: the share of the centred token embedding's energy in each
  component (of the unembedding's, ``W_U`` transposed, for ``ACTION:classes``);
- ``key`` (component indices), ``n_key``, ``key_dim`` and ``effective``: the
  fewest components carrying :data:`THRESHOLD` of it, and a sparsity summary;
- for one action (the first named; with ``auto`` the token action with the
  most components), the train and test loss with the token embedding
  *restricted* to its key components and with them *excluded* (Nanda et al.'s
  restricted and excluded loss, on the embedding instead of the logits).

``reps = ["auto"]`` (default) measures every token action of a symmetry that
verifies, on at most :data:`AUTO_MAX_TOKENS` tokens; ``[]`` or ``["none"]``
measures nothing; ``["all"]`` every token action; otherwise names of group
actions. What the components are is written once to ``RUN/reps.json``
(:data:`symreg.runs.rundir.REPS`), so diagnosis and plots need neither torch
nor the task.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from sympy.combinatorics import Permutation

from symreg.errors import unknown
from symreg.reps import decompose, token_actions
from symreg.reps.decomposition import Decomposition
from symreg.reps.measures import baseline, energy_fractions, exclude, key_components, restrict, sparsity
from symreg.train.metrics import domain_logits

AUTO_MAX_TOKENS = 1000  # energies cost O(S n^2 d) and a decomposition O(n^3): cheap below this
THRESHOLD = 0.9  # key components: the fewest carrying this share of the energy
KEYWORDS = ("auto", "all", "none")


@dataclass(frozen=True)
class Measure:
    """One decomposition measured at every evaluation: ``key`` is ``ACTION`` or ``ACTION:classes``."""

    key: str
    action: str
    on: str
    slot: int | None
    dec: Decomposition
    restricted: bool = False


def check_reps(task, names) -> list:
    """``names`` when each is a keyword (auto, all, none) or a group action of ``task`` with a token action.

    >>> from symreg.registry import get_task
    >>> check_reps(get_task("mod_add", p=5), ["nosuch"])
    Traceback (most recent call last):
    ...
    symreg.errors.UnknownNameError: Unknown reps action of task 'mod_add': 'nosuch'. Available: all, auto, none, \
scaling, translation.
    """
    valid = list(dict.fromkeys(a.action for a in token_actions(task)))
    for name in names:
        if name not in valid and name not in KEYWORDS:
            raise unknown(f"reps action of task '{task.name}'", name, [*valid, *KEYWORDS])
    return names


def _trusted(task) -> set[str]:
    from symreg.trust import trusted_symmetries

    with warnings.catch_warnings():  # the trainer's probes already warned about each untrusted one
        warnings.simplefilter("ignore")
        return {s.name for s in trusted_symmetries(task)}


def choose(task, names) -> list[Measure]:
    """The measures ``names`` (a ``TrainConfig.reps``) asks for, the restricted one flagged.

    >>> from symreg.registry import get_task
    >>> [(m.key, m.restricted) for m in choose(get_task("mod_add", p=5), ["auto"])]
    [('translation', True), ('translation:classes', False), ('scaling', False), ('scaling:classes', False)]
    """
    names = check_reps(task, list(names))
    if not names or "none" in names:
        return []
    actions = token_actions(task)
    if "auto" in names or "all" in names:
        trusted = _trusted(task) if "all" not in names else None
        picked = [a for a in actions if (trusted is None or a.action in trusted)
                  and ("all" in names or len(a.generators[0]) <= AUTO_MAX_TOKENS)]
    else:
        picked = [a for n in dict.fromkeys(names) for a in actions if a.action == n]
    out = [Measure(a.action + ("" if a.on == "tokens" else ":classes"), a.action, a.on, a.slot,
                   decompose(task, a.action, on=a.on, slot=a.slot)) for a in picked]
    tokens = [m for m in out if m.on == "tokens"]
    if tokens:  # named: the first; auto: the finest decomposition (ties: declaration order)
        first = tokens[0] if "auto" not in names else max(tokens, key=lambda m: len(m.dec.components))
        out = [Measure(m.key, m.action, m.on, m.slot, m.dec, m is first) for m in out]
    return out


# --- names of components, for people -----------------------------------------------------
def component_names(dec: Decomposition) -> list[dict]:
    """One entry per component: the decomposition's fields and a ``name`` unique within it.

    A cyclic group's components are named by frequency; a dihedral group's 2-dim
    irreducibles by the frequency of the rotation generator (``rotation``);
    other labels shared by several components get their characters on the generators.

    >>> from symreg.reps.decomposition import decompose_permutations
    >>> [c["name"] for c in component_names(decompose_permutations([[1, 2, 3, 4, 0]]))]
    ['trivial', 'frequency 1', 'frequency 2']
    """
    labels = [c.label for c in dec.components]
    orders = [Permutation(g.tolist()).order() for g in dec.generators]
    m = dec.order // 2 if dec.group.startswith("D_") else 0
    rot = next((i for i, o in enumerate(orders) if m >= 3 and o == m), None)
    out = []
    for c in dec.components:
        entry = {"label": c.label, "dim": c.dim, "multiplicity": c.multiplicity, "kind": c.kind,
                 "frequency": c.frequency, "rotation": None, "name": c.label}
        if rot is not None and c.dim == 2:
            k = round(m * math.acos(max(-1.0, min(1.0, c.character[rot] / 2))) / (2 * math.pi))
            entry["rotation"], entry["name"] = k, f"rotation frequency {k}"
        elif labels.count(c.label) > 1:
            entry["name"] = f"{c.label} (character {', '.join(f'{x:.3g}' for x in c.character)})"
        out.append(entry)
    return out


def describe(measures: list[Measure], threshold: float = THRESHOLD) -> dict:
    """What ``RUN/reps.json`` holds: per measure, its group and components (names, baseline fractions)."""
    return {"threshold": threshold, "restricted": next((m.key for m in measures if m.restricted), None),
            "order": [m.key for m in measures],  # the JSON's keys are sorted
            "measures": {m.key: {"action": m.action, "on": m.on, "slot": m.slot, "group": m.dec.group,
                                 "order": m.dec.order, "n": m.dec.n, "restricted": m.restricted,
                                 "components": component_names(m.dec),
                                 "baseline": [round(float(b), 6) for b in baseline(m.dec)]}
                         for m in measures}}


# --- measuring ---------------------------------------------------------------------------
def _num(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


class ProgressMeasures:
    """The decompositions of one trainer, and what each evaluation measures on them."""

    def __init__(self, task, names, model, threshold: float = THRESHOLD) -> None:
        self.task, self.threshold = task, threshold
        w_u = getattr(model, "W_U", None)  # (S, d, classes): a plugin model may have no unembedding
        self.unembedding = isinstance(w_u, torch.Tensor) and w_u.dim() == 3 and w_u.shape[-1] == task.n_classes
        self.measures = [m for m in choose(task, names) if m.on == "tokens" or self.unembedding]
        w_e = dict(model.named_parameters()).get("W_E")  # what a restricted forward pass replaces
        emb = model.embedding()
        self.swap = (w_e is not None and w_e.dim() == 3 and w_e.shape[1] >= emb.shape[1]
                     and torch.equal(w_e[:, : emb.shape[1]], emb))

    def __bool__(self) -> bool:
        return bool(self.measures)

    def description(self) -> dict:
        return describe(self.measures, self.threshold)

    def write(self, runs) -> None:
        """Record the components in each run (``reps.json``), when anything is measured."""
        if self.measures:
            for run in runs:
                run.write_reps(self.description())

    @torch.no_grad()
    def measure(self, model, x_all: torch.Tensor, y_all: torch.Tensor, train_mask: torch.Tensor,
                chunk: int) -> list[dict]:
        """Per seed: ``{key: {fractions, key, n_key, key_dim, effective[, restricted/excluded losses]}}``."""
        out: list[dict] = [{} for _ in range(model.n_seeds)]
        for m in self.measures:
            w = model.embedding() if m.on == "tokens" else model.W_U.transpose(1, 2)
            finite = torch.isfinite(w).flatten(1).all(1).tolist()
            f = energy_fractions(torch.nan_to_num(w.detach()), m.dec)
            mask, sp = key_components(f, self.threshold), sparsity(f, m.dec, self.threshold)
            losses = self._losses(model, m.dec, mask, x_all, y_all, train_mask, chunk) \
                if m.restricted and self.swap else {}
            for s in range(model.n_seeds):
                out[s][m.key] = None if not finite[s] else {
                    "fractions": [round(float(x), 6) for x in f[s]], "key": np.flatnonzero(mask[s]).tolist(),
                    "n_key": int(sp["n_key"][s]), "key_dim": round(float(sp["key_dim"][s]), 4),
                    "effective": round(float(sp["effective"][s]), 4),
                    **{k: v[s] for k, v in losses.items()}}
        return out

    def _losses(self, model, dec, mask, x_all, y_all, train_mask, chunk) -> dict[str, list]:
        """Train and test loss per seed with the token embedding restricted to, or without, its key components."""
        w_e = dict(model.named_parameters())["W_E"]
        emb = w_e[:, : dec.n].double()
        out = {}
        for kind, project in (("restricted", restrict), ("excluded", exclude)):
            new = w_e.clone()
            new[:, : dec.n] = project(emb, dec, mask).to(w_e.dtype)
            nll = masked_nll(model, {"W_E": new}, x_all, y_all, chunk)
            out.update(split_losses(nll, train_mask, kind))
        return out


def masked_nll(model, params: dict, x_all: torch.Tensor, y_all: torch.Tensor, chunk: int) -> torch.Tensor:
    """Negative log-likelihood (S, N), float64, of every input with some parameters replaced."""
    lp = domain_logits(model, x_all, chunk, params).double().log_softmax(-1)
    return -lp.gather(-1, y_all.expand(model.n_seeds, -1).unsqueeze(-1)).squeeze(-1)


def split_losses(nll: torch.Tensor, train_mask: torch.Tensor, prefix: str) -> dict[str, list]:
    """Mean ``nll`` (S, N) over each seed's train and test rows: ``PREFIX_train_loss``, ``PREFIX_test_loss``.

    >>> split_losses(torch.tensor([[1.0, 3.0, 5.0]]), torch.tensor([[True, False, False]]), "restricted")
    {'restricted_train_loss': [1.0], 'restricted_test_loss': [4.0]}
    """
    out = {}
    for name, mask in (("train", train_mask), ("test", ~train_mask)):
        n = mask.sum(1)
        mean = torch.where(mask, nll, 0).sum(1) / n.clamp_min(1)
        out[f"{prefix}_{name}_loss"] = [_num(v) if k else None for v, k in zip(mean.tolist(), n.tolist())]
    return out
