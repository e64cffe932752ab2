"""The typer application every command module registers on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="score",
    help="Learn news-article quality from scored records, then score new articles and feed dumps.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def main() -> None:
    """Learn news-article quality from scored records, then score new articles and dumps."""
