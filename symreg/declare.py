"""Declarative tasks: an operation table, its parameter checks and its symmetries in one call.

An *operation task* takes ``arity`` tokens from ``range(n)`` and answers a
class in ``range(m)``, computed by a vectorised function of the argument
columns and the parameters. :func:`operation_task` builds its Task class, with
encode, decode, slot tokens and sizes written once here::

    Xor = operation_task("xor", lambda x, y: x ^ y, n=lambda bits: 2 ** bits,
                         params={"bits": Param(6, "word size", between(1, 8))},
                         symmetries=[swap(description="x^y = y^x")])

Functions given here (the label, ``n``, ``m``, token maps, the example) take
the task parameters they name as keyword arguments, and no others; one that
takes ``**params`` gets all of them. Symmetries are declared with
:func:`swap`, :func:`token_map` and :func:`slot_permutation` (each a
:class:`~symreg.symmetry.group.GroupAction` built from
:func:`~symreg.symmetry.group.element` once the parameters are known), or given
as Symmetry instances (copied for each task) or as callables ``task -> Symmetry``.
"""
from __future__ import annotations

import copy
import importlib
import inspect
import re
import sys
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from symreg.errors import PluginError, UsageError
from symreg.hookspecs import hookimpl
from symreg.symmetry.base import Symmetry
from symreg.symmetry.group import GroupAction, element
from symreg.task import DOMAINS, Param, Preset, Task, is_prime, row_text

Check = Callable[[Any], "str | None"]
PRESET = Preset(train_frac=0.3, weight_decay=1.0, epochs=100_000, note="like the paper's x+y mod p")
QUICK = Preset(train_frac=0.5, weight_decay=1.0, epochs=5_000, note="CPU: 50% train")


# --- parameter checks ------------------------------------------------------------
def between(lo: Any, hi: Any) -> Check:
    """A check that a parameter lies in ``[lo, hi]``, for :class:`~symreg.task.Param`.

    >>> check = between(1, 8)
    >>> check(3), check(9)
    (None, 'must be between 1 and 8')
    """
    def check(value: Any) -> str | None:
        return None if lo <= value <= hi else f"must be between {lo} and {hi}"
    return check


def prime(value: int) -> str | None:
    """A check that a parameter is a prime (:func:`~symreg.task.is_prime`).

    >>> prime(7), prime(9)
    (None, 'must be a prime')
    """
    return None if is_prime(value) else "must be a prime"


def odd_prime(value: int) -> str | None:
    """A check that a parameter is an odd prime.

    >>> odd_prime(7), odd_prime(2)
    (None, 'must be an odd prime')
    """
    return None if value != 2 and is_prime(value) else "must be an odd prime"


def all_of(*checks: Check) -> Check:
    """A check passing when every one of ``checks`` passes; the first failure's reason.

    >>> check = all_of(between(3, 100), prime)
    >>> check(7), check(101), check(9)
    (None, 'must be between 3 and 100', 'must be a prime')
    """
    def check(value: Any) -> str | None:
        return next((r for r in (c(value) for c in checks) if r), None)
    return check


# --- calling declared functions with the parameters they name -----------------------
def _call(fn: Callable, args: Sequence, params: dict) -> Any:
    try:
        sig = inspect.signature(fn).parameters
    except (TypeError, ValueError):  # a ufunc or builtin: columns only
        return fn(*args)
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.values()):
        return fn(*args, **params)
    return fn(*args, **{k: v for k, v in params.items() if k in sig})


def _value(spec: Any, params: dict) -> Any:
    return _call(spec, (), params) if callable(spec) else spec


def _maps(result: Any) -> list[tuple[str | None, np.ndarray]]:
    """One map, several (rows of a 2-D array, or a list), or ``{generator name: map}``."""
    if isinstance(result, dict):
        return [(str(k), np.asarray(v, dtype=np.int64)) for k, v in result.items()]
    arr = np.asarray(result, dtype=np.int64)
    if arr.size == 0:
        return []
    return [(None, row) for row in (arr[None] if arr.ndim == 1 else arr)]


# --- symmetries -------------------------------------------------------------------
@dataclass(frozen=True)
class Declared:
    """A group action declared before the task exists; ``build(task)`` makes it."""

    name: str
    description: str
    generators: Callable[[Task], list[tuple[str | None, Any]]]

    def build(self, task: Task) -> GroupAction | None:
        """The GroupAction on ``task``, or None when it has no generators for these parameters."""
        gens = self.generators(task)
        if not gens:
            return None
        # an unnamed map is named after its symmetry, so a counterexample names it in a word
        names = [n or (self.name if len(gens) == 1 else f"{self.name} {i}") for i, (n, _) in enumerate(gens, 1)]
        return GroupAction(self.name, [g for _, g in gens], self.description, names)


def token_map(name: str, tokens: Callable, *, slots: Sequence[int] | None = None,
              output: bool | Callable = True, description: str = "") -> Declared:
    """Relabel the tokens of ``slots`` (all slots by default) and, optionally, the output.

    ``tokens(t, **params)`` gets ``t = arange(n)`` and returns one map, several, or
    ``{generator name: map}`` (none: the task does not declare this symmetry).
    ``output`` is True (the same maps on the classes), False (classes fixed: an
    invariance) or ``output(c, **params)`` giving one class map per token map.

    >>> from symreg.registry import get_task
    >>> task = get_task("mod_add", p=5)
    >>> shift = token_map("translation", lambda t: {"x->x+1": (t + 1) % 5}, slots=[0])
    >>> shift.build(task).generator_names
    ['x->x+1']
    """
    def generators(task: Task) -> list[tuple[str | None, Any]]:
        maps = _maps(_call(tokens, (np.arange(task.vocab_size),), task.params))
        outs = (_maps(_call(output, (np.arange(task.n_classes),), task.params)) if callable(output)
                else [(None, m if output else None) for _, m in maps])
        if len(outs) != len(maps):
            raise PluginError(f"Symmetry {name!r} of task '{task.name}' has {len(maps)} token maps "
                              f"but {len(outs)} class maps.")
        where = range(task.arity) if slots is None else slots
        return [(n, element(task, tokens={s: m for s in where}, outputs=o))
                for (n, m), (_, o) in zip(maps, outs)]
    return Declared(name, description, generators)


def slot_permutation(name: str, slots: Sequence[int], *, tokens: Callable | None = None,
                     output: Callable | None = None, description: str = "",
                     generator: str | None = None) -> Declared:
    """Move slot ``i`` to ``slots[i]``, relabelling every token by ``tokens(t, **params)``
    and the classes by ``output(c, **params)`` (both optional).

    >>> from symreg.registry import get_task
    >>> sym = slot_permutation("commutativity", [1, 0], tokens=lambda t: -t % 5, generator="(x,y)->(-y,-x)")
    >>> sym.build(get_task("mod_sub", p=5)).verify(get_task("mod_sub", p=5)).ok
    True
    """
    def generators(task: Task) -> list[tuple[str | None, Any]]:
        t = None if tokens is None else _maps(_call(tokens, (np.arange(task.vocab_size),), task.params))[0][1]
        o = None if output is None else _maps(_call(output, (np.arange(task.n_classes),), task.params))[0][1]
        return [(generator, element(task, slots=slots, tokens=t, outputs=o))]
    return Declared(name, description, generators)


def swap(name: str = "commutativity", *, slots: tuple[int, int] = (0, 1),
         description: str = "f(x,y) = f(y,x)") -> Declared:
    """Swap two argument slots, output unchanged (commutativity).

    >>> from symreg.registry import get_task
    >>> swap().build(get_task("mod_add", p=5)).generator_names
    ['swap']
    """
    def generators(task: Task) -> list[tuple[str | None, Any]]:
        perm = list(range(task.arity))
        perm[slots[0]], perm[slots[1]] = slots[1], slots[0]
        return [("swap", element(task, slots=perm))]
    return Declared(name, description, generators)


# --- operation tasks --------------------------------------------------------------
@dataclass(frozen=True)
class Operation:
    """What :func:`operation_task` was given (kept on the class as ``operation``)."""

    fn: Callable
    n: Any
    m: Any
    symmetries: tuple
    example: Any


class OperationTask(Task):
    """Base of the classes :func:`operation_task` builds: every slot holds ``range(n)``."""

    operation: Operation
    declared_arity: int

    @property
    def vocab_size(self) -> int:
        return int(_value(self.operation.n, self.params))

    @property
    def n_classes(self) -> int:
        m = self.operation.m
        return self.vocab_size if m is None else int(_value(m, self.params))

    def slot_tokens(self) -> list[np.ndarray]:
        return [np.arange(self.vocab_size)] * self.declared_arity

    def slot_sizes(self) -> list[int]:
        return [self.vocab_size] * self.declared_arity

    def label(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.int64)
        cols = [x[:, i] for i in range(x.shape[1])]
        y = np.broadcast_to(np.asarray(_call(self.operation.fn, cols, self.params), dtype=np.int64), len(x))
        if y.size and (y.min() < 0 or y.max() >= self.n_classes):
            bad = int(y[(y < 0) | (y >= self.n_classes)][0])
            raise PluginError(f"Task '{self.name}' labelled an input with class {bad}, "
                              f"outside 0..{self.n_classes - 1}.")
        return y

    def decode(self, tokens) -> tuple[int, ...]:
        return tuple(int(t) for t in tokens)

    def encode(self, value) -> tuple[int, ...]:
        value = tuple(value)
        if len(value) != self.arity or not all(0 <= v < self.vocab_size for v in value):
            raise ValueError(f"{value} is not {self.arity} numbers in 0..{self.vocab_size - 1}")
        return tuple(int(v) for v in value)

    @property
    def encoding_example(self) -> str:
        if self.operation.example is None:
            return super().encoding_example
        value = tuple(int(v) % self.vocab_size for v in _value(self.operation.example, self.params))
        tokens = self.encode(value)
        y = int(self.label(np.array([tokens]))[0])
        args = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.name}{row_text(value)}{f' with {args}' if args else ''}: tokens {row_text(tokens)} -> class {y}"

    def __reduce__(self) -> tuple:
        return _rebuild, (type(self).__module__, self.name, self.params)

    def symmetries(self) -> list[Symmetry]:
        out = []
        for s in self.operation.symmetries:
            sym = (s.build(self) if isinstance(s, Declared) else copy.copy(s) if isinstance(s, Symmetry)
                   else s(self))
            if sym is not None:
                out.append(sym)
        return out


def _rebuild(module: str, name: str, params: dict, base: type | None = None) -> Task:
    """Unpickle a declared task: its class is the global of ``module`` (a subclass of ``base``) declaring ``name``."""
    base = base or OperationTask
    for obj in vars(importlib.import_module(module)).values():
        if isinstance(obj, type) and issubclass(obj, base) and obj.__dict__.get("name") == name:
            return obj(**params)
    raise PluginError(f"Task '{name}' is no longer declared in module {module!r}.")


def _class_name(name: str, fallback: str) -> str:
    """A CamelCase class name for a declared task: ``mod_mul_demo`` -> ``ModMulDemo``."""
    return "".join(w.capitalize() for w in re.split(r"\W+|_", name) if w) or fallback


def operation_task(name: str, fn: Callable, *, n: int | Callable, m: int | Callable | None = None,
                   arity: int = 2, params: dict[str, Param] | None = None, preset: Preset = PRESET,
                   quick: Preset = QUICK, symmetries: Sequence = (), example: Any = None,
                   description: str = "", domain: str = "algebraic", version: int = 1) -> type[Task]:
    """The Task class of ``fn(*columns, **params)`` on ``arity`` tokens in ``range(n)``.

    ``n`` and ``m`` (classes, default ``n``) are numbers or functions of the
    parameters; ``example`` is an input (or a function of the parameters giving
    one) shown as the encoding example. Register the class with :func:`tasks_hook`.

    >>> Sub = operation_task("sub7", lambda x, y, p: (x - y) % p, n=lambda p: p,
    ...                      params={"p": Param(7, "modulus", prime)}, example=(3, 5))
    >>> task = Sub()
    >>> task.encoding_example, task.label(np.array([[2, 4]])).tolist(), task.size
    ('sub7(3, 5) with p=7: tokens (3, 5) -> class 5', [5], 49)
    """
    if domain not in DOMAINS:
        raise UsageError(f"Task {name!r} has domain {domain!r}, not one of {', '.join(DOMAINS)}.")
    cls_name = _class_name(name, "Operation")
    attrs = {"name": name, "domain": domain, "version": version, "description": description,
             "parameters": dict(params or {}), "preset": preset, "quick": quick,
             "declared_arity": arity, "operation": Operation(fn, n, m, tuple(symmetries), example),
             "__module__": sys._getframe(1).f_globals.get("__name__", __name__),
             "__doc__": description or f"The operation task {name!r}."}
    return type(cls_name, (OperationTask,), attrs)


def tasks_hook(*classes: type[Task]) -> Callable:
    """A ``register_tasks`` hook implementation registering ``classes``.

    Bind it to that name in the plugin module: ``register_tasks = tasks_hook(Xor, And)``.

    >>> seen = []
    >>> tasks_hook(int, str)(seen.append); seen
    [<class 'int'>, <class 'str'>]
    """
    def register_tasks(register: Callable) -> None:
        for cls in classes:
            register(cls)
    return hookimpl(register_tasks)
