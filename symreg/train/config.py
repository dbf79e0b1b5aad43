"""The training configuration: every setting of a run, written to its config.json."""
from __future__ import annotations

from dataclasses import dataclass, field, fields

from symreg.errors import UsageError, unknown
from symreg.registry import model_entries
from symreg.runs.criterion import GENERALIZE_ACC


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
    # acceleration (symreg/train/auxiliary.py)
    aux: list = field(default_factory=list)  # "sym:NAME" / "geom:nuclear|entropy|lipschitz"
    aux_weight: float = 1.0  # lambda; the paper's 1.0
    aux_samples: int = 64  # instances per symmetry loss per epoch
    grokfast: str = ""  # "", "ema" or "ma" (Lee et al. 2024)
    grokfast_alpha: float = 0.98
    grokfast_lamb: float = 2.0
    grokfast_window: int = 100
    augment: list = field(default_factory=list)  # symmetry names (or "all") closing the train split

    @classmethod
    def from_preset(cls, preset, **overrides) -> "TrainConfig":
        base = {"train_frac": preset.train_frac, "weight_decay": preset.weight_decay,
                "epochs": preset.epochs, "model": preset.model, **preset.extra}
        return cls(**{**base, **{k: v for k, v in overrides.items() if v is not None}})

    @classmethod
    def from_setup(cls, setup) -> "TrainConfig":
        """The preset's configuration with a :class:`symreg.presets.Setup`'s settings set by name, validated.

        >>> from symreg.presets import resolve
        >>> cfg = TrainConfig.from_setup(resolve("mod_add", preset="quick", settings={"epochs": 10}))
        >>> cfg.epochs, cfg.train_frac
        (10, 0.5)
        """
        cfg = cls.from_preset(setup.defaults)
        for key, value in setup.settings.items():
            cfg.set(key, value)
        return cfg.validate()

    def validate(self) -> "TrainConfig":
        checks = [
            (0 < self.train_frac < 1, f"train fraction {self.train_frac} must be in (0, 1)"),
            (self.epochs >= 0, f"epochs {self.epochs} must be at least 0"),
            (self.lr > 0, f"learning rate {self.lr} must be positive"),
            (self.weight_decay >= 0, f"weight decay {self.weight_decay} must be at least 0"),
            (0 <= self.beta1 < 1 and 0 <= self.beta2 < 1, "betas must be in [0, 1)"),
            (self.batch_size >= 0, f"batch size {self.batch_size} must be at least 0 (0 = full batch)"),
            (self.seed_chunk >= 0, f"seed_chunk {self.seed_chunk} must be at least 0 (0 = auto)"),
            (self.eval_every >= 1, f"eval_every {self.eval_every} must be at least 1"),
            (self.violation_samples >= 1, f"violation_samples {self.violation_samples} must be at least 1"),
            (self.device in ("auto", "cpu", "cuda") or self.device.startswith("cuda:"),
             f"device {self.device!r} is not one of auto, cpu, cuda"),
            (self.grokfast in ("", "ema", "ma"), f"grokfast {self.grokfast!r} is not one of ema, ma"),
            (self.aux_samples >= 1, f"aux_samples {self.aux_samples} must be at least 1"),
            (0 <= self.grokfast_alpha < 1, f"grokfast_alpha {self.grokfast_alpha} must be in [0, 1)"),
            (self.grokfast_window >= 1, f"grokfast_window {self.grokfast_window} must be at least 1"),
        ]
        for ok, msg in checks:
            if not ok:
                name = msg.split()[0]  # a setting's name (eval_every) is kept as written
                raise UsageError((msg if "_" in name else msg[0].upper() + msg[1:]) + ".")
        if self.model not in model_entries():
            raise unknown("model", self.model, model_entries())
        return self

    def set(self, key: str, value) -> None:
        """Override one field by name (``--set key=value``), checking its type."""
        names = {f.name: f for f in fields(self)}
        if key not in names:
            raise unknown("config key", key, names)
        current = getattr(self, key)
        if isinstance(current, bool) and not isinstance(value, bool) or (
                isinstance(current, (int, float)) and not isinstance(current, bool)
                and not isinstance(value, (int, float))):
            raise UsageError(f"Config key {key}={value!r} must be a {type(current).__name__}.")
        setattr(self, key, type(current)(value) if isinstance(current, (int, float)) else value)


# Settings that change how a run is carried out, not what it computes: a re-run may change them.
OPERATIONAL = frozenset({"epochs", "device", "checkpoint_every_s", "seed_chunk", "cuda_graph"})


def train_differences(old: dict, new: dict, ignore=frozenset()) -> list[str]:
    """``train.KEY old -> new`` for each setting both configs hold that differs.

    A field only one side has (added by a newer symreg) is not a change.

    >>> train_differences({"lr": 0.001, "epochs": 10}, {"lr": 0.003, "epochs": 20, "seed_chunk": 0},
    ...                   ignore=OPERATIONAL)
    ['train.lr 0.001 -> 0.003']
    """
    common = (set(old) & set(new)) - set(ignore)
    return [f"train.{k} {old[k]!r} -> {new[k]!r}" for k in sorted(common) if old[k] != new[k]]
