"""lambda_kit.secrets: one fetch per environment, TTLs, stale-if-error and back-off, against moto.

Calls are counted on the wire by a small forwarding proxy in front of moto (it sees
every request the server receives, whichever client sent it) and, where a test
passes its own client, cross-checked with a botocore event handler.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
import traceback
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from secrets_helpers import (
    CountingProxy,
    FakeClock,
    MemoryBackend,
    count_calls,
    make_client,
    unique,
)

from lambda_kit import _secrets_backends, secrets
from lambda_kit.exceptions import LambdaKitError, SecretError
from lambda_kit.secrets import Parameter, SdkBackend, Secret
from lambda_kit_dev.stand_ins import AwsStandIn

# -- one fetch per environment -----------------------------------------------------------


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
    monkeypatch.setattr(secrets, "random_unit", lambda: 0.5)  # the jitter takes 5 % off the TTL
    secret = Secret(name, client=client, ttl=100).prefetch()

    clock.advance(94.9)
    assert secret.value == "ttl-value"
    assert proxy.count("GetSecretValue") == 1
    clock.advance(0.2)  # 95.1 s: past 100 * (1 - 0.1 * 0.5)
    assert secret.value == "ttl-value"
    assert proxy.count("GetSecretValue") == 2


def test_jitter_spreads_expiry_over_the_last_tenth_of_the_ttl() -> None:
    draws = [secrets.random_unit() for _ in range(2000)]
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


def test_version_id_fetches_when_nothing_is_cached() -> None:
    backend = MemoryBackend({"db": "x"})
    assert Secret("db", backend=backend).version_id == f"v-{hash('x')}"
    assert backend.calls == 1


# -- stale-if-error, back-off ------------------------------------------------------------


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
    monkeypatch.setattr(secrets, "random_unit", lambda: next(draws))
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


# -- version stages ----------------------------------------------------------------------


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


# -- json --------------------------------------------------------------------------------


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


# -- parameters --------------------------------------------------------------------------


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


# -- hypothesis over ids, values, stages and TTLs, against moto --------------------------

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
