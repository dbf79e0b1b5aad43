"""Sizes before allocation (symreg.limits): a task's size is a formula, every command that
enumerates checks its memory estimate against one limit first, and seeds and sweep points are capped."""
from __future__ import annotations

import json
import math
import time
import tracemalloc

import numpy as np
import pytest
from click.testing import CliRunner

from symreg import Param, Preset, Task
from symreg.cli import cli
from symreg.errors import UsageError
from symreg.limits import (
    GIB,
    MEMORY_ENV,
    TooLargeError,
    available_bytes,
    check_seeds,
    check_training,
    memory_limit,
    training_bytes,
)
from symreg.registry import get_task
from symreg.task import is_prime
from symreg.train.config import TrainConfig
from symreg.verifying import verify_tasks


def invoke(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


class Sparse(Task):
    """Slots of different sizes, one with a repeated token: the default size counts distinct tokens."""

    name, domain = "test_sparse", "algebraic"
    parameters = {"n": Param(3, "tokens in the second slot")}
    preset = quick = Preset(0.5, 1.0, 10)
    vocab_size = property(lambda self: max(4, self.params["n"]))
    n_classes = 2

    def slot_tokens(self):
        return [np.array([0, 2, 2]), np.arange(self.params["n"])]

    def label(self, x):
        return (x[:, 0] + x[:, 1]) % 2

    def decode(self, tokens):
        return tuple(int(t) for t in tokens)

    def encode(self, value):
        return tuple(value)


class Astronomical(Sparse):
    name = "test_astronomical"
    vocab_size = property(lambda self: 2 ** 40)

    def slot_sizes(self):
        return [2 ** 40, 2 ** 40]


# --- sizes ------------------------------------------------------------------------------------
def test_size_is_a_formula_and_allocates_nothing():
    tracemalloc.start()
    task = get_task("mod_add", p=2 ** 31 - 1)
    assert (task.size, task.arity, task.spec()["size"]) == ((2 ** 31 - 1) ** 2, 2, (2 ** 31 - 1) ** 2)
    assert "tokens (3, 5) -> class 8" in task.encoding_example
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 10 * 2 ** 20


def test_the_default_size_counts_distinct_tokens_and_matches_the_enumeration():
    for n in (1, 3, 5):
        task = Sparse(n=n)
        assert task.size == len(task) == len(task.inputs()) == 2 * n
        row = task.inputs()[min(len(task) // 3 + 1, len(task) - 1)]
        assert task.encoding_example.startswith(f"{task.decode(row)} -> tokens {tuple(int(t) for t in row)}")


def test_len_of_a_task_past_any_index_is_an_error_not_an_overflow():
    task = Astronomical()
    assert task.size == 2 ** 80
    with pytest.raises(TooLargeError, match="more than can be indexed"):
        len(task)


def test_is_prime_is_exact_and_fast_at_any_size():
    from sympy import isprime

    assert [n for n in range(5000) if is_prime(n)] == [n for n in range(5000) if isprime(n)]
    start = time.perf_counter()
    for n in (2 ** 61 - 1, 2 ** 31 - 1, 10 ** 18 + 9, 561, 3215031751, 2 ** 89 - 1, 10 ** 30 + 57):
        assert is_prime(n) == isprime(n), n
    assert time.perf_counter() - start < 1


def test_modular_tasks_refuse_a_modulus_past_int64_products():
    with pytest.raises(UsageError, match="at most 2147483647"):
        get_task("mod_add", p=2 ** 31)
    with pytest.raises(UsageError, match="at most 2147483647"):
        get_task("mod_mul", p=2 ** 61 - 1)


@pytest.mark.parametrize("name, e", [("mod_sum_sq", 2), ("mod_sum_cube", 3)])
def test_sum_power_labels_need_no_table_of_p_entries(name, e):
    task = get_task(name, p=11)
    x = task.inputs()
    assert task.labels.tolist() == [pow(int(a + b), e, 11) for a, b in x]
    big = get_task(name, p=2 ** 31 - 1)
    row = np.array([[2 ** 31 - 2, 2 ** 31 - 3]])
    assert big.label(row).tolist() == [pow(2 ** 32 - 5, e, 2 ** 31 - 1)]


# --- the limit ---------------------------------------------------------------------------------
def test_the_limit_is_a_share_of_available_memory_or_the_environment(monkeypatch):
    monkeypatch.delenv(MEMORY_ENV, raising=False)
    limit, how = memory_limit()
    avail = available_bytes()
    assert avail is None or math.isclose(limit, 0.8 * avail, rel_tol=0.2) and "available" in how
    monkeypatch.setenv(MEMORY_ENV, "0.5")
    assert memory_limit()[0] == 0.5 * GIB
    monkeypatch.setenv(MEMORY_ENV, "off")
    assert memory_limit()[0] == math.inf
    for bad in ("abc", "-1", "0", "nan"):
        monkeypatch.setenv(MEMORY_ENV, bad)
        with pytest.raises(UsageError, match=MEMORY_ENV):
            memory_limit()


def test_show_of_a_huge_task_reports_its_size_and_skips_only_the_symmetries(monkeypatch):
    start = time.perf_counter()
    result = invoke("show", "mod_add", "-P", "p=1000000007", "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["size"] == 1000000007 ** 2 and info["symmetries"] == []
    assert "3,000,000,021 points" in info["symmetries_skipped"]
    text = invoke("show", "mod_mul", "-P", "p=1000000007").output
    assert "inputs: 1,000,000,014,000,000,049" in text and "symmetries: not built: " in text
    text = invoke("show", "mod_add", "-P", "p=10007").output  # built, but no group order (hours in sympy)
    assert "translation          group order not computed (30021 points), generators: x->x+1, y->y+1" in text
    assert time.perf_counter() - start < 10
    ok = json.loads(invoke("show", "mod_add", "-P", "p=7", "--json").output)
    assert ok["symmetries_skipped"] is None and [s["order"] for s in ok["symmetries"][:3]] == [2, 49, 6]
    monkeypatch.setenv(MEMORY_ENV, "0.000001")
    info = json.loads(invoke("show", "mod_add", "-P", "p=7", "--json").output)
    assert info["symmetries"] == [] and "GiB" in info["symmetries_skipped"] and info["size"] == 49


@pytest.mark.parametrize("args", [
    ["train", "mod_add", "-P", "p=5", "--device", "cpu", "-q", "--out", "{out}"],
    ["train", "mod_add", "-P", "p=5", "--seeds", "0-2", "--device", "cpu", "-q", "--out", "{out}"],
    ["compare", "mod_add", "-P", "p=5", "--methods", "baseline", "--device", "cpu", "-q", "--out", "{out}"],
    ["augment", "mod_add", "-P", "p=5", "--out", "{out}/split.npz"],
    ["verify", "mod_add", "-P", "p=5"],
    ["sweep", "run", "{spec}", "--out", "{out}", "--dry-run"],
], ids=["train", "train seeds", "compare", "augment", "verify", "sweep dry-run"])
def test_every_enumerating_command_refuses_above_the_limit_and_writes_nothing(tmp_path, monkeypatch, args):
    spec = tmp_path / "spec.toml"
    spec.write_text('[[task]]\nname = "mod_add"\nparams = { p = 5 }\n')
    monkeypatch.setenv(MEMORY_ENV, "0.000001")  # 1 KiB: every estimate is above it
    out = tmp_path / "out"
    result = invoke(*[a.replace("{out}", str(out)).replace("{spec}", str(spec)) for a in args])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and "GiB" in errors[0] and MEMORY_ENV in errors[0], result.output
    assert not out.exists()


def test_verify_refuses_a_task_it_cannot_prove_in_memory(monkeypatch):
    monkeypatch.setenv(MEMORY_ENV, "1")
    start = time.perf_counter()
    with pytest.raises(TooLargeError, match=r"Verifying task 'mod_add' \(p=5003, 25,030,009 inputs\).*GiB"):
        verify_tasks(["mod_add"], {"p": 5003})
    assert time.perf_counter() - start < 5
    assert all(r["ok"] for r in verify_tasks(["mod_add"], {"p": 5}))


@pytest.mark.parametrize("option", ["samples", "max_exhaustive", "seed"])
def test_verify_refuses_negative_options(option):
    with pytest.raises(UsageError, match="-1"):
        verify_tasks(["mod_add"], {"p": 5}, **{option: -1})


def test_augment_refuses_laws_that_would_run_for_hours_but_not_group_actions(monkeypatch):
    from symreg.augmenting import augment_split

    monkeypatch.setenv(MEMORY_ENV, "off")  # the law cap alone, as on a machine with ample memory
    start = time.perf_counter()
    with pytest.raises(TooLargeError, match=r"8,013,207,261,331 law instances a round \(about 53.4 h.*80.6 GiB"):
        augment_split("mod_add", {"p": 20011})
    assert time.perf_counter() - start < 5
    monkeypatch.setenv("SYMREG_MAX_LAW_INSTANCES", "100")
    with pytest.raises(TooLargeError, match="1,331 law instances"):
        augment_split("mod_add", {"p": 11})
    assert augment_split("mod_add", {"p": 11}, symmetries=["translation"])["mismatches"] == 0


# --- the training estimate ----------------------------------------------------------------------
def test_the_training_estimate_grows_with_seeds_and_shrinks_with_mini_batches():
    task = get_task("mod_add", p=97)
    cfg = TrainConfig(train_frac=0.5, device="cuda")
    one, five = training_bytes(task, cfg, 1), training_bytes(task, cfg, 5)
    assert five["evaluation"] == 5 * one["evaluation"] and five["activations"] == 5 * one["activations"]
    small = training_bytes(task, TrainConfig(train_frac=0.5, device="cuda", batch_size=64), 1)
    assert small["activations"] < one["activations"] / 50
    cpu = training_bytes(task, TrainConfig(train_frac=0.5, device="cpu"), 5)
    assert cpu["activations"] == 1 * one["activations"]  # 4,704 training rows: one seed per pass on a CPU
    assert "closures" in training_bytes(task, TrainConfig(train_frac=0.5, augment=["all"]), 1)
    assert 0.02 * GIB < sum(one.values()) < 2 * GIB  # the quick preset's task: well within any machine


def test_the_quick_presets_fit_and_a_huge_batch_does_not(monkeypatch):
    monkeypatch.setenv(MEMORY_ENV, "4")
    for name in ("mod_add", "graph_grid2d", "compare_2d", "perm_compose"):
        from symreg.presets import resolve

        setup = resolve(name, preset="quick")
        check_training(setup.task, TrainConfig.from_setup(setup), 5)
    task = get_task("mod_add", p=997)
    with pytest.raises(TooLargeError, match=r"Training task 'mod_add' \(p=997, 994,009 inputs\) over 500 seeds"):
        check_training(task, TrainConfig(), 500)


def test_seeds_are_capped_with_an_override(monkeypatch):
    with pytest.raises(TooLargeError, match="10001 seeds is more than the limit of 10000.*SYMREG_MAX_SEEDS"):
        check_seeds(10001)
    monkeypatch.setenv("SYMREG_MAX_SEEDS", "20000")
    check_seeds(10001)
    monkeypatch.setenv("SYMREG_MAX_SEEDS", "many")
    with pytest.raises(UsageError, match="SYMREG_MAX_SEEDS"):
        check_seeds(1)


# --- the registry commands read -P with the one parser ----------------------------------------
@pytest.mark.parametrize("args", [["show", "mod_add"], ["verify", "mod_add"], ["verify", "--all"]])
def test_show_and_verify_refuse_a_parameter_given_twice(args):
    result = invoke(*args, "-P", "p=5", "-P", "p=7")
    assert result.exit_code == 2 and result.output.startswith("Error: ") and "'p'" in result.output
    assert result.output.count("\n") == 1
