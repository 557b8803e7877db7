"""lambda_kit.secrets through the Parameters and Secrets Lambda Extension: stand-ins on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from secrets_helpers import (
    LEAK_MARKER,
    CountingProxy,
    ExtensionStandIn,
    FakeClock,
    MemoryBackend,
    RawExtension,
    everything_a_traceback_tool_can_show,
    make_client,
    raised_by,
    unique,
)

from lambda_kit import _secrets_backends
from lambda_kit.exceptions import ConfigurationError, SecretError
from lambda_kit.secrets import ExtensionBackend, Parameter, SdkBackend, Secret
from lambda_kit_dev.stand_ins import AwsStandIn


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


# -- parsing the extension's answers -----------------------------------------------------


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


# -- issue 11: raw answers, deadlines, frames --------------------------------------------


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
        pytest.param(b'{"SecretString": "' + LEAK_MARKER.encode() + b'"}', id="no VersionId"),
        pytest.param(
            b'{"VersionId": "v", "SecretBinary": "' + LEAK_MARKER.encode() + b'*"}', id="not base64"
        ),
        pytest.param(nested(5000, json.dumps(LEAK_MARKER)).encode(), id="nested"),
        pytest.param(b'{"VersionId": "v", "SecretString": "' + LEAK_MARKER.encode() + b'", ', id="cut"),
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
    assert LEAK_MARKER not in everything
    assert raw_extension.requests == 1


def test_an_extension_answer_not_believed_leaves_no_value_in_any_frame(
    sm: Any, client: Any, proxy: CountingProxy, raw_extension: RawExtension, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRETS_MANAGER_TTL", "0")  # ask the extension again at once
    name = unique()
    sm.create_secret(Name=name, SecretString="current")
    raw_extension.answer = http_answer(extension_document(LEAK_MARKER, version="v-before-the-rotation"))
    backend = ExtensionBackend(port=raw_extension.port, fallback=SdkBackend(secretsmanager=client))
    secret = Secret(name, backend=backend, min_refresh_interval=0)
    secret.refresh()  # forced: the version Secrets Manager returned is the newest one
    assert secret.value == "current"

    proxy.fault = lambda op: (400, {"__type": "InternalServiceError", "message": "down"})
    error = raised_by(Secret(name, backend=backend).prefetch)  # the extension's old version: refused

    assert isinstance(error, SecretError)
    assert raw_extension.requests == 1
    assert LEAK_MARKER not in everything_a_traceback_tool_can_show(error)


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
