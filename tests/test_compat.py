"""Run and sweep directories written by an earlier symreg still load (tests/data/v0.1/README.md)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from symreg.cli import cli

OLD = Path(__file__).parent / "data" / "v0.1"


def invoke(*args: str):
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def old(tmp_path):
    """A writable copy, so a test that resumes never touches the committed files."""
    shutil.copytree(OLD, tmp_path / "v0.1")
    return tmp_path / "v0.1"


def test_an_old_batch_is_diagnosed(old):
    out = json.loads(invoke("diagnose", old / "run", "--json"))
    runs = out["runs"] if isinstance(out, dict) else out
    assert len(runs) == 2
    assert {r["config"]["seed"] if "config" in r else r["seed"] for r in runs} == {0, 1}


def test_an_old_batch_resumes_from_its_checkpoint(old):
    invoke("train", "--resume", old / "run", "--epochs", 50, "--device", "cpu", "-q")
    for seed in (0, 1):
        rows = [json.loads(line) for line in (old / "run" / f"seed-{seed}" / "metrics.jsonl").open()]
        epochs = [r["epoch"] for r in rows]
        assert epochs == sorted(epochs) and epochs[-1] == 50
        status = json.loads((old / "run" / f"seed-{seed}" / "status.json").read_text())
        assert status["epoch"] == 50


def test_an_old_sweep_is_read(old):
    status = json.loads(invoke("sweep", "status", old / "sweep", "--json"))
    text = json.dumps(status)
    assert "sym_commutativity" in text and "baseline" in text
    summary = json.loads(invoke("sweep", "summary", old / "sweep", "--json"))
    assert "mod_add" in json.dumps(summary)


def test_an_old_run_is_plotted(old, tmp_path):
    invoke("plot", old / "run", "--out", tmp_path / "plots")
    assert any(p.suffix == ".png" for p in (tmp_path / "plots").rglob("*"))
