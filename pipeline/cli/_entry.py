"""The `score` console entry point: run the app, stop cleanly on signals, then end at once.

Signals: SIGINT, SIGTERM and SIGHUP each stop the command the same way -- an exception that
unwinds it, so every output being written is dropped and its temporary file removed -- then
one line on standard error and the conventional status (128 + the signal's number).

Ending at once: when a command returns, its output is flushed and renamed into place and its
workers are gone; what remains is Python tearing down every module it imported (scipy,
scikit-learn, pandas: a large share of a short run's time, see docs/performance.md). So exit
handlers run, the standard streams are flushed, and the teardown is skipped.
"""

from __future__ import annotations

import contextlib
import os
import signal
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
    """Run `score` with the command line's arguments; exit with its status, skipping teardown."""
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
