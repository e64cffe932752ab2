"""The typer application every command module registers on."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from pipeline._compat import click_errors, conventional_argument_help

conventional_argument_help()


class OneLineErrors(TyperGroup):
    """Usage errors as one ``error:`` line naming the way to help, like every other error.

    Click prints the usage, a hint and the error on four lines; here the option and the
    problem are on one line that says where the help is, and the status stays 2.
    """

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        usage_error, no_args, click_error = click_errors()
        try:
            status = super().main(*args, standalone_mode=False, **kwargs)
        except usage_error as exc:
            if isinstance(exc, no_args):  # `score` alone: the help, as click shows it
                exc.show()
                sys.exit(exc.exit_code)
            where = exc.ctx.command_path if exc.ctx is not None else "score"  # type: ignore[attr-defined]
            message = " ".join(exc.format_message().split())  # type: ignore[attr-defined]
            message = message.replace("Value error, ", "")  # typer's validator's prefix
            typer.echo(f"error: {message} (see: {where} --help)", err=True)
            sys.exit(exc.exit_code)  # type: ignore[attr-defined]
        except click_error as exc:
            exc.show()  # type: ignore[attr-defined]
            sys.exit(exc.exit_code)  # type: ignore[attr-defined]
        except typer.Abort:
            typer.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(status if isinstance(status, int) else 0)


app = typer.Typer(
    name="score",
    cls=OneLineErrors,
    help="Learn news-article quality from scored records, then score new articles and feed dumps.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("article-quality")
        except PackageNotFoundError:  # run from a checkout that was never installed
            number = "unknown (not installed)"
        typer.echo(f"score (article-quality) {number}")
        raise typer.Exit()


@app.callback()
def main(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Learn news-article quality from scored records, then score new articles and dumps."""
