"""The emulator's own noise floor: what the instrument adds to what it measures.

An empty handler (``benchmarks/handlers/empty.py``) costs nothing, so everything
measured around it is the emulator's and the runtime protocol's:

* warm: the round trip of :meth:`Emulator.invoke` on a warm environment (target: a
  median of at most 1 ms), the REPORT ``Duration`` (the in-runtime part) beside it,
  against the bare transport a Runtime API cannot avoid: loopback HTTP/1.1
  keep-alive round trips (stdlib ``ThreadingHTTPServer`` with TCP_NODELAY, driven
  by ``http.client`` on one kept-alive connection), one (POST) and two (GET /next +
  POST /response, as one invocation's protocol traffic);
* cold: the REPORT ``Init Duration`` and the cold ``invoke()`` wall time, against
  bare interpreter starts with the same interpreter, environment and directory:
  ``python -c pass`` and ``python -c "import awslambdaric.bootstrap"``.

Series are interleaved (rounds of alternating batches, the order rotated each
round) so that drift in the machine's load falls on all of them alike. No peer runs
here: AWS SAM local and the Runtime Interface Emulator are made for Docker
containers; the printout says what was found on this machine.

Usage (from the repository root)::

    python benchmarks/bench_emulator.py           # full run, writes benchmarks/results/
    python benchmarks/bench_emulator.py --quick   # a smoke run; writes nothing
"""

from __future__ import annotations

import argparse
import gc
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import IO, TYPE_CHECKING, Any

from _common import BENCH_DIR, Output, machine_info, machine_lines, median, ratio_line, summary, value_line

if TYPE_CHECKING:
    from collections.abc import Callable

NAME = "bench_emulator"
HANDLER = "empty.handler"
TASK_ROOT = BENCH_DIR / "handlers"
WARM_TARGET_MS = 1.0  # from the issue: median warm invoke() round trip
_NEXT = "/2018-06-01/runtime/invocation/next"
_RESPONSE = "/2018-06-01/runtime/invocation/00000000-0000-0000-0000-000000000000/response"
_READY = b"r"


# -- the transport lower bound: bare loopback HTTP/1.1 keep-alive -----------------------


class _BareServer(ThreadingHTTPServer):
    daemon_threads = True

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, address = super().get_request()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn, address

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A runtime killed after its first invocation resets its connection: expected.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


# What /next must carry for awslambdaric to run the event (fixed values: no work per request).
_EVENT_HEADERS = {
    "Lambda-Runtime-Aws-Request-Id": "00000000-0000-0000-0000-000000000000",
    "Lambda-Runtime-Deadline-Ms": "32503680000000",
    "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:123456789012:function:empty",
    "Lambda-Runtime-Trace-Id": "Root=1-00000000-000000000000000000000000;Sampled=0",
}


class _BareHandler(BaseHTTPRequestHandler):
    """As little as a Runtime API can do: hand out ``{}`` on GET, accept any POST."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response_only(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._send(200, b"{}", _EVENT_HEADERS)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self._send(202, b'{"status":"OK"}')


class _RuntimeApiServer(_BareServer):
    """A bare Runtime API for one cold start: marks the first GET /next and first POST."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _RuntimeApiHandler)
        self.first_get: float | None = None
        self.first_post: float | None = None
        self.posted = threading.Event()
        self.release = threading.Event()

    def arm(self) -> None:
        self.first_get = self.first_post = None
        self.posted.clear()
        self.release.clear()


class _RuntimeApiHandler(_BareHandler):
    server: _RuntimeApiServer

    def do_GET(self) -> None:
        if self.server.first_get is None:
            self.server.first_get = time.perf_counter()
            super().do_GET()
            return
        # The runtime's next /next: hold it until the runtime is killed, as Lambda would.
        self.server.release.wait(timeout=30)
        self.close_connection = True

    def do_POST(self) -> None:
        if self.server.first_post is None:
            self.server.first_post = time.perf_counter()
        super().do_POST()
        self.server.posted.set()


def _connect(port: int) -> http.client.HTTPConnection:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.connect()
    # libcurl (awslambdaric's client) sets TCP_NODELAY by default; so do we.
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return conn


def _round_trips(conn: http.client.HTTPConnection, requests: int, count: int) -> list[int]:
    """``count`` iterations of ``requests`` round trips (1: POST; 2: GET + POST), in ns each."""
    times: list[int] = []
    for _ in range(count):
        start = time.perf_counter_ns()
        if requests == 2:
            conn.request("GET", _NEXT)
            conn.getresponse().read()
        conn.request("POST", _RESPONSE, body=b"null", headers={"Content-Type": "application/json"})
        conn.getresponse().read()
        times.append(time.perf_counter_ns() - start)
    return times


def _client_main(port: int) -> None:
    """The child-process client: reads ``<requests> <count>`` lines, answers JSON timings."""
    conn = _connect(port)
    for line in sys.stdin:
        requests, count = (int(part) for part in line.split())
        sys.stdout.write(json.dumps(_round_trips(conn, requests, count)) + "\n")
        sys.stdout.flush()
    conn.close()


class _ChildClient:
    """An ``http.client`` in its own process, as the runtime is in its own process."""

    def __init__(self, port: int) -> None:
        self._process = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--http-client", str(port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def run(self, requests: int, count: int) -> list[float]:
        stdin: IO[str] | None = self._process.stdin
        stdout: IO[str] | None = self._process.stdout
        if stdin is None or stdout is None:  # pragma: no cover - both are pipes
            raise RuntimeError("client pipes missing")
        stdin.write(f"{requests} {count}\n")
        stdin.flush()
        return [ns / 1e6 for ns in json.loads(stdout.readline())]

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        self._process.wait(timeout=10)
        if self._process.stdout is not None:
            self._process.stdout.close()


# -- peers ------------------------------------------------------------------------------


def peers() -> dict[str, str]:
    """What this machine has of the peers; none of them is run here."""
    docker = shutil.which("docker")
    if docker is None:
        docker_state = "docker CLI not on PATH"
    else:
        try:
            done = subprocess.run(
                [docker, "version", "--format", "{{.Server.Version}}"],
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            )
            reachable = done.returncode == 0 and bool(done.stdout.strip())
        except (OSError, subprocess.SubprocessError):
            reachable = False
        docker_state = "docker daemon reachable" if reachable else "docker CLI present, daemon not reachable"
    return {
        "docker": docker_state,
        "sam": "sam on PATH" if shutil.which("sam") else "sam not installed",
        "aws-lambda-rie": "aws-lambda-rie on PATH" if shutil.which("aws-lambda-rie") else "not installed",
    }


# -- warm -------------------------------------------------------------------------------


def _rotated(tasks: list[tuple[str, Callable[[], None]]], turn: int) -> list[tuple[str, Callable[[], None]]]:
    shift = turn % len(tasks)
    return tasks[shift:] + tasks[:shift]


def bench_warm(rounds: int, batch: int, warmup: int) -> dict[str, Any]:
    """Interleaved rounds: emulator warm invokes and bare HTTP round trips, ``batch`` each."""
    from lambda_kit_dev.emulator import Emulator

    series: dict[str, list[list[float]]] = {
        name: []
        for name in (
            "invoke",
            "duration",
            "outside_duration",
            "bare_1rt_child",
            "bare_2rt_child",
            "bare_1rt_thread",
            "bare_2rt_thread",
        )
    }
    server = _BareServer(("127.0.0.1", 0), _BareHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    child = _ChildClient(port)
    conn = _connect(port)
    try:
        with Emulator(HANDLER, task_root=TASK_ROOT, count_aws_calls=False) as fn:
            cold = fn.invoke()
            if not cold.ok or not cold.cold:
                raise RuntimeError(f"the empty handler failed: {cold.error}")

            def emulator_batch(count: int, keep: bool = True) -> None:
                walls: list[float] = []
                durations: list[float] = []
                for _ in range(count):
                    start = time.perf_counter_ns()
                    invocation = fn.invoke()
                    wall = (time.perf_counter_ns() - start) / 1e6
                    if not invocation.ok or invocation.cold:
                        raise RuntimeError(f"unexpected invocation: {invocation.report.report_line()}")
                    walls.append(wall)
                    durations.append(invocation.report.duration_ms)
                if keep:
                    series["invoke"].append(walls)
                    series["duration"].append(durations)
                    series["outside_duration"].append([w - d for w, d in zip(walls, durations, strict=True)])

            def child_batch(requests: int, name: str) -> Callable[[], None]:
                return lambda: series[name].append(child.run(requests, batch))

            def thread_batch(requests: int, name: str) -> Callable[[], None]:
                return lambda: series[name].append([ns / 1e6 for ns in _round_trips(conn, requests, batch)])

            emulator_batch(warmup, keep=False)
            child.run(1, warmup)
            child.run(2, warmup)
            _round_trips(conn, 2, warmup)
            tasks: list[tuple[str, Callable[[], None]]] = [
                ("emulator", lambda: emulator_batch(batch)),
                ("bare 2rt child", child_batch(2, "bare_2rt_child")),
                ("bare 1rt child", child_batch(1, "bare_1rt_child")),
                ("bare 2rt thread", thread_batch(2, "bare_2rt_thread")),
                ("bare 1rt thread", thread_batch(1, "bare_1rt_thread")),
            ]
            for turn in range(rounds):
                for _, task in _rotated(tasks, turn):
                    gc.collect()
                    task()
            environments = fn.environments
    finally:
        conn.close()
        child.close()
        server.shutdown()
        server.server_close()
    result: dict[str, Any] = {"environments_after": environments, "series": {}}
    for name, batches in series.items():
        flat = [value for chunk in batches for value in chunk]
        result["series"][name] = {
            **summary(flat),
            "round_medians": [round(median(chunk), 4) for chunk in batches],
        }
    return result


# -- cold -------------------------------------------------------------------------------


def _bare_start(python: str, code: str, env: dict[str, str], cwd: str) -> tuple[float, float]:
    """Spawn ``python -c code`` (which writes one byte when ready): (ready ms, exit ms)."""
    read_fd, write_fd = os.pipe()
    start = time.perf_counter()
    process = subprocess.Popen(
        [python, "-c", code],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=write_fd,
        stderr=subprocess.DEVNULL,
        close_fds=True,
        start_new_session=True,
    )
    os.close(write_fd)
    first = os.read(read_fd, 1)
    ready = time.perf_counter()
    process.wait()
    done = time.perf_counter()
    os.close(read_fd)
    if first != _READY or process.returncode != 0:
        raise RuntimeError(f"{code!r} failed with exit status {process.returncode}")
    return (ready - start) * 1000.0, (done - start) * 1000.0


def _bare_runtime_start(
    server: _RuntimeApiServer, python: str, env: dict[str, str], cwd: str
) -> tuple[float, float]:
    """``python -m awslambdaric`` on the bare Runtime API: (first GET /next ms, first POST ms)."""
    server.arm()
    start = time.perf_counter()
    process = subprocess.Popen(
        [python, "-m", "awslambdaric", HANDLER],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        close_fds=True,
        start_new_session=True,
    )
    try:
        if not server.posted.wait(timeout=30) or server.first_get is None or server.first_post is None:
            raise RuntimeError("awslambdaric did not complete an invocation on the bare Runtime API")
        return (server.first_get - start) * 1000.0, (server.first_post - start) * 1000.0
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        server.release.set()


# ``import os`` costs nothing here: the interpreter has imported os before running -c.
PASS_CODE = "import os; os.write(1, b'r')"
IMPORT_CODE = "import awslambdaric.bootstrap, os; os.write(1, b'r')"


def bench_cold(starts: int) -> dict[str, Any]:
    """Interleaved: emulator cold starts, bare interpreter and bare runtime starts, ``starts`` each."""
    from lambda_kit_dev.emulator import Emulator

    values: dict[str, list[float]] = {
        name: []
        for name in (
            "init_duration",
            "cold_invoke_wall",
            "cold_duration",
            "teardown",
            "pass_ready",
            "pass_exit",
            "import_ready",
            "import_exit",
            "runtime_first_get",
            "runtime_first_post",
        )
    }
    server = _RuntimeApiServer()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with Emulator(HANDLER, task_root=TASK_ROOT, count_aws_calls=False) as fn:
            config = fn.config
            # The runtime's environment much as the emulator builds it: same interpreter,
            # PYTHONPATH and directory, the Lambda variables awslambdaric reads.
            env = {
                **config.base_environ,
                "PYTHONPATH": config.task_root,
                "PYTHONUNBUFFERED": "1",
                "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.server_address[1]}",
                "AWS_LAMBDA_FUNCTION_NAME": config.function_name,
                "AWS_LAMBDA_FUNCTION_VERSION": config.function_version,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_mb),
                "AWS_REGION": config.region,
                "LAMBDA_TASK_ROOT": config.task_root,
            }

            def emulator_cold() -> None:
                start = time.perf_counter()
                fn.reset()  # retire the last environment outside the timed call
                values["teardown"].append((time.perf_counter() - start) * 1000.0)
                gc.collect()
                start = time.perf_counter()
                invocation = fn.invoke(fresh=True)
                wall = (time.perf_counter() - start) * 1000.0
                init = invocation.report.init_duration_ms
                if not invocation.ok or init is None:
                    raise RuntimeError(f"unexpected cold start: {invocation.report.report_line()}")
                values["cold_invoke_wall"].append(wall)
                values["init_duration"].append(init)
                values["cold_duration"].append(invocation.report.duration_ms)

            def bare(code: str, prefix: str) -> Callable[[], None]:
                def run() -> None:
                    gc.collect()
                    ready, done = _bare_start(config.python, code, env, config.task_root)
                    values[f"{prefix}_ready"].append(ready)
                    values[f"{prefix}_exit"].append(done)

                return run

            def bare_runtime() -> None:
                gc.collect()
                first_get, first_post = _bare_runtime_start(server, config.python, env, config.task_root)
                values["runtime_first_get"].append(first_get)
                values["runtime_first_post"].append(first_post)

            tasks: list[tuple[str, Callable[[], None]]] = [
                ("emulator", emulator_cold),
                ("python -c pass", bare(PASS_CODE, "pass")),
                ("import awslambdaric.bootstrap", bare(IMPORT_CODE, "import")),
                ("awslambdaric on a bare Runtime API", bare_runtime),
            ]
            for _, task in tasks:  # one unmeasured start each: page cache, .pyc files
                task()
            for chunk in values.values():
                chunk.clear()
            for turn in range(starts):
                for _, task in _rotated(tasks, turn):
                    task()
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
    return {
        "series": {
            name: {**summary(chunk), "values": [round(v, 3) for v in chunk]} for name, chunk in values.items()
        }
    }


# -- report -----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer iterations; results are not written")
    parser.add_argument("--http-client", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.http_client is not None:
        _client_main(args.http_client)
        return 0

    rounds, batch, warmup, starts = (2, 50, 20, 3) if args.quick else (5, 200, 100, 30)
    out = Output(NAME)
    info = machine_info()
    found = peers()
    out.line(f"{NAME}: the emulator's own noise floor (handler {HANDLER} in benchmarks/handlers/)")
    for text in machine_lines(info):
        out.line(text)
    out.line(
        "peers   : none run. AWS SAM local (sam local invoke) and the Lambda Runtime Interface "
        "Emulator (aws-lambda-rie) run functions in Docker containers;"
    )
    out.line(f"          here: {found['docker']}; {found['sam']}; aws-lambda-rie {found['aws-lambda-rie']}.")
    out.line(
        f"runs    : warm {rounds} rounds x {batch} per series; cold {starts} starts per series; "
        "interleaved, order rotated each round" + (" (--quick)" if args.quick else "")
    )

    warm = bench_warm(rounds, batch, warmup)
    w = {name: data["median"] for name, data in warm["series"].items()}
    inv = warm["series"]["invoke"]
    out.line()
    out.line(f"Warm: empty handler, one warm environment; medians of {inv['n']} each")
    out.line(" lower bounds - bare loopback HTTP/1.1 keep-alive (stdlib server, http.client, TCP_NODELAY):")
    out.line(value_line("1 round trip, POST (client process)", w["bare_1rt_child"]))
    out.line(value_line("2 round trips, GET+POST (client process)", w["bare_2rt_child"]))
    out.line(value_line("1 round trip, POST (client thread)", w["bare_1rt_thread"], note="same process"))
    out.line(value_line("2 round trips, GET+POST (client thread)", w["bare_2rt_thread"], note="same process"))
    out.line(" lambda-kit Emulator:")
    out.line(value_line("REPORT Duration (in-runtime part)", w["duration"]))
    out.line(value_line("invoke() minus Duration (emulator side)", w["outside_duration"]))
    out.line(
        value_line(
            "invoke() round trip, p90 / p99",
            inv["p90"],
            note=f"/ {inv['p99']:.3f} ms (min {inv['min']:.3f}, max {inv['max']:.3f})",
        )
    )
    out.line(" ratios (target: median invoke() <= 1 ms):")
    out.line(
        ratio_line(
            "invoke() vs 2 round trips (client process)",
            w["invoke"],
            w["bare_2rt_child"],
            target=WARM_TARGET_MS,
        )
    )
    out.line(
        ratio_line(
            "invoke() vs 1 round trip (client process)",
            w["invoke"],
            w["bare_1rt_child"],
            target=WARM_TARGET_MS,
        )
    )
    out.line(
        ratio_line(
            "invoke() vs 2 round trips (client thread)",
            w["invoke"],
            w["bare_2rt_thread"],
            target=WARM_TARGET_MS,
        )
    )
    medians = " ".join(f"{m:.3f}" for m in warm["series"]["invoke"]["round_medians"])
    bare_medians = " ".join(f"{m:.3f}" for m in warm["series"]["bare_2rt_child"]["round_medians"])
    out.line(f"  per-round medians: invoke() {medians}; 2 round trips {bare_medians} ms")

    cold = bench_cold(starts)
    c = {name: data["median"] for name, data in cold["series"].items()}
    out.line()
    out.line(f"Init: empty handler, medians of {starts} cold starts each (no target in the issue)")
    out.line(" lower bounds - same interpreter, environment and cwd as the runtime; from spawn:")
    out.line(value_line("python -c pass: ready", c["pass_ready"], note=f"(exit {c['pass_exit']:.3f} ms)"))
    out.line(
        value_line(
            "python -c 'import awslambdaric.bootstrap': ready",
            c["import_ready"],
            note=f"(exit {c['import_exit']:.3f} ms)",
        )
    )
    out.line(
        value_line(
            "awslambdaric, bare Runtime API: 1st GET /next",
            c["runtime_first_get"],
            note=f"(1st POST /response {c['runtime_first_post']:.3f} ms)",
        )
    )
    out.line(" lambda-kit Emulator (count_aws_calls=False):")
    out.line(value_line("REPORT Duration of the cold invoke", c["cold_duration"]))
    out.line(
        value_line(
            "reset() of the previous environment",
            c["teardown"],
            note="(untimed above; invoke(fresh=True) pays it inline when an env is idle)",
        )
    )
    out.line(" ratios:")
    out.line(ratio_line("Init Duration vs python -c pass", c["init_duration"], c["pass_ready"]))
    out.line(ratio_line("Init Duration vs import awslambdaric", c["init_duration"], c["import_ready"]))
    out.line(ratio_line("Init Duration vs runtime on bare API", c["init_duration"], c["runtime_first_get"]))
    out.line(ratio_line("cold invoke() wall vs python -c pass", c["cold_invoke_wall"], c["pass_ready"]))
    out.line(
        ratio_line("cold invoke() wall vs import awslambdaric", c["cold_invoke_wall"], c["import_ready"])
    )
    out.line(
        ratio_line(
            "cold invoke() wall vs runtime on bare API", c["cold_invoke_wall"], c["runtime_first_post"]
        )
    )

    verdict = "PASS" if w["invoke"] <= WARM_TARGET_MS else "MISS"
    out.line()
    end_load = [round(load, 2) for load in os.getloadavg()]
    out.line(f"load    : load average {info['load_average']} at the start, {end_load} at the end")
    out.line(
        f"verdict : warm invoke() median {w['invoke']:.3f} ms, target <= {WARM_TARGET_MS:.3f} ms: {verdict}; "
        f"{w['invoke'] - w['bare_2rt_child']:+.3f} ms over 2 bare round trips; "
        f"Init Duration {c['init_duration']:.1f} ms, "
        f"{c['init_duration'] - c['runtime_first_get']:+.1f} ms over the runtime on a bare API"
    )
    record = {
        "bench": NAME,
        "handler": HANDLER,
        "quick": args.quick,
        "machine": info,
        "load_average_at_end": end_load,
        "peers": {"run": [], "found": found},
        "settings": {"rounds": rounds, "batch": batch, "warmup": warmup, "cold_starts": starts},
        "units": "ms",
        "targets": {"warm_invoke_median_ms": WARM_TARGET_MS, "init_duration_ms": None},
        "warm": warm,
        "init": cold,
        "verdict": {
            "warm_invoke_median_ms": w["invoke"],
            "warm_target": verdict,
            "warm_over_2_round_trips_ms": round(w["invoke"] - w["bare_2rt_child"], 4),
            "warm_ratio_2_round_trips": round(w["invoke"] / w["bare_2rt_child"], 3),
            "init_duration_median_ms": c["init_duration"],
            "init_over_import_awslambdaric_ms": round(c["init_duration"] - c["import_ready"], 3),
            "init_over_runtime_on_bare_api_ms": round(c["init_duration"] - c["runtime_first_get"], 3),
            "cold_wall_over_runtime_on_bare_api_ms": round(
                c["cold_invoke_wall"] - c["runtime_first_post"], 3
            ),
        },
    }
    if args.quick:
        out.line("results : not written (--quick)")
    else:
        json_path, text_path = out.paths()
        root = BENCH_DIR.parent
        out.line(f"results : {json_path.relative_to(root)}, {text_path.relative_to(root)}")
        out.write(record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
