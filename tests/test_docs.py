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
