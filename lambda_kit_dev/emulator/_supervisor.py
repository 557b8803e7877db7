"""The supervisor of one execution environment: the runtime's parent (internal).

The emulator starts this file as a script (``python -I -S _supervisor.py REPORT GO
COMMAND...``, standard library only) in a new session. It makes itself a *child
subreaper* (Linux's ``PR_SET_CHILD_SUBREAPER``), reports that it is ready, waits for
the emulator's go (the moment INIT starts, so its own start-up is never measured),
then starts the runtime ``COMMAND`` in a session of its own and waits for it.

Whatever the function starts, however it detaches (``start_new_session=True``,
``setsid``, a double fork), stays a descendant of the supervisor: an orphan is
reparented to it, not to init. When the runtime ends (it exits, it crashes, the
emulator kills it, or the emulator sends the supervisor ``SIGTERM``), the supervisor
kills every descendant left, found through ``/proc``, and exits. Orphans that end
earlier are reaped as they end. Where ``prctl`` is not available, the supervisor
still runs the runtime and kills what ``/proc`` shows of its tree, but an orphan
whose parent has died escapes it (the emulator also kills the runtime's process
group, which catches what did not leave it).

It reports to the emulator on the REPORT pipe, one line each::

    S <pid> <subreaper 0|1>   ready; SIGTERM now stops everything
    R <pid>                   the runtime started, with this pid
    E <errno>                 the runtime could not be started
    X <wait status> <maxrss>  how the runtime ended (maxrss in KiB)
"""

from __future__ import annotations

import os
import signal
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from resource import struct_rusage
    from types import FrameType
    from typing import Any

_PR_SET_CHILD_SUBREAPER = 36  # <linux/prctl.h>
SWEEP_LIMIT_S = 5.0


def set_child_subreaper() -> bool:
    """``prctl(PR_SET_CHILD_SUBREAPER, 1)`` for this process; False where it is not possible."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
        prctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong)
        prctl.restype = ctypes.c_int
        return bool(prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (ImportError, OSError, AttributeError):  # no ctypes, no libc symbol
        return False


def descendants(root: int) -> list[int]:
    """The live (not zombie) descendants of ``root``, from ``/proc``; [] without it."""
    children: dict[int, list[int]] = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return []
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as stat:
                # "pid (comm) state ppid ...": comm may hold spaces and parentheses
                fields = stat.read().rpartition(b")")[2].split()
            if fields[0] != b"Z":
                children.setdefault(int(fields[1]), []).append(int(name))
        except (OSError, IndexError, ValueError):  # gone meanwhile, or unreadable
            continue
    found: list[int] = []
    pending = [root]
    while pending:  # a tree: each process has one parent, so none is found twice
        children_found = children.get(pending.pop(), [])
        found += children_found
        pending += children_found
    return found


def reap_children() -> None:
    """Reap every child of this process that has ended, without waiting."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def kill_descendants(
    root: int, *, reap: Callable[[], None] = reap_children, limit_s: float = SWEEP_LIMIT_S
) -> None:
    """SIGKILL every descendant of ``root`` until none is left (or ``limit_s`` passes).

    Each pass kills all the descendants found at once, so none can react; one forked
    meanwhile, or reparented to ``root`` when its parent died, is found by the next.
    A process that may not be signalled (another user's) is left alone.
    """
    import time

    deadline = time.monotonic() + limit_s
    refused: set[int] = set()
    while True:
        victims = [pid for pid in descendants(root) if pid not in refused]
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            except PermissionError:
                refused.add(pid)
        reap()
        if not victims or time.monotonic() > deadline:
            return
        time.sleep(0.001)


def kill_runtime(pid: int) -> None:
    """SIGKILL the runtime and its process group (gone already is fine)."""
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
        except OSError:
            pass


def _report(fd: int, line: bytes) -> None:
    try:
        os.write(fd, line)
    except OSError:  # the emulator has gone away: nobody to tell
        pass


class _Stop(Exception):
    """SIGTERM before the runtime was started: nothing to do but leave."""


class _State:
    phase = "waiting"  # then "running", then "ending" once the runtime is reaped
    runtime = 0


def _wait_any(runtime: int) -> tuple[int, int, struct_rusage]:  # pragma: no cover - reaps any child
    return os.wait4(-1, 0)  # adopted orphans too, so that none stays a zombie (tests wait for theirs)


# What subprocess resets for its children (Python itself ignores SIGPIPE and SIGXFSZ).
_DEFAULT_SIGNALS = tuple(getattr(signal, name) for name in ("SIGPIPE", "SIGXFSZ") if hasattr(signal, name))


def _spawn(command: Sequence[str]) -> int:
    """Start the runtime in a session of its own (a process group where that is missing)."""
    options: dict[str, Any] = {"setsigmask": (), "setsigdef": _DEFAULT_SIGNALS}  # as subprocess would
    environment = os.environb if os.supports_bytes_environ else os.environ  # byte for byte
    try:
        return os.posix_spawnp(command[0], list(command), environment, setsid=True, **options)
    except NotImplementedError:  # no POSIX_SPAWN_SETSID (an older macOS)
        return os.posix_spawnp(command[0], list(command), environment, setpgroup=0, **options)


def run(
    report_fd: int,
    go_fd: int,
    command: Sequence[str],
    *,
    subreaper: Callable[[], bool] = set_child_subreaper,
    wait: Callable[[int], tuple[int, int, struct_rusage]] = _wait_any,
    sweep: Callable[[], None] | None = None,
) -> int:
    """Supervise one runtime from start to end; returns this process's exit status.

    ``subreaper``, ``wait`` and ``sweep`` are what a test replaces to run this in its
    own process.
    """
    os.set_inheritable(report_fd, False)  # the runtime gets neither pipe
    os.set_inheritable(go_fd, False)
    state = _State()

    def on_term(signum: int, frame: FrameType | None) -> None:
        if state.phase == "waiting":
            raise _Stop
        if state.phase == "running":
            kill_runtime(state.runtime)
        # "ending": the sweep is under way already

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        try:
            _report(report_fd, b"S %d %d\n" % (os.getpid(), subreaper()))
            go = os.read(go_fd, 1)
        finally:
            os.close(go_fd)
        if not go:  # the emulator closed the pipe instead: it will not invoke
            return 0
        # SIGTERM waits while the runtime starts, so that it always finds the pid.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        try:
            runtime = _spawn(command)
        except OSError as error:
            state.phase = "ending"  # nothing to stop
            _report(report_fd, b"E %d\n" % (error.errno or 0))
            return 0
        else:
            state.phase, state.runtime = "running", runtime
            _report(report_fd, b"R %d\n" % runtime)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
        while True:
            pid, wait_status, usage = wait(runtime)
            if pid == runtime:
                state.phase = "ending"  # reaped: its pid may be reused, never signal it again
                _report(report_fd, b"X %d %d\n" % (wait_status, usage.ru_maxrss))
                break
        if sweep is None:
            kill_descendants(os.getpid())
        else:
            sweep()
        return 0
    except _Stop:  # SIGTERM before the runtime started: nothing to stop
        return 0
    except BaseException:
        if state.phase == "running":  # a fault of ours: leave nothing unsupervised
            kill_runtime(state.runtime)
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
        os.close(report_fd)


if __name__ == "__main__":
    sys.exit(run(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]))
