"""Matmul precision: fp32, bf16 (autocast of the matmuls) or tf32 (CUDA's tensor-core fp32).

Only the matmuls change: under ``bf16`` the forward passes run in
:func:`torch.autocast`, which gives bf16 operands to the matmuls and keeps
reductions, softmax and the rest in fp32; the parameters and the optimizer
state stay fp32 (master weights), and the loss and every metric are computed
from the logits in float64 as at fp32. ``tf32`` lets a CUDA GPU of compute
capability 8.0 or later round matmul inputs to tf32 (10-bit mantissa).

Either is refused where the hardware has no fast path for it, because
emulated bf16 is slower than fp32: a CPU needs AVX512-BF16 or AMX (asked of
torch's CPU feature detection, not guessed from the model name), a CUDA GPU
compute capability 8.0. ``force`` overrides the refusal (to study the numerics
on any machine).

>>> precision_problem("fp32", "cpu") is None
True
>>> precision_problem("fp16", "cpu")
"precision = 'fp16' is not one of fp32, bf16, tf32."
"""
from __future__ import annotations

import contextlib
from typing import ContextManager

from symreg.errors import UsageError

PRECISIONS = ("fp32", "bf16", "tf32")


def fast_bf16(device_type: str, index: int | None = None) -> bool:
    """Whether ``device_type`` multiplies bf16 matrices natively (faster than fp32).

    >>> isinstance(fast_bf16("cpu"), bool)
    True
    """
    import torch

    if device_type == "cpu":
        cpu = torch.cpu
        return bool(getattr(cpu, "_is_avx512_bf16_supported", lambda: False)()
                    or getattr(cpu, "_is_amx_tile_supported", lambda: False)())
    if device_type == "cuda":
        return torch.cuda.is_available() and torch.cuda.get_device_capability(index)[0] >= 8
    return False


def precision_problem(precision: str, device_type: str, index: int | None = None) -> str | None:
    """Why ``precision`` cannot run fast on ``device_type``, or None (fp32 always can)."""
    if precision not in PRECISIONS:
        return f"precision = {precision!r} is not one of {', '.join(PRECISIONS)}."
    if precision == "bf16" and not fast_bf16(device_type, index):
        where = ("this CPU has neither AVX512-BF16 nor AMX" if device_type == "cpu"
                 else f"device {device_type} has no native bf16 matmul")
        return f"precision = 'bf16' would be emulated here ({where}), slower than fp32; force it to study the numerics."
    if precision == "tf32" and not (device_type == "cuda" and fast_bf16("cuda", index)):
        return "precision = 'tf32' exists only on CUDA GPUs of compute capability 8.0 or later; use fp32 or bf16."
    return None


def check_precision(precision: str, force: bool, device) -> None:
    """Raise a one-line UsageError for a precision ``device`` (a torch.device) has no fast path for, unless ``force``.

    >>> import torch
    >>> check_precision("tf32", False, torch.device("cpu"))
    Traceback (most recent call last):
    ...
    symreg.errors.UsageError: precision = 'tf32' exists only on CUDA GPUs of compute capability 8.0 or later; use fp32 or bf16.
    """
    problem = precision_problem(precision, device.type, device.index)
    if problem and not (force and precision in PRECISIONS):
        raise UsageError(problem.replace("force it", "force it with --set force_precision=true"))


def autocast(precision: str, device_type: str) -> ContextManager:
    """The context the forward passes run in: bf16 autocast, or nothing.

    >>> import torch
    >>> with autocast("bf16", "cpu"):
    ...     (torch.ones(2, 2) @ torch.ones(2, 2)).dtype
    torch.bfloat16
    """
    import torch

    if precision == "bf16":  # no cast cache on CUDA: a captured graph must not keep casts across replays
        return torch.autocast(device_type, dtype=torch.bfloat16, cache_enabled=device_type != "cuda")
    return contextlib.nullcontext()


def set_matmul_precision(precision: str) -> None:
    """Allow (``tf32``) or forbid tf32 in CUDA matmuls and convolutions; a no-op elsewhere."""
    import torch

    allow = precision == "tf32"
    torch.backends.cuda.matmul.allow_tf32 = allow
    torch.backends.cudnn.allow_tf32 = allow
