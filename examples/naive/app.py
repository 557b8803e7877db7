"""The anti-patterns, on purpose: what lambda-kit's examples are measured against.

Every invocation builds new boto3 clients (new connections, new credential
resolution), fetches the database password from Secrets Manager, and publishes a
metric with a synchronous PutMetricData call. At 6,000 requests/s that is 6,000
GetSecretValue calls/s (the quota is 10,000/s for the whole account) and 6,000
PutMetricData calls/s (quota: 500/s). Compare with ``examples/plain``.
"""

from __future__ import annotations

import json
import os
from typing import Any

import boto3

SECRET_ID = os.environ.get("DB_SECRET_ID", "demo/db")


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    secrets = boto3.client("secretsmanager")  # anti-pattern: a client per invocation
    credentials = json.loads(secrets.get_secret_value(SecretId=SECRET_ID)["SecretString"])
    cloudwatch = boto3.client("cloudwatch")
    cloudwatch.put_metric_data(  # anti-pattern: a synchronous metrics API call
        Namespace="LambdaKitDemo",
        MetricData=[{"MetricName": "Requests", "Value": 1.0, "Unit": "Count"}],
    )
    body = {"user": credentials["username"], "path": event.get("path", "/")}
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}
