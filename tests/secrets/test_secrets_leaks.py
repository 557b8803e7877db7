"""lambda_kit.secrets never shows a value: not in a log line, a repr, an error, a cause or any locals."""

from __future__ import annotations

import json
import logging
import traceback
import uuid
from typing import Any

import pytest
from secrets_helpers import (
    DIGITS,
    LEAK_MARKER,
    AuthFailedError,
    CountingProxy,
    FakeClock,
    MemoryBackend,
    chain,
    everything_a_traceback_tool_can_show,
    make_client,
    raised_by,
    unique,
)

from lambda_kit import _secrets_backends
from lambda_kit.exceptions import SecretError
from lambda_kit.secrets import Parameter, Secret
from lambda_kit_dev.stand_ins import AwsStandIn


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


def malformed_values() -> dict[str, tuple[str | bytes, str]]:
    """Values that are not JSON, each with the text that must never be shown."""
    mark = LEAK_MARKER
    return {
        "unterminated": ('{"username": "app", "password": "' + mark, mark),
        "bare words": (f"{mark} is not JSON", mark),
        "control character": ('{"password": "' + mark + '\x01"}', mark),
        "bad escape": ('{"password": "' + mark + '\\q"}', mark),
        "trailing data": ('{"password": "' + mark + '"} extra', mark),
        "deep nesting": ("[" * 20_000 + json.dumps(mark) + "]" * 20_000, mark),
        "long integer": ('{"pin": ' + DIGITS * 120 + "}", DIGITS),
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
    aws.client("ssm").put_parameter(Name=name, Value='{"token": "' + LEAK_MARKER, Type="SecureString")
    parameter = Parameter(name, client=make_client(proxy.url, "ssm"))

    error = raised_by(parameter.json)

    assert isinstance(error, SecretError)
    assert LEAK_MARKER not in everything_a_traceback_tool_can_show(error)


def test_json_that_cannot_be_parsed_for_any_other_reason_is_a_secret_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = Secret("db", backend=MemoryBackend({"db": '{"password": "' + LEAK_MARKER + '"}'}))
    secret.prefetch()

    def out_of_memory(text: str) -> Any:
        raise MemoryError

    monkeypatch.setattr(json, "loads", out_of_memory)
    error = raised_by(secret.json)

    assert isinstance(error, SecretError)
    assert "could not be parsed (MemoryError)" in str(error)
    assert LEAK_MARKER not in everything_a_traceback_tool_can_show(error)


def test_failed_reads_refreshes_and_retries_leave_no_value_in_any_frame(clock: FakeClock) -> None:
    backend = MemoryBackend({"db": json.dumps({"password": LEAK_MARKER})})
    secret = Secret("db", backend=backend, ttl=10, max_stale=5, min_refresh_interval=0).prefetch()
    assert secret.json()["password"] == LEAK_MARKER

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
        assert LEAK_MARKER not in everything_a_traceback_tool_can_show(error)


# -- answers of the wrong shape ----------------------------------------------------------


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
        ({"SecretString": {"password": LEAK_MARKER}, "VersionId": "v"}, "of type dict"),
        ({"SecretBinary": [LEAK_MARKER], "VersionId": "v"}, "of type list"),
        ([{"SecretString": LEAK_MARKER}], "a list instead of a response"),
    ],
)
def test_sdk_answers_of_the_wrong_shape_are_secret_errors_that_never_show_the_value(
    response: Any, reason: str
) -> None:
    error = raised_by(Secret("db", client=StubClient(response)).prefetch)

    assert isinstance(error, SecretError)
    assert error.context["code"] == "EmptySecret"
    assert reason in str(error)
    assert LEAK_MARKER not in everything_a_traceback_tool_can_show(error)


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        ({"Parameter": {"Value": LEAK_MARKER, "Version": [1]}}, "a Version of type list"),
        ({"Parameter": {"Value": LEAK_MARKER, "Version": True}}, "a Version of type bool"),
        ({"Parameter": [LEAK_MARKER]}, "no Value"),
        ({"Parameter": {"Value": [LEAK_MARKER], "Version": 1}}, "no Value"),
        (LEAK_MARKER, "no Value"),
    ],
)
def test_sdk_parameter_answers_of_the_wrong_shape_are_secret_errors(response: Any, reason: str) -> None:
    error = raised_by(Parameter("/p", client=StubClient(response)).prefetch)

    assert isinstance(error, SecretError)
    assert error.context["code"] == "EmptyParameter"
    assert reason in str(error)
    assert LEAK_MARKER not in everything_a_traceback_tool_can_show(error)


def test_sdk_answers_without_a_text_version_id_get_an_empty_one() -> None:
    assert Secret("db", client=StubClient({"SecretString": "s", "VersionId": 7})).version_id == ""
    assert Parameter("/p", client=StubClient({"Parameter": {"Value": "p"}})).version_id == ""


@pytest.mark.parametrize(
    ("answer", "shape"),
    [
        ({"password": LEAK_MARKER, "user": "app"}, "a dict"),
        ((int(DIGITS[:12]), "v1"), "a tuple of (int, str)"),
        ((LEAK_MARKER, 1), "a tuple of (str, int)"),
        ((LEAK_MARKER, "v", "x", "y"), "a tuple of (str, str, str, ...)"),
        (LEAK_MARKER, "a str"),
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
    assert LEAK_MARKER not in everything
    assert DIGITS[:12] not in everything


def test_a_parameter_backend_must_answer_text() -> None:
    class Binary(MemoryBackend):
        def get_parameter(self, name: str, *, with_decryption: bool, forced: bool) -> tuple[str, str]:
            return b"bytes", "1"  # type: ignore[return-value]  # the mistake under test

    error = raised_by(Parameter("/p", backend=Binary({})).prefetch)
    assert isinstance(error, SecretError)
    assert "with a str value" in str(error)
