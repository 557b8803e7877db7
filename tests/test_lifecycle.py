"""lambda_kit.lifecycle: cold-start tracking and SnapStart hooks."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from lambda_kit import lifecycle
from lambda_kit.exceptions import LifecycleHookError
from lambda_kit.testing import FakeContext, reset_lifecycle, simulate_restore, simulate_snapshot


@pytest.fixture(autouse=True)
def _fresh_environment() -> Iterator[None]:
    """Every test starts (and leaves) a fresh execution environment."""
    reset_lifecycle()
    yield
    reset_lifecycle()


@lifecycle.track_invocations
def report_cold(event: Any, context: Any) -> bool:
    return lifecycle.is_cold_start()


# -- cold start -------------------------------------------------------------------------


def test_cold_during_init() -> None:
    assert lifecycle.is_cold_start() is True


def test_first_invocation_is_cold_and_second_is_warm() -> None:
    assert report_cold({}, FakeContext(request_id="req-1")) is True
    assert report_cold({}, FakeContext(request_id="req-2")) is False
    assert report_cold({}, FakeContext(request_id="req-3")) is False


def test_cold_throughout_the_first_invocation() -> None:
    seen: list[bool] = []

    @lifecycle.track_invocations
    def handler(event: Any, context: Any) -> None:
        seen.append(lifecycle.is_cold_start())
        seen.append(lifecycle.is_cold_start())

    handler({}, FakeContext(request_id="req-1"))
    handler({}, FakeContext(request_id="req-2"))

    assert seen == [True, True, False, False]


def test_first_invocation_that_raises_is_still_the_cold_start() -> None:
    seen: list[bool] = []

    @lifecycle.track_invocations
    def handler(event: Any, context: Any) -> str:
        seen.append(lifecycle.is_cold_start())
        if event.get("fail"):
            raise RuntimeError("first invocation failed")
        return "ok"

    with pytest.raises(RuntimeError, match="first invocation failed"):
        handler({"fail": True}, FakeContext(request_id="req-1"))
    assert handler({}, FakeContext(request_id="req-2")) == "ok"

    assert seen == [True, False]


def test_same_request_id_started_twice_counts_once() -> None:
    # Two lambda-kit decorators on one handler start the same request id twice.
    @lifecycle.track_invocations
    @lifecycle.track_invocations
    def handler(event: Any, context: Any) -> bool:
        return lifecycle.is_cold_start()

    assert handler({}, FakeContext(request_id="req-1")) is True
    assert handler({}, FakeContext(request_id="req-2")) is False


def test_start_and_end_invocation_directly() -> None:
    outer = lifecycle.start_invocation("req-1")
    inner = lifecycle.start_invocation("req-1")
    assert lifecycle.is_cold_start() is True
    lifecycle.end_invocation(inner)
    assert lifecycle.is_cold_start() is True  # still inside req-1
    lifecycle.end_invocation(outer)

    token = lifecycle.start_invocation("req-2")
    try:
        assert lifecycle.is_cold_start() is False
    finally:
        lifecycle.end_invocation(token)


def test_outside_any_invocation_after_the_first_started() -> None:
    report_cold({}, FakeContext(request_id="req-1"))
    assert lifecycle.is_cold_start() is False


def test_other_thread_outside_an_invocation_is_not_cold() -> None:
    in_thread: list[bool] = []

    @lifecycle.track_invocations
    def handler(event: Any, context: Any) -> bool:
        thread = threading.Thread(target=lambda: in_thread.append(lifecycle.is_cold_start()))
        thread.start()
        thread.join()
        return lifecycle.is_cold_start()

    assert handler({}, FakeContext(request_id="req-1")) is True
    assert in_thread == [False]


def test_concurrent_invocations_in_threads_have_one_cold_start() -> None:
    # Lambda Managed Instances: several invocations in one process at once.
    first_started = threading.Event()
    both_running = threading.Barrier(2, timeout=10)
    results: dict[str, bool] = {}

    @lifecycle.track_invocations
    def handler(event: Any, context: Any) -> None:
        results[f"{context.aws_request_id} start"] = lifecycle.is_cold_start()
        first_started.set()
        both_running.wait()
        results[context.aws_request_id] = lifecycle.is_cold_start()

    first = threading.Thread(target=handler, args=({}, FakeContext(request_id="req-1")))
    second = threading.Thread(target=handler, args=({}, FakeContext(request_id="req-2")))
    first.start()
    assert first_started.wait(timeout=10)  # req-1 is the environment's first invocation
    second.start()
    first.join()
    second.join()

    assert results == {"req-1 start": True, "req-2 start": False, "req-1": True, "req-2": False}


def test_context_passed_as_keyword() -> None:
    assert report_cold({}, context=FakeContext(request_id="req-1")) is True
    assert report_cold(event={}, context=FakeContext(request_id="req-2")) is False


def test_keyword_context_is_the_request_id_used() -> None:
    seen: list[bool] = []

    @lifecycle.track_invocations
    def handler(event: Any, context: Any) -> None:
        seen.append(lifecycle.is_cold_start())

    handler({}, context=FakeContext(request_id="req-1"))
    handler({}, context=FakeContext(request_id="req-2"))

    assert seen == [True, False]


def test_keyword_context_is_read_for_the_request_id() -> None:
    # Two decorators on one handler must see the same request id from a keyword context too.
    @lifecycle.track_invocations
    @lifecycle.track_invocations
    def handler(event: Any, context: Any) -> bool:
        return lifecycle.is_cold_start()

    assert handler({}, context=FakeContext(request_id="req-1")) is True
    assert handler(event={}, context=FakeContext(request_id="req-2")) is False


def test_handler_without_context_gets_anonymous_ids() -> None:
    @lifecycle.track_invocations
    def handler(event: Any) -> bool:
        return lifecycle.is_cold_start()

    assert handler({}) is True
    assert handler({}) is False
    assert handler({}) is False


@pytest.mark.parametrize("context", [None, object(), types.SimpleNamespace(aws_request_id=123)])
def test_context_without_a_string_request_id_is_anonymous(context: object) -> None:
    assert report_cold({}, context) is True
    assert report_cold({}, context) is False


def test_track_invocations_keeps_the_handler_metadata() -> None:
    def handler(event: Any, context: Any) -> None:
        """Handle orders."""

    wrapped = lifecycle.track_invocations(handler)
    assert wrapped.__name__ == "handler"
    assert wrapped.__doc__ == "Handle orders."
    assert wrapped.__wrapped__ is handler  # type: ignore[attr-defined]


def test_track_invocations_returns_the_handler_result_and_passes_arguments() -> None:
    @lifecycle.track_invocations
    def handler(event: dict[str, int], context: Any) -> int:
        return event["n"] * 2

    assert handler({"n": 21}, None) == 42


# -- async handlers --------------------------------------------------------------------


def test_async_handler_is_tracked() -> None:
    @lifecycle.track_invocations
    async def handler(event: Any, context: Any) -> bool:
        await asyncio.sleep(0)
        return lifecycle.is_cold_start()

    assert inspect.iscoroutinefunction(handler)
    assert asyncio.run(handler({}, FakeContext(request_id="req-1"))) is True
    assert asyncio.run(handler({}, FakeContext(request_id="req-2"))) is False


def test_async_handler_first_invocation_raising_is_cold() -> None:
    seen: list[bool] = []

    @lifecycle.track_invocations
    async def handler(event: Any, context: Any) -> None:
        seen.append(lifecycle.is_cold_start())
        if event.get("fail"):
            raise RuntimeError("async boom")

    with pytest.raises(RuntimeError, match="async boom"):
        asyncio.run(handler({"fail": True}, FakeContext(request_id="req-1")))
    asyncio.run(handler({}, FakeContext(request_id="req-2")))

    assert seen == [True, False]


def test_concurrent_async_invocations_in_one_loop() -> None:
    @lifecycle.track_invocations
    async def handler(event: Any, context: Any) -> bool:
        before = lifecycle.is_cold_start()
        await asyncio.sleep(0)  # let the other invocation run in between
        assert lifecycle.is_cold_start() is before
        return before

    async def both() -> list[bool]:
        first = asyncio.create_task(handler({}, FakeContext(request_id="req-1")))
        await asyncio.sleep(0)  # req-1 starts first
        second = asyncio.create_task(handler({}, FakeContext(request_id="req-2")))
        return list(await asyncio.gather(first, second))

    assert asyncio.run(both()) == [True, False]


# -- SnapStart hooks --------------------------------------------------------------------


def test_hook_decorators_return_the_function() -> None:
    def before() -> None: ...
    def after() -> None: ...

    assert lifecycle.on_before_snapshot(before) is before
    assert lifecycle.on_after_restore(after) is after


def test_hooks_run_in_registration_order() -> None:
    calls: list[str] = []

    @lifecycle.on_before_snapshot
    def close_pool() -> None:
        calls.append("close_pool")

    @lifecycle.on_after_restore
    def reconnect() -> None:
        calls.append("reconnect")

    @lifecycle.on_before_snapshot
    def drop_cache() -> None:
        calls.append("drop_cache")

    @lifecycle.on_after_restore
    def reseed() -> None:
        calls.append("reseed")

    simulate_snapshot()
    assert calls == ["close_pool", "drop_cache"]
    simulate_restore()
    assert calls == ["close_pool", "drop_cache", "reconnect", "reseed"]


def test_the_same_hook_can_run_many_times() -> None:
    calls: list[str] = []
    lifecycle.on_after_restore(lambda: calls.append("restored"))

    simulate_restore()
    simulate_restore()

    assert calls == ["restored", "restored"]


def test_no_hooks_is_fine() -> None:
    simulate_snapshot()
    simulate_restore()


def test_reset_lifecycle_forgets_hooks() -> None:
    calls: list[str] = []
    lifecycle.on_after_restore(lambda: calls.append("restored"))
    reset_lifecycle()

    simulate_restore()

    assert calls == []


def test_next_invocation_after_restore_is_cold_again() -> None:
    assert report_cold({}, FakeContext(request_id="req-1")) is True
    assert report_cold({}, FakeContext(request_id="req-2")) is False
    simulate_snapshot()
    assert report_cold({}, FakeContext(request_id="req-3")) is False  # a snapshot alone changes nothing

    simulate_restore()

    assert lifecycle.is_cold_start() is True  # INIT of the restored environment
    assert report_cold({}, FakeContext(request_id="req-4")) is True
    assert report_cold({}, FakeContext(request_id="req-5")) is False


def test_after_restore_hooks_run_after_cold_start_tracking_was_reset() -> None:
    seen: list[bool] = []
    lifecycle.on_after_restore(lambda: seen.append(lifecycle.is_cold_start()))
    report_cold({}, FakeContext(request_id="req-1"))

    simulate_restore()

    assert seen == [True]


@pytest.mark.parametrize(
    ("simulate", "register", "phase"),
    [
        (simulate_snapshot, lifecycle.on_before_snapshot, "before_snapshot"),
        (simulate_restore, lifecycle.on_after_restore, "after_restore"),
    ],
)
def test_failing_hook_does_not_stop_later_hooks(
    simulate: Callable[[], None], register: Callable[[Callable[[], object]], object], phase: str
) -> None:
    calls: list[str] = []
    first_error = RuntimeError("pool would not close")

    def ok_first() -> None:
        calls.append("ok_first")

    def broken() -> None:
        calls.append("broken")
        raise first_error

    def also_broken() -> None:
        calls.append("also_broken")
        raise KeyError("missing")

    def ok_last() -> None:
        calls.append("ok_last")

    for hook in (ok_first, broken, also_broken, ok_last):
        register(hook)

    with pytest.raises(LifecycleHookError) as info:
        simulate()

    assert calls == ["ok_first", "broken", "also_broken", "ok_last"]
    error = info.value
    assert error.phase == phase  # type: ignore[attr-defined]
    assert error.failures == 2  # type: ignore[attr-defined]
    assert error.context == {"phase": phase, "failures": 2}
    assert error.__cause__ is first_error
    message = str(error)
    assert f"2 of 4 {phase} hooks raised" in message
    assert "RuntimeError, KeyError" in message


def test_failing_restore_hook_still_resets_cold_start() -> None:
    report_cold({}, FakeContext(request_id="req-1"))

    @lifecycle.on_after_restore
    def broken() -> None:
        raise RuntimeError("no network yet")

    with pytest.raises(LifecycleHookError):
        simulate_restore()
    assert report_cold({}, FakeContext(request_id="req-2")) is True


@pytest.mark.parametrize("register", [lifecycle.on_before_snapshot, lifecycle.on_after_restore])
@pytest.mark.parametrize("not_callable", [None, 42, "reconnect"])
def test_registering_a_non_callable_raises_type_error(
    register: Callable[[Any], object], not_callable: object
) -> None:
    with pytest.raises(TypeError, match="must be callable") as info:
        register(not_callable)
    assert type(not_callable).__name__ in str(info.value)

    simulate_snapshot()  # nothing was registered
    simulate_restore()


# -- snapshot_restore_py integration ----------------------------------------------------


class FakeSnapshotRestore:
    """Records what lambda-kit registers with the SnapStart runtime's module."""

    def __init__(self) -> None:
        self.before_snapshot: list[tuple[Callable[..., object], tuple[object, ...]]] = []
        self.after_restore: list[tuple[Callable[..., object], tuple[object, ...]]] = []

    def module(self) -> types.ModuleType:
        module = types.ModuleType("snapshot_restore_py")
        module.register_before_snapshot = (  # type: ignore[attr-defined]
            lambda func, *args: self.before_snapshot.append((func, args))
        )
        module.register_after_restore = (  # type: ignore[attr-defined]
            lambda func, *args: self.after_restore.append((func, args))
        )
        return module


@pytest.fixture
def snapstart_runtime(monkeypatch: pytest.MonkeyPatch) -> FakeSnapshotRestore:
    fake = FakeSnapshotRestore()
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", fake.module())
    monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start")
    return fake


def test_dispatchers_are_registered_once_per_phase(snapstart_runtime: FakeSnapshotRestore) -> None:
    lifecycle.on_before_snapshot(lambda: None)
    lifecycle.on_before_snapshot(lambda: None)
    lifecycle.on_after_restore(lambda: None)
    lifecycle.track_invocations(lambda event, context: None)

    assert len(snapstart_runtime.before_snapshot) == 1
    assert len(snapstart_runtime.after_restore) == 1


def test_track_invocations_alone_registers_the_dispatchers(snapstart_runtime: FakeSnapshotRestore) -> None:
    # So that a restored environment starts cold even without any user hook.
    lifecycle.track_invocations(lambda event, context: None)

    assert len(snapstart_runtime.before_snapshot) == 1
    assert len(snapstart_runtime.after_restore) == 1


def test_runtime_dispatchers_run_the_hooks(snapstart_runtime: FakeSnapshotRestore) -> None:
    calls: list[str] = []

    @lifecycle.on_before_snapshot
    def close() -> None:
        calls.append("close")

    @lifecycle.on_after_restore
    def reconnect() -> None:
        calls.append("reconnect")

    before_func, before_args = snapstart_runtime.before_snapshot[0]
    after_func, after_args = snapstart_runtime.after_restore[0]

    before_func(*before_args)
    assert calls == ["close"]
    after_func(*after_args)
    assert calls == ["close", "reconnect"]


def test_hooks_registered_after_the_dispatchers_still_run(snapstart_runtime: FakeSnapshotRestore) -> None:
    calls: list[str] = []
    lifecycle.on_after_restore(lambda: calls.append("first"))
    lifecycle.on_after_restore(lambda: calls.append("second"))

    after_func, after_args = snapstart_runtime.after_restore[0]
    after_func(*after_args)

    assert calls == ["first", "second"]


def test_runtime_restore_makes_the_next_invocation_cold(snapstart_runtime: FakeSnapshotRestore) -> None:
    assert report_cold({}, FakeContext(request_id="req-1")) is True
    assert report_cold({}, FakeContext(request_id="req-2")) is False
    lifecycle.track_invocations(lambda event, context: None)  # registers the dispatchers

    after_func, after_args = snapstart_runtime.after_restore[0]
    after_func(*after_args)

    assert report_cold({}, FakeContext(request_id="req-3")) is True


def test_runtime_dispatcher_raises_lifecycle_hook_error(snapstart_runtime: FakeSnapshotRestore) -> None:
    @lifecycle.on_before_snapshot
    def broken() -> None:
        raise OSError("socket already closed")

    before_func, before_args = snapstart_runtime.before_snapshot[0]
    with pytest.raises(LifecycleHookError) as info:
        before_func(*before_args)
    assert info.value.context == {"phase": "before_snapshot", "failures": 1}
    assert isinstance(info.value.__cause__, OSError)


def test_without_snapshot_restore_py_the_local_registry_serves(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start")
    # A None entry in sys.modules makes the import raise ImportError.
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)  # type: ignore[arg-type]
    calls: list[str] = []

    lifecycle.on_after_restore(lambda: calls.append("restored"))
    simulate_restore()

    assert calls == ["restored"]


def test_deadline_and_request_id_come_from_the_context() -> None:
    from lambda_kit.testing import FakeContext

    seen: dict[str, object] = {}

    @lifecycle.track_invocations
    def handler(event: object, context: object) -> None:
        seen["request_id"] = lifecycle.current_request_id()
        seen["remaining"] = lifecycle.remaining_time()

    assert lifecycle.remaining_time() is None  # outside any invocation
    context = FakeContext(request_id="req-deadline", timeout_s=2.0)
    handler({}, context)
    assert seen["request_id"] == "req-deadline"
    remaining = seen["remaining"]
    assert isinstance(remaining, float)
    assert 1.0 < remaining <= 2.0
    assert lifecycle.remaining_time() is None
    assert lifecycle.current_request_id() is None


def test_context_without_a_usable_clock_gives_no_deadline() -> None:
    class Broken:
        aws_request_id = "req-broken"

        def get_remaining_time_in_millis(self) -> int:
            raise RuntimeError("no clock")

    class NotANumber:
        aws_request_id = "req-nan"

        def get_remaining_time_in_millis(self) -> float:
            return float("nan")

    for context in (Broken(), NotANumber(), None):
        token = lifecycle.start_invocation_for(context)
        try:
            assert lifecycle.remaining_time() is None
        finally:
            lifecycle.end_invocation(token)


def test_remaining_time_never_negative() -> None:
    token = lifecycle.start_invocation("req-late", remaining_ms=-50)
    try:
        assert lifecycle.remaining_time() == 0.0
    finally:
        lifecycle.end_invocation(token)


def test_on_demand_functions_never_import_the_snapstart_module(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeSnapshotRestore()
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", fake.module())
    monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
    lifecycle.on_after_restore(lambda: None)
    assert fake.before_snapshot == []
    assert fake.after_restore == []


def test_a_retry_with_the_first_request_id_is_warm() -> None:
    from lambda_kit.testing import FakeContext

    seen: list[bool] = []

    @lifecycle.track_invocations
    def handler(event: object, context: object) -> None:
        seen.append(lifecycle.is_cold_start())
        if event == "fail":
            raise RuntimeError("first attempt fails")

    with pytest.raises(RuntimeError):
        handler("fail", FakeContext(request_id="req-1"))
    handler("ok", FakeContext(request_id="req-2"))
    handler("ok", FakeContext(request_id="req-1"))  # Lambda's retry keeps the request id
    assert seen == [True, False, False]


def test_an_object_with_async_call_is_tracked_as_async() -> None:
    from lambda_kit.testing import FakeContext

    class Handler:
        async def __call__(self, event: object, context: object) -> tuple[bool, str | None]:
            await asyncio.sleep(0)
            return lifecycle.is_cold_start(), lifecycle.current_request_id()

    wrapped = lifecycle.track_invocations(Handler())
    assert asyncio.run(wrapped({}, FakeContext(request_id="req-async"))) == (True, "req-async")


# -- deadlines in worker threads (issue 11) ---------------------------------------------


def test_worker_threads_get_the_deadline_of_the_one_invocation_in_flight() -> None:
    from concurrent.futures import ThreadPoolExecutor

    @lifecycle.track_invocations
    def handler(event: object, context: object) -> tuple[float | None, list[float | None]]:
        with ThreadPoolExecutor(2) as pool:  # workers start with an empty context
            seen = list(pool.map(lambda _: lifecycle.remaining_time(), range(4)))
        return lifecycle.remaining_time(), seen

    own, workers = handler({}, FakeContext(request_id="req-pool", timeout_s=1.0))

    assert own is not None
    assert all(left is not None and 0 < left <= 1.0 for left in workers), workers
    assert lifecycle.remaining_time() is None  # the invocation ended: no deadline is left over


def test_worker_threads_get_the_earliest_deadline_when_several_invocations_are_in_flight() -> None:
    # Lambda Managed Instances: two invocations at once; a worker may serve either.
    both_running = threading.Barrier(3, timeout=10)
    release = threading.Event()

    @lifecycle.track_invocations
    def handler(event: object, context: object) -> None:
        both_running.wait()
        release.wait(10)

    short = threading.Thread(target=handler, args=({}, FakeContext(request_id="req-short", timeout_s=2)))
    long = threading.Thread(target=handler, args=({}, FakeContext(request_id="req-long", timeout_s=600)))
    short.start()
    long.start()
    both_running.wait()
    seen: list[float | None] = []
    worker = threading.Thread(target=lambda: seen.append(lifecycle.remaining_time()))
    worker.start()
    worker.join()
    release.set()
    short.join()
    long.join()

    (left,) = seen
    assert left is not None
    assert 0 < left <= 2.0  # the earlier of the two deadlines, never the later one
    assert lifecycle.remaining_time() is None


def test_an_invocation_without_a_known_deadline_never_hides_a_known_one() -> None:
    unknown = lifecycle.start_invocation("req-unknown")
    try:
        assert run_in_thread(lifecycle.remaining_time) is None  # nothing known: unbounded, as before
        with invocation_in_another_thread("req-known", remaining_ms=1500):
            left = run_in_thread(lifecycle.remaining_time)
        assert left is not None
        assert 0 < left <= 1.5
    finally:
        lifecycle.end_invocation(unknown)


@contextlib.contextmanager
def invocation_in_another_thread(request_id: str, *, remaining_ms: float) -> Iterator[None]:
    """An invocation in flight in another thread for the duration of the block."""
    started = threading.Event()
    done = threading.Event()

    def run() -> None:
        token = lifecycle.start_invocation(request_id, remaining_ms=remaining_ms)
        started.set()
        done.wait(10)
        lifecycle.end_invocation(token)

    thread = threading.Thread(target=run)
    thread.start()
    assert started.wait(10)
    try:
        yield
    finally:
        done.set()
        thread.join()


def test_an_inner_start_of_the_same_invocation_keeps_it_in_flight() -> None:
    outer = lifecycle.start_invocation("req-nested", remaining_ms=5000)
    inner = lifecycle.start_invocation("req-nested", remaining_ms=5000)
    lifecycle.end_invocation(inner)
    assert run_in_thread(lifecycle.remaining_time) is not None  # still in flight
    lifecycle.end_invocation(outer)
    assert run_in_thread(lifecycle.remaining_time) is None


def test_ending_an_invocation_from_another_context_forgets_nothing() -> None:
    token = lifecycle.start_invocation("req-ctx", remaining_ms=5000)
    try:
        with pytest.raises(ValueError, match="different Context"):
            run_in_thread(lambda: lifecycle.end_invocation(token), reraise=True)
        assert run_in_thread(lifecycle.remaining_time) is not None
    finally:
        lifecycle.end_invocation(token)


def run_in_thread(call: Callable[[], Any], *, reraise: bool = False) -> Any:
    """``call()`` in a new thread (an empty context, as an executor's worker has); its result."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as error:  # handed to the caller
            outcome.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    (result,) = outcome
    if isinstance(result, BaseException):
        if reraise:
            raise result
        raise AssertionError(f"the call raised {result!r}")
    return result


# -- restore generation and tracked resources --------------------------------------------


class FakeResource:
    """What lambda-kit's sessions and caches offer lifecycle: a close and some warm-ups."""

    def __init__(self, warmups: list[Callable[[float], object]] | None = None) -> None:
        self.closed = 0
        self.warmups = warmups or []

    def _close_for_snapshot(self) -> None:
        self.closed += 1

    def _warmups(self) -> list[Callable[[float], object]]:
        return list(self.warmups)


def test_restore_generation_counts_restores_and_survives_reset_lifecycle() -> None:
    before = lifecycle.restore_generation()

    simulate_snapshot()
    assert lifecycle.restore_generation() == before  # a snapshot alone is no restore
    simulate_restore()
    simulate_restore()
    assert lifecycle.restore_generation() == before + 2
    reset_lifecycle()
    assert lifecycle.restore_generation() == before + 2  # never goes back: caches compare it


def test_tracked_resources_are_closed_before_a_snapshot_and_held_weakly() -> None:
    import gc

    resource = FakeResource()
    lifecycle._track(resource)
    lifecycle._track(resource)  # once is enough

    simulate_snapshot()
    assert resource.closed == 1

    del resource
    gc.collect()
    assert not [kept for kept in lifecycle._resources if isinstance(kept, FakeResource)]


def test_after_restore_warmups_run_in_parallel_and_the_dispatcher_waits_only_for_the_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(lifecycle, "RESTORE_WARM_BUDGET", 0.2)
    all_started = threading.Barrier(3, timeout=10)  # breaks unless the three run at once
    finish = threading.Event()
    ends: list[float] = []
    outcomes: list[str] = []

    def warmup(end: float) -> None:
        ends.append(end)
        try:
            all_started.wait()
        except threading.BrokenBarrierError:
            outcomes.append("serial")
            return
        finish.wait(10)  # still "connecting" when the budget is spent
        outcomes.append("done")

    resource = FakeResource([warmup, warmup, warmup])
    lifecycle._track(resource)
    hook_ran: list[bool] = []
    lifecycle.on_after_restore(lambda: hook_ran.append(True))
    started = time.monotonic()

    simulate_restore()  # returns although no warm-up has finished
    returned = time.monotonic()

    assert hook_ran == [True]
    assert outcomes == []
    finish.set()
    for _ in range(1000):  # bounded: the three finish at once now
        if len(outcomes) == 3:
            break
        time.sleep(0.005)
    assert outcomes == ["done"] * 3
    assert len(set(ends)) == 1
    assert started + 0.2 <= ends[0] <= returned + 0.2  # one shared end: the budget from the restore


def test_failing_or_broken_warmups_never_fail_the_restore() -> None:
    class Broken(FakeResource):
        def _warmups(self) -> list[Callable[[float], object]]:
            raise RuntimeError("no warm-ups today")

        def _close_for_snapshot(self) -> None:
            raise OSError("already closed")

    def failing(end: float) -> None:
        raise ConnectionError("unreachable")

    resources = [Broken(), FakeResource([failing])]
    for resource in resources:
        lifecycle._track(resource)

    simulate_snapshot()
    simulate_restore()


def test_a_warm_budget_of_zero_turns_rewarming_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lifecycle, "RESTORE_WARM_BUDGET", 0)
    called: list[float] = []
    resource = FakeResource([called.append])
    lifecycle._track(resource)

    simulate_restore()

    assert called == []


# -- issue 12: one SnapStart story --------------------------------------------------------


def test_tracking_a_resource_registers_the_dispatchers(snapstart_runtime: FakeSnapshotRestore) -> None:
    # A function that only keeps a client or a secret at module scope: no hook, no decorator.
    lifecycle._track(FakeResource())

    assert len(snapstart_runtime.before_snapshot) == 1
    assert len(snapstart_runtime.after_restore) == 1


def test_asking_for_the_restore_generation_registers_the_dispatchers(
    snapstart_runtime: FakeSnapshotRestore,
) -> None:
    lifecycle.restore_generation()
    lifecycle.restore_generation()

    assert len(snapstart_runtime.before_snapshot) == 1
    assert len(snapstart_runtime.after_restore) == 1


def test_every_resource_is_asked_for_its_warmups_before_any_runs_whatever_the_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    events: list[str] = []

    class Recording(FakeResource):
        def __init__(self, name: str) -> None:
            super().__init__([lambda end: events.append(f"ran {name}")])
            self.name = name

        def _warmups(self) -> list[Callable[[float], object]]:
            events.append(f"asked {self.name}")  # a resource renews itself here (see _Resource)
            return super()._warmups()

    resources = [Recording(name) for name in "abc"]
    for resource in resources:
        lifecycle._track(resource)

    simulate_restore()
    assert sorted(events[:3]) == ["asked a", "asked b", "asked c"]
    assert sorted(events[3:]) == ["ran a", "ran b", "ran c"]

    events.clear()
    monkeypatch.setattr(lifecycle, "RESTORE_WARM_BUDGET", 0)
    simulate_restore()
    assert sorted(events) == ["asked a", "asked b", "asked c"]  # renewed, not re-warmed


def test_warmups_share_a_bounded_set_of_threads_and_none_starts_after_the_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(lifecycle, "_WARM_THREADS", 2)
    threads: set[int] = set()
    ran: list[int] = []

    def quick(number: int) -> Callable[[float], object]:
        def warmup(end: float) -> None:
            threads.add(threading.get_ident())
            ran.append(number)

        return warmup

    lifecycle._track(resource := FakeResource([quick(number) for number in range(10)]))

    simulate_restore()
    assert sorted(ran) == list(range(10))
    assert len(threads) <= 2

    finish = threading.Event()
    started: list[int] = []

    def stuck(number: int) -> Callable[[float], object]:
        def warmup(end: float) -> None:
            started.append(number)
            finish.wait(10)  # "connecting" past the budget

        return warmup

    resource.warmups = [stuck(number) for number in range(4)]
    monkeypatch.setattr(lifecycle, "RESTORE_WARM_BUDGET", 0.2)
    try:
        simulate_restore()
    finally:
        finish.set()
    for worker in threading.enumerate():
        if worker.name == "lambda-kit-rewarm":
            worker.join(10)
    assert sorted(started) == [0, 1]  # two threads, both stuck until the budget ran out


def test_wrap_invocation_runs_on_start_and_on_finish_around_the_handler() -> None:
    calls: list[str] = []

    def failing_start(context: object) -> None:
        calls.append("start")
        raise RuntimeError("no start")

    def handler(event: Any, context: Any) -> str:
        calls.append(f"handler cold={lifecycle.is_cold_start()}")
        return "done"

    refused = lifecycle.wrap_invocation(handler, on_start=failing_start, on_finish=lambda: calls.append("x"))
    with pytest.raises(RuntimeError, match="no start"):
        refused({}, FakeContext(request_id="req-1"))
    assert calls == ["start"]  # neither the handler nor on_finish ran
    assert lifecycle.current_request_id() is None  # and the invocation ended

    calls.clear()
    wrapped = lifecycle.wrap_invocation(handler, on_start=calls.append, on_finish=lambda: calls.append("end"))
    context = FakeContext(request_id="req-2")
    assert wrapped({}, context) == "done"
    assert calls == [context, "handler cold=False", "end"]  # req-1 was the cold start


def test_warm_invocations_through_nested_wrappers_end_cleanly() -> None:
    # After the first invocation, wrap_invocation's sync wrapper takes its inlined warm path.
    report_cold({}, FakeContext(request_id="req-0"))
    failure = KeyError("missing")
    seen: list[Any] = []

    @lifecycle.track_invocations
    @lifecycle.track_invocations  # an inner adapter: the same invocation, entered twice
    def handler(event: Any, context: Any) -> str | None:
        worker = threading.Thread(target=lambda: seen.append(lifecycle.remaining_time()))
        worker.start()  # a thread of its own: its deadline comes from the invocations in flight
        worker.join()
        seen.append(lifecycle.is_cold_start())
        if event.get("fail"):
            raise failure
        return lifecycle.current_request_id()

    assert handler({}, FakeContext(request_id="req-1", timeout_s=60)) == "req-1"
    with pytest.raises(KeyError) as raised:
        handler({"fail": True}, context=FakeContext(request_id="req-2", timeout_s=60))
    assert raised.value is failure  # the handler's own exception, unchanged
    assert [left is not None and 50 < left <= 60 for left in seen[::2]] == [True, True]
    assert seen[1::2] == [False, False]  # warm, both
    assert lifecycle.current_request_id() is None
    assert lifecycle.remaining_time() is None  # nothing left in flight by either wrapper
    assert lifecycle._inflight == {}
