"""bench_init's job by hand with botocore alone: ``init_by_hand.py`` without boto3.

An HTTP API (payload 2.0) route ``GET /orders/{order_id}`` that answers
``{"order_id", "user", "in_stock"}``: the user from a secret fetched once during INIT
(boto3, Secrets Manager), the stock from a downstream HTTPS service over one
connection opened during INIT and kept alive (``http.client``), and one ``Requests``
metric per invocation as a CloudWatch Embedded Metric Format line on stdout.
The one difference from ``init_by_hand.py``: the client comes from botocore's session,
as ``boto3.client`` makes it underneath and as ``lambda_kit.aws`` does, so boto3 (and
the s3transfer it imports) is never imported: the minimal hand-written INIT.
"""

from __future__ import annotations

import http.client
import json
import os
import ssl
import time
from typing import Any
from urllib.parse import urlsplit

import botocore.session

_client: Any = botocore.session.get_session().create_client("secretsmanager")
_secret = _client.get_secret_value(SecretId=os.environ["DB_SECRET_ID"])
USER = str(json.loads(_secret["SecretString"])["username"])


class Inventory:
    """One kept-alive HTTPS connection to the inventory service, opened during INIT."""

    def __init__(self, base_url: str, ca_bundle: str | None) -> None:
        parts = urlsplit(base_url)
        context = ssl.create_default_context(cafile=ca_bundle)
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


INVENTORY = Inventory(os.environ["INVENTORY_URL"], os.environ.get("INVENTORY_CA_BUNDLE"))


def _emf(name: str, value: float) -> str:
    document = {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": "BenchInit",
                    "Dimensions": [["service"]],
                    "Metrics": [{"Name": name, "Unit": "Count"}],
                }
            ],
        },
        "service": "orders",
        name: value,
    }
    return json.dumps(document, separators=(",", ":"))


def _response(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body, separators=(",", ":")),
        "isBase64Encoded": False,
    }


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if event.get("routeKey") != "GET /orders/{order_id}":
        return _response(404, {"message": "Not Found"})
    order_id = (event.get("pathParameters") or {}).get("order_id") or ""
    if not order_id.strip():
        return _response(400, {"message": "order_id must not be blank"})
    print(_emf("Requests", 1))
    return _response(200, {"order_id": order_id, "user": USER, "in_stock": INVENTORY.available(order_id)})
