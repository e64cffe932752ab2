"""Help that reads like the CLIs people like: PATHS..., values named, no Python types."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from pipeline.cli import app

runner = CliRunner()
COMMANDS = ["load", "train", "evaluate", "inspect", "predict"]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_names_values_and_shows_no_python_types(command: str) -> None:
    result = runner.invoke(app, [command, "--help"], terminal_width=100)
    assert result.exit_code == 0
    text = result.stdout
    assert not re.search(r"<(bool|str|int|float|path|list\[)", text), text
    assert "{" not in text.split("\n", 1)[0]  # the usage line
    flags = re.findall(r"^\s+(--[\w-]+) (\S+)", text, flags=re.MULTILINE)
    assert all(not value.startswith("<") for _, value in flags), flags


def test_paths_read_as_paths() -> None:
    usage = runner.invoke(app, ["load", "--help"]).stdout.splitlines()[0]
    assert usage == "Usage: score load [OPTIONS] PATHS..."
    usage = runner.invoke(app, ["train", "--help"]).stdout.splitlines()[0]
    assert usage == "Usage: score train [OPTIONS] [PATHS...]"


def test_a_flag_given_a_value_is_a_usage_error_naming_the_value() -> None:
    """`--related true` is not a flag's value: `true` is a path, and it does not exist."""
    result = runner.invoke(app, ["load", "--related", "true"])
    assert result.exit_code == 1 and "true: no such file or directory" in result.stderr


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert re.fullmatch(r"score \(article-quality\) \S+\n", result.stdout)
