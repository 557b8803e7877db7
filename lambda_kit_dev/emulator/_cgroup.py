"""Lambda's CPU share and memory limit for each execution environment, through cgroups (internal).

Lambda gives a function CPU in proportion to its memory: at 1,769 MB the equivalent
of one vCPU, so a function runs on ``memory_mb / 1769`` of a core (7.2 % at 128 MB,
5.79 vCPUs at 10,240 MB). During INIT, published measurements show more: the
environment's two vCPUs, unthrottled, up to 3,008 MB (see docs/tuning.md). This
module models both with a Linux control group per environment:

* CPU: a CFS bandwidth quota (cgroup v2 ``cpu.max``, v1 ``cpu.cfs_quota_us`` /
  ``cpu.cfs_period_us``) of ``share x period`` per 20 ms period, and the highest
  weight, so that other processes on the machine cannot take the share away (the
  quota caps it; the weight guarantees it). Quotas are not exact, so each share is
  *calibrated* once per process: a CPU-bound reference runs under the quota, its CPU
  time over wall time is the share achieved, and the quota is corrected until that
  is within 5 % of the target (:func:`calibrate`).
* Memory: a hard limit of ``memory_mb`` MiB (v2 ``memory.max``, no swap; v1
  ``memory.limit_in_bytes`` and ``memory.memsw.limit_in_bytes``). Past it the
  kernel kills the runtime, which the emulator reports as Lambda does
  (``Runtime.OutOfMemory``).

Which hierarchy is usable is found once per process (:func:`backend`): cgroup v2
where this process may create a child group with the ``cpu`` / ``memory``
controllers (root, or a systemd delegation, or the directory that
``LAMBDA_KIT_CGROUP`` names), else cgroup v1 under this process's own groups. Where
neither is (macOS, no rights), environments run unlimited and every report says
so (:attr:`Limits.notice`).

Every group is named ``lambda-kit-<pid>-<n>`` and removed with its environment; the
ones an emulator leaves when it is killed are removed by the next process that
probes (their pid is gone), and an ``atexit`` hook removes what is left at exit.
"""

from __future__ import annotations

import atexit
import math
import os
import signal
import subprocess
import sys
import threading
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

VCPU_MB = 1769  # "At 1,769 MB, a function has the equivalent of one vCPU" (AWS Lambda docs)
INIT_VCPUS = 2.0  # INIT runs on the environment's two vCPUs unthrottled, up to 3,008 MB (measured)
INIT_BOOST_UP_TO_MB = 3008
PERIOD_US = 20_000
MIN_QUOTA_US = 1_000  # the kernel refuses a smaller quota
TOLERANCE = 0.05  # calibrate to within 5 % (the issue asks for 10 %: margin for noise)
WINDOW_S = 0.5  # one calibration measurement: 25 periods
ATTEMPTS = 5
PREFIX = "lambda-kit-"
LIMITS_OFF = "CPU and memory not limited (limits off)"
V1_MAX_SHARES = 262_144
V2_MAX_WEIGHT = 10_000


def cpu_share(memory_mb: int) -> float:
    """Lambda's CPU share for a memory size, in vCPUs: ``memory_mb / 1769``."""
    return memory_mb / VCPU_MB


def init_share(memory_mb: int, *, boost: bool = True) -> float:
    """The share during INIT: two vCPUs up to 3,008 MB with ``boost``, else :func:`cpu_share`."""
    share = cpu_share(memory_mb)
    if boost and memory_mb <= INIT_BOOST_UP_TO_MB:
        return max(share, INIT_VCPUS)
    return share


def usable_cpus() -> int:
    """How many CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def quota_us(share: float, period_us: int = PERIOD_US) -> int:
    """The CFS quota for ``share`` vCPUs per period (at least the kernel's 1 ms)."""
    return max(MIN_QUOTA_US, round(share * period_us))


# -- reading the kernel's files ---------------------------------------------------------


def parse_proc_cgroup(text: str) -> dict[str, str]:
    """``/proc/<pid>/cgroup`` as controller -> path; ``""`` keys the v2 hierarchy.

    Lines are ``id:controllers:path`` (the path may hold ``:``); malformed lines are
    skipped. Named v1 hierarchies (``name=systemd``) are kept under their name.
    """
    found: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3 or not parts[0].isdigit() or not parts[2].startswith("/"):
            continue
        if parts[0] == "0" and parts[1] == "":
            found[""] = parts[2]
            continue
        for controller in parts[1].split(","):
            if controller:
                found[controller] = parts[2]
    return found


def _unescape_mount(field: str) -> str:
    """Undo mountinfo's octal escapes (``\\040`` for a space and so on)."""
    out: list[str] = []
    i = 0
    while i < len(field):
        if field[i] == "\\" and i + 3 < len(field) and field[i + 1 : i + 4].isdigit():
            try:
                out.append(chr(int(field[i + 1 : i + 4], 8)))
                i += 4
                continue
            except ValueError:
                pass
        out.append(field[i])
        i += 1
    return "".join(out)


def parse_mountinfo(text: str) -> dict[str, tuple[str, str]]:
    """cgroup mounts in ``/proc/self/mountinfo``: controller -> (mount point, root).

    The v2 hierarchy is keyed ``""``; each v1 controller by its name (``cpu``,
    ``memory``...). Malformed lines are skipped.
    """
    found: dict[str, tuple[str, str]] = {}
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if not sep or len(fields) < 5 or len(tail) < 3:
            continue
        root, point = _unescape_mount(fields[3]), _unescape_mount(fields[4])
        if tail[0] == "cgroup2":
            found.setdefault("", (point, root))
        elif tail[0] == "cgroup":
            for option in tail[2].split(","):
                if option in ("cpu", "memory"):
                    found.setdefault(option, (point, root))
    return found


def _read(path: str) -> str:
    with open(path, encoding="ascii", errors="replace") as file:
        return file.read()


def _write(path: str, value: str) -> None:
    with open(path, "w", encoding="ascii") as file:
        file.write(value)


def _keyed(text: str) -> dict[str, int]:
    """``key value`` lines (cpu.stat, memory.events, memory.oom_control) as a dict."""
    found: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            found[parts[0]] = int(parts[1])
    return found


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# -- one group --------------------------------------------------------------------------


class _Part:
    """One directory of a group: a v1 controller's, or the v2 group (both controllers)."""

    def __init__(self, version: int, path: str, controllers: frozenset[str]) -> None:
        self.version = version
        self.path = path
        self.controllers = controllers


class Group:
    """One control group (a directory per hierarchy): what an environment runs in."""

    def __init__(self, parts: list[_Part]) -> None:
        self.parts = parts
        self.removed = False

    def _part(self, controller: str) -> _Part | None:
        return next((p for p in self.parts if controller in p.controllers), None)

    @property
    def limits_cpu(self) -> bool:
        return self._part("cpu") is not None

    @property
    def limits_memory(self) -> bool:
        return self._part("memory") is not None

    def set_cpu(self, quota: int | None, period: int = PERIOD_US) -> None:
        """A quota of ``quota`` µs per ``period`` (None: no quota), at the highest weight."""
        part = self._part("cpu")
        if part is None:
            return
        if part.version == 2:
            _write(f"{part.path}/cpu.max", f"{'max' if quota is None else quota} {period}")
            return
        # v1 refuses a quota above what the period allows only when shrinking the
        # period below it: set the quota off first.
        _write(f"{part.path}/cpu.cfs_quota_us", "-1")
        _write(f"{part.path}/cpu.cfs_period_us", str(period))
        if quota is not None:
            _write(f"{part.path}/cpu.cfs_quota_us", str(quota))

    def set_weight(self) -> None:
        """The highest CPU weight: the quota is what limits the group, not other processes."""
        part = self._part("cpu")
        if part is None:
            return
        try:
            if part.version == 2:
                _write(f"{part.path}/cpu.weight", str(V2_MAX_WEIGHT))
            else:
                _write(f"{part.path}/cpu.shares", str(V1_MAX_SHARES))
        except OSError:  # a weight is a refinement; the quota still holds
            pass

    def set_memory(self, limit_bytes: int) -> None:
        """A hard memory limit, without swap; in v2 an out-of-memory kill takes the whole group."""
        part = self._part("memory")
        if part is None:
            return
        if part.version == 2:
            _write(f"{part.path}/memory.max", str(limit_bytes))
            for name, value in (("memory.swap.max", "0"), ("memory.oom.group", "1")):
                try:
                    _write(f"{part.path}/{name}", value)
                except OSError:  # no swap controller, or an older kernel
                    pass
            return
        _write(f"{part.path}/memory.limit_in_bytes", str(limit_bytes))
        try:  # memsw >= limit; present only with swap accounting
            _write(f"{part.path}/memory.memsw.limit_in_bytes", str(limit_bytes))
        except OSError:
            pass

    def add(self, pid: int) -> None:
        """Move process ``pid`` into the group (every hierarchy)."""
        for part in self.parts:
            _write(f"{part.path}/cgroup.procs", str(pid))

    def oom_kills(self) -> int:
        """How many processes the kernel killed here for going past the memory limit."""
        part = self._part("memory")
        if part is None:
            return 0
        name = "memory.events" if part.version == 2 else "memory.oom_control"
        try:
            return _keyed(_read(f"{part.path}/{name}")).get("oom_kill", 0)
        except OSError:
            return 0

    def cpu_stat(self) -> dict[str, int]:
        """``cpu.stat`` (``nr_periods``, ``nr_throttled``...); empty without the cpu controller."""
        part = self._part("cpu")
        if part is None:
            return {}
        try:
            return _keyed(_read(f"{part.path}/cpu.stat"))
        except OSError:
            return {}

    def pids(self) -> list[int]:
        """The processes in the group (any hierarchy)."""
        found: set[int] = set()
        for part in self.parts:
            try:
                found.update(int(line) for line in _read(f"{part.path}/cgroup.procs").split())
            except (OSError, ValueError):
                continue
        return sorted(found)

    def remove(self, *, limit_s: float = 5.0) -> bool:
        """Kill what still runs in the group, then remove its directories; True when gone."""
        if self.removed:
            return True
        deadline = time.monotonic() + limit_s
        while True:
            pids = self.pids()
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            left = False
            for part in self.parts:
                try:
                    os.rmdir(part.path)
                except FileNotFoundError:
                    pass
                except OSError:  # busy: a killed process not yet reaped by its parent
                    left = True
            if not left:
                self.removed = True
                _LIVE.discard(self)
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)


_LIVE: set[Group] = set()
_LIVE_LOCK = threading.Lock()
_COUNTER = iter(range(1, 1 << 62))


_AT_EXIT: list[bool] = []


def _remove_live() -> None:  # pragma: no cover - runs at interpreter exit
    for group in list(_LIVE):
        group.remove(limit_s=1.0)


# -- finding a usable hierarchy ---------------------------------------------------------


class Backend:
    """Where this process can create groups: a parent directory per controller."""

    def __init__(self, parents: dict[str, tuple[int, str]], reasons: dict[str, str]) -> None:
        self.parents = parents  # controller -> (version, parent directory)
        self.reasons = reasons  # controller -> why it cannot be limited

    @property
    def cpu(self) -> bool:
        return "cpu" in self.parents

    @property
    def memory(self) -> bool:
        return "memory" in self.parents

    def describe(self) -> str:
        """Which hierarchy limits what, e.g. ``cgroup v1 (cpu, memory)``."""
        versions = sorted({version for version, _ in self.parents.values()})
        return " + ".join(
            f"cgroup v{v} ({', '.join(sorted(c for c, (cv, _) in self.parents.items() if cv == v))})"
            for v in versions
        )

    def create(self, tag: str = "") -> Group:
        """A new group under every usable parent (one directory for v2's two controllers)."""
        name = f"{PREFIX}{os.getpid()}-{next(_COUNTER)}{tag}"
        by_dir: dict[tuple[int, str], set[str]] = {}
        for controller, key in self.parents.items():
            by_dir.setdefault(key, set()).add(controller)
        parts: list[_Part] = []
        group = Group(parts)
        with _LIVE_LOCK:
            if not _AT_EXIT:  # registered with the first group, not at import
                _AT_EXIT.append(True)
                atexit.register(_remove_live)
            _LIVE.add(group)
        try:
            for (version, parent), controllers in sorted(by_dir.items()):
                path = os.path.join(parent, name)
                os.mkdir(path)
                parts.append(_Part(version, path, frozenset(controllers)))
        except OSError:
            group.remove(limit_s=0.5)
            raise
        return group


def _v2_parent(mount: str, own: str, need: Iterable[str]) -> tuple[str | None, str]:
    """The nearest cgroup v2 directory, from this process's own up, that can hold a
    child group with the ``need`` controllers; (None, why not) when there is none."""
    need = set(need)
    directory = os.path.normpath(mount + own)
    reason = "no cgroup v2 directory with the cpu and memory controllers is writable"
    while directory.startswith(os.path.normpath(mount)):
        try:
            enabled = set(_read(f"{directory}/cgroup.subtree_control").split())
            available = set(_read(f"{directory}/cgroup.controllers").split())
        except OSError:
            enabled, available = set(), set()
        if need <= enabled and os.access(directory, os.W_OK):
            return directory, ""
        if need <= available and os.access(f"{directory}/cgroup.subtree_control", os.W_OK):
            # Enabling controllers for children needs a group without processes of its
            # own (cgroup v2's "no internal processes" rule), except at the root.
            try:
                _write(f"{directory}/cgroup.subtree_control", " ".join(f"+{c}" for c in sorted(need)))
                return directory, ""
            except OSError:
                pass
        if not need <= available:
            reason = f"cgroup v2 has no {' and '.join(sorted(need - available))} controller here"
        if directory == os.path.normpath(mount):
            break
        directory = os.path.dirname(directory)
    return None, reason


def _probe(version: int, parent: str, controllers: set[str]) -> str | None:
    """Create, configure and remove a group under ``parent``; None when that works."""
    path = os.path.join(parent, f"{PREFIX}{os.getpid()}-probe-{next(_COUNTER)}")
    try:
        os.mkdir(path)
    except OSError as error:
        return f"cannot create a group under {parent}: {error.strerror}"
    problem = None
    try:
        group = Group([_Part(version, path, frozenset(controllers))])
        if "cpu" in controllers:
            group.set_cpu(quota_us(0.5))
        if "memory" in controllers:
            group.set_memory(256 << 20)
    except OSError as error:
        problem = f"cannot configure a group under {parent}: {error.strerror}"
    try:
        os.rmdir(path)
    except OSError:
        pass
    return problem


def sweep_stale(parent: str) -> int:
    """Remove groups under ``parent`` left by emulator processes that are gone; how many."""
    removed = 0
    try:
        names = os.listdir(parent)
    except OSError:
        return 0
    for name in names:
        if not name.startswith(PREFIX):
            continue
        owner = name[len(PREFIX) :].partition("-")[0]
        if not owner.isdigit() or _pid_alive(int(owner)):
            continue
        path = os.path.join(parent, name)
        if not os.path.isdir(path):
            continue
        try:
            version = 2 if os.path.exists(os.path.join(path, "cgroup.controllers")) else 1
        except OSError:
            continue
        if Group([_Part(version, path, frozenset())]).remove(limit_s=1.0):
            removed += 1
    return removed


_BACKEND: Backend | None = None
_BACKEND_LOCK = threading.Lock()


def detect(
    *, proc_root: str = "/proc", delegated: str | None = None, platform: str = sys.platform
) -> Backend:
    """Find where this process can limit CPU and memory (see the module docstring).

    ``delegated`` (else ``LAMBDA_KIT_CGROUP``) names a cgroup v2 directory to create
    groups under, such as one systemd delegated to the user.
    """
    if not platform.startswith("linux"):
        reason = f"CPU and memory limits need Linux control groups; this is {platform}"
        return Backend({}, {"cpu": reason, "memory": reason})
    if delegated is None:
        delegated = os.environ.get("LAMBDA_KIT_CGROUP") or None
    parents: dict[str, tuple[int, str]] = {}
    reasons: dict[str, str] = {}
    if delegated is not None:
        for controller in ("cpu", "memory"):
            problem = _probe(2, delegated, {controller})
            if problem is None:
                parents[controller] = (2, delegated)
            else:
                reasons[controller] = f"LAMBDA_KIT_CGROUP={delegated}: {problem}"
        return _swept(Backend(parents, reasons))
    try:
        mounts = parse_mountinfo(_read(f"{proc_root}/self/mountinfo"))
        own = parse_proc_cgroup(_read(f"{proc_root}/self/cgroup"))
    except OSError as error:
        reason = f"cannot read this process's control groups: {error.strerror}"
        return Backend({}, {"cpu": reason, "memory": reason})
    if "" in mounts and "" in own:
        point, root = mounts[""]
        relative = _relative(own[""], root)
        for need in (("cpu", "memory"), ("memory",), ("cpu",)):
            if all(c in parents for c in need):
                continue
            directory, why = _v2_parent(point, relative, need)
            if directory is None:
                for controller in need:
                    reasons.setdefault(controller, why)
                continue
            if _probe(2, directory, set(need)) is None:
                for controller in need:
                    parents.setdefault(controller, (2, directory))
    for controller in ("cpu", "memory"):
        if controller in parents or controller not in mounts or controller not in own:
            if controller not in parents and controller not in mounts:
                reasons.setdefault(controller, f"no cgroup {controller} controller is mounted")
            continue
        point, root = mounts[controller]
        relative = _relative(own[controller], root)
        parent = os.path.normpath(point + relative)
        problem = _probe(1, parent, {controller})
        if problem is None:
            parents[controller] = (1, parent)
            reasons.pop(controller, None)
        else:
            reasons[controller] = problem
    return _swept(Backend(parents, reasons))


def _relative(path: str, root: str) -> str:
    """A group's path below its mount's root (a mount of a sub-tree, as in a container)."""
    if root not in ("", "/") and (path == root or path.startswith(root + "/")):
        return path[len(root) :] or "/"
    return path


def _swept(backend: Backend) -> Backend:
    for _, parent in set(backend.parents.values()):
        sweep_stale(parent)
    for controller in backend.parents:
        backend.reasons.pop(controller, None)
    return backend


def unavailable() -> list[str]:
    """What of Lambda's limits this process cannot apply, one sentence each ([] for none)."""
    source = backend()
    names = {"cpu": "CPU", "memory": "memory"}
    return [
        f"{names[controller]} not limited: {source.reasons.get(controller, 'no rights')}"
        for controller in names
        if controller not in source.parents
    ]


def backend() -> Backend:
    """This process's :func:`detect` result, found once."""
    global _BACKEND
    with _BACKEND_LOCK:
        if _BACKEND is None:
            _BACKEND = detect()
        return _BACKEND


# -- calibration ------------------------------------------------------------------------

# A CPU-bound reference: joins the group, spins for WINDOW seconds of wall time, and
# prints its CPU time and wall time. -I -S: no site, nothing of the user's.
_SPINNER = """\
import os, sys, time
for path in sys.argv[2:]:
    with open(path, "w") as f:
        f.write(str(os.getpid()))
window = float(sys.argv[1])
wall0 = time.monotonic(); cpu0 = time.process_time()
while time.monotonic() - wall0 < window:
    pass
print(time.process_time() - cpu0, time.monotonic() - wall0)
"""


class Calibration:
    """A share's calibrated quota and the share it achieved.

    Attributes:
        target: The share asked for, in vCPUs.
        quota_us: The quota per :data:`PERIOD_US` that achieves it (None: no quota,
            when the share is at least the CPUs this machine has).
        achieved: The share a CPU-bound reference achieved under that quota (its CPU
            time over wall time), in vCPUs.
        capped: The target is more than this machine's CPUs; ``achieved`` is what it has.
        contended: The reference did not get its quota (the machine was too busy):
            ``achieved`` is below the target for that reason.
    """

    def __init__(
        self, target: float, quota: int | None, achieved: float, *, capped: bool, contended: bool
    ) -> None:
        self.target = target
        self.quota_us = quota
        self.achieved = achieved
        self.capped = capped
        self.contended = contended

    def __repr__(self) -> str:
        return (
            f"Calibration(target={self.target:.4f}, quota_us={self.quota_us}, "
            f"achieved={self.achieved:.4f}, capped={self.capped}, contended={self.contended})"
        )


_CALIBRATED: dict[float, Calibration] = {}
_CALIBRATION_LOCK = threading.Lock()


def measure(group: Group, spinners: int, window_s: float = WINDOW_S) -> tuple[float, float]:
    """Run ``spinners`` CPU-bound references in ``group``: (share achieved, share of periods throttled)."""
    procs = [p.path + "/cgroup.procs" for p in group.parts if "cpu" in p.controllers]
    before = group.cpu_stat()
    children = [
        subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _SPINNER, str(window_s), *procs],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={},
        )
        for _ in range(spinners)
    ]
    share = 0.0
    for child in children:
        out, _ = child.communicate(timeout=60)
        cpu, wall = (float(x) for x in out.split())
        share += cpu / wall if wall > 0 else 0.0
    after = group.cpu_stat()
    periods = after.get("nr_periods", 0) - before.get("nr_periods", 0)
    throttled = after.get("nr_throttled", 0) - before.get("nr_throttled", 0)
    return share, (throttled / periods if periods > 0 else 0.0)


def calibrate(target: float, *, source: Backend | None = None, window_s: float = WINDOW_S) -> Calibration:
    """The quota that gives a CPU-bound process ``target`` vCPUs here, found once per process.

    Starting from ``target x period``, a reference runs ``window_s`` under the quota
    and the quota is scaled by target / achieved until the achieved share is within
    :data:`TOLERANCE` (at most :data:`ATTEMPTS` times). The group has the highest
    weight, so other processes do not take the share away; when the reference still
    was not throttled in most periods, the machine could not give it its quota and the
    result is marked ``contended`` instead of raising the quota further.
    """
    source = source or backend()
    key = round(target, 6)
    with _CALIBRATION_LOCK:
        known = _CALIBRATED.get(key)
        if known is not None:
            return known
        cpus = usable_cpus()
        if target >= cpus:
            result = Calibration(target, None, float(cpus), capped=True, contended=False)
            _CALIBRATED[key] = result
            return result
        if not source.cpu:
            raise OSError("no cgroup cpu controller is usable here")
        spinners = max(1, math.ceil(target))
        group = source.create("-cal")
        try:
            group.set_weight()
            quota = quota_us(target)
            achieved, contended = 0.0, False
            for _ in range(ATTEMPTS):
                group.set_cpu(quota)
                achieved, throttled = measure(group, spinners, window_s)
                if abs(achieved / target - 1) <= TOLERANCE:
                    break
                if achieved < target and throttled < 0.5:
                    contended = True
                    break
                quota = max(MIN_QUOTA_US, round(quota * target / max(achieved, 1e-6)))
            result = Calibration(target, quota, achieved, capped=False, contended=contended)
        finally:
            group.remove()
        if not contended:
            _CALIBRATED[key] = result
        return result


# -- what an emulator uses --------------------------------------------------------------


class Limits:
    """Lambda's limits for one function's environments (one per emulator).

    ``enabled=False`` runs unlimited by choice; otherwise what the platform allows is
    applied and :attr:`notice` says what is not. ``vcpus`` replaces Lambda's share for
    ``memory_mb`` (Managed Instances set it by their memory-per-vCPU ratio); INIT then
    runs at the same share.
    """

    def __init__(
        self, memory_mb: int, *, enabled: bool, init_boost: bool = True, vcpus: float | None = None
    ) -> None:
        self.memory_mb = memory_mb
        self.enabled = enabled
        self.init_boost = init_boost
        self.vcpus = vcpus
        self._lock = threading.Lock()
        self._prepared = False
        self._backend: Backend | None = None
        self.invoke: Calibration | None = None
        self.init: Calibration | None = None
        self.notice: str | None = None if enabled else LIMITS_OFF

    def prepare(self) -> None:
        """Detect the platform and calibrate the shares (once; safe from any thread)."""
        with self._lock:
            if self._prepared or not self.enabled:
                self._prepared = True
                return
            self._prepared = True
            source = backend()
            self._backend = source
            notes: list[str] = []
            if source.cpu:
                try:
                    if self.vcpus is not None:
                        self.invoke = self.init = calibrate(self.vcpus, source=source)
                    else:
                        self.invoke = calibrate(cpu_share(self.memory_mb), source=source)
                        init = init_share(self.memory_mb, boost=self.init_boost)
                        self.init = calibrate(init, source=source)
                except (OSError, ValueError, subprocess.SubprocessError) as error:
                    notes.append(f"CPU not limited: calibration failed ({error})")
                    self.invoke = self.init = None
            else:
                notes.append(f"CPU not limited: {source.reasons.get('cpu', 'no cgroup rights')}")
            if not source.memory:
                notes.append(f"memory not limited: {source.reasons.get('memory', 'no cgroup rights')}")
            if self.invoke is not None and self.invoke.capped:
                notes.append(
                    f"CPU share capped at this machine's {usable_cpus()} CPUs "
                    f"(Lambda gives {self.invoke.target:.2f} vCPUs at {self.memory_mb} MB)"
                )
            if self.invoke is not None and self.invoke.contended:
                notes.append(
                    f"CPU share {self.invoke.achieved:.3f} of {self.invoke.target:.3f} vCPUs: "
                    "the machine is too busy to give more"
                )
            self.notice = "; ".join(notes) or None

    @property
    def cpu_share(self) -> float | None:
        """The share achieved during invocations (calibrated), None when CPU is not limited."""
        return None if self.invoke is None else self.invoke.achieved

    def enter(self, pid: int, *, init: bool = True, memory_bytes: int | None = None) -> Group | None:
        """A group for a new environment, with INIT's CPU quota and the memory limit, holding ``pid``.

        None when limits are off or unavailable. The process's children (the runtime
        it starts) are born in the group. ``init=False`` gives the invocations' quota
        at once; ``memory_bytes`` replaces the limit of ``memory_mb``.
        """
        self.prepare()
        source = self._backend
        if source is None or not (self.invoke is not None or source.memory):
            return None
        try:
            group = source.create()
        except OSError as error:
            self._failed(f"cannot create a control group: {error.strerror}")
            return None
        try:
            share = self.init if init else self.invoke
            if share is not None:
                group.set_weight()
                group.set_cpu(share.quota_us)
            if source.memory:
                group.set_memory(self.memory_mb << 20 if memory_bytes is None else memory_bytes)
            group.add(pid)
        except OSError as error:
            group.remove(limit_s=1.0)
            self._failed(f"cannot configure a control group: {error.strerror}")
            return None
        return group

    def _failed(self, why: str) -> None:
        with self._lock:
            note = f"CPU and memory not limited in an environment: {why}"
            if self.notice is None or note not in self.notice:
                self.notice = note if self.notice is None else f"{self.notice}; {note}"

    def end_init(self, group: Group) -> None:
        """Switch ``group`` from INIT's share to the invocations' share."""
        if self.invoke is not None and self.init is not None and self.invoke.quota_us != self.init.quota_us:
            try:
                group.set_cpu(self.invoke.quota_us)
            except OSError as error:
                self._failed(f"cannot set the invocations' CPU quota: {error.strerror}")
