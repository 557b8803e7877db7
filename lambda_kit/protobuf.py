"""Protocol Buffers requests and responses through API Gateway, ALB and function URLs.

A handler that speaks protobuf sends smaller bodies that parse faster than JSON,
but Lambda's HTTP integrations carry text: a binary body travels as base64 with
``isBase64Encoded: true`` both ways. This module does that plumbing, and lets one
endpoint serve protobuf clients and JSON clients (browsers, curl) alike:

* :func:`encode_response` turns a message into the proxy response for the
  integration that sent the event (API Gateway REST or HTTP API, ALB, function
  URL; ``multiValueHeaders`` where the event had them). It picks the body's media
  type from the ``Accept`` header (q-values honoured) among
  ``application/x-protobuf``, ``application/protobuf`` and ``application/json``;
  ``*/*`` or no Accept gets the configured default (JSON unless changed), and an
  Accept that allows none of them gets a 406 with a JSON error. It sets
  ``Content-Type`` and ``Vary``, can gzip when ``Accept-Encoding`` allows, and
  raises :class:`~lambda_kit.exceptions.ResponseTooLargeError` before Lambda would
  reject an oversized payload.
* :func:`decode_request` reads a message from the request body: protobuf (base64,
  by ``Content-Type``) or JSON. Bad bodies raise
  :class:`~lambda_kit.exceptions.ProtobufDecodeError` (400), unknown content types
  :class:`~lambda_kit.exceptions.UnsupportedMediaTypeError` (415);
  :func:`error_response` turns either into a response.

Settings live on a :class:`ProtobufCodec` (create it once, at module scope); the
module functions use a default codec configured from ``LAMBDA_KIT_PROTOBUF_*``
variables. Nothing of protobuf is imported by this module: binary encoding uses
the message's own methods, and ``google.protobuf.json_format`` is imported the
first time a JSON body is read or written.

Example:
    >>> from lambda_kit.protobuf import decode_request, encode_response, error_response
    >>> from lambda_kit.exceptions import ProtobufDecodeError
    >>> def handler(event: dict, context: object) -> dict:  # doctest: +SKIP
    ...     try:
    ...         query = decode_request(event, orders_pb2.OrderQuery)
    ...     except ProtobufDecodeError as error:
    ...         return error_response(error, event)
    ...     return encode_response(find_order(query), event)
"""

from __future__ import annotations

import json
import math
from collections import Counter

from lambda_kit._config import UNSET, choice, flag, integer, resolve
from lambda_kit._proxy_events import (
    build_response,
    decode_body,
    detect_integration,
    encode_base64,
    get_header,
    media_type_of,
    token_accepted,
    uses_multi_value_headers,
)
from lambda_kit._proxy_events import negotiate as _negotiate_accept
from lambda_kit.exceptions import (
    NotAcceptableError,
    ProtobufDecodeError,
    ProtobufError,
    ResponseTooLargeError,
    UnsupportedMediaTypeError,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any, Final, Literal, TypeVar

    from google.protobuf.message import Message

    M = TypeVar("M", bound=Message)
    MediaType = Literal["application/json", "application/x-protobuf", "application/protobuf"]
    FieldNames = Literal["json", "proto"]

__all__ = [
    "JSON",
    "MEDIA_TYPES",
    "PROTOBUF",
    "PROTOBUF_ALT",
    "ProtobufCodec",
    "decode_request",
    "encode_response",
    "error_response",
    "negotiate",
]

PROTOBUF: Final = "application/x-protobuf"
"""The media type most protobuf clients send and expect."""
PROTOBUF_ALT: Final = "application/protobuf"
"""The media type registered with IANA for protobuf (2023); accepted alike."""
JSON: Final = "application/json"
"""ProtoJSON, through ``google.protobuf.json_format``."""
MEDIA_TYPES: Final = (PROTOBUF, PROTOBUF_ALT, JSON)
"""Every media type a codec reads and writes."""

# Lambda rejects a synchronous response whose JSON is larger than this ("6 MB").
LAMBDA_RESPONSE_LIMIT: Final = 6_291_556
# An ALB rejects a Lambda target's response JSON larger than 1 MB.
ALB_RESPONSE_LIMIT: Final = 1_048_576
# Room for the response's envelope and headers: below limit - this, no exact check.
_ENVELOPE_ALLOWANCE: Final = 16_384
_CACHE_SIZE: Final = 256
_MISS: Final = object()
_OWN_HEADERS = frozenset({"content-type", "content-encoding", "content-length", "vary"})


def _shorten(text: str, limit: int = 200) -> str:
    """Outside text for a message: at most ``limit`` characters, and valid UTF-8.

    A lone surrogate (from a ``\\ud800`` escape in a JSON body) is escaped: a message
    holding one could not be logged or returned by awslambdaric, which writes strict UTF-8.
    """
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text if text.isascii() else text.encode("utf-8", "backslashreplace").decode("utf-8")


def _reject_constant(name: str) -> Any:
    raise ValueError(f'{name} is not a JSON value (a float or double field takes the string "{name}")')


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400: too large for a double, it would be Infinity
        raise ValueError(f"the number {_shorten(text, 40)} is out of range")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object's members; a key given twice is an error (ProtoJSON, and no guessing which wins)."""
    members = dict(pairs)
    if len(members) != len(pairs):
        twice = next(key for key, count in Counter(key for key, _ in pairs).items() if count > 1)
        raise ValueError(f"the key {_shorten(twice, 40)!r} appears twice")
    return members


def _json_error(
    status: int, payload: dict[str, Any], event: Any, headers: Mapping[str, str] | None
) -> dict[str, Any]:
    own = {"Content-Type": JSON, "Vary": "Accept"}
    return build_response(
        detect_integration(event),
        status,
        _merge_headers(own, headers) if headers else own,
        json.dumps(payload, separators=(",", ":")),
        False,
        uses_multi_value_headers(event),
    )


def _merge_headers(own: dict[str, str], extra: Mapping[str, str]) -> dict[str, str]:
    """The caller's headers plus ours; ours win, and a caller's ``Vary`` is appended to ours."""
    merged: dict[str, str] = {}
    vary = ""
    for name, value in extra.items():
        lower = name.lower()
        if lower == "vary":
            vary = value
        elif lower not in _OWN_HEADERS:
            merged[name] = value
    merged.update(own)
    if vary:
        merged["Vary"] = f"{own['Vary']}, {vary}"
    return merged


class ProtobufCodec:
    """Negotiates, encodes and decodes protobuf and JSON bodies with one set of settings.

    Create one at module scope and reuse it: it resolves its settings once and
    caches the outcome of each distinct ``Accept`` / ``Accept-Encoding`` value
    (up to 256 of each; the caches are plain dicts whose single reads and writes
    are atomic, so the codec is safe to share between threads).

    Each setting comes from the argument, else ``LAMBDA_KIT_PROTOBUF_<NAME>``, else
    its default; ``None`` means "not given".

    Args:
        default_media_type: What to send when the client accepts anything (``*/*``,
            no Accept, or only wildcards): ``"application/json"`` (default, so
            browsers and curl get JSON), ``"application/x-protobuf"`` or
            ``"application/protobuf"``.
        json_field_names: ``"json"`` (lowerCamelCase, the ProtoJSON default) or
            ``"proto"`` (the names in the .proto file) for JSON responses.
            Requests are read in either form.
        json_include_defaults: Write fields that hold their default value in JSON
            responses (protobuf omits them). Default False.
        json_ignore_unknown_fields: Accept JSON requests with fields the message
            does not have. Default False: a misspelt field is a 400.
        gzip: Compress bodies when the client's ``Accept-Encoding`` allows gzip.
            Default False. (REST APIs can compress themselves: see the docs.)
        gzip_level: zlib level 1-9 (default 6).
        gzip_min_bytes: Only compress bodies at least this long (default 1024).

    Raises:
        ConfigurationError: A setting or its environment variable is invalid.

    Example:
        >>> codec = ProtobufCodec(default_media_type="application/x-protobuf", gzip=True)
        >>> codec.negotiate({"headers": {"accept": "*/*"}, "version": "2.0"})
        'application/x-protobuf'
    """

    __slots__ = (
        "_accept_cache",
        "_default",
        "_encoding_cache",
        "_gzip",
        "_gzip_level",
        "_gzip_min_bytes",
        "_ignore_unknown",
        "_include_defaults",
        "_offers",
        "_proto_names",
        "_vary",
    )

    def __init__(
        self,
        *,
        default_media_type: MediaType | None = None,
        json_field_names: FieldNames | None = None,
        json_include_defaults: bool | None = None,
        json_ignore_unknown_fields: bool | None = None,
        gzip: bool | None = None,
        gzip_level: int | None = None,
        gzip_min_bytes: int | None = None,
    ) -> None:
        self._default: str = resolve(
            "protobuf_default_media_type",
            UNSET if default_media_type is None else default_media_type,
            JSON,
            choice(*MEDIA_TYPES),
            argument="default_media_type",
        )
        field_names: str = resolve(
            "protobuf_json_field_names",
            UNSET if json_field_names is None else json_field_names,
            "json",
            choice("json", "proto"),
            argument="json_field_names",
        )
        self._proto_names = field_names == "proto"
        self._include_defaults = resolve(
            "protobuf_json_include_defaults",
            UNSET if json_include_defaults is None else json_include_defaults,
            False,
            flag(),
            argument="json_include_defaults",
        )
        self._ignore_unknown = resolve(
            "protobuf_json_ignore_unknown_fields",
            UNSET if json_ignore_unknown_fields is None else json_ignore_unknown_fields,
            False,
            flag(),
            argument="json_ignore_unknown_fields",
        )
        self._gzip = resolve("protobuf_gzip", UNSET if gzip is None else gzip, False, flag(), argument="gzip")
        self._gzip_level = resolve(
            "protobuf_gzip_level",
            UNSET if gzip_level is None else gzip_level,
            6,
            integer(1, 9),
            argument="gzip_level",
        )
        self._gzip_min_bytes = resolve(
            "protobuf_gzip_min_bytes",
            UNSET if gzip_min_bytes is None else gzip_min_bytes,
            1024,
            integer(0),
            argument="gzip_min_bytes",
        )
        self._offers = (self._default, *(kind for kind in MEDIA_TYPES if kind != self._default))
        self._vary = "Accept, Accept-Encoding" if self._gzip else "Accept"
        self._accept_cache: dict[str | None, str | None] = {}
        self._encoding_cache: dict[str | None, bool] = {}

    def __repr__(self) -> str:
        return (
            f"ProtobufCodec(default_media_type={self._default!r}, "
            f"json_field_names={'proto' if self._proto_names else 'json'!r}, gzip={self._gzip!r})"
        )

    # -- negotiation ---------------------------------------------------------------------

    def _media_type(self, accept: str | None) -> str | None:
        cache = self._accept_cache
        chosen = cache.get(accept, _MISS)
        if chosen is _MISS:
            chosen = _negotiate_accept(accept, self._offers)
            if len(cache) >= _CACHE_SIZE:
                cache.clear()
            cache[accept] = chosen
        return chosen  # type: ignore[return-value]

    def _gzip_accepted(self, accept_encoding: str | None) -> bool:
        cache = self._encoding_cache
        accepted = cache.get(accept_encoding)
        if accepted is None:
            accepted = token_accepted(accept_encoding, "gzip", "x-gzip")
            if len(cache) >= _CACHE_SIZE:
                cache.clear()
            cache[accept_encoding] = accepted
        return accepted

    def negotiate(self, event: Any) -> str:
        """The media type :meth:`encode_response` would send for ``event``.

        Call it before doing the work when a 406 should stop the request early.

        Raises:
            NotAcceptableError: The Accept header allows none of :data:`MEDIA_TYPES`.

        Example:
            >>> event = {"httpMethod": "GET", "headers": {"Accept": "application/protobuf"}}
            >>> ProtobufCodec().negotiate(event)
            'application/protobuf'
        """
        accept = get_header(event, "Accept")
        chosen = self._media_type(accept)
        if chosen is None:
            raise self._not_acceptable_error(accept)
        return chosen

    def _not_acceptable_error(self, accept: str | None) -> NotAcceptableError:
        shown = _shorten(accept or "")
        return NotAcceptableError(
            f"Accept {shown!r} allows none of the media types this endpoint sends; "
            f"send Accept with one of: {', '.join(MEDIA_TYPES)} (or */*).",
            accept=shown,
            acceptable=list(MEDIA_TYPES),
        )

    # -- responses -----------------------------------------------------------------------

    def encode_response(
        self,
        message: Message,
        event: Any,
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """The proxy response carrying ``message`` in the media type the client prefers.

        Args:
            message: The protobuf message to send.
            event: The event the handler received (its integration, headers and
                ``Accept`` decide the shape and the media type).
            status: The HTTP status code.
            headers: More response headers. ``Content-Type``, ``Content-Encoding``
                and ``Content-Length`` are the codec's; a ``Vary`` is appended to it.

        Returns:
            The response dict to return from the handler. When the client accepts
            none of the media types, a 406 response with a JSON error body.

        Raises:
            ResponseTooLargeError: The response would exceed the integration's
                payload limit (6 MB for Lambda, 1 MB behind an ALB).
            ProtobufError: ``message`` is not a protobuf message.

        Example:
            >>> response = codec.encode_response(order, event)  # doctest: +SKIP
            >>> response["headers"]["Content-Type"]  # doctest: +SKIP
            'application/x-protobuf'
        """
        accept = get_header(event, "Accept")
        media_type = self._media_type(accept)
        if media_type is None:
            error = self._not_acceptable_error(accept)
            return _json_error(
                406, {"message": error.message, "acceptable": list(MEDIA_TYPES)}, event, headers
            )
        try:
            if media_type == JSON:
                data: bytes | None = None
                text = self._to_json(message)
            else:
                data = message.SerializeToString()
        except Exception as error:  # whatever the message holds, the caller gets a ProtobufError
            raise _encode_error(message, media_type, error) from None
        own = {"Content-Type": media_type, "Vary": self._vary}
        if self._gzip:
            if data is None:
                data = text.encode("utf-8")
            if len(data) >= self._gzip_min_bytes and self._gzip_accepted(
                get_header(event, "Accept-Encoding")
            ):
                import zlib

                compressor = zlib.compressobj(self._gzip_level, zlib.DEFLATED, 31)  # 31: gzip framing
                data = compressor.compress(data) + compressor.flush()
                own["Content-Encoding"] = "gzip"
            elif media_type == JSON:
                data = None
        if data is None:
            body, is_base64 = text, False
        else:
            body, is_base64 = encode_base64(data), True
        integration = detect_integration(event)
        if headers or integration == "alb":
            response = build_response(
                integration,
                status,
                _merge_headers(own, headers) if headers else own,
                body,
                is_base64,
                uses_multi_value_headers(event),
            )
        elif uses_multi_value_headers(event):
            # The common REST v1 case, built directly: a generic comprehension costs ~0.5 us here.
            multi = {"Content-Type": [media_type], "Vary": [self._vary]}
            if "Content-Encoding" in own:
                multi["Content-Encoding"] = ["gzip"]
            response = {
                "statusCode": status,
                "multiValueHeaders": multi,
                "body": body,
                "isBase64Encoded": is_base64,
            }
        else:
            response = {"statusCode": status, "headers": own, "body": body, "isBase64Encoded": is_base64}
        # A cheap upper bound on the response as Lambda serializes it; the exact (costly) count
        # runs only when the bound comes near the limit. Escaping adds a byte per '"' and '\\'
        # of a JSON body (base64 has neither); the caller's headers count in full.
        room = (ALB_RESPONSE_LIMIT if integration == "alb" else LAMBDA_RESPONSE_LIMIT) - _ENVELOPE_ALLOWANCE
        size = len(body)
        if headers:
            size += _headers_size(headers)
        if size > room or (
            not is_base64 and size + len(body) > room and size + body.count('"') + body.count("\\") > room
        ):
            _check_size(response, room + _ENVELOPE_ALLOWANCE, integration, media_type)
        return response

    def _to_json(self, message: Message) -> str:
        from google.protobuf import json_format

        if self._include_defaults:
            as_dict = json_format.MessageToDict(
                message,
                preserving_proto_field_name=self._proto_names,
                always_print_fields_with_no_presence=True,
            )
        else:
            as_dict = json_format.MessageToDict(message, preserving_proto_field_name=self._proto_names)
        # ProtoJSON writes non-finite doubles as strings ("NaN") and refuses them in a Struct;
        # allow_nan=False makes sure that no bare NaN, never valid JSON, ever leaves here.
        return json.dumps(as_dict, separators=(",", ":"), allow_nan=False)

    # -- requests ------------------------------------------------------------------------

    def decode_request(self, event: Any, message_type: type[M]) -> M:
        """The ``message_type`` message in the request body of ``event``.

        The request's ``Content-Type`` says how to read the body:
        ``application/x-protobuf`` or ``application/protobuf`` (base64 from the
        integration; an empty body is the empty message), ``application/json`` or
        any ``+json`` type, or none (read as JSON).

        Raises:
            ProtobufDecodeError: The body is not a valid message (bad base64,
                truncated or corrupt protobuf, malformed JSON, unknown fields). Maps
                to HTTP 400.
            UnsupportedMediaTypeError: Another Content-Type (415).

        Example:
            >>> query = codec.decode_request(event, orders_pb2.OrderQuery)  # doctest: +SKIP
        """
        media_type = media_type_of(get_header(event, "Content-Type"))
        name = _full_name(message_type)
        if media_type in (PROTOBUF, PROTOBUF_ALT):
            binary = True
        elif not media_type or media_type == JSON or media_type.endswith("+json"):
            binary = False
        else:
            raise UnsupportedMediaTypeError(
                f"Content-Type {_shorten(media_type)!r} is not supported for {name}; "
                f"send one of: {', '.join(MEDIA_TYPES)}.",
                media_type=_shorten(media_type),
                message_type=name,
                supported=list(MEDIA_TYPES),
            )
        try:
            raw = decode_body(event)
        except ValueError as error:  # says what is wrong: base64, a lone surrogate, not a string
            base64 = isinstance(event, dict) and event.get("isBase64Encoded") is True
            raise ProtobufDecodeError(
                f"{_shorten(str(error))} Expected a {name} message.",
                media_type=_shorten(media_type),
                message_type=name,
                reason="base64" if base64 else "text",
            ) from None
        if binary:
            return self._parse_binary(event, raw, message_type, name, media_type)
        return self._parse_json(raw, message_type, name, media_type)

    def _parse_binary(self, event: Any, raw: bytes, message_type: type[M], name: str, media_type: str) -> M:
        message = message_type()
        try:
            message.ParseFromString(raw)
        except Exception as error:  # any failure of outside input is a 400, never a crash
            hint = ""
            if isinstance(event, dict) and event.get("isBase64Encoded") is not True:
                hint = (
                    " The body arrived as text, not base64: a REST API must list "
                    f"{media_type} in its binaryMediaTypes."
                )
            raise ProtobufDecodeError(
                f"The request body is not a valid {name} message: {_shorten(str(error))}.{hint}",
                media_type=_shorten(media_type),
                message_type=name,
                reason="protobuf",
            ) from None
        return message

    def _parse_json(self, raw: bytes, message_type: type[M], name: str, media_type: str) -> M:
        if not raw.strip():
            raise ProtobufDecodeError(
                f"The request body is empty; expected a JSON object for {name}.",
                media_type=_shorten(media_type or JSON),
                message_type=name,
                reason="empty",
            )

        from google.protobuf import json_format

        message = message_type()
        try:
            # json_format.Parse would take NaN, Infinity and numbers that overflow to infinity
            # into a Struct or Value, which no JSON response could then carry: refuse them here.
            document = json.loads(
                raw.decode("utf-8"),
                parse_constant=_reject_constant,
                parse_float=_finite_float,
                object_pairs_hook=_unique_keys,
            )
            json_format.ParseDict(document, message, ignore_unknown_fields=self._ignore_unknown)
        except Exception as error:  # ParseError, UnicodeDecodeError, RecursionError...: all a 400
            raise ProtobufDecodeError(
                f"The request body is not valid JSON for {name}: {_shorten(str(error))}",
                media_type=_shorten(media_type or JSON),
                message_type=name,
                reason="json",
            ) from None
        return message


def _encode_error(message: Any, media_type: str, error: Exception) -> ProtobufError:
    """The ProtobufError for a message that could not be written as ``media_type``."""
    if isinstance(message, type) or getattr(message, "DESCRIPTOR", None) is None:
        what = f"the class {message.__name__}" if isinstance(message, type) else type(message).__name__
        return ProtobufError(
            f"encode_response() needs a protobuf message; got {what}.", type=type(message).__name__
        )
    name = _full_name(type(message))
    # protobuf's messages name fields and limits, never a string field's value
    return ProtobufError(
        f"The {name} message cannot be sent as {media_type}: {type(error).__name__}: {_shorten(str(error))}",
        message_type=name,
        media_type=media_type,
        reason=type(error).__name__,
    )


def _full_name(message_type: type[Message]) -> str:
    descriptor = getattr(message_type, "DESCRIPTOR", None)
    full_name = getattr(descriptor, "full_name", None)
    return full_name if isinstance(full_name, str) else getattr(message_type, "__name__", "message")


def _headers_size(headers: Mapping[str, str]) -> int:
    """At least the bytes the caller's headers take in the serialized response (non-ASCII escaped x6)."""
    size = 0
    for name, value in headers.items():
        text = f"{name}{value}"
        size += (len(text) if text.isascii() else 6 * len(text)) + 8  # quotes, colon, comma, [ ]
    return size


def _check_size(response: dict[str, Any], limit: int, integration: str, media_type: str) -> None:
    size = len(json.dumps(response, separators=(",", ":")).encode("utf-8"))
    if size > limit:
        where = "an ALB target's" if integration == "alb" else "Lambda's synchronous"
        raise ResponseTooLargeError(
            f"The {media_type} response is {size:,} bytes as Lambda sends it (base64 included), over "
            f"{where} limit of {limit:,} bytes. Paginate, enable gzip, or hand out an S3 presigned URL.",
            size=size,
            limit=limit,
            integration=integration,
            media_type=media_type,
        )


def error_response(
    error: ProtobufError, event: Any, *, headers: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A JSON error response for ``error``, shaped for the integration that sent ``event``.

    The status is the error's ``status_code`` (400 bad body, 415 unsupported
    Content-Type, 406 not acceptable); other errors give 500 with a generic
    message, so no internal detail reaches the client.

    Example:
        >>> from lambda_kit.exceptions import ProtobufDecodeError
        >>> error_response(ProtobufDecodeError("bad body"), {"version": "2.0"})["statusCode"]
        400
    """
    status = getattr(error, "status_code", 500)
    message = error.message if status < 500 else "Internal Server Error"
    return _json_error(status, {"message": message}, event, headers)


_default_codec: ProtobufCodec | None = None


def _codec() -> ProtobufCodec:
    # Two threads racing here build two equal codecs; one wins, both are correct.
    global _default_codec
    codec = _default_codec
    if codec is None:
        codec = _default_codec = ProtobufCodec()
    return codec


def encode_response(
    message: Message,
    event: Any,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    codec: ProtobufCodec | None = None,
) -> dict[str, Any]:
    """:meth:`ProtobufCodec.encode_response` with ``codec``, or the default codec.

    The default codec is configured from ``LAMBDA_KIT_PROTOBUF_*`` variables the
    first time it is used.

    Example:
        >>> def handler(event: dict, context: object) -> dict:  # doctest: +SKIP
        ...     return encode_response(orders_pb2.Order(id="42"), event)
    """
    return (codec or _codec()).encode_response(message, event, status=status, headers=headers)


def decode_request(event: Any, message_type: type[M], *, codec: ProtobufCodec | None = None) -> M:
    """:meth:`ProtobufCodec.decode_request` with ``codec``, or the default codec.

    Example:
        >>> query = decode_request(event, orders_pb2.OrderQuery)  # doctest: +SKIP
    """
    return (codec or _codec()).decode_request(event, message_type)


def negotiate(event: Any, *, codec: ProtobufCodec | None = None) -> str:
    """:meth:`ProtobufCodec.negotiate` with ``codec``, or the default codec.

    Example:
        >>> negotiate({"version": "2.0", "headers": {"accept": "application/json"}})
        'application/json'
    """
    return (codec or _codec()).negotiate(event)
