"""Which declared group actions permute a token vocabulary, and their decompositions.

A :class:`~symreg.symmetry.group.GroupAction` element sends point ``(slot i,
token t)`` to ``(slot j, token t')`` and class ``c`` to a class. It acts on
*one* vocabulary (so on the rows of the token embedding) in two cases:

- every generator applies the same token map in every slot (slots may move:
  ``(x, y) -> (-y, -x)``): that map is the token permutation;
- no generator moves a slot: each slot has its own action (``x -> x+1`` on
  slot 0 only); the one of a chosen slot (by default the first it moves) is
  used. Slot ``i``'s maps generate the group's image on slot ``i``'s tokens.

An action that only swaps slots acts trivially on every vocabulary and is
skipped, as is one that moves slots and relabels them differently (no single
vocabulary action). An equivariance (some generator moves a class) also acts
on the classes, i.e. on the rows of the unembedding: ``on="classes"``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from symreg.errors import UsageError, unknown
from symreg.registry import get_symmetries
from symreg.reps.decomposition import Decomposition, decompose_permutations
from symreg.symmetry.group import GroupAction
from symreg.task import Task


@dataclass(frozen=True)
class TokenAction:
    """The token (or class) permutations of one group action, ready to decompose."""

    action: str
    on: str  # "tokens" or "classes"
    slot: int | None  # the slot whose tokens are permuted; None: the same map in every slot (or classes)
    slots: tuple[int, ...]  # every slot the action relabels (per-slot actions)
    generators: np.ndarray  # (g, n) permutations
    generator_names: tuple[str, ...]


def _blocks(task: Task, action: GroupAction) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Slot maps (g, k), token maps (g, k, V) and class maps (g, C) of the generators."""
    k, v, c = task.arity, task.vocab_size, task.n_classes
    action.check_shape(task)
    forms = np.array([g.array_form + list(range(g.size, k * v + c)) for g in action.generators], dtype=np.int64)
    inputs = forms[:, : k * v].reshape(len(forms), k, v)
    return inputs[:, :, 0] // v, inputs % v, forms[:, k * v:] - k * v


def _classify(task: Task, action: GroupAction, slot: int | None = None) -> tuple[list[TokenAction], str]:
    """The action's token and class actions, and why it has none on tokens (empty when it has one)."""
    slot_maps, tokens, classes = _blocks(task, action)
    names = tuple(action.generator_names)
    k, v = task.arity, task.vocab_size
    ident = np.arange(v)
    moved = [i for i in range(k) if not np.all(tokens[:, i] == ident)]
    out: list[TokenAction] = []
    reason = ""
    if not moved:
        reason = "it only moves slots, so it acts trivially on the vocabulary of a slot"
    elif all(np.all(tokens[:, i] == tokens[:, 0]) for i in range(k)):
        if slot is not None and slot not in range(k):
            raise UsageError(f"Slot {slot} is not a slot of task '{task.name}' (slots 0..{k - 1}).")
        out.append(TokenAction(action.name, "tokens", None, tuple(moved), tokens[:, 0], names))
    elif np.all(slot_maps == np.arange(k)):
        chosen = moved[0] if slot is None else slot
        if chosen not in range(k):
            raise UsageError(f"Slot {chosen} is not a slot of task '{task.name}' (slots 0..{k - 1}).")
        out.append(TokenAction(action.name, "tokens", chosen, tuple(moved), tokens[:, chosen], names))
    else:
        reason = ("it moves slots and relabels them differently, so it is no action on one "
                  "vocabulary")
    if not np.all(classes == np.arange(task.n_classes)):
        out.append(TokenAction(action.name, "classes", None, (), classes, names))
    return out, reason


def _group_actions(task: Task) -> list[GroupAction]:
    return [s for s in get_symmetries(task) if isinstance(s, GroupAction)]


def token_actions(task: Task) -> list[TokenAction]:
    """Every usable token action (``on="tokens"``) and class action (``on="classes"``) of ``task``.

    >>> from symreg.registry import get_task
    >>> [(a.action, a.on, a.slot) for a in token_actions(get_task("mod_add", p=5))]
    [('translation', 'tokens', 0), ('translation', 'classes', None), ('scaling', 'tokens', None), ('scaling', 'classes', None)]
    """
    out: list[TokenAction] = []
    for action in _group_actions(task):
        out += _classify(task, action)[0]
    return out


def skipped_actions(task: Task) -> dict[str, str]:
    """Group actions of ``task`` with no action on a token vocabulary, and why.

    >>> from symreg.registry import get_task
    >>> skipped_actions(get_task("mod_add", p=5))
    {'commutativity': 'it only moves slots, so it acts trivially on the vocabulary of a slot'}
    """
    return {a.name: why for a in _group_actions(task) if (why := _classify(task, a)[1])}


def decompose(task: Task, action: str, on: str = "tokens", slot: int | None = None,
              seed: int = 0) -> Decomposition:
    """Decompose the token (``on="tokens"``) or class (``on="classes"``) space under ``action``.

    ``slot`` picks the slot of a per-slot action (default: the first it moves).

    >>> from symreg.registry import get_task
    >>> dec = decompose(get_task("graph_hypercube", dim=3), "automorphism")
    >>> dec.group, dec.order, [c.dim for c in dec.components]
    ('order 48', 48, [1, 1, 3, 3])
    """
    if on not in ("tokens", "classes"):
        raise UsageError(f"on={on!r}: decompose the 'tokens' or the 'classes'.")
    actions = {a.name: a for a in _group_actions(task)}
    if action not in actions:
        raise unknown(f"group action of task '{task.name}'", action, actions)
    found, why = _classify(task, actions[action], slot)
    match = [a for a in found if a.on == on]
    if on == "tokens" and not match:
        raise UsageError(f"Group action {action!r} of task '{task.name}' has no action on tokens: {why}.")
    if not match:
        raise UsageError(f"Group action {action!r} of task '{task.name}' fixes every class (an invariance): "
                         "it has no action on the classes to decompose.")
    return decompose_permutations(match[0].generators, match[0].generator_names, seed)
