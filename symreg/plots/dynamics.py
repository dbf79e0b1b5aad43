"""The paper's figures, drawn from run directories (matplotlib, Agg backend, no torch).

- :func:`plot_dynamics`: Fig. 6, training dynamics with the three stages shaded;
- :func:`symreg.plots.embedding.plot_embedding`: Fig. 1, pairs of principal components of the token embedding;
- :func:`plot_violation_scatter`: Fig. 7, violation against epoch, solved vs unsolved;
- :func:`plot_test_accuracy`: test accuracy of groups of runs (one colour per group).

Each function writes one PNG, closes its figure and returns the path written.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from symreg.diagnose.components import primary  # noqa: E402
from symreg.diagnose.phases import describe_generalization, generalization_summary  # noqa: E402
from symreg.errors import unknown  # noqa: E402
from symreg.runs.criterion import describe_thresholds, generalized, run_threshold, thresholds_of  # noqa: E402
from symreg.runs.reading import Run  # noqa: E402

STAGE_COLOURS = {"memorization": "#fdd49e", "symmetry acquisition": "#d4b9da",
                 "geometric organization": "#c7e9c0"}
# symmetry curves: colours distinct from the stage shading
LINE_COLOURS = ["tab:blue", "tab:red", "tab:brown", "tab:cyan", "tab:olive", "tab:pink",
                "tab:gray", "navy", "darkgoldenrod", "teal"]
SOLVED, UNSOLVED = "tab:blue", "tab:red"
DPI = 120


# --- shared helpers ----------------------------------------------------------------
def _floats(values) -> np.ndarray:
    """Values with ``None`` as NaN."""
    return np.array([np.nan if v is None else float(v) for v in values], dtype=float)


def _positive(values) -> np.ndarray:
    """Values for a log axis: ``None`` and non-positive values become NaN."""
    a = _floats(values)
    a[~(a > 0)] = np.nan
    return a


def _params(config: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in (config.get("params") or {}).items())


def run_title(run: Run) -> str:
    """'mod_add (p=97), seed 0' for a title.

    >>> run_title(Run(Path("r"), {"task": "mod_add", "params": {"p": 97}, "seed": 0}, []))
    'mod_add (p=97), seed 0'
    """
    c = run.config
    params = _params(c)
    return f"{c.get('task', '?')}{f' ({params})' if params else ''}, seed {c.get('seed', '?')}"


def run_settings(run: Run) -> str:
    """One line of training settings for a subtitle.

    >>> run_settings(Run(Path("r"), {"train": {"model": "mlp", "train_frac": 0.3, "weight_decay": 1.0}}, []))
    'mlp, train 30%, wd 1'
    """
    t = run.config.get("train", {})
    sizes = run.config.get("model_sizes") or t.get("model_sizes") or {}
    size = f" d_model={sizes['d_model']}" if "d_model" in sizes else ""
    parts = [f"{t.get('model', 'model')}{size}"]
    if "train_frac" in t:
        parts.append(f"train {t['train_frac']:.0%}")
    if "weight_decay" in t:
        parts.append(f"wd {t['weight_decay']:g}")
    if "lr" in t:
        parts.append(f"lr {t['lr']:g}")
    return ", ".join(parts)


def save_figure(fig, path) -> Path:
    """Write ``fig`` as a PNG at ``path`` (making its directory) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)
    return path


def _shade_stages(ax, stages: list[dict]) -> None:
    for st in stages:
        if st.get("start") is None or st.get("end") is None:
            continue
        ax.axvspan(st["start"], st["end"], color=STAGE_COLOURS.get(st["stage"], "#eeeeee"),
                   alpha=0.6, lw=0, zorder=0)


def _stage_handles(stages: list[dict], ev: dict) -> list:
    """Legend entries: one per shaded stage, and an unshaded one for an organization not reached."""
    out = []
    for st in stages:
        start, end = st.get("start"), st.get("end")
        span = f"epochs {start}\u2013{end}" if start != end else f"at epoch {start}"
        out.append(Patch(facecolor=STAGE_COLOURS.get(st["stage"], "#eeeeee"), alpha=0.6,
                         label=f"{st['stage']}: {span}"))
    if ev.get("generalized") and ev.get("geometric_organization") is None:
        out.append(Patch(facecolor="none", edgecolor="0.6", ls="--",
                         label=f"geometric organization: not reached by epoch {ev.get('last_epoch')}"))
    return out


# --- Fig. 6: training dynamics ---------------------------------------------------------
def plot_dynamics(run: Run, ev: dict, path) -> Path:
    """Train/test accuracy, symmetry violations and effective dimension against epoch.

    The stages of ``ev["stages"]`` (the list the report tabulates) are shaded in
    every panel, and only those: a stage not reached is not shaded; vertical
    lines mark memorization and generalization (all panels) and the end of each
    symmetry's acquisition (violation panel, in the symmetry's colour).
    """
    epochs = np.array([r["epoch"] for r in run.rows], dtype=float)
    stages = ev.get("stages") or []
    mem, gen = ev.get("memorization"), ev.get("generalization")
    fig, axes = plt.subplots(3, 1, figsize=(9, 10), sharex=True,
                             gridspec_kw={"height_ratios": [1, 1.3, 0.8]})
    try:
        ax_acc, ax_vio, ax_dim = axes
        for ax in axes:
            _shade_stages(ax, stages)
            ax.grid(alpha=0.3)

        # (a) accuracy
        for key, label, colour in (("train_acc", "train", "black"), ("test_acc", "test", "tab:blue")):
            _, vals = run.series(key)
            ax_acc.plot(epochs, _floats(vals), color=colour, lw=1.8, label=f"{label} accuracy")
        ax_acc.set_ylim(-0.02, 1.05)
        ax_acc.set_ylabel("accuracy")
        ax_acc.set_title("(a) train and test accuracy", loc="left", fontsize=10)

        # (b) violations
        fall = ev.get("symmetries") or {}
        names = list(dict.fromkeys(list(run.symmetries()) + list(fall)))
        any_line = False
        for i, name in enumerate(names):
            colour = LINE_COLOURS[i % len(LINE_COLOURS)]
            _, vmax = run.series("violation_max", name)
            _, vmean = run.series("violation_mean", name)
            f = fall.get(name) or {}
            if f.get("acquired"):
                label = f"{name}: acquired {f['onset']}\u2192{f['end']} (\u2212{f['drop_decades']:.1f} dec)"
            elif f.get("never_violated"):
                label = f"{name}: never violated"
            else:
                label = f"{name}: not acquired"
            ymax, ymean = _positive(vmax), _positive(vmean)
            if np.isfinite(ymax).any() or np.isfinite(ymean).any():
                any_line = True
            ax_vio.plot(epochs, ymax, color=colour, lw=1.6, label=label)
            ax_vio.plot(epochs, ymean, color=colour, lw=0.9, ls="--", alpha=0.8)
            if f.get("acquired"):
                ax_vio.axvline(f["end"], color=colour, ls=":", lw=1.4)
                at = [y for e, y in zip(epochs, ymax) if e == f["onset"]]
                if at:
                    ax_vio.plot([f["onset"]], at, marker="v", color=colour, ms=8, ls="none",
                                markeredgecolor="black", markeredgewidth=0.5)
        if any_line:
            ax_vio.set_yscale("log")
        else:
            ax_vio.text(0.5, 0.5, "no symmetry violations recorded", transform=ax_vio.transAxes,
                        ha="center", va="center", color="gray")
        ax_vio.set_ylabel("violation (KL)")
        ax_vio.set_title("(b) symmetry violation: max over instances (solid), mean (dashed); "
                         "\u25bc onset, dotted line = end of acquisition", loc="left", fontsize=10)

        # (c) effective dimension
        _, dims = run.series("eff_dim")
        ax_dim.step(epochs, _floats(dims), where="post", color="tab:green", lw=1.8,
                    label="effective dimension")
        geo = ev.get("geometric_organization")
        if geo is not None:
            ax_dim.axvline(geo, color="darkgreen", ls="-.", lw=1.2,
                           label=f"dimension at its floor (epoch {geo})")
        ax_dim.set_ylabel("PCs > 1% variance")
        ax_dim.set_xlabel("epoch")
        ax_dim.yaxis.get_major_locator().set_params(integer=True)
        ax_dim.set_title("(c) effective embedding dimension", loc="left", fontsize=10)

        # memorization / generalization markers in every panel
        for ax in axes:
            if mem is not None:
                ax.axvline(mem, color="black", ls="--", lw=1.1)
            if gen is not None:
                ax.axvline(gen, color="black", ls="-", lw=1.3)
        marks = []
        if mem is not None:
            marks.append(Line2D([], [], color="black", ls="--", lw=1.1, label=f"memorized (epoch {mem})"))
        if gen is not None:
            marks.append(Line2D([], [], color="black", ls="-", lw=1.3, label=f"generalized (epoch {gen})"))
        settle = primary(ev)  # the key components of the main measured action (symreg.diagnose.components)
        if settle is not None and settle[1].get("settle_epoch") is not None:
            ax_acc.axvline(settle[1]["settle_epoch"], color="magenta", ls=":", lw=1.3)
            marks.append(Line2D([], [], color="magenta", ls=":", lw=1.3, label=f"key components of "
                                f"{settle[0]} settle (epoch {settle[1]['settle_epoch']})"))
        h, _ = ax_acc.get_legend_handles_labels()
        ax_acc.legend(handles=h + marks, loc="center right", fontsize=8, framealpha=0.9)
        if names:
            ax_vio.legend(loc="best", fontsize=8, framealpha=0.9)
        ax_dim.legend(loc="best", fontsize=8, framealpha=0.9)
        if len(epochs):
            ax_dim.set_xlim(0, max(epochs.max(), 1) * 1.015)  # lines at the last epoch stay visible
        else:
            ax_acc.text(0.5, 0.5, "no metrics yet", transform=ax_acc.transAxes, ha="center", va="center")

        last = ev.get("last_epoch")
        if gen is not None:
            verdict = f"generalized at epoch {gen}"
        else:
            _, test = run.generalization_series()  # outside the closure, for augmented runs
            known = [v for v in test if v is not None]
            best = f", best test acc {max(known):.2f} < {_level(run, ev):g}" if known else ""
            verdict = f"NEVER generalized (by epoch {last}{best})"
        if ev.get("running"):
            verdict += " \u2014 still running"
        fig.suptitle(f"Training dynamics: {run_title(run)} \u2014 {verdict}\n{run_settings(run)}",
                     fontsize=11)
        handles = _stage_handles(stages, ev)
        if handles:
            fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8.5, frameon=False)
        fig.tight_layout(rect=(0, 0.03 if handles else 0, 1, 1))
        return save_figure(fig, path)
    finally:
        plt.close(fig)


# --- Fig. 1: embedding PCA ---------------------------------------------------------------
def _violation(row: dict, symmetry: str | None) -> float | None:
    v = row.get("violation_max") or {}
    if symmetry is not None:
        return v.get(symmetry)
    known = [x for x in v.values() if x is not None]
    return max(known) if known else None


def _level(run: Run, ev: dict) -> float:
    """The generalization threshold ``ev`` was diagnosed with (else the run's own)."""
    level = (ev.get("thresholds") or {}).get("generalize_acc")
    return run_threshold(run.config) if level is None else level


def _task_names(runs: list[Run]) -> str:
    names = list(dict.fromkeys(f"{r.config.get('task', '?')}"
                               + (f" ({_params(r.config)})" if _params(r.config) else "") for r in runs))
    return ", ".join(names) if len(names) <= 3 else f"{len(names)} tasks"


def check_symmetry(runs: list[Run], symmetry: str | None) -> str | None:
    """``symmetry`` if some run records it (or None: all of them), else :class:`~symreg.errors.UnknownNameError`.

    >>> check_symmetry([Run(Path("r"), {}, [{"epoch": 0, "violation_max": {"comm": 0.1}}])], "com")
    Traceback (most recent call last):
    symreg.errors.UnknownNameError: Unknown symmetry in these runs: 'com'. Did you mean 'comm'? Available: comm.
    """
    if symmetry is not None and not any(symmetry in r.symmetries() for r in runs):
        raise unknown("symmetry in these runs", symmetry, {s for r in runs for s in r.symmetries()})
    return symmetry


def plot_violation_scatter(runs: list[Run], evs: list[dict], path, symmetry: str | None = None) -> Path:
    """Every evaluation of every run as a point (epoch, max violation), blue once the run has generalized."""
    check_symmetry(runs, symmetry)
    fig, ax = plt.subplots(figsize=(9, 5.5))
    try:
        counts = {True: 0, False: 0}
        for run, ev in zip(runs, evs):
            gen, mem = ev.get("generalization"), ev.get("memorization")
            e = np.array([r["epoch"] for r in run.rows], dtype=float)
            v = _positive([_violation(r, symmetry) for r in run.rows])
            solved = np.array([gen is not None and x >= gen for x in e], dtype=bool)
            early = np.array([mem is None or x < mem for x in e], dtype=bool)
            ax.plot(e, v, color="0.75", lw=0.5, zorder=1)
            for flag, colour in ((True, SOLVED), (False, UNSOLVED)):
                m = (solved == flag) & np.isfinite(v)
                counts[flag] += int(m.sum())
                ax.scatter(e[m & ~early], v[m & ~early], s=14, color=colour, alpha=0.65, lw=0, zorder=2)
                ax.scatter(e[m & early], v[m & early], s=14, facecolors="none", edgecolors=colour,
                           alpha=0.8, lw=0.8, zorder=2)
        if counts[True] or counts[False]:
            ax.set_yscale("log")
        level = describe_thresholds(_level(run, ev) for run, ev in zip(runs, evs))
        ax.legend(handles=[
            Line2D([], [], marker="o", ls="none", color=SOLVED,
                   label=f"solved: test acc \u2265 {level} ({counts[True]} points)"),
            Line2D([], [], marker="o", ls="none", color=UNSOLVED, label=f"unsolved ({counts[False]} points)"),
            Line2D([], [], marker="o", ls="none", markerfacecolor="none", markeredgecolor="0.3",
                   label="hollow: before memorization (an untrained model is trivially near-symmetric)")],
            loc="best", fontsize=9)
        what = f"'{symmetry}'" if symmetry else "the worst symmetry (max over all)"
        ax.set_xlabel("epoch")
        ax.set_ylabel(f"max instance violation of {symmetry or 'any symmetry'} (KL, log)")
        ax.set_title(f"Symmetry violation vs epoch: {_task_names(runs)}\n"
                     f"{describe_generalization(generalization_summary(evs))}\n"
                     f"violation of {what}; one point per evaluation", fontsize=10)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        return save_figure(fig, path)
    finally:
        plt.close(fig)


# --- test accuracy of groups of runs ----------------------------------------------------------
def _held(epochs: np.ndarray, values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Each grid epoch's latest known value (NaN before the first); a stopped run keeps its last."""
    ok = np.isfinite(values)
    e, v = epochs[ok], values[ok]
    if not len(e):
        return np.full(len(grid), np.nan)
    idx = np.searchsorted(e, grid, side="right") - 1
    return np.where(idx >= 0, v[np.clip(idx, 0, None)], np.nan)


def plot_test_accuracy(runs_by_label: dict[str, list[Run]], path, threshold: float | None = None) -> Path:
    """Test accuracy against epoch: thin lines per run, a bold median per label.

    Runs that stopped early (``--stop-on-generalize``) keep their last value in the median.
    For a run trained on a closure (``--augment``) the accuracy is on the test cells
    outside it, the one that decides generalization (:func:`symreg.runs.criterion.held_out_acc`).
    A dotted line marks the generalization threshold: ``threshold``, or each
    run's own (:func:`symreg.runs.criterion.run_threshold`).
    """
    fig, ax = plt.subplots(figsize=(9, 5.5))
    try:
        all_runs = [r for runs in runs_by_label.values() for r in runs]
        levels = thresholds_of(all_runs, threshold)
        last = max((r.rows[-1]["epoch"] for r in all_runs if r.rows), default=0)
        handles = []
        for i, (label, runs) in enumerate(runs_by_label.items()):
            colour = LINE_COLOURS[i % len(LINE_COLOURS)]
            grids, curves = [], []
            for run in runs:
                e, v = run.generalization_series()
                e, v = np.array(e, dtype=float), _floats(v)
                ax.plot(e, v, color=colour, lw=0.9, alpha=0.45)
                grids.append(e)
                curves.append((e, v))
            n_gen = sum(generalized(r, threshold) for r in runs)
            if grids:
                grid = np.unique(np.concatenate(grids + [np.array([last], dtype=float)]))
                stack = np.array([_held(e, v, grid) for e, v in curves])
                with warnings.catch_warnings():  # an all-NaN column is a NaN median, silently
                    warnings.simplefilter("ignore", RuntimeWarning)
                    med = np.nanmedian(stack, axis=0)
                ax.plot(grid, med, color=colour, lw=2.6)
            runs_text = f"{len(runs)} run{'s' if len(runs) != 1 else ''}"
            handles.append(Line2D([], [], color=colour, lw=2.6,
                                  label=f"{label}: median of {runs_text} ({n_gen} reach {describe_thresholds(levels)})"))
        for level in levels:
            ax.axhline(level, color="0.4", ls=":", lw=1)
        handles.append(Line2D([], [], color="0.4", ls=":", lw=1, label=f"{describe_thresholds(levels)} (generalized)"))
        handles.append(Line2D([], [], color="0.3", lw=0.7, alpha=0.5, label="one run (thin); a run that stopped keeps its last value"))
        ax.legend(handles=handles, loc="best", fontsize=9)
        ax.set_ylim(-0.02, 1.03)
        ax.set_xlim(0, max(last, 1))
        ax.set_xlabel("epoch")
        augmented = any(r.rows and r.rows[-1].get("test_outside_closure_acc") is not None for r in all_runs)
        ax.set_ylabel("test accuracy" + (" (augmented runs: outside the closure)" if augmented else ""))
        ax.set_title(f"Test accuracy: {_task_names(all_runs)}; {len(all_runs)} runs in "
                     f"{len(runs_by_label)} group{'s' if len(runs_by_label) != 1 else ''}", fontsize=10)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        return save_figure(fig, path)
    finally:
        plt.close(fig)

