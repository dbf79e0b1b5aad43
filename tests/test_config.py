"""Every setting a user can type: the laws of ``--set`` parsing and the range of each TrainConfig field.

The rules live in :mod:`symreg.train.config` (``RANGES`` and :meth:`TrainConfig.validate`);
these tests state them as properties over all fields and values, then pin the messages.
"""
from __future__ import annotations

import math
from dataclasses import fields

import pytest
from click.testing import CliRunner
from hypothesis import assume, given
from hypothesis import strategies as st

from symreg import get_task
from symreg.augmenting import augment_split
from symreg.cli import cli
from symreg.errors import UnknownNameError, UsageError
from symreg.experiments.comparison import configure, expand_methods, lr_factor
from symreg.presets import resolve
from symreg.train.config import (
    INT_MAX,
    MIN_TRAIN_FRAC,
    RANGES,
    TrainConfig,
    check_train_frac,
    name_list,
)
from symreg.util.parsing import MAX_SEED, check_seed, parse_pairs, parse_set, seed_list

DEFAULTS = {f.name: getattr(TrainConfig(), f.name) for f in fields(TrainConfig)}
FLOATS = sorted(k for k, v in DEFAULTS.items() if isinstance(v, float))
INTS = sorted(k for k, v in DEFAULTS.items() if isinstance(v, int) and not isinstance(v, bool))
MOD5 = get_task("mod_add", p=5)


def typed(key: str, text: str) -> TrainConfig:
    """A config with ``--set key=text`` applied the way the CLI applies it, then validated."""
    cfg = TrainConfig()
    for k, v in parse_set([f"{key}={text}"]).items():
        cfg.set(k, v)
    return cfg.validate()


def inside(name: str):
    """Values of setting ``name`` within its range."""
    r = RANGES[name]
    if isinstance(DEFAULTS[name], int):
        return st.integers(int(r.lo), min(int(r.hi), 10**12))
    hi = min(r.hi, 1e12)
    return st.floats(r.lo, hi, exclude_min=r.lo_open, exclude_max=r.hi_open or r.hi == math.inf,
                     allow_nan=False, allow_infinity=False)


def test_every_numeric_field_has_a_range_and_nothing_else_does():
    assert set(RANGES) == set(FLOATS) | set(INTS)


# --- laws --------------------------------------------------------------------------------------
@given(st.data())
def test_any_in_range_value_round_trips_through_set_parsing(data):
    name = data.draw(st.sampled_from(FLOATS + INTS))
    value = data.draw(inside(name))
    assert getattr(typed(name, repr(value)), name) == value
    cfg = TrainConfig()
    cfg.set(name, value)  # the Python API: the same value as given
    assert getattr(cfg.validate(), name) == value


@given(st.sampled_from(FLOATS), st.sampled_from([math.inf, -math.inf, math.nan]), st.booleans())
def test_a_non_finite_float_is_refused_for_every_float_field(name, value, as_text):
    cfg = TrainConfig()
    cfg.set(name, repr(value) if as_text else value)
    with pytest.raises(UsageError, match=rf"^{name} = {value!r} must be a finite number"):
        cfg.validate()


@given(st.sampled_from(INTS), st.floats(-1e6, 1e6, allow_nan=False))
def test_an_int_field_takes_whole_numbers_only_and_never_truncates(name, value):
    cfg = TrainConfig()
    cfg.set(name, value)
    if value.is_integer() and int(value) in RANGES[name]:
        assert getattr(cfg.validate(), name) == int(value)
    else:
        with pytest.raises(UsageError, match=rf"^{name} = .* must be an integer"):
            cfg.validate()


@given(st.data())
def test_a_value_outside_a_fields_range_is_refused_and_named(data):
    name = data.draw(st.sampled_from(FLOATS + INTS))
    r = RANGES[name]
    below = st.floats(-1e12, r.lo, exclude_max=not r.lo_open, allow_nan=False)
    above = st.floats(r.hi, 1e13, exclude_min=not r.hi_open, allow_nan=False) if r.hi < 1e12 else st.nothing()
    value = data.draw(st.one_of(below, above))
    if isinstance(DEFAULTS[name], int):
        value = math.floor(value) if value < r.lo else math.ceil(value)
        assume(value not in r)
    cfg = TrainConfig()
    cfg.set(name, value)
    with pytest.raises(UsageError, match=rf"^{name} = "):
        cfg.validate()


@given(st.sampled_from(sorted(DEFAULTS)), st.one_of(
    st.text(max_size=30), st.from_regex(r"[-+]?[0-9.e]{1,12}|\[[a-z:, ']{0,20}\]|\{'[a-z_]{1,8}': ?-?[0-9]{1,4}\}",
                                        fullmatch=True)))
def test_whatever_is_typed_after_set_is_accepted_or_refused_with_a_usage_error(key, text):
    try:
        typed(key, text)
    except UsageError as err:
        assert "\n" not in str(err)


names = st.lists(st.from_regex(r"(sym|geom):[a-z_]{1,12}", fullmatch=True), max_size=5)


@given(names)
def test_every_written_form_of_a_name_list_means_the_same_list(items):
    forms = [",".join(items), "+".join(items), f"[{', '.join(items)}]", repr(items), f" {','.join(items)} "]
    assert all(name_list(f) == items for f in forms)
    if len(items) == 1:
        assert name_list(items[0]) == items  # one name is a one-item list, never its characters


@given(st.dictionaries(st.from_regex(r"[a-z_]{1,8}", fullmatch=True), st.integers(-10**6, 10**6), max_size=6))
def test_pairs_parse_back_and_a_repeated_key_is_refused(pairs):
    texts = [f"{k}={v}" for k, v in pairs.items()]
    assert parse_pairs(texts, "--set") == pairs
    if texts:
        with pytest.raises(UsageError, match="is given twice"):
            parse_pairs(texts + [texts[0]], "--set")


@given(st.integers(2, 10**6), st.floats(0, 1, allow_nan=False))
def test_an_accepted_train_frac_leaves_two_training_rows_and_a_test_row(domain, frac):
    try:
        check_train_frac(frac, domain)
    except UsageError as err:
        assert repr(frac) in str(err)
        return
    assert frac >= MIN_TRAIN_FRAC and 2 <= round(frac * domain) <= domain - 1


@given(st.floats(min_value=1e-300, max_value=1e300, allow_nan=False))
def test_any_positive_lr_factor_round_trips(k):
    assert lr_factor(f"baseline@lr*{k!r}") == k


@given(st.integers(-2**70, 2**70))
def test_a_seed_is_accepted_exactly_in_its_range(seed):
    if 0 <= seed <= MAX_SEED:
        assert check_seed(seed) == seed and seed_list(seed) == [seed]
    else:
        with pytest.raises(UsageError, match=rf"^Seed {seed} must be a non-negative integer"):
            seed_list([seed])


# --- the messages, one per rule -----------------------------------------------------------------
@pytest.mark.parametrize("key, value, message", [
    ("lr", "inf", r"^lr = inf must be a finite number > 0\.$"),
    ("lr", "0", r"^lr = 0\.0 must be a finite number > 0\.$"),
    ("weight_decay", "-1", r"^weight_decay = -1\.0 must be a finite number >= 0\.$"),
    ("train_frac", "1e-9", r"^train_frac = 1e-09 must be a finite number in \[0\.01, 1\)\.$"),
    ("train_frac", "1", r"^train_frac = 1\.0 must be"),
    ("generalize_acc", "2", r"^generalize_acc = 2\.0 must be a finite number in \(0, 1\]\.$"),
    ("generalize_acc", "0", r"^generalize_acc = 0\.0 "),
    ("epochs", "1.5", r"^epochs = 1\.5 must be an integer >= 1 \(and < 2\*\*63\)\.$"),
    ("epochs", "0", r"^epochs = 0 must be an integer"),
    ("stop_patience", "-5", r"^stop_patience = -5 must be an integer >= 0"),
    ("eval_every", "0", r"^eval_every = 0 must be an integer >= 1"),
    ("batch_size", "-1", r"^batch_size = -1 must be an integer >= 0 \(and < 2\*\*63\) \(0 = full batch\)\.$"),
    ("metrics_seed", "-1", r"^metrics_seed = -1 must be an integer in 0\.\.4294967295\.$"),
    ("violation_samples", "10**9", r"^violation_samples = '10\*\*9' must be an integer in 1\.\.1000000\.$"),
    ("grokfast_window", "5000", r"^grokfast_window = 5000 must be an integer in 1\.\.1000\.$"),
    ("grokfast_alpha", "1", r"^grokfast_alpha = 1\.0 must be a finite number in \[0, 1\)\.$"),
    ("beta2", "nan", r"^beta2 = nan must be a finite number"),
    ("checkpoint_every_s", "-1", r"^checkpoint_every_s = -1\.0 "),
    ("aux_weight", "-inf", r"^aux_weight = -inf "),
    ("stop_on_generalize", "1", r"^stop_on_generalize = 1 must be True or False\.$"),
    ("device", "123", r"^device = 123 is not one of auto, cpu, cuda, cuda:N, mps"),
    ("device", "gpu", r"^device = 'gpu' is not one of"),
    ("grokfast", "sma", r"^grokfast = 'sma' is not one of ema, ma"),
    ("model_sizes", "abc", r"^model_sizes = 'abc' must be a dict of sizes by name"),
    ("model_sizes", "{'d_model': 0}", r"^model_sizes d_model = 0 must be an integer in 1\.\.65536\.$"),
    ("model_sizes", "{'n_heads': 4096, 'd_head': 4096}", r"n_heads \* d_head = 4096 \* 4096"),
    ("model_sizes", "{'d_mlp': 2.5}", r"^model_sizes d_mlp = 2\.5 must be an integer"),
    ("aux", "[1, 2]", r"^aux = \[1, 2\] must be a list of names"),
])
def test_each_bad_setting_names_itself_and_its_range(key, value, message):
    with pytest.raises(UsageError, match=message):
        typed(key, value)


def test_an_unknown_model_size_lists_the_models_own_fields():
    with pytest.raises(UnknownNameError, match=r"'nosuch'\. Available: d_head, d_mlp, d_model, n_heads\.$"):
        typed("model_sizes", "{'nosuch': 1}")
    with pytest.raises(UnknownNameError, match=r"model 'mlp': 'd_model'.*d_embed, d_hidden"):
        TrainConfig(model="mlp", model_sizes={"d_model": 8}).validate()


@pytest.mark.parametrize("device", ["auto", "cpu", "cuda", "cuda:0", "cuda:12", "mps"])
def test_device_strings_of_every_valid_form_pass_validation(device):
    assert TrainConfig(device=device).validate().device == device  # availability: when a run starts


@pytest.mark.parametrize("device", ["123", "cuda:", "cuda:-1", "cuda:x", "CPU", "tpu", ""])
def test_other_device_strings_are_refused(device):
    cfg = TrainConfig()
    cfg.set("device", device)
    with pytest.raises(UsageError, match="is not one of auto, cpu, cuda, cuda:N, mps"):
        cfg.validate()


def test_the_task_bounds_the_split_and_the_names():
    setup = lambda **s: resolve("mod_add", {"p": 5}, "quick", s)  # noqa: E731  (25 inputs)
    with pytest.raises(UsageError, match=r"^train_frac = 0\.05 gives 1 training row\(s\) and 24 test row\(s\) "
                                         r"of 25 inputs; a split needs at least 2 training rows and 1 test row\.$"):
        TrainConfig.from_setup(setup(train_frac=0.05))
    with pytest.raises(UsageError, match=r"0 test row"):
        TrainConfig.from_setup(setup(train_frac=0.99))
    with pytest.raises(UnknownNameError, match=r"'sym:nosuch'.*sym:commutativity"):
        TrainConfig.from_setup(setup(aux="sym:nosuch"))
    with pytest.raises(UnknownNameError, match=r"symmetry of task 'mod_add': 'nosuch'.*Available: all, "):
        TrainConfig.from_setup(setup(augment="nosuch"))


def test_a_list_setting_given_as_text_is_that_list():
    setup = resolve("mod_add", {"p": 5}, "quick",
                    {"aux": "sym:commutativity", "augment": "[commutativity, translation]"})
    cfg = TrainConfig.from_setup(setup)
    assert cfg.aux == ["sym:commutativity"] and cfg.augment == ["commutativity", "translation"]
    assert typed("aux", "sym:commutativity+geom:nuclear").aux == ["sym:commutativity", "geom:nuclear"]
    assert typed("aux", "").aux == [] and typed("augment", "all").augment == ["all"]


def test_numbers_given_as_text_or_integral_floats_take_the_fields_type():
    assert typed("epochs", "1e3").epochs == 1000 and isinstance(typed("epochs", "1e3").epochs, int)
    assert typed("lr", "3e-3").lr == 0.003 and typed("weight_decay", "1").weight_decay == 1.0
    assert typed("cuda_graph", "false").cuda_graph is False
    assert typed("epochs", str(INT_MAX)).epochs == INT_MAX


def test_the_paper_defaults_and_every_preset_validate():
    assert TrainConfig().validate() == TrainConfig()
    for preset in ("paper", "quick"):
        TrainConfig.from_setup(resolve("mod_add", preset=preset))


# --- other commands' settings ----------------------------------------------------------------------
def test_compare_names_a_bad_learning_rate_factor_and_the_valid_forms():
    base = TrainConfig()
    for bad in ("1.2.3", "", "-2", "0", "inf", "nan", "x"):
        with pytest.raises(UsageError, match=rf"'baseline@lr\*{bad}'.*factor '{bad}'.*baseline@lr\*K"):
            expand_methods(MOD5, ["baseline", f"baseline@lr*{bad}"], base)
    assert configure(MOD5, "baseline@lr*0.5", base).lr == pytest.approx(base.lr / 2)
    with pytest.raises(UsageError, match=r"'baseline@wd\*2'.*baseline@lr\*K"):
        expand_methods(MOD5, ["baseline@wd*2"], base)
    with pytest.raises(UsageError, match=r"^lr = inf must be a finite number"):
        expand_methods(MOD5, ["baseline@lr*1e308"], TrainConfig(lr=10.0))


def test_augment_checks_its_seed_and_split_and_never_overwrites_without_force(tmp_path):
    with pytest.raises(UsageError, match=r"^Seed -1 must be"):
        augment_split("mod_add", {"p": 5}, seed=-1)
    with pytest.raises(UsageError, match=r"^train_frac = 1e-09 "):
        augment_split("mod_add", {"p": 5}, train_frac=1e-9)
    out = tmp_path / "split.npz"
    out.write_bytes(b"keep me")
    with pytest.raises(UsageError, match=r"split\.npz already exists; .*--force"):
        augment_split("mod_add", {"p": 5}, out=tmp_path / "split")  # .npz is appended, then found
    assert out.read_bytes() == b"keep me"
    assert augment_split("mod_add", {"p": 5}, out=out, force=True)["out"] == str(out)
    assert out.read_bytes() != b"keep me"
    every = augment_split("mod_add", {"p": 5}, symmetries=["all"])
    assert every["train_after"] == augment_split("mod_add", {"p": 5})["train_after"]


def test_augment_force_on_the_command_line(tmp_path):
    out = tmp_path / "split.npz"
    out.write_bytes(b"keep me")
    run = lambda *extra: CliRunner().invoke(cli, ["augment", "mod_add", "-P", "p=5", "--out", str(out), *extra])  # noqa: E731
    refused = run()
    assert refused.exit_code == 2 and refused.output.startswith("Error: ") and "--force" in refused.output
    assert out.read_bytes() == b"keep me"
    assert run("--force").exit_code == 0 and out.read_bytes() != b"keep me"
