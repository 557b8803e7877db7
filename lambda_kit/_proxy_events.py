"""HTTP proxy events as Lambda receives them, and the responses it expects (internal).

Four AWS integrations invoke a function with an HTTP request:

* ``rest_v1``: API Gateway REST APIs, and HTTP APIs with payload format 1.0.
  Headers keep the client's case; ``multiValueHeaders`` holds every value.
* ``http_v2``: API Gateway HTTP APIs (payload format 2.0). ``version`` is ``"2.0"``,
  header names are lower case and repeated headers are joined with commas.
* ``function_url``: Lambda function URLs, shaped like ``http_v2``; told apart by
  ``requestContext.domainName`` (``<id>.lambda-url.<region>.on.aws``).
* ``alb``: Application Load Balancer targets (``requestContext.elb``), with
  ``multiValueHeaders`` instead of ``headers`` when the target group enables them.

All four take the same response fields (``statusCode``, ``headers``, ``body``,
``isBase64Encoded``); ALB adds ``statusDescription``, and where the event came
with ``multiValueHeaders`` the response uses them too (ALB ignores ``headers``
then). This module reads events defensively: anything malformed reads as absent,
never as an exception, except a body that cannot be read (``ValueError``).

It also parses the weighted lists of ``Accept`` and ``Accept-Encoding`` and picks
a media type the way RFC 9110 describes (section 12.5.1).

Example:
    >>> event = {"version": "2.0", "headers": {"accept": "application/x-protobuf"},
    ...          "requestContext": {"domainName": "abc.execute-api.eu-west-1.amazonaws.com"}}
    >>> detect_integration(event), get_header(event, "Accept")
    ('http_v2', 'application/x-protobuf')
    >>> offers = ["application/json", "application/x-protobuf"]
    >>> negotiate("application/json;q=0.5, application/x-protobuf", offers)
    'application/x-protobuf'
"""

from __future__ import annotations

import binascii
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any, Literal, TypeAlias

    Integration: TypeAlias = Literal["rest_v1", "http_v2", "alb", "function_url", "unknown"]

__all__ = [
    "build_response",
    "decode_body",
    "detect_integration",
    "encode_base64",
    "fast_header",
    "get_header",
    "media_type_of",
    "method_and_path",
    "negotiate",
    "parse_accept",
    "parse_query_string",
    "parse_weighted_tokens",
    "status_description",
    "token_accepted",
    "uses_multi_value_headers",
]


def detect_integration(event: Any) -> Integration:
    """Which integration sent ``event``: ``rest_v1``, ``http_v2``, ``alb``, ``function_url`` or ``unknown``.

    Example:
        >>> detect_integration({"httpMethod": "GET", "requestContext": {"stage": "prod"}})
        'rest_v1'
    """
    if not isinstance(event, dict):
        return "unknown"
    context = event.get("requestContext")
    if not isinstance(context, dict):
        context = {}
    if event.get("version") == "2.0":
        domain = context.get("domainName")
        if isinstance(domain, str) and ".lambda-url." in domain:
            return "function_url"
        return "http_v2"
    if "elb" in context:
        return "alb"
    if "httpMethod" in event:
        return "rest_v1"
    return "unknown"


def uses_multi_value_headers(event: Any) -> bool:
    """Whether the response to ``event`` should carry ``multiValueHeaders`` (the event did)."""
    return (
        isinstance(event, dict)
        and isinstance(event.get("multiValueHeaders"), dict)
        and event.get("version") != "2.0"
    )


def _lookup(mapping: Mapping[Any, Any], name: str, lower: str) -> Any:
    value = mapping.get(lower)
    if value is None:
        value = mapping.get(name)
        if value is None:
            for key, candidate in mapping.items():
                if isinstance(key, str) and key.lower() == lower:
                    return candidate
    return value


def get_header(event: Any, name: str) -> str | None:
    """The value of header ``name`` in ``event``, matched case-insensitively.

    Repeated headers (``multiValueHeaders``) are joined with ``", "``, as HTTP
    allows for list-valued headers such as ``Accept``. ``None`` when absent or
    when the event's headers are malformed.

    Example:
        >>> get_header({"multiValueHeaders": {"Accept": ["a/b", "c/d"]}}, "accept")
        'a/b, c/d'
    """
    if not isinstance(event, dict):
        return None
    lower = name.lower()
    multi = event.get("multiValueHeaders")
    if multi and isinstance(multi, dict):
        values = _lookup(multi, name, lower)
        if isinstance(values, list):
            if len(values) == 1 and isinstance(values[0], str):
                return values[0]
            strings = [value for value in values if isinstance(value, str)]
            if strings:
                return ", ".join(strings)
        elif isinstance(values, str):
            return values
    headers = event.get("headers")
    if headers and isinstance(headers, dict):
        value = _lookup(headers, name, lower)
        if isinstance(value, str):
            return value
    return None


def fast_header(event: dict[str, Any], name: str, lower: str) -> str | None:
    """:func:`get_header` (always the same answer), fast for the common shapes.

    For a per-request lookup of a header whose spellings the caller knows (``"Accept"``,
    ``"accept"``): a single value under either spelling, in ``multiValueHeaders`` when
    the event has them (REST APIs, ALB with multi-value headers on), else in
    ``headers``, is found with a dict lookup or two. Anything else (another case,
    repeated values, malformed headers) goes to :func:`get_header`.

    Example:
        >>> fast_header({"headers": {"accept": "text/plain"}}, "Accept", "accept")
        'text/plain'
    """
    multi = event.get("multiValueHeaders")
    if not multi:  # as get_header: an empty or absent multiValueHeaders is not consulted
        headers = event.get("headers")
        if type(headers) is dict:
            value = headers.get(lower)
            if value is None:
                value = headers.get(name)
            if type(value) is str:
                return value
    elif type(multi) is dict:
        values = multi.get(lower)
        if values is None:
            values = multi.get(name)
        if type(values) is list and len(values) == 1:
            value = values[0]
            if type(value) is str:
                return value
    return get_header(event, name)


def method_and_path(event: dict[str, Any], integration: str) -> tuple[str, str, bool] | None:
    """``(METHOD, path, encoded)`` of a request, or ``None`` when the event lacks either.

    ``path`` is as delivered, without an HTTP API stage prefix, and ``encoded`` says
    whether it still holds ``%``-escapes to decode. REST APIs, ALB, HTTP API payload
    2.0 (``rawPath``) and function URLs deliver the path percent-encoded as the client
    sent it; HTTP API payload 1.0 delivers it decoded. ``integration`` is what
    :func:`detect_integration` says, except that ``http_v2`` may stand for
    ``function_url`` (the same request format). The method is upper-cased.

    Example:
        >>> method_and_path({"version": "2.0", "rawPath": "/prod/a%2Fb",
        ...     "requestContext": {"stage": "prod", "http": {"method": "get"}}}, "http_v2")
        ('GET', '/a%2Fb', True)
    """
    method: Any = None
    if integration == "http_v2" or integration == "function_url":
        context = event.get("requestContext")
        path = event.get("rawPath")
        if type(context) is dict:
            http = context.get("http")
            if type(http) is dict:
                method = http.get("method")
            stage = context.get("stage")
            if type(path) is str and type(stage) is str and stage != "$default":
                prefix = "/" + stage
                if path == prefix or path.startswith(prefix + "/"):
                    path = path[len(prefix) :] or "/"
        encoded = True
    else:
        method = event.get("httpMethod")
        path = event.get("path")
        encoded = integration == "alb" or event.get("version") != "1.0"  # HTTP API 1.0: decoded
    if type(method) is not str or type(path) is not str:
        return None
    return method.upper(), path, encoded and "%" in path


if sys.version_info >= (3, 11):

    def _strict_b64decode(text: str) -> bytes:
        return binascii.a2b_base64(text, strict_mode=True)

else:  # pragma: no cover - Python 3.10 has no strict_mode

    def _strict_b64decode(text: str) -> bytes:
        import base64

        return base64.b64decode(text, validate=True)


def decode_body(event: Any) -> bytes:
    """The request body as bytes: base64-decoded when ``isBase64Encoded``, else UTF-8.

    A missing or null body is ``b""``.

    Raises:
        ValueError: The body is not a string, its base64 is invalid (strict
            decoding: no stray characters, correct padding), or its text cannot be
            UTF-8 (a lone surrogate from a ``\\ud800`` escape in the event). The
            message says which, for the 400 the client gets.

    Example:
        >>> decode_body({"body": "aGk=", "isBase64Encoded": True})
        b'hi'
    """
    body = event.get("body") if isinstance(event, dict) else None
    if body is None:
        return b""
    if not isinstance(body, str):
        raise ValueError(f"The event's body is a JSON {_json_type(body)}, not a string.")
    if event.get("isBase64Encoded") is True:
        try:
            return _strict_b64decode(body)
        except ValueError:  # binascii.Error, and non-ASCII text
            raise ValueError("The request body is not valid base64.") from None
    try:
        return body.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("The request body is not valid Unicode text (it holds a lone surrogate).") from None


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return type(value).__name__


def parse_query_string(raw: str) -> list[tuple[str, str]]:
    """A query string as the client sent it, as decoded ``(name, value)`` pairs, in order.

    Form decoding, as browsers encode: ``+`` is a space and ``%2B`` a plus; a name
    without ``=`` has the value ``""``; empty pieces (``a=1&&b=2``) are skipped;
    invalid UTF-8 after percent-decoding reads as U+FFFD.

    Example:
        >>> parse_query_string("page=1&page=2&tz=%2B00%3A00&q=a+b&flag")
        [('page', '1'), ('page', '2'), ('tz', '+00:00'), ('q', 'a b'), ('flag', '')]
    """
    pieces = raw.split("&")
    if "%" not in raw and "+" not in raw:  # nothing to decode: the common case, without a call
        return [(name, value) for name, _, value in (piece.partition("=") for piece in pieces if piece)]
    from urllib.parse import unquote_plus

    pairs: list[tuple[str, str]] = []
    for piece in pieces:
        if piece:
            name, _, value = piece.partition("=")
            pairs.append((unquote_plus(name), unquote_plus(value)))
    return pairs


def encode_base64(data: bytes) -> str:
    """``data`` as base64 text without a newline (the fastest standard-library way)."""
    return binascii.b2a_base64(data, newline=False).decode("ascii")


def media_type_of(content_type: str | None) -> str:
    """The lower-case ``type/subtype`` of a Content-Type value, without parameters; ``""`` if absent.

    Example:
        >>> media_type_of("Application/JSON; charset=utf-8")
        'application/json'
    """
    if not content_type:
        return ""
    return content_type.partition(";")[0].strip().lower()


def _qvalue(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if 0.0 <= value <= 1.0 else None  # NaN fails both comparisons


def _weight(params: list[str]) -> float | None:
    """The q parameter among ``params`` (1.0 when absent); None when it is malformed."""
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "q":
            return _qvalue(value.strip())  # parameters after q are accept-ext: ignored
    return 1.0


def _split_unquoted(text: str, separator: str) -> list[str]:
    """``text.split(separator)``, except inside ``"quoted strings"`` (with ``\\`` escapes)."""
    if '"' not in text:
        return text.split(separator)
    parts: list[str] = []
    start = 0
    quoted = False
    escaped = False
    for index, char in enumerate(text):
        if escaped:
            escaped = False
        elif quoted:
            if char == "\\":
                escaped = True
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        elif char == separator:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return parts


def parse_accept(header: str) -> list[tuple[str, str, float]]:
    """The media ranges of an Accept header as ``(type, subtype, q)``, in header order.

    Lenient, as servers must be with what clients send: names are lower-cased,
    parameters other than ``q`` are ignored (commas and semicolons inside their
    quoted values included), a lone ``*`` reads as ``*/*``, and
    malformed elements (no ``/``, ``*/json``, a q outside 0..1) are skipped.

    Example:
        >>> parse_accept("application/x-protobuf, application/json;q=0.5, junk")
        [('application', 'x-protobuf', 1.0), ('application', 'json', 0.5)]
    """
    ranges: list[tuple[str, str, float]] = []
    for element in _split_unquoted(header, ","):
        media, *params = _split_unquoted(element, ";")
        media = media.strip().lower()
        if media == "*":
            kind, subtype = "*", "*"
        else:
            kind, slash, subtype = media.partition("/")
            kind = kind.strip()
            subtype = subtype.strip()
            if not slash or not kind or not subtype or "/" in subtype or (kind == "*" and subtype != "*"):
                continue
        q = _weight(params)
        if q is not None:
            ranges.append((kind, subtype, q))
    return ranges


def negotiate(accept: str | None, offers: Sequence[str]) -> str | None:
    """The offer to send for an Accept header, or ``None`` when none is acceptable.

    ``offers`` are lower-case ``type/subtype`` in the server's order of preference;
    the first is the default. Each offer takes the q of the most specific range
    that matches it (exact, then ``type/*``, then ``*/*``); q=0 excludes it. The
    highest q wins; among equals an exact match beats a wildcard, the range the
    client listed first beats later ones (API Gateway REST APIs look only at the
    first media type of Accept when deciding to return binary), and then the
    server's order decides. No Accept, an empty one, or one with nothing
    parseable selects the default.

    Example:
        >>> negotiate("*/*", ["application/json", "application/x-protobuf"])
        'application/json'
        >>> negotiate("text/html", ["application/json"]) is None
        True
    """
    if not accept:
        return offers[0]
    ranges = parse_accept(accept)
    if not ranges:
        return offers[0]
    best: str | None = None
    best_key: tuple[float, int, int, int] = (0.0, 0, 0, 0)
    for preference, offer in enumerate(offers):
        kind, _, subtype = offer.partition("/")
        quality = -1.0
        specificity = -1
        position = 0
        for index, (range_kind, range_subtype, q) in enumerate(ranges):
            if range_kind == kind and range_subtype == subtype:
                level = 2
            elif range_kind == kind and range_subtype == "*":
                level = 1
            elif range_kind == "*":
                level = 0
            else:
                continue
            if level > specificity:
                specificity, quality, position = level, q, index
        if quality <= 0.0:
            continue
        exact = specificity == 2
        key = (quality, int(exact), -position if exact else 0, -preference)
        if best is None or key > best_key:
            best, best_key = offer, key
    return best


def parse_weighted_tokens(header: str) -> list[tuple[str, float]]:
    """The ``token;q=x`` elements of a header such as Accept-Encoding, lower-cased, junk skipped.

    Example:
        >>> parse_weighted_tokens("gzip;q=0.8, br, ;q=1")
        [('gzip', 0.8), ('br', 1.0)]
    """
    tokens: list[tuple[str, float]] = []
    for element in _split_unquoted(header, ","):
        token, *params = _split_unquoted(element, ";")
        token = token.strip().lower()
        if not token:
            continue
        q = _weight(params)
        if q is not None:
            tokens.append((token, q))
    return tokens


def token_accepted(header: str | None, *names: str) -> bool:
    """Whether a weighted-token header accepts any of ``names`` (directly, or through ``*``) with q > 0.

    An absent header accepts nothing: compression is only used when asked for.

    Example:
        >>> token_accepted("gzip;q=0, *", "gzip")
        False
        >>> token_accepted("br, *;q=0.1", "gzip")
        True
    """
    if not header:
        return False
    wildcard: float | None = None
    named: float | None = None
    for coding, q in parse_weighted_tokens(header):
        if coding in names:
            named = q if named is None else max(named, q)
        elif coding == "*" and wildcard is None:
            wildcard = q
    if named is not None:
        return named > 0.0
    return wildcard is not None and wildcard > 0.0


_PHRASES = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No Content",
    400: "Bad Request",
    404: "Not Found",
    406: "Not Acceptable",
    415: "Unsupported Media Type",
    500: "Internal Server Error",
}


def status_description(status: int) -> str:
    """ALB's ``statusDescription``: ``"200 OK"``; the code alone when it has no standard phrase."""
    phrase = _PHRASES.get(status)
    if phrase is None:
        from http import HTTPStatus

        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            return str(status)
    return f"{status} {phrase}"


def build_response(
    integration: str,
    status: int,
    headers: dict[str, str],
    body: str,
    is_base64: bool,
    multi_value: bool,
) -> dict[str, Any]:
    """The proxy response dict for ``integration``.

    Args:
        integration: What :func:`detect_integration` said of the request's event.
        status: The HTTP status code.
        headers: Response headers, one value each.
        body: The body text (base64 text when ``is_base64``).
        is_base64: Whether ``body`` is base64 of binary content.
        multi_value: Put the headers in ``multiValueHeaders`` (see
            :func:`uses_multi_value_headers`).

    Example:
        >>> response = build_response("alb", 200, {"Content-Type": "text/plain"}, "hi", False, False)
        >>> response["statusDescription"]
        '200 OK'
    """
    if multi_value:
        multi: dict[str, list[str]] = {}
        for name in headers:
            multi[name] = [headers[name]]
        response: dict[str, Any] = {"statusCode": status, "multiValueHeaders": multi}
    else:
        response = {"statusCode": status, "headers": headers}
    if integration == "alb":
        response["statusDescription"] = status_description(status)
    response["body"] = body
    response["isBase64Encoded"] = is_base64
    return response
