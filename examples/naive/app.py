"""The anti-patterns, on purpose: the demo's job done the expensive way in every invocation.

The same job as ``examples/plain`` and ``examples/tuned``: ``GET /orders/{order_id}``
behind API Gateway answers ``{"order_id", "user", "in_stock"}``, with the user from the
database secret and the stock from a downstream inventory service over HTTPS, and
records a ``Requests`` metric (plus ``ColdStart`` in the first invocation).

But every invocation builds new boto3 clients (new connections, new credential
resolution), fetches the database password from Secrets Manager, asks the inventory
service over a new HTTPS connection (TCP and TLS handshakes, CA bundle loaded again),
and publishes the metrics with a synchronous PutMetricData call. At 6,000 requests/s
that is 6,000 GetSecretValue calls/s (the quota is 10,000/s for the whole account) and
6,000 PutMetricData calls/s (quota: 500/s). Compare with ``examples/plain``.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

import boto3
import urllib3

SECRET_ID = os.environ.get("DB_SECRET_ID", "demo/db")
INVENTORY_URL = os.environ.get("INVENTORY_URL")  # https://... of the downstream service, if any
ROUTE = re.compile(r"/orders/([^/]+)")
_cold = True


def _response(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body, separators=(",", ":")),
        "isBase64Encoded": False,
    }


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    global _cold
    match = ROUTE.fullmatch(event.get("path") or "")
    if event.get("httpMethod") != "GET" or match is None:
        return _response(404, {"message": "Not Found"})
    order_id = match.group(1)
    if not order_id.strip():
        return _response(400, {"message": "order_id must not be blank"})
    secrets = boto3.client("secretsmanager")  # anti-pattern: a client per invocation
    credentials = json.loads(secrets.get_secret_value(SecretId=SECRET_ID)["SecretString"])
    data: list[Any] = [
        {
            "MetricName": "Requests",
            "Value": 1.0,
            "Unit": "Count",
            "Dimensions": [{"Name": "service", "Value": "demo"}],
        }
    ]
    if _cold:
        _cold = False
        dimensions = [
            {"Name": "function_name", "Value": context.function_name},
            {"Name": "service", "Value": "demo"},
        ]
        data.append({"MetricName": "ColdStart", "Value": 1.0, "Unit": "Count", "Dimensions": dimensions})
    cloudwatch = boto3.client("cloudwatch")
    cloudwatch.put_metric_data(Namespace="LambdaKitDemo", MetricData=data)  # anti-pattern: a synchronous call
    in_stock = None
    if INVENTORY_URL:
        pool = urllib3.PoolManager(ca_certs=os.environ.get("INVENTORY_CA_BUNDLE"))  # anti-pattern: per call
        response = pool.request("GET", f"{INVENTORY_URL}/items/{order_id}", timeout=2.0)
        pool.clear()
        if response.status >= 400:
            raise RuntimeError(f"inventory answered {response.status}")
        in_stock = bool(json.loads(response.data))
    return _response(200, {"order_id": order_id, "user": credentials["username"], "in_stock": in_stock})
