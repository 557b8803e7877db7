"""Lambda's CPU share by memory size, through control groups: shares, parsing, detection, cleanup.

The ratio test measures under the quota in a way other processes cannot distort: the
handler does a fixed amount of *CPU time* (it spins until ``time.process_time()`` has
advanced by 100 ms), so the speed of this machine's core does not enter; the group
has the highest CPU weight, so other processes cannot take its quota away; and the
shortest of two warm invocations is kept, since load only ever adds time. What is
left is the share the quota gives: Duration = CPU time / share.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lambda_kit_dev import Emulator
from lambda_kit_dev.emulator import _cgroup

pytestmark = pytest.mark.emulator

REPOSITORY = Path(__file__).resolve().parents[2]


def test_shares_follow_lambdas_memory_to_cpu_rule() -> None:
    assert _cgroup.cpu_share(1769) == 1.0
    assert _cgroup.cpu_share(128) == pytest.approx(0.0724, abs=1e-4)
    assert _cgroup.cpu_share(10240) == pytest.approx(5.79, abs=0.01)
    # INIT: two vCPUs up to 3,008 MB (measured on Lambda), the memory's share beyond.
    assert _cgroup.init_share(128) == 2.0
    assert _cgroup.init_share(3008) == 2.0
    assert _cgroup.init_share(4096) == _cgroup.cpu_share(4096)
    assert _cgroup.init_share(128, boost=False) == _cgroup.cpu_share(128)
    assert _cgroup.quota_us(0.0724) == 1448
    assert _cgroup.quota_us(0.01) == _cgroup.MIN_QUOTA_US  # the kernel refuses less than 1 ms


@given(st.integers(128, 10240), st.integers(128, 10240))
def test_quota_is_never_below_the_kernels_minimum_and_grows_with_memory(a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert _cgroup.quota_us(_cgroup.cpu_share(low)) >= _cgroup.MIN_QUOTA_US
    assert _cgroup.quota_us(_cgroup.cpu_share(low)) <= _cgroup.quota_us(_cgroup.cpu_share(high))
    assert _cgroup.init_share(low) >= _cgroup.cpu_share(low)


def test_proc_cgroup_parsed_for_v1_and_v2() -> None:
    text = (
        "9:name=systemd:/\n4:memory:/process_api/abc\n2:cpu,cpuacct:/user/1\n"
        "0::/user.slice/user-1000.slice/app.slice/x:y.scope\n"
        "garbage\n5:devices\n"
    )
    found = _cgroup.parse_proc_cgroup(text)
    assert found["memory"] == "/process_api/abc"
    assert found["cpu"] == found["cpuacct"] == "/user/1"
    assert found["name=systemd"] == "/"
    assert found[""] == "/user.slice/user-1000.slice/app.slice/x:y.scope"  # ':' kept in the path
    assert "devices" not in found


def test_mountinfo_parsed_for_v1_and_v2() -> None:
    text = (
        "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
        "35 31 0:32 /docker/1 /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
        "41 31 0:38 / /sys/fs/cgroup/my\\040unified rw,relatime - cgroup2 cgroup2 rw\n"
        "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n"
        "broken line\n"
    )
    found = _cgroup.parse_mountinfo(text)
    assert found["cpu"] == ("/sys/fs/cgroup/cpu", "/")
    assert found["memory"] == ("/sys/fs/cgroup/memory", "/docker/1")
    assert found[""] == ("/sys/fs/cgroup/my unified", "/")
    assert set(found) == {"cpu", "memory", ""}


@given(st.text())
def test_parsers_never_fail_on_any_text(text: str) -> None:
    for controller, path in _cgroup.parse_proc_cgroup(text).items():
        assert isinstance(controller, str)
        assert path.startswith("/")
    for point, root in _cgroup.parse_mountinfo(text).values():
        assert isinstance(point, str)
        assert isinstance(root, str)


def test_no_limits_off_linux_and_the_reason_says_why() -> None:
    backend = _cgroup.detect(platform="darwin")
    assert not backend.cpu
    assert not backend.memory
    assert "Linux control groups" in backend.reasons["cpu"]
    assert "darwin" in backend.reasons["memory"]


def test_an_unusable_delegated_cgroup_is_reported(tmp_path: Path) -> None:
    backend = _cgroup.detect(delegated=str(tmp_path / "missing"))
    assert not backend.cpu
    assert not backend.memory
    assert backend.reasons["cpu"].startswith(f"LAMBDA_KIT_CGROUP={tmp_path / 'missing'}: cannot create")


def _tree(root: Path, levels: dict[str, tuple[str, str]]) -> None:
    for name, (controllers, enabled) in levels.items():
        directory = root / name
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "cgroup.controllers").write_text(controllers)
        (directory / "cgroup.subtree_control").write_text(enabled)


def test_v2_parent_is_the_nearest_group_with_the_controllers_enabled(tmp_path: Path) -> None:
    # A systemd user delegation: the user's service has memory (enabled for its
    # children) but not cpu; only the root has cpu. The search goes up from this
    # process's own group to the first that can hold a child with the controllers.
    _tree(
        tmp_path,
        {
            ".": ("cpu memory pids", "cpu memory pids"),
            "user.slice": ("memory pids", "memory pids"),
            "user.slice/user@1000.service": ("memory pids", "memory pids"),
            "user.slice/user@1000.service/app.slice": ("memory pids", "memory pids"),
        },
    )
    own = "/user.slice/user@1000.service/app.slice"
    directory, _ = _cgroup._v2_parent(str(tmp_path), own, ["memory"])
    assert directory == str(tmp_path / "user.slice/user@1000.service/app.slice")
    directory, _ = _cgroup._v2_parent(str(tmp_path), own, ["cpu", "memory"])
    assert directory == str(tmp_path)
    (tmp_path / "cgroup.controllers").write_text("memory pids")
    (tmp_path / "cgroup.subtree_control").write_text("memory pids")
    directory, why = _cgroup._v2_parent(str(tmp_path), own, ["cpu"])
    assert directory is None
    assert why == "cgroup v2 has no cpu controller here"


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_stale_groups_of_gone_processes_are_swept(tmp_path: Path) -> None:
    dead = _dead_pid()
    stale = tmp_path / f"lambda-kit-{dead}-3"
    ours = tmp_path / f"lambda-kit-{os.getpid()}-1"
    other = tmp_path / "user-group"
    for directory in (stale, ours, other):
        directory.mkdir()
    assert _cgroup.sweep_stale(str(tmp_path)) == 1
    assert not stale.exists()
    assert ours.exists()  # this process is alive: its groups are its own to remove
    assert other.exists()  # not ours at all


def _our_groups(source: _cgroup.Backend, pid: int) -> list[str]:
    found: list[str] = []
    for _, parent in set(source.parents.values()):
        found += [name for name in os.listdir(parent) if name.startswith(f"lambda-kit-{pid}-")]
    return found


def test_cpu_bound_duration_follows_the_memory_size(handlers: Path) -> None:
    source = _cgroup.backend()
    durations: dict[int, float] = {}
    reports = {}
    for memory_mb in (128, 1024):
        with Emulator(
            "cpu_work.burn", task_root=handlers, memory_mb=memory_mb, timeout_s=30, limits=True
        ) as fn:
            fn.invoke({"cpu_ms": 1})  # the cold start: INIT has its own share
            runs = [fn.invoke({"cpu_ms": 100}) for _ in range(2)]
        assert all(run.ok for run in runs), runs[0].error
        assert all(run.json()["cpu_ms"] >= 100 for run in runs)
        durations[memory_mb] = min(run.report.duration_ms for run in runs)
        reports[memory_mb] = runs[0].report
    if source.cpu:
        ratio = durations[128] / durations[1024]
        assert 8 * 0.8 <= ratio <= 8 * 1.2, (ratio, durations)
        for memory_mb, report in reports.items():
            assert report.cpu_share is not None
            assert report.cpu_share == pytest.approx(_cgroup.cpu_share(memory_mb), rel=0.1)
            assert report.limits_notice is None or "memory not limited" in report.limits_notice
        assert _our_groups(source, os.getpid()) == []  # every group removed with its environment
    else:  # no cgroup rights here: unlimited, and every report says so
        for report in reports.values():
            assert report.cpu_share is None
            assert report.limits_notice is not None
            assert "CPU not limited" in report.limits_notice


def test_without_cgroup_rights_every_report_says_unlimited(
    handlers: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_cgroup, "_BACKEND", _cgroup.detect(delegated=str(tmp_path / "missing")))
    with Emulator("basic.echo", task_root=handlers, limits=True) as fn:
        runs = [fn.invoke({"n": 1}), fn.invoke({"n": 2})]
    for run in runs:
        assert run.ok
        assert run.report.cpu_share is None
        notice = run.report.limits_notice or ""
        assert "CPU not limited: LAMBDA_KIT_CGROUP=" in notice
        assert "memory not limited" in notice


def test_limits_are_off_unless_asked_and_the_report_says_so(
    handlers: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Emulator("basic.echo", task_root=handlers) as fn:
        assert fn.invoke({"n": 1}).report.limits_notice == "CPU and memory not limited (limits off)"
    monkeypatch.setenv("LAMBDA_KIT_LIMITS", "1")
    with Emulator("basic.echo", task_root=handlers) as fn:
        assert fn.limits.enabled


_KILLED_EMULATOR = """
import sys
from lambda_kit_dev import Emulator
fn = Emulator("cpu_work.burn", task_root=sys.argv[1], memory_mb=256, limits=True)
fn.invoke({"cpu_ms": 1})
print("ready", flush=True)
sys.stdin.read()
"""


def test_groups_of_a_killed_emulator_are_swept_by_the_next(handlers: Path) -> None:
    source = _cgroup.backend()
    child = subprocess.Popen(
        [sys.executable, "-c", _KILLED_EMULATOR, str(handlers)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=REPOSITORY,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == b"ready"
        left = _our_groups(source, child.pid)
        child.send_signal(signal.SIGKILL)  # no atexit, no finalizer: the groups stay
        child.wait()
    finally:
        if child.poll() is None:  # pragma: no cover - only when the test failed early
            child.kill()
            child.wait()
        for pipe in (child.stdin, child.stdout):
            if pipe is not None:
                pipe.close()
    if not source.parents:  # no cgroup rights: nothing was created
        assert left == []
        return
    assert left  # the environment's group existed while the emulator ran
    deadline = time.monotonic() + 10
    for _, parent in set(source.parents.values()):
        _cgroup.sweep_stale(parent)  # what the next process's probe does
    assert _our_groups(source, child.pid) == []
    assert time.monotonic() < deadline


def test_limits_option_says_on_stderr_what_cannot_be_limited(
    handlers: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from lambda_kit_dev import _cli

    monkeypatch.setenv("LAMBDA_KIT_LIMITS", "0")  # restored (unset) after the test; the option sets it
    monkeypatch.setattr(_cgroup, "_BACKEND", _cgroup.detect(delegated=str(tmp_path / "missing")))
    status = _cli.main(["invoke", "basic.echo", "--task-root", str(handlers), "--limits", "--json"])
    out, err = capsys.readouterr()
    assert status == 0
    assert "lambda-kit: CPU not limited: LAMBDA_KIT_CGROUP=" in err
    assert "lambda-kit: memory not limited: LAMBDA_KIT_CGROUP=" in err
    assert os.environ["LAMBDA_KIT_LIMITS"] == "1"
    assert "CPU not limited" in json.loads(out)["report"]["limits_notice"]


def _fake_proc(tmp_path: Path, mountinfo: str, cgroup: str) -> str:
    proc = tmp_path / "proc" / "self"
    proc.mkdir(parents=True)
    (proc / "mountinfo").write_text(mountinfo)
    (proc / "cgroup").write_text(cgroup)
    return str(tmp_path / "proc")


def _empty(group: _cgroup.Group) -> None:
    """Delete the files a test wrote (a real cgroupfs directory is removed with them)."""
    for part in group.parts:
        for item in Path(part.path).iterdir():
            item.unlink()


def test_detection_and_groups_on_a_v2_hierarchy(tmp_path: Path) -> None:
    # A v2 tree where this process's scope sits in app.slice, whose controllers can be
    # enabled for children: groups go under app.slice, one directory for cpu and memory.
    mount = tmp_path / "unified"
    _tree(mount, {".": ("cpu memory", "cpu memory"), "app.slice": ("cpu memory", "")})
    (mount / "app.slice" / "x.scope").mkdir()
    proc = _fake_proc(
        tmp_path,
        f"41 31 0:38 / {mount} rw,relatime - cgroup2 cgroup2 rw\n",
        "0::/app.slice/x.scope\n",
    )
    source = _cgroup.detect(proc_root=proc)
    parent = str(mount / "app.slice")
    assert source.parents == {"cpu": (2, parent), "memory": (2, parent)}
    assert source.describe() == "cgroup v2 (cpu, memory)"
    assert set((mount / "app.slice" / "cgroup.subtree_control").read_text().split()) == {"+cpu", "+memory"}
    group = source.create()
    assert len(group.parts) == 1
    assert group.limits_cpu
    assert group.limits_memory
    path = Path(group.parts[0].path)
    group.set_cpu(1448)
    assert (path / "cpu.max").read_text() == "1448 20000"
    group.set_cpu(None)
    assert (path / "cpu.max").read_text() == "max 20000"
    group.set_weight()
    assert (path / "cpu.weight").read_text() == "10000"
    group.set_memory(128 << 20)
    assert (path / "memory.max").read_text() == str(128 << 20)
    assert (path / "memory.swap.max").read_text() == "0"
    assert (path / "memory.oom.group").read_text() == "1"  # an out-of-memory kill takes the whole group
    assert group.oom_kills() == 0
    (path / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    assert group.oom_kills() == 1
    (path / "cpu.stat").write_text("usage_usec 10\nnr_periods 50\nnr_throttled 49\n")
    assert group.cpu_stat()["nr_throttled"] == 49
    assert group.pids() == []
    assert not group.remove(limit_s=0.05)  # a plain directory with files in it is "busy"
    _empty(group)
    assert group.remove()
    assert not path.exists()


def test_detection_and_groups_on_v1_hierarchies(tmp_path: Path) -> None:
    cpu, memory = tmp_path / "cpu", tmp_path / "memory"
    (memory / "ours").mkdir(parents=True)
    cpu.mkdir()
    proc = _fake_proc(
        tmp_path,
        f"32 31 0:29 / {cpu} rw - cgroup cgroup rw,cpu\n35 31 0:32 / {memory} rw - cgroup cgroup rw,memory\n",
        "2:cpu:/\n4:memory:/ours\n",
    )
    source = _cgroup.detect(proc_root=proc)
    assert source.parents == {"cpu": (1, str(cpu)), "memory": (1, str(memory / "ours"))}
    group = source.create()
    assert len(group.parts) == 2  # a directory per hierarchy
    cpu_dir = Path(next(p.path for p in group.parts if "cpu" in p.controllers))
    memory_dir = Path(next(p.path for p in group.parts if "memory" in p.controllers))
    group.set_cpu(11577)
    assert (cpu_dir / "cpu.cfs_period_us").read_text() == "20000"
    assert (cpu_dir / "cpu.cfs_quota_us").read_text() == "11577"
    group.set_weight()
    assert (cpu_dir / "cpu.shares").read_text() == "262144"
    group.set_memory(256 << 20)
    assert (memory_dir / "memory.limit_in_bytes").read_text() == str(256 << 20)
    assert (memory_dir / "memory.memsw.limit_in_bytes").read_text() == str(256 << 20)
    (memory_dir / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
    assert group.oom_kills() == 2
    _empty(group)
    assert group.remove()
    assert not cpu_dir.exists()
    assert not memory_dir.exists()


def test_no_cgroup_mounts_means_no_limits(tmp_path: Path) -> None:
    proc = _fake_proc(tmp_path, "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n", "0::/\n")
    source = _cgroup.detect(proc_root=proc)
    assert source.parents == {}
    assert source.reasons["cpu"] == "no cgroup cpu controller is mounted"
    assert (
        _cgroup.detect(proc_root=str(tmp_path / "nowhere"))
        .reasons["memory"]
        .startswith("cannot read this process's control groups")
    )
