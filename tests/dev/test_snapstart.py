"""SnapStart: INIT once, environments restored from the initialised process, hazards."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from lambda_kit_dev.emulator import _snapstart
from lambda_kit_dev.emulator._snapstart import SnapStartEmulator, compare
from lambda_kit_dev.exceptions import EmulatorError
from lambda_kit_dev.stand_ins import AwsStandIn, TLSServer
from lambda_kit_dev.stand_ins._tls import temporary_certificate

pytestmark = pytest.mark.emulator
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_restores_show_restore_duration_and_run_the_hooks_in_order(handlers: Path) -> None:
    with SnapStartEmulator("snapstart_hooks.handler", task_root=handlers) as function:
        snapshot = function.snapshot
        first = function.invoke()
        again = function.invoke()
        other = function.invoke(fresh=True)
        another = function.invoke(fresh=True)
    assert snapshot.init_duration_ms is not None
    # INIT, then the before-snapshot hooks, last registered first (as awslambdaric runs them)
    assert snapshot.init_output.splitlines() == [
        "INIT of snapstart_hooks",
        "hook: before snapshot 2",
        "hook: before snapshot 1",
    ]
    assert first.cold
    assert first.report.init_duration_ms is None
    assert first.report.restore_duration_ms is not None
    assert f"\tRestore Duration: {first.report.restore_duration_ms:.2f} ms\t" in first.report.report_line()
    assert "Init Duration" not in first.report.report_line()
    assert first.init_output.splitlines() == ["hook: after restore 1", "hook: after restore 2"]
    assert "INIT of snapstart_hooks" not in first.log  # INIT ran once, for the snapshot
    assert not again.cold
    assert again.report.restore_duration_ms is None
    # every restored environment holds what INIT made
    restored = (first, other, another)
    assert all(invocation.cold for invocation in restored)
    assert len({json.loads(i.payload)["pid"] for i in restored}) == 3
    assert len({json.loads(i.payload)["session"] for i in restored}) == 1


def test_hazards_name_what_restored_environments_share(handlers: Path) -> None:
    with SnapStartEmulator("snapstart_hooks.handler", task_root=handlers) as function:
        hazards = function.hazards({})
    found = {(hazard.kind, hazard.name) for hazard in hazards}
    assert ("random-state", "snapstart_hooks") in found  # random.seed() at INIT
    assert ("unique-value", "snapstart_hooks.SESSION_ID") in found
    assert not any(name == "snapstart_hooks.REGION" for _, name in found)  # a constant
    assert sum(kind == "connection" for kind, _ in found) >= 1
    assert all(str(hazard).startswith(f"{hazard.kind}: ") for hazard in hazards)


def test_lambda_kit_examples_come_out_clean(aws: AwsStandIn) -> None:
    secret_id = f"snapstart/{secrets.token_hex(4)}"
    aws.client("secretsmanager").create_secret(
        Name=secret_id, SecretString=json.dumps({"username": "app", "password": secrets.token_urlsafe(12)})
    )
    event = json.loads((EXAMPLES / "events" / "api_gateway_get.json").read_text())
    cert, key, cert_dir = temporary_certificate(rsa=True)
    with cert_dir, TLSServer(cert, key) as inventory:
        env = {"DB_SECRET_ID": secret_id, "INVENTORY_URL": inventory.base_url, "INVENTORY_CA_BUNDLE": cert}
        with SnapStartEmulator("app.handler", task_root=EXAMPLES / "tuned", aws=aws, env=env) as function:
            result = function.invoke(event)
            hazards = function.hazards(event)
            init_calls = function.snapshot.init_calls
    assert result.ok, result.payload.decode("utf-8", "replace")
    assert init_calls == {"secretsmanager.GetSecretValue": 1}  # fetched during INIT...
    assert result.init_aws_calls == {"secretsmanager.GetSecretValue": 1}  # ...and again in the restore
    assert hazards == []


def test_a_failing_after_restore_hook_is_an_after_restore_error(handlers: Path) -> None:
    with SnapStartEmulator(
        "snapstart_faults.handler", task_root=handlers, env={"RESTORE_FAULT": "raise"}
    ) as function:
        result = function.invoke()
    assert result.error is not None
    assert result.error["errorType"] == "Runtime.AfterRestoreError"
    assert "could not reconnect" in result.error["errorMessage"]
    assert result.report.status == "error"
    assert result.report.restore_duration_ms is not None


def test_a_restore_over_the_limit_fails(handlers: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_snapstart, "RESTORE_LIMIT_S", 0.5)  # Lambda's 10 s, shortened
    with SnapStartEmulator(
        "snapstart_faults.handler", task_root=handlers, env={"RESTORE_SLEEP_S": "5"}
    ) as function:
        result = function.invoke()
    assert result.error is not None
    assert result.error["errorType"] == "SnapStartTimeoutException"
    assert result.report.status == "timeout"


def test_a_failed_snapshot_init_is_refused(handlers: Path) -> None:
    with (
        SnapStartEmulator("broken_import.handler", task_root=handlers) as function,
        pytest.raises(EmulatorError, match=r"Runtime\.ImportModuleError") as raised,
    ):
        function.invoke()
    assert raised.value.code == "SnapStartNotReadyException"


def test_compare_judges_values_against_a_second_init() -> None:
    snapshot = {"values": {"m.ID": "a", "m.CONST": "c"}}
    reference = {"values": {"m.ID": "b", "m.CONST": "c"}}
    regenerated = compare({"values": {"m.ID": "x"}}, {"values": {"m.ID": "y"}}, snapshot, reference, {}, {})
    assert regenerated == []
    kept = compare(snapshot, snapshot, snapshot, reference, {"ssm.GetParameter": 1}, {})
    assert [(h.kind, h.name) for h in kept] == [("unique-value", "m.ID"), ("init-fetch", "ssm.GetParameter")]
    refetched = compare(
        snapshot, snapshot, snapshot, snapshot, {"ssm.GetParameter": 1}, {"ssm.GetParameter": 1}
    )
    assert refetched == []
