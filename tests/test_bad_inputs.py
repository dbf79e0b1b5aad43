"""The bad-input matrix: every row runs the real CLI and must end in one ``Error:`` line, exit 2,
naming the bad value, with nothing on disk changed (no half-made run, no rewritten file)."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from symreg.cli import cli

TINY = "model_sizes={'d_model':8,'n_heads':2,'d_head':4,'d_mlp':16}"
FAST = ["--device", "cpu", "--set", TINY, "--set", "violation_samples=8", "-q"]
TRAIN = ["train", "mod_add", "-P", "p=5", "--epochs", "20", "--eval-every", "10", *FAST]


def invoke(args: list[str]):
    result = CliRunner().invoke(cli, args)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # an uncaught error is a bug, not an exit status
    return result


def snapshot(root: Path) -> dict[str, str]:
    """Every file under root with a hash of its bytes: what 'nothing changed on disk' compares."""
    return {str(p.relative_to(root)): hashlib.sha1(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """One finished single-seed run (epoch 20) and a second one, made by the CLI itself."""
    root = tmp_path_factory.mktemp("made")
    for name, seed in (("run", "0"), ("run2", "1")):
        result = invoke([*TRAIN, "--seed", seed, "--out", str(root / name)])
        assert result.exit_code == 0, result.output
    (root / "spec_many_seeds.toml").write_text(
        'name = "many"\nseeds = "0-100000"\n[[task]]\nname = "mod_add"\nparams = { p = 5 }\n')
    (root / "existing.npz").write_bytes(b"keep me")
    return root


@pytest.fixture
def place(finished, tmp_path):
    shutil.copytree(finished, tmp_path, dirs_exist_ok=True)
    return tmp_path


def corrupt_metrics(root: Path, line: str) -> None:
    with (root / "run" / "metrics.jsonl").open("a") as f:
        f.write(line + "\n")


# id, argv (with {run}, {run2}, {new}, {root} placeholders), fragments of the Error line, setup
MATRIX = [
    # train: the run's settings
    ("train --seed -1", [*TRAIN, "--seed", "-1", "--out", "{new}"], ["-1", "seed"], None),
    ("train --set device=123", [*TRAIN, "--set", "device=123", "--out", "{new}"], ["123", "device"], None),
    ("train --set model_sizes=abc", [*TRAIN, "--set", "model_sizes=abc", "--out", "{new}"], ["abc"], None),
    ("train model_sizes nosuch", [*TRAIN, "--set", "model_sizes={'nosuch':1}", "--out", "{new}"],
     ["nosuch", "d_model"], None),
    ("train model_sizes d_model=0", [*TRAIN, "--set", "model_sizes={'d_model':0}", "--out", "{new}"],
     ["d_model", "0"], None),
    ("train --set metrics_seed=-1", [*TRAIN, "--set", "metrics_seed=-1", "--out", "{new}"],
     ["metrics_seed", "-1"], None),
    ("train --lr inf", [*TRAIN, "--lr", "inf", "--out", "{new}"], ["lr|learning rate", "inf"], None),
    ("train --weight-decay inf", [*TRAIN, "--weight-decay", "inf", "--out", "{new}"],
     ["weight_decay|weight decay", "inf"], None),
    ("train --lr nan", [*TRAIN, "--lr", "nan", "--out", "{new}"], ["lr|learning rate", "nan"], None),
    ("train --train-frac 1e-9", [*TRAIN, "--train-frac", "1e-9", "--out", "{new}"], ["1e-09|1e-9"], None),
    ("train generalize_acc=2", [*TRAIN, "--set", "generalize_acc=2", "--out", "{new}"],
     ["generalize_acc", "2"], None),
    ("train epochs=1.5", [*TRAIN, "--set", "epochs=1.5", "--out", "{new}"], ["epochs", "1.5"], None),
    ("train stop_patience=-5", [*TRAIN, "--set", "stop_patience=-5", "--out", "{new}"],
     ["stop_patience", "-5"], None),
    ("train aux=sym:nosuch", [*TRAIN, "--set", "aux=sym:nosuch", "--out", "{new}"], ["sym:nosuch"], None),
    ("train augment=nosuch", [*TRAIN, "--set", "augment=nosuch", "--out", "{new}"], ["nosuch"], None),
    ("train -P p=5 -P p=7", [*TRAIN, "-P", "p=7", "--out", "{new}"], ["p"], None),
    ("train --seeds 0-100000", [*TRAIN, "--seeds", "0-100000", "--out", "{new}"], ["100001"], None),
    ("train huge p", ["train", "mod_add", "-P", "p=1000000007", *FAST, "--out", "{new}"], ["GiB"], None),
    # train: an existing run
    ("resume below checkpoint", ["train", "--resume", "{run}", "--epochs", "10", "--device", "cpu"], ["20"], None),
    ("resume at checkpoint", ["train", "--resume", "{run}", "--epochs", "20", "--device", "cpu"], ["20"], None),
    ("resume bad metrics line", ["train", "--resume", "{run}", "--epochs", "30", "--device", "cpu"],
     ["metrics.jsonl"], lambda root: corrupt_metrics(root, "42")),
    ("resume metrics row without epoch", ["train", "--resume", "{run}", "--epochs", "30", "--device", "cpu"],
     ["metrics.jsonl"], lambda root: corrupt_metrics(root, '{"train_acc": 1.0}')),
    # other commands
    ("verify --samples -1", ["verify", "mod_add", "-P", "p=5", "--samples", "-1"], ["-1"], None),
    ("verify --max-exhaustive -1", ["verify", "mod_add", "-P", "p=5", "--max-exhaustive", "-1"], ["-1"], None),
    ("augment --seed -1", ["augment", "mod_add", "-P", "p=5", "--seed", "-1"], ["-1"], None),
    ("augment --out existing", ["augment", "mod_add", "-P", "p=5", "--out", "{root}/existing.npz"],
     ["existing.npz"], None),
    ("augment huge p", ["augment", "mod_add", "-P", "p=20011"], ["GiB"], None),
    ("compare bad lr factor", ["compare", "mod_add", "-P", "p=5", "--methods", "baseline@lr*1.2.3",
                               "--out", "{new}", *FAST], ["1.2.3"], None),
    ("diagnose --signal nosuch", ["diagnose", "{run}", "{run2}", "--signal", "nosuch"], ["nosuch"], None),
    ("diagnose --max-fpr 2", ["diagnose", "{run}", "{run2}", "--max-fpr", "2"], ["max_fpr|max-fpr", "2"], None),
    ("diagnose --drop -1", ["diagnose", "{run}", "--drop", "-1"], ["drop", "-1"], None),
    ("diagnose --memorize-acc nan", ["diagnose", "{run}", "--memorize-acc", "nan"], ["memorize_acc|memorize-acc", "nan"], None),
    ("diagnose --horizon -1", ["diagnose", "{run}", "--horizon", "-1"], ["horizon", "-1"], None),
    ("diagnose bad metrics line", ["diagnose", "{run}"], ["metrics.jsonl"], lambda root: corrupt_metrics(root, "42")),
    ("plot --signal nosuch", ["plot", "{run}", "{run2}", "--signal", "nosuch", "--out", "{new}"], ["nosuch"], None),
    ("sweep dry-run 100001 seeds", ["sweep", "run", "{root}/spec_many_seeds.toml", "--out", "{new}", "--dry-run"],
     ["100001"], None),
]


def _case(m):
    if hasattr(m, "values"):  # a pytest.param carrying marks
        return pytest.param(*m.values[1:], id=m.values[0], marks=m.marks)
    return pytest.param(*m[1:], id=m[0])


@pytest.mark.parametrize("args, fragments, setup", [_case(m) for m in MATRIX])
def test_bad_input_is_one_error_line_and_changes_nothing(place, args, fragments, setup):
    if setup:
        setup(place)
    before = snapshot(place)
    names = {"{run}": place / "run", "{run2}": place / "run2", "{new}": place / "new", "{root}": place}
    argv = [a for a in args]
    for key, value in names.items():
        argv = [a.replace(key, str(value)) for a in argv]
    result = invoke(argv)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert "Traceback" not in result.output
    errors = [line for line in lines if line.startswith("Error: ")]
    assert len(errors) == 1, result.output
    for fragment in fragments:  # case-insensitive; "a|b" takes either
        assert any(f.lower() in errors[0].lower() for f in fragment.split("|")), (fragment, errors[0])
    assert snapshot(place) == before, "a refused command changed files on disk"


def test_unknown_plugin_name_in_the_environment_is_an_error():
    env = {**os.environ, "SYMREG_LOAD_PLUGINS": "nosuch"}
    done = subprocess.run([sys.executable, "-m", "symreg", "tasks"], env=env, capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("Error: ") and "nosuch" in done.stderr and "algebraic" in done.stderr


def test_resuming_a_finished_run_without_a_new_target_touches_nothing(place):
    before = snapshot(place)
    result = invoke(["train", "--resume", str(place / "run"), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "20" in result.output
    assert snapshot(place) == before


def test_status_of_a_refused_resume_stays_done(place):
    invoke(["train", "--resume", str(place / "run"), "--epochs", "10", "--device", "cpu"])
    assert json.loads((place / "run" / "status.json").read_text())["state"] == "done"
