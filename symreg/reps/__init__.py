"""Representation theory of declared symmetries: decompositions of token spaces and progress measures.

``decompose(task, "translation")`` splits the token space of a task under one
of its group actions into labelled isotypic components (from the generators,
no enumeration); :mod:`symreg.reps.measures` measures how an embedding's
energy spreads over them, batched over seeds.
"""
from __future__ import annotations

from symreg.reps.actions import TokenAction, decompose, skipped_actions, token_actions
from symreg.reps.decomposition import Component, Decomposition, decompose_permutations, orbitals
from symreg.reps.measures import baseline, energy_fractions, exclude, key_components, restrict, sparsity

__all__ = [
    "Component",
    "Decomposition",
    "TokenAction",
    "baseline",
    "decompose",
    "decompose_permutations",
    "energy_fractions",
    "exclude",
    "key_components",
    "orbitals",
    "restrict",
    "skipped_actions",
    "sparsity",
    "token_actions",
]
