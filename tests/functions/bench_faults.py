"""Handlers for lambda-kit bench's failure tests."""

_invocations = 0


def fail_cold(event, context):
    """Fail the first invocation of every execution environment, succeed afterwards."""
    global _invocations
    _invocations += 1
    if _invocations == 1:
        raise RuntimeError("the first invocation of an environment fails")
    return {"invocation": _invocations}
