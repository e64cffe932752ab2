"""The `score` console entry point: run the app, stop cleanly on signals, exit with a status.

Signals: SIGINT, SIGTERM and SIGHUP each stop the command the same way -- an exception that
unwinds it, so every output being written is dropped and its temporary file removed -- then
one line on standard error and the conventional status (128 + the signal's number). A
standard output that cannot be written (a reader that left, a full disk) is one line too.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys

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


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Stopped(BaseException):
    """A stop signal arrived: unwind the command (outputs are dropped on the way)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _stop(signum: int, frame: object) -> None:
    for number in STOP_SIGNALS:  # a second signal must not interrupt the clean-up
        signal.signal(number, signal.SIG_IGN)
    raise Stopped(signum)


def run() -> None:
    """Run `score` with the command line's arguments; exit with its status."""
    _common.process_ends_after_command = True
    for number in STOP_SIGNALS:
        signal.signal(number, _stop)
    try:
        app(prog_name="score")
        status = 0
    except SystemExit as exc:
        status = exit_status(exc.code)
    except Stopped as exc:
        status = 128 + exc.signum
        name = signal.Signals(exc.signum).name
        _say(f"error: stopped by {name}; nothing was left half-written")
    except KeyboardInterrupt:
        status = 130
    except BrokenPipeError:  # the reader of standard output left (`| head`): quietly
        status = 1
        silence_stdout()
    except OSError as exc:  # standard output cannot be written (`--help > full-disk`)
        status = 1
        _say(f"error: cannot write standard output ({one_line(exc)})")
        silence_stdout()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError) as exc:  # e.g. a full disk behind `> file`
            if stream is sys.stdout and status == 0:
                status = 1
                _say(f"error: cannot write standard output ({exc})")
            if stream is sys.stdout:
                silence_stdout()  # the interpreter's own last flush must not fail again
    sys.exit(status)


def _say(message: str) -> None:
    with contextlib.suppress(OSError):
        os.write(2, f"{message}\n".encode())
