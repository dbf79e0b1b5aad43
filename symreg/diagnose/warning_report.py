"""Early-warning results as a printed table and as a Markdown report section."""
from __future__ import annotations

from symreg.runs.criterion import describe_thresholds
from symreg.util.tables import fmt_number, markdown_table


def _lead(lt: dict) -> str:
    if not lt.get("n"):
        return "-"
    return f"{lt['median']:.4g} [{lt['q1']:.4g}, {lt['q3']:.4g}]"


def _runs(n: int, what: str = "run") -> str:
    return f"{n} {what}{'s' if n != 1 else ''}"


def _levels(level) -> str:
    return describe_thresholds(level if isinstance(level, list) else [level])


def too_few(result: dict) -> str | None:
    """The line that replaces the statistics when too few runs were held out (else None).

    >>> too_few({"too_few_runs": True, "notes": ["only 1 held-out run (of 2): too few"]})
    'not evaluated: only 1 held-out run (of 2): too few'
    """
    if not result.get("too_few_runs"):
        return None
    why = next((n for n in result.get("notes", []) if "too few" in n), "too few held-out runs")
    return f"not evaluated: {why}"


def summary_rows(result: dict) -> list[list[str]]:
    """Rows for a printed table: one per signal (the first row is the header).

    Examples
    --------
    >>> summary_rows({"signals": {}})[0][:3]
    ['signal', 'ROC-AUC held-out', 'threshold']
    """
    rows = [["signal", "ROC-AUC held-out", "threshold", "lead time median [IQR]",
             "run FPR", "sign test k/n", "p"]]
    for sig, r in result["signals"].items():
        h, st, fa = r["held_out"], r["sign_test"], r["held_out"]["false_alarms"]
        fpr = "-" if fa["rate"] is None else f"{fa['rate']:.2f} ({fa['count']}/{fa['runs_at_risk']})"
        kn = "-" if st["k"] is None else f"{st['k']}/{st['n']}"
        rows.append([sig, fmt_number(h["pooled"]["roc_auc"], ".3f"), fmt_number(r["threshold"], ".3g"),
                     _lead(h["lead_time"]), fpr, kn, fmt_number(st["p"], ".3g")])
    return rows


def markdown(result: dict) -> str:
    """A report section (markdown, with tables) for a :func:`symreg.diagnose.early_warning.analyse` result.

    Examples
    --------
    >>> from symreg.diagnose.early_warning import analyse
    >>> markdown(analyse([])).splitlines()[0]
    '## Early warning: does the signal announce generalization?'
    """
    p = result["protocol"]
    out = ["## Early warning: does the signal announce generalization?", ""]
    out.append(
        f"{p['n_used']} runs ({p['n_generalized']} generalized, test acc >= {_levels(p['generalize_acc'])}); "
        f"thresholds calibrated on {_runs(len(p['calibration_runs']))} and evaluated on "
        f"{_runs(len(p['held_out_runs']), 'held-out run')} (split by seed, stratified by outcome, seed {p['seed']}). "
        f"A sample is an evaluation before its run generalizes, labelled positive if the run "
        f"generalizes within {p['horizon']} epochs ({p['horizon_source']}). The alarm is "
        f"`value < threshold`; the threshold is the largest with false-positive rate <= "
        f"{p['max_fpr']} on the calibration {'runs' if p.get('fpr_level') == 'run' else 'samples'}. "
        f"Lead time = generalization epoch - first alarm.")
    few = too_few(result)
    if few:  # numbers from one or two held-out runs would read as evidence; they stay in the JSON only
        out += ["", f"**{few[0].upper() + few[1:]}.** The numbers are in `symreg diagnose --json` "
                    "(flagged `too_few_runs`).", ""]
    else:
        out += ["", markdown_table(summary_rows(result)), ""] + _details(result)
    notes = [n for n in result.get("notes", []) if not (few and few.endswith(n))]
    for sig, r in result["signals"].items():
        notes += [f"{sig}: {m}" for m in r.get("notes", [])]
    if notes:
        out += ["Notes:", ""] + [f"- {m}" for m in notes] + [""]
    return "\n".join(out)


def _details(result: dict) -> list[str]:
    """The detail and per-run tables of :func:`markdown`."""
    out: list[str] = []
    if result["signals"]:
        rows = [["signal", "calibration AUC", "sample FPR / TPR (held-out)", "warned before / late / never",
                 "coverage", "lead min..max", "false alarms (never gen. / too early)",
                 "sign test all runs k/n (p)", "AUC of final value"]]
        for sig, r in result["signals"].items():
            h, lt, fa = r["held_out"], r["held_out"]["lead_time"], r["held_out"]["false_alarms"]
            sa = r["sign_test_all"]
            rows.append([
                sig, fmt_number(r["calibration"]["roc_auc"], ".3f"),
                f"{fmt_number(h['pooled']['fpr'], '.3f')} / {fmt_number(h['pooled']['tpr'], '.3f')}",
                f"{fmt_number(lt['warned_before'])} / {fmt_number(lt['warned_late'])} / "
                f"{fmt_number(lt['never_warned'])}",
                fmt_number(lt["coverage"], ".2f"),
                "-" if not lt["n"] else f"{lt['min']:.4g}..{lt['max']:.4g}",
                "-" if fa["count"] is None else
                f"{len(fa['never_generalized_alarmed'])} / {len(fa['alarmed_too_early'])}",
                "-" if sa["k"] is None else f"{sa['k']}/{sa['n']} ({fmt_number(sa['p'], '.3g')})",
                fmt_number(sa["auc_final"], ".3f")])
        out += ["### Detail", "", markdown_table(rows), ""]
        sigs = list(result["signals"])
        first = result["signals"][sigs[0]]["held_out"]["per_run"]
        if first:
            by_sig = {s: {r["run"]: r for r in result["signals"][s]["held_out"]["per_run"]} for s in sigs}
            rows = [["held-out run", "generalized at"] + [f"{s}: first alarm (lead)" for s in sigs]]
            names = list(dict.fromkeys(r["run"] for s in sigs for r in result["signals"][s]["held_out"]["per_run"]))
            for name in names:
                any_r = next(by_sig[s][name] for s in sigs if name in by_sig[s])
                gen = any_r["generalization_epoch"]
                cells = [name, "never" if gen is None else str(gen)]
                for s in sigs:
                    r = by_sig[s].get(name)
                    if r is None or r["first_alarm"] is None:
                        cells.append("-" if r is None else "no alarm")
                    else:
                        cells.append(f"{r['first_alarm']} ({fmt_number(r['lead_time'], '+g')})"
                                     if r["lead_time"] is not None else f"{r['first_alarm']} (false alarm)")
                rows.append(cells)
            out += ["### Held-out runs", "", markdown_table(rows), ""]
    return out
