"""Train S seeds of one configuration as one batched model, full batch, with AdamW.

The simplest interface::

    cfg = TrainConfig.from_preset(task.quick, epochs=2000)
    summaries = Trainer.fresh(task, cfg, seeds=[0], out="runs/x").run()

Evaluation happens at epoch 0 and every ``eval_every`` epochs ("epoch e" is
the state after e updates). Seed k of a batch follows exactly the trajectory a
single run with seed k follows: parameters, split and optimizer state are per
seed, and the summed loss gives each seed the gradient of its own mean loss.
"""
from __future__ import annotations

import ctypes
import datetime as dt
import sys
import time
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from symreg import __version__
from symreg.errors import UsageError
from symreg.registry import get_symmetries, get_symmetry, get_task, model_entries, task_entry
from symreg.runs.criterion import reaches
from symreg.runs.rundir import BatchDir, RunDir, checkpoint_schedule, run_paths
from symreg.train.auxiliary import GrokFast, make_aux_losses
from symreg.train.config import TrainConfig
from symreg.train.data import make_data, split_rows
from symreg.train.metrics import evaluate, make_probes


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError(f"Device {name!r} was requested but no CUDA device is available; valid here: auto, cpu.")
    return torch.device(name)


def tune_cpu() -> None:
    """CPU allocator settings that matter for long runs (glibc mmap/trim thresholds).

    Denormal flushing, the other one, is switched on only while :meth:`Trainer.run`
    runs, since it is process-wide floating-point state that callers may rely on.
    """
    try:  # keep ~10 MB activation buffers on the heap instead of fresh mmaps (page faults)
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 32 * 2**20)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, 2**31 - 1)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):
        pass


# eager steps before a CUDA graph is captured: the allocator and cuBLAS settle on a side stream
CUDA_GRAPH_WARMUP_STEPS = 3


class Trainer:
    """Owns the model, optimizer, data and run directories of one batch of seeds."""

    def __init__(self, task, cfg: TrainConfig, seeds: Sequence[int], runs: list[RunDir],
                 progress: Callable | None = None) -> None:
        self.task, self.cfg, self.seeds, self.runs = task, cfg.validate(), list(seeds), runs
        self.progress = progress
        self.device = resolve_device(cfg.device)
        if self.device.type == "cpu":
            tune_cpu()
        self.splits = [split_rows(len(task), cfg.train_frac, s) for s in self.seeds]
        self.closures = self._augment(task, cfg) if cfg.augment else None
        self.data = make_data(task, self.splits, self.device,
                              None if self.closures is None else [(c.rows, c.labels) for c in self.closures])
        factory = model_entries()[cfg.model].obj
        self.model = factory(task, self.seeds, **cfg.model_sizes).to(self.device)
        # CUDA graphs remove the per-kernel launch cost that dominates small models on a GPU
        self._use_graph = (self.device.type == "cuda" and cfg.cuda_graph and not cfg.batch_size
                           and not cfg.aux and cfg.grokfast != "ma")  # those draw on the host each epoch
        self._graph, self._eager_steps = None, 0
        # a model opts out of seed groups (e.g. buffers with a seed axis) with `seed_groups = False`
        chunk = cfg.seed_chunk or auto_seed_chunk(self.device, self.data.x_train.shape[1])
        self._groups = seed_groups(len(self.seeds), chunk if getattr(self.model, "seed_groups", True) else 0)
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2),
                                     weight_decay=cfg.weight_decay, **_fast_adamw(self.device),
                                     **({"capturable": True} if self._use_graph else {}))
        self.gens = [torch.Generator().manual_seed(s) for s in self.seeds]  # mini-batch order
        self.aux = make_aux_losses(task, list(cfg.aux), cfg.aux_samples)
        self.grokfast = (GrokFast(self.model.parameters(), cfg.grokfast, cfg.grokfast_alpha,
                                  cfg.grokfast_lamb, cfg.grokfast_window) if cfg.grokfast else None)
        self.probes = make_probes(task, get_symmetries(task), cfg.violation_samples, cfg.metrics_seed)
        self._extra_masks = None
        if self.closures is not None:  # test accuracy inside vs outside what deduction already gives
            inside = torch.as_tensor(np.stack([c.in_closure for c in self.closures]), device=self.device)
            test = ~self.data.train_mask
            self._extra_masks = {"test_in_closure": test & inside, "test_outside_closure": test & ~inside}
        self.geometry = torch.as_tensor(np.asarray(task.geometry_tokens()), device=self.device)
        self.epoch = 0
        self.generalized: list[int | None] = [None] * len(self.seeds)
        self.active = [True] * len(self.seeds)

    def _augment(self, task, cfg: TrainConfig) -> list:
        """Each seed's split closed under the chosen symmetries, labels deduced, never looked up."""
        from symreg.symmetry import closure

        syms = get_symmetries(task)
        chosen = syms if "all" in cfg.augment else [get_symmetry(task, n) for n in cfg.augment]
        return [closure(task, rows, chosen, labels=task.labels[rows]) for rows in self.splits]

    # --- construction ----------------------------------------------------------------
    @classmethod
    def fresh(cls, task, cfg: TrainConfig, seeds: Sequence[int], out: str | Path | None = None,
              progress: Callable | None = None) -> "Trainer":
        cfg.validate()
        resolve_device(cfg.device)  # fail before anything is written
        make_aux_losses(task, list(cfg.aux), cfg.aux_samples)
        for name in cfg.augment:
            if name != "all":
                get_symmetry(task, name)
        root = Path(out) if out else default_out(task, seeds)
        single = len(seeds) == 1
        paths = [root] if single else [root / BatchDir.seed_name(s) for s in seeds]
        if not single:
            root.mkdir(parents=True, exist_ok=True)
            if any(root.iterdir()):
                raise UsageError(f"Batch directory {root} already exists and is not empty; "
                                 f"use --resume {root} or choose another --out.")
        runs = [RunDir.create(p).lock() for p in paths]
        trainer = cls(task, cfg, seeds, runs, progress)
        entry = task_entry(task)
        for run, seed, split in zip(runs, seeds, trainer.splits):
            run.write_config({
                "task": task.name, "params": task.params, "task_version": task.version,
                "plugin": entry.plugin, "plugin_version": entry.plugin_version,
                "symreg_version": __version__, "torch_version": torch.__version__,
                "seed": seed, "split_seed": seed, "train": asdict(cfg),
                "model_sizes": {**getattr(model_entries()[cfg.model].obj, "defaults", {}), **cfg.model_sizes},
                "batch": None if single else {"dir": str(root), "seeds": list(seeds)},
                "command": sys.argv, "created": dt.datetime.now().isoformat(timespec="seconds")})
            run.write_split(split)
            run.write_status(state="running", epoch=0)
        if not single:
            BatchDir.write(root, task.name, seeds, [p.name for p in paths])
        return trainer

    @classmethod
    def resume(cls, path: str | Path, progress: Callable | None = None,
               epochs: int | None = None) -> "Trainer":
        """Continue the run (or batch of runs) in ``path`` from its last checkpoint."""
        path = Path(path)
        paths = run_paths(path)
        if not paths:
            raise UsageError(f"{path} is not a run directory (no config.json or batch.json).")
        runs = [RunDir(p).lock() for p in paths]
        configs = [r.config for r in runs]
        cfg = TrainConfig(**configs[0]["train"])
        if epochs is not None:
            cfg.epochs = epochs
        task = get_task(configs[0]["task"], **configs[0]["params"])
        trainer = cls(task, cfg, [c["seed"] for c in configs], runs, progress)
        trainer._load([r.load_checkpoint("last") for r in runs])
        for run in runs:
            run.truncate_metrics(trainer.epoch - 1)
            run.write_status(state="running")
        return trainer

    # --- checkpoints -----------------------------------------------------------------
    def _state(self, s: int) -> tuple[dict, dict]:
        tensors = {}
        for name, p in self.model.named_parameters():
            tensors[f"model.{name}"] = p.detach()[s].cpu()
            st = self.opt.state.get(p, {})
            for key in ("exp_avg", "exp_avg_sq"):
                if key in st:
                    tensors[f"opt.{name}.{key}"] = st[key][s].cpu()
        tensors["rng"] = self.gens[s].get_state()
        if self.grokfast:
            tensors.update(self.grokfast.state(s))
        steps = [float(st["step"]) for st in self.opt.state.values() if "step" in st]
        meta = {"epoch": self.epoch, "step": steps[0] if steps else 0.0,
                "generalized_epoch": self.generalized[s], "active": self.active[s]}
        return tensors, meta

    def _load(self, states: list[tuple[dict, dict]]) -> None:
        epochs = {m["epoch"] for _, m in states}
        if len(epochs) != 1:
            raise UsageError(f"The seeds' last checkpoints are at different epochs {sorted(epochs)}.")
        with torch.no_grad():
            for name, p in self.model.named_parameters():
                p.copy_(torch.stack([t[f"model.{name}"] for t, _ in states]).to(self.device))
                if f"opt.{name}.exp_avg" in states[0][0]:
                    step_device = self.device if self._use_graph else "cpu"  # capturable wants it on the GPU
                    self.opt.state[p] = {
                        "step": torch.tensor(states[0][1]["step"], dtype=torch.float32, device=step_device),
                        **{k: torch.stack([t[f"opt.{name}.{k}"] for t, _ in states]).to(self.device)
                           for k in ("exp_avg", "exp_avg_sq")}}
        for g, (t, m) in zip(self.gens, states):
            g.set_state(t["rng"])
        if self.grokfast:
            self.grokfast.load([t for t, _ in states], self.device)
        self.epoch = epochs.pop()
        self.generalized = [m["generalized_epoch"] for _, m in states]
        self.active = [m["active"] for _, m in states]

    def save(self, epoch_file: bool) -> None:
        for s, run in enumerate(self.runs):
            if self.active[s]:
                run.save_checkpoint(*self._state(s), epoch=self.epoch if epoch_file else None)
                run.write_status(epoch=self.epoch, checkpoint=self.epoch)
        self._saved_at = time.monotonic()

    # --- the loop --------------------------------------------------------------------
    def _update(self, x: torch.Tensor, y: torch.Tensor, w: torch.Tensor | None = None) -> None:
        self.opt.zero_grad(set_to_none=True)
        if len(self._groups) == 1:
            loss = _data_loss(self.model(x), y, w)
        else:
            self._grouped_backward(x, y, w)
            loss = None
        for term in self.aux:
            t = self.cfg.aux_weight * term(self, self.epoch).sum()
            loss = t if loss is None else loss + t
        if loss is not None:
            loss.backward()
        if self.grokfast:
            self.grokfast()
        self.opt.step()

    def _grouped_backward(self, x: torch.Tensor, y: torch.Tensor, w: torch.Tensor | None) -> None:
        """The data-loss gradient, one group of seeds at a time.

        Each group runs on views of the stacked parameters, so its activations stay
        small enough for the CPU's caches; on 2 cores this is what makes a batch of
        20 seeds no slower per seed than one seed alone (benchmarks/epoch_speed.py).
        """
        params = dict(self.model.named_parameters())
        grads = {n: torch.empty_like(p) for n, p in params.items()}
        for g in self._groups:
            views = {n: p.detach()[g].requires_grad_() for n, p in params.items()}
            logits = torch.func.functional_call(self.model, views, (x[g],))
            loss = _data_loss(logits, y[g], None if w is None else w[g])
            for n, grad in zip(views, torch.autograd.grad(loss, list(views.values()), allow_unused=True)):
                if grad is None:
                    grads[n][g].zero_()
                else:
                    grads[n][g].copy_(grad)
        for n, p in params.items():
            p.grad = grads[n]

    def step(self) -> None:
        """One epoch: a full-batch update, or one pass of seeded mini-batches."""
        d, cfg = self.data, self.cfg
        if self._graph is not None:
            self._graph.replay()
        elif not cfg.batch_size:
            if self._use_graph:
                self._eager_steps += 1
                if self._eager_steps > CUDA_GRAPH_WARMUP_STEPS:  # warm up on a side stream, then capture once
                    self._capture()
                    self._graph.replay()
                    return
                side = torch.cuda.Stream()
                side.wait_stream(torch.cuda.current_stream())
                with torch.cuda.stream(side):
                    self._update(d.x_train, d.y_train, d.w_train)
                torch.cuda.current_stream().wait_stream(side)
            else:
                self._update(d.x_train, d.y_train, d.w_train)
        else:
            n = d.x_train.shape[1]
            order = torch.stack([torch.randperm(n, generator=g) for g in self.gens]).to(self.device)
            for idx in order.split(cfg.batch_size, dim=1):
                x = torch.gather(d.x_train, 1, idx.unsqueeze(-1).expand(-1, -1, d.x_train.shape[-1]))
                w = None if d.w_train is None else torch.gather(d.w_train, 1, idx)
                self._update(x, torch.gather(d.y_train, 1, idx), w)

    def _capture(self) -> None:
        """Record one full-batch update as a CUDA graph: each epoch is then a single replay."""
        try:
            graph = torch.cuda.CUDAGraph()
            self.opt.zero_grad(set_to_none=True)
            with torch.cuda.graph(graph):
                self._update(self.data.x_train, self.data.y_train, self.data.w_train)
            self._graph = graph
        except RuntimeError as err:  # fall back to eager steps, loudly
            warnings.warn(f"symreg: CUDA graph capture failed ({err}); continuing without it", RuntimeWarning)
            self._use_graph, self._graph = False, None
            self._update(self.data.x_train, self.data.y_train, self.data.w_train)

    def evaluate(self) -> list[dict]:
        rows = evaluate(self.model, self.task, self.data.x_all, self.data.y_all,
                        self.data.train_mask, self.probes, self.geometry, self._extra_masks)
        for row in rows:
            row["epoch"] = self.epoch
        return rows

    def run(self) -> list[dict]:
        cfg, schedule = self.cfg, set(checkpoint_schedule(self.cfg.epochs))
        self._saved_at, start = time.monotonic(), time.perf_counter()
        stop_at = [None] * len(self.seeds)
        # gradients go denormal once the loss is near 0, which costs 2-3x on a CPU
        flushing = self.device.type == "cpu" and torch.set_flush_denormal(True)
        try:
            while True:
                e = self.epoch
                if e % cfg.eval_every == 0 or e == cfg.epochs:
                    rows = self.evaluate()
                    for s, (run, row) in enumerate(zip(self.runs, rows)):
                        row["seconds"] = round(time.perf_counter() - start, 3)
                        if not self.active[s]:
                            continue
                        run.append_metrics([row])
                        if self.generalized[s] is None and reaches(row, cfg.generalize_acc):
                            self.generalized[s] = e
                    if self.progress:
                        self.progress(e, rows, self)
                done_now = [s for s in range(len(self.seeds)) if self.active[s] and (
                    e == cfg.epochs or (cfg.stop_on_generalize and self.generalized[s] is not None
                                        and e >= self.generalized[s] + cfg.stop_patience))]
                if e in schedule or done_now:
                    self.save(epoch_file=e in schedule or bool(done_now))
                elif time.monotonic() - self._saved_at > cfg.checkpoint_every_s:
                    self.save(epoch_file=False)
                for s in done_now:
                    self.active[s] = False
                    stop_at[s] = e
                    self.runs[s].write_status(state="done", epoch=e, generalized_epoch=self.generalized[s])
                if not any(self.active):
                    break
                self.step()
                self.epoch += 1
        except KeyboardInterrupt:
            self.save(epoch_file=False)
            for s, run in enumerate(self.runs):
                if self.active[s]:
                    run.write_status(state="interrupted", epoch=self.epoch)
            raise
        finally:
            if flushing:
                torch.set_flush_denormal(False)
            for run in self.runs:
                run.unlock()
        return [{"seed": seed, "run_dir": str(run.path), "epochs": stop_at[s],
                 "generalized_epoch": self.generalized[s], "seconds": round(time.perf_counter() - start, 2)}
                for s, (seed, run) in enumerate(zip(self.seeds, self.runs))]


def _data_loss(logits: torch.Tensor, y: torch.Tensor, w: torch.Tensor | None) -> torch.Tensor:
    """Sum over seeds of each seed's mean cross-entropy (weighted when ``w`` pads augmented sets).

    The loss is computed in float64: no softmax collapse late in training (Prieto et al.).
    """
    loss = F.cross_entropy(logits.double().flatten(0, 1), y.flatten(), reduction="none")
    loss = loss.view(logits.shape[0], -1)
    if w is None:
        return loss.mean(1).sum()  # each seed: the gradient of its own mean
    return ((loss * w).sum(1) / w.sum(1).clamp_min(1e-12)).sum()


def auto_seed_chunk(device: torch.device, train_rows: int) -> int:
    """Seeds per pass when ``seed_chunk`` is 0: all of them on a GPU; on a CPU, about 8192 rows.

    Measured on 2 cores with 20 seeds (benchmarks/results/epoch_speed-cpu.txt): one
    pass over all seeds of mod_add p=113 ran at 0.59x the per-seed speed of one seed
    alone, its activations far outgrowing the caches, and groups of 2 seeds (7,662
    rows) at 1.02x; on graph_cycle n=32 (819 rows) groups of 10 ran 1.14x.

    >>> auto_seed_chunk(torch.device("cpu"), 3831), auto_seed_chunk(torch.device("cpu"), 819)
    (2, 10)
    """
    return 0 if device.type != "cpu" else max(1, 8192 // max(1, train_rows))


def seed_groups(n_seeds: int, chunk: int) -> list[slice]:
    """Consecutive groups of at most ``chunk`` seeds (0 = one group of all).

    >>> seed_groups(5, 2)
    [slice(0, 2, None), slice(2, 4, None), slice(4, 5, None)]
    """
    chunk = chunk or n_seeds
    return [slice(i, min(n_seeds, i + chunk)) for i in range(0, n_seeds, chunk)]


def _fast_adamw(device: torch.device) -> dict:
    return {"fused": True} if device.type in ("cpu", "cuda") else {}


def default_out(task, seeds: Sequence[int]) -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    seed_part = f"s{seeds[0]}" if len(seeds) == 1 else f"s{seeds[0]}-{seeds[-1]}"
    base = Path("runs") / f"{task.name}-{stamp}-{seed_part}"
    path, i = base, 1
    while path.exists():
        i += 1
        path = base.with_name(f"{base.name}-{i}")
    return path
