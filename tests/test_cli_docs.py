"""``docs/cli.md`` lists every verb, argument and option of ``--help``, with its default."""

import re
from pathlib import Path

import pytest
import typer.main

from bayes_ketamine.cli import app

CLI_MD = Path(__file__).resolve().parents[1] / "docs" / "cli.md"
COMMANDS = typer.main.get_command(app).commands


def documented() -> dict[str, tuple[list[str], dict[str, str]]]:
    """Return, per verb section of cli.md: its arguments and its options with defaults."""
    sections: dict[str, tuple[list[str], dict[str, str]]] = {}
    current = None
    for line in CLI_MD.read_text().splitlines():
        heading = re.fullmatch(r"## `(\w+)(.*)`", line)
        if heading:
            current = heading.group(1)
            arguments = re.findall(r"[A-Z_]+", heading.group(2))
            sections[current] = (arguments, {})
        elif line.startswith("## "):
            current = None
        elif current and (row := re.match(r"\| `(--[a-z-]+)` \| ([^|]+) \|", line)):
            sections[current][1][row.group(1)] = row.group(2).strip()
    return sections


def expected_default(param) -> str | None:
    """Return how cli.md writes a parameter's default (None: described in words)."""
    if param.default is None:
        return None
    if isinstance(param.default, bool):
        return "on" if param.default else "off"
    return f"`{param.default}`"


def test_every_verb_has_a_section_and_no_section_is_stale():
    assert set(documented()) == set(COMMANDS)


@pytest.mark.parametrize("verb", sorted(COMMANDS))
def test_arguments_options_and_defaults_match_help(verb):
    arguments, options = documented()[verb]
    command = COMMANDS[verb]
    assert arguments == [p.name.upper() for p in command.params if p.param_type_name == "argument"]
    params = {p.opts[0]: p for p in command.params if p.param_type_name == "option"}
    assert set(options) == set(params)
    for name, param in params.items():
        default = expected_default(param)
        if default is not None:
            assert options[name] == default, name
