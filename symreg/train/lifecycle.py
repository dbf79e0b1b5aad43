"""The life of a run directory: made only once everything is checked, taken back if training fails
before its first checkpoint, resumed from the newest checkpoint every seed has intact.

:class:`NewRuns` creates a fresh run or batch (one lock for the whole batch) and
can remove exactly what it created. :func:`plan_resume` reads a run without
writing anything and decides where each seed stands: training (from which
checkpoint), or stopped (reached its epoch cap, generalized, diverged); a seed
whose newest checkpoint is later than the others' is wound back to theirs, so a
batch killed while saving resumes where all of its seeds agree. A run killed
before its first checkpoint resumes from epoch 0. :func:`seed_state` and
:func:`load_states` convert between a trainer's tensors and checkpoints.
"""
from __future__ import annotations

import datetime as dt
import errno
import shutil
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

import torch

from symreg import __version__
from symreg.errors import UsageError
from symreg.registry import model_entries, task_entry
from symreg.runs import checkpoints as ckpt
from symreg.runs.locking import FileLock
from symreg.runs.rundir import CHECKPOINTS, LOCK, BatchDir, RunDir, RunWriteError, run_paths

STOPPED = ("epochs", "generalized", "diverged")  # why a seed stopped; only "epochs" ends with a new target


def write_error(err: OSError, epoch: int | None, root: Path | None) -> RunWriteError:
    """One line for a failed write: what, which file, and how to go on."""
    full = err.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))
    what = "disk full" if full else (err.strerror or type(err).__name__).lower()
    where = f" writing {err.filename}" if err.filename else ""
    at = f" at epoch {epoch}" if epoch is not None else ""
    then = f"; free space, then continue with: symreg train --resume {root}" if root and full else (
        f"; continue with: symreg train --resume {root}" if root else "")
    return RunWriteError(f"{what}{where}{at}{then}")


# --- a fresh run -------------------------------------------------------------------------
class NewRuns:
    """The directories of a fresh run (``[root]``) or batch (``root/seed-K``), made after every check."""

    def __init__(self, root: Path, seeds: list[int]) -> None:
        self.root, self.single = Path(root), len(seeds) == 1
        self.paths = [self.root] if self.single else [self.root / BatchDir.seed_name(s) for s in seeds]
        self.made: list[Path] = []  # directories this call made, root last (root removed whole, the rest if empty)
        self.before: set[str] = set()  # what root held before, when it existed
        self.lock: FileLock | None = None

    def check(self) -> None:
        """Refuse a root that is a file, or a directory holding anything but a stale lock file."""
        root = self.root
        if root.exists() and not root.is_dir():
            raise UsageError(f"{root} is a file, not a directory; choose another --out.")
        if root.is_dir() and any(p.name != LOCK for p in root.iterdir()):
            kind = "Run" if self.single else "Batch"
            raise UsageError(f"{kind} directory {root} already exists and is not empty; "
                             f"use --resume {root} or choose another --out.")

    def create(self) -> list[RunDir]:
        """Make the directories and take the lock; anything failing removes what was made."""
        missing, p = [], self.root
        while not p.exists() and p.parent != p:
            missing.insert(0, p)
            p = p.parent
        try:
            for p in missing:
                try:
                    p.mkdir()
                    self.made.append(p)
                except FileExistsError:  # another process made it just now: not ours to remove
                    pass
            self.before = {p.name for p in self.root.iterdir()}
            what = f"{'Run' if self.single else 'Batch'} directory {self.root}"
            self.lock = FileLock(self.root / LOCK, what).acquire()
            self.check()  # again, under the lock: another process may have filled it meanwhile
            for p in self.paths:
                (p / CHECKPOINTS).mkdir(parents=True, exist_ok=True)
        except BaseException as err:
            self.remove()
            if isinstance(err, OSError):
                raise write_error(err, None, None) from None
            raise
        return [RunDir(p).lock(self.lock) for p in self.paths]

    def remove(self) -> None:
        """Delete what :meth:`create` and the writes after it made; never what was there before.

        Only the lock holder deletes files; parents it made go only while empty.
        """
        if self.lock is not None and self.lock.fd is not None:
            if self.root in self.made:
                shutil.rmtree(self.root, ignore_errors=True)
            elif self.root.is_dir():
                for p in self.root.iterdir():
                    if p.name not in self.before:
                        shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
            self.lock.release()
        for p in reversed(self.made):
            try:
                if p.exists():
                    p.rmdir()
            except OSError:  # something else is in it now
                break


def run_config(task, cfg, seed: int, batch: tuple[Path, list[int]] | None) -> dict:
    """What a run's config.json holds: the task and its plugin, versions, torch threads, seed, settings, command.

    ``threads`` (torch's intra-op threads when the run was made) changes the
    speed, not the results beyond floating-point rounding, so it is recorded
    here, not in the settings; each checkpoint records the count of the
    process that wrote it (a resume may use another).
    """
    entry = task_entry(task)
    return {"task": task.name, "params": task.params, "task_version": task.version,
            "plugin": entry.plugin, "plugin_version": entry.plugin_version,
            "symreg_version": __version__, "torch_version": torch.__version__, "threads": torch.get_num_threads(),
            "seed": seed, "split_seed": seed, "train": asdict(cfg),
            "model_sizes": {**getattr(model_entries()[cfg.model].obj, "defaults", {}), **cfg.model_sizes},
            "batch": None if batch is None else {"dir": str(batch[0]), "seeds": batch[1]},
            "command": sys.argv, "created": dt.datetime.now().isoformat(timespec="seconds")}


def default_out(task, seeds: Sequence[int]) -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    seed_part = f"s{seeds[0]}" if len(seeds) == 1 else f"s{seeds[0]}-{seeds[-1]}"
    base = Path("runs") / f"{task.name}-{stamp}-{seed_part}"
    path, i = base, 1
    while path.exists():
        i += 1
        path = base.with_name(f"{base.name}-{i}")
    return path


# --- resuming ----------------------------------------------------------------------------
@dataclass
class SeedPlan:
    """Where one seed stands: the checkpoint it continues from (None: its initial state, epoch 0)."""

    run: RunDir
    path: Path | None
    meta: dict | None
    epoch: int
    stopped: str | None = None  # one of STOPPED, or None while it trains

    @property
    def active(self) -> bool:
        return self.stopped is None


@dataclass
class ResumePlan:
    seeds: list[SeedPlan]
    epoch: int  # where the training seeds continue; the furthest stop when none trains
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0  # wall-clock seconds the run had trained before
    target: int = 0  # the epoch it trains to: a new one given, else the one it was last trained to

    @property
    def finished(self) -> bool:
        return not any(s.active for s in self.seeds)


def config_of(config: dict):
    """The TrainConfig of a run's config.json (settings a later symreg added are left at their defaults)."""
    from symreg.train.config import TrainConfig

    known = set(TrainConfig.__dataclass_fields__)
    return TrainConfig(**{k: v for k, v in config["train"].items() if k in known})


def tell(line: str, warn=None) -> None:
    """Pass ``line`` to ``warn``, or raise it as a SymregWarning (one ``warning:`` line in the CLI)."""
    if warn is not None:
        warn(line)
    else:
        import warnings

        from symreg.errors import SymregWarning

        warnings.warn(line, SymregWarning, stacklevel=3)


def resume_lock(path: Path) -> FileLock:
    """The one lock a resume of ``path`` (a batch, or a run) takes."""
    return BatchDir(path).write_lock() if BatchDir.is_batch(path) else RunDir(path).write_lock()


def open_runs(path: Path) -> list[RunDir]:
    paths = run_paths(path)
    if not paths:
        raise UsageError(f"{path} is not a run directory (no config.json or batch.json).")
    return [RunDir(p) for p in paths]


def _seed(run: RunDir, path: Path | None, meta: dict | None, cfg, target: int) -> SeedPlan:
    """A seed's standing from its checkpoint and (for runs written before checkpoints said) its status."""
    if path is None:
        return SeedPlan(run, None, None, 0)
    status, e = run.status, meta["epoch"]
    stopped = meta.get("stopped")
    if "stopped" not in meta and status.get("state") == "done" and status.get("epoch") == e:
        gen = meta.get("generalized_epoch")
        stopped = "generalized" if (cfg.stop_on_generalize and gen is not None
                                    and e >= gen + cfg.stop_patience) else "epochs"
    if status.get("state") == "diverged":
        return SeedPlan(run, path, meta, int(status.get("epoch", e)), "diverged")
    if stopped == "epochs" and target > e:
        stopped = None  # a new, later target: it trains on
    return SeedPlan(run, path, meta, e, stopped if stopped in STOPPED else None)


def _newest(run: RunDir, notes: list[str], at_most: int | None = None) -> tuple[Path | None, dict | None]:
    """The newest intact checkpoint (at or before ``at_most``); None: start from the initial state.

    A run with no checkpoint file at all stopped before its first, and starts
    again; one whose every checkpoint is damaged is an error (at epoch 0 the
    initial state is that checkpoint, so nothing is lost).
    """
    path, meta, warnings = run.find_checkpoint(at_most)
    if path is None and warnings and at_most != 0:
        raise ckpt.no_intact(run.path, warnings)
    notes += warnings
    return path, meta


def plan_resume(runs: list[RunDir], cfg, epochs: int | None, root: Path) -> ResumePlan:
    """Where each seed of ``runs`` continues from, reading only: nothing is written or locked.

    ``epochs`` is a new target (None: the one it was last trained to, which an
    earlier resume may have raised above config.json's). A target at or below
    the epoch the run has reached is a UsageError.
    """
    notes: list[str] = []
    for run in runs:
        run.metrics()  # a damaged metrics file is an error now, before anything is written
    newest = [(run, *_newest(run, notes)) for run in runs]
    latest = max((meta for _, _, meta in newest if meta), key=lambda m: m["epoch"], default={})
    target = epochs if epochs is not None else int(latest.get("target", cfg.epochs))
    seeds = [_seed(run, path, meta, cfg, target) for run, path, meta in newest]
    while any(s.active for s in seeds):  # wind seeds ahead of the others back to a common epoch
        e = min(s.epoch for s in seeds if s.active)
        ahead = [i for i, s in enumerate(seeds) if s.epoch > e and s.stopped != "diverged"]
        if not ahead:
            break
        for i in ahead:
            path, meta = _newest(seeds[i].run, notes, at_most=e)
            seeds[i] = _seed(seeds[i].run, path, meta, cfg, target)
    active = [s for s in seeds if s.active]
    reached = min(s.epoch for s in active) if active else max(s.epoch for s in seeds)
    if epochs is not None and epochs <= reached:
        raise UsageError(f"{root} is already at epoch {reached}; give --epochs above {reached}.")
    seconds = max((float(s.meta.get("seconds") or 0.0) for s in seeds if s.meta and s.meta["epoch"] <= reached),
                  default=0.0)
    if not seconds and reached:  # checkpoints from before they kept the time: the metrics have it
        rows = [r for s in seeds for r in s.run.metrics()[0] if r["epoch"] <= reached]
        seconds = max((float(r.get("seconds") or 0.0) for r in rows), default=0.0)
    if active and reached == 0 and not any(s.path for s in active):
        notes.append(f"{root} has no checkpoint yet (it stopped before its first); training it from epoch 0")
    return ResumePlan(seeds, reached, notes, seconds, target)


def start_resumed(plan: ResumePlan) -> None:
    """Under the lock: drop metrics past the resume epoch and leftovers of cut-short writes; mark them running."""
    for s in plan.seeds:
        s.run.remove_temporary()
        if s.active:
            s.run.truncate_metrics(plan.epoch - 1)
            s.run.write_status(state="running", epoch=plan.epoch, drop=("error",))


# --- tensors <-> checkpoints ---------------------------------------------------------------
def seed_state(trainer, s: int, seconds: float) -> tuple[dict, dict]:
    """Seed ``s``'s model, optimizer, mini-batch order and filter state, and its checkpoint meta."""
    tensors = {}
    for name, p in trainer.model.named_parameters():
        tensors[f"model.{name}"] = p.detach()[s].cpu()
        st = trainer.opt.state.get(p, {})
        for key in ("exp_avg", "exp_avg_sq"):
            if key in st:
                tensors[f"opt.{name}.{key}"] = st[key][s].cpu()
    tensors["rng"] = trainer.gens[s].get_state()
    if trainer.grokfast:
        tensors.update(trainer.grokfast.state(s))
    steps = [float(st["step"]) for st in trainer.opt.state.values() if "step" in st]
    meta = {"epoch": trainer.epoch, "step": steps[0] if steps else 0.0,
            "generalized_epoch": trainer.generalized[s], "active": trainer.active[s],
            "stopped": trainer.stopped[s], "seconds": round(seconds, 3), "target": trainer.cfg.epochs,
            "threads": torch.get_num_threads()}
    return tensors, meta


def load_states(trainer, plan: ResumePlan) -> None:
    """Put each seed where ``plan`` says: its checkpoint's tensors, or (none) its initial state."""
    states = []
    for s, sp in enumerate(plan.seeds):
        if sp.path is None:
            states.append(seed_state(trainer, s, 0.0))  # the initial state is epoch 0's
        else:
            try:
                states.append((ckpt.read_tensors(sp.path), sp.meta))
            except ckpt.Damaged as err:
                raise UsageError(f"{err}.") from None
    template = {k: v for t, _ in states for k, v in t.items()}
    for t, _ in states:  # a seed stopped before the others has no optimizer state yet: zeros
        t.update({k: torch.zeros_like(v) for k, v in template.items() if k not in t})
    keys = set(template)
    step = next((m["step"] for sp, (_, m) in zip(plan.seeds, states) if sp.active), states[0][1]["step"])
    with torch.no_grad():
        for name, p in trainer.model.named_parameters():
            p.copy_(torch.stack([t[f"model.{name}"] for t, _ in states]).to(trainer.device))
            if f"opt.{name}.exp_avg" in keys:
                step_device = trainer.device if trainer._use_graph else "cpu"  # capturable wants it on the GPU
                trainer.opt.state[p] = {
                    "step": torch.tensor(step, dtype=torch.float32, device=step_device),
                    **{k: torch.stack([t[f"opt.{name}.{k}"] for t, _ in states]).to(trainer.device)
                       for k in ("exp_avg", "exp_avg_sq")}}
    for g, (t, _) in zip(trainer.gens, states):
        g.set_state(t["rng"])
    if trainer.grokfast:
        trainer.grokfast.load([t for t, _ in states], trainer.device)
    trainer.generalized = [m.get("generalized_epoch") for _, m in states]
    take_standing(trainer, plan)


def take_standing(trainer, plan: ResumePlan) -> None:
    """The epoch, and which seeds train or stopped (when, why), as ``plan`` found them."""
    trainer.epoch, trainer.elapsed = plan.epoch, plan.seconds
    trainer.stopped = [sp.stopped for sp in plan.seeds]
    trainer.active = [sp.active for sp in plan.seeds]
    trainer.stop_epoch = [None if sp.active else sp.epoch for sp in plan.seeds]
    trainer.generalized = [g if g is not None else (sp.meta or {}).get("generalized_epoch")
                           for g, sp in zip(trainer.generalized, plan.seeds)]
