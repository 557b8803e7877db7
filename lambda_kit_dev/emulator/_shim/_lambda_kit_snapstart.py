"""SnapStart in the emulator: the initialised runtime is the snapshot, forked per restore.

Loaded by the bootstrap shim (``sitecustomize.py``) only when the emulator asks for
SnapStart (``_LAMBDA_KIT_SNAPSTART`` names its control socket). The runtime client
runs its own SnapStart protocol: with ``AWS_LAMBDA_INITIALIZATION_TYPE=snap-start``
it imports the handler, runs the before-snapshot hooks, then calls ``restore_next``.
Here that call is where the snapshot is taken: the process tells the emulator it is
ready (with a fingerprint of its state), then forks one child per restore the
emulator asks for. Each child is the initialised process, as a restored Lambda
environment is: it takes the restore's output pipes, calls the runtime API's
``/restore/next`` for real, returns to the runtime client, which runs the
after-restore hooks and starts polling for invocations. At its first poll the child
writes its own fingerprint, so that the emulator can tell what two restored
environments share that they should not.

Messages on the control socket (SOCK_SEQPACKET, one per packet)::

    R <pid> <fingerprint JSON>    the snapshot is ready (sent once)
    F + 4 descriptors             emulator: restore (stdout+stderr, calls, fingerprint, go)
    P <pid>                       the restored child's pid
    X <pid> <exit status>         a restored child has ended (reaped here)

Standard library only.
"""

from __future__ import annotations

import os
import socket
import sys

_SIMPLE = (str, bytes, int, float)
_LIMIT = 50


def install(control_path: str, calls_fd: int | None, roots: tuple[str, ...]) -> None:
    """Make the runtime client's ``restore_next`` take the snapshot and serve restores."""
    import awslambdaric.lambda_runtime_client as client_module  # the client the runtime uses

    global _ROOTS
    _ROOTS = roots

    client_class = client_module.BaseLambdaRuntimeClient
    original = client_class.restore_next

    def restore_next(self):  # type: ignore[no-untyped-def]
        report_fd = _serve_restores(control_path, calls_fd)  # returns in a restored child only
        _fingerprint_at_first_poll(self, report_fd, roots)
        return original(self)

    client_class.restore_next = restore_next


def _serve_restores(control_path: str, calls_fd: int | None) -> int:
    import select

    control = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    control.connect(control_path)
    roots = _ROOTS
    control.sendall(b"R %d " % os.getpid() + _fingerprint(roots).encode())
    while True:
        _reap(control)
        if not select.select([control], [], [], 0.1)[0]:
            continue
        message, fds, _, _ = socket.recv_fds(control, 1024, 4)
        if not message or len(fds) != 4:  # the emulator has gone: no restore will come
            os._exit(0)
        # random reseeds itself in a forked child (os.register_at_fork); a restored
        # Lambda environment keeps the snapshot's state, and so must this copy.
        random_module = sys.modules.get("random")
        state = None if random_module is None else random_module.getstate()
        pid = os.fork()
        if pid == 0:
            if random_module is not None:
                random_module.setstate(state)
            control.close()
            os.setsid()  # a group of its own, which the emulator kills as one
            out, calls, report, go = fds
            os.dup2(out, 1)
            os.dup2(out, 2)
            if calls_fd is not None:
                os.dup2(calls, calls_fd)
            os.close(out)
            os.close(calls)
            # The emulator puts this copy in its control group (its CPU share and memory
            # limit) before it runs a line of the function's code; end of file, not a
            # byte, if the emulator has gone meanwhile.
            os.read(go, 1)
            os.close(go)
            return report
        for fd in fds:
            os.close(fd)
        control.sendall(b"P %d" % pid)


def _reap(control: socket.socket) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        try:
            control.sendall(b"X %d %d" % (pid, os.waitstatus_to_exitcode(status)))
        except OSError:
            pass


def _fingerprint_at_first_poll(client, report_fd: int, roots: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    """Write the fingerprint when the runtime first asks for an invocation (hooks done)."""
    original = client.wait_next_invocation

    def wait_next_invocation():  # type: ignore[no-untyped-def]
        client.wait_next_invocation = original
        try:
            os.write(report_fd, _fingerprint(roots).encode())
        except Exception:  # noqa: S110 - a fingerprint must never break the runtime
            pass
        finally:
            os.close(report_fd)
        return original()

    client.wait_next_invocation = wait_next_invocation


_ROOTS: tuple[str, ...] = ()


def _own_modules(roots: tuple[str, ...]) -> list[tuple[str, object]]:
    """The function's modules (under its code directories) and lambda-kit's."""
    found: list[tuple[str, object]] = []
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None) or ""
        if name == __name__ or name == "sitecustomize":
            continue
        if name.partition(".")[0] == "lambda_kit" or (path and os.path.realpath(path).startswith(roots)):
            found.append((name, module))
    return found


def _digest(value: object) -> str | None:
    """A digest of a plain value (text, numbers, uuids, small containers of them), else None."""
    import hashlib

    text = _plain(value, 0)
    if text is None:
        return None
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:16]


def _plain(value: object, depth: int) -> str | None:
    if isinstance(value, bool) or value is None:
        return None  # flags are the same in every INIT by design
    if isinstance(value, _SIMPLE):
        return repr(value)[:4096]
    uuid_module = sys.modules.get("uuid")
    if uuid_module is not None and isinstance(value, uuid_module.UUID):
        return repr(value)
    if depth >= 2:
        return None
    if isinstance(value, (list, tuple)) and len(value) <= _LIMIT:
        parts = [_plain(item, depth + 1) for item in value]
        kept = [part for part in parts if part is not None]
        return None if len(kept) < len(parts) else "[" + ",".join(kept) + "]"
    if isinstance(value, dict) and len(value) <= _LIMIT:
        entries = [
            f"{key!r}:{_plain(item, depth + 1)}" for key, item in value.items() if isinstance(key, str)
        ]
        return "{" + ",".join(entries) + "}"
    return None


def _random_users(modules: list[tuple[str, object]]) -> list[str]:
    random_module = sys.modules.get("random")
    if random_module is None:
        return []
    users = []
    for name, module in modules:
        for value in list(vars(module).values()):
            if (
                value is random_module
                or getattr(value, "__module__", None) == "random"
                or getattr(value, "__self__", None) is getattr(random_module, "_inst", None)
            ):
                users.append(name)
                break
    return users


def _sockets() -> dict[str, str]:
    """Open sockets of this process: inode to peer address (where /proc tells it)."""
    inodes = {}
    try:
        for fd in os.listdir("/proc/self/fd"):
            try:
                target = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes[target[8:-1]] = "a socket"
    except OSError:
        return {}
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        try:
            with open(table) as file:
                next(file)
                for line in file:
                    fields = line.split()
                    if len(fields) > 9 and fields[9] in inodes:
                        if fields[3] == "0A":  # listening: no peer
                            inodes[fields[9]] = "listening on " + _address(fields[1])
                        else:
                            inodes[fields[9]] = _address(fields[2])
        except (OSError, StopIteration):
            continue
    return inodes


def _address(hex_address: str) -> str:
    host, _, port = hex_address.partition(":")
    try:
        if len(host) == 8:
            host = ".".join(str(int(host[i : i + 2], 16)) for i in (6, 4, 2, 0))
        return f"{host}:{int(port, 16)}"
    except ValueError:
        return hex_address


def _fingerprint(roots: tuple[str, ...]) -> str:
    import json

    modules = _own_modules(roots)
    values = {}
    randoms = {}
    random_module = sys.modules.get("random")
    for name, module in modules:
        for key, value in list(vars(module).items()):
            if key.startswith("__"):
                continue
            if random_module is not None and isinstance(value, random_module.Random):
                randoms[f"{name}.{key}"] = _digest(repr(value.getstate()))
                continue
            digest = _digest(value)
            if digest is not None:
                values[f"{name}.{key}"] = digest
    state = None
    if random_module is not None:
        state = _digest(repr(random_module.getstate()))
    return json.dumps(
        {
            "values": values,
            "randoms": randoms,
            "random": {"state": state, "used_by": _random_users(modules)},
            "sockets": _sockets(),
        }
    )
