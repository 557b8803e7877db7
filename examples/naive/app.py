"""The anti-patterns, on purpose: what lambda-kit's examples are measured against.

Every invocation builds new boto3 clients (new connections, new credential
resolution), fetches the database password from Secrets Manager, asks a downstream
inventory service over a new HTTPS connection (TCP and TLS handshakes, CA bundle
loaded again), and publishes a metric with a synchronous PutMetricData call. At 6,000 requests/s that is 6,000
GetSecretValue calls/s (the quota is 10,000/s for the whole account) and 6,000
PutMetricData calls/s (quota: 500/s). Compare with ``examples/plain``.
"""

from __future__ import annotations

import json
import os
from typing import Any

import boto3
import urllib3

SECRET_ID = os.environ.get("DB_SECRET_ID", "demo/db")
INVENTORY_URL = os.environ.get("INVENTORY_URL")  # https://... of the downstream service, if any


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    secrets = boto3.client("secretsmanager")  # anti-pattern: a client per invocation
    credentials = json.loads(secrets.get_secret_value(SecretId=SECRET_ID)["SecretString"])
    cloudwatch = boto3.client("cloudwatch")
    cloudwatch.put_metric_data(  # anti-pattern: a synchronous metrics API call
        Namespace="LambdaKitDemo",
        MetricData=[{"MetricName": "Requests", "Value": 1.0, "Unit": "Count"}],
    )
    stock = None
    if INVENTORY_URL:
        pool = urllib3.PoolManager(ca_certs=os.environ.get("INVENTORY_CA_BUNDLE"))  # anti-pattern: per call
        stock = json.loads(pool.request("GET", f"{INVENTORY_URL}/items/42", timeout=5.0).data)
        pool.clear()
    body = {"user": credentials["username"], "path": event.get("path", "/"), "inventory": stock is not None}
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}
