"""The same job as ``examples/naive``, with no AWS call in a warm invocation.

The client and the downstream connection pool are created, and the secret fetched,
once, during INIT, at module scope;
the metric is written as one CloudWatch Embedded Metric Format line on stdout,
which CloudWatch Logs turns into a metric with no API call. Plain Python and boto3,
no lambda-kit: this is the hand-written baseline lambda-kit's utilities must match.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import boto3
import urllib3

SECRET_ID = os.environ.get("DB_SECRET_ID", "demo/db")
INVENTORY_URL = os.environ.get("INVENTORY_URL")  # https://... of the downstream service, if any

_secrets = boto3.client("secretsmanager")
_credentials = json.loads(_secrets.get_secret_value(SecretId=SECRET_ID)["SecretString"])
_pool = urllib3.PoolManager(ca_certs=os.environ.get("INVENTORY_CA_BUNDLE"))  # reused: keep-alive


def _emf(name: str, value: float, unit: str) -> str:
    return json.dumps(
        {
            "_aws": {
                "Timestamp": int(time.time() * 1000),
                "CloudWatchMetrics": [
                    {
                        "Namespace": "LambdaKitDemo",
                        "Dimensions": [["Service"]],
                        "Metrics": [{"Name": name, "Unit": unit}],
                    }
                ],
            },
            "Service": "demo",
            name: value,
        },
        separators=(",", ":"),
    )


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    print(_emf("Requests", 1.0, "Count"))
    stock = None
    if INVENTORY_URL:
        stock = json.loads(_pool.request("GET", f"{INVENTORY_URL}/items/42", timeout=5.0).data)
    body = {"user": _credentials["username"], "path": event.get("path", "/"), "inventory": stock is not None}
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}
