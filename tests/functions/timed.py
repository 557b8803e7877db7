"""Handlers of known duration for the load tests (run inside awslambdaric subprocesses)."""

import os
import time


def handler(event, context):
    time.sleep(event.get("seconds", 0.1))
    return {"pid": os.getpid(), "tenant": getattr(context, "tenant_id", None)}
