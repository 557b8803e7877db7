"""The HTTP API's handler, called as the runtime calls it, against the stand-ins."""

from __future__ import annotations

import json
from collections.abc import Callable
from types import ModuleType

from lambda_kit.testing import CapturedMetrics, FakeContext
from lambda_kit_dev.stand_ins import AwsStandIn, TLSServer

Import = Callable[..., ModuleType]


def test_post_order(
    lambda_import: Import,
    lambda_events: ModuleType,
    lambda_context: FakeContext,
    lambda_metrics: CapturedMetrics,
    warehouse: TLSServer,
) -> None:
    app = lambda_import("app")  # INIT: the API key is fetched from the AWS stand-in
    event = lambda_events.api_gateway_v2("POST", "/orders", body={"sku": "book", "quantity": 2})
    response = app.handler(event, lambda_context)
    assert response["statusCode"] == 201
    body = json.loads(response["body"])
    assert (body["sku"], body["quantity"]) == ("book", 2)
    assert response["headers"]["Location"] == f"/orders/{body['order_id']}"
    method, path, sent, _ = warehouse.requests[-1]
    assert (method, path, json.loads(sent)) == ("POST", "/reservations", {"sku": "book", "quantity": 2})
    assert warehouse.headers[-1]["x-api-key"] == "local-key"  # from seed.json
    assert lambda_metrics.values("OrdersPlaced") == [1]
    assert lambda_metrics.values("ItemsOrdered") == [2]
    assert lambda_metrics.values("ColdStart") == [1]


def test_bad_input_is_a_400(
    lambda_import: Import, lambda_events: ModuleType, lambda_context: FakeContext, warehouse: TLSServer
) -> None:
    app = lambda_import("app")
    missing = lambda_events.api_gateway_v2("POST", "/orders", body={"sku": "book"})
    assert app.handler(missing, lambda_context)["statusCode"] == 400
    zero = lambda_events.api_gateway_v2("POST", "/orders", body={"sku": "book", "quantity": 0})
    response = app.handler(zero, lambda_context)
    assert response["statusCode"] == 400
    assert json.loads(response["body"])["message"] == "quantity must be from 1 to 100"
    assert warehouse.requests == []  # refused before the warehouse was called


def test_out_of_stock_is_a_409(
    lambda_import: Import, lambda_events: ModuleType, lambda_context: FakeContext, warehouse: TLSServer
) -> None:
    app = lambda_import("app")
    warehouse.script("/reservations", [(409, {})])
    event = lambda_events.api_gateway_v2("POST", "/orders", body={"sku": "lamp", "quantity": 1})
    assert app.handler(event, lambda_context)["statusCode"] == 409


def test_a_rotated_key_is_fetched_again(
    lambda_import: Import,
    lambda_events: ModuleType,
    lambda_context: FakeContext,
    lambda_aws: AwsStandIn,
    warehouse: TLSServer,
) -> None:
    app = lambda_import("app")  # holds "local-key"
    rotated = json.dumps({"api_key": "key-2"})
    lambda_aws.client("secretsmanager").put_secret_value(SecretId="shop/warehouse", SecretString=rotated)
    warehouse.script("/reservations", [(401, {})])  # the warehouse already wants the new key
    event = lambda_events.api_gateway_v2("POST", "/orders", body={"sku": "pen", "quantity": 1})
    assert app.handler(event, lambda_context)["statusCode"] == 201
    assert [headers["x-api-key"] for headers in warehouse.headers] == ["local-key", "key-2"]
