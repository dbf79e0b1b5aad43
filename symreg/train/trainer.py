"""Train S seeds of one configuration as one batched model, full batch, with AdamW.

The simplest interface::

    cfg = TrainConfig.from_preset(task.quick, epochs=2000)
    summaries = Trainer.fresh(task, cfg, seeds=[0], out="runs/x").run()

Evaluation happens at epoch 0 and every ``eval_every`` epochs ("epoch e" is
the state after e updates). Seed k of a batch follows exactly the trajectory a
single run with seed k follows: parameters, split and optimizer state are per
seed, and the summed loss gives each seed the gradient of its own mean loss.

A seed stops at the epoch cap, once generalized (``stop_on_generalize``), or
when its train loss or weights stop being finite (status ``diverged``); the
others go on. A failed write (disk full) marks the runs ``failed`` and raises a
one-line :class:`~symreg.runs.rundir.RunWriteError`; a failure before the first
checkpoint removes the fresh run directory again (:mod:`symreg.train.lifecycle`).
"""
from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from symreg.errors import UsageError
from symreg.limits import check_training
from symreg.registry import build_model, get_symmetry, get_task
from symreg.runs.criterion import reaches
from symreg.runs.rundir import BatchDir, RunDir, checkpoint_schedule
from symreg.train import lifecycle
from symreg.train.auxiliary import GrokFast, make_aux_losses
from symreg.train.config import TrainConfig, resolve_device
from symreg.train.data import make_data, split_rows
from symreg.train.hardware import auto_seed_chunk, fast_adamw, seed_groups, tune_cpu  # noqa: F401
from symreg.train.metrics import evaluate, make_probes, non_finite
from symreg.train.precision import autocast, check_precision, set_matmul_precision
from symreg.train.progress_measures import ProgressMeasures
from symreg.train.workers import GroupPool, seed_workers
from symreg.trust import trusted_symmetries

# eager steps before a CUDA graph is captured: the allocator and cuBLAS settle on a side stream
CUDA_GRAPH_WARMUP_STEPS = 3


class Trainer:
    """Owns the model, optimizer, data and run directories of one batch of seeds."""

    def __init__(self, task, cfg: TrainConfig, seeds: Sequence[int], runs: list[RunDir],
                 progress: Callable | None = None) -> None:
        self.task, self.cfg, self.seeds, self.runs = task, cfg.validate(), list(seeds), runs
        self.progress = progress
        self.device = resolve_device(cfg.device)
        check_precision(cfg.precision, cfg.force_precision, self.device)
        set_matmul_precision(cfg.precision)
        if self.device.type == "cpu":
            tune_cpu()
        self.splits = [split_rows(len(task), cfg.train_frac, s) for s in self.seeds]
        self.closures = self._augment(task, cfg) if cfg.augment else None
        self.data = make_data(task, self.splits, self.device,
                              None if self.closures is None else [(c.rows, c.labels) for c in self.closures])
        self.model = build_model(task, cfg.model, self.seeds, cfg.model_sizes).to(self.device)
        # CUDA graphs remove the per-kernel launch cost that dominates small models on a GPU
        self._use_graph = (self.device.type == "cuda" and cfg.cuda_graph and not cfg.batch_size
                           and not cfg.aux and cfg.grokfast != "ma")  # those draw on the host each epoch
        self._graph, self._eager_steps = None, 0
        # a model opts out of seed groups (e.g. buffers with a seed axis) with `seed_groups = False`
        chunk = cfg.seed_chunk or auto_seed_chunk(self.device, self.data.x_train.shape[1])
        self._groups = seed_groups(len(self.seeds), chunk if getattr(self.model, "seed_groups", True) else 0)
        self._pool = GroupPool(self.model, seed_workers(cfg.seed_workers, self.device, len(self._groups),
                                                        torch.get_num_threads()))
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2),
                                     weight_decay=cfg.weight_decay, **fast_adamw(self.device),
                                     **({"capturable": True} if self._use_graph else {}))
        self.gens = [torch.Generator().manual_seed(s) for s in self.seeds]  # mini-batch order
        self.aux = make_aux_losses(task, list(cfg.aux), cfg.aux_samples)
        self.grokfast = (GrokFast(self.model.parameters(), cfg.grokfast, cfg.grokfast_alpha,
                                  cfg.grokfast_lamb, cfg.grokfast_window) if cfg.grokfast else None)
        self.probes = make_probes(task, trusted_symmetries(task), cfg.violation_samples, cfg.metrics_seed)
        self.reps = ProgressMeasures(task, cfg.reps, self.model)  # decomposed once (symreg.train.progress_measures)
        self._extra_masks = None
        if self.closures is not None:  # test accuracy inside vs outside what deduction already gives
            inside = torch.as_tensor(np.stack([c.in_closure for c in self.closures]), device=self.device)
            test = ~self.data.train_mask
            self._extra_masks = {"test_in_closure": test & inside, "test_outside_closure": test & ~inside}
        self.geometry = torch.as_tensor(np.asarray(task.geometry_tokens()), device=self.device)
        self.epoch, self.elapsed = 0, 0.0  # elapsed: wall-clock seconds trained before this process
        self.generalized: list[int | None] = [None] * len(self.seeds)
        self.active = [True] * len(self.seeds)
        self.stopped: list[str | None] = [None] * len(self.seeds)  # why each seed stopped (lifecycle.STOPPED)
        self.stop_epoch: list[int | None] = [None] * len(self.seeds)
        self.plan: lifecycle.ResumePlan | None = None  # what a resume found
        self._new: lifecycle.NewRuns | None = None  # a fresh run's directories, until its first checkpoint

    def _augment(self, task, cfg: TrainConfig) -> list:
        """Each seed's split closed under the chosen symmetries, labels deduced, never looked up."""
        from symreg.symmetry import closure

        if "all" in cfg.augment:  # only those that verify: a false symmetry would deduce wrong labels
            chosen = trusted_symmetries(task)
        else:
            chosen = trusted_symmetries(task, [get_symmetry(task, n) for n in cfg.augment], explicit=cfg.augment)
        return [closure(task, rows, chosen, labels=task.labels[rows]) for rows in self.splits]

    # --- construction ----------------------------------------------------------------
    @classmethod
    def fresh(cls, task, cfg: TrainConfig, seeds: Sequence[int], out: str | Path | None = None,
              progress: Callable | None = None) -> "Trainer":
        cfg.validate(task)
        check_training(task, cfg, len(seeds))  # seeds and memory (symreg.limits), before anything is built
        check_precision(cfg.precision, cfg.force_precision, resolve_device(cfg.device))  # fail before anything is written (names: validate)
        new = lifecycle.NewRuns(Path(out) if out else lifecycle.default_out(task, seeds), list(seeds))
        new.check()
        trainer = cls(task, cfg, seeds, [RunDir(p) for p in new.paths], progress)  # model and data first
        trainer.runs, trainer._new = new.create(), new
        try:
            for run, seed, split in zip(trainer.runs, seeds, trainer.splits):
                run.write_config(lifecycle.run_config(task, cfg, seed, None if new.single else (new.root, list(seeds))))
                run.write_split(split)
                run.write_status(state="running", epoch=0)
            if not new.single:
                BatchDir.write(new.root, task.name, seeds, [p.name for p in new.paths])
        except BaseException as err:
            new.remove()
            raise lifecycle.write_error(err, None, None) if isinstance(err, OSError) else err
        return trainer

    @classmethod
    def resume(cls, path: str | Path, progress: Callable | None = None, epochs: int | None = None,
               warn: Callable[[str], None] | None = None) -> "Trainer":
        """Continue the run (or batch) in ``path`` from its newest intact checkpoint (:mod:`lifecycle`).

        ``epochs``, a new target, must be above the epoch reached (else UsageError).
        A run with nothing left to train (``finished``) is neither locked nor
        written, and :meth:`run` returns at once. ``warn`` gets a line for each
        damaged checkpoint skipped (default: a SymregWarning).
        """
        path = Path(path)
        runs, lock = lifecycle.open_runs(path), lifecycle.resume_lock(path)
        if holder := lock.holder():
            raise UsageError(f"{lock.what} is being written by {holder}.")
        configs = [r.config for r in runs]
        cfg = lifecycle.config_of(configs[0])
        plan = lifecycle.plan_resume(runs, cfg, epochs, path)  # reads only; refuses a target reached
        cfg.epochs = plan.target
        task = get_task(configs[0]["task"], **configs[0]["params"])
        trainer = cls(task, cfg, [c["seed"] for c in configs], runs, progress)
        lifecycle.take_standing(trainer, plan)
        if not plan.finished:
            lock.acquire()
            trainer.runs = [r.lock(lock) for r in runs]
            try:  # plan again, now that nobody else can write
                plan = lifecycle.plan_resume(runs, cfg, epochs, path)
                lifecycle.load_states(trainer, plan)
                lifecycle.start_resumed(plan)
            except BaseException as err:
                lock.release()
                raise lifecycle.write_error(err, plan.epoch, path) if isinstance(err, OSError) else err
        trainer.plan = plan
        for line in plan.warnings:
            lifecycle.tell(line, warn)
        return trainer

    @property
    def finished(self) -> bool:
        """Whether every seed has stopped (a resumed run with nothing left to train)."""
        return not any(self.active)

    # --- checkpoints -----------------------------------------------------------------
    def save(self, epoch_file: bool, seeds: Sequence[int] | None = None) -> None:
        """Checkpoint ``seeds`` (default: all); a seed whose weights are no longer finite diverged instead."""
        with torch.no_grad():
            finite = torch.stack([p.detach().flatten(1).isfinite().all(1) for p in self.model.parameters()])
        finite = finite.all(0).tolist()
        for s in range(len(self.seeds)) if seeds is None else seeds:
            if not finite[s]:  # no checkpoint ever holds NaN or infinite weights
                self._diverge(s, "weights are not finite")
                continue
            self.runs[s].save_checkpoint(*lifecycle.seed_state(self, s, self.seconds()),
                                         epoch=self.epoch if epoch_file else None)
            self.runs[s].write_status(epoch=self.epoch, checkpoint=self.epoch)
        self._saved_at, self._new = time.monotonic(), None  # checkpointed: a failure now keeps the run

    def seconds(self) -> float:
        """Wall-clock seconds this run has trained, over every process that trained it."""
        return round(self.elapsed + time.perf_counter() - getattr(self, "_start", time.perf_counter()), 3)

    # --- the loop --------------------------------------------------------------------
    def _update(self, x: torch.Tensor, y: torch.Tensor, w: torch.Tensor | None = None) -> None:
        with autocast(self.cfg.precision, self.device.type):
            self._backward(x, y, w)
        if self.grokfast:
            self.grokfast()
        self.opt.step()

    def _backward(self, x: torch.Tensor, y: torch.Tensor, w: torch.Tensor | None) -> None:
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

    def _grouped_backward(self, x: torch.Tensor, y: torch.Tensor, w: torch.Tensor | None) -> None:
        """The data-loss gradient, one group of seeds at a time.

        Each group runs on views of the stacked parameters, so its activations stay
        small enough for the CPU's caches; on 2 cores this is what makes a batch of
        20 seeds no slower per seed than one seed alone (benchmarks/epoch_speed.py).
        """
        params = dict(self.model.named_parameters())
        grads = {n: torch.empty_like(p) for n, p in params.items()}
        precision, device_type = self.cfg.precision, self.device.type

        def one(model, g) -> None:
            views = {n: p.detach()[g].requires_grad_() for n, p in params.items()}
            with autocast(precision, device_type):  # thread-local: each worker enters it itself
                logits = torch.func.functional_call(model, views, (x[g],))
                loss = _data_loss(logits, y[g], None if w is None else w[g])
            for n, grad in zip(views, torch.autograd.grad(loss, list(views.values()), allow_unused=True)):
                grads[n][g].zero_() if grad is None else grads[n][g].copy_(grad)

        self._pool.map(one, self._groups)  # in parallel on a CPU with several threads (symreg.train.workers)
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
        with autocast(self.cfg.precision, self.device.type):  # the model as it trains; metrics in float64
            rows = evaluate(self.model, self.task, self.data.x_all, self.data.y_all,
                            self.data.train_mask, self.probes, self.geometry, self._extra_masks, self.reps)
        for row in rows:
            row["epoch"] = self.epoch
        return rows

    def run(self) -> list[dict]:
        """Train until every seed has stopped; one summary per seed. A finished run returns at once."""
        if self.finished:
            return self.summary()
        cfg, schedule = self.cfg, set(checkpoint_schedule(self.cfg.epochs))
        self._saved_at, self._start = time.monotonic(), time.perf_counter()
        # gradients go denormal once the loss is near 0, which costs 2-3x on a CPU
        flushing = self.device.type == "cpu" and torch.set_flush_denormal(True)
        try:
            self.reps.write(self.runs)  # RUN/reps.json: what the components are, for diagnose and plot
            while True:
                e = self.epoch
                if e % cfg.eval_every == 0 or e >= cfg.epochs:
                    self._record(self.evaluate())
                solved = [cfg.stop_on_generalize and g is not None and e >= g + cfg.stop_patience
                          for g in self.generalized]
                done_now = [s for s in range(len(self.seeds)) if self.active[s] and (e >= cfg.epochs or solved[s])]
                for s in done_now:  # their checkpoints say they stopped, and why
                    self.active[s], self.stop_epoch[s] = False, e
                    self.stopped[s] = "generalized" if solved[s] else "epochs"
                saving = [s for s in range(len(self.seeds)) if self.active[s] or s in done_now]
                if e in schedule or done_now:
                    self.save(epoch_file=True, seeds=saving)
                elif time.monotonic() - self._saved_at > cfg.checkpoint_every_s:
                    self.save(epoch_file=False, seeds=saving)
                for s in (s for s in done_now if self.stopped[s] != "diverged"):
                    self.runs[s].write_status(state="done", epoch=e, generalized_epoch=self.generalized[s])
                if not any(self.active):
                    break
                self.step()
                self.epoch += 1
                if hasattr(self.progress, "tick"):  # a per-epoch hook, e.g. the CLI's time-throttled progress line
                    self.progress.tick(self)
        except KeyboardInterrupt:
            try:
                self.save(epoch_file=False, seeds=[s for s in range(len(self.seeds)) if self.active[s]])
            except OSError as err:
                raise self._failed(err) from None
            self._mark(state="interrupted", epoch=self.epoch)
            raise
        except OSError as err:  # a write failed: disk full, a read-only or vanished directory
            raise self._failed(err) from None
        except Exception as err:
            self._mark(state="failed", epoch=self.epoch, error=f"{type(err).__name__}: {err}")
            raise
        finally:
            if flushing:
                torch.set_flush_denormal(False)
            if self._new is not None:  # it failed before its first checkpoint: take the run back
                self._new.remove()
            for run in self.runs:
                run.unlock()
        return self.summary()

    def _record(self, rows: list[dict]) -> None:
        """Append each training seed's metrics row; stop the seeds whose loss or weights are no longer finite."""
        e = self.epoch
        for s, (run, row) in enumerate(zip(self.runs, rows)):
            row["seconds"] = self.seconds()
            if not self.active[s]:
                continue
            run.append_metrics([row])
            if (why := non_finite(row)) is not None:
                self._diverge(s, why)
            elif self.generalized[s] is None and reaches(row, self.cfg.generalize_acc):
                self.generalized[s] = e
        if self.progress:
            self.progress(e, rows, self)

    def _diverge(self, s: int, why: str) -> None:
        """Seed ``s`` stops for good: its status says it diverged, when and why."""
        self.active[s], self.stopped[s], self.stop_epoch[s] = False, "diverged", self.epoch
        self.runs[s].write_status(state="diverged", epoch=self.epoch, error=f"{why} at epoch {self.epoch}",
                                  generalized_epoch=self.generalized[s])

    def _failed(self, err: OSError) -> Exception:
        error = lifecycle.write_error(err, self.epoch, self.root)
        self._mark(state="failed", epoch=self.epoch, error=str(error))
        return error

    def _mark(self, **status) -> None:
        """Record how training ended in the status of each seed still training, if it can be written."""
        for run in self.runs if self._new is None else ():
            try:
                if run.status.get("state") not in ("done", "diverged"):  # a seed stopping now did not get there
                    run.write_status(**status)
            except OSError:
                pass

    @property
    def root(self) -> Path:
        """The run, or the batch, that ``symreg train --resume`` continues."""
        return self.runs[0].path.parent if len(self.runs) > 1 else self.runs[0].path

    def summary(self) -> list[dict]:
        """Per seed: where it stopped (``epochs``), why (``stopped``), when it generalized, seconds trained."""
        out = []
        for s, (seed, run) in enumerate(zip(self.seeds, self.runs)):
            status = run.status if self.stopped[s] == "diverged" else {}
            out.append({"seed": seed, "run_dir": str(run.path), "stopped": self.stopped[s],
                        "epochs": self.stop_epoch[s],
                        "generalized_epoch": self.generalized[s], "seconds": self.seconds(),
                        **({"diverged": status.get("error")} if status else {})})
        return out


def _data_loss(logits: torch.Tensor, y: torch.Tensor, w: torch.Tensor | None) -> torch.Tensor:
    """Sum over seeds of each seed's mean cross-entropy (weighted when ``w`` pads augmented sets).

    The loss is computed in float64: no softmax collapse late in training (Prieto et al.).
    """
    loss = F.cross_entropy(logits.double().flatten(0, 1), y.flatten(), reduction="none")
    loss = loss.view(logits.shape[0], -1)
    if w is None:
        return loss.mean(1).sum()  # each seed: the gradient of its own mean
    return ((loss * w).sum(1) / w.sum(1).clamp_min(1e-12)).sum()

