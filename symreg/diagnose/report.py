"""Markdown reports: one run (``report.md``) or a set of runs (``summary.md``).

The reports read what :func:`symreg.diagnose.phases.events` found and link the
figures of :mod:`symreg.plots.dynamics` by paths relative to the report, so a report
directory can be moved or published as a whole.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Mapping

from symreg.diagnose.phases import describe_generalization, generalization_summary
from symreg.runs.criterion import describe_thresholds
from symreg.runs.reading import Run
from symreg.util.tables import fmt_number, markdown_table


def _images(plot_paths, out_dir: Path) -> list[str]:
    """Markdown image links, relative to ``out_dir``, for the plots that exist."""
    items = plot_paths.items() if isinstance(plot_paths, Mapping) else \
        ((Path(p).stem.replace("_", " "), p) for p in (plot_paths or []))
    out = []
    for title, p in items:
        if p is None or not Path(p).exists():
            continue
        rel = Path(os.path.relpath(Path(p).resolve(), Path(out_dir).resolve())).as_posix()
        out.append(f"### {title}\n\n![{title}]({rel})")
    return out


def _task(config: dict) -> str:
    """The task and its parameters: ``mod_add (p=97)``, or the name alone for a task without any.

    >>> _task({"task": "mod_add", "params": {"p": 97}}), _task({"task": "const", "params": {}}), _task({})
    ('mod_add (p=97)', 'const', '?')
    """
    params = ", ".join(f"{k}={v}" for k, v in (config.get("params") or {}).items())
    return f"{config.get('task', '?')}{f' ({params})' if params else ''}"


def _generalized(ev: dict) -> str:
    return fmt_number(ev["generalization"]) if ev.get("generalized") else f"never (by {fmt_number(ev.get('last_epoch'))})"


def _organized(ev: dict) -> str:
    if ev.get("geometric_organization") is not None:
        return fmt_number(ev["geometric_organization"])
    return f"not reached (by {fmt_number(ev.get('last_epoch'))})" if ev.get("generalized") else "-"


def _measure(key: str, item: dict) -> str:
    """``translation (token embedding)`` or ``translation (unembedding)``."""
    return f"{item.get('action', key)} ({'unembedding' if item.get('on') == 'classes' else 'token embedding'})"


def _settled(item: dict, ev: dict) -> str:
    if item.get("settle_epoch") is not None:
        return fmt_number(item["settle_epoch"])
    return f"not settled (by {fmt_number(ev.get('last_epoch'))})"


def _share(kc: dict) -> str:
    """The share of energy the key components carry, as recorded (``90%``; ``?`` for an older run)."""
    level = next((item.get("threshold") for item in kc.values() if item.get("threshold")), None)
    return "?" if level is None else f"{level:.0%}"


def _key_components(ev: dict) -> list[str]:
    """The report's section on key components: what they are at the end, when they settled, and the
    restricted and excluded losses."""
    kc = ev.get("key_components") or {}
    if not kc:
        return []
    lines = ["## Key components", "",
             "For each group action measured: the fewest components of the decomposition carrying "
             f"{_share(kc)} of "
             "the energy of the centred token embedding (or unembedding) at the last evaluation; the "
             "first evaluation after which that set never changed again (*settled*); and the first from which "
             "those components were the largest at every evaluation (*leading*: chosen, while the set may "
             "still shrink towards them).", "",
             markdown_table([["measure", "group", "key components at the end", "settled at epoch", "leading from"]]
                            + [[_measure(k, item), item.get("group") or "?", f"{item['n_key']}: {item['described']}",
                                _settled(item, ev), fmt_number(item.get("leading_epoch"))] for k, item in kc.items()]),
             ""]
    for k, item in kc.items():
        f = item.get("final_losses")
        if f:
            g = {name: fmt_number(v, ".3g") for name, v in f.items()}
            lines += [f"Loss at the last evaluation with the token embedding restricted to the key components "
                      f"of {item['action']}: train {g['restricted_train_loss']}, test {g['restricted_test_loss']}; "
                      f"with them excluded: train {g['excluded_train_loss']}, test {g['excluded_test_loss']} "
                      f"(unchanged model: train {g['train_loss']}, test {g['test_loss']}).", ""]
    return lines


def _write(out_dir, name: str, text: str) -> Path:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / name
    path.write_text(text)
    return path


def run_report(run: Run, ev: dict, plot_paths, out_dir) -> Path:
    """Write ``out_dir/report.md`` for one run: config, events, symmetries, warnings, figures.

    ``plot_paths`` maps a caption to an image path (or is a list of paths);
    images that do not exist are left out.
    """
    c, t = run.config, run.config.get("train", {})
    sizes = c.get("model_sizes") or t.get("model_sizes") or {}
    model = t.get("model", "?") + (" (" + ", ".join(f"{k}={v}" for k, v in sizes.items()) + ")" if sizes else "")
    state = run.status.get("state", "running" if ev.get("running") else "?")
    lines = [f"# {_task(c)}, seed {c.get('seed', '?')}", "",
             f"Run directory: `{run.path}`", ""]
    verdict = (f"Generalized at epoch **{ev['generalization']}**." if ev.get("generalized")
               else f"**Never generalized** (test accuracy below {ev['thresholds']['generalize_acc']} "
                    f"up to epoch {fmt_number(ev.get('last_epoch'))}).")
    lines += [verdict, "", "## Configuration", "", markdown_table([
        ["setting", "value"],
        ["task", _task(c)],
        ["model", model],
        ["train fraction", fmt_number(t.get("train_frac"))],
        ["weight decay", fmt_number(t.get("weight_decay"))],
        ["learning rate", fmt_number(t.get("lr"))],
        ["seed", fmt_number(c.get("seed"))],
        ["epochs (configured)", fmt_number(t.get("epochs"))],
        ["last evaluated epoch", fmt_number(ev.get("last_epoch"))],
        ["state", state],
    ]), ""]

    acq = ev.get("symmetry_acquisition") or {}
    d = ev.get("eff_dim") or {}
    lines += ["## Events", "", markdown_table([
        ["event", "epoch"],
        ["memorization (train acc >= %g)" % ev["thresholds"]["memorize_acc"], fmt_number(ev.get("memorization"))],
        ["symmetry acquisition onset (earliest)", fmt_number(acq.get("onset"))],
        ["symmetry acquisition end (latest)", fmt_number(acq.get("end"))],
        ["generalization (test acc >= %g)" % ev["thresholds"]["generalize_acc"], _generalized(ev)],
        ["delay: generalization minus memorization", fmt_number(ev.get("delay"))],
        ["sustained generalization (%d evaluations in a row)" % ev["thresholds"].get("sustain", 3),
         fmt_number(ev.get("sustained_generalization"))],
        ["collapse (test acc %g below the threshold after that)" % ev["thresholds"].get("collapse_drop", 0.1),
         fmt_number(ev.get("collapse")) if ev.get("collapse") is not None else "none"],
        ["geometric organization (eff. dim at its floor)", _organized(ev)],
        *[[f"key components settle: {_measure(k, item)}", _settled(item, ev)]
          for k, item in (ev.get("key_components") or {}).items()],
    ]), "", f"Effective embedding dimension: {fmt_number(d.get('start'))} at the start, floor "
            f"{fmt_number(d.get('floor'))}, {fmt_number(d.get('end'))} at the end.", ""]
    if ev.get("stages"):  # the intervals the dynamics figure shades, from the same list
        lines += ["Stages (shaded in the dynamics figure):", "",
                  markdown_table([["stage", "from epoch", "to epoch"]] +
                                 [[s["stage"], fmt_number(s["start"]), fmt_number(s["end"])] for s in ev["stages"]]), ""]

    syms = ev.get("symmetries") or {}
    if syms:
        lines += ["## Symmetry acquisition", "",
                  "Maximum instance violation of each symmetry: its peak, its floor after the peak, the fall "
                  "in decades, and the onset and end of the fall (the end is the first evaluation "
                  f"{ev['thresholds']['drop']:g} decades below the peak; a curve that never gets "
                  "there is not acquired, and one whose peak stays below "
                  f"{ev['thresholds'].get('min_peak', 0):g} nats was never violated).", "",
                  markdown_table([["symmetry", "acquired", "peak (epoch)", "floor", "drop (decades)", "onset", "end"]] + [
                      [name, "yes" if s.get("acquired") else "never violated" if s.get("never_violated") else "no",
                       f"{fmt_number(s.get('peak'), '.3g')} ({fmt_number(s.get('peak_epoch'))})",
                       fmt_number(s.get("floor"), ".3g"),
                       fmt_number(s.get("drop_decades"), ".3g"), fmt_number(s.get("onset")), fmt_number(s.get("end"))]
                      for name, s in syms.items()]), ""]

    lines += _key_components(ev)
    warnings = list(dict.fromkeys(list(ev.get("warnings") or []) + list(run.warnings)))
    if not ev.get("generalized"):
        warnings.append("the run never reached the generalization threshold; its stages stop at symmetry acquisition")
    if syms and not any(s.get("acquired") or s.get("never_violated") for s in syms.values()):
        warnings.append("no symmetry's maximum violation fell by the threshold; no acquisition was detected")
    lines += ["## Warnings", ""] + ([f"- {w}" for w in warnings] or ["None."]) + [""]

    images = _images(plot_paths, out_dir)
    if images:
        lines += ["## Figures", ""] + [x + "\n" for x in images]
    return _write(out_dir, "report.md", "\n".join(lines).rstrip() + "\n")


def set_report(runs: Iterable[Run], evs: Iterable[dict], plot_paths, out_dir,
               extra_sections: dict[str, str] | None = None) -> Path:
    """Write ``out_dir/summary.md`` for a set of runs: one row per run, counts, figures, extra sections."""
    runs, evs = list(runs), list(evs)
    tasks = list(dict.fromkeys(_task(r.config) for r in runs))
    out_dir = Path(out_dir)
    rows = [["run", "seed", "memorized", "sym onset", "sym end", "generalized", "geometry", "eff dim"]]
    for run, ev in zip(runs, evs):
        acq = ev.get("symmetry_acquisition") or {}
        d = ev.get("eff_dim") or {}
        rel = Path(os.path.relpath(Path(run.path).resolve(), out_dir.resolve())).as_posix()
        rows.append([f"`{rel}`", fmt_number(run.config.get("seed")), fmt_number(ev.get("memorization")),
                     fmt_number(acq.get("onset")), fmt_number(acq.get("end")), _generalized(ev),
                     fmt_number(ev.get("geometric_organization")), f"{fmt_number(d.get('start'))} \u2192 {fmt_number(d.get('floor'))}"])
    levels = describe_thresholds(ev["thresholds"]["generalize_acc"] for ev in evs)
    lines = [f"# Summary: {', '.join(tasks) if tasks else 'no runs'}", "",
             f"**{describe_generalization(generalization_summary(evs))}**"
             + (f" (test accuracy >= {levels})." if evs else "."), ""]
    running = [r for r, ev in zip(runs, evs) if ev.get("running")]
    if running:
        lines += [f"{len(running)} run(s) still being written; their numbers may change.", ""]
    lines += ["## Runs", "", markdown_table(rows), ""]
    if evs:
        th = evs[0]["thresholds"]
        lines += [f"Epochs: *memorized* = first train accuracy >= {th['memorize_acc']:g}; *sym onset* / "
                  f"*sym end* = earliest onset and latest end of a symmetry's fall in maximum violation "
                  f"(the end: {th['drop']:g} decades below the peak); *generalized* = first test accuracy >= "
                  f"{levels}; *geometry* = first epoch from generalization on after which "
                  f"the effective embedding dimension falls by at most {th['dim_slack']} by "
                  f"{th['plateau']:g} times that epoch; *eff dim* = "
                  "start \u2192 floor.", ""]
    images = _images(plot_paths, out_dir)
    if images:
        lines += ["## Figures", ""] + [x + "\n" for x in images]
    for title, body in (extra_sections or {}).items():
        lines += [f"## {title}", "", body.strip(), ""]
    warnings = list(dict.fromkeys(w for ev in evs for w in (ev.get("warnings") or [])))
    if warnings:
        lines += ["## Warnings", ""] + [f"- {w}" for w in warnings] + [""]
    return _write(out_dir, "summary.md", "\n".join(lines).rstrip() + "\n")
