"""Run the bad-input matrix of tests/test_bad_inputs.py against any installed ``symreg`` and tabulate it.

Each row runs in a subprocess under a time limit and a memory limit (so a row that
hangs or allocates until killed is recorded as such rather than taking the machine
down), on a fresh copy of two finished runs. A row is *clean* when it exits 2 with
exactly one ``Error:`` line naming the bad value, prints no traceback, and leaves
every file as it was. Comparing two checkouts::

    python benchmarks/bad_input_matrix.py --symreg /old/checkout/.venv/bin/symreg --out before.json
    python benchmarks/bad_input_matrix.py --out benchmarks/results/bad_inputs.json
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.test_bad_inputs import MATRIX, TRAIN, snapshot  # noqa: E402


def rows():
    for m in MATRIX:
        values = m.values if hasattr(m, "values") else m
        yield values[0], values[1], values[2], values[3]


def run(cmd: list[str], timeout: float, mem_kb: int, env: dict) -> tuple[int | str, str]:
    shell = f"ulimit -v {mem_kb}; exec " + " ".join(_quote(c) for c in cmd)
    try:
        done = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired as err:
        return "timeout", (err.stderr or b"").decode(errors="replace") if isinstance(err.stderr, bytes) else ""
    return done.returncode, done.stdout + done.stderr


def _quote(s: str) -> str:
    return "'" + s.replace("'", "'\\''") + "'"


def classify(code, output: str, fragments, changed: bool) -> str:
    if code == "timeout":
        return "hangs"
    lines = [line for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error: ")]
    if "Traceback" in output or "MemoryError" in output:
        return "traceback"
    if code in (-9, 137) or (isinstance(code, int) and code < 0):
        return f"killed ({code})"
    if code == 0:
        return "accepted" + (", changed files" if changed else "")
    if code != 2 or len(errors) != 1:
        return f"exit {code}, {len(errors)} Error lines"
    named = all(any(f.lower() in errors[0].lower() for f in frag.split("|")) for frag in fragments)
    if changed:
        return "error, but changed files"
    return "clean" if named else "error, value not named"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--symreg", default=str(Path(sys.executable).with_name("symreg")))
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--mem-gb", type=float, default=4.0)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    made = Path(tempfile.mkdtemp(prefix="matrix-"))
    for name, seed in (("run", "0"), ("run2", "1")):
        code, out = run([args.symreg, *TRAIN[0:], "--seed", seed, "--out", str(made / name)], 300, 8_000_000, env)
        assert code == 0, out
    (made / "spec_many_seeds.toml").write_text(
        'name = "many"\nseeds = "0-100000"\n[[task]]\nname = "mod_add"\nparams = { p = 5 }\n')
    (made / "existing.npz").write_bytes(b"keep me")
    results = []
    for ident, argv, fragments, setup in rows():
        place = Path(tempfile.mkdtemp(prefix="row-"))
        shutil.copytree(made, place, dirs_exist_ok=True)
        if setup:
            setup(place)
        before = snapshot(place)
        cmd = [args.symreg] + [a.replace("{run}", str(place / "run")).replace("{run2}", str(place / "run2"))
                                .replace("{new}", str(place / "new")).replace("{root}", str(place)) for a in argv]
        code, output = run(cmd, args.timeout, int(args.mem_gb * 2**20), env)
        changed = snapshot(place) != before
        verdict = classify(code, output, fragments, changed)
        first = next((line for line in output.splitlines() if line.startswith("Error: ")), "")
        results.append({"input": ident, "exit": code, "verdict": verdict, "error": first[:160]})
        print(f"{ident:<34} {str(code):<8} {verdict}")
        shutil.rmtree(place, ignore_errors=True)
    clean = sum(r["verdict"] == "clean" for r in results)
    print(f"{clean} of {len(results)} rows clean")
    if args.out:
        args.out.write_text(json.dumps({"symreg": args.symreg, "clean": clean, "rows": results}, indent=2))
    shutil.rmtree(made, ignore_errors=True)


if __name__ == "__main__":
    main()
