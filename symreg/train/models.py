"""Seed-batched models: S independent models of one configuration in one module.

Every parameter has a leading seed axis, and seed ``k`` is initialised from its
own generator, so seed ``k`` of a batch starts exactly where a single-seed run
with seed ``k`` starts. The contract a model (built-in or from a plugin) keeps:

- ``forward(x)``: ``x`` (S, N, arity) int64 tokens -> logits (S, N, classes);
- ``embedding()``: (S, vocab, d) the input-token embedding, for geometry metrics;
- ``n_seeds``: S.

A factory may carry ``config``, the dataclass of its sizes (as the built-in
ones do, :mod:`symreg.default_plugins.models`): ``model_sizes`` are then
checked against its fields, and by its construction, before a run is written.

The transformer is the paper's (Nanda et al.'s): one layer, d_model 128, 4
heads of 32, d_mlp 512, ReLU, no LayerNorm, learned positional embeddings, and
a readout token (Nanda's "=") appended after the inputs, read at the last
position. With one layer only the last position reaches the loss, so only its
query is computed, and keys and values come from per-token tables
(``W_E @ W_K``): the same function as computing every position, at a quarter
of the FLOPs (``benchmarks/epoch_speed.py`` measures both).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Sequence

import torch
from torch import nn

from symreg.errors import UsageError

# seed k's parameter with salt j is drawn from generator k * SEED_STRIDE + j: distinct
# (seed, parameter) pairs never share a stream while salts stay below the stride
SEED_STRIDE = 1_000_003


def _normal(seeds: Sequence[int], shape: tuple[int, ...], std: float, salt: int) -> nn.Parameter:
    """One (S, *shape) parameter; seed k's slice depends only on (seed k, salt)."""
    rows = []
    for s in seeds:
        g = torch.Generator().manual_seed(int(s) * SEED_STRIDE + salt)
        rows.append(torch.randn(shape, generator=g) * std)
    return nn.Parameter(torch.stack(rows))


def _zeros(n: int, shape: tuple[int, ...]) -> nn.Parameter:
    return nn.Parameter(torch.zeros((n, *shape)))


def _gather(table: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``table[s, x[s, ...]]`` for (S, R, F) tables; index_select has a cheap backward."""
    s, r = table.shape[:2]
    offset = (torch.arange(s, device=x.device) * r).view(s, *([1] * (x.dim() - 1)))
    flat = table.reshape(s * r, *table.shape[2:])
    return flat.index_select(0, (x + offset).reshape(-1)).view(*x.shape, *table.shape[2:])


# the widest layer a size may ask for: the paper's are at most 512, and 65,536 by 65,536 weights
# are already 16 GiB per seed
MAX_WIDTH = 2**16


def check_sizes(cfg) -> None:
    """Every field of a sizes dataclass is an integer in 1..MAX_WIDTH; the error names the first that is not."""
    for f in fields(cfg):
        v = getattr(cfg, f.name)
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= MAX_WIDTH:
            raise UsageError(f"model_sizes {f.name} = {v!r} must be an integer in 1..{MAX_WIDTH}.")


@dataclass
class TransformerConfig:
    d_model: int = 128
    n_heads: int = 4
    d_head: int = 32  # attention width n_heads * d_head need not equal d_model (W_O maps it back)
    d_mlp: int = 512

    def __post_init__(self) -> None:
        check_sizes(self)
        if self.n_heads * self.d_head > MAX_WIDTH:
            raise UsageError(f"model_sizes n_heads * d_head = {self.n_heads} * {self.d_head} (the attention "
                             f"width) must be at most {MAX_WIDTH}.")


class Transformer(nn.Module):
    """The paper's 1-layer decoder-only transformer, batched over seeds."""

    def __init__(self, vocab: int, arity: int, classes: int, seeds: Sequence[int],
                 cfg: TransformerConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg = cfg or TransformerConfig()
        self.vocab, self.arity, self.n_seeds = vocab, arity, len(seeds)
        d, hd = cfg.d_model, cfg.n_heads * cfg.d_head
        sd = 1 / math.sqrt(d)
        self.W_E = _normal(seeds, (vocab + 1, d), sd, 1)  # row `vocab` is the readout token
        self.W_pos = _normal(seeds, (arity + 1, d), sd, 2)
        self.W_Q = _normal(seeds, (d, hd), sd, 3)
        self.W_K = _normal(seeds, (d, hd), sd, 4)
        self.W_V = _normal(seeds, (d, hd), sd, 5)
        self.W_O = _normal(seeds, (hd, d), 1 / math.sqrt(hd), 6)
        self.W_in = _normal(seeds, (d, cfg.d_mlp), sd, 7)
        self.b_in = _zeros(len(seeds), (cfg.d_mlp,))
        self.W_out = _normal(seeds, (cfg.d_mlp, d), 1 / math.sqrt(cfg.d_mlp), 8)
        self.b_out = _zeros(len(seeds), (d,))
        self.W_U = _normal(seeds, (d, classes), 1 / math.sqrt(classes), 9)

    def embedding(self) -> torch.Tensor:
        return self.W_E[:, : self.vocab]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cfg, (S, N, k) = self.cfg, x.shape
        H, dh = cfg.n_heads, cfg.d_head
        last = self.W_E[:, self.vocab] + self.W_pos[:, k]  # (S, d) readout residual
        q = (last.unsqueeze(1) @ self.W_Q).view(S, H, dh) / math.sqrt(dh)
        # keys/values of input positions: token tables plus position rows
        k_tok = (self.W_E[:, : self.vocab] @ self.W_K).view(S, -1, H, dh)
        v_tok = (self.W_E[:, : self.vocab] @ self.W_V).view(S, -1, H, dh)
        k_pos = (self.W_pos[:, :k] @ self.W_K).view(S, k, H, dh)
        v_pos = (self.W_pos[:, :k] @ self.W_V).view(S, k, H, dh)
        k_last = (last.unsqueeze(1) @ self.W_K).view(S, H, dh)
        v_last = (last.unsqueeze(1) @ self.W_V).view(S, 1, 1, H, dh)
        s_tok = torch.einsum("shd,svhd->svh", q, k_tok)  # (S, V, H)
        s_pos = torch.einsum("shd,skhd->skh", q, k_pos)  # (S, k, H)
        s_last = torch.einsum("shd,shd->sh", q, k_last)  # (S, H)
        scores = torch.cat([_gather(s_tok, x) + s_pos.unsqueeze(1),
                            s_last.view(S, 1, 1, H).expand(S, N, 1, H)], dim=2)
        attn = scores.softmax(dim=2)  # (S, N, k+1, H)
        values = _gather(v_tok, x) + v_pos.unsqueeze(1)  # (S, N, k, H, dh)
        z = (attn[:, :, :k].unsqueeze(-1) * values).sum(2) + attn[:, :, k].unsqueeze(-1) * v_last[:, :, 0]
        h = last.unsqueeze(1) + z.reshape(S, N, H * dh) @ self.W_O  # (S, N, d)
        m = torch.relu(torch.baddbmm(self.b_in.unsqueeze(1), h, self.W_in))
        h = torch.baddbmm(self.b_out.unsqueeze(1), m, self.W_out) + h
        return h @ self.W_U  # (S, N, classes)


@dataclass
class MLPConfig:
    d_embed: int = 128
    d_hidden: int = 512

    def __post_init__(self) -> None:
        check_sizes(self)


class MLP(nn.Module):
    """Two layers over concatenated token embeddings: ReLU(W1 [e(x1);...;e(xk)] + b1) -> W2."""

    def __init__(self, vocab: int, arity: int, classes: int, seeds: Sequence[int],
                 cfg: MLPConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg = cfg or MLPConfig()
        self.vocab, self.arity, self.n_seeds = vocab, arity, len(seeds)
        d_in = arity * cfg.d_embed
        self.W_E = _normal(seeds, (vocab, cfg.d_embed), 1 / math.sqrt(cfg.d_embed), 1)
        self.W_1 = _normal(seeds, (d_in, cfg.d_hidden), 1 / math.sqrt(d_in), 2)
        self.b_1 = _zeros(len(seeds), (cfg.d_hidden,))
        self.W_2 = _normal(seeds, (cfg.d_hidden, classes), 1 / math.sqrt(cfg.d_hidden), 3)
        self.b_2 = _zeros(len(seeds), (classes,))

    def embedding(self) -> torch.Tensor:
        return self.W_E

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        S, N, k = x.shape
        e = _gather(self.W_E, x).reshape(S, N, k * self.cfg.d_embed)
        h = torch.relu(torch.baddbmm(self.b_1.unsqueeze(1), e, self.W_1))
        return torch.baddbmm(self.b_2.unsqueeze(1), h, self.W_2)
