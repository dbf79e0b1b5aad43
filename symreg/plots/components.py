"""Component energy over training, the final spectrum, and restricted/excluded loss (no torch).

One figure per measured group action (:mod:`symreg.train.progress_measures`):
for the token embedding, and for the unembedding where the action is an
equivariance, a heatmap of each component's share of the centred energy
against epoch and the final spectrum against the random baseline (key
components highlighted); where the restricted and excluded losses were
measured, their curves next to the train and test loss.
"""
from __future__ import annotations

import re
import textwrap
from pathlib import Path

import numpy as np

from symreg.diagnose.components import measured, series
from symreg.plots.dynamics import _floats, _positive, plt, run_title, save_figure
from symreg.runs.reading import Run
from symreg.runs.rundir import RunDir

KEY, OTHER, BASELINE = "tab:red", "0.6", "black"
LOSS_LINES = (("train_loss", "train", "black", "-"), ("test_loss", "test", "tab:blue", "-"),
              ("restricted_train_loss", "restricted train", "tab:green", "--"),
              ("restricted_test_loss", "restricted test", "tab:green", "-"),
              ("excluded_train_loss", "excluded train", "tab:red", "--"),
              ("excluded_test_loss", "excluded test", "tab:red", "-"))


def actions(run: Run) -> list[str]:
    """The group actions measured in ``run``, each once (``translation`` for ``translation:classes`` too).

    >>> actions(Run(Path("r"), {}, [{"epoch": 0, "reps": {"scaling:classes": {}, "translation": {}}}]))
    ['scaling', 'translation']
    """
    return list(dict.fromkeys(k.partition(":")[0] for k in measured(run)))


def _names(info: dict, k: int) -> list[str]:
    comps = info.get("components") or []
    return [comps[i]["name"] if i < len(comps) else f"component {i}" for i in range(k)]


def _markers(ax, ev: dict, item: dict) -> None:
    """Memorization (dashed) and generalization (solid) in white; key components leading (dash-dot cyan)
    and settled (dotted magenta)."""
    for epoch, style, colour in ((ev.get("memorization"), "--", "white"), (ev.get("generalization"), "-", "white"),
                                 (item.get("leading_epoch"), "-.", "cyan"), (item.get("settle_epoch"), ":", "magenta")):
        if epoch is not None:
            ax.axvline(epoch, color=colour, ls=style, lw=1.2)


def _energy(ax_map, ax_bar, run: Run, ev: dict, key: str, info: dict) -> None:
    """Heatmap (components x epochs) and final spectrum of one measure."""
    epochs, fractions = series(run, key, "fractions")
    f = np.array([_floats(x) for x in fractions]).T  # (K, T)
    k = f.shape[0]
    item = (ev.get("key_components") or {}).get(key) or {}
    mesh = ax_map.pcolormesh(epochs, np.arange(k), f, shading="nearest", cmap="viridis",
                             norm=plt.matplotlib.colors.PowerNorm(0.5, vmin=0, vmax=max(np.nanmax(f), 1e-12)))
    _markers(ax_map, ev, item)
    plt.colorbar(mesh, ax=ax_map, pad=0.01, label="share of energy (sqrt scale)")
    where = "unembedding" if info.get("on") == "classes" or key.endswith(":classes") else "token embedding"
    ax_map.set_title(textwrap.fill(f"{key.partition(':')[0]} on the {where}: {info.get('group', '?')}, {k} "
                                   f"components; key at the end: {item.get('described', '?')}", 120),
                     loc="left", fontsize=9)
    ax_map.set_ylabel("component")
    key_set = set(item.get("key_indices") or [])
    ax_bar.barh(np.arange(k), f[:, -1], color=[KEY if i in key_set else OTHER for i in range(k)], height=0.8)
    base = info.get("baseline")
    if base and len(base) == k:
        ax_bar.plot(base, np.arange(k), ls="none", marker="|", color=BASELINE, ms=6)
    ax_bar.set_title(f"epoch {epochs[-1]}: {len(key_set)} key (red)", loc="left", fontsize=9)
    ax_bar.set_xlabel("share (|: random embedding)")
    names = _names(info, k)
    step = max(1, k // 40)  # at most about 40 labels
    ax_map.set_yticks(range(0, k, step), names[::step], fontsize=6 if k > 20 else 8)
    ax_map.set_ylim(k - 0.5, -0.5)
    ax_map.set_xlim(epochs[0], max(epochs[-1], epochs[0] + 1))
    ax_bar.set_ylim(k - 0.5, -0.5)
    ax_bar.set_yticks([])


def _losses(ax, run: Run, ev: dict, key: str) -> None:
    """Train and test loss, and with the embedding restricted to / without the key components."""
    item = (ev.get("key_components") or {}).get(key) or {}
    for field, label, colour, style in LOSS_LINES:
        if field.startswith(("restricted", "excluded")):
            epochs, values = series(run, key, field)
        else:
            epochs, values = run.series(field)
        ax.plot(epochs, _positive(values), color=colour, ls=style, lw=1.5, label=label)
    for name, epoch, style, colour in (("memorized", ev.get("memorization"), "--", "0.3"),
                                       ("generalized", ev.get("generalization"), "-", "0.3"),
                                       ("key components leading", item.get("leading_epoch"), "-.", "cyan"),
                                       ("key components settle", item.get("settle_epoch"), ":", "magenta")):
        if epoch is not None:
            ax.axvline(epoch, color=colour, ls=style, lw=1.0, label=f"{name} ({epoch})")
    if run.rows:
        ax.set_xlim(run.rows[0]["epoch"], max(run.rows[-1]["epoch"], run.rows[0]["epoch"] + 1))
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (nats)")
    ax.legend(loc="best", fontsize=7, ncol=3, framealpha=0.8)
    ax.grid(alpha=0.3)
    ax.set_title(f"loss; restricted / excluded: the token embedding projected onto / without the key "
                 f"components of {key}", loc="left", fontsize=9)


def plot_components(run: Run, ev: dict, action: str, path) -> Path:
    """The figure of one group action: energy heatmaps, final spectra and, where measured, the losses."""
    desc = RunDir(run.path).reps.get("measures") or {}
    keys = [k for k in (action, f"{action}:classes") if k in measured(run)]
    with_losses = any(v is not None for v in series(run, action, "restricted_train_loss")[1])
    sizes = [min(7.0, max(2.2, 0.11 * len(desc.get(k, {}).get("components") or [0] * 20))) for k in keys]
    fig, axes = plt.subplots(len(keys) + with_losses, 2, figsize=(12, sum(sizes) + 3 * with_losses + 0.8),
                             squeeze=False, gridspec_kw={"width_ratios": [4, 1],
                                                         "height_ratios": sizes + [3] * with_losses})
    try:
        for (ax_map, ax_bar), key in zip(axes, keys):
            _energy(ax_map, ax_bar, run, ev, key, desc.get(key) or {})
        if with_losses:
            gs = axes[-1, 0].get_gridspec()
            for ax in axes[-1]:
                ax.remove()
            _losses(fig.add_subplot(gs[-1, :]), run, ev, action)
        fig.suptitle(f"Components of {action}: {run_title(run)} (white: memorized dashed, generalized solid; "
                     "key components leading: cyan, settled: magenta)", fontsize=10)
        fig.tight_layout(rect=(0, 0, 1, 0.985))
        return save_figure(fig, path)
    finally:
        plt.close(fig)


def component_figures(run: Run, ev: dict, out_dir) -> dict[str, Path]:
    """One figure per measured group action, ``components-ACTION.png``; captions to paths (none: {})."""
    out = {}
    for action in actions(run):
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", action)
        out[f"components of {action}"] = plot_components(run, ev, action, Path(out_dir) / f"components-{safe}.png")
    return out
