"""The emulator drives the real awslambdaric runtime client through our Runtime API."""

from __future__ import annotations

import gc
import io
import json
import os
import re
import resource
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from lambda_kit.exceptions import ConfigurationError, LambdaKitError
from lambda_kit_dev import AwsStandIn, Emulator
from lambda_kit_dev.exceptions import EmulatorError, HandlerNotReadyError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

pytestmark = pytest.mark.emulator

REPORT = re.compile(
    r"^REPORT RequestId: [0-9a-f-]{36}\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\t"
    r"Memory Size: \d+ MB\tMax Memory Used: \d+ MB\t(Init Duration: \d+\.\d\d ms\t)?"
    r"(Status: (error|timeout)\t(Error Type: [\w.]+\t)?)?$"
)


def test_success_cold_then_warm(handlers: Path) -> None:
    with Emulator("basic.echo", task_root=handlers, memory_mb=256, timeout_s=3) as fn:
        cold = fn.invoke({"n": 1})
        warm = fn.invoke({"n": 2})

    assert cold.ok
    assert warm.ok
    assert cold.json()["event"] == {"n": 1}
    assert warm.json()["event"] == {"n": 2}
    assert cold.json()["pid"] == warm.json()["pid"]  # same execution environment
    assert 0 < cold.json()["remaining_ms"] <= 3000
    assert cold.cold
    assert not warm.cold
    assert cold.init_output == "INIT of basic\n"
    assert warm.init_output == ""
    assert cold.output == "invocation 1\n"
    assert warm.output == "invocation 2\n"
    report = cold.report
    assert report.init_duration_ms is not None
    assert report.init_duration_ms > 0
    assert report.duration_ms > 0
    assert report.billed_duration_ms >= report.duration_ms + report.init_duration_ms
    assert report.billed_duration_ms < report.duration_ms + report.init_duration_ms + 1
    assert report.memory_size_mb == 256
    assert report.max_memory_used_mb is not None
    assert 5 < report.max_memory_used_mb < 256
    assert warm.report.init_duration_ms is None
    assert warm.report.billed_duration_ms >= warm.report.duration_ms
    for invocation in (cold, warm):
        assert REPORT.match(invocation.report.report_line()), invocation.report.report_line()
        assert "Init Duration" in invocation.report.report_line()[:0] + cold.report.report_line()
    assert "Init Duration" not in warm.report.report_line()
    assert warm.report.status is None


def test_log_is_cloudwatch_shaped(handlers: Path) -> None:
    echo = io.StringIO()
    with Emulator("basic.echo", task_root=handlers, echo=echo) as fn:
        invocation = fn.invoke({"n": 7})
    lines = invocation.log.splitlines()
    assert lines[0] == "INIT of basic"
    assert lines[1] == f"START RequestId: {invocation.request_id} Version: $LATEST"
    assert lines[2] == "invocation 7"
    assert lines[3] == f"END RequestId: {invocation.request_id}"
    assert lines[4].startswith(f"REPORT RequestId: {invocation.request_id}\t")
    assert echo.getvalue() == invocation.log


def test_context_and_environment(handlers: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIA-REAL-LOOKING-KEY")
    monkeypatch.setenv("DEMO_NOT_PASSED", "1")
    with Emulator(
        "basic.context_info",
        task_root=handlers,
        memory_mb=512,
        function_name="orders",
        region="eu-west-1",
        env={"USER_SETTING": "on"},
    ) as fn:
        info = fn.invoke().json()
    assert info["function_name"] == "orders"
    assert str(info["memory"]) == "512"
    assert info["arn"] == "arn:aws:lambda:eu-west-1:123456789012:function:orders"
    assert re.fullmatch(r"[0-9a-f-]{36}", info["request_id"])
    env = info["env"]
    assert env["USER_SETTING"] == "on"
    assert env["AWS_REGION"] == "eu-west-1"
    assert env["AWS_EXECUTION_ENV"].startswith("AWS_Lambda_python3.")
    assert "AWS_ACCESS_KEY_ID" not in env  # the caller's credentials never leak in
    assert "DEMO_NOT_PASSED" not in env
    assert "AWS_LAMBDA_MAX_CONCURRENCY" not in env


def test_handler_exception_is_reported_and_environment_survives(handlers: Path) -> None:
    with Emulator("basic.fail", task_root=handlers) as fn:
        failed = fn.invoke()
        again = fn.invoke()
    assert not failed.ok
    assert failed.error is not None
    assert failed.error["errorType"] == "ValueError"
    assert failed.error["errorMessage"] == "order 42 is invalid"
    assert any("raise ValueError" in line for line in failed.error["stackTrace"])
    assert json.loads(failed.payload)["errorType"] == "ValueError"
    assert failed.report.status == "error"
    assert failed.report.report_line().endswith("\tStatus: error\tError Type: ValueError\t")
    assert REPORT.match(failed.report.report_line())
    assert "about to fail" in failed.output
    assert "[ERROR] ValueError: order 42 is invalid" in failed.output
    assert not again.cold  # a handler error does not end the environment


def test_import_error_is_runtime_import_module_error(handlers: Path) -> None:
    with Emulator("broken_import.handler", task_root=handlers) as fn:
        first = fn.invoke()
        second = fn.invoke()
    assert first.error is not None
    assert first.error["errorType"] == "Runtime.ImportModuleError"
    assert "this_module_does_not_exist" in first.error["errorMessage"]
    assert first.report.status == "error"
    assert first.report.error_type == "Runtime.ImportModuleError"
    assert first.report.init_duration_ms is not None
    assert "Runtime.ImportModuleError" in first.init_output
    assert second.cold  # INIT is attempted again, as on Lambda
    assert second.error is not None
    assert second.error["errorType"] == "Runtime.ImportModuleError"


def test_missing_handler_function(handlers: Path) -> None:
    with Emulator("basic.no_such_function", task_root=handlers) as fn:
        result = fn.invoke()
    assert result.error is not None
    assert result.error["errorType"] == "Runtime.HandlerNotFound"


def test_timeout_kills_the_environment_and_next_is_cold(handlers: Path) -> None:
    with Emulator("basic.sleep", task_root=handlers, timeout_s=0.5) as fn:
        timed_out = fn.invoke({"seconds": 5})
        after = fn.invoke({"seconds": 0})
    assert timed_out.error is not None
    assert timed_out.error["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 0.50 seconds" in timed_out.error["errorMessage"]
    assert timed_out.report.status == "timeout"
    assert timed_out.report.duration_ms == 500.0
    assert timed_out.report.report_line().endswith("\tStatus: timeout\t")
    assert REPORT.match(timed_out.report.report_line())
    assert after.ok
    assert after.cold


def test_init_timeout(handlers: Path) -> None:
    with Emulator("hang_init.handler", task_root=handlers, init_timeout_s=0.5) as fn:
        result = fn.invoke()
    assert result.error is not None
    assert result.error["errorType"] == "Sandbox.Timedout"
    assert "INIT phase timed out" in result.error["errorMessage"]
    assert result.report.status == "timeout"
    assert result.report.init_duration_ms == 500.0


def test_crash_is_runtime_exit_error_and_never_hangs(handlers: Path) -> None:
    with Emulator("basic.crash", task_root=handlers, timeout_s=10) as fn:
        crashed = fn.invoke()
        assert fn.environments == 0  # the dead environment was discarded
        after = fn.invoke()
    assert crashed.error is not None
    assert crashed.error["errorType"] == "Runtime.ExitError"
    assert crashed.error["errorMessage"].endswith("Runtime exited with error: exit status 3")
    assert crashed.report.duration_ms < 5000  # reported at the crash, not at the timeout
    assert crashed.report.report_line().endswith("\tStatus: error\tError Type: Runtime.ExitError\t")
    assert crashed.report.max_memory_used_mb is not None
    assert after.cold


def test_event_over_one_megabyte(handlers: Path) -> None:
    event = {"data": "z" * (1536 * 1024)}
    with Emulator("basic.size", task_root=handlers) as fn:
        result = fn.invoke(event)
    assert result.json() == {"bytes": len(json.dumps(event))}


def test_payload_limits_and_json_are_enforced(handlers: Path) -> None:
    with Emulator("basic.size", task_root=handlers) as fn:
        with pytest.raises(EmulatorError, match="at most 6291456 bytes") as too_big:
            fn.invoke({"data": "z" * (6 * 1024 * 1024)})
        assert too_big.value.context["code"] == "RequestEntityTooLargeException"
        with pytest.raises(EmulatorError, match="JSON") as not_json:
            fn.invoke(payload=b"{not json")
        assert not_json.value.context["code"] == "InvalidRequestContentException"
        raw = fn.invoke(payload='{"a": 1}')
    assert raw.json() == {"bytes": len(json.dumps({"a": 1}))}


def test_response_over_six_megabytes_fails(handlers: Path) -> None:
    with Emulator("basic.big_response", task_root=handlers) as fn:
        result = fn.invoke()
    assert result.error is not None
    assert result.error["errorType"] == "Function.ResponseSizeTooLarge"


def test_bytes_response_is_passed_through(handlers: Path) -> None:
    with Emulator("basic.binary", task_root=handlers) as fn:
        result = fn.invoke()
    assert result.ok
    assert result.payload == b"\x00\x01\x02binary\xff"
    assert result.content_type == "application/unknown"


def test_output_is_attributed_to_its_invocation_without_loss(handlers: Path) -> None:
    with Emulator("basic.noisy", task_root=handlers) as fn:  # ~200 KB, over a pipe's 64 KB
        first = fn.invoke()
        second = fn.invoke()
    for invocation in (first, second):
        lines = invocation.output.splitlines()
        assert len(lines) == 4000
        assert lines[0].startswith("line 00000")
        assert lines[-1].startswith("line 03999")


def test_two_environments_at_once(handlers: Path) -> None:
    with Emulator("basic.sleep", task_root=handlers, timeout_s=5) as fn:
        results = fn.invoke_all([{"seconds": 0.3}, {"seconds": 0.3}], concurrency=2)
        assert fn.environments == 2
    assert all(r.ok and r.cold for r in results)
    assert results[0].request_id != results[1].request_id


def test_concurrency_beyond_max_environments_is_throttled(handlers: Path) -> None:
    errors: list[BaseException] = []
    with Emulator("basic.sleep", task_root=handlers, timeout_s=5, max_environments=1) as fn:
        fn.invoke({"seconds": 0})  # warm one environment first
        started = threading.Event()

        def busy() -> None:
            started.set()
            fn.invoke({"seconds": 1})

        thread = threading.Thread(target=busy)
        thread.start()
        started.wait()
        try:
            for _ in range(100):  # until the first invocation holds the only environment
                if fn.environments == 1 and not fn._idle:
                    break
                threading.Event().wait(0.01)
            fn.invoke({"seconds": 0})
        except EmulatorError as error:
            errors.append(error)
        thread.join()
    assert len(errors) == 1
    assert isinstance(errors[0], EmulatorError)
    assert errors[0].context["code"] == "TooManyRequestsException"


def test_slow_import_shows_in_init_duration(handlers: Path) -> None:
    with Emulator("slow_init.handler", task_root=handlers) as fn:
        result = fn.invoke()
    assert result.json() == "ready"
    assert result.report.init_duration_ms is not None
    assert result.report.init_duration_ms >= 200.0
    assert result.report.duration_ms < result.report.init_duration_ms


def test_memory_reflects_what_the_handler_holds(handlers: Path) -> None:
    with Emulator("basic.allocate", task_root=handlers, memory_mb=512) as fn:
        small = fn.invoke({"mb": 1})
        large = fn.invoke({"mb": 64})
    assert small.report.max_memory_used_mb is not None
    assert large.report.max_memory_used_mb is not None
    assert large.report.max_memory_used_mb >= small.report.max_memory_used_mb + 60


def test_fresh_and_reset_force_cold_starts(handlers: Path) -> None:
    with Emulator("basic.echo", task_root=handlers) as fn:
        first = fn.invoke({})
        fresh = fn.invoke({}, fresh=True)
        warm = fn.invoke({})
        fn.reset()
        after_reset = fn.invoke({})
    assert first.cold
    assert fresh.cold
    assert not warm.cold
    assert after_reset.cold
    assert first.json()["pid"] != fresh.json()["pid"]


def test_closed_emulator_refuses(handlers: Path) -> None:
    fn = Emulator("basic.echo", task_root=handlers)
    fn.close()
    with pytest.raises(EmulatorError, match="closed"):
        fn.invoke({})
    assert "basic.echo" in repr(fn)


def test_aws_calls_are_counted_per_phase(handlers: Path, aws: AwsStandIn) -> None:
    aws.client("secretsmanager").create_secret(Name="emulator/counted", SecretString="s3cr3t-value")
    aws.client("ssm").put_parameter(Name="/demo/flag", Value="on", Type="String", Overwrite=True)
    with Emulator(
        "aws_calls.handler", task_root=handlers, aws=aws, env={"SECRET_ID": "emulator/counted"}
    ) as fn:
        cold = fn.invoke({"calls": 2})
        warm = fn.invoke({"calls": 3})
    assert cold.ok, cold.error
    assert cold.init_aws_calls == {"secretsmanager.GetSecretValue": 1}
    assert cold.aws_calls == {"secretsmanager.GetSecretValue": 2, "ssm.GetParameter": 1}
    assert warm.init_aws_calls == {}
    assert warm.aws_calls == {"secretsmanager.GetSecretValue": 3, "ssm.GetParameter": 1}
    assert "s3cr3t-value" not in cold.log


def test_counting_can_be_switched_off(handlers: Path, aws: AwsStandIn) -> None:
    aws.client("secretsmanager").create_secret(Name="emulator/uncounted", SecretString="v")
    aws.client("ssm").put_parameter(Name="/demo/flag", Value="on", Type="String", Overwrite=True)
    with Emulator(
        "aws_calls.handler",
        task_root=handlers,
        aws=aws,
        count_aws_calls=False,
        env={"SECRET_ID": "emulator/uncounted"},
    ) as fn:
        result = fn.invoke({"calls": 1})
    assert result.ok, result.error
    assert result.aws_calls == {}
    assert result.init_aws_calls == {}


def test_counting_switches_per_environment(handlers: Path, aws: AwsStandIn) -> None:
    """bench times cold starts without the counter, then counts in one more environment."""
    aws.client("secretsmanager").create_secret(Name="emulator/switched", SecretString="v")
    aws.client("ssm").put_parameter(Name="/demo/flag", Value="on", Type="String", Overwrite=True)
    with Emulator(
        "aws_calls.handler", task_root=handlers, aws=aws, env={"SECRET_ID": "emulator/switched"}
    ) as fn:
        fn.count_aws_calls = False
        quiet = fn.invoke({"calls": 1}, fresh=True)
        fn.count_aws_calls = True
        counted = fn.invoke({"calls": 1}, fresh=True)
        warm = fn.invoke({"calls": 2})
    assert quiet.ok, quiet.log
    assert counted.ok, counted.log
    assert warm.ok, warm.log
    assert (quiet.init_aws_calls, quiet.aws_calls) == ({}, {})
    assert counted.init_aws_calls == {"secretsmanager.GetSecretValue": 1}
    assert counted.aws_calls == {"secretsmanager.GetSecretValue": 1, "ssm.GetParameter": 1}
    assert warm.aws_calls == {"secretsmanager.GetSecretValue": 2, "ssm.GetParameter": 1}


def test_emulator_owns_a_stand_in_when_asked(handlers: Path) -> None:
    with Emulator("basic.context_info", task_root=handlers, aws=True) as fn:
        env = fn.invoke().json()["env"]
        stand_in = fn.aws
        assert stand_in is not None
        assert stand_in.running
        assert env["AWS_ENDPOINT_URL"] == stand_in.endpoint_url
        assert env["AWS_ACCESS_KEY_ID"] == "testing"
    assert not stand_in.running  # stopped with the emulator


def test_user_sitecustomize_still_runs(handlers: Path) -> None:
    user_site = Path(__file__).parent / "user_site"
    with Emulator("basic.context_info", task_root=handlers, python_path=[user_site]) as fn:
        env = fn.invoke().json()["env"]
    assert env.get("USER_SITECUSTOMIZE_RAN") == "yes"


def test_import_profile(handlers: Path) -> None:
    # The handler module itself is loaded by importlib.import_module, which
    # -X importtime does not time; what it imports is timed.
    with Emulator("profiled.handler", task_root=handlers, import_profile=True) as fn:
        result = fn.invoke()
    modules = {timing.module: timing for timing in result.imports}
    assert "slow_dependency" in modules
    assert modules["slow_dependency"].cumulative_us >= 200_000
    assert "import time:" not in result.init_output


@pytest.mark.parametrize(
    ("kwargs", "setting"),
    [
        ({"memory_mb": 64}, "memory_mb"),
        ({"memory_mb": 20000}, "memory_mb"),
        ({"timeout_s": 0}, "timeout_s"),
        ({"timeout_s": 901}, "timeout_s"),
        ({"init_timeout_s": -1}, "init_timeout_s"),
        ({"max_environments": 0}, "max_environments"),
        ({"task_root": "/no/such/dir"}, "task_root"),
    ],
)
def test_invalid_configuration(handlers: Path, kwargs: dict[str, object], setting: str) -> None:
    options: dict[str, object] = {"task_root": handlers, **kwargs}
    with pytest.raises(ConfigurationError) as caught:
        Emulator("basic.echo", **options)  # type: ignore[arg-type]
    assert caught.value.context["setting"] == setting
    assert isinstance(caught.value, LambdaKitError)


@pytest.mark.parametrize("handler", ["nodot", ".handler", "module.", "", "app\x00.handler", "app.\ud800"])
def test_invalid_handler_string(handler: str) -> None:
    with pytest.raises(ConfigurationError, match=r"module\.function"):
        Emulator(handler)


def test_invalid_concurrency(handlers: Path) -> None:
    with Emulator("basic.echo", task_root=handlers) as fn, pytest.raises(ConfigurationError):
        fn.invoke_all([{}], concurrency=0)


def test_missing_interpreter_is_a_clear_error(handlers: Path) -> None:
    with Emulator("basic.echo", task_root=handlers, python="/no/such/python") as fn:
        with pytest.raises(EmulatorError, match="Could not start the runtime"):
            fn.invoke({})
        assert fn.environments == 0


def test_children_are_gone_after_close(handlers: Path) -> None:
    with Emulator("basic.echo", task_root=handlers) as fn:
        pid = fn.invoke({}).json()["pid"]
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


# -- faults found in review: each test failed before its fix -------------------------


def _gone(pid: int) -> bool:
    """Whether ``pid`` has ended (a zombie waiting for its reaper counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] == "Z"
    except FileNotFoundError:
        return True


def _wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_close_during_an_invocation_fails_it_and_closes_each_fd_once(
    handlers: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed: list[int] = []
    real_close = os.close

    def recording_close(fd: int) -> None:
        closed.append(fd)
        real_close(fd)

    monkeypatch.setattr(os, "close", recording_close)
    fn = Emulator("faults.print_then_sleep", task_root=handlers, timeout_s=30)
    errors: list[BaseException] = []

    def invoke() -> None:
        try:
            fn.invoke({"seconds": 30})
        except EmulatorError as error:
            errors.append(error)

    thread = threading.Thread(target=invoke)
    thread.start()
    assert _wait_until(lambda: any(e._pending and e._pending.handed_out_at for e in list(fn._busy)))
    fn.close()
    mine = [open(os.devnull) for _ in range(6)]  # noqa: SIM115 - may reuse the numbers close() freed
    thread.join()
    try:
        for file in mine:
            os.fstat(file.fileno())  # still ours: nobody closed them a second time
    finally:
        for file in mine:
            file.close()
    assert len(errors) == 1
    assert "closed during the invocation" in str(errors[0])
    assert not isinstance(errors[0], HandlerNotReadyError)
    repeated = [
        fd for fd, count in Counter(closed).items() if count > 1 and fd not in {f.fileno() for f in mine}
    ]
    assert repeated == []


def test_timeout_keeps_what_the_function_wrote(handlers: Path) -> None:
    with Emulator("faults.print_then_sleep", task_root=handlers, timeout_s=0.5) as fn:
        result = fn.invoke({"seconds": 30})
    assert result.report.status == "timeout"
    assert result.output == "step 1: calling the slow dependency\n"
    assert "step 1: calling the slow dependency" in result.log


def test_init_timeout_keeps_what_init_wrote(handlers: Path) -> None:
    with Emulator("hang_init_noisy.handler", task_root=handlers, init_timeout_s=0.5) as fn:
        result = fn.invoke()
    assert result.error is not None
    assert "INIT phase timed out" in result.error["errorMessage"]
    assert result.init_output == "INIT: connecting to the database\n"
    assert result.output == ""
    assert result.log.startswith("INIT: connecting to the database\n")


def test_output_pipes_above_descriptor_1024_are_drained(handlers: Path) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2048:
        if hard != resource.RLIM_INFINITY and hard < 2048:
            pytest.skip("cannot open 1100 files here")
        resource.setrlimit(resource.RLIMIT_NOFILE, (2048, hard))
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]  # a busy process
    try:
        with Emulator("noisy_init.handler", task_root=handlers, init_timeout_s=5) as fn:
            result = fn.invoke()
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert result.ok, result.error
    assert len(result.init_output) == 600_002  # 300 KB each of stdout and stderr, drained


def test_idle_environment_whose_runtime_died_is_replaced(handlers: Path) -> None:
    with Emulator("faults.die_later", task_root=handlers) as fn:
        first = fn.invoke()
        (idle,) = fn._idle
        assert _wait_until(lambda: idle.exit_status is not None)
        second = fn.invoke()
    assert first.ok
    assert second.ok, second.error
    assert second.cold  # a new execution environment
    assert second.json()["pid"] != first.json()["pid"]


def test_warm_invocation_not_picked_up_in_time_is_a_task_timeout(handlers: Path) -> None:
    with Emulator("late_next.handler", task_root=handlers, timeout_s=1, init_timeout_s=10) as fn:
        first = fn.invoke()
        late = fn.invoke()
    assert first.ok
    assert late.error is not None
    assert late.error["errorType"] == "Sandbox.Timedout"
    assert late.error["errorMessage"].endswith("Error: Task timed out after 1.00 seconds")
    assert not late.cold
    assert late.report.init_duration_ms is None
    assert late.report.duration_ms == 1000.0
    assert "Init Duration" not in late.report.report_line()


def test_processes_started_by_a_runtime_that_exits_die_with_it(handlers: Path) -> None:
    with Emulator("faults.spawn_then_exit", task_root=handlers) as fn:
        result = fn.invoke()
    assert result.error is not None
    assert result.error["errorType"] == "Runtime.ExitError"
    sleeper = int(result.output.split("sleeper ")[1].split()[0])
    assert _wait_until(lambda: _gone(sleeper))


def test_user_pythonpath_adds_to_the_path_and_keeps_counting(handlers: Path, tmp_path: Path) -> None:
    layer = Path(__file__).parent / "user_site"
    with Emulator(
        "faults.paths", task_root=handlers, python_path=[layer], env={"PYTHONPATH": str(tmp_path)}
    ) as fn:
        result = fn.invoke()
    assert result.ok, result.error
    sys_path = result.json()["sys_path"]
    assert str(handlers) in sys_path
    assert str(layer) in sys_path
    assert str(tmp_path) in sys_path
    assert sys_path.index(str(layer)) < sys_path.index(str(tmp_path))
    assert result.aws_calls == {"sts.GetCallerIdentity": 1}
    shim = str(Path(__file__).parents[2] / "lambda_kit_dev" / "emulator" / "_shim")
    assert shim not in sys_path  # the bootstrap takes itself off the path
    assert shim not in result.json()["PYTHONPATH"]


def test_an_emulator_never_closed_leaves_no_runtime_behind(handlers: Path) -> None:
    fn = Emulator("basic.echo", task_root=handlers)
    pid = fn.invoke({}).json()["pid"]
    environments = list(fn._idle)
    del fn
    gc.collect()
    try:
        assert _wait_until(lambda: _gone(pid))
    finally:
        for environment in environments:
            environment.close()


def test_execution_env_describes_the_child_interpreter(handlers: Path, tmp_path: Path) -> None:
    wrapper = tmp_path / "python"
    wrapper.write_text(
        f'#!/bin/sh\ncase "$2" in *version_info*) echo "3 9"; exit 0;; esac\nexec "{sys.executable}" "$@"\n'
    )
    wrapper.chmod(0o755)
    with Emulator("basic.context_info", task_root=handlers, python=str(wrapper)) as fn:
        env = fn.invoke().json()["env"]
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.9"
    assert env["LAMBDA_RUNTIME_DIR"] == str(tmp_path)


@pytest.fixture
def far_time_zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A local time zone whose date differs from UTC's right now."""
    zone = "Etc/GMT+12" if time.gmtime().tm_hour < 12 else "Etc/GMT-14"
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("far_time_zone")
def test_log_stream_date_is_utc(handlers: Path) -> None:
    with Emulator("basic.context_info", task_root=handlers) as fn:
        utc_date = time.strftime("%Y/%m/%d/", time.gmtime())
        env = fn.invoke().json()["env"]
    assert env["AWS_LAMBDA_LOG_STREAM_NAME"].startswith(utc_date + "[$LATEST]")


# -- issue 11: processes that leave the runtime's group, non-ASCII names -----------------

_SUPERVISED = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="child subreapers are Linux's")


def _alive(pid: int) -> bool:
    return not _gone(pid)


@_SUPERVISED
def test_close_kills_processes_in_a_new_session_and_double_forked_daemons(handlers: Path) -> None:
    with Emulator("detach.spawn", task_root=handlers) as fn:
        result = fn.invoke()
        assert result.ok, result.error
        pids = result.json()["pids"]
        assert all(_alive(pid) for pid in pids)  # they outlive the invocation, as on Lambda
        assert fn.invoke().ok  # and the environment stays usable
        pids += fn.invoke().json()["pids"]
    assert [pid for pid in pids if _alive(pid)] == []


@_SUPERVISED
def test_detached_processes_die_with_a_runtime_that_exits(handlers: Path) -> None:
    with Emulator("detach.spawn_then_exit", task_root=handlers) as fn:
        result = fn.invoke()
        assert result.error is not None
        assert result.error["errorMessage"].endswith("Runtime exited with error: exit status 3")
        pids = [int(pid) for pid in result.output.split("pids ")[1].split()]
        assert [pid for pid in pids if _alive(pid)] == []  # before close(): with the runtime


@_SUPERVISED
def test_detached_processes_die_with_a_runtime_killed_at_the_timeout(handlers: Path) -> None:
    with Emulator("detach.spawn_then_hang", task_root=handlers, timeout_s=1) as fn:
        result = fn.invoke()
        assert result.report.status == "timeout"
        pids = [int(pid) for pid in result.output.split("pids ")[1].split()]
        assert [pid for pid in pids if _alive(pid)] == []


@_SUPERVISED
def test_an_emulator_never_closed_leaves_no_detached_process_behind(handlers: Path) -> None:
    fn = Emulator("detach.spawn", task_root=handlers)
    result = fn.invoke()
    pids = [*result.json()["pids"], result.json()["runtime"]]
    environments = list(fn._idle)
    del fn, result
    gc.collect()
    try:
        assert _wait_until(lambda: not any(_alive(pid) for pid in pids))
    finally:
        for environment in environments:
            environment.close()


def test_a_supervisor_that_cannot_start_is_a_clear_error(
    handlers: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lambda_kit_dev.emulator import _environment

    broken = tmp_path / "supervisor.py"
    broken.write_text("import sys\nprint('supervisor is broken')\nsys.exit(1)\n")
    monkeypatch.setattr(_environment, "_SUPERVISOR", str(broken))
    with Emulator("basic.echo", task_root=handlers) as fn:
        with pytest.raises(HandlerNotReadyError, match="did not start: supervisor is broken"):
            fn.invoke()
        assert fn.environments == 0
    for count_aws_calls in (True, False):
        with Emulator("basic.echo", task_root=handlers, count_aws_calls=count_aws_calls) as fn:
            with monkeypatch.context() as patch:
                patch.setattr(sys, "executable", str(tmp_path / "no-python"))
                with pytest.raises(HandlerNotReadyError, match="Could not start the runtime's supervisor"):
                    fn.invoke()
            assert fn.environments == 0


_ECHO_IDENTITY = """import os

PREFIXES = ("AWS_LAMBDA_", "AWS_REGION", "LAMBDA_", "USER_")


def {function}(event, context):
    return {{
        "function_name": context.function_name,
        "arn": context.invoked_function_arn,
        "request_id": context.aws_request_id,
        "env": {{k: v for k, v in os.environ.items() if k.startswith(PREFIXES)}},
        "cwd": os.getcwd(),
    }}
"""


def _identity_handler(root: Path, module: str, function: str = "handler") -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / f"{module}.py").write_text(_ECHO_IDENTITY.format(function=function), encoding="utf-8")


def test_non_ascii_handler_task_root_and_environment_reach_the_runtime_intact(tmp_path: Path) -> None:
    root = tmp_path / "tâche 根"
    _identity_handler(root, "módulo_日本", "función")
    env = {"USER_GRÜSSE": "¡hola 👋 — 你好!", "USER_EMPTY": ""}
    with Emulator("módulo_日本.función", task_root=root, env=env) as fn:
        result = fn.invoke({"ü": "✓"})
    assert result.ok, result.error or result.output
    identity = result.json()
    assert identity["function_name"] == "módulo_日本"  # the module's name, by default
    assert identity["arn"] == "arn:aws:lambda:us-east-1:123456789012:function:módulo_日本"
    assert identity["request_id"] == result.request_id
    assert identity["env"]["AWS_LAMBDA_FUNCTION_NAME"] == "módulo_日本"
    assert identity["env"]["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/módulo_日本"
    assert identity["env"]["LAMBDA_TASK_ROOT"] == str(root)
    assert identity["env"]["USER_GRÜSSE"] == env["USER_GRÜSSE"]
    assert identity["env"]["USER_EMPTY"] == ""
    assert identity["cwd"] == str(root)


@pytest.mark.parametrize(
    ("function_name", "region"),
    [
        ("訂單-" + "😀" * 2000 + "-" + "ß" * 2090, "eu-west-1"),  # 4096 characters, 11 KB of UTF-8
        ("e\u0301 \u200d\u202e\u05e9\u05dc\u05d5\u05dd\u2028x\u00a0y:z/%41", "ap-南-1"),  # RTL, joiners
    ],
)
def test_any_function_name_the_emulator_takes_reaches_the_runtime_intact(
    tmp_path: Path, function_name: str, region: str
) -> None:
    _identity_handler(tmp_path, "app")
    with Emulator("app.handler", task_root=tmp_path, function_name=function_name, region=region) as fn:
        result = fn.invoke()
    assert result.ok, result.error or result.output
    identity = result.json()
    assert identity["function_name"] == function_name
    assert identity["arn"] == f"arn:aws:lambda:{region}:123456789012:function:{function_name}"
    assert identity["env"]["AWS_REGION"] == region


def test_a_task_root_holding_the_path_separator_is_still_importable(tmp_path: Path) -> None:
    root = tmp_path / f"a{os.pathsep}b"
    _identity_handler(root, "app")
    with Emulator("app.handler", task_root=root) as fn:
        result = fn.invoke()
    assert result.ok, result.error or result.output
    assert result.json()["env"]["LAMBDA_TASK_ROOT"] == str(root)


@pytest.mark.parametrize(
    ("options", "setting", "message"),
    [
        ({"function_name": "line\nbreak"}, "function_name", "control character"),
        ({"function_name": "tab\there"}, "function_name", "control character"),
        ({"function_name": "trailing "}, "function_name", "whitespace"),
        ({"function_name": ""}, "function_name", "non-empty"),
        ({"function_name": "x" * 4097}, "function_name", "over the limit of 4096"),
        ({"function_name": "half \ud800 pair"}, "function_name", "surrogate"),
        ({"region": "us-east-1\r\nX-Injected: 1"}, "region", "control character"),
        ({"env": {"A=B": "x"}}, "env", "variable name"),
        ({"env": {"": "x"}}, "env", "variable name"),
        ({"env": {"NUMBER": 1}}, "env", "value of environment variable 'NUMBER'"),
        ({"python_path": [f"/opt/a{os.pathsep}b"]}, "python_path", "PYTHONPATH"),
    ],
)
def test_values_that_cannot_reach_the_runtime_are_refused(
    handlers: Path, options: dict[str, object], setting: str, message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message) as caught:
        Emulator("basic.echo", task_root=handlers, **options)  # type: ignore[arg-type]
    assert caught.value.context["setting"] == setting


def test_an_environment_value_that_cannot_be_passed_is_refused_without_showing_it(handlers: Path) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Emulator("basic.echo", task_root=handlers, env={"DB_PASSWORD": "hunter2\x00tail"})
    assert "DB_PASSWORD" in str(caught.value)
    assert "hunter2" not in str(caught.value)
    assert "hunter2" not in repr(caught.value)
    assert "hunter2" not in repr(caught.value.context)


def test_close_while_the_supervisor_starts_fails_the_invocation_as_closed(
    handlers: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lambda_kit_dev.emulator import _environment

    slow = tmp_path / "supervisor.py"
    slow.write_text("import time\ntime.sleep(60)\n")  # never says it is ready
    monkeypatch.setattr(_environment, "_SUPERVISOR", str(slow))
    fn = Emulator("basic.echo", task_root=handlers)
    errors: list[BaseException] = []

    def invoke() -> None:
        try:
            fn.invoke()
        except EmulatorError as error:
            errors.append(error)

    thread = threading.Thread(target=invoke)
    thread.start()
    assert _wait_until(lambda: any(e.process is not None for e in list(fn._busy)))
    fn.close()
    thread.join()
    assert len(errors) == 1
    assert "closed during the invocation" in str(errors[0])


def test_garbage_collection_is_reported_for_init_and_each_invocation(handlers: Path) -> None:
    with Emulator("gc_work.handler", task_root=handlers) as fn:
        cold = fn.invoke({})
        warm = fn.invoke({"collect": 1})
    assert cold.ok, cold.log
    report = cold.report
    assert report.init_gc_collections is not None
    young, _, full = report.init_gc_collections
    assert full >= 1  # the module's gc.collect()
    assert young >= 10  # 50,000 lists
    assert report.init_gc_ms is not None
    assert report.init_gc_ms > 0
    assert warm.report.init_gc_ms is None  # warm: no INIT
    assert warm.report.init_gc_collections is None
    assert warm.report.gc_ms is not None
    assert warm.report.gc_ms > 0  # the handler's own gc.collect()


def test_gc_lines_cut_short_are_skipped() -> None:
    from lambda_kit_dev.emulator._environment import parse_gc

    assert parse_gc(b"0 1000000\n2 3000000\n1 500000\n2") == (4.5, (1, 1, 1))
    assert parse_gc(b"") == (0.0, (0, 0, 0))
    assert parse_gc(b"x y\n0\n3 1000000\n") == (1.0, (0, 0, 1))  # an unknown generation counts as full
