"""Declared tasks (symreg.declare): the table, the encoding, the symmetries and the checks it builds."""
from __future__ import annotations

import ast
import io
import pickle
import re
import tokenize
import types
from pathlib import Path

import numpy as np
import pytest

import symreg
from symreg import (
    Associativity,
    Param,
    UsageError,
    all_of,
    between,
    odd_prime,
    operation_task,
    prime,
    slot_permutation,
    swap,
    tasks_hook,
    token_map,
    verify_task,
)
from symreg.errors import PluginError
from symreg.plugins import add_plugin, failures, pm
from symreg.registry import get_task, task_entries

README = (Path(__file__).parent.parent / "README.md").read_text()


def _neg(t, p):
    return -t % p


def _shift(t, p):
    return {"+1": (t + 1) % p}


# x-y mod p, with the paper's commutativity proxy, translation (y -> y+1 moves the output by -1)
# and the associativity proxy
Sub = operation_task(
    "decl_sub", lambda x, y, p: (x - y) % p, n=lambda p: p, example=(3, 5),
    params={"p": Param(11, "modulus", odd_prime)}, description="x-y mod p",
    symmetries=[slot_permutation("commutativity", [1, 0], tokens=_neg, generator="(x,y)->(-y,-x)"),
                token_map("translation x", _shift, slots=[0]),
                token_map("translation y", _shift, slots=[1], output=lambda c, p: {"-1": (c - 1) % p}),
                lambda task: Associativity(beta=_neg(np.arange(task.vocab_size), task.params["p"]))])

# a+b+c without a modulus: three slots, more classes than tokens, and an invariance on the parity task below
Sum3 = operation_task("decl_sum3", lambda a, b, c: a + b + c, arity=3, n=lambda k: k, m=lambda k: 3 * k - 2,
                      params={"k": Param(4, "tokens per slot", between(1, 20))},
                      symmetries=[swap(), swap("outer swap", slots=(0, 2))])
Parity = operation_task("decl_parity", lambda x, y: (x + y) % 2, n=6, m=2,
                        symmetries=[token_map("even shift", lambda t: (t + 2) % 6, output=False),
                                    token_map("odd shift", lambda t: (t + 1) % 6, slots=[0],
                                              output=lambda c: 1 - c)])
Wrong = operation_task("decl_wrong", lambda x, y, p: (x - y) % p, n=lambda p: p,
                       params={"p": Param(7, "modulus", prime)}, symmetries=[swap(description="x-y = y-x?")])


@pytest.mark.parametrize("task", [Sub(), Sub(p=7), Sum3(), Sum3(k=1), Parity()], ids=repr)
def test_encode_decode_round_trip_and_sizes(task):
    x = task.inputs()
    assert [task.encode(task.decode(row)) for row in x] == [tuple(r) for r in x.tolist()]
    assert task.size == len(x) == task.vocab_size ** task.arity
    with pytest.raises(ValueError):
        task.encode((task.vocab_size,) * task.arity)


def test_labels_match_the_function():
    sub, s3 = Sub(p=13), Sum3(k=5)
    x, y = sub.inputs().T
    assert np.array_equal(sub.labels, (x - y) % 13)
    assert np.array_equal(s3.labels, s3.inputs().sum(1))
    assert (s3.arity, s3.vocab_size, s3.n_classes, s3.labels.max()) == (3, 5, 13, 12)
    assert sub.encoding_example == "decl_sub(3, 5) with p=13: tokens (3, 5) -> class 11"


@pytest.mark.parametrize("task", [Sub(), Sub(p=5), Sum3(), Sum3(k=2), Parity()], ids=repr)
def test_declared_symmetries_verify(task):
    verdicts = verify_task(task)
    assert len(verdicts) == len(task.symmetries()) >= 2
    assert all(v.ok for v in verdicts), [str(v.counterexample) for v in verdicts]


def test_declared_symmetries_are_the_intended_groups():
    comm, tx, ty, assoc = Sub(p=7).symmetries()
    assert (comm.generator_names, tx.generator_names, ty.generator_names) == (["(x,y)->(-y,-x)"], ["+1"], ["+1"])
    assert [comm.order(), tx.order(), ty.order()] == [2, 7, 7]
    assert not tx.is_invariance(Sub(p=7)) and Parity().symmetries()[0].is_invariance(Parity())
    assert isinstance(assoc, Associativity)


def test_wrong_declaration_fails_verification():
    (verdict,) = verify_task(Wrong())
    assert not verdict.ok and verdict.counterexample is not None


def test_a_symmetry_instance_is_copied_for_each_task():
    Add = operation_task("decl_add", lambda x, y: (x + y) % 5, n=5, symmetries=[Associativity()])
    a, b = Add().symmetries()[0], Add().symmetries()[0]
    assert a is not b and a.name == "associativity"
    assert all(v.ok for v in verify_task(Add()))


def test_empty_token_maps_declare_nothing():
    Few = operation_task("decl_few", lambda x, y: x ^ y, n=lambda k: k, params={"k": Param(4, "tokens")},
                         symmetries=[token_map("flips", lambda t, k: [t ^ 1] if k > 1 else [])])
    assert [s.name for s in Few().symmetries()] == ["flips"] and Few(k=1).symmetries() == []


@pytest.mark.parametrize("cls, params, reason", [
    (Sub, {"p": 9}, "p=9 of task 'decl_sub' must be an odd prime"),
    (Sub, {"p": 2}, "p=2 of task 'decl_sub' must be an odd prime"),
    (Sum3, {"k": 21}, "k=21 of task 'decl_sum3' must be between 1 and 20"),
    (Wrong, {"p": 8}, "p=8 of task 'decl_wrong' must be a prime"),
    (Sub, {"p": 7.0}, "p=7.0 of task 'decl_sub' must be of type int"),
])
def test_bad_params_are_refused_naming_the_value(cls, params, reason):
    with pytest.raises(UsageError, match=reason):
        cls(**params)


def test_checks_compose():
    check = all_of(between(3, 2**31 - 1), prime)
    assert [check(v) for v in (7, 2, 2**31 - 1, 2**31 + 11, 15)] == [
        None, "must be between 3 and 2147483647", None, "must be between 3 and 2147483647", "must be a prime"]


def test_a_ufunc_label_and_a_bad_domain():
    Xor = operation_task("decl_xor", np.bitwise_xor, n=8, symmetries=[swap()])
    assert np.array_equal(Xor().labels, np.bitwise_xor(*Xor().inputs().T))
    with pytest.raises(UsageError, match="domain 'algebra'"):
        operation_task("decl_x", np.add, n=3, domain="algebra")


def test_a_label_outside_the_classes_is_a_plugin_error():
    Bad = operation_task("decl_bad", lambda x, y: x + y, n=3)
    with pytest.raises(PluginError, match="class 3, outside 0..2"):
        Bad().labels


def test_declared_class_is_named_and_pickles():
    assert (Sub.__name__, Sub.__module__, Sum3.name, Sum3.domain) == ("DeclSub", __name__, "decl_sum3", "algebraic")
    task = pickle.loads(pickle.dumps(Sub(p=7)))
    assert task.params == {"p": 7} and np.array_equal(task.labels, Sub(p=7).labels)


def test_tasks_hook_registers_every_class():
    plugin = types.SimpleNamespace(register_tasks=tasks_hook(Sub, Sum3))
    try:
        assert add_plugin(plugin, "decl-test"), failures.get("decl-test")
        assert task_entries()["decl_sub"].obj is Sub and task_entries()["decl_sum3"].plugin == "decl-test"
        assert get_task("decl_sum3", k=2).size == 8
    finally:
        if pm.has_plugin("decl-test"):
            pm.unregister(name="decl-test")
        failures.pop("decl-test", None)
    assert "decl_sub" not in task_entries()


def test_readme_declared_task_runs_and_verifies():
    section = README.split("### Declaring a task")[1].split("\n## ")[0]
    code = section.split("```python")[1].split("```")[0]
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    task = namespace["ModMul"](p=11)
    assert [s.name for s in task.symmetries()] == ["commutativity", "negation"]
    assert all(v.ok for v in verify_task(task))
    got = []
    namespace["register_tasks"](got.append)
    assert got == [namespace["ModMul"]] and symreg.hookimpl  # the hook is a plain pluggy hookimpl


def code_lines(source: str) -> int:
    """Lines holding code: not blank, not only a comment, not part of a docstring."""
    doc: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            doc.update(range(body[0].lineno, body[0].end_lineno + 1))
    skip = (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER)
    lines = {n for tok in tokenize.generate_tokens(io.StringIO(source).readline) if tok.type not in skip
             for n in range(tok.start[0], tok.end[0] + 1)}
    return len(lines - doc)


def test_example_plugin_is_declared_in_at_most_20_lines_as_the_readme_says():
    source = (Path(__file__).parent.parent / "examples" / "symreg-xor" / "symreg_xor.py").read_text()
    total, code = map(int, re.search(r"a module of (\d+), (\d+) of them code", README).groups())
    assert (len(source.splitlines()), code_lines(source)) == (total, code)
    assert code <= 20 and "operation_task(" in source
    assert code_lines('"""doc"""\n# comment\n\nx = 1  # one\ndef f():\n    """doc"""\n    return x\n') == 3
