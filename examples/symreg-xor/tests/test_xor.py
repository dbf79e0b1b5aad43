"""The plugin's own tests: every declared symmetry, property-tested and then proved."""
import numpy as np
import pytest
from hypothesis import given

import symreg
from symreg.symmetry.verification import verify_task
from symreg.testing import assert_law, assert_symmetry, group_elements, law_instances, task_inputs
from symreg_xor import Xor

task = Xor(bits=4)
commutativity, translation, bit_permutation, associativity = task.symmetries()


@given(x=task_inputs(task), g=group_elements(commutativity))
def test_commutativity(x, g):
    assert_symmetry(task, commutativity, x, g)


@given(x=task_inputs(task), g=group_elements(translation))
def test_translation(x, g):
    assert_symmetry(task, translation, x, g)


@given(x=task_inputs(task), g=group_elements(bit_permutation))
def test_bit_permutation(x, g):
    assert_symmetry(task, bit_permutation, x, g)


@given(inst=law_instances(task, associativity))
def test_associativity(inst):
    assert_law(task, associativity, inst)


def test_group_orders():
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
