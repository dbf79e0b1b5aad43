"""What is measured at every evaluation, for every seed of a batch.

One forward pass over the whole domain gives a log-probability table; accuracy
and loss on the train and test rows, and every symmetry's per-instance
violation on a fixed seeded sample, are read off that table. The violation code
is the symmetries' own (the same that later serves as a training loss).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    from symreg.symmetry.base import Symmetry
    from symreg.task import Task


@dataclass
class Probe:
    """A symmetry with its fixed sample of instances."""

    symmetry: "Symmetry"
    instances: dict


def make_probes(task: "Task", symmetries, n: int, seed: int) -> list[Probe]:
    """One fixed sample of ``n`` instances per symmetry, the same for every seed and run."""
    rng = np.random.default_rng(seed)
    return [Probe(s, s.sample(task, n, rng)) for s in symmetries]


def non_finite(row: dict) -> str | None:
    """What in a metrics row says the seed diverged (its train loss or weights not finite), or None.

    >>> non_finite({"train_loss": float("nan"), "param_norm": 3.0}), non_finite({"train_loss": 0.1})
    ('train loss is nan', None)
    """
    for key, what in (("train_loss", "train loss"), ("param_norm", "weight norm")):
        value = row.get(key)
        if value is not None and not math.isfinite(value):
            return f"{what} is {value}"
    return None


def effective_dimension(emb: torch.Tensor, threshold: float = 0.01) -> torch.Tensor:
    """Principal components of the rows of ``emb`` (..., n, d) explaining more than ``threshold``
    of the variance; leading axes (seeds) are batched.

    >>> int(effective_dimension(torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 0.001]])))
    1
    """
    emb = torch.nan_to_num(emb.double(), nan=0.0, posinf=0.0, neginf=0.0)  # a diverged run: no crash
    centred = emb - emb.mean(-2, keepdim=True)
    var = torch.linalg.svdvals(centred) ** 2
    share = var / var.sum(-1, keepdim=True).clamp_min(1e-300)
    return (share > threshold).sum(-1)


@torch.no_grad()
def domain_logits(model, x_all: torch.Tensor, chunk: int, params: dict | None = None) -> torch.Tensor:
    """Logits of every seed on every input of the domain, (S, N, C) float32; ``params`` replace some of the
    model's parameters (``torch.func.functional_call``)."""
    s = model.n_seeds
    run = model if params is None else (lambda x: torch.func.functional_call(model, params, (x,)))
    parts = [run(x_all[i:i + chunk].expand(s, -1, -1)) for i in range(0, len(x_all), chunk)]
    return torch.cat(parts, dim=1)


def _split_stats(lp: torch.Tensor, y: torch.Tensor, mask: torch.Tensor, prefix: str) -> dict:
    if not bool(mask.any()):
        return {f"{prefix}_loss": None, f"{prefix}_acc": None}
    lp, y = lp[mask], y[mask]
    return {f"{prefix}_loss": float(-lp.gather(1, y[:, None]).mean()),
            f"{prefix}_acc": float((lp.argmax(1) == y).double().mean())}


@torch.no_grad()
def evaluate(model, task: "Task", x_all: torch.Tensor, y_all: torch.Tensor,
             train_mask: torch.Tensor, probes: list[Probe], geometry: torch.Tensor,
             extra_masks: dict[str, torch.Tensor] | None = None, reps=None) -> list[dict]:
    """Metrics for each seed: losses, accuracies, violations, effective dimension, norm.

    ``train_mask`` is (S, N); ``extra_masks`` maps a name to an (S, N) mask whose
    accuracy is reported too (e.g. test rows inside and outside an augmentation's closure);
    ``reps``, a :class:`~symreg.train.progress_measures.ProgressMeasures`, adds ``reps`` to each row.
    """
    was_training = model.training
    model.eval()
    chunk = max(256, 2 ** 22 // (model.n_seeds * 512))
    logits = domain_logits(model, x_all, chunk)
    emb = model.embedding().index_select(1, geometry)
    table = logits.double().log_softmax(-1)  # (S, N, C), float64: no collapse to exactly 0 or 1
    viols = {}
    for probe in probes:
        v = probe.symmetry.violation(task, probe.instances,
                                     lambda idx: table[:, torch.as_tensor(idx, device=table.device)])
        viols[probe.symmetry.name] = (v.mean(-1).tolist(), v.amax(-1).tolist())
    norms = torch.sqrt(sum((p.detach().double() ** 2).flatten(1).sum(1) for p in model.parameters()))
    dims = effective_dimension(emb).tolist()
    finite = torch.isfinite(emb).flatten(1).all(1).tolist()
    rows = []
    for s in range(model.n_seeds):
        lp = table[s]
        row = {**_split_stats(lp, y_all, train_mask[s], "train"),
               **_split_stats(lp, y_all, ~train_mask[s], "test")}
        for name, mask in (extra_masks or {}).items():
            row[f"{name}_acc"] = _split_stats(lp, y_all, mask[s], name)[f"{name}_acc"]
        row["violation_mean"] = {name: v[0][s] for name, v in viols.items()}
        row["violation_max"] = {name: v[1][s] for name, v in viols.items()}
        row["eff_dim"] = int(dims[s]) if finite[s] else None
        row["param_norm"] = float(norms[s])
        rows.append(row)
    if reps:
        for row, measured in zip(rows, reps.measure(model, x_all, y_all, train_mask, chunk)):
            row["reps"] = measured
    model.train(was_training)
    return rows
