"""Seeded train/test splits and the tensors a run trains on, built once on the device."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np
import torch

if TYPE_CHECKING:
    from symreg.task import Task


def split_rows(n: int, train_frac: float, seed: int) -> np.ndarray:
    """Sorted training rows of a domain of ``n`` inputs; the rest is the test set.

    >>> split_rows(10, 0.3, seed=0).tolist()
    [2, 4, 6]
    """
    n_train = max(1, min(n - 1, round(train_frac * n)))
    return np.sort(np.random.default_rng(seed).permutation(n)[:n_train])


@dataclass
class Data:
    """The whole domain and each seed's training rows, as device tensors."""

    x_all: torch.Tensor  # (N, arity) int64
    y_all: torch.Tensor  # (N,) int64
    train_idx: torch.Tensor  # (S, N_train) int64
    train_mask: torch.Tensor  # (S, N) bool
    x_train: torch.Tensor  # (S, N_train, arity)
    y_train: torch.Tensor  # (S, N_train)
    w_train: torch.Tensor | None = None  # (S, N_train): 0 on padding, when seeds' sets differ in size


def make_data(task: "Task", splits: Sequence[np.ndarray], device: torch.device,
              trained: Sequence[tuple[np.ndarray, np.ndarray]] | None = None) -> Data:
    """Tensors for ``task`` with one training split per seed (all splits the same size).

    ``trained`` replaces what each seed trains on by (rows, labels) of its own
    size (an augmented split); shorter ones are padded with weight 0. The
    ``train_mask`` still marks the original split.
    """
    x_all = torch.as_tensor(np.array(task.inputs()), device=device)
    y_all = torch.as_tensor(np.array(task.labels), device=device)
    idx = torch.as_tensor(np.stack(splits), device=device)
    mask = torch.zeros(len(splits), len(x_all), dtype=torch.bool, device=device)
    mask.scatter_(1, idx, True)
    if trained is None:
        return Data(x_all, y_all, idx, mask, x_all[idx], y_all[idx])
    width = max(len(r) for r, _ in trained)
    rows = np.stack([np.pad(r, (0, width - len(r)), mode="edge") for r, _ in trained])
    labels = np.stack([np.pad(y, (0, width - len(y)), mode="edge") for _, y in trained])
    weights = np.stack([np.arange(width) < len(r) for r, _ in trained]).astype(np.float64)
    rows_t = torch.as_tensor(rows, device=device)
    return Data(x_all, y_all, idx, mask, x_all[rows_t], torch.as_tensor(labels, device=device),
                torch.as_tensor(weights, device=device))
