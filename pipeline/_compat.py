"""Every use of another library's private API, in one place, each with its reason.

Checked against CPython 3.11 and 3.13, pandas 3.1, pyarrow 26 and typer 0.29. Each
function reads what it needs defensively where it can, so a changed layout degrades to a
slower public path or a clear error rather than a wrong result; tests exercise each one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pandas as pd
from pandas.api.extensions import ExtensionArray
from pandas.core.dtypes.cast import maybe_box_native

# ---- pandas -----------------------------------------------------------------------------------


def concat_arrays(pieces: Sequence[ExtensionArray]) -> ExtensionArray:
    """Concatenate pandas arrays of one type (``_concat_same_type``: pandas has no public
    spelling for arrays, and going through a Series per piece costs several times more)."""
    return type(pieces[0])._concat_same_type(pieces)


def box_native(value: object) -> object:
    """A cell as ``to_dict`` gives it: numpy scalars as Python ones, NA as None
    (``pandas.core.dtypes.cast.maybe_box_native``, the function ``to_dict`` itself calls)."""
    return maybe_box_native(value)


def arrow_string_cells(column: pd.Series) -> list[str | None] | None:
    """A pyarrow-backed string column's cells (missing -> None), or None for any other column.

    Reads the arrow data behind the column (``ArrowStringArray._pa_array``): its
    ``to_pylist`` is several times faster than ``tolist`` plus replacing NA.
    """
    import pyarrow as pa

    data = getattr(column.array, "_pa_array", None)
    if data is None or not isinstance(column.dtype, pd.StringDtype):
        return None
    if not isinstance(data, pa.ChunkedArray | pa.Array) or not (
        pa.types.is_string(data.type) or pa.types.is_large_string(data.type)
    ):
        return None
    return data.to_pylist()


# ---- concurrent.futures -----------------------------------------------------------------------


def kill_executor(pool: ProcessPoolExecutor) -> None:
    """End a process pool now, tasks running or not.

    The executor has no public way to stop running tasks (Python 3.14 adds
    ``terminate_workers``), so this reaches into it (``_processes``, ``_result_queue``,
    ``_executor_manager_thread``): its processes are killed, and the pipe they answer on is
    closed so that its thread cannot wait for the rest of a result a killed worker was
    sending. Then the thread is joined.
    """
    processes = executor_processes(pool)
    results = getattr(pool, "_result_queue", None)
    thread = getattr(pool, "_executor_manager_thread", None)
    pool.shutdown(wait=False, cancel_futures=True)  # (drops the references taken above)
    for process in processes:
        with contextlib.suppress(OSError, ValueError):
            process.kill()
    for process in processes:
        with contextlib.suppress(OSError, ValueError, AssertionError):
            process.join(timeout=10)
    writer = getattr(results, "_writer", None)
    if writer is not None:  # every worker is gone: the thread now reads end-of-file
        with contextlib.suppress(OSError):
            writer.close()
    if thread is not None:
        thread.join(timeout=30)
    for process in processes:  # release each process's sentinel descriptor now
        with contextlib.suppress(ValueError):
            process.close()
    if results is not None:
        with contextlib.suppress(OSError):
            results.close()


def executor_processes(pool: ProcessPoolExecutor | None) -> list[Any]:
    """The worker processes of a pool (``_processes``), to see whether one has died: the
    executor misses a worker killed while it was sending a result, and waits for good."""
    table = getattr(pool, "_processes", None) or {}
    while True:
        try:
            return list(table.values())
        except RuntimeError:  # the executor's thread changed the table meanwhile: look again
            continue


# ---- typer ------------------------------------------------------------------------------------


def click_errors() -> tuple[type[Exception], type[Exception], type[Exception]]:
    """(UsageError, NoArgsIsHelpError, ClickException) of the click that typer runs on.

    typer 0.29 carries its own copy of click (``typer._click``) and exports only some of its
    exceptions; the command line formats usage errors itself, so it needs the classes.
    """
    from typer._click import exceptions

    return exceptions.UsageError, exceptions.NoArgsIsHelpError, exceptions.ClickException


def conventional_argument_help() -> None:
    """Show arguments as click and git do: ``Usage: score load [OPTIONS] PATHS...`` and
    ``PATHS...  Files, folders...`` in the help. typer 0.29 writes ``{paths}...`` in the usage
    line and adds the Python type (``<list[str]>``) to the help, which reads as if a value
    followed. Replaces ``TyperArgument._usage_display_name``, ``_rich_display_name`` and
    ``display_type_rich`` (private, typer 0.29); options get their metavars publicly."""
    from typer.core import TyperArgument

    def name(param: Any) -> str:
        text = param.metavar or param.name.upper()
        return text + ("..." if param.nargs != 1 and not text.endswith("...") else "")

    def usage(param: Any) -> str:
        return name(param) if param.required else f"[{name(param)}]"

    TyperArgument._usage_display_name = usage  # type: ignore[method-assign]
    TyperArgument._rich_display_name = name  # type: ignore[method-assign]
    TyperArgument.display_type_rich = lambda self, ctx: None  # type: ignore[method-assign]
