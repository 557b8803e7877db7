"""Where lambda_kit.secrets gets values: the AWS SDK and the Lambda extension (internal).

Loaded on the first fetch, never by ``import lambda_kit.secrets``. boto3 and
botocore load only when an SDK client is first created; the extension backend needs
nothing but ``http.client`` and ``json``.
"""

from __future__ import annotations

import os
import threading
import time

from lambda_kit.exceptions import ConfigurationError, SecretError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from lambda_kit.secrets import Backend

__all__ = [
    "ExtensionBackend",
    "SdkBackend",
    "backend_for",
    "forget_created_clients",
    "parse_extension_parameter",
    "parse_extension_secret",
]

EXTENSION_PORT = 2773
"""The Parameters and Secrets Lambda Extension's default port."""
_PORT_VARIABLE = "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"
_TOKEN_HEADER = "X-Aws-Parameters-Secrets-Token"  # noqa: S105 - a header name, not a secret
_MESSAGE_LIMIT = 300  # AWS error messages are kept, shortened
# The extension's own cache lifetimes (its settings, read from the function's environment):
# (variable, default and maximum seconds).
_SECRETS_TTL = ("SECRETS_MANAGER_TTL", 300.0)
_PARAMETERS_TTL = ("SSM_PARAMETER_STORE_TTL", 3600.0)
_PARAMETERS_TTL_DEFAULT = 300.0

_monotonic = time.monotonic
_shared_lock = threading.Lock()
_shared: dict[str, Any] = {}
# Every SdkBackend that has created a client, weakly: their clients are dropped after a restore.
_with_clients: Any = None


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
    global _with_clients
    with _shared_lock:
        _shared.clear()
        _with_clients = None


def forget_created_clients() -> None:
    """Drop every client an :class:`SdkBackend` created (after a SnapStart restore).

    Called by lambda_kit.secrets' after-restore hook before it refetches, so the
    refetch already uses new clients, with the restored environment's credentials.
    """
    with _shared_lock:
        backends = list(_with_clients) if _with_clients is not None else []
    for backend in backends:
        backend._forget_created_clients()


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
    for the environment's life; after a SnapStart restore the clients this backend
    created are dropped and re-created, with fresh credentials and connections.
    Created clients make one attempt per call (no SDK retries, which would sleep on
    the request path: lambda_kit.secrets backs off itself) with a 1 s connect and a
    3 s read timeout.

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
        for setting, value in (("connect_timeout", connect_timeout), ("read_timeout", read_timeout)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 3600:
                raise ConfigurationError(
                    f"Invalid {setting}={value!r}; expected a number of seconds > 0 and < 3600.",
                    setting=setting,
                    value=value,
                )
        self._clients: dict[str, Any] = {"secretsmanager": secretsmanager, "ssm": ssm}
        self._created: set[str] = set()
        self._connect_timeout = float(connect_timeout)
        self._read_timeout = float(read_timeout)
        self._lock = threading.Lock()

    def client(self, service: str) -> Any:
        """The client for ``service`` (``"secretsmanager"`` or ``"ssm"``), created on first use."""
        client = self._clients.get(service)
        if client is not None:
            return client
        with self._lock:
            client = self._clients.get(service)
            if client is None:
                client = self._create(service)
                self._clients[service] = client
                self._created.add(service)
                _track_created(self)
        return client

    def _create(self, service: str) -> Any:
        import boto3
        from botocore.config import Config

        config = Config(
            connect_timeout=self._connect_timeout,
            read_timeout=self._read_timeout,
            retries={"total_max_attempts": 1, "mode": "standard"},
            tcp_keepalive=True,
        )
        # A session per client: boto3's default session is not thread-safe to create clients from.
        return boto3.session.Session().client(service, config=config)  # type: ignore[call-overload]

    def _forget_created_clients(self) -> None:
        with self._lock:
            for service in self._created:
                self._clients[service] = None
            self._created.clear()

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
        value = response.get("SecretString")
        if value is None:
            value = response.get("SecretBinary")
        if value is None:
            raise SecretError(
                f"GetSecretValue for {what} returned neither SecretString nor SecretBinary.",
                code="EmptySecret",
                **context,
            )
        return value, str(response.get("VersionId") or "")

    def get_parameter(self, name: str, *, with_decryption: bool, forced: bool) -> tuple[str, str]:
        """``GetParameter``: ``(Value, str(Version))``."""
        context = {"secret_id": name}
        what = f"parameter {name!r}"
        try:
            response = self.client("ssm").get_parameter(Name=name, WithDecryption=with_decryption)
        except Exception as error:  # botocore's errors, mapped to their AWS error code
            raise _sdk_error(error, "GetParameter", what, context) from error
        parameter = response.get("Parameter") or {}
        value = parameter.get("Value")
        if not isinstance(value, str):
            raise SecretError(f"GetParameter for {what} returned no Value.", code="EmptyParameter", **context)
        return value, str(parameter.get("Version", ""))

    def __repr__(self) -> str:
        created = ", ".join(sorted(self._created)) or "none"
        return f"SdkBackend(created clients: {created})"


def _track_created(backend: SdkBackend) -> None:
    """Remember ``backend`` for :func:`forget_created_clients`; make sure the restore hook runs."""
    global _with_clients
    with _shared_lock:
        if _with_clients is None:
            import weakref

            _with_clients = weakref.WeakSet()
        _with_clients.add(backend)
    from lambda_kit import secrets

    secrets._ensure_restore_hook()


def parse_extension_secret(body: bytes) -> tuple[str | bytes, str]:
    """Parse the extension's GetSecretValue JSON; ``ValueError`` when it is not one.

    Error messages never quote the body.
    """
    import base64
    import binascii
    import json

    try:
        document = json.loads(body)
    except ValueError:
        raise ValueError("the extension's answer is not JSON") from None
    if not isinstance(document, dict):
        raise ValueError("the extension's answer is not a JSON object")
    version = document.get("VersionId")
    if not isinstance(version, str) or not version:
        raise ValueError("the extension's answer has no VersionId")
    text = document.get("SecretString")
    if isinstance(text, str):
        return text, version
    binary = document.get("SecretBinary")
    if isinstance(binary, str):
        try:
            return base64.b64decode(binary.encode("ascii"), validate=True), version
        except (binascii.Error, ValueError):
            raise ValueError("the extension's SecretBinary is not base64") from None
    raise ValueError("the extension's answer has neither SecretString nor SecretBinary")


def parse_extension_parameter(body: bytes) -> tuple[str, str]:
    """Parse the extension's GetParameter JSON; ``ValueError`` when it is not one."""
    import json

    try:
        document = json.loads(body)
    except ValueError:
        raise ValueError("the extension's answer is not JSON") from None
    parameter = document.get("Parameter") if isinstance(document, dict) else None
    if not isinstance(parameter, dict):
        raise ValueError("the extension's answer has no Parameter object")
    value = parameter.get("Value")
    version = parameter.get("Version")
    if not isinstance(value, str) or isinstance(version, bool) or not isinstance(version, (int, str)):
        raise ValueError("the extension's Parameter has no Value or Version")
    return value, str(version)


class ExtensionBackend:
    """Reads through the Parameters and Secrets Lambda Extension, falling back to the SDK.

    The extension (a Lambda layer) serves ``GET http://localhost:2773/...`` from its
    own cache, authenticated by the ``AWS_SESSION_TOKEN`` of the function. It answers
    400 while the environment is still in INIT, so a fetch falls back to ``fallback``
    whenever the extension does not answer 200 (or is not there). Forced refreshes
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
        timeout: Seconds to wait for the extension.

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
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise ConfigurationError(f"Invalid port={port!r}; expected 1-65535.", setting="port", value=port)
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < 60:
            raise ConfigurationError(
                f"Invalid timeout={timeout!r}; expected seconds > 0 and < 60.",
                setting="timeout",
                value=timeout,
            )
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
        """The extension's 200 body for ``path``, or None when it cannot answer."""
        import http.client

        connection = http.client.HTTPConnection("localhost", self.port, timeout=self._timeout)
        try:
            connection.request("GET", path, headers={_TOKEN_HEADER: os.environ.get("AWS_SESSION_TOKEN", "")})
            response = connection.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException):
            return None
        finally:
            connection.close()
        return body if response.status == 200 else None

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
            body = self._get(path)
            if body is not None:
                try:
                    result = parse_extension_secret(body)
                except ValueError:
                    pass
                else:
                    if self._believable(key, result[1]):
                        return result
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
            body = self._get(
                f"/systemsmanager/parameters/get?name={quote(name, safe='')}&withDecryption={decrypt}"
            )
            if body is not None:
                try:
                    result = parse_extension_parameter(body)
                except ValueError:
                    pass
                else:
                    if self._believable(key, result[1]):
                        return result
        answer = self._fallback.get_parameter(name, with_decryption=with_decryption, forced=forced)
        self._remember(key, answer[1], forced)
        return answer

    def __repr__(self) -> str:
        return f"ExtensionBackend(port={self.port}, fallback={self._fallback!r})"
