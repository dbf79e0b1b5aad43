"""symreg's own models, registered through the same hook a plugin uses.

Imports torch only when a model is asked for, so listing tasks stays fast.
"""
from __future__ import annotations

from dataclasses import asdict

from symreg.hookspecs import hookimpl


def _factory(cls, cfg_cls):
    def make(task, seeds, **sizes):
        return cls(task.vocab_size, task.arity, task.n_classes, seeds, cfg_cls(**sizes))

    make.config = cfg_cls
    make.defaults = asdict(cfg_cls())
    return make


@hookimpl
def register_models(register):
    from symreg.train.models import MLP, MLPConfig, Transformer, TransformerConfig

    register("transformer", _factory(Transformer, TransformerConfig))
    register("mlp", _factory(MLP, MLPConfig))
