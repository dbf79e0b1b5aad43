"""Isolation, provenance and trust: a plugin's false symmetry or broken factory cannot hurt other tasks."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from click.testing import CliRunner

import symreg
from symreg import GroupAction, Param, Preset, Task, element
from symreg.augmenting import augment_split
from symreg.cli import cli
from symreg.errors import PluginError, SymregWarning
from symreg.registry import get_symmetries, get_task, task_entries
from symreg.train.trainer import Trainer
from symreg.trust import cache_dir, check, fingerprint, trusted_symmetries
from symreg.verifying import verify_tasks
from tests.helpers import registered, tiny_cfg


def _shift_x(task):
    """x -> x+1 in the first slot with the output fixed: false for x+y mod p."""
    p = task.vocab_size
    return GroupAction("bogus", [element(task, tokens={0: (np.arange(p) + 1) % p})], "a false claim", ["x->x+1"])


class Liar:
    __name__ = "Liar"

    @symreg.hookimpl
    def register_symmetries(self, register):
        register("mod_add", _shift_x)


@pytest.fixture
def liar():
    with registered(Liar(), "liar"):
        yield


def _run_cli(*args):
    return CliRunner().invoke(cli, list(args))


def test_every_symmetry_records_the_plugin_that_declared_it(liar):
    task = get_task("mod_add", p=7)
    owners = {s.name: s.plugin for s in get_symmetries(task)}
    assert owners == {"commutativity": "algebraic", "translation": "algebraic", "scaling": "algebraic",
                      "associativity": "algebraic", "bogus": "liar"}
    results = {r["symmetry"]: r for r in verify_tasks(["mod_add"], {"p": 7})}
    assert results["bogus"]["plugin"] == "liar" and not results["bogus"]["ok"]
    assert results["translation"]["plugin"] == "algebraic" and results["translation"]["ok"]
    shown = json.loads(_run_cli("show", "mod_add", "-P", "p=7", "--json").output)
    assert {s["name"]: s["plugin"] for s in shown["symmetries"]} == owners


def test_a_false_symmetry_is_left_out_with_a_warning_naming_it_and_its_plugin(liar):
    task = get_task("mod_add", p=7)
    with pytest.warns(SymregWarning, match=r"'bogus' of task 'mod_add' \(plugin liar\) fails verification.*left out"):
        kept = trusted_symmetries(task)
    assert [s.name for s in kept] == ["commutativity", "translation", "scaling", "associativity"]
    with pytest.warns(SymregWarning, match="used because it was asked for by name"):
        assert [s.name for s in trusted_symmetries(task, explicit=["bogus"])][-1] == "bogus"


def test_training_measures_only_verified_symmetries_unless_one_is_named(liar, tmp_path):
    task = get_task("mod_add", p=7)
    with pytest.warns(SymregWarning, match="'bogus'.*left out"):
        trainer = Trainer.fresh(task, tiny_cfg(epochs=2, eval_every=1), [0], tmp_path / "a")
    trainer.run()
    rows = [json.loads(line) for line in (tmp_path / "a" / "metrics.jsonl").read_text().splitlines()]
    assert "bogus" not in rows[-1]["violation_max"] and "translation" in rows[-1]["violation_max"]
    with pytest.warns(SymregWarning, match="used because it was asked for by name"):
        Trainer.fresh(task, tiny_cfg(epochs=2, aux=["sym:bogus"]), [0], tmp_path / "b").run()


def test_augment_with_all_symmetries_skips_the_false_one_and_deduces_no_wrong_label(liar):
    with pytest.warns(SymregWarning, match="'bogus'"):
        report = augment_split("mod_add", {"p": 7}, train_frac=0.3)
    assert report["untrusted"] == ["bogus"] and report["mismatches"] == 0
    assert "bogus" not in report["deduced"]
    result = _run_cli("augment", "mod_add", "-P", "p=7", "--train-frac", "0.3")
    assert result.exit_code == 0 and "left out (fail verification): bogus" in result.output


def test_verdicts_are_cached_per_task_parameters_and_symmetry(monkeypatch, tmp_path):
    monkeypatch.setenv("SYMREG_CACHE_DIR", str(tmp_path))
    calls = []
    original = GroupAction.verify

    def counting(self, task, **kw):
        calls.append((self.name, task.params["p"]))
        return original(self, task, **kw)

    monkeypatch.setattr(GroupAction, "verify", counting)
    for p in (5, 7, 5):
        trusted_symmetries(get_task("mod_add", p=p))
    assert sorted(calls) == sorted([(n, p) for p in (5, 7) for n in ("commutativity", "translation", "scaling")])
    assert len(list((tmp_path / "verified").glob("mod_add-*.json"))) == 8  # 4 symmetries x 2 parameter sets
    task = get_task("mod_add", p=5)
    sym = get_symmetries(task)[1]
    (tmp_path / "verified" / f"mod_add-{fingerprint(task, sym)}.json").write_text("{damaged")
    assert check(task, sym)["ok"] and calls[-1] == ("translation", 5)  # a damaged entry is verified again


def test_symreg_verify_refreshes_the_cache_and_off_turns_it_off(monkeypatch, tmp_path):
    monkeypatch.setenv("SYMREG_CACHE_DIR", str(tmp_path))
    assert _run_cli("verify", "mod_add", "-P", "p=5").exit_code == 0
    assert len(list(cache_dir().glob("*.json"))) == 4
    monkeypatch.setenv("SYMREG_CACHE_DIR", "off")
    assert cache_dir() is None and check(get_task("mod_add", p=7), get_symmetries(get_task("mod_add", p=7))[0])["ok"]
    assert len(list((tmp_path / "verified").glob("*.json"))) == 4


def test_the_fingerprint_changes_with_the_generators():
    task = get_task("mod_add", p=5)
    a = GroupAction("s", [element(task, tokens={0: (np.arange(5) + 1) % 5})])
    b = GroupAction("s", [element(task, tokens={0: (np.arange(5) + 2) % 5})])
    assert fingerprint(task, a) != fingerprint(task, b)


class NoPresets(Task):
    name = "test_nopresets"
    domain = "algebraic"
    parameters = {"n": Param(4, "size")}

    vocab_size = n_classes = property(lambda self: self.params["n"])

    def slot_tokens(self):
        return [np.arange(self.params["n"])] * 2

    def label(self, x):
        return (x[:, 0] + x[:, 1]) % self.params["n"]

    def decode(self, tokens):
        return tuple(tokens)

    def encode(self, value):
        return tuple(value)


class BadPresetParams(NoPresets):
    name = "test_badpreset"
    preset = Preset(0.5, 1.0, 10)
    quick = Preset(0.5, 1.0, 10, params={"m": 3})


class BadDefault(NoPresets):
    name = "test_baddefault"
    parameters = {"n": Param(1, "size", lambda n: None if n >= 2 else "must be at least 2")}
    preset = quick = Preset(0.5, 1.0, 10)


class BadName(NoPresets):
    name = "bad name"
    preset = quick = Preset(0.5, 1.0, 10)


class Invalid:
    __name__ = "Invalid"

    @symreg.hookimpl
    def register_tasks(self, register):
        for cls in (NoPresets, BadPresetParams, BadDefault, BadName):
            register(cls)


def test_task_classes_are_validated_at_registration_with_the_plugin_named():
    with registered(Invalid(), "invalid"):
        assert not {"test_nopresets", "test_badpreset", "test_baddefault", "bad name"} & set(task_entries())
        error = json.loads(_run_cli("plugins", "--json").output)
        error = {r["name"]: r for r in error}["invalid"]["error"]
    assert "NoPresets's preset preset is missing" in error
    assert "BadPresetParams's quick preset sets parameter 'm', which the task does not take (it takes: n)" in error
    assert "BadDefault's parameter n has default 1, which must be at least 2" in error
    assert "BadName has name 'bad name'" in error


class Misspelled:
    __name__ = "Misspelled"

    @symreg.hookimpl
    def register_symmetries(self, register):
        register("mod_ad", _shift_x)


def test_a_symmetry_for_a_misspelled_task_is_reported_with_a_close_match():
    with registered(Misspelled(), "typo"):
        rows = {r["name"]: r for r in json.loads(_run_cli("plugins", "--json").output)}
    assert "task 'mod_ad', which no plugin registers (ignored); did you mean 'mod_add'?" in rows["typo"]["error"]


class BrokenModel:
    __name__ = "BrokenModel"

    @symreg.hookimpl
    def register_models(self, register):
        def factory(task, seeds, **sizes):
            raise RuntimeError("no weights for you")
        register("broken", factory)


def test_a_model_factory_that_raises_is_a_one_line_plugin_error(tmp_path):
    with registered(BrokenModel(), "brokenmodel"):
        with pytest.raises(PluginError, match=r"Plugin 'brokenmodel': its model factory 'broken' raised "
                                              r"RuntimeError: no weights for you \(task 'mod_add'\)"):
            Trainer.fresh(get_task("mod_add", p=5), tiny_cfg(model="broken", model_sizes={}), [0], tmp_path / "r")
        rows = {r["name"]: r for r in json.loads(_run_cli("plugins", "--json").output)}
        assert "model factory 'broken' raised RuntimeError" in rows["brokenmodel"]["error"]
        result = _run_cli("train", "mod_add", "-P", "p=5", "--model", "broken", "--epochs", "1",
                          "--out", str(tmp_path / "cli"))
    assert result.exit_code == 2 and result.output.count("\n") == 1 and "no weights for you" in result.output
    assert not (tmp_path / "cli").exists()


def test_built_in_symmetries_all_verify_so_nothing_is_left_out():
    with warnings.catch_warnings():
        warnings.simplefilter("error", SymregWarning)
        for name in ("mod_add", "graph_cycle", "compare_2d"):
            task = get_task(name, **get_task(name).quick.params)
            assert len(trusted_symmetries(task)) == len(get_symmetries(task))



def test_diagnose_leaves_a_false_symmetry_out_of_the_violation_signal(liar, tmp_path, monkeypatch):
    import symreg.train.trainer as trainer_module
    from symreg.diagnose.api import load
    from symreg.diagnose.signals import signal_series

    # a run recorded before symreg checked symmetries: the false one was measured too
    monkeypatch.setattr(trainer_module, "trusted_symmetries", lambda task, *a, **k: get_symmetries(task))
    Trainer.fresh(get_task("mod_add", p=7), tiny_cfg(epochs=4, eval_every=2), [0], tmp_path / "old").run()
    seen = []
    runs, lines = load([tmp_path / "old"], warn=seen.append)
    assert runs[0].untrusted == ["bogus"] and "bogus" in runs[0].symmetries()
    assert seen == lines and "'bogus' of task 'mod_add' (plugin liar) fails verification" in lines[-1]
    _, values = signal_series(runs[0], "violation")
    trusted = [max(r["violation_max"][s] for s in r["violation_max"] if s != "bogus") for r in runs[0].rows]
    assert values == trusted
