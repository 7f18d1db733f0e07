"""The README keeps its promises: two set-up commands first, CI runs the second, every
command documented, every finding code listed."""
from __future__ import annotations

import re

from keyframe.cli import main
from keyframe.registry import all_codes

from conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def setup_commands() -> list[str]:
    block = re.search(r"```(?:bash|sh)\n(.*?)```", README, re.S)
    assert block, "README must open with a shell block"
    return [l for l in block.group(1).splitlines() if l.strip() and not l.startswith("#")]


def test_readme_opens_with_exactly_two_setup_commands():
    cmds = setup_commands()
    assert len(cmds) == 2
    assert "keyframe triage samples/" in cmds[0]
    assert "pytest" in cmds[1]
    assert README.index("```") < README.index("\n## ")  # before any section


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert setup_commands()[1] in ci.splitlines()


def test_every_command_and_code_is_documented():
    for name in main.commands:
        assert f"keyframe {name}" in README, name
    for code in all_codes():
        assert f"`{code}`" in README, code
