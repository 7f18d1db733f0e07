"""The README keeps its promises: two set-up commands first, CI runs the second, every
command (from the click group) and every finding code (from the registry) documented, the
options it shows exist, its links resolve, its library example runs, and it stays short
(the details live in docs/)."""
from __future__ import annotations

import contextlib
import io
import re

import click
import pytest

from keyframe.cli import main
from keyframe.registry import all_codes

from conftest import ROOT

README_PATH = ROOT / "README.md"
README = README_PATH.read_text(encoding="utf-8")
MAX_BYTES = 15_000


def setup_commands() -> list[str]:
    block = re.search(r"```(?:bash|sh)\n(.*?)```", README, re.S)
    assert block, "README must open with a shell block"
    return [l for l in block.group(1).splitlines() if l.strip() and not l.startswith("#")]


def command_paths() -> dict[str, click.Command]:
    """Every command a user can type, by its words after ``keyframe``: ``check``,
    ``models pull``, … (a group's subcommands, not the group itself)."""
    paths: dict[str, click.Command] = {}
    for name, cmd in main.commands.items():
        if isinstance(cmd, click.Group):
            for sub, subcmd in cmd.commands.items():
                paths[f"{name} {sub}"] = subcmd
        else:
            paths[name] = cmd
    return paths


def test_readme_opens_with_exactly_two_setup_commands():
    cmds = setup_commands()
    assert len(cmds) == 2
    assert "keyframe triage samples/" in cmds[0]
    assert "pytest" in cmds[1]
    assert README.index("```") < README.index("\n## ")  # before any section


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert setup_commands()[1] in ci.splitlines()


def test_ci_lints_before_testing():
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    lint = [i for i, l in enumerate(lines) if "ruff check" in l and not l.startswith("#")]
    assert lint and lint[0] < lines.index(setup_commands()[1])


def test_readme_is_short():
    assert README_PATH.stat().st_size <= MAX_BYTES, "move details to a page in docs/"


def test_every_command_is_documented():
    paths = command_paths()
    assert {"check", "triage", "gate", "models pull", "recipe show"} <= set(paths)
    missing = [p for p in paths if f"`keyframe {p}" not in README]
    assert not missing, f"commands not in the README's command table: {missing}"


def test_every_finding_code_is_documented():
    codes = all_codes()
    assert len(codes) >= 30
    rows = {m.group(1) for m in re.finditer(r"^\| `([a-z_]+)` \| [a-z_]+ \|", README, re.M)}
    assert not set(codes) - rows, f"codes without a row in the README's code table: " \
                                  f"{sorted(set(codes) - rows)}"
    assert not rows - set(codes), f"README rows naming no code: {sorted(rows - set(codes))}"


def test_options_the_readme_shows_exist():
    """Every ``--option`` in a ```keyframe …``` code span or console line is an option of
    that command: a renamed or removed option cannot linger in the README."""
    paths = command_paths()
    snippets = re.findall(r"`(keyframe [^`]+)`", README)
    snippets += re.findall(r"^\$ (keyframe .+)$", README, re.M)
    checked = 0
    for snippet in snippets:
        words = snippet.split()
        path = " ".join(words[1:3]) if " ".join(words[1:3]) in paths else words[1]
        if path not in paths:
            continue
        known = {o for p in paths[path].params for o in (*p.opts, *p.secondary_opts)}
        for opt in re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", snippet):
            assert opt in known, f"README shows `{opt}` on `keyframe {path}`: not an option"
            checked += 1
    assert checked >= 30


@pytest.mark.parametrize("path", sorted(command_paths()))
def test_every_command_answers_help(path):
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as stop:
        main([*path.split(), "--help"], prog_name="keyframe")
    assert stop.value.code == 0
    assert f"Usage: keyframe {path}" in out.getvalue()


def anchors(text: str) -> set[str]:
    """GitHub's heading ids: lower case, punctuation but ``-`` and ``_`` dropped, spaces to
    ``-``."""
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
            for h in re.findall(r"^#+ (.*)$", text, re.M)}


def test_links_resolve():
    """Every relative link in README.md and docs/*.md names a file that exists, and a
    ``#fragment`` a heading of that file."""
    pages = [README_PATH, *(ROOT / "docs").glob("*.md")]
    checked = 0
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for target, fragment in re.findall(r"\]\(([^)#\s]*)(?:#([^)\s]*))?\)", text):
            if re.match(r"[a-z]+://", target):
                continue
            dest = (page.parent / target) if target else page
            assert dest.exists(), f"{page.name}: broken link {target}"
            if fragment and dest.suffix == ".md":
                assert fragment in anchors(dest.read_text(encoding="utf-8")), \
                    f"{page.name}: no heading #{fragment} in {dest.name}"
            checked += 1
    assert checked >= 30


def test_library_example_runs(monkeypatch):
    block = re.search(r"## Library\n.*?```python\n(.*?)```", README, re.S)
    assert block, "README must show library use"
    monkeypatch.chdir(ROOT)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block.group(1), "README.md", "exec"), {})
    verdict = out.getvalue().split()[0]
    assert verdict == "fix", out.getvalue()  # samples/noisy.png: noise -> denoise


def test_docs_pages_are_linked_from_the_readme():
    pages = {p.name for p in (ROOT / "docs").glob("*.md")}
    assert not {p for p in pages if f"(docs/{p})" not in README}, "a docs page nobody links"


def test_scripts_the_docs_name_exist():
    """Every ``python -m scripts.…`` module and ``scripts/….py`` file that README.md, docs/
    or samples/README.md names is there (scripts move; their references must follow)."""
    pages = [README_PATH, ROOT / "samples" / "README.md", *(ROOT / "docs").glob("*.md")]
    named = 0
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for mod in re.findall(r"python -m (scripts(?:\.\w+)+)", text):
            assert (ROOT / (mod.replace(".", "/") + ".py")).is_file(), f"{page.name}: {mod}"
            named += 1
        for path in re.findall(r"(?<![\w/.])(scripts/[\w/]+\.py)", text):
            assert (ROOT / path).is_file(), f"{page.name}: {path}"
            named += 1
    assert named >= 20
