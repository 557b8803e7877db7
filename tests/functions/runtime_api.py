"""Handlers for the Runtime API conformance tests (run inside awslambdaric subprocesses)."""

import http.client
import json
import os

print("INIT of runtime_api")


def _call(method, path, body=None, headers=None):
    """One request to the Runtime API (plain HTTP on loopback); returns (status, body)."""
    connection = http.client.HTTPConnection(os.environ["AWS_LAMBDA_RUNTIME_API"], timeout=5)
    try:
        connection.request(method, "/2018-06-01/runtime" + path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def context_info(event, context):
    return {
        "request_id": context.aws_request_id,
        "arn": context.invoked_function_arn,
        "tenant_id": getattr(context, "tenant_id", None),
        "remaining_ms": context.get_remaining_time_in_millis(),
        "trace_id": os.environ.get("_X_AMZN_TRACE_ID"),
        "event": event,
    }


def cross_wire(event, context):
    """Post a response for this request id with another invocation's id, as a late
    response of a timed-out invocation would; return the status the Runtime API gave."""
    status, _ = _call(
        "POST",
        f"/invocation/{context.aws_request_id}/response",
        json.dumps({"stale": True}).encode(),
        {"Lambda-Runtime-Invocation-Id": "an-invocation-that-timed-out"},
    )
    return {"stale_status": status}


def no_echo(event, context):
    """Post the response without the invocation id echo (a runtime client before 4.0.2)."""
    status, _ = _call("POST", f"/invocation/{context.aws_request_id}/response", b'{"by": "hand"}')
    return {"status": status}


def fail(event, context):
    raise KeyError("missing")


def probe(event, context):
    """Ask the Runtime API for what no runtime should: the statuses it answers with."""
    unknown_path, _ = _call("GET", "/no/such/thing")
    unknown_id, _ = _call("POST", "/invocation/00000000-0000-0000-0000-000000000000/response", b"{}")
    return {"unknown_path": unknown_path, "unknown_request_id": unknown_id}
