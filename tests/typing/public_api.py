"""The public API as users write it, checked by ``mypy --strict`` in ``make typecheck``.

Never run: it would need AWS. ``assert_type`` pins the types users rely on, so a change
that widens or loses them fails the type check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from typing_extensions import assert_type

import lambda_kit
from lambda_kit import lifecycle
from lambda_kit.aws import client
from lambda_kit.exceptions import LambdaKitError, SecretError
from lambda_kit.handler import Response, http, sqs
from lambda_kit.http import Response as HTTPResponse
from lambda_kit.http import Session
from lambda_kit.metrics import Metrics
from lambda_kit.secrets import Parameter, Secret
from lambda_kit.testing import FakeContext, events, invoke
from lambda_kit_dev.emulator import Emulator, Invocation, Report

DB = Secret("prod/db").prefetch()
assert_type(DB, Secret)
assert_type(DB.value, str | bytes)
assert_type(DB.refresh(), bool)
assert_type(DB.version_id, str)
assert_type(Parameter("/flags/x").value, str)

metrics = Metrics(namespace="Shop", service="orders")
metrics.put_metric("Orders", 1, "Count")


@dataclass
class Order:
    sku: str
    quantity: int


def create(order: Order) -> Response:
    return Response({"sku": order.sku}, status=201)


@metrics.log_metrics(capture_cold_start_metric=True)
@lifecycle.track_invocations
def plain_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    assert_type(lifecycle.is_cold_start(), bool)
    assert_type(lifecycle.remaining_time(), float | None)
    return {"ok": True}


assert_type(plain_handler({}, FakeContext()), dict[str, Any])
api = http({"POST /orders": create})
assert_type(invoke(api, events.api_gateway_v2("POST", "/orders", body={"sku": "a", "quantity": 1})), Any)
queue = sqs(lambda order: None)
assert_type(queue(events.sqs([]), None), dict[str, list[dict[str, str]]])

session = Session("https://api.example.com", timeout=2.0)
assert_type(session.get("/items/1"), HTTPResponse)
s3 = client("s3", region="eu-west-1")

with Emulator("app.handler", memory_mb=256) as fn:
    result = fn.invoke({"path": "/"})
    assert_type(result, Invocation)
    assert_type(result.report, Report)
    assert_type(result.report.billed_duration_ms, int)

try:
    DB.json()
except SecretError as error:
    assert_type(error, SecretError)
except LambdaKitError:
    pass

assert_type(lambda_kit.__version__, str)
