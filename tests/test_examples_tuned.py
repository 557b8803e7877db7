"""examples/tuned: its core logic without any event, and its handler against the AWS stand-in."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from lambda_kit.testing import capture_metrics, events, invoke, reset_lifecycle
from lambda_kit_dev.stand_ins import AwsStandIn, TLSServer
from lambda_kit_dev.stand_ins._tls import temporary_certificate

TUNED = Path(__file__).parent.parent / "examples" / "tuned"


@pytest.fixture
def tuned_path(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.syspath_prepend(str(TUNED))
    yield
    for name in ("app", "consumer", "orders", "order_view_pb2"):
        sys.modules.pop(name, None)


class FakeDatabase:
    def user(self) -> str:
        return "app"


class FakeInventory:
    def available(self, order_id: str) -> bool | None:
        return order_id != "0"


def test_core_logic_needs_no_event(tuned_path: None) -> None:
    orders = importlib.import_module("orders")
    view = orders.get_order(FakeDatabase(), FakeInventory(), "42")
    assert view == orders.OrderView(order_id="42", user="app", in_stock=True)
    assert orders.get_order(FakeDatabase(), FakeInventory(), "0").in_stock is False
    with pytest.raises(ValueError, match="blank"):
        orders.get_order(FakeDatabase(), FakeInventory(), "  ")


@pytest.fixture
def inventory() -> Iterator[TLSServer]:
    cert, key, directory = temporary_certificate()
    with directory, TLSServer(cert, key) as server:
        yield server


@pytest.fixture
def app(
    tuned_path: None, aws: AwsStandIn, inventory: TLSServer, monkeypatch: pytest.MonkeyPatch
) -> ModuleType:
    secret = {"username": "app", "password": "s3cr3t-pw"}
    client = aws.client("secretsmanager")
    try:
        client.create_secret(Name="demo/tuned-test", SecretString=json.dumps(secret))
    except client.exceptions.ResourceExistsException:
        client.put_secret_value(SecretId="demo/tuned-test", SecretString=json.dumps(secret))
    for key, value in aws.environ().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("DB_SECRET_ID", "demo/tuned-test")
    monkeypatch.setenv("INVENTORY_URL", inventory.base_url)
    assert inventory.cert is not None
    monkeypatch.setenv("INVENTORY_CA_BUNDLE", inventory.cert)
    reset_lifecycle()
    return importlib.import_module("app")


def test_handler_serves_the_order_and_writes_metrics(app: ModuleType, inventory: TLSServer) -> None:
    with capture_metrics() as captured:
        first = invoke(app.handler, events.api_gateway_v1("GET", "/orders/42"))
        second = invoke(app.handler, events.api_gateway_v1("GET", "/orders/7"))
    assert first["statusCode"] == 200
    assert json.loads(first["body"]) == {"order_id": "42", "user": "app", "in_stock": True}
    assert inventory.connections == 1  # opened during INIT, kept alive across invocations
    assert [path for _, path, _, _ in inventory.requests] == ["/items/42", "/items/7"]
    assert json.loads(second["body"])["order_id"] == "7"
    assert "s3cr3t-pw" not in first["body"]
    names = [record.name for record in captured.records]
    assert names.count("ColdStart") == 1
    assert names.count("Requests") == 2
    blank = invoke(app.handler, events.api_gateway_v2("GET", "/orders/%20"))  # v2 paths arrive encoded
    assert blank["statusCode"] == 400
    assert json.loads(blank["body"]) == {"message": "order_id must not be blank", "error": "ValueError"}


def test_protobuf_endpoint_negotiates(app: ModuleType) -> None:
    import base64

    order_view_pb2 = importlib.import_module("order_view_pb2")
    binary = invoke(
        app.handler,
        events.api_gateway_v1("GET", "/v2/orders/9", headers={"Accept": "application/x-protobuf"}),
    )
    assert binary["isBase64Encoded"] is True
    message = order_view_pb2.OrderView.FromString(base64.b64decode(binary["body"]))
    assert (message.order_id, message.user, message.in_stock) == ("9", "app", True)
    browser = invoke(app.handler, events.api_gateway_v2("GET", "/v2/orders/9", headers={"accept": "*/*"}))
    assert json.loads(browser["body"]) == {"orderId": "9", "user": "app", "inStock": True}


def test_consumer_reports_only_the_record_that_failed(tuned_path: None) -> None:
    consumer = importlib.import_module("consumer")
    reset_lifecycle()
    event = events.sqs([{"order_id": "o-1"}, {"order_id": "  "}, {"order_id": "o-3"}, "not json"])
    ids = [record["messageId"] for record in event["Records"]]
    with capture_metrics() as captured:
        result = invoke(consumer.handler, event)
    assert result == {"batchItemFailures": [{"itemIdentifier": ids[1]}, {"itemIdentifier": ids[3]}]}
    assert captured.values("OrdersRefreshed") == [1, 1]


def test_init_imports_no_protobuf_until_the_v2_route_is_asked(aws: AwsStandIn) -> None:
    """protobuf (and the generated module) load on the first /v2 request, not during INIT."""
    import os
    import subprocess

    client = aws.client("secretsmanager")
    secret = json.dumps({"username": "app", "password": "s3cr3t-pw"})
    try:
        client.create_secret(Name="demo/tuned-init", SecretString=secret)
    except client.exceptions.ResourceExistsException:
        client.put_secret_value(SecretId="demo/tuned-init", SecretString=secret)
    code = (
        "import json, sys\n"
        "import app\n"
        "from lambda_kit.testing import events, invoke\n"
        "def loaded():\n"
        "    return sorted(m for m in sys.modules\n"
        "                  if m == 'order_view_pb2' or m.startswith('google.protobuf'))\n"
        "at_init = loaded()\n"
        "invoke(app.handler, events.api_gateway_v1('GET', '/orders/1'))\n"
        "after_v1 = loaded()\n"
        "answer = invoke(app.handler, events.api_gateway_v1('GET', '/v2/orders/1'))\n"
        "print(json.dumps([at_init, after_v1, bool(loaded()), answer['statusCode']]))\n"
    )
    env = {**os.environ, **aws.environ(), "DB_SECRET_ID": "demo/tuned-init", "PYTHONPATH": str(TUNED)}
    env.pop("INVENTORY_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=TUNED,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    at_init, after_v1, after_v2, status = json.loads(done.stdout.strip().splitlines()[-1])
    assert at_init == []
    assert after_v1 == []
    assert after_v2 is True
    assert status == 200
