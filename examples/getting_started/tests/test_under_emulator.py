"""The HTTP API under the real runtime client, as Lambda would run it, and the bench script."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from lambda_kit_dev.emulator import Emulator
from lambda_kit_dev.stand_ins import TLSServer

import bench

PROJECT = Path(__file__).resolve().parent.parent


def test_secret_is_fetched_during_init_only(
    lambda_emulator: Callable[..., Emulator], warehouse: TLSServer
) -> None:
    event = json.loads((PROJECT / "events" / "create_order.json").read_text())
    function = lambda_emulator("app.handler", env={"WAREHOUSE_URL": warehouse.base_url})
    cold = function.invoke(event)
    warm = function.invoke(event)
    assert cold.ok, cold.error
    assert cold.cold
    assert cold.json()["statusCode"] == 201
    assert cold.init_aws_calls == {"secretsmanager.GetSecretValue": 1}  # INIT's calls
    assert cold.aws_calls == {}  # the invocation's own calls
    assert warm.ok, warm.error
    assert not warm.cold
    assert warm.aws_calls == {}
    assert warehouse.connections == 1  # opened during INIT, kept alive


def test_bench_script(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--cold", "1", "--warm", "2"]) == 0
    report = capsys.readouterr().out
    assert "lambda-kit bench: app.handler" in report
    assert "lambda-kit bench: consumer.handler" in report
    assert report.count("secretsmanager.GetSecretValue             1.00      0.00") == 2
