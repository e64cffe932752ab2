"""The `score` console entry point: run the app, then end the process at once.

Why: when a command returns, its output is flushed and renamed into place and its workers
are gone; what remains is Python tearing down every module it imported. For scipy,
scikit-learn and pandas that teardown took 0.3-0.4 s, a fifth of a one-record
`score predict` (measured: ``bench/startup.py``). The process is about to end, so exit
handlers run, the standard streams are flushed, and the teardown is skipped.
"""

from __future__ import annotations

import contextlib
import os
import sys

from pipeline._compat import run_exit_handlers
from pipeline.cli import _common
from pipeline.cli._app import app
from pipeline.cli._common import silence_stdout
from pipeline.errors import one_line


def exit_status(code: object) -> int:
    """The status ``sys.exit(code)`` would end with (a message goes to standard error)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def run() -> None:
    """Run `score` with the command line's arguments; exit with its status, skipping teardown."""
    _common.process_ends_after_command = True
    try:
        app(prog_name="score")
        status = 0
    except SystemExit as exc:
        status = exit_status(exc.code)
    except KeyboardInterrupt:
        status = 130
    except BrokenPipeError:  # the reader of standard output left (`| head`): quietly
        status = 1
        silence_stdout()
    except OSError as exc:  # standard output cannot be written (`--help > full-disk`)
        status = 1
        _say(f"error: cannot write standard output ({one_line(exc)})")
        silence_stdout()
    run_exit_handlers()  # what a normal exit runs first
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError) as exc:  # e.g. a full disk behind `> file`
            if stream is sys.stdout and status == 0:
                status = 1
                _say(f"error: cannot write standard output ({exc})")
    os._exit(status)


def _say(message: str) -> None:
    with contextlib.suppress(OSError):
        os.write(2, f"{message}\n".encode())
