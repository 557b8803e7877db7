"""SnapStart: INIT once, then every environment restored from the initialised process.

:class:`SnapStartEmulator` is an :class:`~lambda_kit_dev.emulator.Emulator` whose
environments are restored from a snapshot rather than initialised. The snapshot is
taken once, before the first invocation, as Lambda takes it when a version is
published: the runtime client starts with ``AWS_LAMBDA_INITIALIZATION_TYPE=snap-start``,
imports the handler (INIT) and runs the before-snapshot hooks (in reverse order of
registration, as awslambdaric does), then calls ``/runtime/restore/next``. There the
emulator's bootstrap shim (``_shim/_lambda_kit_snapstart.py``) keeps the process as
the snapshot and forks it once per restore: each restored environment *is* the
initialised process, with its memory, its module state, its random state and its
open sockets, as after a Lambda restore. The child calls ``/restore/next`` for real,
the runtime client runs the after-restore hooks, and its first ``/next`` ends the
restore: the REPORT line shows ``Restore Duration`` (from the restore to that
``/next``) instead of ``Init Duration``. A restore that takes longer than Lambda's
10 s fails with ``SnapStartTimeoutException``; an after-restore hook that raises,
with ``Runtime.AfterRestoreError``.

:meth:`SnapStartEmulator.hazards` restores two environments and compares what they
hold, with a second, independent INIT as the reference, and reports what AWS warns
about: values made at INIT that differ between two INITs but are the same in every
restored environment (ids, tokens, random draws), ``random``'s state when the
function's own code uses it, connections opened before the snapshot (the same socket
in two environments), and secrets or credentials fetched during INIT and not fetched
again during the restore.

The runtime client's C part keeps the Runtime API address it found at start-up, so
every restored copy would talk to the snapshot's: a small router on loopback, the
address they all have, sends each connection on to the environment of the process
that opened it (found through ``/proc``). Linux only.

With ``limits`` on, the snapshot's INIT runs at INIT's CPU share under the memory
limit, and each restored environment is put in a control group of its own, at the
invocations' share, before it runs any of the function's code (the restore waits
for it; the time that takes is not counted in Restore Duration). Its memory limit is
Memory Size less what the snapshot process holds: the pages a restored copy shares
with the snapshot are charged to the snapshot's group, so the copy's own group may
hold only the rest (a page the copy rewrites is counted twice, which makes the
limit slightly stricter than Lambda's).

Differences from Lambda: a restored environment is a fork, so threads running in the
snapshot process are not in it (Lambda's snapshot of the micro VM keeps them);
Lambda offers SnapStart for Python 3.12 and later only, the emulator runs it with
any interpreter; Lambda does not document the CPU a restore runs with, the emulator
gives it the invocations' share.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, replace

from lambda_kit_dev.emulator._emulator import Emulator
from lambda_kit_dev.emulator._environment import Environment, _Pending, proc_status_kib
from lambda_kit_dev.exceptions import EmulatorError, HandlerNotReadyError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from lambda_kit_dev.emulator._cgroup import Limits
    from lambda_kit_dev.emulator._config import FunctionConfig
    from lambda_kit_dev.emulator._report import Invocation

__all__ = ["RESTORE_LIMIT_S", "Hazard", "SnapStartEmulator"]

RESTORE_LIMIT_S = 10.0
"""Lambda's limit on a restore plus the after-restore hooks."""

# Operations whose result, fetched during INIT, every restored environment would share.
SENSITIVE_OPERATIONS = frozenset(
    {
        "secretsmanager.GetSecretValue",
        "secretsmanager.BatchGetSecretValue",
        "ssm.GetParameter",
        "ssm.GetParameters",
        "ssm.GetParametersByPath",
        "kms.Decrypt",
        "kms.GenerateDataKey",
        "sts.AssumeRole",
        "sts.AssumeRoleWithWebIdentity",
        "sts.GetSessionToken",
        "sso.GetRoleCredentials",
    }
)


@dataclass(frozen=True)
class Hazard:
    """Something two environments restored from one snapshot share that they should not.

    Attributes:
        kind: ``"unique-value"``, ``"random-state"``, ``"connection"`` or ``"init-fetch"``.
        name: What it is: ``module.NAME``, a module list, a peer address, an operation.
        advice: What to do about it, in a sentence.
    """

    kind: str
    name: str
    advice: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.name}: {self.advice}"


class _Forked:
    """The restored runtime, as much of ``subprocess.Popen`` as Environment uses."""

    def __init__(self) -> None:
        self.pid = 0
        self.returncode: int | None = None


class _Router:
    """A loopback TCP router: each connection goes on to the environment of its process."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self._routes: dict[int, int] = {}  # pid -> port of its environment's Runtime API
        self._cond = threading.Condition()
        self._closed = False
        threading.Thread(target=self._accept, name="lambda-kit-snapstart-router", daemon=True).start()

    def route(self, pid: int, port: int) -> None:
        with self._cond:
            self._routes[pid] = port
            self._cond.notify_all()

    def forget(self, pid: int) -> None:
        with self._cond:
            self._routes.pop(pid, None)

    def close(self) -> None:
        self._closed = True
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                connection, peer = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(connection, peer[1]), daemon=True).start()

    def _serve(self, connection: socket.socket, peer_port: int) -> None:
        port = self._port_of(peer_port, connection.getsockname()[1])
        if port is None:
            connection.close()
            return
        try:
            upstream = socket.create_connection(("127.0.0.1", port))
        except OSError:
            connection.close()
            return
        for end in (connection, upstream):
            end.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=_pump, args=(upstream, connection), daemon=True).start()
        _pump(connection, upstream)

    def _port_of(self, peer_port: int, own_port: int) -> int | None:
        """The Runtime API port for the process whose socket has local port ``peer_port``."""
        inode = _inode_of(peer_port, own_port)
        deadline = time.monotonic() + 5.0
        while inode is not None and time.monotonic() < deadline:
            with self._cond:
                routes = dict(self._routes)
            for pid, port in routes.items():
                if _holds(pid, inode):
                    return port
            with self._cond:  # a restore whose pid is not known yet
                self._cond.wait(0.05)
        return None


def _pump(source: socket.socket, target: socket.socket) -> None:
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            target.sendall(data)
    except OSError:
        pass
    finally:
        for end in (source, target):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        source.close()


def _inode_of(local_port: int, remote_port: int) -> str | None:
    """The inode of the loopback TCP socket from ``local_port`` to ``remote_port`` (from
    /proc/net/tcp), leaving out ended connections (TIME_WAIT has no inode) that used the
    same ports before."""
    local, remote = f"0100007F:{local_port:04X}", f"0100007F:{remote_port:04X}"
    try:
        with open("/proc/net/tcp") as table:
            next(table)
            for line in table:
                fields = line.split()
                if len(fields) > 9 and fields[1] == local and fields[2] == remote and fields[9] != "0":
                    return fields[9]
    except (OSError, StopIteration):
        return None
    return None


def _holds(pid: int, inode: str) -> bool:
    target = f"socket:[{inode}]"
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                    return True
            except OSError:
                continue
    except OSError:
        return False
    return False


class Snapshot:
    """One initialised runtime kept as a snapshot, forked once per restore."""

    def __init__(self, config: FunctionConfig, limits: Limits | None = None) -> None:
        self._directory = tempfile.mkdtemp(prefix="lambda-kit-snapstart-")
        self._path = os.path.join(self._directory, "control")
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._listener.bind(self._path)
        self._listener.listen(1)
        self.router = _Router()
        env = {
            **config.env,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start",
            "AWS_LAMBDA_RUNTIME_API": self.router.address,
            "_LAMBDA_KIT_SNAPSTART": self._path,
        }
        self.environment = Environment(replace(config, env=env), limits=limits)
        self._control: socket.socket | None = None
        self._cond = threading.Condition()
        self._lock = threading.Lock()  # one restore at a time on the control socket
        self._pids: list[int] = []
        self._exits: dict[int, int] = {}
        self.init_duration_ms: float | None = None
        self.init_output = ""
        self.init_calls: dict[str, int] = {}
        self.fingerprint: dict[str, Any] = {}
        self.error: dict[str, Any] | None = None
        self.closed = False

    def take(self, timeout_s: float) -> None:
        """Start the runtime and wait for INIT and the before-snapshot hooks to end.

        Raises:
            EmulatorError: INIT or a before-snapshot hook failed, or took longer than
                ``timeout_s`` (the message holds the error and INIT's output).
        """
        environment = self.environment
        pending = _Pending("snapshot", b"{}", "application/json")
        environment._pending = pending  # records an /init/error, as for an invocation
        environment.spawn()
        if environment.runtime_pid is not None:
            self.router.route(environment.runtime_pid, environment._server.server_address[1])
        deadline = time.monotonic() + timeout_s
        self._listener.settimeout(0.05)
        while self._control is None:
            try:
                self._control, _ = self._listener.accept()
            except TimeoutError:
                if environment.dead or pending.finished_at is not None or time.monotonic() > deadline:
                    break
        ended = time.perf_counter()
        if self._control is None:
            timed_out = not environment.dead and pending.finished_at is None
            environment.kill_group()
            time.sleep(0.05)
            output = environment._output.take().decode("utf-8", "replace") if environment._output else ""
            if timed_out:
                self.error = {
                    "errorType": "Sandbox.Timedout",
                    "errorMessage": f"INIT of the snapshot timed out after {timeout_s:.2f} seconds",
                }
            elif pending.kind == "init_error":
                self.error = json.loads(pending.body or b"{}")
            else:
                self.error = {
                    "errorType": "Runtime.ExitError",
                    "errorMessage": "The runtime exited during INIT or a before-snapshot hook.",
                }
            self.init_output = output
            raise EmulatorError(
                f"SnapStart: the snapshot could not be taken: {self.error.get('errorType')}: "
                f"{self.error.get('errorMessage')}\n{output}",
                code="SnapStartNotReadyException",
            )
        self._control.settimeout(None)
        message = self._control.recv(1 << 20)
        self.init_duration_ms = (ended - environment.spawned_at) * 1000.0
        environment._pending = None
        self.init_output = (
            environment._output.take().decode("utf-8", "replace") if environment._output else ""
        )
        self.init_calls = _calls(environment._calls.take() if environment._calls else b"")
        _, _, rest = message.partition(b" ")
        _, _, document = rest.partition(b" ")
        try:
            self.fingerprint = json.loads(document)
        except ValueError:
            self.fingerprint = {}
        threading.Thread(target=self._read_control, name="lambda-kit-snapstart", daemon=True).start()

    def restore(self, out: int, calls: int, report: int, go: int) -> int:
        """Fork a restored runtime with these descriptors; its pid (it waits for a byte on ``go``)."""
        with self._lock:
            control = self._control
            if control is None or self.closed:
                raise HandlerNotReadyError("The SnapStart snapshot is not available.")
            with self._cond:
                known = len(self._pids)
            try:
                socket.send_fds(control, [b"F"], [out, calls, report, go])
            except OSError:
                raise HandlerNotReadyError("The SnapStart snapshot process has ended.") from None
            with self._cond:
                if not self._cond.wait_for(lambda: len(self._pids) > known or self.closed, timeout=30.0):
                    raise HandlerNotReadyError("The SnapStart snapshot process did not restore.")
                if len(self._pids) <= known:
                    raise HandlerNotReadyError("The SnapStart snapshot process has ended.")
                return self._pids[known]

    def exit_status(self, pid: int, timeout: float) -> int | None:
        """The restored runtime's exit status once the snapshot process reaped it."""
        with self._cond:
            self._cond.wait_for(lambda: pid in self._exits or self.closed, timeout=timeout)
            return self._exits.get(pid)

    def _read_control(self) -> None:
        control = self._control
        if control is None:  # pragma: no cover - take() sets it first
            return
        while True:
            try:
                message = control.recv(4096)
            except OSError:
                message = b""
            fields = message.split()
            with self._cond:
                if not message:
                    self.closed = True
                    self._cond.notify_all()
                    return
                if fields[0] == b"P" and len(fields) == 2:
                    self._pids.append(int(fields[1]))
                elif fields[0] == b"X" and len(fields) == 3:
                    self._exits[int(fields[1])] = int(fields[2])
                self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()
        if self._control is not None:
            try:
                self._control.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._control.close()
        self._listener.close()
        self.environment.close()
        self.router.close()
        shutil.rmtree(self._directory, ignore_errors=True)


def _calls(data: bytes) -> dict[str, int]:
    from lambda_kit_dev.emulator._environment import parse_calls

    return parse_calls(data)


class RestoredEnvironment(Environment):
    """An execution environment restored from a :class:`Snapshot` (a fork of it)."""

    def __init__(self, snapshot: Snapshot, config: FunctionConfig, limits: Limits | None = None) -> None:
        super().__init__(replace(config, init_timeout_s=RESTORE_LIMIT_S), limits=limits)
        self._snapshot = snapshot
        self._pid: int | None = None
        self.fingerprint: dict[str, Any] | None = None
        self._fingerprint_read: threading.Thread | None = None

    @property
    def runtime_pid(self) -> int | None:
        return self._pid

    def spawn(self) -> None:
        """Restore: fork the snapshot with this environment's pipes (the restore clock starts)."""
        from lambda_kit_dev.emulator._environment import _Pipe

        if self._limits is not None:
            self._limits.prepare()  # calibrated once, before the restore clock starts
        out_read, out_write = os.pipe()
        calls_read, calls_write = os.pipe()
        report_read, report_write = os.pipe()
        go_read, go_write = os.pipe()
        process = _Forked()
        self.process = process  # type: ignore[assignment]  # what Environment uses of a Popen
        self.spawned_at = time.perf_counter()
        try:
            pid = self._snapshot.restore(out_write, calls_write, report_write, go_read)
        except BaseException:
            self.dead = True
            for fd in (out_read, calls_read, report_read, go_write):
                os.close(fd)
            raise
        finally:
            for fd in (out_write, calls_write, report_write, go_read):
                os.close(fd)
        process.pid = self._pid = pid
        try:
            if self._limits is not None:
                started = time.perf_counter()
                self._group = self._limits.enter(pid, init=False, memory_bytes=self._memory_left())
                self.spawned_at += time.perf_counter() - started  # not the restore's time
            os.write(go_write, b"g")
        except OSError:
            pass  # the copy has gone already: its watcher reports the exit
        finally:
            os.close(go_write)
        self._snapshot.router.route(pid, self._server.server_address[1])
        self._output = _Pipe(out_read)
        self._calls = _Pipe(calls_read) if self.config.count_aws_calls else None
        if self._calls is None:
            os.close(calls_read)
        self._fingerprint_read = threading.Thread(
            target=self._read_fingerprint, args=(report_read,), daemon=True
        )
        self._fingerprint_read.start()
        threading.Thread(target=self._watch, name="lambda-kit-restored-watch", daemon=True).start()

    def _memory_left(self) -> int:
        """Memory Size less what the snapshot process holds (its pages are charged to its group)."""
        total = self.config.memory_mb << 20
        pid = self._snapshot.environment.runtime_pid
        held = (proc_status_kib(pid, b"VmRSS") or 0) << 10 if pid is not None else 0
        return max(total - held, 4 << 20)

    def _read_fingerprint(self, fd: int) -> None:
        chunks = []
        try:
            while True:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            os.close(fd)
        try:
            self.fingerprint = json.loads(b"".join(chunks))
        except ValueError:
            self.fingerprint = None

    def wait_fingerprint(self, timeout: float) -> dict[str, Any] | None:
        if self._fingerprint_read is not None:
            self._fingerprint_read.join(timeout)
        return self.fingerprint

    def _watch(self) -> None:
        pid = self._pid
        if pid is None:  # pragma: no cover - spawn() sets it first
            return
        status: int | None = None
        while status is None and not self._snapshot.closed:
            status = self._snapshot.exit_status(pid, timeout=1.0)
        self._snapshot.router.forget(pid)
        with self._cond:
            self.dead = True
            self.exit_status = -9 if status is None else status
            if self.process is not None:
                self.process.returncode = self.exit_status
            self._queue.append(None)
            self._cond.notify_all()

    def kill_group(self) -> None:
        pid = self._pid
        if pid is None or self.exit_status is not None:
            return
        for kill in (os.killpg, os.kill):
            try:
                kill(pid, 9)
            except OSError:
                pass

    def _outcome(self, pending: _Pending, *, cold: bool, timed_out: bool) -> Invocation:
        invocation = super()._outcome(pending, cold=cold, timed_out=timed_out)
        if not cold:
            return invocation
        report = invocation.report
        error = invocation.error
        restore_ms = report.init_duration_ms
        if pending.handed_out_at is None and error is not None:  # the restore failed
            if timed_out:
                error = {
                    "errorType": "SnapStartTimeoutException",
                    "errorMessage": f"RequestId: {pending.request_id} Error: the restore and its "
                    f"after-restore hooks took longer than {RESTORE_LIMIT_S:.0f} seconds",
                }
            elif pending.kind == "init_error":
                error = {**error, "errorType": "Runtime.AfterRestoreError"}
        report = replace(
            report,
            init_duration_ms=None,
            restore_duration_ms=restore_ms,
            init_status=None,
            billed_duration_ms=report.billed(report.duration_ms, None),
            error_type=None if error is None else str(error.get("errorType")),
        )
        payload = invocation.payload if error is invocation.error else json.dumps(error).encode()
        return replace(invocation, report=report, error=error, payload=payload)


class SnapStartEmulator(Emulator):
    """An :class:`~lambda_kit_dev.emulator.Emulator` with SnapStart (see the module docstring).

    Takes the same arguments. The snapshot is taken before the first invocation
    (``init_timeout_s`` bounds it); every environment is restored from it.

    Example:
        >>> with SnapStartEmulator("app.handler", task_root="examples/plain") as fn:  # doctest: +SKIP
        ...     first = fn.invoke({})
        ...     print(first.report.report_line())   # ... Restore Duration: 4.12 ms
        ...     print([str(h) for h in fn.hazards({})])
    """

    def __init__(self, handler: str, **options: Any) -> None:
        if options.get("tenant_isolation"):
            from lambda_kit.exceptions import ConfigurationError

            raise ConfigurationError(
                "SnapStart and tenant isolation do not go together: Lambda refuses a function with both.",
                setting="tenant_isolation",
                value=True,
            )
        super().__init__(handler, **options)
        self._snapshot: Snapshot | None = None
        self._snapshot_lock = threading.Lock()

    @property
    def snapshot(self) -> Snapshot:
        """The snapshot, taken now if it has not been (INIT and the before-snapshot hooks)."""
        with self._snapshot_lock:
            if self._snapshot is None:
                self._prepare_aws()
                snapshot = Snapshot(self.config, self.limits)
                try:
                    snapshot.take(self.config.init_timeout_s)
                except BaseException:
                    snapshot.close()
                    raise
                self._snapshot = snapshot
            return self._snapshot

    def _create_environment(self) -> Environment:
        return RestoredEnvironment(self.snapshot, self.config, self.limits)

    def hazards(self, event: Any = None) -> list[Hazard]:
        """Restore two environments, invoke each once, and report what they share.

        A second, independent INIT (a snapshot taken and dropped) tells values made
        at INIT apart from constants.
        """
        snapshot = self.snapshot
        payload = json.dumps({} if event is None else event).encode()
        restored: list[RestoredEnvironment] = []
        try:
            for _ in range(2):
                environment = RestoredEnvironment(snapshot, self.config, self.limits)
                restored.append(environment)
                environment.invoke(payload, "application/json")
            prints = [environment.wait_fingerprint(5.0) or {} for environment in restored]
            restore_calls = [environment.init_calls for environment in restored]
        finally:
            for environment in restored:
                environment.close()
        other = Snapshot(self.config)
        try:
            other.take(self.config.init_timeout_s)
            reference = other.fingerprint
        finally:
            other.close()
        return compare(
            prints[0], prints[1], snapshot.fingerprint, reference, snapshot.init_calls, restore_calls[0]
        )

    def close(self) -> None:
        super().close()
        with self._snapshot_lock:
            if self._snapshot is not None:
                self._snapshot.close()
                self._snapshot = None


def compare(
    first: dict[str, Any],
    second: dict[str, Any],
    snapshot: dict[str, Any],
    reference: dict[str, Any],
    init_calls: dict[str, int],
    restore_calls: dict[str, int],
) -> list[Hazard]:
    """The hazards that two restored environments' fingerprints show.

    ``snapshot`` and ``reference`` are the fingerprints of two independent INITs (the
    snapshot's and another), taken at the same point, before any hook: a value that
    differs between them was made at INIT to be unique; it is a hazard when both
    restored environments still hold the snapshot's.
    """
    hazards: list[Hazard] = []
    values_a, values_b = first.get("values", {}), second.get("values", {})
    values_snapshot, values_ref = snapshot.get("values", {}), reference.get("values", {})
    for name in sorted(values_a):
        unique_per_init = name in values_ref and values_ref[name] != values_snapshot.get(name)
        if unique_per_init and values_a[name] == values_b.get(name) == values_snapshot.get(name):
            hazards.append(
                Hazard(
                    "unique-value",
                    name,
                    "made during INIT, it differs between two INITs but is the same in every "
                    "environment restored from one snapshot: make it again in an after-restore hook.",
                )
            )
    random_a, random_b = first.get("random", {}), second.get("random", {})
    users = random_a.get("used_by") or []
    if users and random_a.get("state") is not None and random_a.get("state") == random_b.get("state"):
        hazards.append(
            Hazard(
                "random-state",
                ", ".join(users),
                "random's state is the same in every restored environment, so they all draw the "
                "same numbers: reseed it (random.seed()) in an after-restore hook, or use "
                "secrets / os.urandom.",
            )
        )
    for name, state in sorted((first.get("randoms") or {}).items()):
        if (second.get("randoms") or {}).get(name) == state:
            hazards.append(
                Hazard(
                    "random-state",
                    name,
                    "this random.Random holds the same state in every restored environment: "
                    "reseed it in an after-restore hook.",
                )
            )
    sockets_b = second.get("sockets") or {}
    for inode, peer in sorted((first.get("sockets") or {}).items()):
        if inode in sockets_b:
            hazards.append(
                Hazard(
                    "connection",
                    peer or f"socket {inode}",
                    "a connection opened before the snapshot is shared by every restored "
                    "environment: close it in a before-snapshot hook and reopen it after the restore.",
                )
            )
    for operation, count in sorted(init_calls.items()):
        if operation in SENSITIVE_OPERATIONS and restore_calls.get(operation, 0) < count:
            hazards.append(
                Hazard(
                    "init-fetch",
                    operation,
                    "called during INIT and not again during the restore: every restored environment "
                    "holds the result the snapshot took (a rotated secret, expired credentials). "
                    "Fetch it again in an after-restore hook.",
                )
            )
    return hazards
