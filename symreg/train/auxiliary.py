"""Ways to make a model generalize sooner: auxiliary losses and gradient filters.

``L = L_CE + lambda * sum(L_aux)`` (weight decay stays in AdamW), with each
auxiliary term named by a method string:

- ``sym:NAME``: the symmetric-KL violation of the task's symmetry ``NAME`` (a
  group action or a law), the same code the metrics use, averaged over
  ``samples`` instances drawn afresh every epoch from a generator seeded by
  the epoch, so a resumed run draws the same instances. Gradients
  flow through every branch (no stop-gradient; the paper mentions none).
- ``geom:nuclear``: ``||E||_* / ||E||_F`` of the centred input-token embedding,
  a scale-free low-rank prior (the raw nuclear norm would also shrink E, which
  weight decay already does).
- ``geom:entropy``: the entropy of the normalised spectrum
  ``p_i = s_i^2 / sum s^2`` of the centred embedding; ``exp`` of it is the
  effective rank, so lowering it favours low-dimensional embeddings.
- ``geom:lipschitz``: mean squared distance between the embeddings of
  neighbouring tokens (``Task.geometry_edges``) divided by the mean squared
  distance over all pairs: a scale-free smoothness prior.

The paper (arXiv 2603.01968, Sec. 6.2) gives no formula for the three priors;
these are the choices, made scale-free so that ``lambda = 1`` means the same
thing on every task.

GrokFast (Lee et al. 2024) filters gradients before the optimizer step:
``ema`` adds ``lamb * h`` with ``h <- alpha h + (1 - alpha) g``; ``ma`` adds
``lamb`` times the mean of the last ``window`` gradients.
"""
from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Callable

import numpy as np
import torch

from symreg.errors import UsageError, unknown
from symreg.registry import get_symmetries
from symreg.train.config import GEOMETRY, GROKFAST, aux_methods
from symreg.trust import trusted_symmetries

if TYPE_CHECKING:
    from symreg.task import Task
# symmetry-loss instances at epoch e come from default_rng([e, AUX_SAMPLE_SALT]): the same for
# every seed and run, so a resumed run and seed k of a batch draw what a single run draws
AUX_SAMPLE_SALT = 7


def _centred(emb: torch.Tensor) -> torch.Tensor:
    return emb - emb.mean(-2, keepdim=True)


def nuclear_prior(emb: torch.Tensor) -> torch.Tensor:
    """``||E||_* / ||E||_F`` per seed, for (S, V, d) embeddings; 1 for rank one.

    >>> float(nuclear_prior(torch.tensor([[[1.0, 0.0], [-1.0, 0.0]]]))[0])
    1.0
    """
    e = _centred(emb)
    return torch.linalg.svdvals(e).sum(-1) / e.flatten(-2).norm(dim=-1).clamp_min(1e-12)


def entropy_prior(emb: torch.Tensor) -> torch.Tensor:
    """Entropy of the normalised squared singular values per seed; 0 for rank one.

    >>> abs(float(entropy_prior(torch.tensor([[[1.0, 0.0], [-1.0, 0.0]]]))[0]))
    0.0
    """
    s2 = torch.linalg.svdvals(_centred(emb)) ** 2
    p = s2 / s2.sum(-1, keepdim=True).clamp_min(1e-12)
    return -(p * torch.log(p.clamp_min(1e-12))).sum(-1)


def lipschitz_prior(emb: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
    """Mean squared neighbour distance over mean squared pair distance, per seed."""
    near = (emb[:, edges[:, 0]] - emb[:, edges[:, 1]]).pow(2).sum(-1).mean(-1)
    e = _centred(emb)
    all_pairs = 2 * e.pow(2).sum(-1).mean(-1)  # mean over i,j of |e_i - e_j|^2
    return near / all_pairs.clamp_min(1e-12)


class AuxLoss:
    """One auxiliary term; ``__call__`` returns the per-seed values (S,)."""

    def __init__(self, method: str, fn: Callable[[object, int], torch.Tensor]) -> None:
        self.method, self.fn = method, fn

    def __call__(self, trainer, epoch: int) -> torch.Tensor:
        return self.fn(trainer, epoch)


def make_aux_losses(task: "Task", methods: list[str], samples: int) -> list[AuxLoss]:
    """Auxiliary losses for ``methods`` (``sym:NAME``, ``geom:NAME``); bad names raise."""
    syms = {s.name: s for s in get_symmetries(task)}
    out = []
    for method in methods:
        kind, _, name = method.partition(":")
        if kind == "sym" and name in syms:
            trusted_symmetries(task, [syms[name]], explicit=[name])  # named: used, with a warning if it fails
            out.append(AuxLoss(method, _symmetry_loss(task, syms[name], samples)))
        elif kind == "geom" and name in GEOMETRY:
            out.append(AuxLoss(method, _geometry_loss(task, name)))
        else:
            raise unknown(f"auxiliary loss for task '{task.name}'", method, aux_methods(task))
    return out


def _symmetry_loss(task: "Task", sym, samples: int):
    def loss(trainer, epoch: int) -> torch.Tensor:
        # the same instances for every seed and run at a given epoch: resumable, and seed k
        # of a batch still follows a single run with seed k
        rng = np.random.default_rng([epoch, AUX_SAMPLE_SALT])
        inst = sym.sample(task, samples, rng)
        x_all, s = trainer.data.x_all, len(trainer.seeds)

        def logp(rows):
            x = x_all[torch.as_tensor(rows, device=x_all.device)]
            return trainer.model(x.expand(s, -1, -1)).double().log_softmax(-1)

        return sym.violation(task, inst, logp).mean(-1)
    return loss


def _geometry_loss(task: "Task", name: str):
    tokens = torch.as_tensor(np.asarray(task.geometry_tokens()))
    edges = torch.as_tensor(task.geometry_edges())

    def loss(trainer, epoch: int) -> torch.Tensor:
        emb = trainer.model.embedding().index_select(1, tokens.to(trainer.device))
        if name == "nuclear":
            return nuclear_prior(emb)
        if name == "entropy":
            return entropy_prior(emb)
        return lipschitz_prior(emb, edges.to(trainer.device))
    return loss


class GrokFast:
    """Gradient filter applied between ``backward`` and the optimizer step."""

    def __init__(self, params, mode: str, alpha: float = 0.98, lamb: float = 2.0, window: int = 100) -> None:
        if mode not in GROKFAST or not mode:
            raise UsageError(f"GrokFast mode {mode!r} is not one of ema, ma.")
        self.params, self.mode = list(params), mode
        self.alpha, self.lamb, self.window = alpha, lamb, window
        self.ema: list[torch.Tensor | None] = [None] * len(self.params)
        self.queues = [deque(maxlen=window) for _ in self.params]

    @torch.no_grad()
    def __call__(self) -> None:
        for i, p in enumerate(self.params):
            if p.grad is None:  # a frozen or unused parameter
                continue
            g = p.grad
            if self.mode == "ema":
                self.ema[i] = g.clone() if self.ema[i] is None else self.ema[i].mul_(self.alpha).add_(g, alpha=1 - self.alpha)
                g.add_(self.ema[i], alpha=self.lamb)
            else:
                self.queues[i].append(g.clone())
                if len(self.queues[i]) == self.window:
                    g.add_(torch.stack(list(self.queues[i])).mean(0), alpha=self.lamb)

    def state(self, s: int) -> dict[str, torch.Tensor]:
        """Seed ``s``'s filter state, for checkpoints (EMA only; MA restarts its window)."""
        return {f"grokfast.{i}": e[s].cpu() for i, e in enumerate(self.ema) if e is not None}

    def load(self, states: list[dict], device) -> None:
        for i in range(len(self.params)):
            key = f"grokfast.{i}"
            if all(key in st for st in states):
                self.ema[i] = torch.stack([st[key] for st in states]).to(device)
