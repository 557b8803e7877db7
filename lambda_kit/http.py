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
  pools are closed before a snapshot, and a session drops the pools of an older
  restore generation (:func:`lambda_kit.lifecycle.restore_generation`) on first use
  after a restore. The origins warmed with :meth:`Session.warm` are warmed again
  during the restore, in parallel and within
  :data:`lambda_kit.lifecycle.RESTORE_WARM_BUDGET`. A session registers no hook, so
  sessions made and dropped at will leave nothing behind.
* **Deadlines.** A request never runs past the invocation's remaining time minus a
  safety margin (and never past the session's ``timeout``): a slow downstream gives
  :class:`~lambda_kit.exceptions.HTTPTimeoutError` while the handler still has time
  to answer, instead of a Lambda timeout. The remaining time comes from an explicit
  ``deadline=`` (seconds left), else from :func:`lambda_kit.lifecycle.remaining_time`,
  which :func:`lambda_kit.lifecycle.track_invocations` and every lambda-kit handler
  decorator set from the Lambda context. Requests from worker threads (a
  ``ThreadPoolExecutor`` inside the handler) are bounded by the invocation in flight,
  or by the earliest deadline when several are.
* **Retries.** Connect errors, and 429, 502, 503 and 504 answers to idempotent
  requests, are retried with exponential backoff and full jitter, waiting at least
  what ``Retry-After`` asks, within the same time budget.
* **Fair pools.** Threads waiting for a pooled connection are served in arrival
  order, each within its own budget: a thread that releases a connection cannot
  take it straight back while others wait.

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

import functools
import json as _json  # as _json: request() has a json= argument, Response a json() method
import os
import re
import threading
import time

from lambda_kit._config import UNSET, integer, non_negative_seconds, positive_seconds, resolve, seconds
from lambda_kit._util import random_unit
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
    "NO_JSON",
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


class _NoJSON:
    """The type of :data:`NO_JSON`: one instance, falsy, shown as ``NO_JSON`` in signatures."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NO_JSON"

    def __bool__(self) -> bool:
        return False


NO_JSON: Final[Any] = _NoJSON()
"""The default of :meth:`Session.request`'s ``json=``: send no JSON body.

``None`` cannot mean "not given" there, because ``json=None`` sends the JSON value
``null``. Pass ``NO_JSON`` to forward "no JSON" explicitly from your own wrapper.
"""


def default_pool_size() -> int:
    """Connections per origin: 10, or the function's concurrency on Lambda Managed Instances.

    Reads ``AWS_LAMBDA_MAX_CONCURRENCY`` (set where one environment serves several
    invocations at once); capped at 1000.
    """
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
    bad = _pattern("control").search(url)
    if bad is not None:  # urllib3 would percent-encode it silently, http.client refuse it with the URL
        where = "at its end" if bad.end() == len(url) else f"at position {bad.start()}"
        raise InvalidURLError(
            f"Cannot request {redact_url(url)!r}: the URL holds {_describe(bad.group())} {where}; "
            "a URL cannot hold line breaks or control characters (strip a value read from a file, "
            "or percent-encode it).",
            url=redact_url(url),
        )
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
    bracketed = authority.startswith("[")
    if bracketed:  # [IPv6]:port
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
    valid = _pattern("ipv6" if bracketed else "host").match(host)
    end = valid.end() if valid is not None else 0
    bad_host = host[end] if end < len(host) else ""
    if not host or not 0 < port < 65536 or bad_host:
        if "@" in rest:
            raise InvalidURLError(
                f"Cannot request {redact_url(url)!r}: credentials in the URL are not supported; "
                "send them in an Authorization header instead.",
                url=redact_url(url),
            )
        if host and bad_host:
            raise InvalidURLError(
                f"Cannot request {redact_url(url)!r}: the host holds {_describe(bad_host)}; "
                "expected a host name or an IP address.",
                url=redact_url(url),
            )
        raise InvalidURLError(
            f"Cannot request {redact_url(url)!r}: expected a host and an optional port between 1 and 65535.",
            url=redact_url(url),
        )
    return scheme, host.lower(), port, target


# Compiled on first use: `re` is not needed to import the module.
_patterns: dict[str, Any] = {}


def _pattern(name: str) -> Any:
    compiled = _patterns.get(name)
    if compiled is None:
        sources: dict[str, str | bytes] = {
            # RFC 9110 token: method and header names.
            "token": r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+",
            # What a header value may not hold: line breaks, other controls but TAB, DEL,
            # and (in a str) characters beyond Latin-1, which http.client cannot encode.
            "bad_value": r"[^\t\x20-\x7e\x80-\xff]",
            "bad_value_bytes": rb"[^\t\x20-\x7e\x80-\xff]",
            "control": r"[\x00-\x1f\x7f]",
            # A host: anything but whitespace and the characters that delimit URL parts.
            "host": r"[^\s/?#@\[\]<>\"{}|\\^`]+",
            "ipv6": r"[0-9A-Za-z:.%_~-]+",
        }
        compiled = _patterns[name] = re.compile(sources[name])
    return compiled


def _describe(char: str | int) -> str:
    """A character named for an error message (never the text around it)."""
    code = char if isinstance(char, int) else ord(char)
    names = {0x0A: "a line feed (\\n)", 0x0D: "a carriage return (\\r)", 0x00: "a NUL byte"}
    if code in names:
        return names[code]
    if code < 0x20 or code == 0x7F:
        return f"a control character (U+{code:04X})"
    if code > 0xFF:
        return f"a character beyond Latin-1 (U+{code:04X})"
    return f"the character {chr(code)!r}"


def _safe_name(name: str) -> str:
    """The valid start of a malformed header name: the rest may be a value pasted into it."""
    match = _pattern("token").match(name)
    prefix = match.group() if match else ""
    return prefix[:64]


def _check_headers(headers: Mapping[Any, Any]) -> dict[str, Any]:
    """``headers`` checked for what http.client would reject; ints become text.

    Raises:
        ConfigurationError: A name that is not an RFC 9110 token, or a value that is not
            text or holds a line break or control character. The message names the
            header, never its value (a header often carries a token).
    """
    if not hasattr(headers, "items"):
        raise ConfigurationError(
            f"Invalid headers of type {type(headers).__name__}; expected a mapping of names to values.",
            setting="headers",
        )
    checked: dict[str, Any] = {}
    token = _pattern("token").fullmatch
    for name, value in headers.items():
        if isinstance(name, bytes):
            name = name.decode("latin-1")
        if not isinstance(name, str):
            raise ConfigurationError(
                f"Invalid header name of type {type(name).__name__}; expected a str.", setting="headers"
            )
        if not token(name):
            prefix = _safe_name(name)
            bad = name[len(prefix)] if len(prefix) < len(name) else ""
            what = "is empty" if not name else f"holds {_describe(bad)} after {prefix!r}"
            raise ConfigurationError(
                f"Invalid header name: it {what}; a name is letters, digits and !#$%&'*+-.^_`|~ only "
                "(put the value in the value, not in the name).",
                setting="headers",
                header=prefix,
            )
        if isinstance(value, str):
            bad_match = _pattern("bad_value").search(value)
        elif isinstance(value, bytes):
            bad_match = _pattern("bad_value_bytes").search(value)
        elif isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
            bad_match = None
        else:
            hint = " (leave the header out instead)" if value is None else ""
            raise ConfigurationError(
                f"Invalid value for header {name!r}: a {type(value).__name__}{hint}; "
                "expected a str, bytes or int.",
                setting="headers",
                header=name,
            )
        if bad_match is not None:
            char = bad_match.group()[0]
            where = "at its end" if bad_match.end() == len(value) else f"at position {bad_match.start()}"
            if isinstance(char, str) and ord(char) > 0xFF:
                advice = (
                    "header values are Latin-1 text: encode other text first (percent-encoding, RFC 8187)."
                )
            else:
                advice = (
                    "header values cannot hold line breaks or control characters; if the value was read "
                    "from a file or a variable, strip it (value.strip())."
                )
            raise ConfigurationError(
                f"Invalid value for header {name!r}: it holds {_describe(char)} {where}; {advice}",
                setting="headers",
                header=name,
            )
        checked[name] = value
    return checked


def _check_method(method: object) -> str:
    if isinstance(method, str) and _pattern("token").fullmatch(method):
        return method.upper()
    shown = repr(method)[:40] if isinstance(method, str) else f"a {type(method).__name__}"
    raise ConfigurationError(
        f"Invalid HTTP method {shown}; expected a token such as 'GET' or 'POST'.", setting="method"
    )


def _query(params: Any) -> str:
    """``params`` as a query string, encoded as requests does.

    A list or tuple value repeats the name (``ids=1&ids=2``); ``None``, alone or in a
    list, is left out; ``True``/``False`` are sent as ``true``/``false``; bytes are
    percent-encoded as they are; other scalars as ``str()``. ``params`` is a mapping,
    or a list or tuple of ``(name, value)`` pairs (names may repeat).

    Raises:
        ConfigurationError: ``params`` is not a mapping or sequence of pairs, or a value
            is a container other than a list or tuple. The message names the
            parameter, never its value.

    Example:
        >>> _query({"ids": [1, 2], "q": None, "debug": True})
        'ids=1&ids=2&debug=true'
    """
    from urllib.parse import quote_plus

    if hasattr(params, "items"):
        pairs = list(params.items())
    elif isinstance(params, (list, tuple)):
        pairs = list(params)
        for index, pair in enumerate(pairs):
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise ConfigurationError(
                    f"Invalid params: item {index} is a {type(pair).__name__}, not a (name, value) pair.",
                    setting="params",
                )
    else:
        raise ConfigurationError(
            f"Invalid params of type {type(params).__name__}; expected a mapping or a list of "
            "(name, value) pairs (put a ready query string in the URL instead).",
            setting="params",
        )
    parts: list[str] = []
    for name, value in pairs:
        if isinstance(name, int) and not isinstance(name, bool):
            name = str(name)
        if not isinstance(name, (str, bytes)):
            raise ConfigurationError(
                f"Invalid query parameter name of type {type(name).__name__}; expected a str.",
                setting="params",
            )
        key = quote_plus(name)
        for item in value if isinstance(value, (list, tuple)) else (value,):
            if item is None:
                continue
            if item is True or item is False:
                text: str | bytes = "true" if item else "false"
            elif isinstance(item, (str, bytes)):
                text = item
            elif isinstance(item, bytearray):
                text = bytes(item)
            elif hasattr(item, "__iter__"):  # a dict, a set, a nested list: no one encoding fits
                raise ConfigurationError(
                    f"Invalid value for query parameter {str(name)[:64]!r}: a {type(item).__name__}; "
                    "expected a str, bytes, int, float, bool, None, or a list or tuple of them.",
                    setting="params",
                    parameter=str(name)[:64],
                )
            else:
                text = str(item)
            parts.append(f"{key}={quote_plus(text)}")
    return "&".join(parts)


def _body_bytes(body: object) -> bytes | None:
    """A request body as bytes; anything but bytes, a buffer or text is a clear error."""
    if body is None or type(body) is bytes:
        return body
    if isinstance(body, str):
        return body.encode()
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)  # one bytes object, whatever buffer came in
    raise ConfigurationError(
        f"Invalid body of type {type(body).__name__}; expected bytes or str "
        "(send a dict or a list with json=).",
        setting="body",
    )


def _with_query(url: str, query: str) -> str:
    """``url`` with ``query`` added to any query it has (a fragment is never sent)."""
    url = url.partition("#")[0]
    if "?" not in url:
        return f"{url}?{query}"
    return f"{url}{'' if url.endswith(('?', '&')) else '&'}{query}"


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
        return _json.loads(self.body)

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
        headers: Headers sent with every request (checked now: see :meth:`request`).
        pool_maxsize: Connections kept per origin; threads beyond it wait for a free
            one (``LAMBDA_KIT_HTTP_POOL_MAXSIZE``; default 10, or the function's
            concurrency on Lambda Managed Instances).
        ca_certs: A CA bundle file to verify servers with, instead of the system's.
        ssl_context: A ready ``ssl.SSLContext`` (wins over ``ca_certs``).
        preconnect: Open a connection to ``base_url`` now (see :meth:`warm`).

    Raises:
        ConfigurationError: A setting (argument or variable) is out of range, or a
            header is invalid.

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
        # None means "not given": the LAMBDA_KIT_HTTP_* variable or the default applies.
        self.timeout: float = resolve(
            "http_timeout",
            UNSET if timeout is None else timeout,
            DEFAULT_TIMEOUT,
            seconds(),
            argument="timeout",
        )
        self.connect_timeout: float = resolve(
            "http_connect_timeout",
            UNSET if connect_timeout is None else connect_timeout,
            DEFAULT_CONNECT_TIMEOUT,
            seconds(),
            argument="connect_timeout",
        )
        if read_timeout is not None:
            seconds().validate("read_timeout", read_timeout, also=" or None")
        self.read_timeout = read_timeout
        self.retries: int = resolve(
            "http_retries",
            UNSET if retries is None else retries,
            DEFAULT_RETRIES,
            integer(0, 10),
            argument="retries",
        )
        self.backoff = float(seconds(allow_zero=True).validate("backoff", backoff))
        self.backoff_max = float(seconds(allow_zero=True).validate("backoff_max", backoff_max))
        self.deadline_margin: float = resolve(
            "http_deadline_margin",
            UNSET if deadline_margin is None else deadline_margin,
            DEFAULT_DEADLINE_MARGIN,
            seconds(allow_zero=True),
            argument="deadline_margin",
        )
        self.pool_maxsize: int = resolve(
            "http_pool_maxsize",
            UNSET if pool_maxsize is None else pool_maxsize,
            default_pool_size(),
            integer(1, _MAX_POOL),
            argument="pool_maxsize",
        )
        if base_url is not None:
            _split(base_url)  # fails now, at INIT, on a malformed base URL
            base_url = base_url.rstrip("/")
        self.base_url = base_url
        self._headers: dict[str, Any] = _check_headers(headers) if headers else {}
        self._ca_certs = ca_certs
        self._ssl_context = ssl_context
        self._pools: dict[tuple[str, str, int], HTTPConnectionPool] = {}
        self._lock = threading.Lock()
        self._warmed: dict[str, int] = {}
        self._sleep: Callable[[float], None] = time.sleep
        self._tls: ssl.SSLContext | None = None

        from lambda_kit import lifecycle

        self._remaining = lifecycle.remaining_time
        # No SnapStart hooks of its own (a session made per invocation would leak them):
        # pools are renewed by restore generation, and lifecycle tracks the session weakly
        # once it has a pool, to close it before a snapshot and re-warm it after a restore.
        self._lifecycle = lifecycle
        self._generation = lifecycle._generation
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
                try:
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
                except _http_pool.LocationValueError:  # a host urllib3 cannot normalise (IDNA)
                    origin = f"{scheme}://{f'[{host}]' if ':' in host else host}:{port}"
                    raise InvalidURLError(
                        f"Cannot request {origin!r}: the host is not a valid host name.", url=origin
                    ) from None
                self._pools = {**self._pools, key: pool}  # readers never see a dict mid-update
        self._lifecycle._track(self)
        return pool

    def _renew(self) -> None:
        """Drop the pools made before the latest SnapStart restore: their sockets are the snapshot's."""
        with self._lock:
            generation = self._lifecycle._generation
            if self._generation == generation:
                return
            self._generation = generation
            pools, self._pools = self._pools, {}
        for pool in pools.values():
            pool.close()

    def _close_for_snapshot(self) -> None:
        """Before a snapshot (lifecycle calls it): no socket goes into the snapshot."""
        self.close()

    def _warmups(self) -> list[Callable[[float], object]]:
        """After a restore (lifecycle calls it): one warm-up per warmed origin, run in parallel."""
        with self._lock:
            warmed = list(self._warmed.items())
        return [functools.partial(self._warm_until, origin, connections) for origin, connections in warmed]

    def _warm_until(self, origin: str, connections: int, end: float) -> int:
        """Warm ``origin`` again, every connect cut at ``end`` (a ``time.monotonic()`` value)."""
        if self._generation != self._lifecycle._generation:
            self._renew()
        from lambda_kit import _http_pool

        scheme, host, port, _ = _split(origin)
        pool = self._pool((scheme, host, port))
        return _http_pool.warm(pool, connections, self.connect_timeout, end=end)

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
        if not integer(1, self.pool_maxsize).accepts(connections):
            raise ConfigurationError(
                f"Invalid connections={connections!r}; expected an integer from 1 to pool_maxsize "
                f"({self.pool_maxsize}).",
                setting="connections",
                argument="connections",
                value=connections,
            )
        if self._generation != self._lifecycle._generation:
            self._renew()
        scheme, host, port, _ = _split(self._absolute(url))
        pool = self._pool((scheme, host, port))
        from lambda_kit import _http_pool

        origin = f"{scheme}://{f'[{host}]' if ':' in host else host}:{port}"
        with self._lock:
            self._warmed[origin] = max(connections, self._warmed.get(origin, 0))
        return _http_pool.warm(pool, connections, self.connect_timeout)

    def close(self) -> None:
        """Close every pooled connection. The session stays usable and reconnects on demand.

        Runs automatically before a SnapStart snapshot; after a restore, the pools of
        the snapshot are dropped on first use.
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
        json: Any = NO_JSON,
        body: bytes | bytearray | memoryview | str | None = None,
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
            params: Query parameters added to the URL's query: a mapping, or a list of
                ``(name, value)`` pairs. A list or tuple value repeats the name
                (``{"ids": [1, 2]}`` sends ``ids=1&ids=2``), ``None`` is left out,
                ``True``/``False`` are sent as ``true``/``false``, bytes as they are.
            headers: Extra headers for this request (over the session's). Values are
                ``str``, ``bytes`` or ``int``.
            json: A value sent as a JSON body with ``Content-Type: application/json``
                (``None`` sends ``null``; the default, :data:`NO_JSON`, sends no JSON).
            body: Raw body bytes (``bytes``, ``bytearray`` or ``memoryview``; a ``str`` is
                sent as UTF-8); exclusive with ``json``.
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
            InvalidURLError: The URL is not an http(s) URL with a valid host, or holds a
                line break or another control character.
            ConfigurationError: ``timeout`` or ``deadline`` is not a finite number, both
                ``json`` and ``body`` were given, ``body`` is not bytes or text, the
                method is not a token, a header
                name or value is invalid (a line break, a control character, a type
                other than str/bytes/int: the message names the header, never its
                value), or ``params`` cannot be encoded.

        Example:
            >>> api = Session("https://api.example.com")
            >>> api.post("/orders", json={"sku": "A-1"}, idempotent=False)  # doctest: +SKIP
            <Response [201] POST https://api.example.com/orders>
        """
        start = time.monotonic()
        if self._generation != self._lifecycle._generation:  # restored from a snapshot since
            self._renew()
        budget = self.timeout
        limit = "timeout"
        if timeout is not None:
            if not positive_seconds(timeout):  # the fast test first; the Check raises the error
                seconds().validate("timeout", timeout)
            budget = timeout
        if deadline is None:
            deadline = self._remaining()
        elif not non_negative_seconds(deadline):
            raise ConfigurationError(
                f"Invalid deadline={deadline!r}; expected the seconds left in the invocation (finite, >= 0).",
                setting="deadline",
                argument="deadline",
                value=deadline,
            )
        if deadline is not None and deadline - self.deadline_margin < budget:
            budget = deadline - self.deadline_margin
            limit = "deadline"
        method = _check_method(method)
        if self.base_url is not None:
            url = self._absolute(url)
        if params:
            query = _query(params)
            if query:
                url = _with_query(url, query)
        scheme, host, port, target = _split(url)
        if budget <= 0:
            raise self._timeout_error(method, url, budget, 0, limit, before=True)

        send_headers = self._headers
        if headers:
            headers = _check_headers(headers)
        data: bytes | None
        if json is not NO_JSON:
            if body is not None:
                raise ConfigurationError(
                    "Pass either json= or body=, not both.", setting="json", value="<both json and body>"
                )
            data = _json.dumps(json, separators=(",", ":"), ensure_ascii=False).encode()
            send_headers = {"Content-Type": "application/json", **send_headers, **(headers or {})}
        else:
            data = _body_bytes(body)
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
        cap = min(self.backoff_max, self.backoff * (2**retried))
        wait = cap * random_unit()  # not the random module: copies restored from one snapshot differ
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
