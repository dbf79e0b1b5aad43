"""The relational plugin: compare_2d and compare_3d, their labels, encoding and symmetries."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from symreg.errors import UsageError
from symreg.symmetry import apply, verify_task
from symreg_relational import Compare2D, Compare3D, register_tasks

TASKS = [Compare2D(), Compare3D(), Compare2D(**Compare2D.quick.params), Compare3D(**Compare3D.quick.params)]


def ask(task, a, rel, b) -> str:
    x = np.array([task.encode((a, rel, b))])
    return task.class_name(task.label(x)[0])


def test_sizes():
    t2, t3 = Compare2D(), Compare3D()
    assert (t2.n_entities, t2.vocab_size, len(t2), t2.arity, t2.n_classes) == (49, 55, 49 * 6 * 49, 3, 2)
    assert (t3.n_entities, t3.vocab_size, len(t3)) == (27, 36, 27 * 9 * 27)
    assert t3.geometry_tokens().tolist() == list(range(27))
    assert t3.geometry_coords().shape == (27, 3)
    assert t2.geometry_coords()[19].tolist() == [2.0, 5.0]


def test_worked_example():
    t = Compare2D()
    assert t.encode(((2, 5), "height >", (1, 1))) == (19, 54, 8)
    assert t.label(np.array([[19, 54, 8]])).tolist() == [1]
    assert t.decode((19, 54, 8)) == ((2, 5), "height >", (1, 1))
    assert (t.token_name(19), t.token_name(54), t.class_name(0)) == ("(2,5)", "height>", "no")


def test_label_semantics():
    t = Compare2D()
    assert ask(t, (2, 5), "age <", (3, 1)) == "yes"
    assert ask(t, (2, 5), "age >", (3, 1)) == "no"
    assert ask(t, (2, 5), "age =", (2, 0)) == "yes"
    assert ask(t, (2, 5), "height =", (2, 0)) == "no"
    assert ask(t, (2, 5), "height >", (3, 1)) == "yes"
    assert ask(t, (4, 4), "height <", (4, 4)) == "no"
    t3 = Compare3D()
    assert ask(t3, (0, 2, 1), "weight <", (2, 0, 2)) == "yes"
    assert ask(t3, (0, 2, 1), "weight >", (2, 0, 2)) == "no"
    assert ask(t3, (0, 2, 1), "height >", (2, 0, 2)) == "yes"


@given(st.data())
def test_exactly_one_relation_holds(data):
    task = data.draw(st.sampled_from(TASKS))
    a, b = (data.draw(st.integers(0, task.n_entities - 1)) for _ in range(2))
    for attr in range(task.k):
        rels = [task.relation(attr, op) for op in range(3)]
        yes = task.label(np.array([[a, r, b] for r in rels]))
        assert yes.sum() == 1


def test_encode_decode_round_trip():
    for task in TASKS:
        x = task.inputs()
        for row in x[:: max(1, len(x) // 500)]:
            assert task.encode(task.decode(row)) == tuple(int(t) for t in row)


def test_encode_rejects_bad_values():
    t = Compare2D()
    with pytest.raises(UsageError, match="7"):
        t.encode(((7, 0), "age <", (1, 1)))
    with pytest.raises(UsageError, match="weight"):
        t.encode(((0, 0), "weight <", (1, 1)))


@pytest.mark.parametrize("cls, bad", [(Compare2D, 1), (Compare2D, 14), (Compare3D, 0), (Compare3D, 6)])
def test_bad_params_raise(cls, bad):
    with pytest.raises(UsageError, match=f"m={bad}"):
        cls(m=bad)


def test_params_at_the_cap_stay_tractable():
    assert len(Compare2D(m=13)) < 200_000
    assert len(Compare3D(m=5)) < 200_000


def test_group_orders():
    for task in (Compare2D(), Compare3D()):
        syms = {s.name: s for s in task.symmetries()}
        k = task.k
        assert syms["converse"].order() == 2
        assert syms["reversal"].order() == 2 ** k
        assert syms["attribute_permutation"].order() == (2 if k == 2 else 6)
        assert all(syms[n].is_invariance(task) for n in ("converse", "reversal", "attribute_permutation"))
        assert syms["transitivity"].kind == "law"


def _move(task, name, index, query):
    g = {s.name: s for s in task.symmetries()}[name].generators[index]
    return task.decode(apply(g, np.array([task.encode(query)]), task.vocab_size)[0])


def test_converse_and_reversal_on_a_worked_example():
    t = Compare2D()
    q = ((2, 5), "height >", (3, 1))
    assert _move(t, "converse", 0, q) == ((3, 1), "height <", (2, 5))
    assert _move(t, "converse", 0, ((2, 5), "age =", (3, 1))) == ((3, 1), "age =", (2, 5))
    assert _move(t, "reversal", 0, q) == ((4, 5), "height >", (3, 1))  # age reflected, height kept
    assert _move(t, "reversal", 1, q) == ((2, 1), "height <", (3, 5))
    assert _move(t, "attribute_permutation", 0, q) == ((5, 2), "age >", (1, 3))


def test_attribute_cycle_in_3d():
    t = Compare3D()
    got = _move(t, "attribute_permutation", 1, ((0, 1, 2), "age <", (2, 2, 0)))
    assert got == ((2, 0, 1), "height <", (0, 2, 2))  # age->height->weight->age


def test_verify_passes():
    for task in TASKS:
        verdicts = verify_task(task, task.symmetries())
        assert [v.symmetry for v in verdicts] == ["converse", "reversal", "attribute_permutation",
                                                  "transitivity"]
        assert all(v.ok for v in verdicts), [str(v.counterexample) for v in verdicts if not v.ok]


def test_transitivity_catches_a_broken_oracle():
    class Broken(Compare3D):
        def label(self, x):
            y = super().label(x).copy()
            y[(x[:, 0] == 0) & (x[:, 2] == 26)] ^= 1  # (0,0,0) vs (2,2,2): flip every answer
            return y

    task = Broken()
    law = task.symmetries()[-1]
    verdict = law.verify(task)
    assert not verdict.ok and verdict.counterexample.input[0] == "(0,0,0)"


def test_plugin_registers_both_tasks():
    got = []
    register_tasks(got.append)
    assert [c.name for c in got] == ["compare_2d", "compare_3d"]
    assert {c.domain for c in got} == {"relational"}
