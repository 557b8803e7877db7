"""CPU share and memory limit for SnapStart's restored environments and for Managed Instances.

A restored environment is a fork of the snapshot process: it is put in a control group
of its own at the invocations' share before it runs any of the function's code, with
Memory Size less what the snapshot holds (shared pages stay charged to the snapshot).
A Managed Instances environment gets ``memory_mb / 1024 / memory_per_vcpu_gib`` vCPUs,
INIT included, and Memory Size for the runtime and all its workers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lambda_kit.exceptions import ConfigurationError
from lambda_kit_dev.emulator import ManagedInstancesEmulator, SnapStartEmulator, _cgroup

pytestmark = pytest.mark.emulator


def test_a_restored_environment_runs_at_the_invocations_share(handlers: Path) -> None:
    source = _cgroup.backend()
    with SnapStartEmulator(
        "cpu_work.burn", task_root=handlers, memory_mb=256, timeout_s=30, limits=True
    ) as fn:
        first = fn.invoke({"cpu_ms": 1})  # the restore
        warm = fn.invoke({"cpu_ms": 60})
    assert first.ok, first.error
    assert warm.ok, warm.error
    assert first.report.restore_duration_ms is not None
    assert warm.json()["cpu_ms"] >= 60
    if not source.cpu:  # no cgroup rights here: unlimited, and the report says so
        assert warm.report.cpu_share is None
        assert "CPU not limited" in (warm.report.limits_notice or "")
        return
    share = _cgroup.cpu_share(256)  # 0.145 vCPUs
    assert warm.report.cpu_share == pytest.approx(share, rel=0.1)
    # 60 ms of CPU at about 0.145 of a core takes about 414 ms; unlimited it takes about 60.
    assert warm.report.duration_ms >= 0.7 * 60 / share, warm.report.duration_ms


def test_a_restored_environment_past_memory_size_ends_as_lambda_ends_it(handlers: Path) -> None:
    with SnapStartEmulator(
        "cpu_work.allocate", task_root=handlers, memory_mb=128, timeout_s=60, limits=True
    ) as fn:
        first = fn.invoke({"mb": 8})
        over = fn.invoke({"mb": 200})
        after = fn.invoke({"mb": 1})
    assert first.ok, first.error
    assert after.ok, after.error
    if not _cgroup.backend().memory:
        assert over.ok
        assert "memory not limited" in (over.report.limits_notice or "")
        return
    assert over.error is not None
    assert over.error["errorType"] == "Runtime.OutOfMemory"
    assert not over.cold
    assert after.cold  # a new environment, restored again from the snapshot
    assert after.report.restore_duration_ms is not None
    assert after.json()["held_mb"] == 1
    assert after.json()["pid"] != first.json()["pid"]


def test_managed_instances_take_their_share_from_the_memory_per_vcpu_ratio(handlers: Path) -> None:
    source = _cgroup.backend()
    with ManagedInstancesEmulator(
        "cpu_work.burn",
        task_root=handlers,
        max_concurrency=1,
        memory_mb=2048,
        memory_per_vcpu_gib=8.0,  # 2 GiB at 8 GiB per vCPU: a quarter of a vCPU
        timeout_s=30,
        limits=True,
    ) as fn:
        assert fn.limits.vcpus == pytest.approx(0.25)
        fn.invoke({"cpu_ms": 1})
        warm = fn.invoke({"cpu_ms": 60})
    assert warm.ok, warm.error
    if not source.cpu:
        assert warm.report.cpu_share is None
        assert "CPU not limited" in (warm.report.limits_notice or "")
        return
    assert warm.report.cpu_share == pytest.approx(0.25, rel=0.1)
    assert warm.report.duration_ms >= 0.7 * 60 / 0.25, warm.report.duration_ms


@pytest.mark.parametrize("ratio", [1.9, 8.5, float("nan"), True, "4"])
def test_managed_instances_refuse_a_ratio_lambda_refuses(handlers: Path, ratio: object) -> None:
    with pytest.raises(ConfigurationError, match="memory_per_vcpu_gib"):
        ManagedInstancesEmulator(
            "basic.echo",
            task_root=handlers,
            max_concurrency=1,
            memory_per_vcpu_gib=ratio,  # type: ignore[arg-type]
        )
