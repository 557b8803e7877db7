"""lambda-kit bench: statistics, the throttling projection, the report and the CLI."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lambda_kit.exceptions import ConfigurationError
from lambda_kit_dev.bench import (
    CONCURRENCY_QUOTA,
    Progress,
    format_comparison,
    format_report,
    heaviest_imports,
    percentile,
    project,
    run_bench,
)
from lambda_kit_dev.emulator._report import ImportTiming
from lambda_kit_dev.stand_ins import AwsStandIn

EXAMPLES = Path(__file__).parents[2] / "examples"


def test_percentile_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert math.isnan(percentile([], 50))


@given(st.lists(st.floats(min_value=0, max_value=1e6), min_size=1), st.floats(min_value=0.1, max_value=100))
def test_percentile_is_one_of_the_values_and_monotonic(values: list[float], q: float) -> None:
    result = percentile(values, q)
    assert result in values
    assert percentile(values, 100) == max(values)
    assert result <= percentile(values, 100)


def test_projection_littles_law_and_quota_warnings() -> None:
    projection = project(
        6000,
        100.0,
        {"secretsmanager.GetSecretValue": 1.0, "cloudwatch.PutMetricData": 1.0, "custom.Op": 2.0},
    )
    assert projection.concurrency == pytest.approx(600.0)  # 6,000 rps x 100 ms
    assert projection.operations["cloudwatch.PutMetricData"] == {"rate": 6000.0, "quota": 500}
    assert projection.operations["custom.Op"] == {"rate": 12000.0, "quota": None}
    text = "\n".join(projection.warnings)
    assert "cloudwatch.PutMetricData at 6,000 requests/s is 12.0x its default quota of 500/s" in text
    assert "secretsmanager.GetSecretValue at 6,000 requests/s uses 60% of its default quota" in text
    assert "Concurrency 600 uses 60% of the default quota" in text
    assert "custom.Op" not in text  # no known quota: projected, never flagged
    assert len(projection.warnings) == 3


def test_projection_over_the_concurrency_quota() -> None:
    projection = project(6000, 250.0, {})
    assert projection.concurrency == pytest.approx(1500.0)
    assert projection.concurrency_quota == CONCURRENCY_QUOTA
    assert projection.warnings == [
        "Concurrency 1,500 exceeds the default quota of 1,000 concurrent executions per Region: "
        "invocations would be throttled (429)."
    ]


def test_projection_quiet_when_far_from_quotas() -> None:
    assert project(10, 1.0, {"ssm.GetParameter": 0.5}).warnings == []


def test_heaviest_imports_skip_the_handler_and_the_bootstrap() -> None:
    timings = [
        ImportTiming("app", 10, 900_000, 0),
        ImportTiming("sitecustomize", 10, 800_000, 0),
        *(ImportTiming(f"m{i}", 1, i * 1000, 1) for i in range(20)),
    ]
    top = heaviest_imports(timings, "app.handler", limit=3)
    assert [t.module for t in top] == ["m19", "m18", "m17"]


def test_heaviest_imports_leave_out_startup_and_the_runtime_client() -> None:
    # -X importtime order: a module's line comes after those of what it imported.
    timings = [
        ImportTiming("encodings", 50, 2_000, 0),  # interpreter start-up
        ImportTiming("io", 50, 500, 0),
        ImportTiming("sitecustomize", 50, 1_700, 1),
        ImportTiming("site", 50, 7_000, 0),
        ImportTiming("contextlib", 50, 5_900, 2),
        ImportTiming("importlib.util", 50, 6_400, 1),
        ImportTiming("runpy", 50, 6_500, 0),
        ImportTiming("decimal", 50, 3_400, 2),
        ImportTiming("simplejson", 50, 9_900, 1),
        ImportTiming("logging", 50, 11_600, 1),
        ImportTiming("awslambdaric.lambda_runtime_client", 50, 27_700, 0),
        ImportTiming("encodings.idna", 50, 400, 0),
        ImportTiming("urllib3", 50, 4_000, 1),
        ImportTiming("requests", 50, 9_000, 0),
        ImportTiming("yaml", 50, 1_000, 0),
    ]
    top = heaviest_imports(timings, "app.handler")
    assert [t.module for t in top] == ["requests", "urllib3", "yaml"]


def test_heaviest_imports_leave_out_what_the_runtime_client_loads_between_its_modules() -> None:
    # The python3.12+ runtimes: awslambdaric polls on a thread, imported before the handler.
    timings = [
        ImportTiming("site", 50, 7_000, 0),
        ImportTiming("awslambdaric.bootstrap", 50, 2_000, 0),
        ImportTiming("heapq", 50, 300, 1),
        ImportTiming("queue", 50, 700, 0),
        ImportTiming("concurrent.futures.thread", 50, 900, 0),
        ImportTiming("awslambdaric.lambda_literals", 50, 90, 0),
        ImportTiming("heapq", 50, 300, 1),  # the handler's own, after the runtime client's
        ImportTiming("slow_dependency", 50, 200_000, 0),
    ]
    top = heaviest_imports(timings, "app.handler")
    assert [t.module for t in top] == ["slow_dependency", "heapq"]


def test_run_bench_on_an_empty_handler(handlers: Path) -> None:
    calls: list[tuple[str, int, int]] = []
    result = run_bench(
        "profiled.handler",
        {"n": 0},
        cold=2,
        warm=3,
        task_root=str(handlers),
        progress=lambda phase, done, total: calls.append((phase, done, total)),
    )
    assert len(result.init_ms) == 2
    assert all(v > 0 for v in result.init_ms)
    assert len(result.warm_duration_ms) == 3
    assert result.max_memory_mb is not None
    assert result.max_memory_mb > 0
    assert result.errors == []
    assert result.warm_calls == {}
    assert result.cold_calls == {}
    # What the handler's code imports, not the runtime client's own imports.
    assert [t.module for t in result.imports] == ["slow_dependency"]
    assert calls[0] == ("cold", 1, 2)
    assert calls[-1] == ("import profile", 1, 1)
    text = format_report(result)
    for needle in ("Init Duration", "Warm Duration", "Heaviest imports", "AWS API calls", "none"):
        assert needle in text
    assert "Nothing would throttle at this rate." in text
    document = json.loads(json.dumps(result.to_dict()))
    assert document["handler"] == "profiled.handler"
    assert set(document["summary"]) >= {"init_p50_ms", "warm_p99_ms", "warm_cost_per_million_usd"}


def test_run_bench_reports_failures(handlers: Path) -> None:
    result = run_bench("basic.fail", {}, cold=1, warm=1, task_root=str(handlers), profile_imports=False)
    assert len(result.errors) == 2
    assert result.errors[0].startswith("error: ValueError: order 42 is invalid")
    assert result.imports == []
    assert "2 invocation(s) failed; first: error: ValueError" in format_report(result)


@pytest.mark.parametrize(("cold", "warm", "rps"), [(0, 1, 10.0), (1, -1, 10.0), (1, 1, 0.0)])
def test_run_bench_rejects_bad_arguments(cold: int, warm: int, rps: float) -> None:
    with pytest.raises(ConfigurationError):
        run_bench("basic.echo", {}, cold=cold, warm=warm, rps=rps)


def test_progress_only_after_the_threshold() -> None:
    class Stream:
        def __init__(self) -> None:
            self.text = ""

        def write(self, text: str) -> None:
            self.text += text

        def flush(self) -> None:
            pass

    quiet = Stream()
    progress = Progress(quiet, after_s=3600)
    progress("cold", 1, 2)
    progress.close()
    assert quiet.text == ""
    shown = Stream()
    progress = Progress(shown, after_s=0)
    progress("warm", 5, 5)
    progress.close()
    assert "bench: warm 5/5" in shown.text
    assert shown.text.endswith("\n")


def _load_demo() -> object:
    spec = importlib.util.spec_from_file_location("lambda_kit_demo", EXAMPLES / "demo.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_demo_shows_the_naive_handler_calling_aws_every_time(capsys: pytest.CaptureFixture[str]) -> None:
    demo = _load_demo()
    assert demo.main(cold=1, warm=3) == 0  # type: ignore[attr-defined]
    out = capsys.readouterr().out
    naive, _, rest = out.partition("lambda-kit bench: examples/plain")
    plain, _, rest = rest.partition("lambda-kit bench: examples/tuned")
    tuned, _, side_by_side = rest.partition("Side by side:")
    assert "secretsmanager.GetSecretValue             1.00      0.00" in tuned  # INIT only
    assert "PutMetricData" not in tuned
    assert "Nothing would throttle at this rate." in tuned
    assert "examples/tuned" in side_by_side
    assert "cloudwatch.PutMetricData                  1.00      1.00" in naive
    assert "secretsmanager.GetSecretValue             1.00      1.00" in naive
    assert "PutMetricData at 6,000 requests/s is 12.0x its default quota" in naive
    assert "GetSecretValue at 6,000 requests/s uses 60%" in naive
    assert "secretsmanager.GetSecretValue             1.00      0.00" in plain  # INIT only
    assert "PutMetricData" not in plain
    assert "Nothing would throttle at this rate." in plain
    assert "examples/naive" in side_by_side
    assert "examples/plain" in side_by_side
    assert "password" not in out


def test_format_comparison_columns(handlers: Path) -> None:
    result = run_bench(
        "basic.echo", {}, cold=1, warm=1, task_root=str(handlers), profile_imports=False, label="a"
    )
    text = format_comparison([result, result])
    assert text.splitlines()[0].split() == ["a", "a"]
    assert "AWS calls per warm invocation" in text


def test_cli_bench_json(handlers: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from lambda_kit_dev._cli import main

    event = tmp_path / "event.json"
    event.write_text('{"n": 1}')
    code = main(
        [
            "bench",
            "basic.echo",
            "--event",
            str(event),
            "--cold",
            "1",
            "--warm",
            "2",
            "--task-root",
            str(handlers),
            "--no-import-profile",
            "--json",
            "--env",
            "USER_X=1",
            "--rps",
            "100",
        ]
    )
    assert code == 0
    document = json.loads(capsys.readouterr().out)
    assert len(document["warm_duration_ms"]) == 2
    assert document["projection"]["rps"] == 100


def test_cli_bench_text(handlers: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from lambda_kit_dev._cli import main

    assert main(["bench", "basic.echo", "--cold", "1", "--warm", "1", "--task-root", str(handlers)]) == 0
    assert "lambda-kit bench: basic.echo" in capsys.readouterr().out


def test_cli_invoke(
    handlers: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from lambda_kit_dev._cli import main

    monkeypatch.setattr(sys, "stdin", __import__("io").StringIO('{"n": 5}'))
    assert main(["invoke", "basic.echo", "--event", "-", "--task-root", str(handlers)]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["event"] == {"n": 5}
    assert "START RequestId:" in captured.err
    assert "invocation 5" in captured.err
    assert main(["invoke", "basic.fail", "--task-root", str(handlers), "--json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["error"]["errorType"] == "ValueError"
    assert document["report"]["status"] == "error"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["bench", "a.b", "--env", "NOEQUALS"], "--env expects KEY=VALUE"),
        (["bench", "a.b", "--event", "/no/such/file.json"], "cannot read --event"),
    ],
)
def test_cli_usage_errors(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    from lambda_kit_dev._cli import main

    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    assert message in capsys.readouterr().err


def test_cli_event_must_be_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from lambda_kit_dev._cli import main

    event = tmp_path / "event.json"
    event.write_text("{nope")
    with pytest.raises(SystemExit):
        main(["invoke", "a.b", "--event", str(event)])
    assert "is not JSON" in capsys.readouterr().err


def test_cli_library_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from lambda_kit_dev._cli import main

    assert main(["invoke", "basic.echo", "--memory", "64"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lambda-kit: error: Invalid memory_mb=64")
    assert "Traceback" not in err


def test_python_dash_m_entry_point(handlers: Path) -> None:
    import subprocess

    completed = subprocess.run(
        [sys.executable, "-m", "lambda_kit_dev", "invoke", "basic.binary", "--task-root", str(handlers)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "binary" in completed.stdout


def test_stand_in_lifecycle() -> None:
    stand_in = AwsStandIn(region="eu-central-1")
    assert not stand_in.running
    assert repr(stand_in) == "AwsStandIn(stopped)"
    with pytest.raises(Exception, match="not running"):
        _ = stand_in.endpoint_url
    with stand_in:
        assert stand_in.start() is stand_in  # idempotent
        client = stand_in.client("secretsmanager")
        client.create_secret(Name="x", SecretString="y")
        assert len(client.list_secrets()["SecretList"]) == 1
        stand_in.reset()
        assert client.list_secrets()["SecretList"] == []
        assert stand_in.environ()["AWS_REGION"] == "eu-central-1"
        assert stand_in.endpoint_url.startswith("http://127.0.0.1:")
    assert not stand_in.running


def test_console_script_entry_point(
    handlers: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from lambda_kit_dev.__main__ import main

    monkeypatch.setattr(sys, "argv", ["lambda-kit", "invoke", "basic.size", "--task-root", str(handlers)])
    assert main() == 0
    assert json.loads(capsys.readouterr().out) == {"bytes": 2}


# -- issue 11: strict JSON, and no projection from failed invocations -------------------------


def _strict(text: str) -> Any:
    """``json.loads`` that refuses what strict JSON has not: NaN, Infinity, -Infinity."""

    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def _bench_cli(handlers: Path, *argv: str) -> int:
    from lambda_kit_dev._cli import main

    return main(["bench", *argv, "--task-root", str(handlers), "--no-import-profile"])


def test_cli_bench_json_without_warm_invocations_is_strict_json(
    handlers: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _bench_cli(handlers, "basic.echo", "--cold", "1", "--warm", "0", "--json") == 0
    document = _strict(capsys.readouterr().out)
    summary = document["summary"]
    assert summary["warm_p50_ms"] is None
    assert summary["warm_p99_ms"] is None
    assert summary["warm_cost_per_million_usd"] is None
    assert summary["init_p50_ms"] > 0
    assert document["projection"]["basis"] == "cold"  # from the cold Duration, and says so
    assert document["errors"] == []


def test_cli_bench_fails_and_projects_nothing_when_every_invocation_fails(
    handlers: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _bench_cli(handlers, "basic.fail", "--cold", "1", "--warm", "1") == 1
    text = capsys.readouterr().out
    assert "Every invocation failed (2): no figures and no projection." in text
    assert "requests/s" not in text
    assert "Nothing would throttle" not in text
    assert "first: error: ValueError: order 42 is invalid" in text

    assert _bench_cli(handlers, "basic.fail", "--cold", "1", "--warm", "0", "--json") == 1
    document = _strict(capsys.readouterr().out)
    assert document["projection"] is None
    assert set(document["summary"].values()) == {None}
    assert document["max_memory_mb"] is None
    assert len(document["errors"]) == 1
    assert document["invocations"] == 1


def test_bench_with_some_failures_reports_the_rest_and_exits_one(
    handlers: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_bench(
        "bench_faults.fail_cold", {}, cold=2, warm=2, task_root=str(handlers), profile_imports=False
    )
    assert len(result.errors) == 2  # each cold start fails, each warm invocation succeeds
    assert result.errors[0].startswith("error: RuntimeError: the first invocation")
    assert result.init_ms == []
    assert result.summary["init_p50_ms"] is None
    assert len(result.warm_duration_ms) == 2
    assert result.summary["warm_p99_ms"] is not None
    assert result.projection is not None
    assert result.projection.basis == "warm"
    text = format_report(result)
    assert "2 of 4 invocations failed; figures from the 2 that succeeded." in text
    assert "Little's law with warm p99" in text
    assert _bench_cli(handlers, "bench_faults.fail_cold", "--cold", "1", "--warm", "1") == 1
    assert "1 of 2 invocations failed" in capsys.readouterr().out


@pytest.mark.parametrize("rps", ["inf", "nan", "-1"])
def test_cli_bench_refuses_a_rate_that_is_not_finite(
    handlers: Path, rps: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _bench_cli(handlers, "basic.echo", "--rps", rps, "--json") == 2
    assert "Invalid rps" in capsys.readouterr().err


def _invocation(
    ok: bool, duration: float, init: float | None, peak: int | None, calls: dict[str, int]
) -> Any:
    from lambda_kit_dev.emulator import Invocation, Report

    error = None if ok else {"errorType": "ValueError", "errorMessage": "bad"}
    report = Report(
        "id",
        duration,
        Report.billed(duration, init),
        128,
        peak,
        init,
        None if ok else "error",
        None if ok else "ValueError",
    )
    return Invocation("id", b"{}", "application/json", error, report, aws_calls=calls)


_runs = st.lists(
    st.builds(
        _invocation,
        st.booleans(),
        st.floats(min_value=0, max_value=900_000),
        st.one_of(st.none(), st.floats(min_value=0, max_value=10_000)),
        st.one_of(st.none(), st.integers(min_value=1, max_value=10_240)),
        st.dictionaries(st.sampled_from(["ssm.GetParameter", "x.Y"]), st.integers(0, 5), max_size=2),
    ),
    max_size=4,
)


@given(_runs, _runs, st.floats(min_value=1e-3, max_value=1e9))
def test_every_bench_result_is_strict_json_and_never_projects_from_failures(
    cold_runs: list[Any], warm_runs: list[Any], rps: float
) -> None:
    from lambda_kit_dev._cli import strict_json
    from lambda_kit_dev.bench import summarise

    result = summarise("h.f", cold_runs, warm_runs, rps=rps)
    document = _strict(strict_json(result.to_dict()))
    assert document["invocations"] == len(cold_runs) + len(warm_runs)
    succeeded = [i for i in (*cold_runs, *warm_runs) if i.ok]
    assert (result.projection is None) == (not succeeded)
    assert result.failed == (len(succeeded) < len(cold_runs) + len(warm_runs))
    text = format_report(result)
    assert ("requests/s" in text) == bool(succeeded)
    assert format_comparison([result])


def test_strict_json_replaces_what_json_cannot_hold() -> None:
    from lambda_kit_dev._cli import strict_json

    document = {"a": math.nan, "b": [math.inf, -math.inf, 1.5], "c": ({"d": math.nan},), "e": "NaN"}
    assert _strict(strict_json(document)) == {
        "a": None,
        "b": [None, None, 1.5],
        "c": [{"d": None}],
        "e": "NaN",
    }


def test_a_reader_that_goes_away_gets_no_traceback(handlers: Path) -> None:
    import subprocess

    read, write = os.pipe()
    os.close(read)  # `lambda-kit ... | head` once head has exited
    try:
        completed = subprocess.run(
            [
                sys.executable,
                "-m",
                "lambda_kit",
                "invoke",
                "basic.echo",
                "--json",
                "--task-root",
                str(handlers),
            ],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write)
    assert completed.returncode == 1
    assert "Traceback" not in completed.stderr
    assert "BrokenPipeError" not in completed.stderr


def test_console_script_turns_a_broken_pipe_into_status_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lambda_kit_dev import __main__ as entry
    from lambda_kit_dev import _cli

    def reader_gone() -> int:
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(_cli, "main", reader_gone)
    with open(tmp_path / "stdout", "w") as stdout:
        monkeypatch.setattr(sys, "stdout", stdout)
        assert entry.main() == 1
        print("after", file=stdout, flush=True)  # now goes to /dev/null, without error
    assert (tmp_path / "stdout").read_text() == ""


def test_cli_invoke_json_is_strict_json_when_the_runtime_crashes(
    handlers: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from lambda_kit_dev._cli import main

    assert main(["invoke", "basic.crash", "--task-root", str(handlers), "--json"]) == 1
    document = _strict(capsys.readouterr().out)
    assert document["error"]["errorType"] == "Runtime.ExitError"
    assert document["report"]["status"] == "error"


@pytest.mark.emulator
def test_the_report_says_when_cpu_and_memory_are_not_limited(handlers: Path) -> None:
    """Never silently: a bench without Lambda's limits says so on its report."""
    result = run_bench("basic.echo", {}, cold=1, warm=1, task_root=str(handlers), profile_imports=False)
    assert result.cpu_share is None
    assert result.limits_notice == "CPU and memory not limited (limits off)"
    assert "Note: CPU and memory not limited (limits off)" in format_report(result)
    assert result.to_dict()["limits_notice"] == result.limits_notice


@pytest.mark.emulator
def test_the_report_shows_the_cpu_share_achieved_under_limits(
    handlers: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lambda_kit_dev.emulator._cgroup import backend

    monkeypatch.setenv("LAMBDA_KIT_LIMITS", "1")
    result = run_bench(
        "basic.echo", {}, cold=1, warm=1, task_root=str(handlers), profile_imports=False, memory_mb=1769
    )
    report = format_report(result)
    if backend().cpu:
        assert result.cpu_share is not None
        assert 0.5 < result.cpu_share <= 2.0
        assert "CPU share (achieved)" in report
    else:  # where cgroups cannot be written
        assert result.limits_notice
        assert f"Note: {result.limits_notice}" in report


@pytest.mark.emulator
def test_bench_reports_garbage_collection_during_init(handlers: Path) -> None:
    result = run_bench("gc_work.handler", {}, cold=2, warm=1, task_root=str(handlers), profile_imports=False)
    gc_ms = result.summary["init_gc_p50_ms"]
    assert gc_ms is not None
    assert gc_ms > 0
    assert result.summary["init_full_collection_share"] == 1.0  # the module collects in full at INIT
    assert "GC during INIT" in format_report(result)
    assert "a full collection in 100% of cold starts" in format_report(result)
