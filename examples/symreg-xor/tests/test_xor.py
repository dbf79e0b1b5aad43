"""The plugin's own tests; the line ``symreg_tasks`` runs symreg's contract tests on its task."""
from __future__ import annotations

import numpy as np
import pytest

import symreg
from symreg.symmetry.verification import verify_task
from symreg_xor import Xor

symreg_tasks = ["xor"]  # symreg's contract tests (verification, round trips, property tests, training)


def test_group_orders():
    commutativity, translation, bit_permutation, _ = Xor(bits=4).symmetries()
    assert [s.order() for s in (commutativity, translation, bit_permutation)] == [2, 16, 24]


@pytest.mark.parametrize("bits", range(1, 8))
def test_every_symmetry_is_proved(bits):
    verdicts = verify_task(Xor(bits=bits))
    assert verdicts and all(v.ok for v in verdicts), [str(v.counterexample) for v in verdicts]


def test_worked_example_from_the_docstring():
    xor = Xor()  # bits=6
    assert xor.encode((5, 3)) == (5, 3)
    assert xor.label(np.array([[5, 3]])).tolist() == [6]


@pytest.mark.parametrize("bits", [0, 9])
def test_bits_is_validated(bits):
    with pytest.raises(symreg.UsageError, match=f"bits={bits}.*between 1 and 8"):
        Xor(bits=bits)
