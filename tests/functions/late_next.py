"""A runtime that is late back to /next after its first invocation (a stalled process)."""

import time

from awslambdaric import lambda_runtime_client

_original = lambda_runtime_client.LambdaRuntimeClient.wait_next_invocation
_calls = [0]


def _late(self):
    _calls[0] += 1
    if _calls[0] == 2:
        time.sleep(3)
    return _original(self)


lambda_runtime_client.LambdaRuntimeClient.wait_next_invocation = _late


def handler(event, context):
    return "ok"
