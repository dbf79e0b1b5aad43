"""A symreg plugin: ``xor``, the bitwise XOR of two ``bits``-bit numbers.

Encoding: token ``t`` is the number ``t`` (``0 .. 2**bits - 1``) in either
slot, and class ``k`` is the number ``k``. With ``bits=6``, ``5 ^ 3`` is the
input ``(5, 3)`` with class ``6`` (``0b101 ^ 0b011 = 0b110``).

The task is the group ``Z_2^bits``, so it is commutative, associative, and
equivariant under translation (``x -> x^k``) and under any permutation of the
bit positions applied to both inputs and the output.
"""
from symreg import Associativity, Param, Preset, between, operation_task, swap, tasks_hook, token_map


def flips(t, bits):
    """x -> x^k for k = 1, 2, 4, ..."""
    return {f"x->x^{1 << i}": t ^ (1 << i) for i in range(bits)}


def bit_moves(t, bits):
    """Bit i moves to position perm[i], in both inputs and the output (none for one bit)."""
    perms = {"swap bits 0,1": [1, 0, *range(2, bits)], "rotate bits": [*range(1, bits), 0]}
    return {k: sum(((t >> i) & 1) << j for i, j in enumerate(p)) for k, p in perms.items() if bits > 1}


Xor = operation_task(
    "xor", lambda x, y: x ^ y, n=lambda bits: 2 ** bits, example=(5, 3),
    description="x^y: bitwise XOR of two bits-bit numbers (the group Z_2^bits)",
    params={"bits": Param(6, "word size in bits", between(1, 8))},
    preset=Preset(train_frac=0.3, weight_decay=1.0, epochs=100_000, note="like the paper's x+y"),
    quick=Preset(train_frac=0.5, weight_decay=1.0, epochs=5_000, params={"bits": 5}),
    symmetries=[swap(description="x^y = y^x"),
                token_map("translation", flips, slots=[0], description="(x^k)^y = (x^y)^k"),
                token_map("bit_permutation", bit_moves, description="permuting bit positions commutes with XOR"),
                Associativity(description="(x^y)^z = x^(y^z)")])

register_tasks = tasks_hook(Xor)
