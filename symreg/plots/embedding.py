"""The paper's Fig. 1: pairs of principal components of a run's token embedding."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from symreg.errors import UsageError
from symreg.plots.dynamics import plt, run_title, save_figure
from symreg.runs.reading import Run
from symreg.runs.rundir import RunDir
from symreg.task import Task

EMBEDDING = "model.W_E"  # the checkpoint tensor holding the token embedding
VARIANCE_FLOOR = 0.01  # a PC below this share of the variance is noise (the effective dimension's rule)
MAX_LABELS = 32  # token labels per panel, at most
CIRCLE_SCORE = 0.7  # phase coherence above which a PC pair is drawn as a circle (random points: ~0.2)


def load_embedding(run: Run, which: str = "last") -> tuple[np.ndarray, dict]:
    """The token embedding ``model.W_E`` of a checkpoint (numpy) and the checkpoint's metadata.

    >>> load_embedding(Run(Path("/nonexistent"), {}, []))
    Traceback (most recent call last):
    symreg.errors.UsageError: /nonexistent/checkpoints/last.safetensors does not exist; /nonexistent has no checkpoint to plot.
    """
    rd = RunDir(run.path)
    if not rd.has_any_checkpoint():
        raise UsageError(f"{rd.checkpoint_path(which)} does not exist; {run.path} has no checkpoint to plot.")
    tensors, meta = rd.load_checkpoint(which, framework="np", keys=[EMBEDDING])  # a damaged last: the newest intact
    if EMBEDDING not in tensors:
        raise UsageError(f"The checkpoint of {run.path} at epoch {meta['epoch']} holds no token embedding "
                         f"(no tensor {EMBEDDING!r}).")
    return np.asarray(tensors[EMBEDDING], dtype=np.float64), meta


def embedding_pca(emb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Principal-component scores of the centred rows of ``emb`` and each PC's variance fraction.

    >>> scores, frac = embedding_pca(np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 0.0]]))
    >>> frac.round(3).tolist(), scores.shape
    ([1.0, 0.0], (3, 2))
    """
    centred = emb - emb.mean(0, keepdims=True)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    var = s ** 2
    frac = var / var.sum() if var.sum() > 0 else np.zeros_like(var)
    return u * s, frac


def circle_frequency(x: np.ndarray, y: np.ndarray) -> tuple[int, float]:
    """The frequency ``k`` for which point ``t``'s angle follows ``2*pi*k*t/n`` best, and how well (0 to 1).

    A grokked ``x+y mod p`` puts token ``t`` at angle ``2*pi*k*t/p`` in a pair
    of PCs (paper, Table A.2); sorting tokens by ``k*t mod p`` walks its circle.
    ``k`` and ``n-k`` are the same circle run backwards; the smaller is returned.

    >>> t = np.arange(11)
    >>> k, fit = circle_frequency(np.cos(2 * np.pi * 8 * t / 11), np.sin(2 * np.pi * 8 * t / 11))
    >>> k, round(fit, 3)
    (3, 1.0)
    """
    n = len(x)
    z = np.exp(1j * np.arctan2(y - y.mean(), x - x.mean()))
    power = np.abs(np.fft.fft(z)) / n
    power[0] = 0.0
    k = int(np.argmax(power))
    return min(k, n - k), float(power[k])


def plot_embedding(run: Run, path, n_pcs: int = 8) -> Path:
    """Pairs of principal components (PC1-PC2, PC3-PC4, ...) of the last checkpoint's token embedding."""
    from symreg.registry import get_task

    if "task" not in run.config:
        raise UsageError(f"{run.path}: config.json names no task; cannot place its tokens.")
    emb_all, meta = load_embedding(run)
    task = get_task(run.config["task"], **(run.config.get("params") or {}))
    tokens = np.asarray(task.geometry_tokens(), dtype=np.int64)
    if tokens.max(initial=-1) >= len(emb_all):
        raise UsageError(f"{run.path}: the embedding has {len(emb_all)} rows but the task's "
                         f"geometry tokens go up to {tokens.max()}; was the task changed?")
    scores, frac = embedding_pca(emb_all[tokens])
    n = len(tokens)
    n_pairs = max(1, min(n_pcs, scores.shape[1]) // 2)

    coords = task.geometry_coords()
    algebraic = coords is None
    # tokens 0..n-1 of an algebraic task: look for each panel's circle (t -> t+q)
    cyclic = algebraic and task.domain == "algebraic" and np.array_equal(tokens, np.arange(n)) and n > 4
    edges = [tuple(e) for e in task.geometry_edges().tolist()] + ([(n - 1, 0)] if cyclic else [])
    # colour: the token order (for the built-in graphs and comparisons that is the coordinates'
    # lexicographic order, first coordinate slowest; a layout coordinate would be cos(angle) on a cycle)
    colour = np.arange(n, dtype=float)
    cmap = "hsv" if cyclic else "viridis"
    label_every = max(1, math.ceil(n / MAX_LABELS))
    labelled = range(0, n, label_every)
    names = [task.token_name(int(t)) for t in tokens]
    long_names = max(map(len, names), default=0) > 12  # e.g. permutations in cycle notation
    if long_names:
        names = [str(int(t)) for t in tokens]

    ncols = 1 if n_pairs == 1 else 2
    nrows = math.ceil(n_pairs / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols + 1.0, 5.0 * nrows + 0.9), squeeze=False,
                             layout="constrained")
    try:
        sc = None
        for k in range(nrows * ncols):
            ax = axes.flat[k]
            a, b = 2 * k, 2 * k + 1
            if k >= n_pairs or b >= scores.shape[1]:
                ax.axis("off")
                continue
            x, y = scores[:, a], scores[:, b]
            panel_edges, note, edge_alpha = edges, "", 1.0
            if cyclic:
                k, score = circle_frequency(x, y)
                if score >= CIRCLE_SCORE:
                    order = np.argsort((k * np.arange(n)) % n, kind="stable")
                    panel_edges = list(zip(order.tolist(), np.roll(order, -1).tolist()))
                    step = pow(k, -1, n) if math.gcd(k, n) == 1 else None
                    step = min(step, n - step) if step else None
                    note = (f"\ncircle of frequency {k} (token t at angle 2\u03c0\u00b7{k}t/{n}, fit {score:.2f})"
                            + (f";\nedges join circle neighbours t, t\u00b1{step}" if step else ""))
                else:
                    edge_alpha = 0.35
                    note = f"\nno circle (fit {score:.2f}); edges join t, t+1"
            if frac[a] < VARIANCE_FLOOR and frac[b] < VARIANCE_FLOOR:
                note += "\nboth PCs below 1% of variance: noise, not geometry"
                edge_alpha = min(edge_alpha, 0.35)
            for i, j in panel_edges:
                ax.plot([x[i], x[j]], [y[i], y[j]], color="0.6", lw=0.7, alpha=edge_alpha, zorder=1)
            sc = ax.scatter(x, y, c=colour, cmap=cmap, s=28, edgecolors="black", linewidths=0.4, zorder=2)
            for t in labelled:
                ax.annotate(names[t], (x[t], y[t]), xytext=(3, 3), textcoords="offset points",
                            fontsize=7, zorder=3, annotation_clip=True, clip_on=True)
            ax.set_xlabel(f"PC{a + 1} ({frac[a]:.1%} of variance)")
            ax.set_ylabel(f"PC{b + 1} ({frac[b]:.1%} of variance)")
            ax.set_title(f"PC{a + 1} vs PC{b + 1}{note}", fontsize=9)
            ax.set_aspect("equal", adjustable="datalim")
            ax.grid(alpha=0.3)
        if sc is not None:
            bar = fig.colorbar(sc, ax=axes.ravel().tolist(), shrink=0.6)
            bar.set_label("token index" if algebraic else "token index (order of the task's tokens)")
        if type(task).geometry_edges is not Task.geometry_edges:  # the task names its neighbours (a graph's edges)
            edge_rule = "edges join the neighbours the task names (its geometry_edges)"
        elif not algebraic:
            edge_rule = "edges join nearest neighbours in the task's own coordinates"
        elif cyclic:
            edge_rule = "edges join neighbours on each panel's circle, if it has one"
        else:
            edge_rule = "edges join consecutive tokens t, t+1"
        labels = "every token labelled" if label_every == 1 else f"1 token in {label_every} labelled"
        if long_names:
            labels += " by token index (names are long)"
        epoch = meta.get("epoch", "?")
        acc = next((r.get("test_acc") for r in reversed(run.rows) if r.get("epoch") == epoch), None)
        acc_text = f", test acc {acc:.3f}" if isinstance(acc, float) else ""
        eff = int((frac > VARIANCE_FLOOR).sum())
        fig.suptitle(f"Token embedding PCA: {run_title(run)}, checkpoint epoch {epoch}{acc_text}\n"
                     f"{n} geometry tokens, effective dimension {eff} (PCs > 1% variance)\n"
                     f"{edge_rule}; {labels}", fontsize=10)
        return save_figure(fig, path)
    finally:
        plt.close(fig)


# --- Fig. 7: violation vs epoch, solved vs unsolved -----------------------------------------
