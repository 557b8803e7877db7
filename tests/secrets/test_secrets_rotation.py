"""lambda_kit.secrets: rotation, refetch_on and refresh, against moto behind a counting proxy."""

from __future__ import annotations

import asyncio
import collections
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from secrets_helpers import (
    AuthFailedError,
    CountingProxy,
    ExtensionStandIn,
    FakeClock,
    FakeDatabase,
    MemoryBackend,
    rotate,
    unique,
)

from lambda_kit.exceptions import SecretError
from lambda_kit.secrets import Secret


def test_rotation_mid_traffic_has_no_failed_invocation(sm: Any, client: Any, proxy: CountingProxy) -> None:
    name = unique("prod/db")
    sm.create_secret(Name=name, SecretString=json.dumps({"username": "app", "password": "pw-0"}))
    db = FakeDatabase("pw-0")
    secret = Secret(name, client=client, min_refresh_interval=0.01).prefetch()

    @secret.refetch_on(AuthFailedError)
    def connect() -> str:
        return db.connect(secret.json()["password"])

    numbers = iter(range(200))
    numbers_lock = threading.Lock()
    failures: list[BaseException] = []
    # Set once the thread that made the first rotation has finished its own call, which
    # failed on the cached pw-0 and refetched pw-1. Without it a loaded machine could
    # reach number 130 while the first rotation was still on the wire, and the second
    # rotation then fell inside min_refresh_interval of the first one's refetch.
    first_rotation_refetched = threading.Event()

    def worker() -> None:
        while True:
            with numbers_lock:
                number = next(numbers, None)
                if number == 130:
                    # The others wait for their next number meanwhile (those in flight finish).
                    assert first_rotation_refetched.wait(timeout=60)
                    time.sleep(0.03)  # past min_refresh_interval since the first rotation's refetch
                    rotate(sm, name, db, "pw-2")
            if number is None:
                return
            if number == 60:
                rotate(sm, name, db, "pw-1")  # the other seven threads keep going meanwhile
            try:
                connect()
                time.sleep(0.001)  # the "query"
            except Exception as error:
                failures.append(error)
            finally:
                if number == 60:
                    first_rotation_refetched.set()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert db.rejected >= 2  # each rotation really broke the cached password at least once
    assert db.accepted == 200
    # One fetch at INIT plus exactly one per rotation, however many threads failed.
    assert proxy.count("GetSecretValue") == 3
    assert secret.json()["password"] == "pw-2"


def test_eight_threads_failing_at_once_share_one_fetch_and_all_retry(
    sm: Any, client: Any, proxy: CountingProxy
) -> None:
    name = unique("prod/db")
    sm.create_secret(Name=name, SecretString=json.dumps({"password": "old"}))
    db = FakeDatabase("old")
    secret = Secret(name, client=client).prefetch()
    barrier = threading.Barrier(8)
    calls = collections.Counter[str]()

    @secret.refetch_on(AuthFailedError)
    def connect() -> str:
        password = secret.json()["password"]
        calls[password] += 1
        if calls[password] <= 8 and password == "old":
            barrier.wait()  # all eight fail together, holding the old password
        return db.connect(password)

    rotate(sm, name, db, "new")
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(connect())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results == ["connection"] * 8
    assert db.rejected == 8
    assert db.accepted == 8
    assert proxy.count("GetSecretValue") == 2


def test_refetch_on_reraises_the_original_error_unchanged_when_nothing_rotated(
    sm: Any, client: Any, proxy: CountingProxy
) -> None:
    name = unique()
    sm.create_secret(Name=name, SecretString="stable")
    secret = Secret(name, client=client, min_refresh_interval=0).prefetch()
    raised: list[AuthFailedError] = []

    @secret.refetch_on(AuthFailedError, ConnectionError)
    def connect() -> None:
        error = AuthFailedError("database is down")
        raised.append(error)
        raise error

    with pytest.raises(AuthFailedError) as info:
        connect()

    assert raised == [info.value]  # called once: no version change, no retry
    assert info.value.__context__ is None
    assert info.value.__cause__ is None
    assert proxy.count("GetSecretValue") == 2  # the refresh looked, found the same version


def test_refetch_on_retries_exactly_once(sm: Any, client: Any) -> None:
    name = unique()
    sm.create_secret(Name=name, SecretString="v1")
    secret = Secret(name, client=client, min_refresh_interval=0).prefetch()
    attempts: list[str | bytes] = []

    @secret.refetch_on(AuthFailedError)
    def connect() -> None:
        attempts.append(secret.value)
        if len(attempts) == 1:
            sm.put_secret_value(SecretId=name, SecretString="v2")
        raise AuthFailedError(f"attempt {len(attempts)}")

    with pytest.raises(AuthFailedError, match="attempt 2"):
        connect()
    assert attempts == ["v1", "v2"]


def test_refetch_on_runs_a_function_that_needs_no_fresh_value_during_an_outage(
    sm: Any, client: Any, proxy: CountingProxy, clock: FakeClock
) -> None:
    name = unique()
    sm.create_secret(Name=name, SecretString="pw")
    secret = Secret(name, client=client, ttl=300, max_stale=900).prefetch()
    pool = {"conn": "connection opened at INIT"}

    @secret.refetch_on(AuthFailedError)
    def query() -> str:
        return "rows via " + pool["conn"]  # does not read the secret

    proxy.fault = lambda op: (400, {"__type": "InternalServiceError", "message": "down"})
    clock.advance(1300)  # an outage longer than ttl + max_stale
    assert query() == "rows via connection opened at INIT"
    assert proxy.count("GetSecretValue") == 1  # the wrapper itself fetched nothing
    with pytest.raises(SecretError, match="InternalServiceError"):
        secret.value  # noqa: B018  # the secret itself really is unavailable


def test_refetch_on_with_nothing_cached_fetches_only_what_the_call_used(
    sm: Any, client: Any, proxy: CountingProxy
) -> None:
    name = unique()
    sm.create_secret(Name=name, SecretString=json.dumps({"password": "pw"}))
    secret = Secret(name, client=client, min_refresh_interval=0)  # not prefetched

    @secret.refetch_on(AuthFailedError)
    def unrelated() -> None:
        raise AuthFailedError("not about the secret")

    with pytest.raises(AuthFailedError):
        unrelated()
    assert proxy.count("GetSecretValue") == 0  # no value was served to it: a refetch cannot help

    passwords: list[str] = []

    @secret.refetch_on(AuthFailedError)
    def connect() -> None:
        passwords.append(secret.json()["password"])  # the first read fetches
        raise AuthFailedError("password authentication failed")

    with pytest.raises(AuthFailedError):
        connect()
    assert passwords == ["pw"]  # the refresh found the same version: no retry
    assert proxy.count("GetSecretValue") == 2  # the call's own read, then one forced refresh


def test_refetch_on_lets_other_errors_through_untouched(sm: Any, client: Any, proxy: CountingProxy) -> None:
    name = unique()
    sm.create_secret(Name=name, SecretString="v1")
    secret = Secret(name, client=client).prefetch()

    @secret.refetch_on(AuthFailedError)
    def broken() -> None:
        raise KeyError("not an auth error")

    with pytest.raises(KeyError):
        broken()
    assert proxy.count("GetSecretValue") == 1
    assert broken.__name__ == "broken"


def test_refetch_on_rate_limits_refreshes_during_an_error_storm(
    sm: Any, client: Any, proxy: CountingProxy, clock: FakeClock
) -> None:
    name = unique()
    sm.create_secret(Name=name, SecretString="v1")
    secret = Secret(name, client=client, min_refresh_interval=5).prefetch()

    @secret.refetch_on(AuthFailedError)
    def connect() -> None:
        raise AuthFailedError("database down")

    for _ in range(50):
        with pytest.raises(AuthFailedError):
            connect()
    assert proxy.count("GetSecretValue") == 2  # the prefetch, then one refresh per 5 s
    clock.advance(4.9)
    for _ in range(50):
        with pytest.raises(AuthFailedError):
            connect()
    assert proxy.count("GetSecretValue") == 2
    clock.advance(0.1)
    for _ in range(50):
        with pytest.raises(AuthFailedError):
            connect()
    assert proxy.count("GetSecretValue") == 3
    assert secret.refresh() is False  # rate-limited too
    assert proxy.count("GetSecretValue") == 3


def test_refetch_on_supports_coroutine_functions(sm: Any, client: Any) -> None:
    name = unique("prod/db")
    sm.create_secret(Name=name, SecretString=json.dumps({"password": "a"}))
    db = FakeDatabase("a")
    secret = Secret(name, client=client, min_refresh_interval=0).prefetch()

    @secret.refetch_on(AuthFailedError)
    async def connect() -> str:
        await asyncio.sleep(0)
        return db.connect(secret.json()["password"])

    rotate(sm, name, db, "b")
    assert asyncio.run(connect()) == "connection"
    assert (db.rejected, db.accepted) == (1, 1)

    @secret.refetch_on(AuthFailedError)
    async def always_fails() -> None:
        raise AuthFailedError("down")

    with pytest.raises(AuthFailedError, match="down"):
        asyncio.run(always_fails())


@pytest.mark.parametrize("arguments", [(), (ValueError, "x"), ("AuthFailed",), (ValueError(),)])
def test_refetch_on_rejects_anything_but_exception_classes(arguments: tuple[Any, ...]) -> None:
    secret = Secret("any", backend=MemoryBackend({}))
    with pytest.raises(TypeError, match="exception classes"):
        secret.refetch_on(*arguments)


def test_refetch_on_reraises_the_original_when_the_refresh_itself_fails(clock: FakeClock) -> None:
    backend = MemoryBackend({"db": "x"})
    secret = Secret("db", backend=backend, ttl=10, max_stale=0.5, min_refresh_interval=0).prefetch()
    clock.advance(11)  # past the TTL and the stale window: the refresh raises
    backend.error = ConnectionError("secrets manager unreachable")
    original = AuthFailedError("login failed")

    @secret.refetch_on(AuthFailedError)
    def connect() -> None:
        raise original

    with pytest.raises(AuthFailedError) as info:
        connect()
    assert info.value is original
    assert original.__context__ is None


def test_refresh_reports_whether_the_version_changed(sm: Any, client: Any) -> None:
    name = unique()
    sm.create_secret(Name=name, SecretString="one")
    secret = Secret(name, client=client, min_refresh_interval=0)
    assert secret.refresh() is True  # nothing -> something
    assert secret.refresh() is False
    sm.put_secret_value(SecretId=name, SecretString="two")
    assert secret.refresh() is True
    assert secret.value == "two"


# -- issue 11: a rotation while another fetch is on the wire -----------------------------


def run_rotation_scenario(connect: Callable[[], Any]) -> Any:
    return asyncio.run(connect()) if asyncio.iscoroutinefunction(connect) else connect()


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_refetch_on_forces_fetch_when_ttl_refresh_lands_during_failing_call(
    sm: Any, client: Any, proxy: CountingProxy, clock: FakeClock, kind: str
) -> None:
    name = unique("prod/db")
    sm.create_secret(Name=name, SecretString=json.dumps({"password": "old"}))
    db = FakeDatabase("old")
    secret = Secret(name, client=client, ttl=60).prefetch()
    used: list[str] = []

    def during_the_call() -> str:
        password: str = secret.json()["password"]
        used.append(password)
        if len(used) == 1:
            # While this call runs, another thread's TTL refresh lands (still the old
            # version), and then the rotation finishes: the old password stops working.
            clock.advance(61)
            other = threading.Thread(target=lambda: secret.value)
            other.start()
            other.join()
            rotate(sm, name, db, "new")
        return db.connect(password)

    if kind == "sync":
        connect: Callable[[], Any] = secret.refetch_on(AuthFailedError)(during_the_call)
    else:

        async def connect_async() -> str:
            await asyncio.sleep(0)
            return during_the_call()

        connect = secret.refetch_on(AuthFailedError)(connect_async)

    assert run_rotation_scenario(connect) == "connection"
    assert used == ["old", "new"]
    assert (db.rejected, db.accepted) == (1, 1)
    # INIT, the other thread's TTL refresh, and one forced refresh after the failure.
    assert proxy.count("GetSecretValue") == 3


def test_refetch_on_forces_fetch_when_extension_cache_serves_old_version_during_failing_call(
    sm: Any, client: Any, proxy: CountingProxy, extension: ExtensionStandIn, clock: FakeClock
) -> None:
    extension.ready = True
    extension.cache = {}  # like the real extension: the old version stays cached after a rotation
    name = unique("prod/db")
    sm.create_secret(Name=name, SecretString=json.dumps({"password": "old"}))
    db = FakeDatabase("old")
    secret = Secret(name, backend="extension", client=client, ttl=60).prefetch()
    used: list[str] = []

    @secret.refetch_on(AuthFailedError)
    def connect() -> str:
        password: str = secret.json()["password"]
        used.append(password)
        if len(used) == 1:
            rotate(sm, name, db, "new")  # rotated: Secrets Manager has the new version
            clock.advance(61)  # another thread's TTL refresh, answered from the extension's cache
            other = threading.Thread(target=lambda: secret.value)
            other.start()
            other.join()
        return db.connect(password)

    assert connect() == "connection"
    assert used == ["old", "new"]
    assert len(extension.requests) == 2  # INIT (from its cache afterwards) and the TTL refresh
    assert proxy.count("GetSecretValue") == 1  # the forced refresh, past the extension's cache


def test_refetch_on_forces_fetch_when_another_callers_forced_refresh_ran_during_the_call(
    sm: Any, client: Any, proxy: CountingProxy
) -> None:
    name = unique("prod/db")
    sm.create_secret(Name=name, SecretString=json.dumps({"password": "old"}))
    db = FakeDatabase("old")
    secret = Secret(name, client=client, min_refresh_interval=0).prefetch()
    used: list[str] = []

    @secret.refetch_on(AuthFailedError)
    def unrelated() -> None:
        secret.value  # noqa: B018
        raise AuthFailedError("another caller, failing for another reason")

    @secret.refetch_on(AuthFailedError)
    def connect() -> str:
        password: str = secret.json()["password"]
        used.append(password)
        if len(used) == 1:
            # During this call, another caller's forced refresh finds the old version...
            with pytest.raises(AuthFailedError, match="another caller"):
                unrelated()
            rotate(sm, name, db, "new")  # ...and then the rotation finishes.
        return db.connect(password)

    assert connect() == "connection"
    assert used == ["old", "new"]
    assert proxy.count("GetSecretValue") == 3  # INIT, the other caller's refresh, this one's


def test_refetch_on_shares_a_forced_refresh_that_started_after_the_failure() -> None:
    backend = MemoryBackend({"db": "same"})
    secret = Secret("db", backend=backend, min_refresh_interval=0).prefetch()
    before = secret._entry
    seen = secret._forced_seq  # read when the call failed

    assert secret.refresh() is False  # another failing caller's forced refresh, after that
    assert backend.calls == 2
    assert secret._rotated_since(before, seen) is False  # answered by it: no fetch of its own
    assert backend.calls == 2
    assert secret._rotated_since(before, secret._forced_seq) is False  # one that started before: fetch
    assert backend.calls == 3
