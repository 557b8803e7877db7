"""The emulator drives the real awslambdaric runtime client through our Runtime API."""

from __future__ import annotations

import io
import json
import os
import re
import threading
from pathlib import Path

import pytest

from lambda_kit.emulator import AwsStandIn, Emulator
from lambda_kit.exceptions import ConfigurationError, EmulatorError, LambdaKitError

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


@pytest.mark.parametrize("handler", ["nodot", ".handler", "module.", ""])
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
