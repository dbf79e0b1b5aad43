"""The library under the CLI: the README's Python session runs, and each function returns data."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from symreg.augmenting import augment_split
from symreg.diagnose.api import diagnose, runs_table
from symreg.errors import UnknownNameError, UsageError
from symreg.experiments import compare, sweep_run, sweep_status, sweep_summary
from symreg.presets import resolve
from symreg.train import TrainConfig, resume, train
from symreg.util.parsing import parse_pairs
from symreg.verifying import verify_tasks
from tests.helpers import TINY

README = (Path(__file__).parent.parent / "README.md").read_text()
FAST = dict(epochs=40, eval_every=20, model_sizes=TINY, violation_samples=8, device="cpu")


def readme_session() -> str:
    return README.split("## From Python")[1].split("```python")[1].split("```")[0]


def test_the_readme_python_session_runs(tmp_path):
    """The README's session, on mod_add p=11 with a 40-epoch budget: only the sizes are substituted."""
    code = readme_session()
    edits = {'out = "demo-out/mod_add-py"': f"out = {str(tmp_path / 'demo')!r}",
             'settings = dict(train_frac=0.35, lr=3e-3, weight_decay=3.0, epochs=1500)': "settings = FAST",
             '{"p": 71}': '{"p": 11}'}
    for old, new in edits.items():
        assert code.count(old) == 1, f"the README session no longer contains {old!r}"
        code = code.replace(old, new)
    scope = {"FAST": FAST}
    exec(compile(code, "README.md", "exec"), scope)
    assert [p.name for p in scope["paths"]] == ["seed-0", "seed-1"]
    assert [ev["seed"] for ev in scope["events"]] == [0, 1]
    assert all((p / "events.json").exists() for p in scope["paths"])
    assert all(Path(r).exists() and Path(r).suffix == ".md" for r in scope["reports"])
    assert (tmp_path / "demo" / "plots" / "violation_scatter.png").exists()
    rows = scope["rows"]
    assert [(r["task"], r["params"], r["seed"], r["status"]) for r in rows] == [
        ("mod_add", {"p": 11}, 0, "done"), ("mod_add", {"p": 11}, 1, "done")]
    assert all(r["epochs"] <= 40 and r["train_frac"] == 0.5 and r["lr"] == pytest.approx(1e-3) for r in rows)


def test_preset_resolution_layers_preset_params_and_settings():
    setup = resolve("mod_add", ["p=11"], preset="quick", settings={"epochs": 7, "lr": 3e-3})
    cfg = TrainConfig.from_setup(setup)
    assert setup.task.params == {"p": 11} and setup.defaults.params == {"p": 97}
    assert (cfg.epochs, cfg.lr, cfg.train_frac) == (7, 3e-3, 0.5)
    assert resolve("mod_add", {"p": 13}, preset="paper").task.params == {"p": 13}
    assert resolve("mod_add", preset="quick").task.params == {"p": 97}
    with pytest.raises(UnknownNameError, match="Unknown config key: 'epoch'.*'epochs'"):
        TrainConfig.from_setup(resolve("mod_add", preset="quick", settings={"epoch": 7}))
    with pytest.raises(UsageError, match="Preset 'fast' is not one of paper, quick"):
        resolve("mod_add", preset="fast")


def test_one_key_value_parser_for_params_and_settings():
    assert parse_pairs(["a=1", "b=x"], "--set") == {"a": 1, "b": "x"}
    with pytest.raises(UsageError, match=r"^--set 'a' is given twice \('a=1', then 'a=2'\); give it once\.$"):
        parse_pairs(["a=1", "b=x", "a=2"], "--set")
    with pytest.raises(UsageError, match=r"^--set 'x' must look like key=value\.$"):
        parse_pairs(["x"], "--set")
    with pytest.raises(UsageError, match=r"^Parameter 'p' must look like key=value\.$"):
        resolve("mod_add", ["p"])


def test_train_then_resume_to_a_longer_cap_returns_the_same_directory(tmp_path):
    (path,) = train("mod_add", {"p": 5}, seeds=3, out=tmp_path / "r", **{**FAST, "epochs": 20, "eval_every": 10})
    assert path == tmp_path / "r" and json.loads((path / "config.json").read_text())["seed"] == 3
    assert resume(path, epochs=30) == [path]
    epochs = [json.loads(line)["epoch"] for line in (path / "metrics.jsonl").open()]
    assert epochs == [0, 10, 20, 30]


def test_bad_seeds_and_unknown_tasks_raise_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="distinct non-negative"):
        train("mod_add", seeds=[1, 1], out=tmp_path / "x", **FAST)
    with pytest.raises(UnknownNameError, match="Did you mean 'mod_add'"):
        train("mod_ad", out=tmp_path / "x", **FAST)
    assert not (tmp_path / "x").exists()


def test_verify_and_augment_return_result_dicts():
    results = verify_tasks(["mod_add", "perm_compose"], {"p": 7})
    assert {r["task"] for r in results} == {"mod_add", "perm_compose"} and all(r["ok"] for r in results)
    assert {r["params"]["p"] for r in results if r["task"] == "mod_add"} == {7}
    only_p = {r["task"] for r in verify_tasks(None, ["p=7"])}
    assert "mod_mul" in only_p and "perm_compose" not in only_p
    report = augment_split("mod_add", {"p": 11}, train_frac=0.3, symmetries=["commutativity"])
    assert report["task"] == "mod_add" and report["mismatches"] == 0 and report["train_after"] > report["train_before"]


def test_compare_returns_its_summary_and_calls_back(tmp_path):
    seen, announced = [], []
    summary = compare("mod_add", "baseline,sym:commutativity", {"p": 7}, seeds=[0, 1], out=tmp_path / "c",
                      progress=lambda epoch, rows, trainer: seen.append(epoch), on_method=announced.append,
                      **{**FAST, "epochs": 20, "eval_every": 10})
    assert [m["method"] for m in summary["methods"]] == announced == ["baseline", "sym:commutativity"]
    assert seen.count(0) == 2 and summary["seeds"] == [0, 1]
    assert json.loads((tmp_path / "c" / "compare.json").read_text())["methods"] == summary["methods"]
    assert Path(summary["figure"]).parent == tmp_path / "c"


def test_sweep_functions_return_dicts(tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text('seeds = "0"\n[train]\nepochs = 10\neval_every = 10\nviolation_samples = 8\n'
                    'model_sizes = { d_model = 32, n_heads = 2, d_head = 16, d_mlp = 64 }\n'
                    '[[task]]\nname = "mod_add"\nparams = { p = 5 }\n')
    lines: list[str] = []
    plan = sweep_run(spec, tmp_path / "o", dry_run=True, log=lines.append)
    assert plan["dry_run"] and [(r["point"], r["action"]) for r in plan["points"]] == [("mod_add-p5/baseline", "run")]
    assert not (tmp_path / "o").exists() and lines[0].startswith("s: 1 points, 1 to run")
    done = sweep_run(spec, tmp_path / "o", workers=1)
    assert done["ok"] and done["counts"]["done"] == 1 and done["root"] == str(tmp_path / "o")
    assert sweep_status(tmp_path / "o")["counts"]["done"] == 1
    assert [r["method"] for r in sweep_summary(tmp_path / "o")["rows"]] == ["baseline"]


def test_runs_table_and_diagnose_name_what_is_missing(tmp_path):
    with pytest.raises(UsageError, match="No run directory"):
        runs_table([tmp_path])
    with pytest.raises(UsageError, match="No run with metrics"):
        diagnose([tmp_path])


def test_the_functions_the_readme_names_exist():
    import importlib
    import re

    text = README.split("## From Python")[1].split("\n## ")[0]
    named = re.findall(r"`(symreg(?:\.\w+)+)\(", text)
    assert len(named) >= 4
    for dotted in named + ["symreg.experiments.sweep_status", "symreg.experiments.sweep_summary"]:
        module, _, name = dotted.rpartition(".")
        assert callable(getattr(importlib.import_module(module), name)), dotted
