"""The training configuration: every setting of a run, written to its config.json.

Each setting's rule is stated here once. :meth:`TrainConfig.set` turns what a
user typed (``--set key=value``, a keyword of :func:`symreg.train.train`) into
the field's type without judging it; :meth:`TrainConfig.validate` judges every
field, and with the task also what depends on it (split sizes, symmetry names).
Numeric ranges are :data:`RANGES`; every float must be finite and every integer
an integer (``1.5`` is refused, never truncated).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, fields

from symreg.errors import UsageError, unknown
from symreg.registry import get_symmetries, model_entries
from symreg.runs.criterion import GENERALIZE_ACC
from symreg.train.precision import PRECISIONS
from symreg.train.progress_measures import check_reps
from symreg.util.parsing import MAX_SEED, literal

# geometry priors of the auxiliary losses (symreg/train/auxiliary.py): "geom:NAME"
GEOMETRY = ("nuclear", "entropy", "lipschitz")
# The smallest split worth training: below 1% of the domain no task here generalizes (the
# grokking literature trains on 20-90%; 0.003 for "0.3%" or for "0.3" is the typo this stops),
# and a split needs 2 training rows (one row is memorized by a constant output) and 1 test
# row (test accuracy, what every diagnosis measures, is undefined without one).
MIN_TRAIN_FRAC = 0.01
MIN_TRAIN_ROWS = 2
MIN_TEST_ROWS = 1
INT_MAX = 2**63 - 1  # what torch and numpy take as an integer
# instances per symmetry (metrics and aux losses): past a million the sampling error (~1e-3)
# is far below anything measured, while each one costs a forward pass per seed
MAX_SAMPLES = 1_000_000
# GrokFast's MA filter keeps `window` copies of every gradient (Lee et al. use 100): 1000 are ~1 GB per seed
MAX_GROKFAST_WINDOW = 1000
DEVICES = "auto, cpu, cuda, cuda:N, mps"
_DEVICE = re.compile(r"auto|cpu|mps|cuda(:[0-9]+)?")
GROKFAST = ("", "ema", "ma")


@dataclass(frozen=True)
class Range:
    """A numeric setting's valid values, from ``lo`` to ``hi``, each end open or closed.

    >>> str(Range(0, lo_open=True)), str(Range(0.01, 1, hi_open=True)), str(Range(1, INT_MAX, integer=True))
    ('> 0', 'in [0.01, 1)', '>= 1 (and < 2**63)')
    """

    lo: float
    hi: float = math.inf
    lo_open: bool = False
    hi_open: bool = False
    integer: bool = False
    note: str = ""  # what a special value means, e.g. "0 = full batch"

    def __contains__(self, v) -> bool:
        return (self.lo < v if self.lo_open else self.lo <= v) and (v < self.hi if self.hi_open else v <= self.hi)

    def __str__(self) -> str:
        if self.hi == math.inf:
            text = f"{'>' if self.lo_open else '>='} {self.lo:g}"
        elif self.integer and self.hi == INT_MAX:
            text = f">= {self.lo} (and < 2**63)"
        elif self.integer:
            text = f"in {self.lo}..{self.hi}"
        else:
            text = f"in {'(' if self.lo_open else '['}{self.lo:g}, {self.hi:g}{')' if self.hi_open else ']'}"
        return text + (f" ({self.note})" if self.note else "")


def _ints(lo: int, hi: int = INT_MAX, note: str = "") -> Range:
    return Range(lo, hi, integer=True, note=note)


def _unit(lo_open=False, hi_open=True) -> Range:
    return Range(0, 1, lo_open=lo_open, hi_open=hi_open)


# Every numeric setting of TrainConfig and its range; whether it is an int or a float is its default's type.
RANGES = {
    "train_frac": Range(MIN_TRAIN_FRAC, 1, hi_open=True),
    "lr": Range(0, lo_open=True),
    "weight_decay": Range(0),
    "beta1": _unit(), "beta2": _unit(),
    "batch_size": _ints(0, note="0 = full batch"),
    "epochs": _ints(1),
    "eval_every": _ints(1),
    "violation_samples": _ints(1, MAX_SAMPLES),
    "metrics_seed": _ints(0, MAX_SEED),
    "generalize_acc": _unit(lo_open=True, hi_open=False),
    "stop_patience": _ints(0),
    "checkpoint_every_s": Range(0),
    "seed_chunk": _ints(0, note="0 = auto"),
    "seed_workers": _ints(0, 64, note="0 = auto"),
    "aux_weight": Range(0),
    "aux_samples": _ints(1, MAX_SAMPLES),
    "grokfast_alpha": _unit(),
    "grokfast_lamb": Range(0),
    "grokfast_window": _ints(1, MAX_GROKFAST_WINDOW),
}


@dataclass
class TrainConfig:
    """Every setting of a training run; a run's config.json holds them under ``train``."""

    # data
    train_frac: float = 0.3
    # model
    model: str = "transformer"
    model_sizes: dict = field(default_factory=dict)  # e.g. {"d_model": 64}
    # optimizer: AdamW; the paper gives no lr, 1e-3 is the community default (Nanda et al.)
    lr: float = 1e-3
    weight_decay: float = 1.0
    beta1: float = 0.9
    beta2: float = 0.98
    batch_size: int = 0  # 0 = full batch, the paper's protocol
    epochs: int = 5000
    # evaluation and stopping
    eval_every: int = 50
    violation_samples: int = 128  # instances per symmetry, fixed by metrics_seed
    metrics_seed: int = 0
    generalize_acc: float = GENERALIZE_ACC  # held-out test accuracy that counts as generalized
    stop_on_generalize: bool = False
    stop_patience: int = 0  # epochs to keep training after generalizing, when stopping
    checkpoint_every_s: float = 60.0  # also save `last` this often, for --resume
    device: str = "auto"
    cuda_graph: bool = True  # on CUDA, full batch: replay each epoch as one captured graph
    seed_chunk: int = 0  # seeds per forward/backward pass; 0 = auto (all on a GPU, cache-sized on a CPU)
    seed_workers: int = 0  # CPU: seed groups run at once, one thread each; 0 = auto (one per torch thread)
    precision: str = "fp32"  # matmuls: fp32, bf16 (autocast; fp32 weights, float64 loss) or tf32 (CUDA)
    force_precision: bool = False  # use bf16/tf32 even where the device has no fast path for it
    # acceleration (symreg/train/auxiliary.py)
    aux: list = field(default_factory=list)  # "sym:NAME" / "geom:nuclear|entropy|lipschitz"
    aux_weight: float = 1.0  # lambda; the paper's 1.0
    aux_samples: int = 64  # instances per symmetry loss per epoch
    grokfast: str = ""  # "", "ema" or "ma" (Lee et al. 2024)
    grokfast_alpha: float = 0.98
    grokfast_lamb: float = 2.0
    grokfast_window: int = 100
    augment: list = field(default_factory=list)  # symmetry names (or "all") closing the train split
    reps: list = field(default_factory=lambda: ["auto"])  # group actions measured (symreg.train.progress_measures)

    @classmethod
    def from_preset(cls, preset, **overrides) -> "TrainConfig":
        base = {"train_frac": preset.train_frac, "weight_decay": preset.weight_decay,
                "epochs": preset.epochs, "model": preset.model, **preset.extra}
        return cls(**{**base, **{k: v for k, v in overrides.items() if v is not None}})

    @classmethod
    def from_setup(cls, setup) -> "TrainConfig":
        """The preset's configuration with a :class:`symreg.presets.Setup`'s settings set by name, validated
        (against the task too).

        >>> from symreg.presets import resolve
        >>> cfg = TrainConfig.from_setup(resolve("mod_add", preset="quick", settings={"epochs": 10}))
        >>> cfg.epochs, cfg.train_frac
        (10, 0.5)
        """
        cfg = cls.from_preset(setup.defaults)
        for key, value in setup.settings.items():
            cfg.set(key, value)
        return cfg.validate(setup.task)

    def validate(self, task=None) -> "TrainConfig":
        """Check every setting; with ``task``, also the split sizes and the symmetry names it takes.

        >>> TrainConfig(lr=float("inf")).validate()
        Traceback (most recent call last):
        ...
        symreg.errors.UsageError: lr = inf must be a finite number > 0.
        """
        for name, rule in RANGES.items():
            check_number(name, getattr(self, name), rule, integer=isinstance(_DEFAULTS[name], int))
        if self.precision not in PRECISIONS:
            raise UsageError(f"precision = {self.precision!r} is not one of {', '.join(PRECISIONS)}.")
        for name in ("stop_on_generalize", "cuda_graph", "force_precision"):
            if not isinstance(getattr(self, name), bool):
                raise UsageError(f"{name} = {getattr(self, name)!r} must be True or False.")
        if not isinstance(self.device, str) or not _DEVICE.fullmatch(self.device):
            raise UsageError(f"device = {self.device!r} is not one of {DEVICES} (N a GPU index).")
        if self.grokfast not in GROKFAST:
            raise UsageError(f"grokfast = {self.grokfast!r} is not one of ema, ma (or empty for none).")
        if not isinstance(self.model, str) or self.model not in model_entries():
            raise unknown("model", str(self.model), model_entries())
        check_model_sizes(self.model, self.model_sizes)
        for name in ("aux", "augment", "reps"):
            value = getattr(self, name)
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                raise UsageError(f"{name} = {value!r} must be a list of names, e.g. ['sym:commutativity'].")
        if task is not None:
            check_train_frac(self.train_frac, len(task))
            valid = aux_methods(task)
            for method in self.aux:
                if method not in valid:
                    raise unknown(f"auxiliary loss for task '{task.name}'", method, valid)
            augment_symmetries(task, [n for n in self.augment if n != "all"])
            check_reps(task, self.reps)
        return self

    def set(self, key: str, value) -> None:
        """Set one field by name (``--set key=value``), as that field's type where the value reads as one.

        Numbers may come as text (``"1e-3"``), an integral float is an int (``1e3``);
        a list of names may come as one text: ``"sym:a"``, ``"sym:a,sym:b"``,
        ``"sym:a+sym:b"`` or ``"[sym:a, sym:b]"``. Nothing is judged here
        (``1.5`` for an int stays 1.5): :meth:`validate` does that.

        >>> cfg = TrainConfig()
        >>> cfg.set("aux", "[sym:commutativity, geom:nuclear]"); cfg.set("epochs", 1e3); cfg.set("lr", "3e-3")
        >>> cfg.aux, cfg.epochs, cfg.lr
        (['sym:commutativity', 'geom:nuclear'], 1000, 0.003)
        """
        if key not in _DEFAULTS:
            raise unknown("config key", key, _DEFAULTS)
        setattr(self, key, coerce(_DEFAULTS[key], value))


_DEFAULTS = {f.name: getattr(TrainConfig(), f.name) for f in fields(TrainConfig)}


def coerce(default, value):
    """``value`` as the type of ``default`` where it reads as one, else ``value`` unchanged (for validate).

    >>> coerce(0, 2.0), coerce(0, 1.5), coerce(0, "7"), coerce(0.0, 3), coerce(0.0, "nan"), coerce(True, "false")
    (2, 1.5, 7, 3.0, nan, False)
    """
    if isinstance(default, bool):
        return {"true": True, "false": False}.get(value.strip().lower(), value) if isinstance(value, str) else value
    if isinstance(default, (int, float)):
        if isinstance(value, str):
            try:
                value = int(value.strip()) if isinstance(default, int) else float(value.strip())
            except ValueError:
                try:
                    value = float(value.strip())  # "1e3", "inf"
                except ValueError:
                    return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return value
        if isinstance(default, float):
            return float(value) if abs(value) < 2**1023 else value
        return int(value) if isinstance(value, float) and value.is_integer() else value
    if isinstance(default, list) and isinstance(value, (str, tuple)):
        return name_list(value)
    if isinstance(default, dict) and isinstance(value, str):
        return literal(value.strip())
    return value


def name_list(value) -> list:
    """A list of names from a text (``"a"``, ``"a,b"``, ``"a+b"``, ``"[a, 'b']"``) or a tuple.

    >>> name_list("sym:a"), name_list("[sym:a, 'geom:b']"), name_list("sym:a+sym:b"), name_list("")
    (['sym:a'], ['sym:a', 'geom:b'], ['sym:a', 'sym:b'], [])
    """
    if isinstance(value, tuple):
        return list(value)
    parsed = literal(value.strip())
    if isinstance(parsed, (list, tuple)):
        return list(parsed)
    text = value.strip().removeprefix("[").removesuffix("]")
    return [part.strip().strip("'\"") for part in re.split(r"[,+]", text) if part.strip().strip("'\"")]


def check_number(name: str, value, rule: Range, integer: bool = False):
    """``value`` when it is a finite number (an int where ``integer``) within ``rule``; else the error names it.

    >>> check_number("lr", float("nan"), RANGES["lr"])
    Traceback (most recent call last):
    ...
    symreg.errors.UsageError: lr = nan must be a finite number > 0.
    """
    kind = int if integer else (int, float)
    try:
        ok = not isinstance(value, bool) and isinstance(value, kind) and math.isfinite(value) and value in rule
    except OverflowError:  # an int past any float
        ok = False
    if not ok:
        raise UsageError(f"{name} = {value!r} must be {'an integer' if integer else 'a finite number'} {rule}.")
    return value


def check_train_frac(frac, domain: int) -> float:
    """``frac`` when it is in range and splits ``domain`` inputs into enough training and test rows
    (:data:`MIN_TRAIN_FRAC`; rows counted as :func:`symreg.train.data.split_rows` counts them).

    >>> check_train_frac(0.3, 25)
    0.3
    >>> check_train_frac(0.05, 25)
    Traceback (most recent call last):
    ...
    symreg.errors.UsageError: train_frac = 0.05 gives 1 training row(s) and 24 test row(s) of 25 inputs; a split \
needs at least 2 training rows and 1 test row.
    """
    check_number("train_frac", frac, RANGES["train_frac"])
    rows = round(frac * domain)
    if rows < MIN_TRAIN_ROWS or domain - rows < MIN_TEST_ROWS:
        raise UsageError(f"train_frac = {frac!r} gives {rows} training row(s) and {domain - rows} test row(s) of "
                         f"{domain} inputs; a split needs at least {MIN_TRAIN_ROWS} training rows and "
                         f"{MIN_TEST_ROWS} test row.")
    return frac


def aux_methods(task) -> list[str]:
    """The auxiliary losses ``task`` takes: ``sym:NAME`` per declared symmetry, ``geom:NAME`` per prior.

    >>> from symreg.registry import get_task
    >>> aux_methods(get_task("mod_add", p=5))[:2]
    ['sym:commutativity', 'sym:translation']
    """
    return [f"sym:{s.name}" for s in get_symmetries(task)] + [f"geom:{g}" for g in GEOMETRY]


def augment_symmetries(task, names) -> list:
    """The symmetries ``names`` of ``task`` to close a split under, each with a deduction rule.

    >>> from symreg.registry import get_task
    >>> [s.name for s in augment_symmetries(get_task("mod_add", p=5), ["translation"])]
    ['translation']
    """
    from symreg.symmetry import can_deduce

    declared = {s.name: s for s in get_symmetries(task)}
    for n in names:
        if n not in declared:
            raise unknown(f"symmetry of task '{task.name}'", n, [*declared, "all"])
        if not can_deduce(declared[n]):
            rules = [k for k, s in declared.items() if can_deduce(s)]
            raise UsageError(f"Symmetry {n!r} of task '{task.name}' has no deduction rule; "
                             f"usable: {', '.join(rules) or '(none)'}.")
    return [declared[n] for n in names]


def check_model_sizes(model: str, sizes) -> dict:
    """``sizes`` when model ``model`` takes them: keys are the fields of its factory's ``config``
    dataclass, whose construction checks the values (a factory without one checks its own).

    >>> check_model_sizes("transformer", {"nosuch": 1})
    Traceback (most recent call last):
    ...
    symreg.errors.UnknownNameError: Unknown size of model 'transformer': 'nosuch'. Available: d_head, d_mlp, \
d_model, n_heads.
    """
    if not isinstance(sizes, dict) or not all(isinstance(k, str) for k in sizes):
        raise UsageError(f"model_sizes = {sizes!r} must be a dict of sizes by name, e.g. {{'d_model': 64}}.")
    config = getattr(model_entries()[model].obj, "config", None)
    if config is not None:
        known = [f.name for f in fields(config)]
        for key in sizes:
            if key not in known:
                raise unknown(f"size of model '{model}'", key, known)
        config(**sizes)
    return sizes


def device_problem(name: str) -> str | None:
    """Why device ``name`` (one of :data:`DEVICES`) cannot be used on this machine, or None."""
    import torch

    cuda = torch.cuda.device_count() if torch.cuda.is_available() else 0
    here = ", ".join(["auto", "cpu"] + (["cuda"] + [f"cuda:{i}" for i in range(cuda)] if cuda else [])
                     + (["mps"] if torch.backends.mps.is_available() else []))
    if name.startswith("cuda") and int(name.partition(":")[2] or 0) >= cuda:
        have = f"only {cuda} CUDA device(s) are" if cuda else "no CUDA device is"
        return f"Device {name!r} was requested but {have} available; valid here: {here}."
    if name == "mps" and not torch.backends.mps.is_available():
        return f"Device 'mps' was requested but MPS is not available; valid here: {here}."
    return None


def resolve_device(name: str):
    """The torch.device ``name`` means here (``auto``: a GPU if there is one); one this machine lacks raises."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if (why := device_problem(name)) is not None:  # cuda/cuda:N/mps this machine lacks
        raise UsageError(why)
    return torch.device(name)


# Settings that change how a run is carried out, not what it computes: a re-run may change them.
OPERATIONAL = frozenset({"epochs", "device", "checkpoint_every_s", "seed_chunk", "cuda_graph", "force_precision",
                         "seed_workers"})


def train_differences(old: dict, new: dict, ignore=frozenset()) -> list[str]:
    """``train.KEY old -> new`` for each setting both configs hold that differs.

    A field only one side has (added by a newer symreg) is not a change.

    >>> train_differences({"lr": 0.001, "epochs": 10}, {"lr": 0.003, "epochs": 20, "seed_chunk": 0},
    ...                   ignore=OPERATIONAL)
    ['train.lr 0.001 -> 0.003']
    """
    common = (set(old) & set(new)) - set(ignore)
    return [f"train.{k} {old[k]!r} -> {new[k]!r}" for k in sorted(common) if old[k] != new[k]]
