"""The ordered worker pool: order, back-pressure, errors, and no worker outliving its parent."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from pipeline.errors import WorkerDiedError
from pipeline.parallel.pool import OrderedPool


def _slow_square(item: int) -> int:
    time.sleep(0.002 * (item % 3))  # later items often finish first
    return item * item


def _fail_on_three(item: int) -> int:
    if item == 3:
        raise ValueError("three is bad")
    return item


@pytest.mark.parametrize("jobs", [1, 2])
def test_results_come_back_in_submission_order(jobs: int) -> None:
    got = []
    with OrderedPool(_slow_square, jobs, max_bytes=10**9) as pool:
        for item in range(40):
            got.extend(pool.submit(item))
            if item == 20:
                got.extend(pool.put_result("walk error"))
        got.extend(pool.drain())
    expected = [i * i for i in range(21)] + ["walk error"] + [i * i for i in range(21, 40)]
    assert got == expected


def test_in_flight_is_bounded_by_count_and_bytes() -> None:
    with OrderedPool(_slow_square, 2, max_bytes=10**9) as pool:
        peak = 0
        for item in range(50):
            for _ in pool.submit(item):
                pass
            peak = max(peak, len(pool.in_flight))
        assert peak <= 2 * 2 + 1
        list(pool.drain())
    with OrderedPool(_slow_square, 2, max_bytes=100) as pool:
        for item in range(20):
            for _ in pool.submit(item, nbytes=60):
                pass
            assert pool.held_bytes <= 100 + 60
        list(pool.drain())


def test_a_task_error_reaches_the_caller_in_order() -> None:
    got = []
    with (
        OrderedPool(_fail_on_three, 2, max_bytes=10**9) as pool,
        pytest.raises(ValueError, match="three is bad"),
    ):
        for item in range(6):
            got.extend(pool.submit(item))
        got.extend(pool.drain())
    assert got == [0, 1, 2]  # every result before the failing task, in order


def test_leaving_the_pool_ends_its_workers() -> None:
    with OrderedPool(_slow_square, 2, max_bytes=10**9) as pool:
        list(pool.submit(1))
        assert multiprocessing.active_children()
    assert multiprocessing.active_children() == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_workers_end_when_their_parent_is_killed(tmp_path) -> None:
    """SIGKILL of the parent (as the OOM killer does) must not leave workers running."""
    script = textwrap.dedent(
        """
        import multiprocessing, sys, time
        from pipeline.parallel.pool import OrderedPool

        def nap(item):
            time.sleep(60)

        pool = OrderedPool(nap, 2, max_bytes=10**9)
        list(pool.submit(1))
        list(pool.submit(2))
        print(" ".join(str(p.pid) for p in multiprocessing.active_children()), flush=True)
        time.sleep(60)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=os.getcwd()
    )
    assert proc.stdout is not None
    workers = [int(pid) for pid in proc.stdout.readline().split()]
    assert len(workers) == 2
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    deadline = time.monotonic() + 10
    alive = workers
    while alive and time.monotonic() < deadline:
        alive = [pid for pid in workers if _running(pid)]
        time.sleep(0.05)
    assert not alive, f"workers outlived their parent: {alive}"


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"  # a zombie has ended
    except FileNotFoundError:
        return False


def test_a_killed_worker_is_an_error_not_a_hang() -> None:
    """multiprocessing.Pool would wait forever for the task of a worker the OOM killer took."""
    with (
        OrderedPool(_kill_self_on_two, 2, max_bytes=10**9) as pool,
        pytest.raises(WorkerDiedError, match="worker process died"),
    ):
        for item in range(6):
            list(pool.submit(item))
        list(pool.drain())


def _kill_self_on_two(item: int) -> int:
    if item == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return item


def test_stopping_a_busy_stream_early_never_hangs_or_leaks(tmp_path) -> None:
    """Workers killed while sending large results must not leave the executor waiting for
    the rest of a message (it used to hang in about half of the runs), nor leave threads or
    descriptors behind."""
    dump = tmp_path / "dump.jsonl"
    line = json.dumps({"title": "t" * 2000, "excerpt": "e" * 2000, "quality": 3})
    dump.write_text((line + "\n") * 20_000)
    script = textwrap.dedent(
        f"""
        import os, threading
        from pipeline.load import iter_batches

        counts = []
        for _ in range(4):
            batches = iter_batches([{str(dump)!r}], batch_size=500, jobs=4)
            next(batches)
            batches.close()
            counts.append(len(os.listdir("/proc/self/fd")))
        print(counts[0] == counts[-1], threading.active_count())
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "1"]


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_worker_killed_while_sending_its_result_is_an_error_not_a_hang(jobs) -> None:
    """The executor never notices a worker that dies half-way through a result (its thread
    waits for the rest of the message): the pool must, and say so."""
    script = textwrap.dedent(
        f"""
        import multiprocessing.connection as mc, os, signal, sys
        import pipeline.parallel.pool as pool_module
        from pipeline.errors import WorkerDiedError

        pool_module.LIVENESS_POLL = 0.1

        def half_then_die(self, buf, write=os.write):
            buf = memoryview(buf)
            if len(buf) > 16384:  # the result itself, not its length header
                write(self._handle, buf[: len(buf) // 2])
                os.kill(os.getpid(), signal.SIGKILL)
            while len(buf):
                buf = buf[write(self._handle, buf):]

        def task(item):
            if item == 1:
                mc.Connection._send = half_then_die  # in this worker only
            return b"x" * 1_000_000

        pool = pool_module.OrderedPool(task, {jobs}, fork=True, max_bytes=10**9)
        with pool:
            try:
                for item in range(4):
                    list(pool.submit(item))
                list(pool.drain())
            except WorkerDiedError as exc:
                print("died:", exc)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("died: a worker process died"), done.stdout
