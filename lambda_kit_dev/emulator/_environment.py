"""One emulated execution environment: a Runtime API server and an awslambdaric child.

The server is the standard library's threaded HTTP server speaking HTTP/1.1 with
keep-alive and TCP_NODELAY (awslambdaric keeps one libcurl connection open; Nagle
plus delayed ACKs would add ~40 ms per request). Each environment has its own
server on an ephemeral loopback port, so environments never share state and can run
side by side.

Timeline of an invocation, and what is measured::

    spawn ──INIT── first GET /next ─┐ (cold only)
    invoke() ─ event handed out on /next ──Duration── POST /response or /error

The child's stdout and stderr share one pipe (as they share one CloudWatch log
stream). Python in the child is unbuffered, so everything the function wrote before
posting its response is in the pipe when the response arrives; the server drains it
then, and so attributes output to the right invocation without any sleep.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from lambda_kit_dev.emulator._cgroup import LIMITS_OFF
from lambda_kit_dev.emulator._report import ImportTiming, Invocation, Report
from lambda_kit_dev.exceptions import EmulatorError, HandlerNotReadyError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

    from lambda_kit_dev.emulator._cgroup import Group, Limits
    from lambda_kit_dev.emulator._config import FunctionConfig

_API = "/2018-06-01/runtime"
_SHIM_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_shim")
_SHIM = os.path.join(_SHIM_DIR, "sitecustomize.py")
_SUPERVISOR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_supervisor.py")
_SUPERVISOR_START_S = 60.0  # for its "ready" line: ~10 ms, far more on a loaded machine
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # 6 MB synchronous request and response
_REASONS = {
    200: "OK",
    202: "Accepted",
    400: "Bad Request",
    404: "Not Found",
    410: "Gone",
    500: "Internal Server Error",
}


class _Pipe:
    """Non-blocking reader of one pipe, drained by a background thread and on demand.

    The descriptor is closed exactly once, under the lock, and never read after: the
    number may belong to another file by then.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        os.set_blocking(fd, False)
        self._lock = threading.Lock()
        self._buffer = bytearray()
        self._eof = False
        self._fd_closed = False
        self._thread = threading.Thread(target=self._pump, name=f"lambda-kit-pipe-{fd}", daemon=True)
        self._thread.start()

    def _read_available(self) -> None:
        """Append whatever the pipe holds, noting end of file. Lock held, fd open."""
        while not self._eof:
            try:
                chunk = os.read(self.fd, 65536)
            except BlockingIOError:
                return
            if not chunk:
                self._eof = True
                return
            self._buffer += chunk

    def _pump(self) -> None:
        # Keeps the pipe from filling up (a full pipe would block the child's writes).
        # poll() rather than select(): select() cannot watch descriptors >= 1024. A
        # closed or reused descriptor only wakes the loop, which then sees the flag.
        poller = select.poll()
        poller.register(self.fd, select.POLLIN)
        while True:
            poller.poll(200)
            with self._lock:
                if self._fd_closed or self._eof:
                    return
                self._read_available()

    def take(self) -> bytes:
        """Everything written so far and not yet taken."""
        with self._lock:
            if not self._fd_closed:
                self._read_available()
            data = bytes(self._buffer)
            self._buffer.clear()
        return data

    def close(self) -> None:
        """Close the descriptor (once; later calls do nothing)."""
        with self._lock:
            if self._fd_closed:
                return
            self._fd_closed = True
            os.close(self.fd)


class _Control:
    """The supervisor's report pipe: its ``S``, ``R``, ``E`` and ``X`` lines (see _supervisor.py).

    Read on demand, never by a thread: the supervisor writes four short lines at
    most. Like :class:`_Pipe`, the descriptor is closed once, under the lock, and
    never read after.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        os.set_blocking(fd, False)
        self._lock = threading.Lock()
        self._buffer = b""
        self._closed = False
        self.eof = False
        self.supervisor: int | None = None  # ready: SIGTERM to it stops everything
        self.subreaper = False
        self.runtime: int | None = None  # the runtime's pid
        self.spawn_errno: int | None = None  # the runtime could not be started
        self.ended: tuple[int, int] | None = None  # the runtime's wait status and maxrss (KiB)

    def poll(self) -> None:
        """Take in what the supervisor has written so far."""
        with self._lock:
            while not self._closed and not self.eof:
                try:
                    chunk = os.read(self.fd, 4096)
                except BlockingIOError:
                    break
                if not chunk:
                    self.eof = True
                    break
                self._buffer += chunk
            *lines, self._buffer = self._buffer.split(b"\n")
            for line in lines:
                self._parse(line.split())

    def wait(self, ready: Callable[[], bool], timeout: float) -> bool:
        """Poll until ``ready()`` (True) or end of file, close or ``timeout`` (False)."""
        deadline = time.monotonic() + timeout
        poller = select.poll()
        poller.register(self.fd, select.POLLIN)
        while True:
            self.poll()
            if ready():
                return True
            remaining = deadline - time.monotonic()
            if self.eof or self._closed or remaining <= 0:
                return False
            # Short slices: a descriptor closed meanwhile (and maybe reused) only wakes us.
            poller.poll(min(remaining, 0.1) * 1000)

    def _parse(self, fields: list[bytes]) -> None:
        try:
            numbers = [int(field) for field in fields[1:]]
        except ValueError:  # not a line of ours
            return
        kind = fields[0] if fields else b""
        if kind == b"S" and len(numbers) == 2:
            self.supervisor, self.subreaper = numbers[0], bool(numbers[1])
        elif kind == b"R" and len(numbers) == 1:
            self.runtime = numbers[0]
        elif kind == b"E" and len(numbers) == 1:
            self.spawn_errno = numbers[0]
        elif kind == b"X" and len(numbers) == 2:
            self.ended = (numbers[0], numbers[1])

    def close(self) -> None:
        """Close the descriptor (once; later calls do nothing)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            os.close(self.fd)


class _Pending:
    """One invocation between invoke() and its outcome (guarded by the env's condition)."""

    def __init__(
        self, request_id: str, payload: bytes, content_type: str, tenant_id: str | None = None
    ) -> None:
        self.request_id = request_id
        self.payload = payload
        self.content_type = content_type
        self.tenant_id = tenant_id
        # Unique per invocation (a request id may repeat on a retry): the runtime echoes
        # it on /response and /error, and a post with another one is refused (410).
        self.invocation_id = str(uuid.uuid4())
        self.deadline_ms = 0  # set when the event is handed out
        self.handed_out_at: float | None = None
        self.finished_at: float | None = None
        self.kind = ""  # "response", "error" or "init_error"
        self.body = b""
        self.response_content_type = ""
        self.output = b""
        self.calls = b""
        self.gc = b""  # the collector's lines (see parse_gc) while this invocation ran
        self.max_memory_mb: int | None = None


def _trace_id() -> str:
    return f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Parent={uuid.uuid4().hex[:16]};Sampled=0"


def parse_calls(data: bytes) -> dict[str, int]:
    """``service.Operation`` lines from the child's call pipe, counted."""
    counts = Counter(line for line in data.decode("utf-8", "replace").splitlines() if line)
    return dict(sorted(counts.items()))


def parse_gc(data: bytes) -> tuple[float, tuple[int, int, int]]:
    """Collection time (ms) and collections per generation from the shim's ``"<gen> <ns>"`` lines.

    A line cut short or garbled (a runtime killed mid-write) is skipped.
    """
    spent = 0
    counts = [0, 0, 0]
    for line in data.split(b"\n"):
        fields = line.split()
        if len(fields) != 2 or not fields[0].isdigit() or not fields[1].isdigit():
            continue
        generation = min(int(fields[0]), 2)
        counts[generation] += 1
        spent += int(fields[1])
    return spent / 1e6, (counts[0], counts[1], counts[2])


def parse_importtime(text: str) -> tuple[str, tuple[ImportTiming, ...]]:
    """Split ``-X importtime`` lines out of INIT output: (other output, timings)."""
    kept: list[str] = []
    timings: list[ImportTiming] = []
    for line in text.splitlines(keepends=True):
        if not line.startswith("import time:"):
            kept.append(line)
            continue
        parts = line[len("import time:") :].split("|")
        if len(parts) != 3 or not parts[0].strip().isdigit():
            continue  # the header line
        name = parts[2].rstrip("\n")
        stripped = name.lstrip(" ")
        depth = (len(name) - len(stripped) - 1) // 2
        timings.append(ImportTiming(stripped, int(parts[0]), int(parts[1]), depth))
    return "".join(kept), tuple(timings)


def proc_status_kib(pid: int, field: bytes) -> int | None:
    """A ``kB`` figure of ``/proc/<pid>/status`` (``b"VmHWM"``, ``b"VmRSS"``), or None without /proc."""
    prefix = field + b":"
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(prefix):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None  # pragma: no cover - every Linux status file has VmHWM and VmRSS


def peak_rss_mb(pid: int) -> int | None:
    """The process's peak resident set size (VmHWM) in MB, or None without /proc."""
    kib = proc_status_kib(pid, b"VmHWM")
    return None if kib is None else max(1, round(kib / 1024))


_VERSIONS: dict[str, tuple[int, int]] = {}
_VERSIONS_LOCK = threading.Lock()


def interpreter_version(python: str) -> tuple[int, int]:
    """The (major, minor) version of ``python``, asked once per interpreter.

    This interpreter's own version needs no question; another one is run once
    (``python -c ...``). If it cannot answer, this interpreter's version stands in
    (starting the runtime will then report the real problem).
    """
    if python == sys.executable:
        return sys.version_info[0], sys.version_info[1]
    with _VERSIONS_LOCK:
        known = _VERSIONS.get(python)
        if known is None:
            known = (sys.version_info[0], sys.version_info[1])
            try:
                answer = subprocess.run(
                    [python, "-c", "import sys; print('%d %d' % sys.version_info[:2])"],
                    capture_output=True,
                    timeout=30,
                    check=True,
                    env={k: v for k, v in os.environ.items() if k in ("PATH", "HOME")},
                ).stdout.split()
                known = (int(answer[0]), int(answer[1]))
            except (OSError, subprocess.SubprocessError, ValueError, IndexError):
                pass
            _VERSIONS[python] = known
        return known


_SHIM_COMPILED: set[str] = set()


def compile_shim(python: str) -> None:
    """Write the bootstrap shim's bytecode for ``python``, once per interpreter and process.

    The runtime runs with ``-B`` (see ``_shim/sitecustomize.py``), so a shim without
    valid bytecode for its interpreter would be compiled at every cold start: about
    2 ms of INIT that Lambda has no counterpart of. Best effort: a read-only install
    or an interpreter that cannot start is left as it is.
    """
    with _VERSIONS_LOCK:
        if python in _SHIM_COMPILED:
            return
        _SHIM_COMPILED.add(python)
    try:
        subprocess.run(
            [python, "-c", "import py_compile, sys; py_compile.compile(sys.argv[1])", _SHIM],
            capture_output=True,
            timeout=60,
            check=False,
            env={k: v for k, v in os.environ.items() if k in ("PATH", "HOME")},
        )
    except (OSError, subprocess.SubprocessError):
        pass


def interpreter_dir(python: str) -> str:
    """The directory of the interpreter ``python`` (a bare name is looked up on PATH)."""
    if os.sep not in python:
        import shutil

        python = shutil.which(python) or python
    return os.path.dirname(os.path.abspath(python))


def response_head(status: int, length: int, headers: Mapping[str, str]) -> bytes:
    """A response's status line and headers, UTF-8 encoded.

    Not ``send_header()``, which encodes latin-1: awslambdaric decodes header values
    as UTF-8, so a function name such as "café" would reach it garbled (and end the
    runtime). The emulator checks, when it is created, that every value it puts in
    a header can be carried (no control characters, no surrounding whitespace).
    """
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, '')}", f"Content-Length: {length}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False
    environment: Environment

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A runtime killed mid-request (timeout, crash) resets its connection; that
        # is the fault being emulated, not an emulator error worth a traceback.
        if not isinstance(sys.exc_info()[1], OSError):  # pragma: no cover - a bug of ours
            super().handle_error(request, client_address)

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, address = super().get_request()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn, address


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
        pass  # the runtime's traffic is not the user's log

    def _send(self, status: int, body: bytes = b"", headers: Mapping[str, str] | None = None) -> None:
        head = response_head(status, len(body), headers or {})
        if len(body) <= 65536:  # one write, one TCP segment for the usual small event
            self.wfile.write(head + body)
        else:
            self.wfile.write(head)
            self.wfile.write(body)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_GET(self) -> None:
        env = self.server.environment
        if self.path == f"{_API}/restore/next":  # SnapStart: the restore has happened by now
            self._send(200, b"{}", {"Content-Type": "application/json"})
            return
        if self.path != f"{_API}/invocation/next":
            self._send(404, b'{"errorType":"InvalidRequest"}')
            return
        pending = env.next_invocation()
        if pending is None:  # the environment is shutting down
            self.close_connection = True
            self._send(500, b'{"errorType":"Runtime.Shutdown"}')
            return
        headers = {
            "Content-Type": pending.content_type,
            "Lambda-Runtime-Aws-Request-Id": pending.request_id,
            "Lambda-Runtime-Deadline-Ms": str(pending.deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": env.config.function_arn,
            "Lambda-Runtime-Trace-Id": _trace_id(),
            "Lambda-Runtime-Invocation-Id": pending.invocation_id,
        }
        if pending.tenant_id is not None:
            headers["Lambda-Runtime-Aws-Tenant-Id"] = pending.tenant_id
        self._send(200, pending.payload, headers)

    def do_POST(self) -> None:
        env = self.server.environment
        body = self._body()
        path = self.path
        if path in (f"{_API}/init/error", f"{_API}/restore/error"):
            env.finish(None, "init_error", body, "application/json")
            self._send(202, b'{"status":"OK"}')
            return
        prefix = f"{_API}/invocation/"
        if path.startswith(prefix) and path.count("/") == 5:
            request_id, _, action = path[len(prefix) :].partition("/")
            if action in ("response", "error"):
                content_type = self.headers.get("Content-Type") or "application/json"
                echo = self.headers.get("Lambda-Runtime-Invocation-Id")
                if env.stale(request_id, echo):  # a late post of an invocation that has ended
                    self._send(410, b'{"errorType":"InvocationGone"}')
                elif env.finish(request_id, action, body, content_type):
                    self._send(202, b'{"status":"OK"}')
                else:
                    self._send(400, b'{"errorType":"InvalidRequestID"}')
                return
        self._send(404, b'{"errorType":"InvalidRequest"}')


class Environment:
    """One execution environment: a runtime API server plus one awslambdaric process."""

    def __init__(
        self, config: FunctionConfig, *, import_profile: bool = False, limits: Limits | None = None
    ) -> None:
        self.config = config
        self.import_profile = import_profile
        self._limits = limits  # Lambda's CPU share and memory limit (see _cgroup.py)
        self._group: Group | None = None  # this environment's control group, once spawned
        self._cond = threading.Condition()
        self._pending: _Pending | None = None
        self._queue: list[_Pending | None] = []
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.environment = self
        self._server_thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._server_thread.start()
        self.process: subprocess.Popen[bytes] | None = None  # the supervisor (see _supervisor.py)
        self._output: _Pipe | None = None
        self._calls: _Pipe | None = None
        self._gc: _Pipe | None = None  # one line per garbage collection in the runtime
        self.init_gc: tuple[float, tuple[int, int, int]] | None = None  # INIT's (ms, per generation)
        self._control: _Control | None = None
        self.spawned_at = 0.0
        self.init_duration_ms: float | None = None  # set at the first /next
        self._init_reported = False
        self.init_output = ""
        self.init_calls: dict[str, int] = {}
        self.imports: tuple[ImportTiming, ...] = ()
        self.dead = False
        self.exit_status: int | None = None
        self.peak_mb: int | None = None  # last VmHWM read, or the reaped child's maxrss
        self.init_failed = False
        self.closed = False  # close() was called: no invocation may start or finish here
        self.stale_posts = 0  # posts refused for echoing another invocation's id
        self.last_echo: tuple[str, str | None] | None = None  # (sent, echoed) of the last post

    @property
    def reusable(self) -> bool:
        """Whether another invocation may run here (alive, and INIT succeeded)."""
        return not self.dead and not self.init_failed and not self.closed

    # -- child process -------------------------------------------------------------

    def _child_env(self, calls_fd: int | None, gc_fd: int | None = None) -> dict[str, str]:
        config = self.config
        port = self._server.server_address[1]
        major, minor = interpreter_version(config.python)
        env = dict(config.base_environ)
        env.update(
            {
                "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
                "AWS_EXECUTION_ENV": f"AWS_Lambda_python{major}.{minor}",
                "AWS_LAMBDA_FUNCTION_NAME": config.function_name,
                "AWS_LAMBDA_FUNCTION_VERSION": config.function_version,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_mb),
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{config.function_name}",
                "AWS_LAMBDA_LOG_STREAM_NAME": time.strftime("%Y/%m/%d/[$LATEST]", time.gmtime())
                + uuid.uuid4().hex,
                "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
                "AWS_REGION": config.region,
                "AWS_DEFAULT_REGION": config.region,
                "LAMBDA_TASK_ROOT": config.task_root,
                "LAMBDA_RUNTIME_DIR": interpreter_dir(config.python),
                "TZ": ":UTC",
                "LANG": "en_US.UTF-8",
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.pop("AWS_LAMBDA_MAX_CONCURRENCY", None)  # would switch on multi-concurrency
        env.update(config.env)
        # The bootstrap shim, the task root, the layers and python_path come first; a
        # PYTHONPATH the user set adds to them rather than replacing them.
        # python -m puts the working directory, the task root, first on sys.path too,
        # which is what imports it when its path holds os.pathsep (PYTHONPATH cannot).
        path = [_SHIM_DIR]
        path += [config.task_root] if os.pathsep not in config.task_root else []
        path += config.layer_path
        path += config.python_path
        if calls_fd is not None:
            env["_LAMBDA_KIT_CALLS_FD"] = str(calls_fd)
        if gc_fd is not None:
            env["_LAMBDA_KIT_GC_FD"] = str(gc_fd)
        if config.code_roots:
            env["_LAMBDA_KIT_CODE_ROOTS"] = "\n".join(config.code_roots)
        if config.env.get("PYTHONPATH"):
            path.append(config.env["PYTHONPATH"])
        env["PYTHONPATH"] = os.pathsep.join(path)
        for variable, directory in (("PATH", config.layer_bin), ("LD_LIBRARY_PATH", config.layer_lib)):
            if directory is not None and variable not in config.env:
                env[variable] = os.pathsep.join(filter(None, (env.get(variable), directory)))
        return env

    def spawn(self) -> None:
        """Start the supervisor, then, once it is ready, the runtime (INIT begins then).

        The supervisor (see ``_supervisor.py``) is the runtime's parent and a child
        subreaper, so that everything the function starts stays in its tree. Its own
        start-up happens before the INIT clock starts.
        """
        calls_read: int | None = None
        calls_write: int | None = None
        if self.config.count_aws_calls:
            calls_read, calls_write = os.pipe()
        gc_read, gc_write = os.pipe()  # cheap enough to keep on: a write per collection
        out_read, out_write = os.pipe()
        report_read, report_write = os.pipe()
        go_read, go_write = os.pipe()
        # -B: nothing is written beside the code, as in Lambda's read-only directories
        # (see _shim/sitecustomize.py for which bytecode counts there).
        runtime = [self.config.python, "-B"]
        if self.import_profile:
            runtime += ["-X", "importtime"]
        runtime += ["-m", "awslambdaric", self.config.handler]
        supervisor = sys.executable or self.config.python
        passed = [fd for fd in (calls_write, gc_write, report_write, go_read) if fd is not None]
        try:
            self.process = subprocess.Popen(
                [supervisor, "-I", "-S", _SUPERVISOR, str(report_write), str(go_read), *runtime],
                cwd=self.config.task_root,
                env=self._child_env(calls_write, gc_write),
                stdin=subprocess.DEVNULL,
                stdout=out_write,
                stderr=out_write,
                pass_fds=passed,
                close_fds=True,
                start_new_session=True,
            )
        except OSError as error:
            self.dead = True
            for fd in (out_read, report_read, go_write, out_write, gc_read, *passed):
                os.close(fd)
            if calls_read is not None:
                os.close(calls_read)
            raise HandlerNotReadyError(
                f"Could not start the runtime's supervisor with {supervisor!r}: {error.strerror}.",
                python=supervisor,
            ) from None
        for fd in (out_write, *passed):
            os.close(fd)
        self._output = _Pipe(out_read)
        self._gc = _Pipe(gc_read)
        if calls_read is not None:
            self._calls = _Pipe(calls_read)
        self._control = control = _Control(report_read)
        threading.Thread(target=self._watch, name="lambda-kit-env-watch", daemon=True).start()
        try:
            if not control.wait(lambda: control.supervisor is not None, _SUPERVISOR_START_S):
                self.dead = True
                self.kill_group()
                if self.closed:
                    raise _closed_during_invocation(None)
                output = self._output.take().decode("utf-8", "replace").strip()
                raise HandlerNotReadyError(
                    f"The runtime's supervisor ({supervisor!r}) did not start: {output or 'no output'}",
                    python=supervisor,
                )
            if self._limits is not None and control.supervisor is not None:
                # The runtime the supervisor starts is born in the group (INIT's share).
                self._group = self._limits.enter(control.supervisor)
            self.spawned_at = time.perf_counter()
            os.write(go_write, b"g")
        finally:
            os.close(go_write)  # the supervisor leaves when it reads end of file instead
        control.wait(lambda: control.runtime is not None or control.spawn_errno is not None, 30.0)
        if control.runtime is None:
            self.dead = True
            self.kill_group()  # the supervisor has left already, unless it never answered
            reason = os.strerror(control.spawn_errno) if control.spawn_errno else "no answer"
            raise HandlerNotReadyError(
                f"Could not start the runtime with {self.config.python!r}: {reason}.",
                python=self.config.python,
            )

    def _watch(self) -> None:
        process, control = self.process, self._control
        if process is None or control is None:  # pragma: no cover - spawn() sets both first
            return
        # wait4 rather than Popen.wait: it also returns the child's peak RSS, the only
        # memory figure left once a crashed or killed runtime is gone.
        try:
            _, wait_status, usage = os.wait4(process.pid, 0)
        except ChildProcessError:  # pragma: no cover - reaped elsewhere (never by us)
            wait_status, usage = 0, None
        process.returncode = os.waitstatus_to_exitcode(wait_status)
        maxrss_kb = None if usage is None else usage.ru_maxrss
        control.poll()  # the supervisor reports how the runtime itself ended
        if control.ended is not None:
            wait_status, maxrss_kb = control.ended
        status = os.waitstatus_to_exitcode(wait_status)
        with self._cond:
            self.dead = True
            self.exit_status = status
            if self.peak_mb is None and maxrss_kb is not None:  # no /proc reading: the best left
                self.peak_mb = max(1, round(maxrss_kb / 1024))
            self._queue.append(None)  # release a /next handler, if one waits
            self._cond.notify_all()

    @property
    def runtime_pid(self) -> int | None:
        """The runtime's process id (its supervisor's child), once it is started."""
        return None if self._control is None else self._control.runtime

    def kill_group(self) -> None:
        """Kill the runtime at once, and everything it started, however detached.

        SIGKILL to the runtime and its process group, then SIGTERM to the supervisor,
        which kills every descendant left (new sessions and double forks included;
        see ``_supervisor.py``) and exits. Always sent, even when the runtime has
        exited by itself: processes it started may still be running. Safe from any
        thread and at interpreter exit.
        """
        process, control = self.process, self._control
        if process is None:
            return
        if control is not None:
            control.poll()
            if control.runtime is not None and control.ended is None:  # not reaped: the pid is its own
                _signal(os.killpg, control.runtime, signal.SIGKILL)
                _signal(os.kill, control.runtime, signal.SIGKILL)
        if self.exit_status is None:  # not reaped by _watch: the pid is the supervisor's
            _signal(os.kill, process.pid, signal.SIGTERM)

    def close(self) -> None:
        """Kill the child and its group, stop the server and release the pipes (once)."""
        with self._cond:
            if self.closed:
                return
            self.closed = True
            self._cond.notify_all()  # an invocation waiting here ends now
        self.kill_group()
        with self._cond:
            if self.process is not None:
                self._cond.wait_for(lambda: self.exit_status is not None, timeout=5.0)
            self._queue.append(None)
            self._cond.notify_all()
        if self._group is not None:
            self._group.remove()  # kills whatever is left in it first
        self._server.shutdown()
        self._server.server_close()
        for pipe in (self._output, self._calls, self._gc, self._control):
            if pipe is not None:
                pipe.close()

    # -- runtime API side (called from server threads) -------------------------------

    def next_invocation(self) -> _Pending | None:
        """Block until an event is queued; the first call ends INIT."""
        with self._cond:
            if self.init_duration_ms is None:
                self.init_duration_ms = (time.perf_counter() - self.spawned_at) * 1000.0
                if self._group is not None and self._limits is not None:
                    self._limits.end_init(self._group)  # from INIT's CPU share to the invocations'
                self._end_init()
                self._read_peak()
                self._cond.notify_all()
            self._cond.wait_for(lambda: bool(self._queue))
            pending = self._queue.pop(0)
            if pending is not None:
                pending.handed_out_at = time.perf_counter()
                pending.deadline_ms = int(time.time() * 1000 + self.config.timeout_s * 1000)
            return pending

    def _end_init(self) -> None:
        """Take INIT's output and calls (lock held)."""
        if self._init_reported:
            return
        self._init_reported = True
        output = self._output.take().decode("utf-8", "replace") if self._output else ""
        if self.import_profile:
            output, self.imports = parse_importtime(output)
        self.init_output = output
        self.init_calls = parse_calls(self._calls.take()) if self._calls else {}
        self.init_gc = parse_gc(self._gc.take()) if self._gc else None

    def stale(self, request_id: str, invocation_id: str | None) -> bool:
        """Whether a post echoes an invocation id other than the current invocation's.

        Lambda refuses such a post (410 Gone): it is the late response of an invocation
        that timed out, and must not be taken for the next one's. A post without the
        echo (a runtime client older than 4.0.2) is judged by its request id alone.
        """
        with self._cond:
            pending = self._pending
            if pending is None or request_id != pending.request_id:
                return False  # an unknown request id: 400, as before
            self.last_echo = (pending.invocation_id, invocation_id)
            if invocation_id is not None and invocation_id != pending.invocation_id:
                self.stale_posts += 1
                return True
            return False

    def finish(self, request_id: str | None, kind: str, body: bytes, content_type: str) -> bool:
        """Record a posted response, error or init error; False for an unknown id."""
        now = time.perf_counter()
        with self._cond:
            pending = self._pending
            if pending is None or pending.finished_at is not None:
                return False
            if request_id is not None and request_id != pending.request_id:
                return False
            if kind == "init_error":
                self.init_duration_ms = (now - self.spawned_at) * 1000.0
                self.init_failed = True  # the runtime exits next; never reuse it
                self._end_init()
            pending.finished_at = now
            pending.kind = kind
            pending.body = body
            pending.response_content_type = content_type
            pending.output = self._output.take() if self._output else b""
            pending.calls = self._calls.take() if self._calls else b""
            pending.gc = self._gc.take() if self._gc else b""
            self._read_peak()
            pending.max_memory_mb = self.peak_mb
            self._cond.notify_all()
        return True

    # -- caller side -----------------------------------------------------------------

    def invoke(self, payload: bytes, content_type: str, *, tenant_id: str | None = None) -> Invocation:
        """Run one invocation to its end and build what Lambda would report.

        ``tenant_id`` is sent as ``Lambda-Runtime-Aws-Tenant-Id`` (tenant isolation mode).
        """
        config = self.config
        request_id = str(uuid.uuid4())
        cold = self.process is None
        pending = _Pending(request_id, payload, content_type, tenant_id)
        with self._cond:
            if self.dead or self.closed:
                raise HandlerNotReadyError("This execution environment has stopped.")
            self._pending = pending
        if cold:
            self.spawn()

        def over() -> bool:
            return pending.finished_at is not None or self.dead or self.closed

        with self._cond:
            self._queue.append(pending)
            self._cond.notify_all()
            started = self._cond.wait_for(
                lambda: pending.handed_out_at is not None or over(),
                timeout=config.init_timeout_s if cold else config.timeout_s,
            )
            if started and pending.handed_out_at is not None and not over():
                remaining = pending.handed_out_at + config.timeout_s - time.perf_counter()
                self._cond.wait_for(over, timeout=max(0.0, remaining))
            self._pending = None
            finished = pending.finished_at is not None
            interrupted = not finished and self.closed
            timed_out = not finished and not self.dead and not self.closed
            if timed_out:
                self._read_peak()
        if interrupted:
            raise _closed_during_invocation(request_id)
        if not finished:
            if timed_out:
                self.kill_group()
            self._collect(pending)
        return self._outcome(pending, cold=cold, timed_out=timed_out)

    def _collect(self, pending: _Pending) -> None:
        """Take an unfinished invocation's output and calls, once its runtime is gone.

        What the runtime wrote before it exited or was killed is in the pipes by the
        time it is reaped. If the event was never handed out, it all belongs to INIT.
        """
        with self._cond:
            self._cond.wait_for(lambda: self.exit_status is not None, timeout=2.0)
            if pending.handed_out_at is None:
                self._end_init()
            pending.output = self._output.take() if self._output else b""
            pending.calls = self._calls.take() if self._calls else b""
            pending.gc = self._gc.take() if self._gc else b""

    def _outcome(self, pending: _Pending, *, cold: bool, timed_out: bool) -> Invocation:
        config = self.config
        init_ms = self.init_duration_ms if cold else None
        error: dict[str, Any] | None = None
        status: str | None = None
        out_of_memory = False
        if timed_out:
            status = "timeout"
            if pending.handed_out_at is None and cold:
                init_ms = config.init_timeout_s * 1000.0
                duration = 0.0
                message = f"INIT phase timed out after {config.init_timeout_s:.2f} seconds"
            else:
                duration = config.timeout_s * 1000.0
                message = f"Task timed out after {config.timeout_s:.2f} seconds"
            error = {
                "errorType": "Sandbox.Timedout",
                "errorMessage": f"RequestId: {pending.request_id} Error: {message}",
            }
        elif pending.finished_at is None:  # the runtime process exited
            status = "error"
            end = time.perf_counter()
            duration = (end - pending.handed_out_at) * 1000.0 if pending.handed_out_at else 0.0
            if cold and init_ms is None:
                init_ms = (end - self.spawned_at) * 1000.0
            code = self.exit_status
            reason = f"signal: {-code}" if code is not None and code < 0 else f"exit status {code}"
            error = {
                "errorType": "Runtime.ExitError",
                "errorMessage": f"RequestId: {pending.request_id} Error: Runtime exited with error: {reason}",
            }
            if self._group is not None and self._group.oom_kills() > 0:  # past Memory Size
                out_of_memory = True
                error = {
                    "errorType": "Runtime.OutOfMemory",
                    "errorMessage": f"RequestId: {pending.request_id} Error: Runtime exited with error: "
                    "signal: killed",
                }
        else:
            if pending.handed_out_at is None:  # init error: no event was handed out
                duration = 0.0
            else:
                duration = (pending.finished_at - pending.handed_out_at) * 1000.0
            if pending.kind != "response":
                status = "error"
                error = _error_document(pending.body)
            elif len(pending.body) > MAX_PAYLOAD_BYTES:
                status = "error"
                error = {
                    "errorType": "Function.ResponseSizeTooLarge",
                    "errorMessage": f"Response payload size ({len(pending.body)} bytes) exceeded "
                    f"maximum allowed payload size ({MAX_PAYLOAD_BYTES} bytes).",
                }
        if error is not None:
            payload = json.dumps(error).encode()
            content_type = "application/json"
        else:
            payload = pending.body
            content_type = pending.response_content_type
        report = Report(
            request_id=pending.request_id,
            duration_ms=duration,
            billed_duration_ms=Report.billed(duration, init_ms),
            memory_size_mb=config.memory_mb,
            # Lambda reports the whole Memory Size as used when it ends an environment for it.
            max_memory_used_mb=(
                config.memory_mb if out_of_memory else pending.max_memory_mb or self._final_peak()
            ),
            init_duration_ms=init_ms,
            status=status,
            error_type=None if error is None else str(error.get("errorType", "Unknown")),
            init_status=_init_status(pending, cold=cold, timed_out=timed_out),
            function_version=config.function_version,
            cpu_share=None if self._group is None or self._limits is None else self._limits.cpu_share,
            limits_notice=LIMITS_OFF if self._limits is None else self._limits.notice,
            init_gc_ms=self.init_gc[0] if cold and self.init_gc is not None else None,
            init_gc_collections=self.init_gc[1] if cold and self.init_gc is not None else None,
            gc_ms=parse_gc(pending.gc)[0] if self._gc is not None else None,
        )
        return Invocation(
            request_id=pending.request_id,
            payload=payload,
            content_type=content_type,
            error=error,
            report=report,
            output=pending.output.decode("utf-8", "replace"),
            init_output=self.init_output if cold else "",
            aws_calls=parse_calls(pending.calls),
            init_aws_calls=dict(self.init_calls) if cold else {},
            imports=self.imports if cold else (),
        )

    def _read_peak(self) -> None:
        """Refresh :attr:`peak_mb` from the live runtime (lock held)."""
        pid = self.runtime_pid
        if pid is not None and not self.dead:
            peak = peak_rss_mb(pid)
            if peak is not None:
                self.peak_mb = max(self.peak_mb or 0, peak)

    def _final_peak(self) -> int | None:
        """The best peak-memory figure left; for a dead child, wait briefly for its reaping."""
        with self._cond:
            if self.dead:  # wait4 in the watcher may still be about to report maxrss
                self._cond.wait_for(lambda: self.exit_status is not None, timeout=2.0)
            return self.peak_mb


def _init_status(pending: _Pending, *, cold: bool, timed_out: bool) -> str | None:
    """How a failed INIT ended (Lambda's INIT_REPORT Status), or None when INIT succeeded.

    INIT failed when the event was never handed out: the runtime reported an init
    error, exited, or overran the INIT timeout.
    """
    if not cold or pending.handed_out_at is not None:
        return None
    return "timeout" if timed_out else "error"


def _closed_during_invocation(request_id: str | None) -> EmulatorError:
    return EmulatorError(
        "The emulator was closed during the invocation, which was stopped; "
        "close it only once its invocations have returned.",
        request_id=request_id,
    )


def _signal(send: Callable[[int, int], None], pid: int, signum: int) -> None:
    """``send(pid, signum)``, for a process or group that may be gone already."""
    try:
        send(pid, signum)
    except ProcessLookupError:
        pass


def _error_document(body: bytes) -> dict[str, Any]:
    """The runtime's posted error, or a Lambda-style one if it is not a JSON object."""
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        return {"errorType": "Runtime.InvalidError", "errorMessage": body.decode("utf-8", "replace")}
    document.pop("requestId", None)
    return document


def check_payload(payload: bytes) -> None:
    """Reject a request payload over Lambda's 6 MB synchronous limit, as Lambda does."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise EmulatorError(
            f"Request payload is {len(payload)} bytes; Lambda accepts at most "
            f"{MAX_PAYLOAD_BYTES} bytes for a synchronous invocation.",
            code="RequestEntityTooLargeException",
            size=len(payload),
            limit=MAX_PAYLOAD_BYTES,
        )
