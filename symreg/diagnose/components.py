"""Key components over training: when their set settles, and what they are in words (no torch).

The trainer records, at every evaluation, the key components of each measured
group action (``row["reps"][KEY]["key"]``, indices into the decomposition;
:mod:`symreg.train.progress_measures`) and, once per run, what the components
are (``RUN/reps.json``). The event *key components settle* is the first
evaluation after which the set never changes again within the run; ``None``
when it still changes at the last evaluation (the run is too short to tell).
Since the set often shrinks for a long time towards its final members, the
*leading* epoch says when those members were chosen: from then on they are
the largest components at every evaluation.
"""
from __future__ import annotations

from symreg.runs.reading import Run
from symreg.runs.rundir import RunDir

LOSSES = ("train_loss", "test_loss", "restricted_train_loss", "restricted_test_loss",
          "excluded_train_loss", "excluded_test_loss")


def settle_epoch(epochs, sets) -> int | None:
    """First epoch from which ``sets`` (one per evaluation) stay equal to the last; None if the last differs.

    >>> settle_epoch([0, 10, 20, 30], [{1, 2}, {2}, {2, 5}, {2, 5}])
    20
    >>> settle_epoch([0, 10, 20], [{1}, {1}, {2}]) is None
    True
    """
    if len(sets) < 2 or sets[-1] != sets[-2]:
        return None
    i = len(sets) - 1
    while i > 0 and sets[i - 1] == sets[-1]:
        i -= 1
    return epochs[i]


def leading_epoch(epochs, fractions, final) -> int | None:
    """First epoch from which the components ``final`` are the largest ``len(final)`` at every evaluation:
    when the components that end up key were chosen (their set may still shrink towards them later).
    None when they lead at the last evaluation only.

    >>> leading_epoch([0, 10, 20], [[0.5, 0.3, 0.2], [0.2, 0.5, 0.3], [0.1, 0.6, 0.3]], {1, 2})
    10
    """
    n, i = len(final), len(fractions)
    while i > 0 and fractions[i - 1] and set(sorted(range(len(fractions[i - 1])),
                                                     key=lambda j: -fractions[i - 1][j])[:n]) == set(final):
        i -= 1
    return epochs[i] if i < len(epochs) - 1 else None  # leading at the last evaluation only: too soon to tell


def measured(run: Run) -> list[str]:
    """The measures (``ACTION`` or ``ACTION:classes``) in the run's metrics: the one with restricted losses
    first, then in the order ``reps.json`` gives (else by name)."""
    names: dict[str, None] = {}
    for r in run.rows:
        names.update(dict.fromkeys(r.get("reps") or {}))
    reps = RunDir(run.path).reps
    order: dict[str, int] = {}
    for k in [reps.get("restricted"), *(reps.get("order") or [])]:
        order.setdefault(k, len(order))
    return sorted(names, key=lambda k: order.get(k, len(order)))


def series(run: Run, key: str, field: str) -> tuple[list[int], list]:
    """Epochs and values of one field of one measure, over the evaluations that have it."""
    pts = [(r["epoch"], (r.get("reps") or {}).get(key)) for r in run.rows]
    return [e for e, m in pts if m], [m.get(field) for _, m in pts if m]


def _group(group: str) -> str:
    """``Z_97`` as it is; ``order 24`` as ``the group of order 24``.

    >>> _group("Z_97"), _group("order 24"), _group("abelian, order 4")
    ('Z_97', 'the group of order 24', 'the abelian group of order 4')
    """
    if group.startswith("abelian, "):
        return f"the abelian group of {group.removeprefix('abelian, ')}"
    return f"the group of {group}" if group.startswith("order ") else group


def describe(info: dict, indices) -> str:
    """The components ``indices`` of a measure in words: ``frequencies 14, 35, 41 of Z_97``.

    >>> comps = [{"name": "trivial", "frequency": 0}] + [
    ...     {"name": f"frequency {k}", "frequency": k, "multiplicity": 1} for k in range(1, 49)]
    >>> describe({"group": "Z_97", "components": comps}, [14, 35, 41])
    'frequencies 14, 35, 41 of Z_97'
    >>> describe({"group": "order 24", "components": [{"name": "irrep of dim 3", "multiplicity": 3}]}, [0])
    'irrep of dim 3 (3 copies) of the group of order 24'
    """
    comps = info.get("components") or []
    freqs, rots, others = [], [], []
    for i in indices:
        c = comps[i] if i < len(comps) else {"name": f"component {i}"}
        if c.get("rotation") is not None:
            rots.append(str(c["rotation"]))
        elif c.get("frequency"):
            freqs.append(str(c["frequency"]))
        else:
            copies = c.get("multiplicity") or 1
            others.append(c["name"] + (f" ({copies} copies)" if copies > 1 else ""))
    parts = ([f"frequenc{'ies' if len(freqs) > 1 else 'y'} {', '.join(freqs)}"] if freqs else []) + (
        [f"rotation frequenc{'ies' if len(rots) > 1 else 'y'} {', '.join(rots)}"] if rots else []) + others
    text = "; ".join(parts) or "none"
    return f"{text} of {_group(info['group'])}" if info.get("group") else text


def key_component_events(run: Run) -> dict:
    """Per measure: when its key set settles, the key components at the end (indices, names, in words),
    and, where measured, the last restricted and excluded losses.

    >>> from pathlib import Path
    >>> rows = [{"epoch": e, "reps": {"translation": {"key": k, "n_key": len(k)}}}
    ...         for e, k in [(0, [1, 2, 3]), (10, [3]), (20, [3])]]
    >>> ev = key_component_events(Run(Path("r"), {}, rows))["translation"]
    >>> ev["settle_epoch"], ev["key"], ev["described"]
    (10, ['component 3'], 'component 3')
    """
    reps = RunDir(run.path).reps
    desc = reps.get("measures") or {}
    out = {}
    for key in measured(run):
        epochs, keys = series(run, key, "key")
        sets = [frozenset(k or ()) for k in keys]
        info = desc.get(key) or {}
        last = sorted(sets[-1]) if sets else []
        comps = info.get("components") or []
        final = next((r for r in reversed(run.rows) if (r.get("reps") or {}).get(key)), {})
        losses = {k: final.get(k) if k in ("train_loss", "test_loss") else final["reps"][key].get(k)
                  for k in LOSSES} if final and "restricted_train_loss" in final["reps"][key] else None
        out[key] = {"action": info.get("action", key.partition(":")[0]),
                    "on": info.get("on", "classes" if key.endswith(":classes") else "tokens"),
                    "group": info.get("group"), "settle_epoch": settle_epoch(epochs, sets),
                    "leading_epoch": leading_epoch(epochs, series(run, key, "fractions")[1], last) if last else None,
                    "key": [comps[i]["name"] if i < len(comps) else f"component {i}" for i in last],
                    "key_indices": last, "n_key": len(last), "described": describe(info, last),
                    "restricted": bool(info.get("restricted")) or losses is not None, "final_losses": losses,
                    "threshold": reps.get("threshold")}
    return out


def primary(ev: dict) -> tuple[str, dict] | None:
    """The measure with restricted and excluded losses (else the first), for one-line summaries."""
    kc = ev.get("key_components") or {}
    for key, item in kc.items():
        if item.get("restricted"):
            return key, item
    return next(iter(kc.items()), None)
