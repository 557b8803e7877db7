"""Lambda Managed Instances: several invocations at once in one execution environment.

With ``AWS_LAMBDA_MAX_CONCURRENCY=N`` the runtime client runs in its multi-concurrent
mode: the main process forks N worker processes *before* importing the handler,
and each worker does its own INIT (its own imports, its own module state, its own
INIT-time AWS calls: one ``GetSecretValue`` per worker for a secret fetched at INIT)
and then polls ``/next`` for invocations of its own. An environment therefore runs
up to N invocations at once.

:class:`ConcurrentEnvironment` is an :class:`~lambda_kit_dev.emulator._environment.Environment`
that hands events to whichever worker asks, keeps every invocation in flight apart
(by request id, with its own deadline), and ends INIT when every worker has asked
for its first event. Memory is reported for the environment as a whole: the
proportional set size (PSS) of the main process and its workers, so that pages the
workers share after the fork count once. A timed-out invocation does not end the
environment (its worker runs on, as on Managed Instances); its late response is
refused with 410 because it echoes another invocation id.

:class:`ManagedInstancesEmulator` schedules invocations on such environments: one
with room (fewer than N invocations in flight) if there is one, else a new
environment up to ``max_environments``, else a throttle.

Differences from Lambda: Managed Instances run Python 3.13 and later and require the
JSON log format; the emulator runs any interpreter with the function's log format.
Worker output shares the environment's pipe (Lambda sends it through a telemetry
socket), so with invocations overlapping, an invocation's ``output`` holds what the
environment wrote while it ran (a line is never split: each worker writes whole lines).
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import replace

from lambda_kit.exceptions import ConfigurationError
from lambda_kit_dev.emulator._emulator import Emulator, _encode, _retire
from lambda_kit_dev.emulator._environment import Environment, _closed_during_invocation, _Pending
from lambda_kit_dev.exceptions import EmulatorError, HandlerNotReadyError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from lambda_kit_dev.emulator._cgroup import Limits
    from lambda_kit_dev.emulator._config import FunctionConfig
    from lambda_kit_dev.emulator._report import Invocation

__all__ = ["MAX_CONCURRENCY_LIMIT", "ConcurrentEnvironment", "ManagedInstancesEmulator"]

MAX_CONCURRENCY_LIMIT = 64
"""The most worker processes per environment the emulator starts (each is a full INIT)."""

MEMORY_PER_VCPU_GIB = (2.0, 8.0)
"""The range of ``ExecutionEnvironmentMemoryGiBPerVCpu`` Lambda's API takes."""


class ConcurrentEnvironment(Environment):
    """One Managed Instances environment: a runtime with ``workers`` worker processes."""

    def __init__(self, config: FunctionConfig, workers: int, *, limits: Limits | None = None) -> None:
        env = {**config.env, "AWS_LAMBDA_MAX_CONCURRENCY": str(workers)}
        super().__init__(replace(config, env=env), limits=limits)
        self.workers = workers
        self._inflight: dict[str, _Pending] = {}
        self._gone: set[str] = set()  # request ids of timed-out invocations
        self._ready = 0  # workers that have asked for their first event
        self._spawn_lock = threading.Lock()
        self.memory_mb: int | None = None  # PSS of the runtime and its workers, last read

    @property
    def in_flight(self) -> int:
        """Invocations running here now."""
        with self._cond:
            return len(self._inflight)

    # -- runtime API side -------------------------------------------------------------

    def next_invocation(self) -> _Pending | None:
        """Block until an event is queued; INIT ends when every worker has asked once."""
        with self._cond:
            if self.init_duration_ms is None:
                self._ready += 1
                if self._ready >= self.workers:
                    self.init_duration_ms = (time.perf_counter() - self.spawned_at) * 1000.0
                    self._end_init()
                    self._read_peak()
                    self._cond.notify_all()
            # No event before every worker is ready: INIT is the environment's, as on Lambda.
            self._cond.wait_for(
                lambda: bool(self._queue) and (self.init_duration_ms is not None or self.dead or self.closed)
            )
            pending = self._queue.pop(0)
            if pending is None:
                self._queue.append(None)  # the environment is ending: release every worker
                return None
            pending.handed_out_at = time.perf_counter()
            pending.deadline_ms = int(time.time() * 1000 + self.config.timeout_s * 1000)
            return pending

    def stale(self, request_id: str, invocation_id: str | None) -> bool:
        with self._cond:
            if request_id in self._gone:  # the late response of a timed-out invocation
                self.stale_posts += 1
                return True
            pending = self._inflight.get(request_id)
            if pending is None:
                return False
            self.last_echo = (pending.invocation_id, invocation_id)
            if invocation_id is not None and invocation_id != pending.invocation_id:
                self.stale_posts += 1
                return True
            return False

    def finish(self, request_id: str | None, kind: str, body: bytes, content_type: str) -> bool:
        now = time.perf_counter()
        with self._cond:
            if kind == "init_error":  # a worker failed INIT: so does every invocation waiting for it
                self.init_failed = True
                if self.init_duration_ms is None:
                    self.init_duration_ms = (now - self.spawned_at) * 1000.0
                self._end_init()
                waiting = [
                    p for p in self._inflight.values() if p.handed_out_at is None and p.finished_at is None
                ]
            else:
                found = self._inflight.get(request_id or "")
                if found is None or found.finished_at is not None:
                    return False
                waiting = [found]
            output = self._output.take() if self._output else b""
            calls = self._calls.take() if self._calls else b""
            self._read_peak()
            for pending in waiting:
                pending.finished_at = now
                pending.kind = kind
                pending.body = body
                pending.response_content_type = content_type
                pending.output, output = output, b""
                pending.calls, calls = calls, b""
                pending.max_memory_mb = self.peak_mb
            self._cond.notify_all()
        return True

    def _read_peak(self) -> None:
        """The environment's memory now: PSS of the runtime and its workers (lock held)."""
        from lambda_kit_dev.emulator._supervisor import descendants

        pid = self.runtime_pid
        if pid is None or self.dead:
            return
        total_kib = 0
        for process in (pid, *descendants(pid)):
            total_kib += _pss_kib(process)
        if total_kib:
            self.memory_mb = max(1, round(total_kib / 1024))
            self.peak_mb = max(self.peak_mb or 0, self.memory_mb)
        else:
            super()._read_peak()

    # -- caller side -----------------------------------------------------------------

    def invoke(self, payload: bytes, content_type: str, *, tenant_id: str | None = None) -> Invocation:
        """Run one invocation; several may run at once (up to ``workers``)."""
        config = self.config
        pending = _Pending(str(uuid.uuid4()), payload, content_type, tenant_id)
        request_id = pending.request_id
        with self._spawn_lock:
            cold = self.process is None
            with self._cond:
                if self.dead or self.closed or self.init_failed:
                    raise HandlerNotReadyError("This execution environment has stopped.")
                self._inflight[request_id] = pending
            if cold:
                try:
                    self.spawn()
                except BaseException:
                    with self._cond:
                        self._inflight.pop(request_id, None)
                    raise

        def over() -> bool:
            return pending.finished_at is not None or self.dead or self.closed

        with self._cond:
            initialising = cold or self.init_duration_ms is None  # wait for INIT, not the timeout
            self._queue.append(pending)
            self._cond.notify_all()
            started = self._cond.wait_for(
                lambda: pending.handed_out_at is not None or over(),
                timeout=config.init_timeout_s if initialising else config.timeout_s,
            )
            if started and pending.handed_out_at is not None and not over():
                remaining = pending.handed_out_at + config.timeout_s - time.perf_counter()
                self._cond.wait_for(over, timeout=max(0.0, remaining))
            self._inflight.pop(request_id, None)
            if pending in self._queue:
                self._queue.remove(pending)
            finished = pending.finished_at is not None
            interrupted = not finished and self.closed
            timed_out = not finished and not self.dead and not self.closed
            if timed_out and pending.handed_out_at is not None:
                self._gone.add(request_id)  # its worker runs on; its response will be refused
        if interrupted:
            raise _closed_during_invocation(request_id)
        if not finished:
            if timed_out and pending.handed_out_at is None:  # INIT overran: the environment fails
                self.kill_group()
                self._collect(pending)
            elif not timed_out:
                self._collect(pending)
            else:
                with self._cond:
                    pending.output = self._output.take() if self._output else b""
                    pending.calls = self._calls.take() if self._calls else b""
        return self._outcome(pending, cold=cold, timed_out=timed_out)


def _pss_kib(pid: int) -> int:
    """A process's proportional set size in KiB (0 where /proc cannot say)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as rollup:
            for line in rollup:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return 0
    return 0


class ManagedInstancesEmulator(Emulator):
    """An :class:`~lambda_kit_dev.emulator.Emulator` of Lambda Managed Instances.

    Args:
        handler: ``module.function``.
        max_concurrency: ``AWS_LAMBDA_MAX_CONCURRENCY``: invocations at once per
            environment, one worker process each (1 to :data:`MAX_CONCURRENCY_LIMIT`).
        memory_per_vcpu_gib: The capacity provider's ``ExecutionEnvironmentMemoryGiBPerVCpu``
            (2.0 to 8.0; AWS documents ratios of 2, 4 and 8 GiB per vCPU): with
            ``limits`` on, an environment gets ``memory_mb / 1024 / memory_per_vcpu_gib``
            vCPUs, during INIT too (no INIT boost: the instance's vCPUs are the
            environment's), and ``memory_mb`` for the runtime and all its workers.
        options: As for :class:`~lambda_kit_dev.emulator.Emulator`;
            ``max_environments`` caps the environments (concurrency is
            ``max_environments * max_concurrency``).

    Example:
        >>> with ManagedInstancesEmulator("app.handler", max_concurrency=4) as fn:  # doctest: +SKIP
        ...     results = fn.invoke_all([{}] * 8, concurrency=8)
    """

    def __init__(
        self, handler: str, *, max_concurrency: int, memory_per_vcpu_gib: float = 2.0, **options: Any
    ) -> None:
        if not isinstance(max_concurrency, int) or not 1 <= max_concurrency <= MAX_CONCURRENCY_LIMIT:
            raise ConfigurationError(
                f"Invalid max_concurrency={max_concurrency!r}; expected 1 to {MAX_CONCURRENCY_LIMIT} "
                "(AWS_LAMBDA_MAX_CONCURRENCY: worker processes per environment).",
                setting="max_concurrency",
                value=max_concurrency,
            )
        if options.get("tenant_isolation"):
            raise ConfigurationError(
                "Tenant isolation is not modelled for Managed Instances here: an environment "
                "serving several invocations at once would serve several tenants.",
                setting="tenant_isolation",
                value=True,
            )
        low, high = MEMORY_PER_VCPU_GIB
        if (
            not isinstance(memory_per_vcpu_gib, (int, float))
            or isinstance(memory_per_vcpu_gib, bool)
            or not low <= memory_per_vcpu_gib <= high
        ):
            raise ConfigurationError(
                f"Invalid memory_per_vcpu_gib={memory_per_vcpu_gib!r}; expected {low:g} to {high:g} "
                "(ExecutionEnvironmentMemoryGiBPerVCpu).",
                setting="memory_per_vcpu_gib",
                value=memory_per_vcpu_gib,
            )
        super().__init__(handler, **options)
        from lambda_kit_dev.emulator._cgroup import Limits

        self.memory_per_vcpu_gib = float(memory_per_vcpu_gib)
        memory_mb = self.config.memory_mb
        vcpus = memory_mb / 1024 / self.memory_per_vcpu_gib
        self.limits = Limits(memory_mb, enabled=self.limits.enabled, init_boost=False, vcpus=vcpus)
        self.max_concurrency = max_concurrency
        self._pool: list[ConcurrentEnvironment] = []
        self._load: dict[ConcurrentEnvironment, int] = {}

    def _create_environment(self) -> Environment:
        return ConcurrentEnvironment(self.config, self.max_concurrency, limits=self.limits)

    @property
    def environments(self) -> int:
        with self._lock:
            return len(self._pool)

    def invoke(
        self,
        event: Any = None,
        *,
        payload: bytes | str | None = None,
        fresh: bool = False,
        tenant_id: str | None = None,
    ) -> Invocation:
        """Invoke in an environment with room for one more invocation (see the class)."""
        self._check_tenant(tenant_id)  # no tenant isolation here: a tenant id is refused
        data = _encode(event, payload)
        environment = self._acquire_slot(fresh)
        try:
            invocation = environment.invoke(data, "application/json")
        finally:
            self._release_slot(environment)
        if self.echo is not None:
            self.echo.write(invocation.log)
            self.echo.flush()
        return invocation

    def _acquire_slot(self, fresh: bool) -> ConcurrentEnvironment:
        retired: list[Environment] = []
        with self._lock:
            if self._closed:
                raise EmulatorError("This emulator is closed; create a new one.")
            if not self._pool:
                self._prepare_aws()
            for environment in list(self._pool):
                if not environment.reusable and self._load[environment] == 0:
                    self._pool.remove(environment)
                    del self._load[environment]
                    retired.append(environment)
            room = [e for e in self._pool if e.reusable and self._load[e] < self.max_concurrency]
            if room and not fresh:
                chosen = max(room, key=lambda e: self._load[e])  # fill one before the next
            elif len(self._pool) >= self.max_environments:
                raise EmulatorError(
                    f"Rate exceeded: all {self.max_environments} environments run "
                    f"{self.max_concurrency} invocations each.",
                    code="TooManyRequestsException",
                    max_environments=self.max_environments,
                )
            else:
                chosen = ConcurrentEnvironment(self.config, self.max_concurrency, limits=self.limits)
                self._pool.append(chosen)
                self._load[chosen] = 0
            self._load[chosen] += 1
        if retired:
            _retire(retired)
        return chosen

    def _release_slot(self, environment: ConcurrentEnvironment) -> None:
        with self._lock:
            self._load[environment] -= 1
            if environment.reusable or self._load[environment] > 0:
                return
            self._pool.remove(environment)
            del self._load[environment]
        _retire([environment])

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, []
            self._load.clear()
        _retire(list(pool), wait=True)
        super().close()
