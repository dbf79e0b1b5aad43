"""The README documents every hook and every command (so neither can be added silently)."""
from __future__ import annotations

from pathlib import Path

import pytest

from symreg.cli import cli
from symreg.plugins import pm

README = (Path(__file__).parent.parent / "README.md").read_text()


@pytest.mark.parametrize("hook", sorted(n for n in dir(pm.hook) if n.startswith("register_")))
def test_plugin_hooks_are_documented(hook):
    spec = getattr(pm.hook, hook).spec
    signature = f"{hook}({', '.join(spec.argnames)})"
    assert f"### {signature}" in README, f"Missing from README's plugin hooks: {signature}"


@pytest.mark.parametrize("command", sorted(cli.commands))
def test_commands_are_documented(command):
    assert f"symreg {command}" in README, f"Command {command!r} is not in README.md"


def test_quick_start_is_two_commands():
    block = README.split("## Quick start")[1].split("```")[1]
    assert [line.split()[:2] for line in block.strip().splitlines()] == [["make", "demo"], ["make", "test"]]
