"""Handlers for the emulator tests (run inside awslambdaric subprocesses)."""

import json
import os
import sys
import time

print("INIT of basic")


def echo(event, context):
    print(f"invocation {event.get('n')}")
    return {"event": event, "remaining_ms": context.get_remaining_time_in_millis(), "pid": os.getpid()}


def context_info(event, context):
    return {
        "request_id": context.aws_request_id,
        "function_name": context.function_name,
        "memory": context.memory_limit_in_mb,
        "arn": context.invoked_function_arn,
        "env": {k: v for k, v in os.environ.items() if k.startswith(("AWS_", "LAMBDA_", "DEMO_", "USER_"))},
        "remaining_ms": context.get_remaining_time_in_millis(),
    }


def fail(event, context):
    print("about to fail", file=sys.stderr)
    raise ValueError("order 42 is invalid")


def sleep(event, context):
    time.sleep(event.get("seconds", 5))
    return {"slept": True}


def crash(event, context):
    os._exit(3)


def binary(event, context):
    return b"\x00\x01\x02binary\xff"


def size(event, context):
    return {"bytes": len(json.dumps(event))}


def big_response(event, context):
    return "x" * (7 * 1024 * 1024)


def noisy(event, context):
    for i in range(4000):
        print(f"line {i:05d} " + "y" * 40)
    return {"lines": 4000}


_hold = []


def allocate(event, context):
    _hold.append(bytearray(event["mb"] * 1024 * 1024))
    return {"held_mb": sum(len(b) for b in _hold) // (1024 * 1024)}
