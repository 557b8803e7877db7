"""lambda_kit.secrets and SnapStart: no value from the snapshot is ever served after a restore."""

from __future__ import annotations

import gc
import threading
import weakref
from collections.abc import Callable
from typing import Any

import pytest
from secrets_helpers import (
    CountingProxy,
    FakeClock,
    MemoryBackend,
    unique,
)

from lambda_kit import _secrets_backends, lifecycle, secrets
from lambda_kit.exceptions import SecretError
from lambda_kit.secrets import Secret
from lambda_kit.testing import reset_lifecycle, simulate_restore


@pytest.fixture
def warm_budget(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    """Set lifecycle.RESTORE_WARM_BUDGET for one test: how long a restore waits for the refetches."""

    def set_budget(seconds: float) -> None:
        monkeypatch.setattr(lifecycle, "RESTORE_WARM_BUDGET", seconds)

    return set_budget


@pytest.mark.usefixtures("proxied_environ")
def test_values_fetched_before_a_snapshot_are_refetched_after_restore(
    sm: Any, proxy: CountingProxy, clock: FakeClock, warm_budget: Callable[[float], None]
) -> None:
    warm_budget(30.0)  # this test is not about the bound
    name = unique()
    sm.create_secret(Name=name, SecretString="before-snapshot")
    secret = Secret(name).prefetch()
    never_fetched = Secret(unique())
    backend = _secrets_backends._shared["sdk"]
    client = backend.client("secretsmanager")
    sm.put_secret_value(SecretId=name, SecretString="after-restore")
    assert proxy.connections == 1

    simulate_restore()
    # Refetched during the restore, by the same client on a new connection: the one it
    # held is the snapshot's, dead in every copy ...
    assert proxy.count("GetSecretValue") == 2
    assert proxy.connections == 2
    assert backend.client("secretsmanager") is client
    # ... so the first invocation after the restore pays nothing.
    assert secret.value == "after-restore"
    assert proxy.count("GetSecretValue") == 2
    assert never_fetched._entry is None


def test_after_restore_a_failed_refetch_never_serves_the_snapshot_value(
    sm: Any, client: Any, proxy: CountingProxy, clock: FakeClock
) -> None:
    name = unique()
    sm.create_secret(Name=name, SecretString="from-the-snapshot")
    secret = Secret(name, client=client, max_stale=10_000).prefetch()
    later: list[str] = []
    lifecycle.on_after_restore(lambda: later.append("ran"))  # a hook of the function's own
    proxy.fault = lambda op: (400, {"__type": "ThrottlingException", "message": "Rate exceeded"})

    simulate_restore()  # the refetch fails: nothing raises out of the restore
    assert later == ["ran"]
    assert proxy.count("GetSecretValue") == 2
    with pytest.raises(SecretError, match="SnapStart"):
        secret.value  # noqa: B018
    assert proxy.count("GetSecretValue") == 3  # the first read tried again at once, no back-off
    proxy.fault = None
    clock.advance(secrets.BACKOFF_CAP)
    assert secret.value == "from-the-snapshot"
    assert proxy.count("GetSecretValue") == 4


def test_a_slow_refetch_after_restore_does_not_hold_up_the_restore(
    sm: Any, client: Any, proxy: CountingProxy, warm_budget: Callable[[float], None]
) -> None:
    warm_budget(0.2)
    first_name, second_name = unique(), unique()
    sm.create_secret(Name=first_name, SecretString="before")
    sm.create_secret(Name=second_name, SecretString="second")
    first = Secret(first_name, client=client).prefetch()
    second = Secret(second_name, client=client).prefetch()
    sm.put_secret_value(SecretId=first_name, SecretString="after")
    started, release = threading.Event(), threading.Event()

    def hold_the_first(operation: str, body: bytes) -> None:
        if first_name.encode() in body and not started.is_set():
            started.set()
            release.wait(30)  # the first secret's refetch hangs on the wire

    proxy.inspect = hold_the_first
    try:
        simulate_restore()  # returns after RESTORE_WARM_BUDGET, the fetch still on the wire
        assert started.is_set()
        assert first._entry is not None
        assert first._entry.restored
        assert second.value == "second"  # refetched meanwhile: it never waits for the first
    finally:
        release.set()
    assert first.value == "after"  # waits for the fetch in flight instead of starting another
    for worker in threading.enumerate():
        if worker.name == "lambda-kit-rewarm":
            worker.join(10)
    assert proxy.count("GetSecretValue") == 4  # two prefetches, one refetch each: none twice


def test_refetches_after_a_restore_run_in_parallel(warm_budget: Callable[[float], None]) -> None:
    warm_budget(10.0)
    all_in_flight = threading.Barrier(3, timeout=10)  # breaks unless the three fetch at once
    serial: list[str] = []

    class Meeting(MemoryBackend):
        def get_secret_value(self, secret_id: str, **kwargs: Any) -> tuple[str | bytes, str]:
            if self.calls >= 3:  # the three prefetches are done: these are the refetches
                try:
                    all_in_flight.wait()
                except threading.BrokenBarrierError:
                    serial.append(secret_id)
            return super().get_secret_value(secret_id, **kwargs)

    backend = Meeting({"a": "1", "b": "2", "c": "3"})
    cached = [Secret(name, backend=backend).prefetch() for name in "abc"]

    simulate_restore()

    assert serial == []
    assert backend.calls == 6
    assert [secret._entry is not None and not secret._entry.restored for secret in cached] == [True] * 3


def test_with_a_warm_budget_of_zero_the_first_read_refetches(warm_budget: Callable[[float], None]) -> None:
    warm_budget(0)
    backend = MemoryBackend({"db": "from-the-snapshot"})
    secret = Secret("db", backend=backend).prefetch()
    backend.values["db"] = "rotated-since"

    simulate_restore()

    assert backend.calls == 1  # nothing refetched during the restore ...
    assert secret._entry is not None
    assert secret._entry.restored  # ... but the snapshot's value is marked all the same
    assert secret.value == "rotated-since"
    assert backend.calls == 2


def test_secrets_made_in_a_loop_are_freed_and_register_no_hook(
    sm: Any, client: Any, proxy: CountingProxy, warm_budget: Callable[[float], None]
) -> None:
    warm_budget(30.0)
    name = unique()
    sm.create_secret(Name=name, SecretString="v1")
    hooks_before = {phase: len(hooks) for phase, hooks in lifecycle._hooks.items()}
    refs: list[weakref.ref[Secret]] = []
    for number in range(3000):  # e.g. Secret(...) created inside a handler by mistake
        made = Secret(name, client=client)
        if number < 3:
            assert made.value == "v1"
        refs.append(weakref.ref(made))
    del made
    gc.collect()
    assert [ref for ref in refs if ref() is not None] == []
    # (Each Secret was held by the module's own after-restore hook; now lifecycle holds them weakly.)
    assert {phase: len(hooks) for phase, hooks in lifecycle._hooks.items()} == hooks_before
    assert not [kept for kept in lifecycle._resources if isinstance(kept, Secret)]

    kept = Secret(name, client=client).prefetch()
    sm.put_secret_value(SecretId=name, SecretString="v2")
    simulate_restore()
    assert proxy.count("GetSecretValue") == 5  # three reads, the prefetch, one refetch for `kept`
    assert kept.value == "v2"


def test_a_restore_after_reset_lifecycle_still_refetches_every_secret(
    sm: Any, client: Any, proxy: CountingProxy, warm_budget: Callable[[float], None]
) -> None:
    warm_budget(30.0)
    name = unique()
    sm.create_secret(Name=name, SecretString="value")
    old = Secret(name, client=client).prefetch()
    reset_lifecycle()  # forgets every hook, as test suites do between tests
    new = Secret(name, client=client).prefetch()
    sm.put_secret_value(SecretId=name, SecretString="rotated")

    simulate_restore()

    # (Each Secret was known to a hook that reset_lifecycle() forgot: `old` went on serving the
    # snapshot's value after the restore.)
    assert proxy.count("GetSecretValue") == 4  # two prefetches, then one refetch each
    assert lifecycle._hooks["after_restore"] == []
    for secret in (old, new):
        assert secret._entry is not None
        assert not secret._entry.restored
        assert secret.value == "rotated"
    assert proxy.count("GetSecretValue") == 4


def test_restore_before_any_fetch_is_harmless() -> None:
    backend = MemoryBackend({"db": "x"})
    secret = Secret("db", backend=backend)
    simulate_restore()
    assert secret.value == "x"
    assert backend.calls == 1


def test_a_user_hook_that_reads_a_secret_gets_the_refetched_value_with_no_second_fetch(
    warm_budget: Callable[[float], None],
) -> None:
    warm_budget(10.0)
    backend = MemoryBackend({"db": "from-the-snapshot"})
    secret = Secret("db", backend=backend).prefetch()
    backend.values["db"] = "rotated-since"
    seen: list[str | bytes] = []
    lifecycle.on_after_restore(lambda: seen.append(secret.value))  # runs beside the refetch

    simulate_restore()

    assert seen == ["rotated-since"]  # never the snapshot's value
    assert backend.calls == 2  # the hook and the refetch shared one fetch


def test_a_refetch_that_finds_the_value_fetched_by_a_reader_fetches_nothing() -> None:
    backend = MemoryBackend({"db": "x"})
    secret = Secret("db", backend=backend).prefetch()
    (refetch,) = secret._warmups()  # what the restore dispatcher asks for, then runs in a thread

    assert secret.value == "x"  # a reader came first
    refetch(0.0)

    assert backend.calls == 2
