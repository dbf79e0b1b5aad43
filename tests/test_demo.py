"""What a user watches: the progress line (rate, ETA, updates between evaluations) and ``make demo``."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from symreg import get_task
from symreg.cli import progress as progress_mod
from symreg.cli.progress import Progress, duration, end_epoch
from symreg.train.trainer import Trainer
from tests.helpers import TINY, tiny_cfg

ROOT = Path(__file__).resolve().parents[1]


def fake_trainer(epochs=1000, stop=False, patience=100, generalized=(None, None)):
    cfg = SimpleNamespace(epochs=epochs, stop_on_generalize=stop, stop_patience=patience)
    return SimpleNamespace(cfg=cfg, generalized=list(generalized), active=[True] * len(generalized), epoch=0)


ROWS = [{"train_acc": 1.0, "test_acc": 0.5}, {"train_acc": 1.0, "test_acc": 0.7}]


@pytest.fixture
def clock(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(progress_mod, "time", SimpleNamespace(perf_counter=lambda: now[0]))
    return now


def test_the_progress_line_moves_between_evaluations_with_a_rate_and_an_eta(clock, capsys):
    p, tr = Progress(), fake_trainer()
    p.tty = False  # a log: the first line at once, then one every 10 s
    p(0, ROWS, tr)
    first = capsys.readouterr().err
    assert "epoch 0/1000" in first and "test acc 0.600" in first and "-- epochs/s" in first
    clock[0], tr.epoch = 105.0, 40
    p.tick(tr)  # five seconds: nothing yet, off a terminal
    assert capsys.readouterr().err == ""
    clock[0], tr.epoch = 110.0, 80
    p.tick(tr)  # no evaluation since epoch 0, and still the line moves
    line = capsys.readouterr().err
    assert "epoch 80/1000" in line and "8 epochs/s" in line and "ETA 1m55s" in line and "10s" in line


def test_on_a_terminal_the_line_is_redrawn_once_a_second(clock, capsys):
    p, tr = Progress(), fake_trainer()
    p.tty = True
    p(0, ROWS, tr)
    for epoch in range(1, 30):  # 0.1 s per epoch: a redraw every 10 epochs, not 29
        clock[0], tr.epoch = 100.0 + epoch / 10, epoch
        p.tick(tr)
    p.close()
    draws = capsys.readouterr().err.count("\r")
    assert 3 <= draws <= 4


def test_eta_is_exact_once_every_seed_generalized_and_a_bound_before():
    tr = fake_trainer(epochs=5000, stop=True, patience=800, generalized=(750, None))
    assert end_epoch(tr) == (5000, False)
    tr.generalized[1] = 800
    assert end_epoch(tr) == (1600, True)
    assert end_epoch(fake_trainer(epochs=300)) == (300, True)
    assert duration(59.6) == "1m00s"


def test_quiet_progress_prints_nothing(clock, capsys):
    p, tr = Progress(quiet=True), fake_trainer()
    p(0, ROWS, tr)
    clock[0] += 60
    p.tick(tr)
    assert capsys.readouterr().err == "" and p.trainer is tr


def test_the_trainer_calls_tick_after_every_epoch(tmp_path):
    class Counting:
        def __init__(self):
            self.evaluations, self.ticks = [], []

        def __call__(self, epoch, rows, trainer):
            self.evaluations.append(epoch)

        def tick(self, trainer):
            self.ticks.append(trainer.epoch)

    seen = Counting()
    Trainer.fresh(get_task("mod_add", p=7), tiny_cfg(epochs=12, eval_every=5), [0], tmp_path / "r", seen).run()
    assert seen.evaluations == [0, 5, 10, 12] and seen.ticks == list(range(1, 13))


# ----------------------------------------------------------------------------------- make demo
@pytest.mark.skipif(shutil.which("make") is None, reason="no make")
def test_make_demo_end_to_end_on_a_tiny_configuration(tmp_path):
    """The Makefile's own recipe (6 s here), with tiny training: its last line names the directory and the
    files, which exist; the report's stages are the events' stages."""
    sizes = json.dumps(TINY).replace(" ", "")
    venv = Path(sys.prefix)  # the environment running the tests, not necessarily ./.venv
    if not (venv / "bin" / "symreg").exists():
        pytest.skip("symreg is not installed in this environment's bin/")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        ["make", "-s", "-o", f"{venv}/bin/.installed", "demo", f"VENV={venv}", f"DEMO_OUT={tmp_path}",
         "DEMO_PARAMS=-P p=11",
         f"DEMO_TRAIN=--epochs 30 --eval-every 10 --set 'model_sizes={sizes}' --device cpu"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    last = done.stdout.strip().splitlines()[-1]
    folder = Path(re.search(r"in (\S+): ", last).group(1))
    assert folder.is_dir() and folder.parent.parent == tmp_path
    for name in re.findall(r"(\S+\.(?:md|png))", last):
        matches = list(folder.glob(name))
        assert matches, f"{name} named in the last line does not exist under {folder}"
    for events_file in folder.parent.glob("seed-*/events.json"):
        ev = json.loads(events_file.read_text())
        report = (folder / f"{folder.parent.name}-{events_file.parent.name}" / "report.md").read_text()
        for stage in ev["stages"]:
            assert f"| {stage['stage']} | {stage['start']} | {stage['end']} |" in report
