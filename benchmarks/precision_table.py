"""The fp32-vs-bf16 grokking table from benchmarks/precision_dynamics.sh's results.

Per task and precision: each seed's epochs to test accuracy 0.99, their median,
quartiles and range, how many seeds never got there within the cap, and the
final maximum violation (over symmetries, at each seed's last evaluation). The
seed is paired across precisions (same split, same initial weights), so the
per-seed ratio bf16/fp32 is reported too; a difference is "beyond the seed
spread" when the bf16 median falls outside the fp32 interquartile range.

    python benchmarks/precision_table.py        # prints Markdown, writes precision/summary.json
"""
from __future__ import annotations

import json
import statistics
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "precision"


def quartiles(values: list[float]) -> tuple[float, float, float] | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0], values[0], values[0]
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q2, q3


def summarise(result: dict) -> dict:
    gens = result["generalized_epoch"]
    solved = sorted(g for g in gens if g is not None)
    viol = [v for v in result.get("final_violation_max", []) if v is not None]
    return {"epochs": gens, "quartiles": quartiles(solved), "range": [solved[0], solved[-1]] if solved else None,
            "never": sum(g is None for g in gens), "seeds": len(gens), "cap": result["epochs_cap"],
            "final_violation_median": statistics.median(viol) if viol else None,
            "wall_s": result["wall_s"], "cpu_s": result["cpu_s"]}


def main() -> None:
    tasks = sorted({p.stem.rsplit("-", 1)[0] for p in RESULTS.glob("*.json") if p.stem != "summary"})
    out, lines = {}, ["| task | precision | epochs to 0.99 (10 seeds) | median [IQR] | range | never (cap) "
                      "| final max violation (median) | bf16/fp32 per seed (median) | cpu s |", "|" + "---|" * 9]
    for task in tasks:
        runs = {p: json.loads((RESULTS / f"{task}-{p}.json").read_text())["results"][0]
                for p in ("fp32", "bf16") if (RESULTS / f"{task}-{p}.json").exists()}
        rows = {p: summarise(r) for p, r in runs.items()}
        if len(rows) == 2:
            pairs = [b / a for a, b in zip(rows["fp32"]["epochs"], rows["bf16"]["epochs"]) if a and b]
            rows["bf16"]["paired_ratio_median"] = statistics.median(pairs) if pairs else None
            q = rows["fp32"]["quartiles"]
            bq = rows["bf16"]["quartiles"]
            rows["bf16"]["beyond_seed_spread"] = bool(q and bq and not q[0] <= bq[1] <= q[2])
        out[task] = {"params": next(iter(runs.values()))["params"], **rows}
        for p, r in rows.items():
            q = r["quartiles"]
            ratio = r.get("paired_ratio_median")
            lines.append(f"| {task} | {p} | {' '.join('-' if g is None else str(g) for g in r['epochs'])} | "
                         + (f"{q[1]:g} [{q[0]:g}, {q[2]:g}]" if q else "-") + " | "
                         + (f"{r['range'][0]}-{r['range'][1]}" if r["range"] else "-")
                         + f" | {r['never']} ({r['cap']}) | "
                         + (f"{r['final_violation_median']:.3g}" if r["final_violation_median"] is not None else "-")
                         + f" | {'-' if ratio is None else f'{ratio:.2f}'} | {r['cpu_s']:.0f} |")
    print("\n".join(lines))
    (RESULTS / "summary.json").write_text(json.dumps(out, indent=2))
    (RESULTS / "summary.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
