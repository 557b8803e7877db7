"""Conformance of the emulator's Runtime API with the real awslambdaric (the installed one).

Each case runs the runtime client in an execution environment of its own and checks
one thing Lambda's Runtime API does: the headers of ``/next``, the invocation id
echo that guards against a late response, tenant ids, error documents, and how a
failed INIT is reported.
"""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path

import pytest

from lambda_kit_dev.emulator import Emulator
from lambda_kit_dev.emulator._environment import Environment

pytestmark = pytest.mark.emulator


@pytest.fixture
def environment(handlers: Path, request: pytest.FixtureRequest) -> Environment:
    handler = getattr(request, "param", "runtime_api.context_info")
    with Emulator(handler, task_root=handlers, timeout_s=5.0, init_timeout_s=5.0) as function:
        env = function.new_environment()
        try:
            yield env  # type: ignore[misc]
        finally:
            env.close()


def _invoke(environment: Environment, event: object = None, **options: str) -> tuple[dict, object]:
    invocation = environment.invoke(json.dumps(event or {}).encode(), "application/json", **options)
    return invocation.json(), invocation


def test_the_runtime_client_is_one_that_echoes_invocation_ids() -> None:
    major, minor, patch = (int(part) for part in version("awslambdaric").split(".")[:3])
    assert (major, minor, patch) >= (4, 0, 2)  # the echo came with 4.0.2


def test_next_carries_the_request_id_deadline_arn_and_trace_id(environment: Environment) -> None:
    body, invocation = _invoke(environment, {"n": 1})
    assert body["request_id"] == invocation.request_id
    assert body["arn"] == environment.config.function_arn
    assert 0 < body["remaining_ms"] <= 5000
    assert body["trace_id"].startswith("Root=1-")
    assert body["event"] == {"n": 1}
    assert invocation.content_type == "application/json"


def test_the_invocation_id_is_sent_and_echoed(environment: Environment) -> None:
    _invoke(environment)
    sent, echoed = environment.last_echo or ("", None)
    assert echoed == sent
    assert len(sent) == 36
    _invoke(environment)
    assert environment.last_echo is not None
    assert environment.last_echo[0] != sent  # a new one per invocation
    assert environment.stale_posts == 0


def test_no_tenant_id_outside_tenant_isolation_mode(environment: Environment) -> None:
    body, _ = _invoke(environment)
    assert body["tenant_id"] is None


def test_the_tenant_id_reaches_the_context(environment: Environment) -> None:
    body, _ = _invoke(environment, tenant_id="acme-corp")
    assert body["tenant_id"] == "acme-corp"


@pytest.mark.parametrize("environment", ["runtime_api.cross_wire"], indirect=True)
def test_a_post_echoing_another_invocation_id_is_refused_with_410(environment: Environment) -> None:
    body, invocation = _invoke(environment)
    assert body == {"stale_status": 410}  # the late response was refused
    assert invocation.ok  # and the invocation's own response was taken
    assert environment.stale_posts == 1
    assert environment.reusable


@pytest.mark.parametrize("environment", ["runtime_api.no_echo"], indirect=True)
def test_a_post_without_the_echo_is_judged_by_its_request_id(environment: Environment) -> None:
    body, invocation = _invoke(environment)
    assert body == {"by": "hand"}  # accepted: an older runtime client sends no echo
    assert invocation.ok


@pytest.mark.parametrize("environment", ["runtime_api.probe"], indirect=True)
def test_unknown_paths_and_request_ids_are_refused(environment: Environment) -> None:
    body, _ = _invoke(environment)
    assert body == {"unknown_path": 404, "unknown_request_id": 400}


@pytest.mark.parametrize("environment", ["runtime_api.fail"], indirect=True)
def test_a_handler_error_is_the_runtime_error_document(environment: Environment) -> None:
    _, invocation = _invoke(environment)
    assert invocation.error is not None
    assert invocation.error["errorType"] == "KeyError"
    assert invocation.error["errorMessage"] == "'missing'"
    assert isinstance(invocation.error["stackTrace"], list)
    assert "requestId" not in invocation.error
    assert invocation.report.status == "error"
    assert invocation.report.init_report_line() is None  # INIT succeeded
    assert environment.reusable  # a handler error does not end the environment


@pytest.mark.parametrize("environment", ["broken_import.handler"], indirect=True)
def test_a_failed_init_is_reported_as_lambda_reports_it(environment: Environment) -> None:
    _, invocation = _invoke(environment)
    assert invocation.error is not None
    assert invocation.error["errorType"] == "Runtime.ImportModuleError"
    line = invocation.report.init_report_line()
    assert line is not None
    assert line.startswith("INIT_REPORT Init Duration: ")
    assert line.endswith("\tPhase: init\tStatus: error\tError Type: Runtime.ImportModuleError")
    log = invocation.log.splitlines()
    assert log.index(line) == log.index(invocation.report.start_line()) - 1  # before START
    assert invocation.report.report_line().endswith(
        "\tStatus: error\tError Type: Runtime.ImportModuleError\t"
    )
    assert not environment.reusable  # the runtime exits after /init/error


def test_an_init_timeout_is_reported_as_lambda_reports_it(handlers: Path) -> None:
    with Emulator("hang_init.handler", task_root=handlers, init_timeout_s=0.5) as function:
        invocation = function.invoke()
    assert (
        invocation.report.init_report_line()
        == "INIT_REPORT Init Duration: 500.00 ms\tPhase: init\tStatus: timeout"
    )
    assert invocation.report.status == "timeout"
