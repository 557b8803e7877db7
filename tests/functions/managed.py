"""Handlers for the Managed Instances tests (run inside awslambdaric worker processes)."""

import os
import time

from lambda_kit import lifecycle
from lambda_kit.metrics import Metrics
from lambda_kit.secrets import Secret

SECRET = Secret(os.environ["SECRET_ID"]).prefetch()  # during INIT: once per worker process
metrics = Metrics(namespace="ManagedTest", service="managed")


@metrics.log_metrics
def handler(event, context):
    started = time.time()
    for n in range(20):
        metrics.put_metric(f"Metric{n}", n, "Count")
    time.sleep(event.get("seconds", 0.3))
    return {
        "pid": os.getpid(),
        "started": started,
        "ended": time.time(),
        "remaining_ms": context.get_remaining_time_in_millis(),
        "lambda_kit_remaining_s": lifecycle.remaining_time(),
        "secret_length": len(SECRET.value),
    }
