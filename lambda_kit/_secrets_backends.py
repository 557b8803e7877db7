"""Where lambda_kit.secrets gets values: the AWS SDK and the Lambda extension (internal).

Loaded on the first fetch, never by ``import lambda_kit.secrets``. boto3 and
botocore load only when an SDK client is first created; the extension backend needs
nothing but ``socket``, ``http.client`` and ``json``. SDK clients come from
:class:`lambda_kit.aws.ClientCache`, the package's one boto3 client factory, so they
are closed before a SnapStart snapshot and renewed after a restore like every other.
Imports run one way: ``secrets`` -> this module -> ``aws``; the ``Backend`` protocol
lives below both, in ``_secrets_types``.

Answers are checked by helpers that return what they found, or why it is unusable,
and never raise: an exception leaving a frame whose locals hold a secret (a response
body, a parsed document) would show it to every tool that prints tracebacks with
their locals, so errors are raised only from frames that hold none.
"""

from __future__ import annotations

import io
import json
import os
import threading
import time

from lambda_kit._config import integer, seconds
from lambda_kit.aws import ClientCache
from lambda_kit.exceptions import ConfigurationError, SecretError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from lambda_kit._secrets_types import Backend

__all__ = [
    "ExtensionBackend",
    "SdkBackend",
    "backend_for",
    "parse_extension_parameter",
    "parse_extension_secret",
]

EXTENSION_PORT = 2773
"""The Parameters and Secrets Lambda Extension's default port."""
_PORT_VARIABLE = "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"
_TOKEN_HEADER = "X-Aws-Parameters-Secrets-Token"  # noqa: S105 - a header name, not a secret
_MESSAGE_LIMIT = 300  # AWS error messages are kept, shortened
# The longest extension answer read, in bytes: a secret is at most 64 KiB, so its answer
# (base64 or \u-escaped) fits many times over. A longer one is malformed: fall back.
_ANSWER_LIMIT = 1 << 20
_RECEIVE_SIZE = 65536
# The extension's own cache lifetimes (its settings, read from the function's environment):
# (variable, default and maximum seconds).
_SECRETS_TTL = ("SECRETS_MANAGER_TTL", 300.0)
_PARAMETERS_TTL = ("SSM_PARAMETER_STORE_TTL", 3600.0)
_PARAMETERS_TTL_DEFAULT = 300.0

_monotonic = time.monotonic
_shared_lock = threading.Lock()
_shared: dict[str, Any] = {}


def backend_for(name: str, client: Any) -> Backend:
    """The backend a Secret or Parameter configured with ``backend=name`` uses.

    Without a client, every secret and parameter of the environment shares one SDK
    backend (one boto3 client per service) and one extension backend.
    """
    if client is not None:
        own = SdkBackend(secretsmanager=client, ssm=client)
        return ExtensionBackend(fallback=own) if name == "extension" else own
    with _shared_lock:
        shared: Backend | None = _shared.get(name)
        if shared is None:
            sdk: Backend | None = _shared.get("sdk")
            if sdk is None:
                sdk = _shared["sdk"] = SdkBackend()
            shared = sdk if name == "sdk" else ExtensionBackend(fallback=sdk)
            _shared[name] = shared
    return shared


def _reset_shared_for_tests() -> None:
    with _shared_lock:
        _shared.clear()


def _extension_cache_ttl(setting: tuple[str, float], default: float) -> float:
    """The extension's cache TTL from its variable: ``default`` when unset, the maximum when invalid."""
    variable, maximum = setting
    raw = os.environ.get(variable, "").strip()
    if not raw:
        return default
    try:
        seconds = float(raw)
    except ValueError:
        return maximum  # the longest it could be: bypassing longer is only slower, never wrong
    return seconds if 0 <= seconds <= maximum else maximum


def _sdk_error(error: Exception, operation: str, what: str, context: dict[str, Any]) -> SecretError:
    """A SecretError with the AWS error code of a botocore error (duck-typed, no import)."""
    response = getattr(error, "response", None)
    details = response.get("Error") if isinstance(response, dict) else None
    if isinstance(details, dict) and details.get("Code"):
        code = str(details["Code"])
        message = str(details.get("Message") or "")[:_MESSAGE_LIMIT].rstrip(". ")
    else:
        code = type(error).__name__
        message = ""
    text = f"{operation} for {what} failed: {code}" + (f": {message}" if message else "") + "."
    failure = SecretError(text, code=code, **context)
    failure.__cause__ = error
    return failure


class SdkBackend:
    """Fetches through boto3: Secrets Manager ``GetSecretValue`` and SSM ``GetParameter``.

    A client is created per service on first use (boto3 is imported then) and reused
    for the environment's life. Created clients make one attempt per call (no SDK
    retries, which would sleep on the request path: lambda_kit.secrets backs off
    itself) with a 1 s connect and a 3 s read timeout. They come from a
    :class:`lambda_kit.aws.ClientCache` of this backend's own, so SnapStart treats
    them like every cached client: closed before the snapshot, the same objects with
    new connections after a restore.

    Args:
        secretsmanager: A Secrets Manager client to use instead of creating one.
        ssm: An SSM client to use instead of creating one.
        connect_timeout: Seconds, for created clients.
        read_timeout: Seconds, for created clients.

    Example:
        >>> Secret("prod/db", backend=SdkBackend(connect_timeout=0.5))  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        secretsmanager: Any = None,
        ssm: Any = None,
        connect_timeout: float = 1.0,
        read_timeout: float = 3.0,
    ) -> None:
        timeout = seconds(below=3600)
        timeout.validate("connect_timeout", connect_timeout)
        timeout.validate("read_timeout", read_timeout)
        self._given: dict[str, Any] = {"secretsmanager": secretsmanager, "ssm": ssm}
        self._cache = ClientCache(
            connect_timeout=float(connect_timeout),
            read_timeout=float(read_timeout),
            retries={"total_max_attempts": 1, "mode": "standard"},
            tcp_keepalive=True,
        )

    def client(self, service: str) -> Any:
        """The client for ``service`` (``"secretsmanager"`` or ``"ssm"``): the one given, or a cached one."""
        given = self._given.get(service)
        if given is not None:
            return given
        return self._cache.client(service)

    def get_secret_value(
        self, secret_id: str, *, version_stage: str | None, version_id: str | None, forced: bool
    ) -> tuple[str | bytes, str]:
        """``GetSecretValue``: ``(SecretString or SecretBinary, VersionId)``."""
        context = {"secret_id": secret_id, "version_stage": version_stage, "requested_version_id": version_id}
        what = f"secret {secret_id!r}"
        params: dict[str, str] = {"SecretId": secret_id}
        if version_stage is not None:
            params["VersionStage"] = version_stage
        if version_id is not None:
            params["VersionId"] = version_id
        try:
            response = self.client("secretsmanager").get_secret_value(**params)
        except Exception as error:  # botocore's errors, mapped to their AWS error code
            raise _sdk_error(error, "GetSecretValue", what, context) from error
        answer = _sdk_secret_answer(response)
        del response  # holds the value: never left in this frame's locals by the raise below
        if isinstance(answer, str):
            raise SecretError(f"GetSecretValue for {what} returned {answer}.", code="EmptySecret", **context)
        return answer

    def get_parameter(self, name: str, *, with_decryption: bool, forced: bool) -> tuple[str, str]:
        """``GetParameter``: ``(Value, str(Version))``."""
        context = {"secret_id": name}
        what = f"parameter {name!r}"
        try:
            response = self.client("ssm").get_parameter(Name=name, WithDecryption=with_decryption)
        except Exception as error:  # botocore's errors, mapped to their AWS error code
            raise _sdk_error(error, "GetParameter", what, context) from error
        answer = _sdk_parameter_answer(response)
        del response  # holds the value: never left in this frame's locals by the raise below
        if isinstance(answer, str):
            raise SecretError(f"GetParameter for {what} returned {answer}.", code="EmptyParameter", **context)
        return answer

    def __repr__(self) -> str:
        created = ", ".join(sorted({key[0] for key in self._cache._clients})) or "none"
        return f"SdkBackend(created clients: {created})"


def _sdk_secret_answer(response: Any) -> tuple[str | bytes, str] | str:
    """``(value, version)`` from a GetSecretValue response, or what is wrong with it (never raises)."""
    if not isinstance(response, dict):
        return f"a {type(response).__name__} instead of a response"
    value = response.get("SecretString")
    if value is None:
        value = response.get("SecretBinary")
    if value is None:
        return "neither SecretString nor SecretBinary"
    if not isinstance(value, (str, bytes)):
        return f"a secret of type {type(value).__name__}; expected str or bytes"
    version = response.get("VersionId")
    return value, version if isinstance(version, str) else ""


def _sdk_parameter_answer(response: Any) -> tuple[str, str] | str:
    """``(value, version)`` from a GetParameter response, or what is wrong with it (never raises)."""
    parameter = response.get("Parameter") if isinstance(response, dict) else None
    if not isinstance(parameter, dict) or not isinstance(parameter.get("Value"), str):
        return "no Value"
    value: str = parameter["Value"]
    version = parameter.get("Version", "")
    if isinstance(version, bool) or not isinstance(version, (int, str)):
        return f"a Version of type {type(version).__name__}; expected int or str"
    return value, str(version)


_NOT_JSON: Any = object()


def _answer_document(body: bytes) -> Any:
    """The extension's answer parsed as JSON, or ``_NOT_JSON`` (never raises an Exception).

    Any failure means a malformed answer: JSONDecodeError, UnicodeDecodeError, the
    ValueError of an integer past Python's digit limit, RecursionError from deep
    nesting, MemoryError. None is chained or kept: JSONDecodeError holds the body.
    """
    try:
        return json.loads(body)
    except Exception:
        return _NOT_JSON


def _secret_answer(body: bytes) -> tuple[str | bytes, str] | str:
    """The extension's GetSecretValue answer as ``(value, version)``, or why it is not one.

    Never raises an Exception; the reason never quotes the body.
    """
    import base64

    document = _answer_document(body)
    if document is _NOT_JSON:
        return "the extension's answer is not JSON"
    if not isinstance(document, dict):
        return "the extension's answer is not a JSON object"
    version = document.get("VersionId")
    if not isinstance(version, str) or not version:
        return "the extension's answer has no VersionId"
    text = document.get("SecretString")
    if isinstance(text, str):
        return text, version
    binary = document.get("SecretBinary")
    if not isinstance(binary, str):
        return "the extension's answer has neither SecretString nor SecretBinary"
    try:
        return base64.b64decode(binary.encode("ascii"), validate=True), version
    except Exception:  # binascii.Error, UnicodeEncodeError: never chained, they quote the text
        return "the extension's SecretBinary is not base64"


def _parameter_answer(body: bytes) -> tuple[str, str] | str:
    """The extension's GetParameter answer as ``(value, version)``, or why it is not one.

    Never raises an Exception; the reason never quotes the body.
    """
    document = _answer_document(body)
    if document is _NOT_JSON:
        return "the extension's answer is not JSON"
    parameter = document.get("Parameter") if isinstance(document, dict) else None
    if not isinstance(parameter, dict):
        return "the extension's answer has no Parameter object"
    value = parameter.get("Value")
    version = parameter.get("Version")
    if not isinstance(value, str) or isinstance(version, bool) or not isinstance(version, (int, str)):
        return "the extension's Parameter has no Value or Version"
    return value, str(version)


def parse_extension_secret(body: bytes) -> tuple[str | bytes, str]:
    """Parse the extension's GetSecretValue JSON; ``ValueError`` when it is not one.

    Error messages never quote the body, and the error has no cause or context.
    """
    answer = _secret_answer(body)
    del body  # not left in this frame's locals by the raise below
    if isinstance(answer, str):
        raise ValueError(answer)
    return answer


def parse_extension_parameter(body: bytes) -> tuple[str, str]:
    """Parse the extension's GetParameter JSON; ``ValueError`` when it is not one."""
    answer = _parameter_answer(body)
    del body  # not left in this frame's locals by the raise below
    if isinstance(answer, str):
        raise ValueError(answer)
    return answer


def _remaining(deadline: float) -> float:
    """Seconds left before ``deadline`` (``time.monotonic``); ``TimeoutError`` when none are."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the extension did not answer before the deadline")
    return left


def _connect(port: int, deadline: float) -> Any:
    """A socket connected to the extension on ``localhost``, within the deadline.

    Each address ``localhost`` names (``::1``, ``127.0.0.1``) is tried with the time
    left, as ``socket.create_connection`` would try each with the whole timeout.
    """
    import socket

    *others, last = socket.getaddrinfo("localhost", port, type=socket.SOCK_STREAM)
    for address in others:
        try:
            return _connected(address, deadline)
        except OSError:
            continue  # the next address
    return _connected(last, deadline)


def _connected(address: Any, deadline: float) -> Any:
    import socket

    family, kind, proto, _name, where = address
    sock = socket.socket(family, kind, proto)
    try:
        sock.settimeout(_remaining(deadline))
        sock.connect(where)
    except BaseException:
        sock.close()
        raise
    return sock


class _Received:
    """What ``http.client.HTTPResponse`` needs of a socket, over the bytes already received."""

    __slots__ = ("_data",)

    def __init__(self, data: bytes) -> None:
        self._data = data

    def makefile(self, mode: str) -> Any:
        return io.BytesIO(self._data)


def _whole_response(data: bytes, closed: bool) -> tuple[int, bytes] | None:
    """``(status, body)`` once ``data`` holds a whole response; ``None`` while more must come.

    http.client parses the bytes (status line, headers, Content-Length or chunked
    body). A response with neither is whole when the extension closes the connection.
    Raises ``http.client.HTTPException`` or ``ValueError`` for a malformed or (once
    ``closed``) truncated response.
    """
    import http.client

    if not closed and b"\r\n\r\n" not in data and b"\n\n" not in data:
        return None  # the status line and headers have not all arrived
    response = http.client.HTTPResponse(_Received(data), method="GET")  # type: ignore[arg-type]  # a socket stand-in
    response.begin()
    if not closed and response.length is None and not response.chunked:
        return None  # the body ends when the connection closes
    try:
        body = response.read()
    except http.client.IncompleteRead:
        if closed:
            raise
        return None
    return response.status, body


def _http_get(port: int, path: str, headers: dict[str, str], deadline: float) -> bytes | None:
    """``GET path`` from the extension: the body of a 200 answer, ``None`` for another status.

    The whole request (connect, send, every receive) ends by ``deadline``:
    ``TimeoutError`` then, ``OSError`` or ``http.client.HTTPException`` for a broken
    connection or answer, ``ValueError`` for a header that cannot be sent.
    """
    for value in headers.values():
        if any(char in value for char in "\r\n\0"):
            raise ValueError("a header value holds a line break")
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    request = (
        f"GET {path} HTTP/1.1\r\nHost: localhost:{port}\r\n{head}"
        "Accept-Encoding: identity\r\nConnection: close\r\n\r\n"
    ).encode("latin-1")
    sock = _connect(port, deadline)
    try:
        sock.settimeout(_remaining(deadline))
        sock.sendall(request)  # since Python 3.5, the timeout bounds the whole sendall
        received = bytearray()
        while True:
            sock.settimeout(_remaining(deadline))
            chunk = sock.recv(_RECEIVE_SIZE)
            received += chunk
            if len(received) > _ANSWER_LIMIT:
                return None
            whole = _whole_response(bytes(received), closed=not chunk)
            if whole is not None:
                status, body = whole
                return body if status == 200 else None
            # Not whole yet: the connection is open (a closed one is whole, or raised).
    finally:
        sock.close()


class ExtensionBackend:
    """Reads through the Parameters and Secrets Lambda Extension, falling back to the SDK.

    The extension (a Lambda layer) serves ``GET http://localhost:2773/...`` from its
    own cache, authenticated by the ``AWS_SESSION_TOKEN`` of the function. It answers
    400 while the environment is still in INIT, so a fetch falls back to ``fallback``
    whenever the extension does not answer 200 within ``timeout`` (or is not there),
    and whenever its answer is malformed in any way (not JSON, nested too deeply, over
    1 MiB, the wrong shape). Forced refreshes
    (after a rotation) always go to ``fallback``: the extension's cache may still
    hold the old version for up to its own TTL.

    A value never goes back to an older version: after a forced refresh, that secret
    or parameter is read through ``fallback`` for as long as the extension may still
    cache the version before it (its ``SECRETS_MANAGER_TTL``, default and at most
    300 s; ``SSM_PARAMETER_STORE_TTL`` for parameters, default 300 s, at most
    3600 s). After that, an extension answer whose version differs from the newest
    one ``fallback`` returned is checked with ``fallback`` before it is believed.

    Args:
        port: The extension's port (default: ``PARAMETERS_SECRETS_EXTENSION_HTTP_PORT``,
            else 2773).
        fallback: The backend for forced refreshes and when the extension cannot
            answer (default: a new :class:`SdkBackend`).
        timeout: Seconds the whole request to the extension may take (connect, send
            and receive), as a deadline: a slower answer, even one that keeps
            trickling in, is abandoned for ``fallback``.

    Example:
        >>> Secret("prod/db", backend="extension")  # doctest: +SKIP
    """

    def __init__(
        self, *, port: int | None = None, fallback: Backend | None = None, timeout: float = 1.0
    ) -> None:
        if port is None:
            raw = os.environ.get(_PORT_VARIABLE, "").strip()
            try:
                port = int(raw) if raw else EXTENSION_PORT
            except ValueError:
                raise ConfigurationError(
                    f"Invalid {_PORT_VARIABLE}={raw!r}; expected a TCP port number 1-65535.",
                    setting="port",
                    variable=_PORT_VARIABLE,
                    value=raw,
                ) from None
        integer(1, 65535).validate("port", port)
        seconds(below=60).validate("timeout", timeout)
        self.port = port
        self._timeout = float(timeout)
        self._fallback: Backend = SdkBackend() if fallback is None else fallback
        self._secrets_ttl = _extension_cache_ttl(_SECRETS_TTL, _SECRETS_TTL[1])
        self._parameters_ttl = _extension_cache_ttl(_PARAMETERS_TTL, _PARAMETERS_TTL_DEFAULT)
        # What each forced refresh found: key -> (when, newest version seen from fallback).
        self._forced: dict[tuple[Any, ...], tuple[float, str]] = {}
        self._forced_lock = threading.Lock()

    def _may_ask_extension(self, key: tuple[Any, ...], window: float) -> bool:
        """False for ``window`` seconds after a forced refresh of ``key``."""
        with self._forced_lock:
            record = self._forced.get(key)
        return record is None or _monotonic() - record[0] >= window

    def _believable(self, key: tuple[Any, ...], version: str) -> bool:
        """Whether an extension answer with ``version`` can be served as it is.

        Not when it differs from the newest version ``fallback`` returned after a
        forced refresh: it may be the version from before a rotation, still cached.
        """
        with self._forced_lock:
            record = self._forced.get(key)
        return record is None or record[1] == version

    def _remember(self, key: tuple[Any, ...], version: str, forced: bool) -> None:
        """Note the version ``fallback`` returned: the newest one there is."""
        with self._forced_lock:
            record = self._forced.get(key)
            if forced:
                self._forced[key] = (_monotonic(), version)
            elif record is not None:
                self._forced[key] = (record[0], version)

    def _get(self, path: str) -> bytes | None:
        """The extension's 200 body for ``path``, or None when it cannot answer in time."""
        deadline = time.monotonic() + self._timeout  # real time, whatever clock the cache uses
        headers = {_TOKEN_HEADER: os.environ.get("AWS_SESSION_TOKEN", "")}
        try:
            return _http_get(self.port, path, headers, deadline)
        except Exception:  # not there, too slow, a broken answer, a token that cannot be sent
            return None

    def _ask(self, key: tuple[Any, ...], path: str, parse: Callable[[bytes], tuple[Any, str] | str]) -> Any:
        """The extension's answer for ``path`` parsed by ``parse``, or None to use ``fallback``.

        Never raises an Exception, so its locals (the body, the value) never reach a
        traceback; the caller holds no value while ``fallback`` runs.
        """
        body = self._get(path)
        if body is None:
            return None
        answer = parse(body)
        if isinstance(answer, str) or not self._believable(key, answer[1]):
            return None  # malformed (answer is the reason), or possibly from before a rotation
        return answer

    def get_secret_value(
        self, secret_id: str, *, version_stage: str | None, version_id: str | None, forced: bool
    ) -> tuple[str | bytes, str]:
        """From the extension when it answers, else from the fallback backend."""
        key = ("secret", secret_id, version_stage, version_id)
        if not forced and self._may_ask_extension(key, self._secrets_ttl):
            from urllib.parse import quote

            path = f"/secretsmanager/get?secretId={quote(secret_id, safe='')}"
            if version_id is not None:
                path += f"&versionId={quote(version_id, safe='')}"
            if version_stage is not None:
                path += f"&versionStage={quote(version_stage, safe='')}"
            found: tuple[str | bytes, str] | None = self._ask(key, path, _secret_answer)
            if found is not None:
                return found
        answer = self._fallback.get_secret_value(
            secret_id, version_stage=version_stage, version_id=version_id, forced=forced
        )
        self._remember(key, answer[1], forced)
        return answer

    def get_parameter(self, name: str, *, with_decryption: bool, forced: bool) -> tuple[str, str]:
        """From the extension when it answers, else from the fallback backend."""
        key = ("parameter", name, with_decryption)
        if not forced and self._may_ask_extension(key, self._parameters_ttl):
            from urllib.parse import quote

            decrypt = "true" if with_decryption else "false"
            path = f"/systemsmanager/parameters/get?name={quote(name, safe='')}&withDecryption={decrypt}"
            found: tuple[str, str] | None = self._ask(key, path, _parameter_answer)
            if found is not None:
                return found
        answer = self._fallback.get_parameter(name, with_decryption=with_decryption, forced=forced)
        self._remember(key, answer[1], forced)
        return answer

    def __repr__(self) -> str:
        return f"ExtensionBackend(port={self.port}, fallback={self._fallback!r})"
