"""The same job as ``examples/naive``, with no AWS call in a warm invocation.

The client is created and the secret fetched once, during INIT, at module scope;
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

SECRET_ID = os.environ.get("DB_SECRET_ID", "demo/db")

_secrets = boto3.client("secretsmanager")
_credentials = json.loads(_secrets.get_secret_value(SecretId=SECRET_ID)["SecretString"])


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
    body = {"user": _credentials["username"], "path": event.get("path", "/")}
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}
