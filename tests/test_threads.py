"""Options of ``train`` and ``compare``: ``--threads`` (and ``sweep run --threads auto``), and ``--set aux=...``.

``--threads N|auto`` sets torch's intra-op threads for the command's own process
(restored when it ends), is recorded in config.json and each checkpoint, and
changes nothing but floating-point rounding.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from symreg.cli import cli
from symreg.cli.app import settings_from
from symreg.presets import resolve
from symreg.registry import get_task
from symreg.runs.checkpoints import read_meta
from symreg.train import hardware
from symreg.train.config import TrainConfig
from symreg.train.trainer import Trainer
from tests.helpers import metrics, tiny_cfg

TINY = "model_sizes={'d_model':8,'n_heads':2,'d_head':4,'d_mlp':16}"
FAST = ["--device", "cpu", "--set", TINY, "--set", "violation_samples=8", "-q"]
TRAIN = ["train", "mod_add", "-P", "p=5", "--epochs", "4", "--eval-every", "2", *FAST]


def invoke(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # an uncaught error is a bug, not an exit status
    return result


@pytest.fixture
def threads_seen(monkeypatch):
    """The torch thread count each Trainer.run ran with."""
    seen, run = [], Trainer.run

    def recording(self):
        seen.append(torch.get_num_threads())
        return run(self)

    monkeypatch.setattr(Trainer, "run", recording)
    return seen


@pytest.fixture
def machine(monkeypatch):
    """Pretend this machine has ``cores`` cores, ``busy`` of them busy, and torch would take ``default`` threads."""
    def pretend(cores: int, busy: float, default: int = 64) -> None:
        monkeypatch.setattr(hardware, "cpu_cores", lambda: cores)
        monkeypatch.setattr(hardware, "busy_cores", lambda: busy)
        monkeypatch.setattr(hardware, "TORCH_DEFAULT_THREADS", default)
    return pretend


# --- the default rule ------------------------------------------------------------------
@pytest.mark.parametrize("cores", [1, 2, 3, 8, 64])
def test_auto_threads_stays_within_the_idle_cores_and_falls_as_the_load_rises(cores):
    loads = np.linspace(0, 3 * cores, 25)
    counts = [hardware.auto_threads(cores, load) for load in loads]
    assert counts[0] == cores and counts[-1] == 1  # idle: every core; loaded: one thread
    assert all(1 <= n <= cores for n in counts) and counts == sorted(counts, reverse=True)
    assert all(n == 1 or n <= cores - load + 0.5 for n, load in zip(counts, loads))  # never more than idle cores
    assert all(hardware.auto_threads(cores, 0.0, processes=k) * k <= max(cores, k) for k in (1, 2, 3, 5))


def test_auto_on_a_loaded_two_core_machine_is_one_thread(machine):
    machine(cores=2, busy=1.0)
    assert hardware.resolve_threads("auto") == 1
    machine(cores=2, busy=0.1)
    assert hardware.resolve_threads("auto") == 2 and hardware.resolve_threads(5) == 5  # a count is taken as given


def test_auto_never_takes_more_than_torch_would_by_itself(machine):
    machine(cores=16, busy=0.0, default=1)  # e.g. OMP_NUM_THREADS=1, as `make demo` and the tests set it
    assert hardware.resolve_threads("auto") == 1
    machine(cores=16, busy=4.0, default=8)
    assert hardware.resolve_threads("auto") == 8 and hardware.resolve_threads("auto", processes=4) == 3


def test_the_machine_is_read_without_error():
    assert hardware.cpu_cores() >= 1 and hardware.busy_cores() >= 0


# --- train and compare -------------------------------------------------------------------
def test_train_threads_apply_while_training_are_recorded_and_restored(tmp_path, threads_seen):
    before = torch.get_num_threads()
    result = invoke(*TRAIN, "--threads", "2", "--out", tmp_path / "r", "--json")
    assert result.exit_code == 0, result.output
    assert threads_seen == [2] and torch.get_num_threads() == before
    assert json.loads(result.output)["threads"] == 2
    assert json.loads((tmp_path / "r" / "config.json").read_text())["threads"] == 2
    assert read_meta(tmp_path / "r" / "checkpoints" / "last.safetensors")["threads"] == 2
    assert "threads" not in json.loads((tmp_path / "r" / "config.json").read_text())["train"]  # not a setting

    resumed = invoke("train", "--resume", tmp_path / "r", "--epochs", "6", "--threads", "1", "-q")
    assert resumed.exit_code == 0, resumed.output
    assert threads_seen == [2, 1] and read_meta(tmp_path / "r" / "checkpoints" / "last.safetensors")["threads"] == 1


def test_train_threads_default_to_auto(tmp_path, threads_seen, machine):
    machine(cores=2, busy=1.5)  # someone else keeps a core busy
    assert invoke(*TRAIN, "--seeds", "0-1", "--out", tmp_path / "b").exit_code == 0
    assert threads_seen == [1]
    assert json.loads((tmp_path / "b" / "seed-1" / "config.json").read_text())["threads"] == 1


def test_compare_threads_apply_to_every_method(tmp_path, threads_seen):
    before = torch.get_num_threads()
    result = invoke("compare", "mod_add", "-P", "p=5", "--methods", "baseline,sym:commutativity", "--seeds", "0",
                    "--epochs", "2", "--eval-every", "2", *FAST, "--threads", "2", "--out", tmp_path / "c")
    assert result.exit_code == 0, result.output
    assert threads_seen == [2, 2] and torch.get_num_threads() == before
    for method in ("baseline", "sym_commutativity"):
        assert json.loads((tmp_path / "c" / method / "config.json").read_text())["threads"] == 2


def test_threads_change_nothing_but_rounding(tmp_path):
    task, cfg = get_task("mod_add", p=7), tiny_cfg(epochs=20, eval_every=5)
    for n in (1, 2):
        with hardware.torch_threads(n):
            Trainer.fresh(task, cfg, [0], tmp_path / f"t{n}").run()
    one, two = metrics(tmp_path / "t1"), metrics(tmp_path / "t2")
    assert [r["epoch"] for r in one] == [r["epoch"] for r in two]
    for a, b in zip(one, two):
        for key in ("train_loss", "test_loss", "train_acc", "test_acc", "param_norm"):
            assert a[key] == pytest.approx(b[key], rel=1e-6, abs=1e-9), key


@pytest.mark.parametrize("args", [
    [*TRAIN, "--threads", "0"], [*TRAIN, "--threads", "two"], [*TRAIN, "--threads", "1.5"],
    [*TRAIN, "--threads", "-1"],
    ["compare", "mod_add", "--methods", "baseline", "--threads", "0"],
    ["sweep", "run", "nosuch.toml", "--threads", "many"],
])
def test_a_bad_thread_count_is_one_error_line_naming_it(args, tmp_path):
    result = invoke(*args, "--out", tmp_path / "new")
    bad = args[args.index("--threads") + 1]
    assert result.exit_code == 2, result.output
    assert result.output.startswith("Error: ") and len(result.output.strip().splitlines()) == 1
    assert repr(bad) in result.output and "auto" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "new").exists()


# --- sweep run --threads auto --------------------------------------------------------------
SPEC = """seeds = "0"
[train]
epochs = 2
[[task]]
name = "mod_add"
params = { p = 5 }
"""


def test_sweep_threads_auto_shares_the_idle_cores_among_the_workers(tmp_path, monkeypatch, machine):
    from symreg.experiments import backends
    from symreg.experiments.sweep_driver import sweep_run

    given = []
    monkeypatch.setattr(backends, "run_local", lambda root, todo, workers, tally, threads: given.append(threads))
    (tmp_path / "s.toml").write_text(SPEC)
    machine(cores=8, busy=2.0)
    sweep_run(tmp_path / "s.toml", tmp_path / "a", workers=3, threads="auto")
    sweep_run(tmp_path / "s.toml", tmp_path / "b", workers=3, threads=4)
    assert given == [2, 4]  # (8 - 2) idle cores / 3 workers; a count as given
    assert invoke("sweep", "run", tmp_path / "s.toml", "--out", tmp_path / "c", "--threads", "auto",
                  "--dry-run").exit_code == 0


# --- --set aux=... -------------------------------------------------------------------------
AUX_FORMS = {  # every form the README shows, and a plain comma list
    "aux=[sym:commutativity]": ["sym:commutativity"],
    "aux=[sym:commutativity, sym:associativity]": ["sym:commutativity", "sym:associativity"],
    "aux=sym:commutativity,sym:associativity": ["sym:commutativity", "sym:associativity"],
    "aux=sym:commutativity, geom:lipschitz": ["sym:commutativity", "geom:lipschitz"],
    "aux=sym:commutativity": ["sym:commutativity"],
    "aux=sym:commutativity+sym:associativity": ["sym:commutativity", "sym:associativity"],
    "aux=['sym:commutativity', 'geom:nuclear']": ["sym:commutativity", "geom:nuclear"],
    "aux=[]": [],
}


@pytest.mark.parametrize("form", sorted(AUX_FORMS))
def test_set_aux_takes_every_documented_form(form):
    settings = settings_from((form,), device="cpu")  # what train and compare do with --set
    cfg = TrainConfig.from_setup(resolve("mod_add", {"p": 5}, "quick", settings))
    assert cfg.aux == AUX_FORMS[form]


def test_set_aux_plain_comma_list_trains_and_compares(tmp_path):
    result = invoke(*TRAIN, "--set", "aux=sym:commutativity,geom:lipschitz", "--out", tmp_path / "r")
    assert result.exit_code == 0, result.output
    train = json.loads((tmp_path / "r" / "config.json").read_text())["train"]
    assert train["aux"] == ["sym:commutativity", "geom:lipschitz"]
    result = invoke("compare", "mod_add", "-P", "p=5", "--methods", "baseline", "--seeds", "0", "--epochs", "2",
                    "--eval-every", "2", *FAST, "--set", "aux=[sym:commutativity, sym:associativity]",
                    "--out", tmp_path / "c")
    assert result.exit_code == 0, result.output
    train = json.loads((tmp_path / "c" / "baseline" / "config.json").read_text())["train"]
    assert train["aux"] == ["sym:commutativity", "sym:associativity"]
