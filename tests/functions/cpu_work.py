"""Handlers that use CPU or memory in known amounts (for the CPU share and memory limit tests)."""

import os
import time

_hold = []


def burn(event, context):
    """Spin until this process has used ``cpu_ms`` of CPU time: fixed work, whatever the core's speed."""
    target = event.get("cpu_ms", 50) / 1000.0
    start = time.process_time()
    while time.process_time() - start < target:
        pass
    return {"cpu_ms": (time.process_time() - start) * 1000.0, "pid": os.getpid()}


def allocate(event, context):
    """Hold ``mb`` more MiB, touched (a zero-filled bytearray), across invocations."""
    _hold.append(bytearray(event["mb"] * 1024 * 1024))
    return {"held_mb": sum(len(b) for b in _hold) // (1024 * 1024), "pid": os.getpid()}
