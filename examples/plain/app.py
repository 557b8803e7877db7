"""The demo's job by hand, with no AWS call in a warm invocation: the baseline for ``examples/tuned``.

The same job as ``examples/tuned`` (and ``examples/naive``): ``GET /orders/{order_id}``
behind API Gateway answers ``{"order_id", "user", "in_stock"}``, with the user from the
database secret and the stock from a downstream inventory service over HTTPS, and
writes a ``Requests`` metric (plus ``ColdStart`` in the first invocation).

As in ``tuned``, everything that does not change between invocations happens once,
during INIT, at module scope: the secret is fetched, the inventory connection is opened
(TLS handshake included) and kept alive; the metrics are CloudWatch Embedded Metric
Format lines on stdout, which CloudWatch Logs turns into metrics with no API call.
Plain Python and boto3, no lambda-kit: what lambda-kit's utilities must match.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import ssl
import time
from typing import Any
from urllib.parse import urlsplit

import boto3

SECRET_ID = os.environ.get("DB_SECRET_ID", "demo/db")
INVENTORY_URL = os.environ.get("INVENTORY_URL")  # https://... of the downstream service, if any
ROUTE = re.compile(r"/orders/([^/]+)")

_credentials = json.loads(boto3.client("secretsmanager").get_secret_value(SecretId=SECRET_ID)["SecretString"])
_USER = str(_credentials["username"])


class Inventory:
    """One kept-alive HTTPS connection to the inventory service, opened during INIT."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        context = ssl.create_default_context(cafile=os.environ.get("INVENTORY_CA_BUNDLE"))
        self.connection = http.client.HTTPSConnection(
            parts.hostname or "", parts.port, timeout=2.0, context=context
        )
        self.connection.connect()

    def available(self, order_id: str) -> bool:
        for attempt in (1, 2):  # a connection the server closed while we were frozen: reconnect once
            try:
                self.connection.request("GET", f"/items/{order_id}")
                response = self.connection.getresponse()
                body = response.read()
                break
            except (http.client.HTTPException, OSError):
                self.connection.close()
                if attempt == 2:
                    raise
        if response.status >= 400:
            raise RuntimeError(f"inventory answered {response.status}")
        return bool(json.loads(body))


_inventory = Inventory(INVENTORY_URL) if INVENTORY_URL else None
_cold = True


def _emf(name: str, dimensions: dict[str, str]) -> str:
    return json.dumps(
        {
            "_aws": {
                "Timestamp": int(time.time() * 1000),
                "CloudWatchMetrics": [
                    {
                        "Namespace": "LambdaKitDemo",
                        "Dimensions": [list(dimensions)],
                        "Metrics": [{"Name": name, "Unit": "Count"}],
                    }
                ],
            },
            **dimensions,
            name: 1,
        },
        separators=(",", ":"),
    )


def _response(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body, separators=(",", ":")),
        "isBase64Encoded": False,
    }


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    global _cold
    if _cold:
        _cold = False
        print(_emf("ColdStart", {"function_name": context.function_name, "service": "demo"}))
    try:
        match = ROUTE.fullmatch(event.get("path") or "")
        if event.get("httpMethod") != "GET" or match is None:
            return _response(404, {"message": "Not Found"})
        order_id = match.group(1)
        if not order_id.strip():
            return _response(400, {"message": "order_id must not be blank"})
        print(_emf("Requests", {"service": "demo"}))
        in_stock = _inventory.available(order_id) if _inventory is not None else None
        return _response(200, {"order_id": order_id, "user": _USER, "in_stock": in_stock})
    except Exception:  # what the client sees of a failure; the details go to the log
        import traceback

        traceback.print_exc()
        return _response(500, {"message": "Internal Server Error"})
