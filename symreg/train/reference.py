"""A plain reference transformer: every position computed, one seed, the usual way.

It is the yardstick for :class:`symreg.train.models.Transformer` (tests check the two
give the same logits from the same weights) and the baseline in the benchmarks.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from symreg.train.models import Transformer


class ReferenceTransformer(nn.Module):
    """Nanda et al.'s 1-layer transformer over all positions (causal attention)."""

    def __init__(self, fast: Transformer, seed_index: int = 0) -> None:
        super().__init__()
        c = fast.cfg
        self.vocab, self.n_heads, self.d_head = fast.vocab, c.n_heads, c.d_head
        for name, p in fast.named_parameters():
            setattr(self, name, nn.Parameter(p.detach()[seed_index].clone()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, k = x.shape
        readout = torch.full((n, 1), self.vocab, dtype=x.dtype, device=x.device)
        tokens = torch.cat([x, readout], 1)  # (N, k+1)
        h = self.W_E[tokens] + self.W_pos[: k + 1]  # (N, T, d)
        q = (h @ self.W_Q).view(n, k + 1, self.n_heads, self.d_head).transpose(1, 2)
        kk = (h @ self.W_K).view(n, k + 1, self.n_heads, self.d_head).transpose(1, 2)
        v = (h @ self.W_V).view(n, k + 1, self.n_heads, self.d_head).transpose(1, 2)
        scores = q @ kk.transpose(-1, -2) / math.sqrt(self.d_head)  # (N, H, T, T)
        mask = torch.triu(torch.ones(k + 1, k + 1, dtype=torch.bool, device=x.device), 1)
        z = scores.masked_fill(mask, float("-inf")).softmax(-1) @ v  # (N, H, T, dh)
        h = h + z.transpose(1, 2).reshape(n, k + 1, -1) @ self.W_O
        h = h + torch.relu(h @ self.W_in + self.b_in) @ self.W_out + self.b_out
        return (h @ self.W_U)[:, -1]  # logits at the readout position
