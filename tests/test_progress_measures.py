"""Representation-theoretic progress measures during training, their diagnosis and figures (issue 15, items 2-4)."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from helpers import TINY, tiny_cfg

from symreg.cli import cli
from symreg.diagnose import diagnose
from symreg.diagnose.components import describe, key_component_events, settle_epoch
from symreg.diagnose.phases import events
from symreg.errors import UnknownNameError
from symreg.plots import plot
from symreg.registry import get_task
from symreg.reps import decompose
from symreg.runs.reading import Run, load_run
from symreg.runs.rundir import RunDir
from symreg.train import progress_measures as pm
from symreg.train.config import TrainConfig
from symreg.train.metrics import evaluate
from symreg.train.trainer import Trainer

P = 11


def rows_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in (path / "metrics.jsonl").open()]


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> Path:
    """mod_add p=11, seeds 0 and 1 as one batch, 20 epochs, evaluated every 10."""
    root = tmp_path_factory.mktemp("reps") / "batch"
    Trainer.fresh(get_task("mod_add", p=P), tiny_cfg(epochs=20), [0, 1], root).run()
    return root


def test_every_row_has_fractions_keys_and_losses(batch):
    for seed in (0, 1):
        rows = rows_of(batch / f"seed-{seed}")
        assert [r["epoch"] for r in rows] == [0, 10, 20]
        for row in rows:
            assert set(row["reps"]) == {"translation", "translation:classes", "scaling", "scaling:classes"}
            for key, m in row["reps"].items():
                assert len(m["fractions"]) == P // 2 + 1  # Z_11 and Z_10 both have 6 components
                assert math.isclose(sum(m["fractions"]), 1, abs_tol=1e-5)
                assert m["n_key"] == len(m["key"]) >= 1 and 1 <= m["effective"] <= len(m["fractions"])
                kept = sum(m["fractions"][i] for i in m["key"])
                assert kept >= 0.9 - 1e-5 and kept - min(m["fractions"][i] for i in m["key"]) < 0.9
            losses = {k: v for k, v in row["reps"]["translation"].items() if k.endswith("_loss")}
            assert set(losses) == {"restricted_train_loss", "restricted_test_loss",
                                   "excluded_train_loss", "excluded_test_loss"}
            assert all(math.isfinite(v) for v in losses.values())
            assert not any(k.endswith("_loss") for k in row["reps"]["scaling"])  # one action only, by default


def test_the_run_records_what_the_components_are(batch):
    desc = RunDir(batch / "seed-0").reps
    assert desc["threshold"] == pm.THRESHOLD and desc["restricted"] == "translation"
    translation = desc["measures"]["translation"]
    assert translation["group"] == "Z_11" and translation["on"] == "tokens" and translation["slot"] == 0
    assert [c["name"] for c in translation["components"]] == ["trivial"] + [f"frequency {k}" for k in range(1, 6)]
    assert math.isclose(sum(translation["baseline"]), 1)


def trainer_at(tmp_path, seeds, **kw) -> Trainer:
    return Trainer.fresh(get_task("mod_add", p=P), tiny_cfg(**kw), seeds, tmp_path / "run")


def test_restricting_to_every_component_changes_nothing_and_to_none_excludes_everything(tmp_path):
    """restrict(E, all) = E, so the restricted loss is the plain loss; restrict(E, none) = exclude(E, all)
    (every row the mean row)."""
    t = trainer_at(tmp_path, [0, 1], epochs=5)
    for _ in range(5):
        t.step()
    d, m = t.data, t.reps.measures[0]
    k = len(m.dec.components)
    plain = evaluate(t.model, t.task, d.x_all, d.y_all, d.train_mask, [], t.geometry)
    every = t.reps._losses(t.model, m.dec, np.ones((2, k), bool), d.x_all, d.y_all, d.train_mask, 4096)
    none = t.reps._losses(t.model, m.dec, np.zeros((2, k), bool), d.x_all, d.y_all, d.train_mask, 4096)
    for s in range(2):
        assert math.isclose(every["restricted_train_loss"][s], plain[s]["train_loss"], rel_tol=1e-6)
        assert math.isclose(every["restricted_test_loss"][s], plain[s]["test_loss"], rel_tol=1e-6)
        assert math.isclose(none["restricted_test_loss"][s], every["excluded_test_loss"][s], rel_tol=1e-9)
        assert math.isclose(none["excluded_train_loss"][s], plain[s]["train_loss"], rel_tol=1e-6)


def test_a_seed_in_a_batch_measures_what_it_measures_alone(batch, tmp_path):
    Trainer.fresh(get_task("mod_add", p=P), tiny_cfg(epochs=20), [1], tmp_path / "alone").run()
    for together, alone in zip(rows_of(batch / "seed-1"), rows_of(tmp_path / "alone")):
        for key, m in together["reps"].items():
            n = alone["reps"][key]
            assert m["key"] == n["key"]
            assert np.allclose(m["fractions"], n["fractions"], atol=1e-4)
            for field in (f for f in m if f.endswith("_loss")):
                assert math.isclose(m[field], n[field], rel_tol=1e-4)


@pytest.mark.parametrize("off", [[], ["none"]])
def test_the_measures_can_be_switched_off(tmp_path, off):
    t = trainer_at(tmp_path, [0], epochs=10, reps=off)
    t.run()
    assert "reps" not in rows_of(tmp_path / "run")[0] and not (tmp_path / "run" / "reps.json").exists()


def test_the_option_reads_as_text_and_bad_names_are_one_line():
    cfg = TrainConfig()
    assert cfg.reps == ["auto"]
    cfg.set("reps", "none")
    assert cfg.reps == ["none"]
    cfg.set("reps", "translation,scaling")
    assert cfg.validate(get_task("mod_add", p=5)).reps == ["translation", "scaling"]
    with pytest.raises(UnknownNameError, match=r"^Unknown reps action of task 'mod_add': 'transl'\. Did you mean "
                                               r"'translation'\? Available: all, auto, none, scaling, translation\.$"):
        TrainConfig(reps=["transl"]).validate(get_task("mod_add", p=5))
    result = CliRunner().invoke(cli, ["train", "mod_add", "-P", "p=5", "--set", "reps=commutativity", "-q"])
    assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
    assert "commutativity" in result.output and "translation" in result.output


def test_which_actions_are_measured():
    task = get_task("dihedral_compose", n=5)
    auto = pm.choose(task, ["auto"])
    assert [m.key for m in auto if m.on == "tokens"] == ["left_translation", "right_translation",
                                                         "conjugation", "inversion"]
    assert [m.key for m in auto if m.restricted] == ["left_translation"]  # the finest decomposition
    named = pm.choose(task, ["inversion", "conjugation"])
    assert [(m.key, m.restricted) for m in named] == [
        ("inversion", True), ("inversion:classes", False), ("conjugation", False), ("conjugation:classes", False)]


def test_auto_skips_large_vocabularies(monkeypatch):
    monkeypatch.setattr(pm, "AUTO_MAX_TOKENS", 10)
    task = get_task("mod_add", p=P)
    assert pm.choose(task, ["auto"]) == [] and len(pm.choose(task, ["all"])) == 4


def test_dihedral_components_are_named_by_rotation_frequency():
    names = [c["name"] for c in pm.component_names(decompose(get_task("dihedral_compose", n=30), "left_translation"))]
    assert names[4:] == [f"rotation frequency {k}" for k in range(1, 15)]
    assert len(set(names)) == len(names)


def test_an_mlp_has_restricted_losses_and_no_unembedding(tmp_path):
    t = trainer_at(tmp_path, [0], epochs=10, model="mlp", model_sizes={"d_embed": 16, "d_hidden": 32})
    t.run()
    reps = rows_of(tmp_path / "run")[-1]["reps"]
    assert set(reps) == {"translation", "scaling"} and math.isfinite(reps["translation"]["excluded_test_loss"])


# --- diagnosis ---------------------------------------------------------------------------
def synthetic(keys: list[list[int]], every: int = 50, path: Path = Path("synthetic")) -> Run:
    rows = [{"epoch": i * every, "train_acc": 1.0, "test_acc": 0.1,
             "reps": {"translation": {"key": k, "n_key": len(k)}}} for i, k in enumerate(keys)]
    return Run(path, {"task": "mod_add", "seed": 0}, rows)


def test_key_components_settle_where_the_set_stops_changing():
    ev = events(synthetic([[1, 2, 3], [2, 3], [3, 5], [3, 5], [3, 5]]))["key_components"]["translation"]
    assert ev["settle_epoch"] == 100 and ev["key_indices"] == [3, 5] and ev["n_key"] == 2
    assert events(synthetic([[1], [1], [2]]))["key_components"]["translation"]["settle_epoch"] is None
    assert settle_epoch([0], [{1}]) is None and settle_epoch([0, 5], [{1}, {1}]) == 0
    assert events(Run(Path("r"), {}, [{"epoch": 0, "train_acc": 0.5}]))["key_components"] == {}


def test_the_final_key_components_lead_from_when_they_are_the_largest():
    run = synthetic([[0, 1, 2], [1, 2], [1, 2], [2]])
    for row, f in zip(run.rows, [[0.5, 0.3, 0.2], [0.1, 0.5, 0.4], [0.3, 0.2, 0.5], [0.05, 0.05, 0.9]]):
        row["reps"]["translation"]["fractions"] = f
    ev = key_component_events(run)["translation"]
    assert ev["key_indices"] == [2] and ev["leading_epoch"] == 100 and ev["settle_epoch"] is None


def test_the_report_names_the_key_frequencies_of_mod_add(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    measures = pm.choose(get_task("mod_add", p=97), ["translation"])
    RunDir(run_dir).write_reps(pm.describe(measures))
    (run_dir / "config.json").write_text(json.dumps({"task": "mod_add", "params": {"p": 97}, "seed": 0}))
    run = synthetic([[2, 14], [14, 35, 41], [14, 35, 41]], path=run_dir)
    run.rows[-1]["reps"]["translation"].update(restricted_train_loss=0.01, restricted_test_loss=0.02,
                                               excluded_train_loss=5.0, excluded_test_loss=6.0)
    ev = key_component_events(run)["translation"]
    assert ev["described"] == "frequencies 14, 35, 41 of Z_97" and ev["settle_epoch"] == 50
    assert ev["final_losses"]["excluded_test_loss"] == 6.0
    from symreg.diagnose.report import run_report

    text = run_report(run, events(run), {}, tmp_path / "out").read_text()
    assert "frequencies 14, 35, 41 of Z_97" in text and "key components settle: translation" in text
    assert "with them excluded: train 5, test 6" in text


def test_describe_names_other_groups_in_words():
    task = get_task("perm_compose", n=4)
    info = pm.describe(pm.choose(task, ["left_translation"]))["measures"]["left_translation"]
    assert describe(info, [2, 3]) == ("irrep of dim 2 (2 copies); irrep of dim 3 (character 1, -1) (3 copies) "
                                      "of the group of order 24")


# --- a real run end to end ----------------------------------------------------------------
def test_diagnose_and_plot_a_real_run(batch, tmp_path):
    ev = diagnose([batch], write=False)["runs"][0]["key_components"]
    assert set(ev) == {"translation", "translation:classes", "scaling", "scaling:classes"}
    assert ev["translation"]["described"].endswith("of Z_11") and ev["translation"]["final_losses"]
    plot([batch], out=tmp_path / "plots")
    seed0 = tmp_path / "plots" / "batch-seed-0"
    assert {p.name for p in seed0.glob("components-*.png")} == {"components-translation.png",
                                                                "components-scaling.png"}
    report = (seed0 / "report.md").read_text()
    assert "components-translation.png" in report and "## Key components" in report
    assert load_run(batch / "seed-0").rows[0]["reps"]


def test_measures_follow_a_plugin_model_without_named_weights(tmp_path):
    """A model whose embedding is not a W_E parameter gets energies, but no restricted losses."""
    t = trainer_at(tmp_path, [0], epochs=1)
    t.reps.swap = False
    d = t.data
    row = t.reps.measure(t.model, d.x_all, d.y_all, d.train_mask, 4096)[0]["translation"]
    assert "restricted_train_loss" not in row and len(row["fractions"]) == P // 2 + 1
    assert torch.is_tensor(t.model.W_E) and TINY["d_model"] == t.model.W_E.shape[-1]
