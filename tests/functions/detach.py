"""Handlers that start processes which leave the runtime's process group and session."""

import os
import subprocess
import time


def _double_fork() -> int:
    """A daemon the classic way: fork, setsid, fork again, the middle one exits."""
    read, write = os.pipe()
    middle = os.fork()
    if middle == 0:
        try:
            os.setsid()
            if os.fork() == 0:
                os.write(write, b"%d\n" % os.getpid())
                os.execv("/bin/sleep", ["sleep", "300"])  # noqa: S606 - a fixed program
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(middle, 0)  # the daemon is now an orphan, reparented away from us
    with os.fdopen(read, "rb") as pipe:
        return int(pipe.readline())


def _detach() -> list[int]:
    session = subprocess.Popen(["/bin/sleep", "300"], start_new_session=True)
    return [session.pid, _double_fork()]


def spawn(event, context):
    return {"pids": _detach(), "runtime": os.getpid()}


def spawn_then_exit(event, context):
    print("pids " + " ".join(map(str, _detach())), flush=True)
    os._exit(3)


def spawn_then_hang(event, context):
    print("pids " + " ".join(map(str, _detach())), flush=True)
    time.sleep(60)
