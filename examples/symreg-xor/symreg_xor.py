"""A symreg plugin: ``xor``, the bitwise XOR of two ``bits``-bit numbers.

Encoding: token ``t`` is the number ``t`` (``0 .. 2**bits - 1``) in either
slot, and class ``k`` is the number ``k``. With ``bits=6``, ``5 ^ 3`` is the
input ``(5, 3)`` with class ``6`` (``0b101 ^ 0b011 = 0b110``).

The task is the group ``Z_2^bits``, so it is commutative, associative, and
equivariant under translation (``x -> x^k``) and under any permutation of the
bit positions applied to both inputs and the output.
"""
import numpy as np

import symreg
from symreg import Associativity, GroupAction, Param, Preset, Task, element


def _bits(b):
    return None if 1 <= b <= 8 else "must be between 1 and 8"


class Xor(Task):
    name = "xor"
    domain = "algebraic"
    description = "x^y: bitwise XOR of two bits-bit numbers (the group Z_2^bits)"
    parameters = {"bits": Param(6, "word size in bits", _bits)}
    preset = Preset(train_frac=0.3, weight_decay=1.0, epochs=100_000, note="like the paper's x+y")
    quick = Preset(train_frac=0.5, weight_decay=1.0, epochs=5_000, params={"bits": 5})

    @property
    def vocab_size(self):
        return 2 ** self.params["bits"]

    n_classes = vocab_size  # the classes are the same numbers as the tokens

    def slot_tokens(self):
        return [np.arange(self.vocab_size)] * 2

    def label(self, x):
        return x[:, 0] ^ x[:, 1]

    def decode(self, tokens):
        return tuple(int(t) for t in tokens)

    def encode(self, value):
        if not all(0 <= v < self.vocab_size for v in value):
            raise ValueError(f"{value} is not a pair of {self.params['bits']}-bit numbers")
        return tuple(int(v) for v in value)

    def symmetries(self):
        bits, t = self.params["bits"], np.arange(self.vocab_size)
        flips = [t ^ (1 << i) for i in range(bits)]  # x -> x^k for k = 1, 2, 4, ...
        syms = [
            GroupAction("commutativity", [element(self, slots=[1, 0])], "x^y = y^x", ["swap"]),
            GroupAction("translation", [element(self, tokens={0: f}, outputs=f) for f in flips],
                        "(x^k)^y = (x^y)^k", [f"x->x^{1 << i}" for i in range(bits)]),
            Associativity(description="(x^y)^z = x^(y^z)"),
        ]
        if bits > 1:  # bit i moves to position perm[i], in both inputs and the output
            perms = {"swap bits 0,1": [1, 0, *range(2, bits)], "rotate bits": [*range(1, bits), 0]}
            moved = [sum(((t >> i) & 1) << j for i, j in enumerate(p)) for p in perms.values()]
            syms.insert(2, GroupAction("bit_permutation",
                                       [element(self, tokens=m, outputs=m) for m in moved],
                                       "permuting bit positions commutes with XOR", list(perms)))
        return syms


@symreg.hookimpl
def register_tasks(register):
    register(Xor)
