"""Keep-alive HTTP for Lambda handlers: pooled, deadline-aware, retried, SnapStart-safe.

A new TCP + TLS connection costs tens of milliseconds per request, and far more on
a small Lambda, where a TLS handshake runs on a fraction of a CPU. A
:class:`Session` created at module scope keeps its connections open across the
invocations of an execution environment, and :meth:`Session.warm` (or
``preconnect=True``) opens them during INIT, so no invocation pays the handshake.

Kept connections are what break on Lambda, so the session also handles that:

* **Freeze and thaw.** Between invocations the environment is frozen; a server or
  NAT may close a pooled connection meanwhile. urllib3 drops a connection whose
  peer visibly hung up; a request that fails on a reused connection before any
  response byte arrived is replayed once on a new connection, whatever its method.
* **SnapStart.** Connections in a snapshot are invalid in every restored copy:
  pools are closed before a snapshot and after a restore, and the origins warmed
  with :meth:`Session.warm` are warmed again after the restore.
* **Deadlines.** A request never runs past the invocation's remaining time minus a
  safety margin (and never past the session's ``timeout``): a slow downstream gives
  :class:`~lambda_kit.exceptions.HTTPTimeoutError` while the handler still has time
  to answer, instead of a Lambda timeout. The remaining time comes from an explicit
  ``deadline=`` (seconds left), else from :func:`lambda_kit.lifecycle.remaining_time`,
  which :func:`lambda_kit.lifecycle.track_invocations` and every lambda-kit handler
  decorator set from the Lambda context.
* **Retries.** Connect errors, and 429, 502, 503 and 504 answers to idempotent
  requests, are retried with exponential backoff and full jitter, waiting at least
  what ``Retry-After`` asks, within the same time budget.

It is built on urllib3, which the Lambda Python runtime ships with botocore, so
it adds nothing to a deployment; urllib3 is imported when the first pool is made.

Example:
    >>> from lambda_kit import http, lifecycle
    >>> api = http.Session("https://api.example.com", timeout=5, preconnect=True)  # doctest: +SKIP
    >>> @lifecycle.track_invocations
    ... def handler(event: dict, context: object) -> dict:
    ...     order = api.get(f"/orders/{event['id']}").raise_for_status().json()
    ...     return {"statusCode": 200, "body": order["status"]}
"""

from __future__ import annotations

import _thread  # threading's Lock without importing threading
import functools
import time

from lambda_kit.exceptions import (
    ConfigurationError,
    HTTPConnectionError,
    HTTPStatusError,
    HTTPTimeoutError,
    InvalidURLError,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    import ssl
    from collections.abc import Callable, Mapping, Sequence
    from typing import Any, Final

    from typing_extensions import Self
    from urllib3.connectionpool import HTTPConnectionPool
    from urllib3.response import BaseHTTPResponse


__all__ = [
    "IDEMPOTENT_METHODS",
    "RETRY_STATUSES",
    "Response",
    "Session",
    "parse_retry_after",
    "redact_url",
]

IDEMPOTENT_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
"""Methods retried by default (RFC 9110 section 9.2.2)."""

RETRY_STATUSES: Final = frozenset({429, 502, 503, 504})
"""Statuses that mean "try again": throttled, or a gateway without a healthy upstream."""

DEFAULT_TIMEOUT: Final = 10.0
DEFAULT_CONNECT_TIMEOUT: Final = 3.0
DEFAULT_RETRIES: Final = 2
DEFAULT_BACKOFF: Final = 0.1
DEFAULT_BACKOFF_MAX: Final = 2.0
DEFAULT_DEADLINE_MARGIN: Final = 0.25
_MAX_POOL = 1000
_CHUNK = 65536
_FOREVER = float("inf")
_NO_JSON: Any = object()  # json=None sends JSON null, so "no JSON" needs its own marker


def _positive(value: float) -> bool:
    return isinstance(value, (int, float)) and 0 < value < _FOREVER


def _non_negative(value: float) -> bool:
    return isinstance(value, (int, float)) and 0 <= value < _FOREVER


def default_pool_size() -> int:
    """Connections per origin: 10, or the function's concurrency on Lambda Managed Instances.

    Reads ``AWS_LAMBDA_MAX_CONCURRENCY`` (set where one environment serves several
    invocations at once); capped at 1000.
    """
    import os

    raw = os.environ.get("AWS_LAMBDA_MAX_CONCURRENCY", "")
    try:
        concurrency = int(raw)
    except ValueError:
        concurrency = 0
    return max(10, min(concurrency, _MAX_POOL))


# -- URLs ---------------------------------------------------------------------------------


def redact_url(url: str) -> str:
    """``url`` without credentials, query string or fragment: safe for messages and logs.

    Credentials are whatever precedes the last ``@`` of the authority (the part after
    ``scheme://`` up to the first ``/``); the query is everything from the first ``?``.
    When that authority is not a plain ``host[:port]`` (a password holding ``/``, as in
    ``https://user:pa/ss@host/``), everything up to the last ``@`` of the URL goes.

    Example:
        >>> redact_url("https://user:pw@api.example.com:8443/v1/items?api_key=s3cret#top")
        'https://api.example.com:8443/v1/items'
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    slash = rest.find("/")
    authority = rest if slash == -1 else rest[:slash]
    if "@" in authority:  # userinfo may hold '?' or '#': strip it before cutting the query
        rest = rest[rest.rfind("@", 0, len(authority)) + 1 :]
    elif "@" in rest and not _plain_authority(authority):  # userinfo holding '/': be conservative
        rest = rest[rest.rfind("@") + 1 :]
    for mark in ("?", "#"):
        cut = rest.find(mark)
        if cut != -1:
            rest = rest[:cut]
    return f"{scheme}://{rest}" if sep else rest


def _plain_authority(authority: str) -> bool:
    """Whether ``authority`` reads as ``host``, ``host:port`` or ``[v6]:port`` (no stray colon)."""
    if authority.startswith("["):
        close = authority.find("]")
        tail = authority[close + 1 :]
        return close != -1 and (not tail or (tail[0] == ":" and tail[1:].isdigit()))
    _, colon, port = authority.partition(":")
    return not colon or (port.isdigit() and port.isascii())


@functools.lru_cache(maxsize=512)
def _split(url: str) -> tuple[str, str, int, str]:
    """``(scheme, host, port, target)`` of an absolute http(s) URL; cached per URL string."""
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in ("http", "https"):
        raise InvalidURLError(
            f"Cannot request {redact_url(url)!r}: expected an absolute http:// or https:// URL "
            "(or a path relative to the session's base_url).",
            url=redact_url(url),
        )
    end = len(rest)
    for mark in ("/", "?", "#"):
        cut = rest.find(mark)
        if cut != -1 and cut < end:
            end = cut
    authority, target = rest[:end], rest[end:]
    if "@" in authority:
        raise InvalidURLError(
            f"Cannot request {redact_url(url)!r}: credentials in the URL are not supported; "
            "send them in an Authorization header instead.",
            url=redact_url(url),
        )
    target = target.partition("#")[0]
    if not target.startswith("/"):
        target = "/" + target
    if authority.startswith("["):  # [IPv6]:port
        close = authority.find("]")
        host, port_text = authority[1:close], authority[close + 1 :] if close != -1 else ""
        if close == -1 or (port_text and not port_text.startswith(":")):
            host = ""
        port_text = port_text[1:]
    else:
        host, _, port_text = authority.partition(":")
    port = 443 if scheme == "https" else 80
    if port_text:
        port = int(port_text) if port_text.isdigit() and port_text.isascii() else 0
    if not host or not 0 < port < 65536:
        if "@" in rest:
            raise InvalidURLError(
                f"Cannot request {redact_url(url)!r}: credentials in the URL are not supported; "
                "send them in an Authorization header instead.",
                url=redact_url(url),
            )
        raise InvalidURLError(
            f"Cannot request {redact_url(url)!r}: expected a host and an optional port between 1 and 65535.",
            url=redact_url(url),
        )
    return scheme, host.lower(), port, target


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait according to a ``Retry-After`` header, or ``None`` if absent or invalid.

    Accepts delay-seconds (``"120"``) and an HTTP date (``"Wed, 21 Oct 2015 07:28:00 GMT"``);
    a date in the past gives ``0.0``; a delay of more than 15 digits gives ``inf`` (it
    never fits a budget, so a session returns that answer at once).

    Example:
        >>> parse_retry_after("2")
        2.0
        >>> parse_retry_after("soon") is None
        True
    """
    if value is None:
        return None
    text = value.strip()
    if text.isdigit() and text.isascii():
        # Past 15 digits (30 million years) a wait is useless, and would overflow float() or int().
        digits = text.lstrip("0")
        return float(int(digits or "0")) if len(digits) <= 15 else _FOREVER
    if not text or text[0].isdigit():
        return None
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


# -- responses ----------------------------------------------------------------------------


class Response:
    """A complete HTTP response: status, headers and the whole body as bytes.

    Attributes:
        status: The status code.
        headers: Case-insensitive response headers.
        body: The body, decoded from any ``Content-Encoding`` (gzip, deflate).
        method: The request method.
        url: The request URL without credentials or query string.

    Example:
        >>> response = Response(200, {"Content-Type": "application/json"}, b'{"id": 7}', "GET", "https://h/x")
        >>> response.json()["id"], response.ok
        (7, True)
    """

    __slots__ = ("body", "headers", "method", "status", "url")

    def __init__(self, status: int, headers: Mapping[str, str], body: bytes, method: str, url: str) -> None:
        self.status = status
        self.headers = headers
        self.body = body
        self.method = method
        self.url = url

    @property
    def ok(self) -> bool:
        """Whether the status is below 400."""
        return self.status < 400

    @property
    def text(self) -> str:
        """The body decoded as UTF-8 (invalid bytes replaced)."""
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        """The body parsed as JSON.

        Raises:
            ValueError: The body is not valid JSON (``json.JSONDecodeError``).
        """
        import json

        return json.loads(self.body)

    def raise_for_status(self) -> Self:
        """Return this response if its status is below 400; raise otherwise.

        Raises:
            HTTPStatusError: The status is 4xx or 5xx. The body is kept on
                ``error.response``, never put in the message.

        Example:
            >>> Response(204, {}, b"", "DELETE", "https://h/x").raise_for_status().status
            204
        """
        if self.status >= 400:
            kind = "client error" if self.status < 500 else "server error"
            raise HTTPStatusError(
                f"{self.method} {self.url} returned {self.status} ({kind}); expected a status below 400.",
                method=self.method,
                url=self.url,
                status=self.status,
                response=self,
            )
        return self

    def __repr__(self) -> str:
        return f"<Response [{self.status}] {self.method} {self.url}>"


# -- the session --------------------------------------------------------------------------


class _Expired(Exception):
    """Internal: the time budget ran out while reading a body."""


class Session:
    """A pooled keep-alive HTTP client for Lambda handlers; create it at module scope.

    Args:
        base_url: Prefix for relative request URLs (``"https://api.example.com/v1"``).
        timeout: Most seconds one request may take, retries and waits included
            (``LAMBDA_KIT_HTTP_TIMEOUT``, default 10). The invocation's deadline can
            only shorten it.
        connect_timeout: Most seconds for one TCP + TLS connect
            (``LAMBDA_KIT_HTTP_CONNECT_TIMEOUT``, default 3).
        read_timeout: Most seconds one attempt waits for data; ``None`` (default)
            lets an attempt use all the time left. Set it to retry a hung idempotent
            request within the budget.
        retries: Retries after the first attempt (``LAMBDA_KIT_HTTP_RETRIES``,
            default 2). The replay of a request sent into a stale connection is extra.
        backoff: Base of the exponential backoff in seconds (default 0.1); the wait
            before retry *n* is uniform in ``[0, min(backoff_max, backoff * 2**n)]``.
        backoff_max: Cap of one backoff wait in seconds (default 2).
        deadline_margin: Seconds kept free before the invocation's deadline for the
            handler to answer (``LAMBDA_KIT_HTTP_DEADLINE_MARGIN``, default 0.25).
        headers: Headers sent with every request.
        pool_maxsize: Connections kept per origin; threads beyond it wait for a free
            one (``LAMBDA_KIT_HTTP_POOL_MAXSIZE``; default 10, or the function's
            concurrency on Lambda Managed Instances).
        ca_certs: A CA bundle file to verify servers with, instead of the system's.
        ssl_context: A ready ``ssl.SSLContext`` (wins over ``ca_certs``).
        preconnect: Open a connection to ``base_url`` now (see :meth:`warm`).

    Raises:
        ConfigurationError: A setting (argument or variable) is out of range.

    Example:
        >>> from lambda_kit.http import Session
        >>> payments = Session("https://payments.example.com", timeout=4, retries=3)
        >>> payments.warm()  # during INIT  # doctest: +SKIP
        1
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        timeout: float | None = None,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
        retries: int | None = None,
        backoff: float = DEFAULT_BACKOFF,
        backoff_max: float = DEFAULT_BACKOFF_MAX,
        deadline_margin: float | None = None,
        headers: Mapping[str, str] | None = None,
        pool_maxsize: int | None = None,
        ca_certs: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        preconnect: bool = False,
    ) -> None:
        from lambda_kit._config import UNSET, parse_float, parse_int, resolve

        # None means "not given": the LAMBDA_KIT_HTTP_* variable or the default applies.
        seconds = "a finite number of seconds > 0"
        self.timeout: float = resolve(
            "http_timeout",
            UNSET if timeout is None else timeout,
            DEFAULT_TIMEOUT,
            parse_float,
            check=_positive,
            valid=seconds,
        )
        self.connect_timeout: float = resolve(
            "http_connect_timeout",
            UNSET if connect_timeout is None else connect_timeout,
            DEFAULT_CONNECT_TIMEOUT,
            parse_float,
            check=_positive,
            valid=seconds,
        )
        if read_timeout is not None and not _positive(read_timeout):
            raise ConfigurationError(
                f"Invalid read_timeout={read_timeout!r}; expected {seconds} or None.",
                setting="read_timeout",
                value=read_timeout,
            )
        self.read_timeout = read_timeout
        self.retries: int = resolve(
            "http_retries",
            UNSET if retries is None else retries,
            DEFAULT_RETRIES,
            parse_int,
            check=lambda n: isinstance(n, int) and 0 <= n <= 10,
            valid="an integer from 0 to 10",
        )
        for name, value in (("backoff", backoff), ("backoff_max", backoff_max)):
            if not _non_negative(value):
                raise ConfigurationError(
                    f"Invalid {name}={value!r}; expected a finite number of seconds >= 0.",
                    setting=name,
                    value=value,
                )
        self.backoff = float(backoff)
        self.backoff_max = float(backoff_max)
        self.deadline_margin: float = resolve(
            "http_deadline_margin",
            UNSET if deadline_margin is None else deadline_margin,
            DEFAULT_DEADLINE_MARGIN,
            parse_float,
            check=_non_negative,
            valid="a finite number of seconds >= 0",
        )
        self.pool_maxsize: int = resolve(
            "http_pool_maxsize",
            UNSET if pool_maxsize is None else pool_maxsize,
            default_pool_size(),
            parse_int,
            check=lambda n: isinstance(n, int) and 1 <= n <= _MAX_POOL,
            valid=f"an integer from 1 to {_MAX_POOL}",
        )
        if base_url is not None:
            _split(base_url)  # fails now, at INIT, on a malformed base URL
            base_url = base_url.rstrip("/")
        self.base_url = base_url
        self._headers: dict[str, str] = dict(headers or {})
        self._ca_certs = ca_certs
        self._ssl_context = ssl_context
        self._pools: dict[tuple[str, str, int], HTTPConnectionPool] = {}
        self._lock = _thread.allocate_lock()
        self._warmed: dict[str, int] = {}
        self._sleep: Callable[[float], None] = time.sleep
        self._tls: ssl.SSLContext | None = None

        import weakref

        from lambda_kit import lifecycle

        self._remaining = lifecycle.remaining_time
        this = weakref.ref(self)

        def before_snapshot() -> None:
            session = this()
            if session is not None:
                session.close()

        def after_restore() -> None:
            session = this()
            if session is not None:
                session.close()
                session._rewarm()

        lifecycle.on_before_snapshot(before_snapshot)
        lifecycle.on_after_restore(after_restore)
        if preconnect:
            if base_url is None:
                raise ConfigurationError(
                    "preconnect=True needs a base_url to connect to; pass base_url or call warm(url).",
                    setting="preconnect",
                    value=True,
                )
            self.warm()

    # -- pools ----------------------------------------------------------------------------

    def _pool(self, key: tuple[str, str, int]) -> HTTPConnectionPool:
        pool = self._pools.get(key)
        if pool is not None:
            return pool
        from lambda_kit import _http_pool

        with self._lock:
            pool = self._pools.get(key)
            if pool is None:
                scheme, host, port = key
                context = None
                if scheme == "https":
                    context = self._ssl_context or self._tls
                    if context is None:
                        context = self._tls = _http_pool.tls_context(self._ca_certs)
                pool = _http_pool.make_pool(
                    scheme,
                    host,
                    port,
                    maxsize=self.pool_maxsize,
                    connect_timeout=self.connect_timeout,
                    read_timeout=self.read_timeout or self.timeout,
                    headers=self._headers,
                    ssl_context=context,
                )
                self._pools = {**self._pools, key: pool}  # readers never see a dict mid-update
        return pool

    def _forget(self, key: tuple[str, str, int], pool: HTTPConnectionPool) -> None:
        with self._lock:
            if self._pools.get(key) is pool:
                self._pools = {name: kept for name, kept in self._pools.items() if name != key}

    def _absolute(self, url: str) -> str:
        if self.base_url is None or url.startswith(("http://", "https://", "HTTP://", "HTTPS://")):
            return url
        return f"{self.base_url}/{url.lstrip('/')}"

    def warm(self, url: str | None = None, *, connections: int = 1) -> int:
        """Open connections (TCP and TLS) to ``url``'s origin now, without sending a request.

        Call it at module scope so INIT pays the handshake instead of the first
        invocation. Best effort: an unreachable server is not an error here (the
        first request reports it). Warmed origins are warmed again after a
        SnapStart restore.

        Args:
            url: Any URL of the origin; ``None`` means ``base_url``.
            connections: How many connections to have open (at most ``pool_maxsize``).

        Returns:
            How many of the requested connections are open now (0 if the origin is unreachable).

        Raises:
            ConfigurationError: No URL and no ``base_url``, or ``connections`` out of range.
            InvalidURLError: The URL is malformed.

        Example:
            >>> api = Session("https://api.example.com")  # doctest: +SKIP
            >>> api.warm(connections=2)  # doctest: +SKIP
            2
        """
        if url is None:
            if self.base_url is None:
                raise ConfigurationError(
                    "warm() needs a URL: pass one or create the session with base_url.",
                    setting="url",
                    value=None,
                )
            url = self.base_url
        if not isinstance(connections, int) or not 1 <= connections <= self.pool_maxsize:
            raise ConfigurationError(
                f"Invalid connections={connections!r}; expected an integer from 1 to pool_maxsize "
                f"({self.pool_maxsize}).",
                setting="connections",
                value=connections,
            )
        scheme, host, port, _ = _split(self._absolute(url))
        pool = self._pool((scheme, host, port))
        from lambda_kit import _http_pool

        origin = f"{scheme}://{f'[{host}]' if ':' in host else host}:{port}"
        with self._lock:
            self._warmed[origin] = max(connections, self._warmed.get(origin, 0))
        return _http_pool.warm(pool, connections, self.connect_timeout)

    def _rewarm(self) -> None:
        with self._lock:
            warmed = list(self._warmed.items())
        for origin, connections in warmed:
            try:
                self.warm(origin, connections=connections)
            except Exception:  # noqa: S112 - after a restore, a failed warm-up must not fail the hook
                continue

    def close(self) -> None:
        """Close every pooled connection. The session stays usable and reconnects on demand.

        Runs automatically before a SnapStart snapshot and after a restore.
        """
        with self._lock:
            pools, self._pools = self._pools, {}
        for pool in pools.values():
            pool.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        base = "None" if self.base_url is None else repr(redact_url(self.base_url))
        return f"Session(base_url={base}, timeout={self.timeout}, pools={len(self._pools)})"

    # -- requests -------------------------------------------------------------------------

    def get(self, url: str, **kwargs: Any) -> Response:
        """Send a GET request; see :meth:`request` for the keyword arguments."""
        return self.request("GET", url, **kwargs)

    def head(self, url: str, **kwargs: Any) -> Response:
        """Send a HEAD request; see :meth:`request`."""
        return self.request("HEAD", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> Response:
        """Send a POST request (not retried on 429/5xx unless ``idempotent=True``); see :meth:`request`."""
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> Response:
        """Send a PUT request; see :meth:`request`."""
        return self.request("PUT", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> Response:
        """Send a PATCH request (not retried on 429/5xx unless ``idempotent=True``); see :meth:`request`."""
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> Response:
        """Send a DELETE request; see :meth:`request`."""
        return self.request("DELETE", url, **kwargs)

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = _NO_JSON,
        body: bytes | str | None = None,
        timeout: float | None = None,
        deadline: float | None = None,
        idempotent: bool | None = None,
    ) -> Response:
        """Send a request and read the whole response, within the time budget.

        The budget is the smallest of ``timeout`` (or the session's) and the time left
        in the invocation minus ``deadline_margin``. The time left is ``deadline`` if
        given, else :func:`lambda_kit.lifecycle.remaining_time` (known inside a handler
        wrapped by ``track_invocations`` or any lambda-kit handler decorator), else
        unknown (only the timeout applies). Redirects are not followed.

        Args:
            method: The HTTP method (any case).
            url: An absolute URL, or a path joined to ``base_url``.
            params: Query parameters appended to the URL.
            headers: Extra headers for this request (over the session's).
            json: A value sent as a JSON body with ``Content-Type: application/json``.
            body: Raw body bytes (a ``str`` is sent as UTF-8); exclusive with ``json``.
            timeout: This request's own timeout in seconds, instead of the session's.
            deadline: Seconds left in the invocation, as
                ``context.get_remaining_time_in_millis() / 1000``; the margin is
                subtracted from it.
            idempotent: Whether retrying on 429/502/503/504 (and on a lost response)
                is safe; ``None`` decides by method (GET, HEAD, OPTIONS, PUT, DELETE,
                TRACE). Pass ``True`` for a POST with an idempotency key.

        Returns:
            The final response, whatever its status (see :meth:`Response.raise_for_status`).
            When retries are used up, or a ``Retry-After`` wait would not fit the budget,
            that is the last 429/5xx answer.

        Raises:
            HTTPTimeoutError: The budget ran out, or was already spent before sending.
            HTTPConnectionError: No connection, TLS failure, or the connection was lost
                and the request could not safely be retried.
            InvalidURLError: The URL is not an http(s) URL with a host.
            ConfigurationError: ``timeout`` or ``deadline`` is not a finite number, or
                both ``json`` and ``body`` were given.

        Example:
            >>> api = Session("https://api.example.com")
            >>> api.post("/orders", json={"sku": "A-1"}, idempotent=False)  # doctest: +SKIP
            <Response [201] POST https://api.example.com/orders>
        """
        start = time.monotonic()
        budget = self.timeout
        limit = "timeout"
        if timeout is not None:
            if not _positive(timeout):
                raise ConfigurationError(
                    f"Invalid timeout={timeout!r}; expected a finite number of seconds > 0.",
                    setting="timeout",
                    value=timeout,
                )
            budget = timeout
        if deadline is None:
            deadline = self._remaining()
        elif not _non_negative(deadline):
            raise ConfigurationError(
                f"Invalid deadline={deadline!r}; expected the seconds left in the invocation (finite, >= 0).",
                setting="deadline",
                value=deadline,
            )
        if deadline is not None and deadline - self.deadline_margin < budget:
            budget = deadline - self.deadline_margin
            limit = "deadline"
        method = method.upper()
        if self.base_url is not None:
            url = self._absolute(url)
        if params:
            from urllib.parse import urlencode

            url = url.partition("#")[0]  # a fragment is never sent; the query goes before it
            url = f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"
        scheme, host, port, target = _split(url)
        if budget <= 0:
            raise self._timeout_error(method, url, budget, 0, limit, before=True)

        send_headers = self._headers
        data: bytes | None
        if json is not _NO_JSON:
            if body is not None:
                raise ConfigurationError(
                    "Pass either json= or body=, not both.", setting="json", value="<both json and body>"
                )
            import json as _json

            data = _json.dumps(json, separators=(",", ":"), ensure_ascii=False).encode()
            send_headers = {"Content-Type": "application/json", **send_headers, **(headers or {})}
        else:
            data = body.encode() if isinstance(body, str) else body
            if headers:
                send_headers = {**send_headers, **headers}
        retry_ok = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        return self._send(
            method, url, (scheme, host, port), target, data, send_headers, retry_ok, start, budget, limit
        )

    def _send(
        self,
        method: str,
        url: str,
        key: tuple[str, str, int],
        target: str,
        data: bytes | None,
        headers: dict[str, str],
        retry_ok: bool,
        start: float,
        budget: float,
        limit: str,
    ) -> Response:
        from lambda_kit import _http_pool as hp

        end = start + budget
        attempts = 0  # attempts made
        retried = 0  # retries spent from self.retries
        replayed = False  # the one free replay after a stale connection
        monotonic = time.monotonic
        while True:
            left = end - monotonic()
            if left <= 0:
                raise self._timeout_error(method, url, budget, attempts, limit)
            attempts += 1
            pool = self._pools.get(key)
            if pool is None:
                pool = self._pool(key)
            read = left if self.read_timeout is None or self.read_timeout > left else self.read_timeout
            hp.mark_attempt(end)
            raw: BaseHTTPResponse | None = None
            try:
                raw = pool.urlopen(
                    method,
                    target,
                    body=data,
                    headers=headers,
                    retries=False,
                    redirect=False,
                    assert_same_host=False,
                    timeout=hp.Timeout(connect=min(self.connect_timeout, left), read=read),
                    pool_timeout=left,  # type: ignore[arg-type]  # a queue timeout: any float works
                    preload_content=False,
                )
                payload = _read_body(raw, end)
            except hp.EmptyPoolError:
                raise self._timeout_error(
                    method, url, budget, attempts, limit, waited_for_pool=True
                ) from None
            except _Expired:
                raise self._timeout_error(method, url, budget, attempts, limit) from None
            except hp.ClosedPoolError:
                self._forget(key, pool)  # closed under us (a SnapStart hook); nothing was sent
                continue
            except hp.HTTPError as error:
                if isinstance(error, hp.NewConnectionError) or (
                    isinstance(error, hp.ConnectTimeoutError) and monotonic() < end
                ):
                    # Nothing was sent: safe to retry whatever the method.
                    if retried < self.retries and self._backoff(retried, None, end):
                        retried += 1
                        continue
                    if isinstance(error, hp.NewConnectionError):
                        raise self._connection_error(method, url, attempts, error) from error
                    raise self._timeout_error(method, url, budget, attempts, "connect_timeout") from error
                if isinstance(error, hp.ConnectTimeoutError | hp.ReadTimeoutError):
                    if monotonic() >= end or not retry_ok:
                        raise self._timeout_error(
                            method, url, budget, attempts, limit if monotonic() >= end else "read_timeout"
                        ) from error
                    if retried < self.retries and self._backoff(retried, None, end):
                        retried += 1
                        continue
                    raise self._timeout_error(method, url, budget, attempts, "read_timeout") from error
                stale = raw is None and hp.reused() and isinstance(error, hp.ProtocolError | hp.SSLError)
                if stale and not replayed and (retry_ok or (hp.unsent() and _nothing_received(error))):
                    # The server (or a NAT) dropped this kept-alive connection while the
                    # environment was frozen. Replay once on a fresh connection: an
                    # idempotent request always; any other only when its first write
                    # failed and no answer byte came, so the server provably has none of it.
                    replayed = True
                    continue
                # A TLS failure on a new connection (certificate, protocol) does not heal by retrying.
                transient = stale or not isinstance(error, hp.SSLError)
                if retry_ok and transient and retried < self.retries and self._backoff(retried, None, end):
                    retried += 1
                    continue
                raise self._connection_error(
                    method, url, attempts, error, maybe_received=not retry_ok and hp.sent()
                ) from error
            status = raw.status
            if status in RETRY_STATUSES and retry_ok and retried < self.retries:
                wait = parse_retry_after(raw.headers.get("Retry-After"))
                if self._backoff(retried, wait, end):
                    retried += 1
                    continue
            return Response(status, raw.headers, payload, method, redact_url(url))

    def _backoff(self, retried: int, at_least: float | None, end: float) -> bool:
        """Sleep before retry number ``retried + 1``; ``False`` if the wait would not fit the budget."""
        import os

        cap = min(self.backoff_max, self.backoff * (2**retried))
        # os.urandom, not the random module: every copy restored from one SnapStart snapshot
        # holds the same random state, and would wait in lockstep.
        wait = cap * (int.from_bytes(os.urandom(7), "big") / 72057594037927936.0)  # 2**56
        if at_least is not None and wait < at_least:
            wait = at_least
        if time.monotonic() + wait >= end:
            return False
        if wait > 0:
            self._sleep(wait)
        return True

    def _timeout_error(
        self,
        method: str,
        url: str,
        budget: float,
        attempts: int,
        limit: str,
        *,
        before: bool = False,
        waited_for_pool: bool = False,
    ) -> HTTPTimeoutError:
        safe = redact_url(url)
        if before:
            what = "no time was left to send it"
        elif waited_for_pool:
            what = f"no pooled connection became free (pool_maxsize={self.pool_maxsize})"
        else:
            what = f"it did not complete after {attempts} attempt(s)"
        bounds = {
            "deadline": f"the invocation's remaining time minus the {self.deadline_margin} s deadline_margin",
            "timeout": "the request timeout",
            "connect_timeout": f"connect_timeout={self.connect_timeout} s on every attempt",
            "read_timeout": f"read_timeout={self.read_timeout} s",
        }
        return HTTPTimeoutError(
            f"{method} {safe} timed out: {what} within {max(budget, 0.0):.3f} s ({bounds[limit]}). "
            "Raise the timeout or the function's timeout, or make the downstream faster.",
            method=method,
            url=safe,
            budget=budget,
            attempts=attempts,
            limit=limit,
        )

    def _connection_error(
        self, method: str, url: str, attempts: int, error: Exception, *, maybe_received: bool = False
    ) -> HTTPConnectionError:
        safe = redact_url(url)
        name = _reason(error)
        if maybe_received:
            advice = (
                "The connection was lost after the request was sent: the server may have received "
                "and processed it, so it was not sent again. Pass idempotent=True if repeating it is safe."
            )
        else:
            advice = "Check that the host is reachable and serves HTTP(S) on that port."
        return HTTPConnectionError(
            f"{method} {safe} failed after {attempts} attempt(s): {name} ({type(error).__name__}). {advice}",
            method=method,
            url=safe,
            attempts=attempts,
            reason=name,
            maybe_received=maybe_received,
        )


_UNANSWERED = frozenset(
    {"RemoteDisconnected", "ConnectionResetError", "BrokenPipeError", "ConnectionAbortedError", "SSLEOFError"}
)


def _nothing_received(error: BaseException) -> bool:
    """Whether a lost connection ended with no response byte read (not a garbled or partial answer)."""
    return _reason(error) in _UNANSWERED


def _reason(error: BaseException) -> str:
    """The name of the error underneath urllib3's wrappers (never its message: it may hold a URL)."""
    for arg in reversed(error.args):
        if isinstance(arg, BaseException):
            return _reason(arg)
    inner = error.__cause__ or error.__context__
    if inner is not None and type(error).__module__.startswith("urllib3"):
        return _reason(inner)
    return type(error).__name__


def _read_body(raw: BaseHTTPResponse, end: float) -> bytes:
    """Read the whole body and release the connection (every socket read is bounded by ``end``)."""
    chunks: list[bytes] = []
    monotonic = time.monotonic
    while True:
        if end - monotonic() <= 0:
            raw.close()
            raw.release_conn()
            raise _Expired
        chunk = raw.read1(_CHUNK)
        if not chunk:
            break
        chunks.append(chunk)
        if raw.length_remaining == 0 and not raw.headers.get("Content-Encoding"):
            break  # all Content-Length bytes are in and no decoder holds any back
    raw.release_conn()
    if len(chunks) == 1:
        return chunks[0]
    return b"".join(chunks)
