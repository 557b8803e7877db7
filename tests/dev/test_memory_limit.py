"""Memory Size enforced as Lambda enforces it: past it, Runtime.OutOfMemory and a new environment."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lambda_kit_dev import Emulator
from lambda_kit_dev.emulator import _cgroup

pytestmark = pytest.mark.emulator

OUT_OF_MEMORY = re.compile(
    r"^REPORT RequestId: (?P<id>[0-9a-f-]{36})\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\t"
    r"Memory Size: 128 MB\tMax Memory Used: 128 MB\t(Init Duration: \d+\.\d\d ms\t)?"
    r"Status: error\tError Type: Runtime\.OutOfMemory\t$"
)


def test_allocating_past_memory_size_ends_the_environment_as_lambda_does(handlers: Path) -> None:
    with Emulator("cpu_work.allocate", task_root=handlers, memory_mb=128, timeout_s=60, limits=True) as fn:
        first = fn.invoke({"mb": 16})
        over = fn.invoke({"mb": 200})
        after = fn.invoke({"mb": 1})
    assert first.ok
    assert after.ok
    if not _cgroup.backend().memory:  # no cgroup rights: not enforced, and the report says so
        assert over.ok
        assert "memory not limited" in (over.report.limits_notice or "")
        return
    assert not over.ok
    assert over.error == {
        "errorType": "Runtime.OutOfMemory",
        "errorMessage": f"RequestId: {over.request_id} Error: Runtime exited with error: signal: killed",
    }
    line = over.report.report_line()
    match = OUT_OF_MEMORY.match(line)
    assert match is not None, line
    assert match["id"] == over.request_id
    assert not over.cold  # it ran in the warm environment...
    assert after.cold  # ...which Lambda then replaced: the next invocation is a cold start
    assert after.json()["held_mb"] == 1  # nothing of the old environment's memory is left
    assert after.json()["pid"] != first.json()["pid"]


def test_running_out_of_memory_during_init(handlers: Path) -> None:
    with Emulator("oom_init.handler", task_root=handlers, memory_mb=128, limits=True) as fn:
        outcome = fn.invoke({})
    if not _cgroup.backend().memory:
        assert outcome.ok
        assert "memory not limited" in (outcome.report.limits_notice or "")
        return
    assert outcome.error is not None
    assert outcome.error["errorType"] == "Runtime.OutOfMemory"
    assert outcome.cold
    assert OUT_OF_MEMORY.match(outcome.report.report_line()), outcome.report.report_line()


def test_without_limits_memory_size_is_only_reported(handlers: Path) -> None:
    with Emulator("cpu_work.allocate", task_root=handlers, memory_mb=128) as fn:
        outcome = fn.invoke({"mb": 200})
    assert outcome.ok  # the machine's memory, not the function's
    assert outcome.json()["held_mb"] == 200
    assert outcome.report.max_memory_used_mb is not None
    assert outcome.report.max_memory_used_mb > 128  # more than Lambda would have allowed
    assert outcome.report.limits_notice == "CPU and memory not limited (limits off)"
