"""The README stays true: two set-up commands, CI runs the test one, every command documented."""
from __future__ import annotations

import re
from pathlib import Path

from app.cli import build_parser

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text("utf-8")


def setup_commands() -> list[str]:
    section = README.split("## Set up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section, flags=re.S)


def test_readme_has_exactly_two_setup_commands_and_ci_runs_the_test_one() -> None:
    commands = setup_commands()
    assert len(commands) == 2, commands
    run, test = commands
    assert "\n" not in run and "\n" not in test
    assert "install" in run and "pytest" in test
    ci = (REPO / ".ci" / "run").read_text("utf-8")
    assert test in ci.splitlines(), "CI must run exactly the README's test command"


def test_every_cli_command_has_help_and_a_readme_line() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, subparser in sub.choices.items():
        helps = {a.dest: a.help for a in sub._choices_actions}
        assert helps.get(name), f"`engram {name}` has no help text"
        assert f"engram {name}" in README, f"`engram {name}` is missing from the README"
        for action in subparser._actions:
            if action.option_strings and action.dest != "help":
                assert action.help, f"`engram {name} {action.option_strings[0]}` has no help"


def module_map() -> str:
    return README.split("## How it works", 1)[1].split("\n## ", 1)[0]


def test_the_module_map_names_only_what_exists() -> None:
    named = set(re.findall(r"`((?:app|core|ingest)/[\w/.]*)`", module_map()))
    assert named, "the module map names no modules"
    missing = sorted(p for p in named if not (REPO / p.rstrip("/")).exists())
    assert missing == [], f"the README's module map names files that do not exist: {missing}"


def test_the_module_map_names_every_package_and_top_level_module() -> None:
    """A new package, or a new module at the top of app/, core/ or ingest/, gets a line."""
    text = module_map()
    expected = []
    for package in ("app", "core", "ingest"):
        for path in sorted((REPO / package).iterdir()):
            if path.name.startswith(("_", ".")):
                continue
            if path.is_dir() and (path / "__init__.py").exists():
                expected.append(f"{package}/{path.name}/")
            elif path.suffix == ".py":
                expected.append(f"{package}/{path.name}")
    unnamed = [p for p in expected if f"`{p}" not in text]
    assert unnamed == [], f"add these to the README's module map (How it works): {unnamed}"
