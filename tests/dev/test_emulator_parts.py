"""Unit tests of the emulator's parsers, report formatting and child bootstrap."""

from __future__ import annotations

import errno
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import threading
import types
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lambda_kit.exceptions import ConfigurationError
from lambda_kit_dev.emulator import Emulator, Invocation, Report, _supervisor
from lambda_kit_dev.emulator._environment import (
    _Control,
    _error_document,
    _Pipe,
    interpreter_dir,
    interpreter_version,
    parse_calls,
    parse_importtime,
    peak_rss_mb,
)

SHIM = Path(__file__).parents[2] / "lambda_kit_dev" / "emulator" / "_shim" / "sitecustomize.py"


def _load_shim() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("lambda_kit_shim_under_test", SHIM)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_billed_duration_rounds_up_and_includes_init() -> None:
    assert Report.billed(0.2, None) == 1
    assert Report.billed(15.74, None) == 16
    assert Report.billed(15.0, None) == 15
    assert Report.billed(15.74, 130.49) == 147  # the example line in AWS's documentation
    assert Report.billed(0.0, None) == 1


@given(
    st.floats(min_value=0, max_value=900_000), st.one_of(st.none(), st.floats(min_value=0, max_value=10_000))
)
def test_billed_is_never_less_than_what_ran(duration: float, init: float | None) -> None:
    billed = Report.billed(duration, init)
    assert billed >= duration + (init or 0.0) - 1e-6
    assert billed < duration + (init or 0.0) + 1 + 1e-6 or billed == 1


def test_report_lines_match_aws_format() -> None:
    report = Report("id-1", 15.74, 147, 128, 56, 130.49)
    assert report.lines() == [
        "START RequestId: id-1 Version: $LATEST",
        "END RequestId: id-1",
        "REPORT RequestId: id-1\tDuration: 15.74 ms\tBilled Duration: 147 ms\tMemory Size: 128 MB\t"
        "Max Memory Used: 56 MB\tInit Duration: 130.49 ms\t",
    ]
    unknown = Report("id-2", 1.0, 1, 128, None, status="timeout", error_type="Sandbox.Timedout")
    assert unknown.report_line().endswith("Max Memory Used: n/a MB\tStatus: timeout\t")


def test_invocation_helpers() -> None:
    report = Report("id", 1.0, 1, 128, 20)
    invocation = Invocation("id", b'{"a": 1}', "application/json", None, report, output="hello\n")
    assert invocation.ok
    assert not invocation.cold
    assert invocation.json() == {"a": 1}
    assert invocation.log.splitlines() == [
        "START RequestId: id Version: $LATEST",
        "hello",
        "END RequestId: id",
        report.report_line(),
    ]


def test_parse_calls_counts_and_sorts() -> None:
    data = b"ssm.GetParameter\nsecretsmanager.GetSecretValue\nssm.GetParameter\n\n"
    assert parse_calls(data) == {"secretsmanager.GetSecretValue": 1, "ssm.GetParameter": 2}
    assert list(parse_calls(data)) == ["secretsmanager.GetSecretValue", "ssm.GetParameter"]
    assert parse_calls(b"") == {}


def test_parse_importtime_splits_profile_from_output() -> None:
    text = (
        "import time: self [us] | cumulative | imported package\n"
        "hello from init\n"
        "import time:       120 |        120 |   _json\n"
        "import time:       300 |        420 | json\n"
        "import time: garbage\n"
    )
    output, timings = parse_importtime(text)
    assert output == "hello from init\n"
    assert [(t.module, t.self_us, t.cumulative_us, t.depth) for t in timings] == [
        ("_json", 120, 120, 1),
        ("json", 300, 420, 0),
    ]


@given(st.text())
def test_parse_importtime_never_raises_and_keeps_other_lines(text: str) -> None:
    output, timings = parse_importtime(text)
    assert all(not line.startswith("import time:") for line in output.splitlines(keepends=True))
    assert len(timings) <= text.count("import time:")


@given(st.binary())
def test_error_document_always_gives_an_error(body: bytes) -> None:
    document = _error_document(body)
    assert isinstance(document, dict)
    assert "requestId" not in document


def test_error_document_shapes() -> None:
    assert _error_document(b'{"errorType": "X", "errorMessage": "m", "requestId": "r"}') == {
        "errorType": "X",
        "errorMessage": "m",
    }
    assert _error_document(b"[1, 2]")["errorType"] == "Runtime.InvalidError"
    assert _error_document(b"not json") == {"errorType": "Runtime.InvalidError", "errorMessage": "not json"}


def test_peak_rss() -> None:
    own = peak_rss_mb(os.getpid())
    assert own is not None
    assert own > 1
    assert peak_rss_mb(2**22 + 12345) is None  # no such process


class _FakeSession:
    def __init__(self) -> None:
        self.handlers: list[tuple[str, object, str]] = []

    def register(self, event: str, handler: object, unique_id: str) -> None:
        self.handlers.append((event, handler, unique_id))


class _Model:
    name = "GetSecretValue"

    class service_model:
        service_name = "secretsmanager"


def test_shim_counts_calls_through_session_events() -> None:
    shim = _load_shim()
    read, write = os.pipe()
    try:
        module = types.SimpleNamespace(Session=type("Session", (_FakeSession,), {}))
        shim.patch_session_class(module, write)
        session = module.Session()
        ((event, on_call, unique_id),) = session.handlers
        assert event == "before-call"
        assert unique_id == "lambda-kit-emulator-call-counter"
        on_call(model=_Model(), params={})
        on_call(model=None)
        os.close(write)
        assert os.read(read, 1000) == b"secretsmanager.GetSecretValue\nunknown.Unknown\n"
        on_call(model=_Model())  # the pipe is gone: counting never breaks the call
    finally:
        os.close(read)


def test_shim_patches_botocore_session_as_it_is_imported(tmp_path: Path) -> None:
    shim = _load_shim()
    package = tmp_path / "botocore"
    package.mkdir()
    (package / "session.py").write_text(
        "class Session:\n"
        "    def __init__(self):\n"
        "        self.handlers = []\n"
        "    def register(self, event, handler, unique_id):\n"
        "        self.handlers.append(event)\n"
    )
    read, write = os.pipe()
    try:
        finder = shim.CallCountingFinder(write)
        assert finder.find_spec("json", None) is None
        assert finder.find_spec("botocore.session", [str(tmp_path / "nowhere")]) is None
        spec = finder.find_spec("botocore.session", [str(package)])
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        assert module.Session().handlers == ["before-call"]
    finally:
        os.close(read)
        os.close(write)


def test_shim_install_patches_a_loaded_module_or_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    shim = _load_shim()
    loaded = types.ModuleType("botocore.session")
    loaded.Session = type("Session", (_FakeSession,), {})  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "botocore.session", loaded)
    shim.install(1)
    assert loaded.Session().handlers[0][0] == "before-call"  # type: ignore[attr-defined]
    monkeypatch.delitem(sys.modules, "botocore.session")
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    shim.install(1)
    assert isinstance(sys.meta_path[0], shim.CallCountingFinder)


def test_shim_chains_to_the_next_sitecustomize(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shim = _load_shim()
    (tmp_path / "sitecustomize.py").write_text("import os\nos.environ['LAMBDA_KIT_CHAINED'] = '1'\n")
    monkeypatch.setattr(sys, "path", [str(SHIM.parent), str(tmp_path)])
    shim._load_next_sitecustomize()
    assert os.environ.get("LAMBDA_KIT_CHAINED") == "1"
    monkeypatch.setattr(sys, "path", [str(SHIM.parent)])
    shim._load_next_sitecustomize()  # none to chain: nothing happens


def test_shim_takes_its_directory_off_the_path(monkeypatch: pytest.MonkeyPatch) -> None:
    shim = _load_shim()
    here = str(SHIM.parent)
    monkeypatch.setattr(sys, "path", ["/task", here, "/layer"])
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([here, "/task", "/layer"]))
    shim.remove_own_directory()
    assert sys.path == ["/task", "/layer"]
    assert os.environ["PYTHONPATH"] == os.pathsep.join(["/task", "/layer"])
    monkeypatch.delenv("PYTHONPATH")
    shim.remove_own_directory()
    assert "PYTHONPATH" not in os.environ


def test_interpreter_version_and_directory(tmp_path: Path) -> None:
    assert interpreter_version(sys.executable) == sys.version_info[:2]
    assert interpreter_version(str(tmp_path / "missing")) == sys.version_info[:2]  # falls back
    mute = tmp_path / "mute"
    mute.write_text("#!/bin/sh\necho not a version\n")
    mute.chmod(0o755)
    assert interpreter_version(str(mute)) == sys.version_info[:2]
    assert interpreter_version(str(mute)) == sys.version_info[:2]  # asked once, then remembered
    assert interpreter_dir(str(mute)) == str(tmp_path)
    assert interpreter_dir("sh") == os.path.dirname(os.path.abspath(shutil.which("sh") or ""))


def test_pipe_closes_its_descriptor_once() -> None:
    read, write = os.pipe()
    pipe = _Pipe(read)
    os.write(write, b"hello")
    os.close(write)
    pipe._thread.join(5)  # end of file stops the pump
    assert not pipe._thread.is_alive()
    assert pipe.take() == b"hello"
    pipe.close()
    reused = os.open(os.devnull, os.O_RDONLY)  # may take the number just freed
    try:
        pipe.close()
        assert pipe.take() == b""
        os.fstat(reused)
    finally:
        os.close(reused)


def test_shim_at_start_up_counts_and_leaves_the_path(monkeypatch: pytest.MonkeyPatch) -> None:
    here = str(SHIM.parent)
    monkeypatch.setattr(sys, "path", [here])
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    monkeypatch.delitem(sys.modules, "botocore.session", raising=False)
    monkeypatch.setenv("_LAMBDA_KIT_CALLS_FD", "1")
    spec = importlib.util.spec_from_file_location("sitecustomize", SHIM)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # what site does at the child's start-up
    assert sys.path == []
    assert "_LAMBDA_KIT_CALLS_FD" not in os.environ
    assert type(sys.meta_path[0]).__name__ == "CallCountingFinder"


def test_closed_environment_refuses_to_invoke(handlers: Path) -> None:
    from lambda_kit_dev.emulator import Emulator
    from lambda_kit_dev.emulator._environment import Environment
    from lambda_kit_dev.exceptions import HandlerNotReadyError

    environment = Environment(Emulator("basic.echo", task_root=handlers).config)
    environment.close()
    environment.close()  # idempotent
    assert not environment.reusable
    with pytest.raises(HandlerNotReadyError, match="stopped"):
        environment.invoke(b"{}", "application/json")


# -- the environment's supervisor (issue 11: processes that leave the runtime's group) ---------

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def _process_state(pid: int) -> str | None:
    """The /proc state letter of ``pid``, or None once it has been reaped."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rpartition(b")")[2].split()[0].decode()
    except FileNotFoundError:
        return None


@linux_only
def test_supervisor_finds_and_kills_descendants_in_other_sessions() -> None:
    script = (
        "import subprocess\n"
        "child = subprocess.Popen(['/bin/sleep', '60'], start_new_session=True)\n"
        "print(child.pid, flush=True)\n"
        "child.wait()\n"
    )
    with subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True) as parent:
        try:
            assert parent.stdout is not None
            child = int(parent.stdout.readline())
            assert _supervisor.descendants(parent.pid) == [child]
            assert parent.pid in _supervisor.descendants(os.getpid())
            assert child in _supervisor.descendants(os.getpid())  # grandchildren too
            _supervisor.kill_descendants(parent.pid, reap=lambda: None)
            assert parent.wait(timeout=30) == 0  # its child ended (killed), so it returned
            assert _supervisor.descendants(parent.pid) == []
        finally:
            parent.kill()


@linux_only
def test_supervisor_descendants_leave_out_zombies_and_a_missing_proc(monkeypatch: pytest.MonkeyPatch) -> None:
    ended = subprocess.Popen(["/bin/true"])
    try:
        for _ in range(10_000):  # until it is a zombie (bounded)
            if _process_state(ended.pid) == "Z":
                break
            os.sched_yield()
        assert _process_state(ended.pid) == "Z"
        assert ended.pid not in _supervisor.descendants(os.getpid())
    finally:
        ended.wait()

    monkeypatch.setattr(os, "listdir", lambda path: ["self", str(2**22 + 12345)])  # gone meanwhile
    assert _supervisor.descendants(os.getpid()) == []

    def no_proc(path: str) -> list[str]:
        raise FileNotFoundError(path)

    monkeypatch.setattr(os, "listdir", no_proc)
    assert _supervisor.descendants(os.getpid()) == []


def test_supervisor_sweep_skips_what_it_may_not_signal(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[int] = []

    def kill(pid: int, signum: int) -> None:
        sent.append(pid)
        if pid == 1:
            raise PermissionError(pid)
        raise ProcessLookupError(pid)

    scans = iter([[1, 2], [1, 3], []])
    monkeypatch.setattr(_supervisor, "descendants", lambda root: next(scans))
    monkeypatch.setattr(os, "kill", kill)
    passes: list[int] = []
    _supervisor.kill_descendants(99, reap=lambda: passes.append(1))
    assert sent == [1, 2, 3]  # pid 1 refused once, then left alone
    assert len(passes) == 3  # reaped after each pass

    monkeypatch.setattr(_supervisor, "descendants", lambda root: [4])  # never goes away
    sent.clear()
    _supervisor.kill_descendants(99, reap=lambda: None, limit_s=0)
    assert sent == [4]  # the time limit ends the sweep


def test_supervisor_reaps_until_no_child_has_ended(monkeypatch: pytest.MonkeyPatch) -> None:
    answers: list[object] = [(7, 0), (0, 0)]

    def waitpid(pid: int, options: int) -> object:
        answer = answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    monkeypatch.setattr(os, "waitpid", waitpid)
    _supervisor.reap_children()
    assert answers == []
    answers[:] = [(8, 0), ChildProcessError()]
    _supervisor.reap_children()
    assert answers == []


def test_supervisor_is_a_subreaper_only_where_prctl_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    import ctypes

    results: list[object] = [0, -1, OSError("no libc")]

    class Libc:
        def __init__(self, name: object, use_errno: bool = False) -> None:
            answer = results.pop(0)
            if isinstance(answer, BaseException):
                raise answer
            self.prctl = lambda *args: answer  # the real one would change the test process

    monkeypatch.setattr(ctypes, "CDLL", Libc)
    monkeypatch.setattr(sys, "platform", "darwin")
    assert _supervisor.set_child_subreaper() is False
    monkeypatch.setattr(sys, "platform", "linux")
    assert _supervisor.set_child_subreaper() is True
    assert _supervisor.set_child_subreaper() is False
    assert _supervisor.set_child_subreaper() is False


@linux_only
def test_supervisor_kills_the_runtime_and_its_group() -> None:
    runtime = subprocess.Popen(["/bin/sleep", "60"], start_new_session=True)
    _supervisor.kill_runtime(runtime.pid)
    assert runtime.wait(timeout=30) == -signal.SIGKILL
    _supervisor.kill_runtime(runtime.pid)  # reaped: nothing to signal, nothing raised
    read, write = os.pipe()
    os.close(read)
    _supervisor._report(write, b"X 0 0\n")  # the emulator went away: nothing raised
    os.close(write)


def _run_supervisor(
    command: list[str], go: bytes | None = b"g", **options: Any
) -> tuple[int, list[list[str]]]:
    """Run the supervisor's loop in this process; its exit status and report lines."""
    report_read, report_write = os.pipe()
    go_read, go_write = os.pipe()
    if go:
        os.write(go_write, go)
    if go is not None:
        os.close(go_write)
    options.setdefault("subreaper", lambda: False)  # never make the test process a subreaper
    options.setdefault("wait", lambda runtime: os.wait4(runtime, 0))  # only the runtime
    options.setdefault("sweep", lambda: None)
    try:
        status = _supervisor.run(report_write, go_read, command, **options)
        with os.fdopen(report_read, "rb") as report:
            lines = [line.decode().split() for line in report.read().splitlines()]
        return status, lines
    finally:
        if go is None:
            os.close(go_write)


def test_supervisor_runs_the_runtime_and_reports_how_it_ended() -> None:
    swept: list[int] = []
    status, lines = _run_supervisor(["/bin/sh", "-c", "exit 3"], sweep=lambda: swept.append(1))
    assert status == 0
    assert [line[0] for line in lines] == ["S", "R", "X"]
    assert lines[0] == ["S", str(os.getpid()), "0"]
    assert os.waitstatus_to_exitcode(int(lines[2][1])) == 3
    assert swept == [1]


def test_supervisor_reaps_orphans_until_the_runtime_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    import resource

    orphan = (12345, 0, resource.getrusage(resource.RUSAGE_SELF))
    waits: list[tuple[int, int, Any]] = [orphan]
    swept: list[int] = []
    monkeypatch.setattr(_supervisor, "kill_descendants", swept.append)  # not this process's tree

    def wait(runtime: int) -> tuple[int, int, Any]:
        return waits.pop() if waits else os.wait4(runtime, 0)

    status, lines = _run_supervisor(["/bin/sh", "-c", "exit 0"], wait=wait, sweep=None)
    assert (status, [line[0] for line in lines]) == (0, ["S", "R", "X"])
    assert waits == []
    assert swept == [os.getpid()]  # by default, everything below the supervisor


def test_supervisor_leaves_without_a_go_or_when_the_runtime_cannot_start() -> None:
    assert _run_supervisor(["/bin/true"], go=b"") == (0, [["S", str(os.getpid()), "0"]])
    status, lines = _run_supervisor(["/no/such/program"])
    assert status == 0
    assert lines[1] == ["E", str(errno.ENOENT)]


def test_supervisor_stops_on_sigterm_before_and_during_the_runtime() -> None:
    main = threading.get_ident()

    def terminate_after(line: str, report: int) -> None:
        with os.fdopen(os.dup(report), "rb") as stream:
            while stream.readline().split()[:1] != [line.encode()]:
                pass
        signal.pthread_kill(main, signal.SIGTERM)

    # Before the go: the supervisor leaves at once (and restores the old handler).
    report_read, report_write = os.pipe()
    go_read, go_write = os.pipe()
    watcher = threading.Thread(target=terminate_after, args=("S", report_read))
    watcher.start()
    try:
        status = _supervisor.run(report_write, go_read, ["/bin/true"], subreaper=lambda: False)
    finally:
        watcher.join()
        os.close(go_write)
        os.close(report_read)
    assert status == 0
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL

    # While the runtime runs: it is killed, reported, and the loop ends.
    report_read, report_write = os.pipe()
    go_read, go_write = os.pipe()
    os.write(go_write, b"g")
    watcher = threading.Thread(target=terminate_after, args=("R", report_read))
    watcher.start()
    try:
        status = _supervisor.run(
            report_write,
            go_read,
            ["/bin/sleep", "60"],
            subreaper=lambda: False,
            wait=lambda runtime: os.wait4(runtime, 0),
            sweep=lambda: None,
        )
    finally:
        watcher.join()
        os.close(go_write)
        os.close(report_read)
    assert status == 0


def test_supervisor_kills_the_runtime_on_a_fault_of_its_own() -> None:
    started: list[int] = []

    def broken_wait(runtime: int) -> tuple[int, int, Any]:
        started.append(runtime)
        raise RuntimeError("a bug in the supervisor")

    with pytest.raises(RuntimeError, match="a bug"):
        _run_supervisor(["/bin/sleep", "60"], wait=broken_wait)
    (runtime,) = started
    _, wait_status = os.waitpid(runtime, 0)
    assert os.waitstatus_to_exitcode(wait_status) == -signal.SIGKILL

    def broken_sweep() -> None:  # the runtime is reaped: nothing left to kill but to report
        raise RuntimeError("a bug in the sweep")

    with pytest.raises(RuntimeError, match="sweep"):
        _run_supervisor(["/bin/true"], sweep=broken_sweep)


def test_supervisor_ignores_sigterm_once_the_sweep_has_begun() -> None:
    main = threading.get_ident()
    swept: list[int] = []

    def sweep() -> None:
        signal.pthread_kill(main, signal.SIGTERM)  # handled at once, in this thread
        swept.append(1)

    status, lines = _run_supervisor(["/bin/true"], sweep=sweep)
    assert (status, swept, [line[0] for line in lines]) == (0, [1], ["S", "R", "X"])


def test_control_pipe_reads_the_supervisors_lines() -> None:
    read, write = os.pipe()
    control = _Control(read)
    try:
        control.poll()
        assert (control.supervisor, control.runtime, control.ended) == (None, None, None)
        assert control.wait(lambda: control.supervisor is not None, 0) is False  # nothing yet
        os.write(write, b"S 10 1\nR 1")
        assert control.wait(lambda: control.supervisor is not None, 30)
        assert (control.supervisor, control.subreaper, control.runtime) == (10, True, None)  # half a line
        os.write(write, b"1\n\nbogus\nX nine 9\nR\nE 2\nX 256 2048\n")
        control.poll()
        assert (control.runtime, control.spawn_errno, control.ended) == (11, 2, (256, 2048))
        os.close(write)
        assert control.wait(lambda: False, 30) is False  # end of file
        assert control.eof
    finally:
        control.close()
    reused = os.open(os.devnull, os.O_RDONLY)  # may take the number just freed
    try:
        control.close()  # once only
        control.poll()  # never reads a closed (or reused) descriptor
        assert control.wait(lambda: False, 30) is False
        os.fstat(reused)
    finally:
        os.close(reused)


def test_kill_group_without_a_report_pipe_yet_stops_the_supervisor(handlers: Path) -> None:
    from lambda_kit_dev.emulator import Emulator
    from lambda_kit_dev.emulator._environment import Environment

    environment = Environment(Emulator("basic.echo", task_root=handlers).config)
    try:
        environment.kill_group()  # nothing started: nothing to do
        with subprocess.Popen(["/bin/sleep", "60"]) as supervisor:
            environment.process = supervisor  # started, its report pipe not yet read
            environment.kill_group()
            assert supervisor.wait(timeout=30) == -signal.SIGTERM
    finally:
        environment.process = None
        environment.close()


# -- what the emulator sends the runtime (issue 11: non-ASCII and long names) -------------------


def _parsed_header(head: bytes, name: str) -> str:
    """A header's value as an HTTP client reads the head, decoded as awslambdaric does (UTF-8)."""
    import http.client
    import io

    stream = io.BytesIO(head)
    assert stream.readline().startswith(b"HTTP/1.1 200 ")
    value = http.client.parse_headers(stream)[name]  # the standard library's client reads latin-1
    assert isinstance(value, str)
    return value.encode("latin-1").decode("utf-8")


@given(st.text(max_size=200))
def test_a_name_the_emulator_takes_reaches_the_runtime_unchanged(text: str) -> None:
    from lambda_kit_dev.emulator._emulator import unfit
    from lambda_kit_dev.emulator._environment import response_head

    if unfit(text) is not None:
        with pytest.raises(ConfigurationError, match="function_name"):
            Emulator("basic.echo", function_name=text)
        return
    arn = f"arn:aws:lambda:us-east-1:123456789012:function:{text}"
    head = response_head(200, 0, {"Lambda-Runtime-Invoked-Function-Arn": arn})
    assert head.endswith(b"\r\n\r\n")
    assert head.count(b"\r\n") == 4  # status, length, the header, and the blank line: nothing injected
    assert _parsed_header(head, "Lambda-Runtime-Invoked-Function-Arn") == arn
    assert os.fsdecode(os.fsencode(text)) == text  # and as an environment variable


@given(st.text(min_size=1))
def test_any_handler_module_gets_a_function_name_that_can_be_sent(module: str) -> None:
    from lambda_kit_dev.emulator._emulator import default_function_name, unfit

    assert unfit(default_function_name(module)) is None


# Values are bracketed so that none can be a chance substring of a message's own words.
@given(
    st.dictionaries(st.text(max_size=20), st.text(max_size=50).map(lambda v: f"\u27e6{v}\u27e7"), max_size=4)
)
def test_an_environment_is_taken_whole_or_refused_without_showing_a_value(env: dict[str, str]) -> None:
    from lambda_kit_dev.emulator._emulator import _checked_env

    try:
        checked = _checked_env(env)
    except ConfigurationError as error:
        shown = f"{error} {error!r} {error.context!r}"
        assert not any(value in shown for value in env.values())
        return
    assert checked == env
    for key, value in checked.items():
        assert os.fsdecode(os.fsencode(key)) == key
        assert os.fsdecode(os.fsencode(value)) == value


def test_supervisor_gives_the_runtime_its_own_group_without_posix_spawn_setsid(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_spawn = os.posix_spawnp
    calls: list[dict[str, Any]] = []

    def spawn(path: str, argv: list[str], env: Any, **options: Any) -> int:
        calls.append(options)
        if options.get("setsid"):
            raise NotImplementedError("setsid")  # as on an older macOS
        return real_spawn(path, argv, env, **options)

    monkeypatch.setattr(os, "posix_spawnp", spawn)
    script = "import os, sys; sys.exit(0 if os.getpgrp() == os.getpid() else 1)"
    status, lines = _run_supervisor([sys.executable, "-I", "-S", "-c", script])
    assert status == 0
    assert os.waitstatus_to_exitcode(int(lines[2][1])) == 0  # it leads a process group
    assert [options.get("setpgroup") for options in calls] == [None, 0]
