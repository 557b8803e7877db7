"""lambda_kit.secrets against a real moto server on 127.0.0.1, counting the calls it receives.

Calls are counted on the wire by a small forwarding proxy in front of moto (it sees
every request the server receives, whichever client sent it) and, where a test
passes its own client, cross-checked with a botocore event handler.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import gc
import http.client
import itertools
import json
import logging
import threading
import time
import traceback
import urllib.parse
import uuid
import weakref
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lambda_kit import _secrets_backends, lifecycle, secrets
from lambda_kit.exceptions import ConfigurationError, LambdaKitError, SecretError
from lambda_kit.secrets import ExtensionBackend, Parameter, SdkBackend, Secret
from lambda_kit.testing import reset_lifecycle, simulate_restore
from lambda_kit_dev.stand_ins import AwsStandIn

ROOT = Path(__file__).resolve().parent.parent

# -- real parts: a counting proxy, a fake database, an extension stand-in, a clock -------


class CountingProxy:
    """Forwards HTTP to moto and counts each AWS operation it passes on (or answers itself).

    ``fault`` may return ``(status, json_body)`` for an operation name to answer with
    an error instead of forwarding, as a throttled Secrets Manager would.
    """

    def __init__(self, target: str) -> None:
        parts = urllib.parse.urlsplit(target)
        self.target = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.calls: collections.Counter[str] = collections.Counter()
        self.fault: Callable[[str], tuple[int, dict[str, str]] | None] | None = None
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                operation = (self.headers.get("X-Amz-Target") or self.path).rsplit(".", 1)[-1]
                with proxy._lock:
                    proxy.calls[operation] += 1
                answer = proxy.fault(operation) if proxy.fault else None
                if answer is not None:
                    status, error = answer
                    self._send(status, json.dumps(error).encode(), "application/x-amz-json-1.1")
                    return
                upstream = http.client.HTTPConnection(*proxy.target, timeout=10)
                try:
                    headers = {
                        k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")
                    }
                    upstream.request("POST", self.path, body=body, headers=headers)
                    response = upstream.getresponse()
                    data = response.read()
                    kind = response.getheader("Content-Type", "application/x-amz-json-1.1")
                    self._send(response.status, data, kind)
                finally:
                    upstream.close()

            def _send(self, status: int, data: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def count(self, operation: str) -> int:
        with self._lock:
            return self.calls[operation]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class AuthFailedError(Exception):
    """What a database driver raises for a wrong password."""


class FakeDatabase:
    """Accepts only its current password, like a database after a rotation."""

    def __init__(self, password: str) -> None:
        self.password = password
        self.accepted = 0
        self.rejected = 0
        self._lock = threading.Lock()

    def connect(self, password: str) -> str:
        with self._lock:
            if password != self.password:
                self.rejected += 1
                raise AuthFailedError("password authentication failed for user app")
            self.accepted += 1
            return "connection"


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_client(endpoint: str, service: str = "secretsmanager", **config: Any) -> Any:
    from botocore.config import Config

    create: Any = boto3.session.Session().client  # the service name is only known at run time
    return create(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}, **config),
    )


def count_calls(client: Any) -> collections.Counter[str]:
    """Count API calls made through ``client`` (a botocore event handler)."""
    counter: collections.Counter[str] = collections.Counter()

    def on_call(model: Any, **_: Any) -> None:
        counter[model.name] += 1

    client.meta.events.register("before-call", on_call)
    return counter


def unique(prefix: str = "test") -> str:
    return f"{prefix}/{uuid.uuid4().hex[:12]}"


@pytest.fixture(autouse=True)
def _fresh_environment() -> Iterator[None]:
    """Each test is a fresh execution environment: no hooks, no shared clients."""
    reset_lifecycle()
    _secrets_backends._reset_shared_for_tests()
    yield
    reset_lifecycle()
    _secrets_backends._reset_shared_for_tests()


@pytest.fixture
def sm(aws: AwsStandIn) -> Any:
    """An admin client straight to moto (its calls are not counted)."""
    return aws.client("secretsmanager")


@pytest.fixture
def proxy(aws: AwsStandIn) -> Iterator[CountingProxy]:
    counting = CountingProxy(aws.endpoint_url)
    yield counting
    counting.close()


@pytest.fixture
def client(proxy: CountingProxy) -> Any:
    """A Secrets Manager client whose calls go through the counting proxy."""
    return make_client(proxy.url)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(secrets, "_monotonic", fake)
    return fake


@pytest.fixture
def proxied_environ(aws: AwsStandIn, proxy: CountingProxy, monkeypatch: pytest.MonkeyPatch) -> None:
    """The stand-in's environment with AWS_ENDPOINT_URL on the proxy: the default client path."""
    for name, value in aws.environ().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)


# -- one fetch per environment ---------------------------------------------------------


def test_thousand_invocations_within_the_ttl_make_one_call(
    sm: Any, client: Any, proxy: CountingProxy
) -> None:
    name = unique()
    sm.create_secret(Name=name, SecretString='{"password": "hunter2-initial"}')
    on_client = count_calls(client)
    secret = Secret(name, client=client).prefetch()

    values = {secret.value for _ in range(1000)}
    parsed = [secret.json()["password"] for _ in range(1000)]

    assert values == {'{"password": "hunter2-initial"}'}
    assert set(parsed) == {"hunter2-initial"}
    assert proxy.count("GetSecretValue") == 1
    assert on_client == {"GetSecretValue": 1}


@pytest.mark.usefixtures("proxied_environ")
def test_default_client_path_fetches_once_and_shares_one_client(sm: Any, proxy: CountingProxy) -> None:
    first, second = unique(), unique()
    sm.create_secret(Name=first, SecretString="value-one")
    sm.create_secret(Name=second, SecretBinary=b"\x00binary\xff")

    one = Secret(first).prefetch()
    two = Secret(second).prefetch()
    for _ in range(1000):
        assert one.value == "value-one"
        assert two.value == b"\x00binary\xff"

    assert proxy.count("GetSecretValue") == 2
    shared = _secrets_backends._shared["sdk"]
    assert isinstance(shared, SdkBackend)
    assert one._get_backend() is two._get_backend() is shared
    created = shared.client("secretsmanager")
    assert created.meta.config.retries["total_max_attempts"] == 1  # no sleeping SDK retries
    assert "created clients: secretsmanager" in repr(shared)


def test_prefetch_returns_the_secret_and_lazy_fetch_happens_on_first_read(
    sm: Any, client: Any, proxy: CountingProxy
) -> None:
    name = unique()
    sm.create_secret(Name=name, SecretString="lazy-value")
    secret = Secret(name, client=client)
    assert proxy.count("GetSecretValue") == 0

    assert secret.value == "lazy-value"
    assert secret.prefetch() is secret
    assert proxy.count("GetSecretValue") == 1
    current = sm.describe_secret(SecretId=name)["VersionIdsToStages"]
    assert [secret.version_id] == [v for v, stages in current.items() if "AWSCURRENT" in stages]


def test_the_ttl_expires_with_jitter_and_refetches_once(
    sm: Any, client: Any, proxy: CountingProxy, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = unique()
    sm.create_secret(Name=name, SecretString="ttl-value")
    monkeypatch.setattr(secrets, "_random", lambda: 0.5)  # the jitter takes 5 % off the TTL
    secret = Secret(name, client=client, ttl=100).prefetch()

    clock.advance(94.9)
    assert secret.value == "ttl-value"
    assert proxy.count("GetSecretValue") == 1
    clock.advance(0.2)  # 95.1 s: past 100 * (1 - 0.1 * 0.5)
    assert secret.value == "ttl-value"
    assert proxy.count("GetSecretValue") == 2


def test_jitter_spreads_expiry_over_the_last_tenth_of_the_ttl() -> None:
    draws = [secrets._random() for _ in range(2000)]
    assert all(0.0 <= draw < 1.0 for draw in draws)
    assert min(draws) < 0.05
    assert max(draws) > 0.95


def test_expiry_refetch_is_single_flight_and_readers_never_wait(
    sm: Any, client: Any, proxy: CountingProxy, clock: FakeClock
) -> None:
    name = unique()
    sm.create_secret(Name=name, SecretString="single-flight")
    secret = Secret(name, client=client, ttl=10, max_stale=5).prefetch()  # max_stale < ttl on purpose
    sm.put_secret_value(SecretId=name, SecretString="rotated")
    started, release = threading.Event(), threading.Event()

    def hold(operation: str) -> None:
        started.set()
        release.wait(30)  # the refetch hangs on the wire until the test lets it through
        # Returning None: the request is then forwarded to moto.

    proxy.fault = hold
    clock.advance(11)  # past the TTL, inside the stale window (max_stale counts from expiry)
    fetched: list[str | bytes] = []
    fetcher = threading.Thread(target=lambda: fetched.append(secret.value))
    fetcher.start()
    assert started.wait(10)
    seen: list[str | bytes] = []
    readers = [threading.Thread(target=lambda: seen.append(secret.value)) for _ in range(16)]
    try:
        for reader in readers:
            reader.start()
        deadline = time.monotonic() + 5
        for reader in readers:
            reader.join(max(0.0, deadline - time.monotonic()))
        # Every reader has returned the cached value while the one fetch is still held.
        assert [reader.is_alive() for reader in readers] == [False] * 16
        assert fetcher.is_alive()
        assert seen == ["single-flight"] * 16
    finally:
        release.set()
        fetcher.join(10)
        for reader in readers:
            reader.join(10)
    assert fetched == ["rotated"]
    assert secret.value == "rotated"
    assert proxy.count("GetSecretValue") == 2


def test_stale_if_error_applies_when_the_ttl_is_longer_than_max_stale(
    sm: Any, client: Any, proxy: CountingProxy, clock: FakeClock
) -> None:
    name = unique()
    sm.create_secret(Name=name, SecretString="long-ttl")
    secret = Secret(name, client=client, ttl=3600).prefetch()  # max_stale: the default, 900
    expires = secret._entry.expires if secret._entry else 0.0
    proxy.fault = lambda op: (400, {"__type": "InternalServiceError", "message": "boom"})

    clock.advance(3600)
    assert secret.value == "long-ttl"  # stale-if-error, though the value is 3600 s old
    clock.now = expires + 899.9
    assert secret.value == "long-ttl"
    clock.now = expires + 900.1
    with pytest.raises(SecretError, match=r"expired 900 s ago, more than max_stale=900 s"):
        secret.value  # noqa: B018
    assert proxy.count("GetSecretValue") >= 2


# -- rotation --------------------------------------------------------------------------


def rotate(sm: Any, name: str, db: FakeDatabase, password: str) -> None:
    """The order a rotation function follows: the new value is current before the old one stops."""
    sm.put_secret_value(SecretId=name, SecretString=json.dumps({"username": "app", "password": password}))
    db.password = password


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

    def worker() -> None:
        while True:
            with numbers_lock:
                number = next(numbers, None)
            if number is None:
                return
            if number == 60:
                rotate(sm, name, db, "pw-1")  # the other seven threads keep going meanwhile
            elif number == 130:
                time.sleep(0.03)  # past min_refresh_interval since the first rotation's refresh
                rotate(sm, name, db, "pw-2")
            try:
                connect()
                time.sleep(0.001)  # the "query"
            except Exception as error:
                failures.append(error)

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


def test_refresh_reports_whether_the_version_changed(sm: Any, client: Any) -> None:
    name = unique()
    sm.create_secret(Name=name, SecretString="one")
    secret = Secret(name, client=client, min_refresh_interval=0)
    assert secret.refresh() is True  # nothing -> something
    assert secret.refresh() is False
    sm.put_secret_value(SecretId=name, SecretString="two")
    assert secret.refresh() is True
    assert secret.value == "two"


# -- stale-if-error, back-off ----------------------------------------------------------


def test_unreachable_secrets_manager_serves_stale_then_raises(
    monkeypatch: pytest.MonkeyPatch, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    own = AwsStandIn().start()
    try:
        for key, value in own.environ().items():
            monkeypatch.setenv(key, value)
        name = unique()
        own.client("secretsmanager").create_secret(Name=name, SecretString="still-good-password")
        secret = Secret(name, ttl=10, max_stale=60).prefetch()
        expires = secret._entry.expires if secret._entry else 0.0  # 9-10 s from now (jitter)
        created = _secrets_backends._shared["sdk"].client("secretsmanager")
        attempts = count_calls(created)
    finally:
        own.stop()

    caplog.set_level(logging.DEBUG, logger="lambda_kit")
    clock.advance(11)
    assert secret.value == "still-good-password"
    for _ in range(200):
        clock.advance(0.2)  # 51 s old, 41-42 s past its TTL: inside max_stale
        assert secret.value == "still-good-password"
    warnings = [record for record in caplog.records if record.name == "lambda_kit.secrets"]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    assert "EndpointConnectionError" in warnings[0].getMessage()
    assert 1 < attempts["GetSecretValue"] <= 8  # backed off, not one attempt per read

    clock.now = expires + 59.9  # max_stale counts from the end of the TTL, not from the fetch
    assert secret.value == "still-good-password"
    clock.now = expires + 60.1
    with pytest.raises(SecretError) as info:
        secret.value  # noqa: B018
    error = info.value
    assert isinstance(error, LambdaKitError)
    assert error.context["code"] == "EndpointConnectionError"
    assert error.context["secret_id"] == name
    assert "max_stale=60" in str(error)
    assert "still-good-password" not in str(error) + repr(error) + caplog.text


@pytest.mark.usefixtures("proxied_environ")  # the default client, through the proxy
def test_throttling_backs_off_with_jitter_and_a_bound(
    sm: Any,
    proxy: CountingProxy,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    draws = iter([0.0, 1.0, 0.0] * 100)
    monkeypatch.setattr(secrets, "_random", lambda: next(draws))
    name = unique()
    sm.create_secret(Name=name, SecretString="cached-before-throttling")
    secret = Secret(name, ttl=1, max_stale=10_000, min_refresh_interval=1).prefetch()
    proxy.fault = lambda op: (400, {"__type": "ThrottlingException", "message": "Rate exceeded"})

    attempt_times: list[float] = []
    step = 0.05
    for _ in range(int(400 / step)):
        clock.advance(step)
        before = proxy.count("GetSecretValue")
        assert secret.value == "cached-before-throttling"
        if proxy.count("GetSecretValue") > before:
            attempt_times.append(clock.now)

    gaps = [later - earlier for earlier, later in itertools.pairwise(attempt_times)]
    assert len(gaps) >= 8
    for number, gap in enumerate(gaps, start=1):
        nominal = min(secrets.BACKOFF_CAP, 2.0 ** (number - 1))
        assert nominal * 0.5 - step <= gap <= nominal + step, (number, gap)
    assert max(gaps) <= secrets.BACKOFF_CAP + step  # bounded
    capped = gaps[6:]  # 2**6 > 30: every later gap is jittered within [15, 30] s
    assert len({round(gap, 1) for gap in capped}) > 1  # jitter: not one fixed period
    # 400 s of reads every 50 ms (8,000 reads): at most one call per 15 s once capped.
    assert len(attempt_times) <= 400 / (secrets.BACKOFF_CAP / 2) + 7
    assert len([r for r in caplog.records if r.name == "lambda_kit.secrets"]) == 1

    proxy.fault = None
    clock.advance(secrets.BACKOFF_CAP)
    assert secret.value == "cached-before-throttling"
    calls = proxy.count("GetSecretValue")
    for _ in range(100):
        assert secret.value == "cached-before-throttling"
    assert proxy.count("GetSecretValue") == calls  # recovered: fresh again


def test_throttling_without_a_cached_value_raises_with_the_aws_code(
    proxy: CountingProxy, client: Any
) -> None:
    proxy.fault = lambda op: (400, {"__type": "ThrottlingException", "message": "Rate exceeded."})
    secret = Secret(unique(), client=client)
    with pytest.raises(SecretError, match="ThrottlingException") as info:
        secret.prefetch()
    assert info.value.context["code"] == "ThrottlingException"
    assert "Rate exceeded" in str(info.value)
    with pytest.raises(SecretError, match="Next attempt in"):
        secret.value  # noqa: B018  # inside the back-off: no call at all
    assert proxy.count("GetSecretValue") == 1


def test_missing_secret_is_a_clear_error(client: Any) -> None:
    with pytest.raises(SecretError) as info:
        Secret("does/not/exist", client=client).prefetch()
    assert info.value.context["code"] == "ResourceNotFoundException"
    assert "does/not/exist" in str(info.value)
    assert "no value has been fetched yet" in str(info.value)


def test_missing_region_is_a_secret_error_with_the_sdk_error_name() -> None:
    with pytest.raises(SecretError) as info:
        Secret("prod/db").prefetch()
    assert info.value.context["code"] == "NoRegionError"


# -- version stages --------------------------------------------------------------------


def test_awscurrent_and_awspending_never_share_a_cache_entry(
    sm: Any, client: Any, proxy: CountingProxy
) -> None:
    name = unique()
    sm.create_secret(Name=name, SecretString="current-value")
    pending = sm.put_secret_value(SecretId=name, SecretString="pending-value", VersionStages=["AWSPENDING"])
    current = Secret(name, client=client).prefetch()
    staged = Secret(name, version_stage="AWSPENDING", client=client).prefetch()
    pinned = Secret(name, version_id=pending["VersionId"], client=client).prefetch()

    for _ in range(10):
        assert current.value == "current-value"
        assert staged.value == "pending-value"
        assert pinned.value == "pending-value"
    assert staged.version_id == pinned.version_id == pending["VersionId"] != current.version_id
    assert proxy.count("GetSecretValue") == 3
    assert repr(staged) == f"Secret({name!r}, version_stage='AWSPENDING')"
    assert (
        repr(pinned) == f"Secret({name!r}, version_stage='AWSCURRENT', version_id={pending['VersionId']!r})"
    )


def test_version_id_with_a_non_default_stage_sends_both(sm: Any, client: Any) -> None:
    name = unique()
    sm.create_secret(Name=name, SecretString="current")
    pending = sm.put_secret_value(SecretId=name, SecretString="pending", VersionStages=["AWSPENDING"])
    both = Secret(name, version_id=pending["VersionId"], version_stage="AWSPENDING", client=client)
    assert both.value == "pending"
    mismatch = Secret(name, version_id=pending["VersionId"], version_stage="AWSPREVIOUS", client=client)
    with pytest.raises(SecretError):
        mismatch.prefetch()


# -- json ------------------------------------------------------------------------------


def test_json_is_parsed_once_per_version(sm: Any, client: Any, clock: FakeClock) -> None:
    name = unique()
    sm.create_secret(Name=name, SecretString='{"user": "app", "password": "pw"}')
    secret = Secret(name, client=client, ttl=10).prefetch()
    first = secret.json()
    assert secret.json() is first
    clock.advance(11)  # refetched, same version: still parsed once
    assert secret.json() is first
    sm.put_secret_value(SecretId=name, SecretString='{"user": "app", "password": "pw2"}')
    clock.advance(11)
    assert secret.json() == {"user": "app", "password": "pw2"}
    assert secret.json() is not first


def test_json_of_a_binary_secret_and_json_errors_never_quote_the_value(sm: Any, client: Any) -> None:
    good, bad, raw = unique(), unique(), unique()
    sm.create_secret(Name=good, SecretBinary=b'{"k": 1}')
    sm.create_secret(Name=bad, SecretString="not-json-TOPSECRET")
    sm.create_secret(Name=raw, SecretBinary=b"\xffTOPSECRET\xfe")
    assert Secret(good, client=client).json() == {"k": 1}
    for name in (bad, raw):
        with pytest.raises(SecretError) as info:
            Secret(name, client=client).json()
        text = "".join(traceback.format_exception(info.value))
        assert "TOPSECRET" not in text
        assert "\\xff" not in text
        assert info.value.context["code"] == "InvalidJSON"
        assert info.value.__cause__ is None
        assert info.value.__context__ is None


def test_json_limits_and_control_characters_are_secret_errors(sm: Any, client: Any) -> None:
    cases = {
        "digits": ('{"pin": ' + "7" * 5000 + "}", "more digits than Python converts"),
        "nesting": ("[" * 30_000 + "]" * 30_000, "nested too deeply"),
        "control": ('{"password": "TOPSECRET\x01"}', "Invalid control character at line 1 column 24"),
        "escape": ('{"password": "TOPSECRET\\q"}', "Invalid \\escape at line 1 column 24"),
        "unterminated": ('{"password": "TOPSECRET', "Unterminated string starting at line 1 column 14"),
    }
    for label, (value, reason) in cases.items():
        name = unique(label)
        sm.create_secret(Name=name, SecretString=value)
        with pytest.raises(SecretError) as info:
            Secret(name, client=client).json()
        message = str(info.value)
        assert reason in message, label
        assert " at at " not in message
        text = "".join(traceback.format_exception(info.value))
        assert "TOPSECRET" not in text
        assert "7777" not in text
        assert info.value.context["code"] == "InvalidJSON"
        assert info.value.__cause__ is None
        assert info.value.__context__ is None


_MARKER = "Zq9MARKERq9Z"


@given(
    before=st.text(max_size=40),
    after=st.text(max_size=40),
    shape=st.sampled_from(["{0}", '{{"p": "{0}"}}', "[{0}]", '{{"n": {0}}}', "{0} {0}"]),
)
def test_json_of_any_text_parses_or_raises_a_secret_error_without_the_value(
    before: str, after: str, shape: str
) -> None:
    value = shape.format(before + _MARKER + after)
    secret = Secret("db", backend=MemoryBackend({"db": value}))
    try:
        secret.json()
    except SecretError as error:
        raised = error
    else:
        return  # valid JSON after all
    assert raised.context["code"] == "InvalidJSON"
    assert _MARKER not in "".join(traceback.format_exception(raised))
    assert " at at " not in str(raised)


# -- parameters ------------------------------------------------------------------------


def test_parameters_string_and_securestring(aws: AwsStandIn, proxy: CountingProxy, clock: FakeClock) -> None:
    admin = aws.client("ssm")
    plain, secure = unique("/app"), unique("/app")
    admin.put_parameter(Name=plain, Value='{"flag": true}', Type="String")
    admin.put_parameter(Name=secure, Value="secure-param-value", Type="SecureString")
    ssm = make_client(proxy.url, "ssm")

    flags = Parameter(plain, client=ssm, ttl=10, min_refresh_interval=0).prefetch()
    token = Parameter(secure, client=ssm).prefetch()
    for _ in range(100):
        assert flags.json() == {"flag": True}
        assert token.value == "secure-param-value"
    assert proxy.count("GetParameter") == 2
    assert flags.version_id == "1"
    assert repr(token) == f"Parameter({secure!r}, with_decryption=True)"

    admin.put_parameter(Name=plain, Value='{"flag": false}', Type="String", Overwrite=True)
    assert flags.refresh() is True
    assert flags.json() == {"flag": False}
    assert flags.version_id == "2"
    assert Parameter(secure, client=ssm, with_decryption=False).value != "secure-param-value"

    with pytest.raises(SecretError) as info:
        Parameter(unique("/missing"), client=ssm).prefetch()
    assert info.value.context["code"] == "ParameterNotFound"


@pytest.mark.usefixtures("proxied_environ")
def test_parameter_default_client_and_stale_if_error(
    aws: AwsStandIn, proxy: CountingProxy, clock: FakeClock
) -> None:
    name = unique("/app")
    aws.client("ssm").put_parameter(Name=name, Value="param-v1", Type="String")
    parameter = Parameter(name, ttl=5, max_stale=20).prefetch()
    proxy.fault = lambda op: (400, {"__type": "ThrottlingException", "message": "Rate exceeded"})
    clock.advance(6)
    assert parameter.value == "param-v1"
    clock.advance(20)
    with pytest.raises(SecretError, match="ThrottlingException"):
        parameter.value  # noqa: B018


# -- the Parameters and Secrets extension ----------------------------------------------


class ExtensionStandIn:
    """The Parameters and Secrets Lambda Extension, reading from moto: 400 until ready."""

    def __init__(self, aws: AwsStandIn, token: str) -> None:
        self.ready = False
        self.garbage = False
        self.cache: dict[str, dict[str, Any]] | None = None  # set to {} to cache like the real one
        self.requests: list[str] = []
        self.bad_tokens = 0
        secrets_client = aws.client("secretsmanager")
        ssm_client = aws.client("ssm")
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def do_GET(self) -> None:
                stand_in.requests.append(self.path)
                if self.headers.get("X-Aws-Parameters-Secrets-Token") != token:
                    stand_in.bad_tokens += 1
                    return self._send(401, {"message": "missing token"})
                if not stand_in.ready:
                    return self._send(400, {"message": "not ready to serve traffic, please wait"})
                if stand_in.garbage:
                    return self._send(200, {"unexpected": "shape"})
                if stand_in.cache is not None and self.path in stand_in.cache:
                    return self._send(200, stand_in.cache[self.path])
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                if url.path == "/secretsmanager/get":
                    params = {"SecretId": query["secretId"]}
                    if "versionStage" in query:
                        params["VersionStage"] = query["versionStage"]
                    if "versionId" in query:
                        params["VersionId"] = query["versionId"]
                    answer = secrets_client.get_secret_value(**params)
                    document: dict[str, Any] = {"Name": answer["Name"], "VersionId": answer["VersionId"]}
                    if "SecretString" in answer:
                        document["SecretString"] = answer["SecretString"]
                    else:
                        document["SecretBinary"] = base64.b64encode(answer["SecretBinary"]).decode()
                else:
                    decrypt = query.get("withDecryption") == "true"
                    found = ssm_client.get_parameter(Name=query["name"], WithDecryption=decrypt)["Parameter"]
                    document = {"Parameter": {"Value": found["Value"], "Version": found["Version"]}}
                if stand_in.cache is not None:
                    stand_in.cache[self.path] = document
                return self._send(200, document)

            def _send(self, status: int, document: dict[str, Any]) -> None:
                data = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def extension(aws: AwsStandIn, monkeypatch: pytest.MonkeyPatch) -> Iterator[ExtensionStandIn]:
    monkeypatch.setenv("AWS_SESSION_TOKEN", "session-token-for-the-extension")
    stand_in = ExtensionStandIn(aws, "session-token-for-the-extension")
    monkeypatch.setenv("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", str(stand_in.port))
    yield stand_in
    stand_in.close()


def test_extension_falls_back_to_the_sdk_during_init_then_serves_warm_reads(
    sm: Any, client: Any, proxy: CountingProxy, extension: ExtensionStandIn, clock: FakeClock
) -> None:
    name = unique()
    sm.create_secret(Name=name, SecretBinary=b"\x01binary-from-extension\x02")
    secret = Secret(name, backend="extension", client=client, ttl=10).prefetch()  # INIT: 400
    assert secret.value == b"\x01binary-from-extension\x02"
    assert len(extension.requests) == 1
    assert proxy.count("GetSecretValue") == 1

    extension.ready = True
    clock.advance(11)
    assert secret.value == b"\x01binary-from-extension\x02"
    assert len(extension.requests) == 2
    assert proxy.count("GetSecretValue") == 1
    assert extension.requests[-1] == f"/secretsmanager/get?secretId={urllib.parse.quote(name, safe='')}" + (
        "&versionStage=AWSCURRENT"
    )
    assert extension.bad_tokens == 0

    clock.advance(5)
    secret.refresh()  # forced: straight to Secrets Manager, past the extension's own cache
    assert len(extension.requests) == 2
    assert proxy.count("GetSecretValue") == 2


def test_extension_never_goes_back_to_a_version_older_than_a_forced_refresh(
    sm: Any,
    client: Any,
    proxy: CountingProxy,
    extension: ExtensionStandIn,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_secrets_backends, "_monotonic", clock)
    extension.ready = True
    extension.cache = {}  # like the real extension: answers from its own cache
    name = unique()
    sm.create_secret(Name=name, SecretString="old-password")
    secret = Secret(name, backend="extension", client=client, ttl=60, min_refresh_interval=0).prefetch()
    old = secret.version_id
    assert (len(extension.requests), proxy.count("GetSecretValue")) == (1, 0)

    sm.put_secret_value(SecretId=name, SecretString="new-password")  # rotated
    assert secret.refresh() is True  # forced (after an auth failure): straight to Secrets Manager
    new = secret.version_id
    assert new != old
    assert proxy.count("GetSecretValue") == 1

    clock.advance(61)  # TTL refresh while the extension may still cache the old version
    assert secret.value == "new-password"
    assert len(extension.requests) == 1  # not asked: bypassed for SECRETS_MANAGER_TTL (300 s)
    assert proxy.count("GetSecretValue") == 2

    clock.advance(240)  # 301 s after the forced refresh: the extension is asked again, but its
    assert secret.value == "new-password"  # answer (the old version, still cached) is not believed
    assert secret.version_id == new
    assert len(extension.requests) == 2
    assert proxy.count("GetSecretValue") == 3

    extension.cache.clear()  # the extension refreshed its cache: it now agrees and serves
    clock.advance(61)
    assert secret.value == "new-password"
    assert len(extension.requests) == 3
    assert proxy.count("GetSecretValue") == 3


def test_extension_parameters_follow_ssm_parameter_store_ttl(
    aws: AwsStandIn,
    proxy: CountingProxy,
    extension: ExtensionStandIn,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_secrets_backends, "_monotonic", clock)
    monkeypatch.setenv("SSM_PARAMETER_STORE_TTL", "30")
    extension.ready = True
    extension.cache = {}
    name = unique("/ext")
    admin = aws.client("ssm")
    admin.put_parameter(Name=name, Value="one", Type="String")
    fallback = SdkBackend(ssm=make_client(proxy.url, "ssm"))
    parameter = Parameter(name, backend=ExtensionBackend(fallback=fallback), ttl=10, min_refresh_interval=0)
    assert (parameter.value, parameter.version_id) == ("one", "1")

    admin.put_parameter(Name=name, Value="two", Type="String", Overwrite=True)
    assert parameter.refresh() is True
    clock.advance(11)
    assert parameter.value == "two"
    assert len(extension.requests) == 1  # bypassed for 30 s
    clock.advance(20)
    assert (parameter.value, parameter.version_id) == ("two", "2")  # asked; its "1" checked, refused
    assert len(extension.requests) == 2
    assert proxy.count("GetParameter") == 3


@pytest.mark.parametrize(
    ("variable", "raw", "expected"),
    [
        ("SECRETS_MANAGER_TTL", None, 300.0),
        ("SECRETS_MANAGER_TTL", "120", 120.0),
        ("SECRETS_MANAGER_TTL", "0", 0.0),
        ("SECRETS_MANAGER_TTL", "301", 300.0),
        ("SECRETS_MANAGER_TTL", "-5", 300.0),
        ("SECRETS_MANAGER_TTL", "five minutes", 300.0),
        ("SECRETS_MANAGER_TTL", "nan", 300.0),
        ("SSM_PARAMETER_STORE_TTL", None, 300.0),
        ("SSM_PARAMETER_STORE_TTL", "3600", 3600.0),
        ("SSM_PARAMETER_STORE_TTL", "86400", 3600.0),
    ],
)
def test_extension_bypass_window_is_the_extensions_own_ttl(
    monkeypatch: pytest.MonkeyPatch, variable: str, raw: str | None, expected: float
) -> None:
    if raw is not None:
        monkeypatch.setenv(variable, raw)
    backend = ExtensionBackend(port=2773, fallback=MemoryBackend({}))
    window = backend._secrets_ttl if variable == "SECRETS_MANAGER_TTL" else backend._parameters_ttl
    assert window == expected


def test_extension_serves_parameters_and_pinned_versions(
    aws: AwsStandIn, sm: Any, extension: ExtensionStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    extension.ready = True
    name = unique("/ext")
    aws.client("ssm").put_parameter(Name=name, Value="from-extension", Type="SecureString")
    secret_name = unique()
    sm.create_secret(Name=secret_name, SecretString="first")
    pending = sm.put_secret_value(SecretId=secret_name, SecretString="second", VersionStages=["AWSPENDING"])
    monkeypatch.setenv("LAMBDA_KIT_SECRETS_BACKEND", "extension")  # no SDK configured at all

    assert Parameter(name).value == "from-extension"
    assert Secret(secret_name, version_id=pending["VersionId"]).value == "second"
    assert len(extension.requests) == 2
    assert "withDecryption=true" in extension.requests[0]
    assert f"versionId={pending['VersionId']}" in extension.requests[1]
    assert isinstance(_secrets_backends._shared["extension"], ExtensionBackend)


def test_extension_absent_falls_back_to_the_sdk(
    sm: Any, client: Any, proxy: CountingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    name = unique()
    sm.create_secret(Name=name, SecretString="sdk-value")
    ssm_admin_name = unique("/p")
    backend = ExtensionBackend(port=port, fallback=SdkBackend(secretsmanager=client), timeout=0.5)
    assert Secret(name, backend=backend).value == "sdk-value"
    assert proxy.count("GetSecretValue") == 1
    assert f"port={port}" in repr(backend)
    with pytest.raises(SecretError):
        Parameter(ssm_admin_name, backend=backend).prefetch()  # falls back to an SSM client: no region


def test_extension_port_and_timeout_are_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", "not-a-port")
    with pytest.raises(ConfigurationError, match="PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"):
        ExtensionBackend()
    with pytest.raises(ConfigurationError, match="port"):
        ExtensionBackend(port=70000)
    with pytest.raises(ConfigurationError, match="timeout"):
        ExtensionBackend(port=2773, timeout=0)
    monkeypatch.setenv("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", "")
    assert ExtensionBackend().port == 2773
    with pytest.raises(ConfigurationError, match="read_timeout"):
        SdkBackend(read_timeout=-1)


@given(
    value=st.one_of(st.text(min_size=1, max_size=300), st.binary(min_size=1, max_size=300)),
    version=st.text(min_size=1, max_size=64),
)
def test_extension_secret_answers_round_trip(value: str | bytes, version: str) -> None:
    document: dict[str, Any] = {"Name": "n", "VersionId": version}
    if isinstance(value, bytes):
        document["SecretBinary"] = base64.b64encode(value).decode()
    else:
        document["SecretString"] = value
    assert _secrets_backends.parse_extension_secret(json.dumps(document).encode()) == (value, version)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
DOCUMENTS = st.fixed_dictionaries(
    {},
    optional={
        "VersionId": JSON,
        "SecretString": JSON,
        "SecretBinary": JSON | st.binary(max_size=30).map(lambda b: base64.b64encode(b).decode()),
        "Parameter": st.fixed_dictionaries({}, optional={"Value": JSON, "Version": JSON}),
    },
)


@given(
    body=st.one_of(
        st.binary(max_size=200),
        JSON.map(lambda v: json.dumps(v).encode()),
        DOCUMENTS.map(lambda v: json.dumps(v).encode()),
    )
)
def test_extension_parsers_turn_any_bad_answer_into_value_error(body: bytes) -> None:
    for parse in (_secrets_backends.parse_extension_secret, _secrets_backends.parse_extension_parameter):
        try:
            value, version = parse(body)
        except ValueError as error:
            assert "extension" in str(error)  # noqa: PT017 - each parser may accept or reject
        else:
            assert isinstance(value, (str, bytes))
            assert isinstance(version, str)


@pytest.mark.parametrize(
    "document",
    [
        {"VersionId": "v", "SecretBinary": "***not base64***"},
        {"VersionId": "v"},
        {"SecretString": "x"},
        ["not", "an", "object"],
    ],
)
def test_extension_secret_rejects_malformed_documents(document: Any) -> None:
    with pytest.raises(ValueError, match="extension"):
        _secrets_backends.parse_extension_secret(json.dumps(document).encode())


def test_extension_parameter_parser() -> None:
    assert _secrets_backends.parse_extension_parameter(b'{"Parameter": {"Value": "v", "Version": 3}}') == (
        "v",
        "3",
    )
    for bad in (b"nope", b'{"Parameter": {"Value": "v", "Version": true}}', b"[]"):
        with pytest.raises(ValueError, match="extension"):
            _secrets_backends.parse_extension_parameter(bad)


# -- SnapStart -------------------------------------------------------------------------


@pytest.mark.usefixtures("proxied_environ")
def test_values_fetched_before_a_snapshot_are_refetched_after_restore(
    sm: Any, proxy: CountingProxy, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(secrets, "RESTORE_REFETCH_WAIT", 30.0)  # this test is not about the bound
    name = unique()
    sm.create_secret(Name=name, SecretString="before-snapshot")
    secret = Secret(name).prefetch()
    never_fetched = Secret(unique())
    backend = _secrets_backends._shared["sdk"]
    old_client = backend.client("secretsmanager")
    sm.put_secret_value(SecretId=name, SecretString="after-restore")

    simulate_restore()
    # Refetched by the hook, through a new client (fresh credentials and sockets) ...
    assert proxy.count("GetSecretValue") == 2
    new_client = backend.client("secretsmanager")
    assert new_client is not old_client
    # ... so the first invocation after the restore pays nothing.
    assert secret.value == "after-restore"
    assert proxy.count("GetSecretValue") == 2
    assert backend.client("secretsmanager") is new_client
    assert never_fetched._entry is None


def test_after_restore_a_failed_refetch_never_serves_the_snapshot_value(
    sm: Any, client: Any, proxy: CountingProxy, clock: FakeClock
) -> None:
    name = unique()
    sm.create_secret(Name=name, SecretString="from-the-snapshot")
    secret = Secret(name, client=client, max_stale=10_000).prefetch()
    later: list[str] = []
    lifecycle.on_after_restore(lambda: later.append("ran"))  # a hook after lambda-kit's own
    proxy.fault = lambda op: (400, {"__type": "ThrottlingException", "message": "Rate exceeded"})

    simulate_restore()  # the hook's refetch fails: nothing raises out of the hook chain
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
    sm: Any, client: Any, proxy: CountingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(secrets, "RESTORE_REFETCH_WAIT", 0.2)
    first_name, second_name = unique(), unique()
    sm.create_secret(Name=first_name, SecretString="before")
    sm.create_secret(Name=second_name, SecretString="second")
    first = Secret(first_name, client=client).prefetch()
    second = Secret(second_name, client=client).prefetch()
    sm.put_secret_value(SecretId=first_name, SecretString="after")
    started, release = threading.Event(), threading.Event()

    def hold_the_first(operation: str) -> None:
        if not started.is_set():
            started.set()
            release.wait(30)  # the first refetch hangs on the wire

    proxy.fault = hold_the_first
    try:
        simulate_restore()  # returns after RESTORE_REFETCH_WAIT, the fetch still on the wire
        assert started.is_set()
        assert first._entry is not None
        assert first._entry.restored
        assert second.value == "second"  # its reader fetches it, not waiting for the first
    finally:
        release.set()
    assert first.value == "after"  # waits for the fetch in flight instead of starting another
    for worker in threading.enumerate():
        if worker.name == "lambda-kit-secrets-restore":
            worker.join(10)
    assert proxy.count("GetSecretValue") == 4  # two prefetches, one refetch each: none twice


def test_secrets_made_in_a_loop_are_freed_and_share_one_restore_hook(
    sm: Any, client: Any, proxy: CountingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(secrets, "RESTORE_REFETCH_WAIT", 30.0)
    name = unique()
    sm.create_secret(Name=name, SecretString="v1")
    refs: list[weakref.ref[Secret]] = []
    for number in range(3000):  # e.g. Secret(...) created inside a handler by mistake
        made = Secret(name, client=client)
        if number < 3:
            assert made.value == "v1"
        refs.append(weakref.ref(made))
    del made
    gc.collect()
    assert [ref for ref in refs if ref() is not None] == []
    assert lifecycle._hooks["after_restore"] == [secrets._after_restore]

    kept = Secret(name, client=client).prefetch()
    sm.put_secret_value(SecretId=name, SecretString="v2")
    simulate_restore()
    assert proxy.count("GetSecretValue") == 5  # three reads, the prefetch, one refetch for `kept`
    assert kept.value == "v2"


def test_reset_lifecycle_forgets_old_secrets_and_the_hook_comes_back(
    sm: Any, client: Any, proxy: CountingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(secrets, "RESTORE_REFETCH_WAIT", 30.0)
    name = unique()
    sm.create_secret(Name=name, SecretString="value")
    old = Secret(name, client=client).prefetch()
    reset_lifecycle()  # a fresh execution environment: every hook is forgotten
    assert lifecycle._hooks["after_restore"] == []
    new = Secret(name, client=client).prefetch()
    assert lifecycle._hooks["after_restore"] == [secrets._after_restore]

    simulate_restore()
    assert proxy.count("GetSecretValue") == 3  # two prefetches, then the refetch of `new` only
    assert old._entry is not None
    assert not old._entry.restored
    assert new._entry is not None
    assert not new._entry.restored


# -- never leak the value --------------------------------------------------------------


def test_no_secret_value_in_any_log_repr_or_error(
    sm: Any,
    proxy: CountingProxy,
    client: Any,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    marker = "S3CR3T-" + uuid.uuid4().hex
    caplog.set_level(logging.DEBUG, logger="lambda_kit")
    name = unique()
    sm.create_secret(Name=name, SecretString=json.dumps({"password": marker}))
    texts: list[str] = []
    secret = Secret(name, client=client, ttl=5, max_stale=10, min_refresh_interval=0).prefetch()
    texts += [
        repr(secret),
        str(secret),
        f"{secret}",
        repr(_secrets_backends.SdkBackend(secretsmanager=client)),
    ]
    texts.append(repr(secret._get_backend()))

    @secret.refetch_on(AuthFailedError)
    def connect() -> None:
        raise AuthFailedError("login failed")

    with pytest.raises(AuthFailedError) as auth:
        connect()
    texts.append("".join(traceback.format_exception(auth.value)))

    proxy.fault = lambda op: (400, {"__type": "InternalServiceError", "message": "boom"})
    clock.advance(6)
    assert secret.json()["password"] == marker  # stale, with a warning
    clock.advance(10)
    with pytest.raises(SecretError) as info:
        secret.value  # noqa: B018
    for error in (info.value, *chain(info.value)):
        texts += [str(error), repr(error), repr(getattr(error, "context", ""))]
    texts.append("".join(traceback.format_exception(info.value)))
    with pytest.raises(SecretError) as refreshing:
        secret.refresh()
    texts.append("".join(traceback.format_exception(refreshing.value)))

    captured = capsys.readouterr()
    texts += [caplog.text, captured.out, captured.err]
    everything = "\n".join(texts)
    assert "InternalServiceError" in everything  # the errors were really captured
    assert "lambda_kit.secrets" in caplog.text or "serving the cached version" in caplog.text
    assert marker not in everything
    assert "S3CR3T" not in everything


def chain(error: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    current = error.__cause__ or error.__context__
    while current is not None:
        found.append(current)
        current = current.__cause__ or current.__context__
    return found


# -- custom backends and configuration -------------------------------------------------


class MemoryBackend:
    """An in-memory backend: values by id, errors on demand."""

    def __init__(self, values: dict[str, str | bytes]) -> None:
        self.values = values
        self.calls = 0
        self.error: Exception | None = None

    def get_secret_value(
        self, secret_id: str, *, version_stage: str | None, version_id: str | None, forced: bool
    ) -> tuple[str | bytes, str]:
        self.calls += 1
        if self.error is not None:
            raise self.error
        value = self.values[secret_id]
        return value, f"v-{hash(value)}"

    def get_parameter(self, name: str, *, with_decryption: bool, forced: bool) -> tuple[str, str]:
        value = self.get_secret_value(name, version_stage=None, version_id=None, forced=forced)[0]
        return str(value), "1"


def test_a_custom_backends_own_errors_become_secret_errors(clock: FakeClock) -> None:
    backend = MemoryBackend({"db": "memory-value"})
    secret = Secret("db", backend=backend, ttl=1, max_stale=1)
    assert secret.value == "memory-value"
    backend.error = KeyError("memory-value")
    clock.advance(2.5)
    with pytest.raises(SecretError) as info:
        secret.value  # noqa: B018
    assert info.value.context["code"] == "KeyError"
    assert "KeyError" in str(info.value)
    formatted = "".join(traceback.format_exception(info.value))
    assert "memory-value" not in formatted  # KeyError('memory-value') is never chained
    assert [type(error) for error in chain(info.value)] == [SecretError]


def test_an_empty_response_is_an_error() -> None:
    class Empty:
        def get_secret_value(self, **kwargs: Any) -> dict[str, Any]:
            return {"VersionId": "x"}

        def get_parameter(self, **kwargs: Any) -> dict[str, Any]:
            return {"Parameter": {"Version": 1}}

    with pytest.raises(SecretError, match="neither SecretString nor SecretBinary"):
        Secret("x", client=Empty()).prefetch()
    with pytest.raises(SecretError, match="no Value"):
        Parameter("x", client=Empty()).prefetch()


def test_settings_come_from_arguments_then_environment(
    monkeypatch: pytest.MonkeyPatch, clock: FakeClock
) -> None:
    backend = MemoryBackend({"db": "x"})
    monkeypatch.setenv("LAMBDA_KIT_SECRETS_TTL", "20")
    monkeypatch.setenv("LAMBDA_KIT_SECRETS_MAX_STALE", "0")
    monkeypatch.setenv("LAMBDA_KIT_SECRETS_MIN_REFRESH_INTERVAL", "0")
    secret = Secret("db", backend=backend)
    assert (secret._ttl, secret._max_stale, secret._min_interval) == (20.0, 0.0, 0.0)
    explicit = Secret("db", backend=backend, ttl=5, max_stale=7, min_refresh_interval=2)
    assert (explicit._ttl, explicit._max_stale, explicit._min_interval) == (5.0, 7.0, 2.0)
    monkeypatch.delenv("LAMBDA_KIT_SECRETS_TTL")
    assert Secret("db", backend=backend)._ttl == secrets.DEFAULT_TTL


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"ttl": 0}, "ttl"),
        ({"ttl": float("inf")}, "ttl"),
        ({"ttl": True}, "ttl"),
        ({"max_stale": -1}, "max_stale"),
        ({"min_refresh_interval": float("nan")}, "min_refresh_interval"),
        ({"backend": "carrier-pigeon"}, "backend"),
        ({"version_stage": ""}, "version_stage"),
        ({"version_id": "short"}, "version_id"),
        ({"client": object(), "backend": MemoryBackend({})}, "either client"),
    ],
)
def test_invalid_settings_are_configuration_errors(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        Secret("db", **kwargs)


def test_invalid_names_and_environment_values(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError, match="secret_id"):
        Secret("")
    with pytest.raises(ConfigurationError, match="name"):
        Parameter("x" * 2049)
    monkeypatch.setenv("LAMBDA_KIT_SECRETS_BACKEND", "nope")
    with pytest.raises(ConfigurationError, match="LAMBDA_KIT_SECRETS_BACKEND"):
        Secret("db")
    monkeypatch.setenv("LAMBDA_KIT_SECRETS_BACKEND", " SDK ")
    assert Secret("db")._backend == "sdk"


def test_unknown_module_attribute() -> None:
    with pytest.raises(AttributeError, match="no_such_thing"):
        secrets.no_such_thing  # noqa: B018
    assert secrets.SdkBackend is SdkBackend


# -- hypothesis over ids, values, stages and TTLs, against moto ------------------------

_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/_+=.@-"
_shared_aws: dict[str, Any] = {}


@given(
    secret_id=st.text(alphabet=_ID_ALPHABET, min_size=1, max_size=40),
    value=st.one_of(
        st.text(alphabet=st.characters(exclude_categories=["Cs"]), min_size=1, max_size=500),
        st.binary(min_size=1, max_size=500),
    ),
    stage=st.one_of(
        st.just("AWSPENDING"),
        st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789", min_size=1, max_size=20),
    ),
    ttl=st.floats(min_value=0.5, max_value=86_400, allow_nan=False),
)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_id_value_stage_and_ttl(
    aws: AwsStandIn,
    monkeypatch: pytest.MonkeyPatch,
    secret_id: str,
    value: str | bytes,
    stage: str,
    ttl: float,
) -> None:
    if "client" not in _shared_aws:
        _shared_aws["admin"] = aws.client("secretsmanager")
        _shared_aws["client"] = make_client(aws.endpoint_url)
        _shared_aws["calls"] = count_calls(_shared_aws["client"])
    admin, client, calls = _shared_aws["admin"], _shared_aws["client"], _shared_aws["calls"]
    clock = FakeClock()
    monkeypatch.setattr(secrets, "_monotonic", clock)
    name = f"h{uuid.uuid4().hex[:8]}/{secret_id}"
    admin.create_secret(Name=name, SecretString="the-current-one")
    put = {"SecretString": value} if isinstance(value, str) else {"SecretBinary": value}
    staged = admin.put_secret_value(SecretId=name, VersionStages=[stage], **put)

    secret = Secret(name, version_stage=stage, ttl=ttl, client=client)
    current = Secret(name, client=client)
    before = calls["GetSecretValue"]
    assert secret.value == value
    assert secret.version_id == staged["VersionId"]
    if stage != "AWSCURRENT":
        assert current.value == "the-current-one"
    assert repr(secret) == f"Secret({name!r}, version_stage={stage!r})"
    fetched = calls["GetSecretValue"]

    clock.advance(ttl * 0.899)
    assert secret.value == value
    assert calls["GetSecretValue"] == fetched
    clock.advance(ttl * 0.102)
    assert secret.value == value
    assert calls["GetSecretValue"] == fetched + 1
    assert fetched - before == (2 if stage != "AWSCURRENT" else 1)


# -- import cost -----------------------------------------------------------------------


# -- edges -----------------------------------------------------------------------------


def test_version_id_fetches_when_nothing_is_cached() -> None:
    backend = MemoryBackend({"db": "x"})
    assert Secret("db", backend=backend).version_id == f"v-{hash('x')}"
    assert backend.calls == 1


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


def test_a_first_fetch_in_flight_is_shared_by_readers_that_have_nothing_yet() -> None:
    started, release = threading.Event(), threading.Event()

    class SlowBackend(MemoryBackend):
        def get_secret_value(self, secret_id: str, **kwargs: Any) -> tuple[str | bytes, str]:
            started.set()
            release.wait(10)
            return super().get_secret_value(secret_id, **kwargs)

    backend = SlowBackend({"db": "slow-value"})
    secret = Secret("db", backend=backend)
    results: list[str | bytes] = []
    first = threading.Thread(target=lambda: results.append(secret.value))
    first.start()
    started.wait(10)
    second = threading.Thread(target=lambda: results.append(secret.value))
    second.start()
    release.set()
    first.join()
    second.join()
    assert results == ["slow-value", "slow-value"]
    assert backend.calls == 1


def test_restore_before_any_fetch_is_harmless() -> None:
    backend = MemoryBackend({"db": "x"})
    secret = Secret("db", backend=backend)
    simulate_restore()
    assert secret.value == "x"
    assert backend.calls == 1


def test_extension_garbage_falls_back_and_forced_parameter_refresh_skips_it(
    aws: AwsStandIn, sm: Any, extension: ExtensionStandIn, proxy: CountingProxy
) -> None:
    extension.ready = True
    extension.garbage = True
    name, parameter_name = unique(), unique("/ext")
    sm.create_secret(Name=name, SecretString="from-sdk")
    aws.client("ssm").put_parameter(Name=parameter_name, Value="param-from-sdk", Type="String")
    fallback = SdkBackend(secretsmanager=make_client(proxy.url), ssm=make_client(proxy.url, "ssm"))
    backend = ExtensionBackend(fallback=fallback)
    assert Secret(name, backend=backend).value == "from-sdk"
    parameter = Parameter(parameter_name, backend=backend, min_refresh_interval=0)
    assert parameter.value == "param-from-sdk"
    assert len(extension.requests) == 2
    assert proxy.count("GetSecretValue") == 1
    assert proxy.count("GetParameter") == 1
    parameter.refresh()
    assert len(extension.requests) == 2
    assert proxy.count("GetParameter") == 2


@pytest.mark.usefixtures("proxied_environ")
def test_one_shared_sdk_backend_serves_secrets_manager_and_ssm(
    aws: AwsStandIn, sm: Any, proxy: CountingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    name, parameter_name = unique(), unique("/both")
    sm.create_secret(Name=name, SecretString="s")
    aws.client("ssm").put_parameter(Name=parameter_name, Value="p", Type="String")
    assert Secret(name).value == "s"
    monkeypatch.setenv("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", "9")  # nothing listens: SDK fallback
    assert Parameter(parameter_name, backend="extension").value == "p"
    shared = _secrets_backends._shared
    assert shared["extension"]._fallback is shared["sdk"]
    assert "secretsmanager, ssm" in repr(shared["sdk"])


# -- issue 11: rotation during a TTL refresh, values in frame locals, the extension -----


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


# What a tool that prints tracebacks with their locals shows (Sentry, pytest -l): every
# exception of the chain, causes and contexts (shown or suppressed), each frame's locals,
# and every attribute of every exception (JSONDecodeError.doc, UnicodeDecodeError.object).


def everything_a_traceback_tool_can_show(error: BaseException) -> str:
    texts: list[str] = []
    pending: list[BaseException] = [error]
    seen: set[int] = set()
    while pending and len(seen) < 50:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        formatted = traceback.TracebackException.from_exception(current, capture_locals=True)
        texts.append("".join(formatted.format()))
        for frame, _ in traceback.walk_tb(current.__traceback__):
            texts.extend(repr(value) for value in frame.f_locals.values())
        for attribute in dir(current):
            if not attribute.startswith("__"):
                texts.append(repr(getattr(current, attribute, None)))
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return "\n".join(texts)


def raised_by(call: Callable[[], object]) -> BaseException:
    """The exception ``call`` raises, caught in a frame whose locals hold no secret."""
    try:
        call()
    except BaseException as error:  # any exception is what the test looks at
        return error
    raise AssertionError("nothing was raised")


_DIGITS = "31415926535897932384626433832795028841971"
_LEAK_MARKER = "Lk7SECRETv4lue"


def malformed_values() -> dict[str, tuple[str | bytes, str]]:
    """Values that are not JSON, each with the text that must never be shown."""
    mark = _LEAK_MARKER
    return {
        "unterminated": ('{"username": "app", "password": "' + mark, mark),
        "bare words": (f"{mark} is not JSON", mark),
        "control character": ('{"password": "' + mark + '\x01"}', mark),
        "bad escape": ('{"password": "' + mark + '\\q"}', mark),
        "trailing data": ('{"password": "' + mark + '"} extra', mark),
        "deep nesting": ("[" * 20_000 + json.dumps(mark) + "]" * 20_000, mark),
        "long integer": ('{"pin": ' + _DIGITS * 120 + "}", _DIGITS),
        "binary, not UTF-8": (b"\xff\xfe" + mark.encode() + b"\xfe", mark),
        "UTF-8 bytes, not JSON": (b'{"password": "' + mark.encode() + b'"', mark),
    }


@pytest.mark.parametrize("label", list(malformed_values()))
def test_json_errors_leave_no_value_in_any_frame_or_chained_exception(
    sm: Any, client: Any, label: str
) -> None:
    value, shown = malformed_values()[label]
    name = unique()
    sm.create_secret(
        Name=name, **({"SecretBinary": value} if isinstance(value, bytes) else {"SecretString": value})
    )
    secret = Secret(name, client=client)
    assert secret.value == value

    error = raised_by(secret.json)

    assert isinstance(error, SecretError)
    assert error.context["code"] == "InvalidJSON"
    assert name in str(error)
    everything = everything_a_traceback_tool_can_show(error)
    assert "json" in everything  # the frames and their locals really were formatted
    assert shown not in everything
    assert shown not in repr(secret._entry)


def test_parameter_json_errors_leave_no_value_in_any_frame(aws: AwsStandIn, proxy: CountingProxy) -> None:
    name = unique("/app")
    aws.client("ssm").put_parameter(Name=name, Value='{"token": "' + _LEAK_MARKER, Type="SecureString")
    parameter = Parameter(name, client=make_client(proxy.url, "ssm"))

    error = raised_by(parameter.json)

    assert isinstance(error, SecretError)
    assert _LEAK_MARKER not in everything_a_traceback_tool_can_show(error)


def test_json_that_cannot_be_parsed_for_any_other_reason_is_a_secret_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = Secret("db", backend=MemoryBackend({"db": '{"password": "' + _LEAK_MARKER + '"}'}))
    secret.prefetch()

    def out_of_memory(text: str) -> Any:
        raise MemoryError

    monkeypatch.setattr(json, "loads", out_of_memory)
    error = raised_by(secret.json)

    assert isinstance(error, SecretError)
    assert "could not be parsed (MemoryError)" in str(error)
    assert _LEAK_MARKER not in everything_a_traceback_tool_can_show(error)


def test_failed_reads_refreshes_and_retries_leave_no_value_in_any_frame(clock: FakeClock) -> None:
    backend = MemoryBackend({"db": json.dumps({"password": _LEAK_MARKER})})
    secret = Secret("db", backend=backend, ttl=10, max_stale=5, min_refresh_interval=0).prefetch()
    assert secret.json()["password"] == _LEAK_MARKER

    @secret.refetch_on(AuthFailedError)
    def connect() -> None:
        secret.json()
        raise AuthFailedError("login failed")

    errors = [raised_by(connect)]
    backend.error = ConnectionError("unreachable")
    clock.advance(16)  # past the TTL and max_stale: reads and refreshes raise
    errors += [raised_by(lambda: secret.value), raised_by(secret.json), raised_by(secret.refresh)]
    errors += [raised_by(lambda: secret.version_id), raised_by(connect)]

    assert [type(error) for error in errors] == [AuthFailedError] + [SecretError] * 5
    for error in errors:
        assert _LEAK_MARKER not in everything_a_traceback_tool_can_show(error)


class StubClient:
    """A client that returns a fixed response: the shapes boto3 never returns, a custom client might."""

    def __init__(self, response: Any) -> None:
        self.response = response

    def get_secret_value(self, **kwargs: Any) -> Any:
        return self.response

    def get_parameter(self, **kwargs: Any) -> Any:
        return self.response


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        ({"SecretString": {"password": _LEAK_MARKER}, "VersionId": "v"}, "of type dict"),
        ({"SecretBinary": [_LEAK_MARKER], "VersionId": "v"}, "of type list"),
        ([{"SecretString": _LEAK_MARKER}], "a list instead of a response"),
    ],
)
def test_sdk_answers_of_the_wrong_shape_are_secret_errors_that_never_show_the_value(
    response: Any, reason: str
) -> None:
    error = raised_by(Secret("db", client=StubClient(response)).prefetch)

    assert isinstance(error, SecretError)
    assert error.context["code"] == "EmptySecret"
    assert reason in str(error)
    assert _LEAK_MARKER not in everything_a_traceback_tool_can_show(error)


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        ({"Parameter": {"Value": _LEAK_MARKER, "Version": [1]}}, "a Version of type list"),
        ({"Parameter": {"Value": _LEAK_MARKER, "Version": True}}, "a Version of type bool"),
        ({"Parameter": [_LEAK_MARKER]}, "no Value"),
        ({"Parameter": {"Value": [_LEAK_MARKER], "Version": 1}}, "no Value"),
        (_LEAK_MARKER, "no Value"),
    ],
)
def test_sdk_parameter_answers_of_the_wrong_shape_are_secret_errors(response: Any, reason: str) -> None:
    error = raised_by(Parameter("/p", client=StubClient(response)).prefetch)

    assert isinstance(error, SecretError)
    assert error.context["code"] == "EmptyParameter"
    assert reason in str(error)
    assert _LEAK_MARKER not in everything_a_traceback_tool_can_show(error)


def test_sdk_answers_without_a_text_version_id_get_an_empty_one() -> None:
    assert Secret("db", client=StubClient({"SecretString": "s", "VersionId": 7})).version_id == ""
    assert Parameter("/p", client=StubClient({"Parameter": {"Value": "p"}})).version_id == ""


@pytest.mark.parametrize(
    ("answer", "shape"),
    [
        ({"password": _LEAK_MARKER, "user": "app"}, "a dict"),
        ((int(_DIGITS[:12]), "v1"), "a tuple of (int, str)"),
        ((_LEAK_MARKER, 1), "a tuple of (str, int)"),
        ((_LEAK_MARKER, "v", "x", "y"), "a tuple of (str, str, str, ...)"),
        (_LEAK_MARKER, "a str"),
    ],
)
def test_a_custom_backends_answer_of_the_wrong_shape_is_a_secret_error(answer: Any, shape: str) -> None:
    class Odd(MemoryBackend):
        def get_secret_value(self, secret_id: str, **kwargs: Any) -> Any:
            return answer

    error = raised_by(Secret("db", backend=Odd({})).prefetch)

    assert isinstance(error, SecretError)
    assert error.context["code"] == "InvalidBackendAnswer"
    assert shape in str(error)
    everything = everything_a_traceback_tool_can_show(error)
    assert _LEAK_MARKER not in everything
    assert _DIGITS[:12] not in everything


def test_a_parameter_backend_must_answer_text() -> None:
    class Binary(MemoryBackend):
        def get_parameter(self, name: str, *, with_decryption: bool, forced: bool) -> tuple[str, str]:
            return b"bytes", "1"  # type: ignore[return-value]  # the mistake under test

    error = raised_by(Parameter("/p", backend=Binary({})).prefetch)
    assert isinstance(error, SecretError)
    assert "with a str value" in str(error)


class RawExtension:
    """An extension stand-in on 127.0.0.1 that answers every request with raw bytes.

    ``answer`` is sent as it is (then the connection closes); with ``drip`` seconds, the
    first ``at_once`` bytes go at once and the rest one byte every ``drip`` seconds.
    ``finished`` is set once a whole answer has been sent.
    """

    def __init__(self, answer: bytes = b"") -> None:
        import socketserver

        self.answer = answer
        self.drip = 0.0
        self.at_once = 0
        self.requests = 0
        self.finished = threading.Event()
        self._stop = threading.Event()
        raw = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                raw.requests += 1
                head = b""
                while b"\r\n\r\n" not in head and len(head) < 65536:
                    piece = self.request.recv(4096)
                    if not piece:
                        return
                    head += piece
                answer, drip = raw.answer, raw.drip
                try:
                    if drip <= 0:
                        self.request.sendall(answer)
                    else:
                        self.request.sendall(answer[: raw.at_once])
                        for index in range(raw.at_once, len(answer)):
                            if raw._stop.wait(drip):
                                return
                            self.request.sendall(answer[index : index + 1])
                except OSError:
                    return  # the client gave up and closed the connection
                raw.finished.set()

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def raw_extension() -> Iterator[RawExtension]:
    stand_in = RawExtension()
    yield stand_in
    stand_in.close()


def http_answer(body: bytes, status: int = 200) -> bytes:
    head = (
        f"HTTP/1.1 {status} Whatever\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def extension_document(value: str, version: str = "v-extension") -> bytes:
    return json.dumps({"Name": "n", "VersionId": version, "SecretString": value}).encode()


@pytest.mark.parametrize("dripped", ["head and body", "body"])
def test_extension_timeout_bounds_the_whole_request_of_an_extension_that_drips(
    sm: Any, client: Any, proxy: CountingProxy, raw_extension: RawExtension, dripped: str
) -> None:
    name = unique()
    sm.create_secret(Name=name, SecretString="from-secrets-manager")
    body = extension_document("from-the-dripping-extension")
    raw_extension.answer = http_answer(body)
    raw_extension.drip = 0.05  # one byte every 50 ms: the body alone takes over 4 s
    raw_extension.at_once = 0 if dripped == "head and body" else len(raw_extension.answer) - len(body)
    backend = ExtensionBackend(
        port=raw_extension.port, fallback=SdkBackend(secretsmanager=client), timeout=0.5
    )

    secret = Secret(name, backend=backend).prefetch()

    # Given up at the deadline, long before the extension finished: Secrets Manager answered.
    assert not raw_extension.finished.is_set()
    assert secret.value == "from-secrets-manager"
    assert raw_extension.requests == 1
    assert proxy.count("GetSecretValue") == 1


def test_extension_answers_are_read_whole_however_they_are_framed(
    raw_extension: RawExtension, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SESSION_TOKEN", "token")
    body = extension_document("from-the-extension")
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunked += b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:10], body[10:]))
    framings = {
        "content-length, dripped": http_answer(body),
        "chunked, dripped": chunked + b"0\r\n\r\n",
        "until close, HTTP/1.0": b"HTTP/1.0 200 OK\r\n\r\n" + body,
    }
    fallback = MemoryBackend({"db": "from-the-fallback"})
    for label, answer in framings.items():
        raw_extension.answer = answer
        raw_extension.drip = 0.001 if "dripped" in label else 0.0
        raw_extension.at_once = 20
        backend = ExtensionBackend(port=raw_extension.port, fallback=fallback, timeout=5)
        assert backend.get_secret_value("db", version_stage=None, version_id=None, forced=False) == (
            "from-the-extension",
            "v-extension",
        ), label
    assert fallback.calls == 0


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(http_answer(b'{"message": "not ready"}', status=400), id="400"),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + extension_document("x"), id="truncated"
        ),
        pytest.param(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", id="truncated chunk"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Le", id="closed in the head"),
        pytest.param(b"", id="closed at once"),
        pytest.param(b"SSH-2.0-OpenSSH\r\n\r\n", id="not HTTP"),
        pytest.param(http_answer(extension_document("x" * (1 << 20))), id="over 1 MiB"),
    ],
)
def test_extension_answers_that_are_not_a_whole_200_fall_back(
    raw_extension: RawExtension, answer: bytes
) -> None:
    raw_extension.answer = answer
    fallback = MemoryBackend({"db": "from-the-fallback"})
    backend = ExtensionBackend(port=raw_extension.port, fallback=fallback, timeout=5)
    assert Secret("db", backend=backend).value == "from-the-fallback"
    assert (raw_extension.requests, fallback.calls) == (1, 1)


def test_extension_on_the_second_address_of_localhost_is_reached(
    raw_extension: RawExtension, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    raw_extension.answer = http_answer(extension_document("from-the-extension"))
    real = socket.getaddrinfo

    def two_addresses(host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        found = real(host, port, *args, **kwargs)
        if host != "localhost":
            return found
        nobody = (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.2", port))  # refused
        return [nobody, *found]

    monkeypatch.setattr(socket, "getaddrinfo", two_addresses)
    backend = ExtensionBackend(port=raw_extension.port, fallback=MemoryBackend({}), timeout=5)
    assert Secret("db", backend=backend).value == "from-the-extension"


def test_extension_token_that_cannot_be_sent_falls_back(
    raw_extension: RawExtension, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw_extension.answer = http_answer(extension_document("from-the-extension"))
    fallback = MemoryBackend({"db": "from-the-fallback"})
    backend = ExtensionBackend(port=raw_extension.port, fallback=fallback, timeout=5)
    for token in ("token\r\nX-Injected: 1", "tökén-€"):
        monkeypatch.setenv("AWS_SESSION_TOKEN", token)
        assert backend.get_secret_value("db", version_stage=None, version_id=None, forced=False)[0] == (
            "from-the-fallback"
        )
    assert raw_extension.requests == 0


def nested(depth: int, inner: str = '"s"') -> str:
    return "[" * depth + inner + "]" * depth


_MALFORMED_EXTENSION_BODIES = {
    "nested SecretString": b'{"VersionId": "v", "SecretString": ' + nested(50_000).encode() + b"}",
    "nested document": nested(50_000).encode(),
    "nested Parameter": b'{"Parameter": ' + nested(50_000).encode() + b"}",
    "long integer": b'{"VersionId": "v", "SecretString": "s", "n": ' + b"9" * 5000 + b"}",
    "invalid UTF-8": b'{"VersionId": "v", "SecretString": "\xff\xfe"}',
    "wrong shapes": b'{"VersionId": ["v"], "SecretString": 1, "Parameter": []}',
    "SecretBinary not ASCII": '{"VersionId": "v", "SecretBinary": "é"}'.encode(),
}


@pytest.mark.parametrize("label", list(_MALFORMED_EXTENSION_BODIES))
def test_extension_parsers_reject_any_malformed_answer_with_value_error(label: str) -> None:
    body = _MALFORMED_EXTENSION_BODIES[label]
    for parse in (_secrets_backends.parse_extension_secret, _secrets_backends.parse_extension_parameter):
        error = raised_by(lambda parse=parse: parse(body))  # type: ignore[misc]
        assert isinstance(error, ValueError)
        assert "extension" in str(error)
        assert error.__cause__ is None
        assert error.__context__ is None


@pytest.mark.parametrize("label", list(_MALFORMED_EXTENSION_BODIES))
def test_malformed_extension_answers_fall_back_to_the_sdk(
    aws: AwsStandIn, sm: Any, proxy: CountingProxy, raw_extension: RawExtension, label: str
) -> None:
    raw_extension.answer = http_answer(_MALFORMED_EXTENSION_BODIES[label])
    name, parameter_name = unique(), unique("/ext")
    sm.create_secret(Name=name, SecretString="from-sdk")
    aws.client("ssm").put_parameter(Name=parameter_name, Value="param-from-sdk", Type="String")
    fallback = SdkBackend(secretsmanager=make_client(proxy.url), ssm=make_client(proxy.url, "ssm"))
    backend = ExtensionBackend(port=raw_extension.port, fallback=fallback)

    assert Secret(name, backend=backend).value == "from-sdk"
    assert Parameter(parameter_name, backend=backend).value == "param-from-sdk"
    assert raw_extension.requests == 2
    assert (proxy.count("GetSecretValue"), proxy.count("GetParameter")) == (1, 1)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"SecretString": "' + _LEAK_MARKER.encode() + b'"}', id="no VersionId"),
        pytest.param(
            b'{"VersionId": "v", "SecretBinary": "' + _LEAK_MARKER.encode() + b'*"}', id="not base64"
        ),
        pytest.param(nested(5000, json.dumps(_LEAK_MARKER)).encode(), id="nested"),
        pytest.param(b'{"VersionId": "v", "SecretString": "' + _LEAK_MARKER.encode() + b'", ', id="cut"),
    ],
)
def test_extension_answers_leave_no_value_in_any_frame_when_the_fallback_fails(
    client: Any, raw_extension: RawExtension, body: bytes
) -> None:
    raw_extension.answer = http_answer(body)
    backend = ExtensionBackend(port=raw_extension.port, fallback=SdkBackend(secretsmanager=client))

    error = raised_by(Secret(unique("missing"), backend=backend).prefetch)

    assert isinstance(error, SecretError)
    assert error.context["code"] == "ResourceNotFoundException"
    everything = everything_a_traceback_tool_can_show(error)
    assert "get_secret_value" in everything  # the backend's frames really were formatted
    assert _LEAK_MARKER not in everything
    assert raw_extension.requests == 1


def test_an_extension_answer_not_believed_leaves_no_value_in_any_frame(
    sm: Any, client: Any, proxy: CountingProxy, raw_extension: RawExtension, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRETS_MANAGER_TTL", "0")  # ask the extension again at once
    name = unique()
    sm.create_secret(Name=name, SecretString="current")
    raw_extension.answer = http_answer(extension_document(_LEAK_MARKER, version="v-before-the-rotation"))
    backend = ExtensionBackend(port=raw_extension.port, fallback=SdkBackend(secretsmanager=client))
    secret = Secret(name, backend=backend, min_refresh_interval=0)
    secret.refresh()  # forced: the version Secrets Manager returned is the newest one
    assert secret.value == "current"

    proxy.fault = lambda op: (400, {"__type": "InternalServiceError", "message": "down"})
    error = raised_by(Secret(name, backend=backend).prefetch)  # the extension's old version: refused

    assert isinstance(error, SecretError)
    assert raw_extension.requests == 1
    assert _LEAK_MARKER not in everything_a_traceback_tool_can_show(error)


_RAW_BODIES = st.one_of(
    st.binary(max_size=200),
    JSON.map(lambda v: json.dumps(v).encode()),
    DOCUMENTS.map(lambda v: json.dumps(v).encode()),
    st.integers(min_value=900, max_value=3000).map(lambda depth: nested(depth).encode()),
    st.integers(min_value=4301, max_value=6000).map(
        lambda digits: (
            b'{"VersionId": "v", "SecretString": "s", "Parameter": {"Value": "p", "Version": '
            + b"7" * digits
            + b"}}"
        )
    ),
)
# (the raw answer, and its body when it is a well-framed 200 answer)
_RAW_ANSWERS = st.one_of(
    st.binary(max_size=300).map(lambda answer: (answer, None)),
    _RAW_BODIES.map(lambda body: (http_answer(body), body)),
    st.tuples(st.sampled_from([204, 400, 404, 500]), _RAW_BODIES).map(
        lambda pair: (http_answer(pair[1], pair[0]), None)
    ),
    st.tuples(
        st.sampled_from([b"HTTP/1.1 200 OK", b"HTTP/1.0 200 OK", b"HTTP/1.1 200", b"HTTP/2 200", b"200 OK"]),
        st.lists(st.binary(max_size=40), max_size=4),
        _RAW_BODIES,
    ).map(lambda parts: (b"\r\n".join([parts[0], *parts[1]]) + b"\r\n\r\n" + parts[2], None)),
)


def parsed_or_none(parse: Callable[[bytes], tuple[Any, str]], body: bytes) -> tuple[Any, str] | None:
    try:
        return parse(body)
    except ValueError:
        return None


def test_any_extension_answer_is_served_or_falls_back(raw_extension: RawExtension) -> None:
    fallback = MemoryBackend({"db": "from-the-fallback"})
    backend = ExtensionBackend(port=raw_extension.port, fallback=fallback, timeout=5)
    from_fallback = {
        "secret": fallback.get_secret_value("db", version_stage=None, version_id=None, forced=False),
        "parameter": fallback.get_parameter("db", with_decryption=True, forced=False),
    }

    @given(case=_RAW_ANSWERS)
    @settings(max_examples=150, deadline=None)
    def check(case: tuple[bytes, bytes | None]) -> None:
        answer, body = case
        raw_extension.answer = answer
        found = {
            "secret": backend.get_secret_value("db", version_stage=None, version_id=None, forced=False),
            "parameter": backend.get_parameter("db", with_decryption=True, forced=False),
        }
        parsers = {
            "secret": _secrets_backends.parse_extension_secret,
            "parameter": _secrets_backends.parse_extension_parameter,
        }
        for kind, (value, version) in found.items():
            assert isinstance(value, (str, bytes))
            assert isinstance(version, str)
            if body is not None:  # well framed: served exactly when the body is a valid answer
                assert (value, version) == (parsed_or_none(parsers[kind], body) or from_fallback[kind])
            elif (value, version) != from_fallback[kind]:
                assert answer.startswith(b"HTTP/1.")  # only an HTTP/1.x 200 answer can be served

    check()


def test_extension_deadline_that_has_passed_raises_timeout_before_any_wait() -> None:
    with pytest.raises(TimeoutError, match="deadline"):
        _secrets_backends._remaining(time.monotonic())
    assert 0 < _secrets_backends._remaining(time.monotonic() + 60) <= 60
