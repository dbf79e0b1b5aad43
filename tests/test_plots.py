"""Figures and Markdown reports from real (tiny) runs and from a synthetic run that generalizes."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from symreg import get_task
from symreg.diagnose.phases import events
from symreg.diagnose.report import run_report, set_report
from symreg.errors import UsageError
from symreg.plots.dynamics import plot_dynamics, plot_test_accuracy, plot_violation_scatter
from symreg.plots.embedding import circle_frequency, load_embedding, plot_embedding
from symreg.runs.reading import Run, load_run, load_runs
from symreg.train.config import TrainConfig
from symreg.train.trainer import Trainer

PNG = b"\x89PNG\r\n\x1a\n"
TINY = {"d_model": 32, "n_heads": 2, "d_head": 16, "d_mlp": 64}


def tiny_cfg(**kw):
    base = dict(train_frac=0.5, weight_decay=1.0, epochs=30, eval_every=10, model_sizes=TINY,
                violation_samples=16, checkpoint_every_s=0.0)
    return TrainConfig(**{**base, **kw})


@pytest.fixture(scope="session")
def tiny_runs(tmp_path_factory) -> dict[str, list[Run]]:
    """One tiny run per domain, and a batch of two mod_add seeds (none of them generalizes)."""
    root = tmp_path_factory.mktemp("plots")
    graph = get_task("graph_path")
    tasks = {"mod_add": get_task("mod_add", p=11),
             "graph_path": get_task("graph_path", **graph.quick.params),
             "compare_3d": get_task("compare_3d")}
    out = {}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models: one thread is faster, and far faster on a busy machine
    try:
        for name, task in tasks.items():
            seeds = [0, 1] if name == "mod_add" else [0]
            Trainer.fresh(task, tiny_cfg(epochs=20), seeds, root / name).run()
            out[name] = load_runs([root / name])[0]
    finally:
        torch.set_num_threads(threads)
    return out


def synthetic_run(gen: int | None, seed: int = 0, last: int = 600) -> Run:
    """mod_add-like history: memorizes at 100, commutativity falls 3 decades over 200-300, generalizes at ``gen``."""
    rows = []
    for e in range(0, last + 1, 20):
        fall = min(1.0, max(0.0, (e - 200) / 100))
        rows.append({"epoch": e, "train_acc": 1.0 if e >= 100 else e / 100,
                     "test_acc": None if e == 40 else (1.0 if gen is not None and e >= gen else 0.2),
                     "violation_max": {"commutativity": 10 ** (-3 * fall), "translation": 0.0 if e == 0 else 5.0},
                     "violation_mean": {"commutativity": 10 ** (-3 * fall - 1), "translation": 1.0},
                     "eff_dim": max(6, 30 - e // 20)})
    return Run(Path(f"synthetic-{seed}"), {"task": "mod_add", "params": {"p": 97}, "seed": seed,
                                           "train": {"model": "transformer", "train_frac": 0.5,
                                                     "weight_decay": 1.0, "lr": 1e-3, "epochs": last}}, rows)


def assert_png(path: Path) -> None:
    path = Path(path)
    assert path.exists() and path.stat().st_size > 1000
    assert path.read_bytes()[:8] == PNG
    assert plt.get_fignums() == []


def test_dynamics_of_a_real_run_and_of_runs_that_do_and_do_not_generalize(tiny_runs, tmp_path):
    run = tiny_runs["mod_add"][0]
    assert_png(plot_dynamics(run, events(run), tmp_path / "real.png"))
    for gen in (300, None):
        run = synthetic_run(gen)
        assert_png(plot_dynamics(run, events(run), tmp_path / f"gen-{gen}.png"))


def test_dynamics_of_a_run_without_metrics(tmp_path):
    run = Run(tmp_path, {"task": "mod_add", "seed": 0}, [])
    assert_png(plot_dynamics(run, events(run), tmp_path / "empty.png"))


@pytest.mark.parametrize("name", ["mod_add", "graph_path", "compare_3d"])
def test_embedding_pca_for_each_domain(tiny_runs, tmp_path, name):
    assert_png(plot_embedding(tiny_runs[name][0], tmp_path / f"{name}.png"))


def test_scatter_and_test_accuracy(tiny_runs, tmp_path):
    runs = tiny_runs["mod_add"] + [synthetic_run(300, seed=5), synthetic_run(None, seed=6)]
    evs = [events(r) for r in runs]
    assert_png(plot_violation_scatter(runs, evs, tmp_path / "scatter.png"))
    assert_png(plot_violation_scatter(runs, evs, tmp_path / "comm.png", symmetry="commutativity"))
    assert_png(plot_test_accuracy({"real": tiny_runs["mod_add"], "synthetic": runs[2:]}, tmp_path / "acc.png"))


def test_plots_mark_the_threshold_the_runs_were_judged_by(tmp_path, monkeypatch):
    """A run trained with generalize_acc=0.9 is drawn against 0.9, not a hard-coded 0.99."""
    import symreg.plots.dynamics as dyn

    labels, lines = [], []
    real_legend = dyn.plt.Axes.legend

    def legend(ax, *a, handles=(), **kw):
        labels.extend(h.get_label() for h in handles)
        return real_legend(ax, *a, handles=handles, **kw)

    def axhline(ax, y=0, *a, **kw):
        lines.append(y)

    monkeypatch.setattr(dyn.plt.Axes, "legend", legend)
    monkeypatch.setattr(dyn.plt.Axes, "axhline", axhline)
    lenient = synthetic_run(300, seed=1)
    lenient.config["train"]["generalize_acc"] = 0.9
    for r in lenient.rows:
        r["test_acc"] = 0.95 if r["test_acc"] == 1.0 else r["test_acc"]
    assert_png(plot_test_accuracy({"lenient": [lenient]}, tmp_path / "acc.png"))
    assert lines == [0.9] and "lenient: median of 1 run (1 reach 0.9)" in labels and "0.9 (generalized)" in labels
    labels.clear()
    assert_png(plot_violation_scatter([lenient], [events(lenient)], tmp_path / "scatter.png"))
    assert any(lbl.startswith("solved: test acc \u2265 0.9 (") for lbl in labels)
    with pytest.raises(UsageError, match="Unknown symmetry in these runs: 'comm'.*Available: commutativity, "
                                         "translation"):
        plot_violation_scatter([lenient], [events(lenient)], tmp_path / "bad.png", symmetry="comm")


def test_a_missing_checkpoint_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="has no checkpoint to plot"):
        load_embedding(Run(tmp_path, {}, []))
    with pytest.raises(UsageError, match="Checkpoint 'best' must be 'last' or an epoch number"):
        load_embedding(Run(tmp_path, {}, []), which="best")


@pytest.mark.parametrize("name", ["graph_grid2d", "graph_grid3d", "graph_cycle", "graph_path",
                                  "graph_cylinder", "graph_hypercube"])
def test_geometry_edges_are_the_graph_edges(name):
    for params in ({}, get_task(name).quick.params, {"cycle": 3, "length": 4} if name == "graph_cylinder" else {}):
        task = get_task(name, **params)  # a cylinder's chords around are shorter than its steps along
        edges = {tuple(e) for e in task.geometry_edges().tolist()}
        want = {tuple(sorted((task._token[u], task._token[v]))) for u, v in task.graph.edges}
        assert edges == want, params


def test_circle_frequency_finds_the_step_of_a_shuffled_circle():
    t = np.arange(13)
    k, fit = circle_frequency(np.cos(2 * np.pi * 5 * t / 13) * 2 + 1, np.sin(2 * np.pi * 5 * t / 13) * 2)
    assert (k, round(fit, 6)) == (5, 1.0)
    rng = np.random.default_rng(0)
    assert circle_frequency(rng.normal(size=97), rng.normal(size=97))[1] < 0.5


def test_run_report_has_the_events_and_links_existing_images(tmp_path):
    run = synthetic_run(300)
    ev = events(run)
    figs = tmp_path / "figs"
    dyn = plot_dynamics(run, ev, figs / "dynamics.png")
    text = run_report(run, ev, {"training dynamics": dyn, "embedding": figs / "missing.png"},
                      tmp_path / "report").read_text()
    assert "](../figs/dynamics.png)" in text and "missing.png" not in text
    for epoch in (ev["memorization"], ev["generalization"], ev["symmetries"]["commutativity"]["end"]):
        assert f"| {epoch} |" in text
    assert "commutativity" in text and "translation" in text


def test_run_report_of_a_real_run_that_never_generalized(tiny_runs, tmp_path):
    run = load_run(tiny_runs["compare_3d"][0].path)
    ev = events(run)
    emb = plot_embedding(run, tmp_path / "embedding.png")
    text = run_report(run, ev, [emb], tmp_path).read_text()
    assert "Never generalized" in text and "](embedding.png)" in text and "compare_3d" in text


def test_set_report_counts_generalized_runs_and_adds_sections(tiny_runs, tmp_path):
    runs = [synthetic_run(300, 0), synthetic_run(500, 1), synthetic_run(None, 2)] + tiny_runs["mod_add"]
    evs = [events(r) for r in runs]
    scatter = plot_violation_scatter(runs, evs, tmp_path / "scatter.png")
    text = set_report(runs, evs, {"violation vs epoch": scatter}, tmp_path,
                      extra_sections={"Early warning": "lead time: 40 epochs"}).read_text()
    n_gen = sum(ev["generalized"] for ev in evs)
    assert f"{n_gen} of 5 runs generalized" in text
    if n_gen == 2:  # the tiny real runs do not generalize in 20 epochs: 3 of 5 never, so the median is never
        assert "epoch median never (a run that never generalized counts as never), range 300-500" in text
    three = set_report(runs[:3], evs[:3], {}, tmp_path / "three").read_text()
    assert "2 of 3 runs generalized; epoch median 500, range 300-500" in three
    assert "](scatter.png)" in text and "## Early warning" in text and "lead time: 40 epochs" in text
    assert text.count("never (by") == sum(not ev["generalized"] for ev in evs)


# ------------------------------------------------- the figure shades what the report tabulates
def run_on_disk(path: Path, gen: int | None, organizes: bool, seed: int = 0, last: int = 1200) -> Path:
    """A run directory: memorizes at 100, commutativity falls 3 decades over 200-300, generalizes at
    ``gen``; its effective dimension reaches its floor at 510 (``organizes``) or falls until the end."""
    from symreg.runs.rundir import RunDir

    rows = []
    for e in range(0, last + 1, 50):
        fall = min(1.0, max(0.0, (e - 200) / 100))
        rows.append({"epoch": e, "train_acc": min(1.0, e / 100), "test_acc": 1.0 if gen is not None and e >= gen else 0.2,
                     "violation_max": {"commutativity": 10 ** (-3 * fall)},
                     "violation_mean": {"commutativity": 10 ** (-3 * fall - 1)},
                     "eff_dim": max(6, 40 - e // 15) if organizes else 40 - e // 40})
    rd = RunDir.create(path)
    rd.write_config({"task": "mod_add", "params": {"p": 97}, "seed": seed,
                     "train": {"model": "transformer", "train_frac": 0.5, "weight_decay": 1.0, "lr": 1e-3,
                               "epochs": last}})
    rd.append_metrics(rows)
    rd.write_status(state="done", epoch=last, generalized_epoch=gen)
    return path


def shaded_spans(fig) -> set[tuple[str, float, float]]:
    """(stage, start, end) of every shaded band in the figure's panels, checked equal across panels."""
    import matplotlib.colors as mcolors

    from symreg.plots.dynamics import STAGE_COLOURS

    names = {mcolors.to_hex(c): s for s, c in STAGE_COLOURS.items()}
    per_axis = []
    for ax in fig.axes:
        spans = set()
        for p in ax.patches:
            if hasattr(p, "get_width"):
                x0, x1 = p.get_x(), p.get_x() + p.get_width()
            else:  # matplotlib < 3.9 draws axvspan as a Polygon
                xs = np.asarray(p.get_xy())[:, 0]
                x0, x1 = xs.min(), xs.max()
            spans.add((names.get(mcolors.to_hex(p.get_facecolor(), keep_alpha=False), "?"), float(x0), float(x1)))
        per_axis.append(spans)
    assert all(s == per_axis[0] for s in per_axis), "the panels shade different stages"
    return per_axis[0]


def report_stages(report: Path) -> set[tuple[str, float, float]]:
    """The rows of the report's stage table."""
    text = report.read_text()
    assert "Stages (shaded in the dynamics figure):" in text
    table = text.split("Stages (shaded in the dynamics figure):")[1].split("\n\n")[1]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in table.splitlines()[2:]]
    return {(r[0], float(r[1]), float(r[2])) for r in rows}


@pytest.fixture
def captured_figures(monkeypatch):
    """The figures symreg.plots.dynamics saves, by file name (inspected before they are closed)."""
    import symreg.plots.dynamics as dyn

    seen = {}
    save = dyn.save_figure

    def saving(fig, path):
        seen[Path(path).name] = {"spans": shaded_spans(fig) if Path(path).name == "dynamics.png" else None,
                                 "title": fig.axes[0].get_title() if fig.axes else "",
                                 "legend": [t.get_text() for lg in fig.legends for t in lg.get_texts()]}
        return save(fig, path)

    monkeypatch.setattr(dyn, "save_figure", saving)
    return seen


@pytest.mark.parametrize("organizes", [False, True])
def test_the_dynamics_figure_shades_exactly_the_stages_the_report_lists(tmp_path, captured_figures, organizes):
    from symreg.plots import plot

    path = run_on_disk(tmp_path / "run", gen=400, organizes=organizes)
    ev = events(load_run(path))
    assert (ev["geometric_organization"] is not None) == organizes
    [report] = plot([path], out=tmp_path / "plots")
    spans = captured_figures["dynamics.png"]["spans"]
    assert spans == report_stages(report)
    assert spans == {(s["stage"], s["start"], s["end"]) for s in ev["stages"]}
    stages = {s for s, _, _ in spans}
    text = report.read_text()
    legend = captured_figures["dynamics.png"]["legend"]
    if organizes:
        assert stages == {"memorization", "symmetry acquisition", "geometric organization"}
        assert f"| geometric organization (eff. dim at its floor) | {ev['geometric_organization']} |" in text
    else:  # not reached: no band, no stage row, and both say so
        assert stages == {"memorization", "symmetry acquisition"}
        assert "| geometric organization (eff. dim at its floor) | not reached (by 1200) |" in text
        assert "geometric organization: not reached by epoch 1200" in legend


def test_report_and_figure_are_drawn_from_the_same_events(tmp_path, monkeypatch):
    """plot() hands one events dict to the figure and the report: their stages cannot drift apart."""
    import symreg.diagnose.report as report
    import symreg.plots.dynamics as dyn
    from symreg.plots import plot

    got = {}
    draw, write = dyn.plot_dynamics, report.run_report
    monkeypatch.setattr(dyn, "plot_dynamics", lambda run, ev, path: got.setdefault("figure", ev) and draw(run, ev, path))
    monkeypatch.setattr(report, "run_report",
                        lambda run, ev, figs, out: got.setdefault("report", ev) and write(run, ev, figs, out))
    plot([run_on_disk(tmp_path / "run", gen=600, organizes=False)], out=tmp_path / "plots")
    assert got["figure"] is got["report"]


def test_one_median_in_the_diagnose_output_the_summary_and_the_scatter(tmp_path, captured_figures):
    from click.testing import CliRunner

    from symreg.cli import cli
    from symreg.plots import plot

    paths = [run_on_disk(tmp_path / "runs" / f"seed-{s}", gen=g, organizes=True, seed=s)
             for s, g in ((0, 750), (1, 800))]
    out = CliRunner().invoke(cli, ["diagnose", str(tmp_path / "runs")])
    assert out.exit_code == 0, out.output
    assert "2 of 2 runs generalized; epoch median 775, range 750-800" in out.output
    summary = plot(paths, out=tmp_path / "plots")[-1].read_text()
    assert "2 of 2 runs generalized; epoch median 775, range 750-800" in summary
    assert "2 of 2 runs generalized; epoch median 775" in captured_figures["violation_scatter.png"]["title"]
