"""The HTTP adapter: API Gateway REST / HTTP APIs, ALB and function URLs (internal).

``http(core)`` serves one core function on every method and path;
``http({"GET /orders/{order_id}": get_order, "POST /orders": create_order})``
routes by method and path template. The core's parameters are filled from the
request by their annotations, resolved once at INIT:

* a parameter whose name is a path parameter of its route: the path value;
* ``Annotated[T, Header("X-Name")]`` / ``Annotated[T, Query("name")]``: that header or
  query value; a plain ``str`` / ``int`` / ``float`` / ``bool`` parameter: the query
  value of the same name (optional when it has a default);
* a parameter annotated :class:`Request`: the whole request;
* any other annotation (a pydantic model, dataclass, ``TypedDict``, protobuf message,
  ``dict``, ``bytes``): the body, parsed by Content-Type (JSON, or protobuf through
  :mod:`lambda_kit.protobuf`).

Outcomes: the result is serialised as JSON (protobuf messages as protobuf or JSON
by Accept); ``None`` is 204; :class:`Response` sets status and headers. Bad input is
a 4xx with a JSON body (400 with field errors, 404, 405 with ``Allow``, 406, 415);
declared domain exceptions map to their statuses; anything else is a 500 with a
generic body, logged once with the request id, never with a stack trace in the
response.
"""

from __future__ import annotations

import json
import re
from urllib.parse import unquote, unquote_plus

from lambda_kit import _proxy_events, lifecycle
from lambda_kit.exceptions import ConfigurationError, InputValidationError, ProtobufError
from lambda_kit.handler._batch import _Runner
from lambda_kit.handler._coerce import converter_for, dumps, kind_of, text_parser

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from typing import Any

    from lambda_kit.protobuf import ProtobufCodec

_JSON = "application/json"
_SCALARS = (str, int, float, bool)
_PROTOBUF_TYPES = frozenset({"application/x-protobuf", "application/protobuf"})


class Header:
    """Annotation marker: fill the parameter from a request header (``Annotated[str, Header()]``).

    Args:
        alias: The header name; by default the parameter name with ``_`` as ``-``.
    """

    __slots__ = ("alias",)
    source = "header"

    def __init__(self, alias: str | None = None) -> None:
        self.alias = alias

    def __repr__(self) -> str:
        return f"Header({self.alias!r})"


class Query(Header):
    """Annotation marker: fill the parameter from a query-string value (``Annotated[int, Query()]``)."""

    __slots__ = ()
    source = "query"

    def __repr__(self) -> str:
        return f"Query({self.alias!r})"


class Request:
    """An HTTP request as the core function may see it (annotate a parameter with it).

    Attributes:
        method: Upper-case method.
        path: The path, stage prefix removed, percent-decoded.
        path_params: Values of the route's ``{name}`` segments, percent-decoded
            segment by segment (``/files/a%2Fb`` gives ``{"name": "a/b"}``).
        query: Query values, decoded (the last one of repeated names; every one
            through :meth:`query_list`), the same on every integration.
        body: The body bytes (base64 already decoded).
        integration: ``rest_v1``, ``http_v2``, ``alb`` or ``function_url``.
        event: The raw event, for what the attributes do not cover.
    """

    __slots__ = ("_pairs", "body", "event", "integration", "method", "path", "path_params", "query")

    def __init__(
        self,
        event: dict[str, Any],
        integration: str,
        method: str,
        path: str,
        path_params: dict[str, str],
    ) -> None:
        self.event = event
        self.integration = integration
        self.method = method
        self.path = path
        self.path_params = path_params
        self._pairs = _query_pairs(event, integration)
        self.query = dict(self._pairs)
        self.body = _proxy_events.decode_body(event)

    def query_list(self, name: str) -> list[str]:
        """Every value of query parameter ``name``, in the order sent (``[]`` when absent)."""
        return [value for key, value in self._pairs if key == name]

    def header(self, name: str) -> str | None:
        """A header's value, matched case-insensitively (repeated values joined with ``, ``)."""
        return _proxy_events.get_header(self.event, name)

    @property
    def cookies(self) -> dict[str, str]:
        """Request cookies by name."""
        raw = self.event.get("cookies")
        pieces = raw if isinstance(raw, list) else (self.header("Cookie") or "").split(";")
        cookies: dict[str, str] = {}
        for piece in pieces:
            name, sep, value = str(piece).strip().partition("=")
            if sep and name:
                cookies[name] = value
        return cookies

    def json(self) -> Any:
        """The body parsed as JSON (a malformed body is a 400, as any bad input)."""
        from lambda_kit.handler._coerce import parse_json

        return parse_json(self.body)

    def __repr__(self) -> str:
        return f"Request({self.method} {self.path})"


class Response:
    """A result with an explicit status and headers: ``return Response(order, status=201)``.

    ``body`` is serialised like any result (JSON, or protobuf by Accept for a
    protobuf message; ``str`` as text, ``bytes`` as binary, ``None`` as no body).
    """

    __slots__ = ("body", "headers", "status")

    def __init__(
        self, body: Any = None, *, status: int = 200, headers: Mapping[str, str] | None = None
    ) -> None:
        if not 100 <= status <= 599:
            raise ConfigurationError(
                f"Invalid status={status}; expected 100-599.", setting="status", value=status
            )
        self.body = body
        self.status = status
        self.headers = dict(headers or {})

    def __repr__(self) -> str:
        return f"Response(status={self.status})"


class CORS:
    """Cross-origin settings for :func:`http` (``cors=True`` takes these defaults).

    Args:
        allow_origins: Origins allowed, or ``("*",)`` for any (then credentials are off).
        allow_headers: Request headers a browser may send.
        allow_credentials: Allow cookies and authorization (needs explicit origins).
        expose_headers: Response headers scripts may read.
        max_age: Seconds a browser may cache a preflight answer.
    """

    def __init__(
        self,
        allow_origins: Sequence[str] = ("*",),
        *,
        allow_headers: Sequence[str] = ("Content-Type", "Authorization", "X-Api-Key"),
        allow_credentials: bool = False,
        expose_headers: Sequence[str] = (),
        max_age: int = 600,
    ) -> None:
        if allow_credentials and "*" in allow_origins:
            raise ConfigurationError(
                "CORS with allow_credentials=True needs explicit allow_origins; browsers refuse '*'.",
                setting="allow_origins",
            )
        self.allow_origins = frozenset(allow_origins)
        self.any_origin = "*" in self.allow_origins
        self.allow_headers = ", ".join(allow_headers)
        self.allow_credentials = allow_credentials
        self.expose_headers = ", ".join(expose_headers)
        self.max_age = max_age

    def headers_for(self, origin: str | None) -> dict[str, str]:
        if self.any_origin:
            headers = {"Access-Control-Allow-Origin": "*"}
        elif origin is not None and origin in self.allow_origins:
            headers = {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
            if self.allow_credentials:
                headers["Access-Control-Allow-Credentials"] = "true"
        else:
            return {}
        if self.expose_headers:
            headers["Access-Control-Expose-Headers"] = self.expose_headers
        return headers


# -- request reading ----------------------------------------------------------------------


def _query_pairs(event: dict[str, Any], integration: str) -> list[tuple[str, str]]:
    """Every ``(name, value)`` of the query string, decoded, in the order they came.

    Each integration delivers the query differently, and all give the same pairs here:

    * HTTP API payload 2.0 and function URLs: ``rawQueryString`` as the client sent it
      (``queryStringParameters`` there joins repeated names with commas and cannot tell
      ``%2B`` from ``+``), parsed as a form: ``+`` is a space, ``%2B`` a plus.
    * REST APIs and HTTP API payload 1.0: ``multiValueQueryStringParameters``, which
      API Gateway has already decoded (``queryStringParameters`` when it is absent).
    * ALB: the same fields, but percent-encoded as the client sent them.
    """
    if integration == "http_v2" or integration == "function_url":
        raw = event.get("rawQueryString")
        if type(raw) is str and raw:
            return _proxy_events.parse_query_string(raw)
        decode = None  # a hand-made event without rawQueryString: take the parameters as given
    else:
        decode = unquote_plus if integration == "alb" else None  # ALB passes the query undecoded
    pairs: list[tuple[str, str]] = []
    multi = event.get("multiValueQueryStringParameters")
    single = event.get("queryStringParameters")
    if isinstance(multi, dict) and multi:
        for name, values in multi.items():
            if isinstance(values, list):
                pairs.extend((str(name), value) for value in values if isinstance(value, str))
    elif isinstance(single, dict):
        pairs.extend((str(name), value) for name, value in single.items() if isinstance(value, str))
    if decode is not None:
        return [(decode(name), decode(value)) for name, value in pairs]
    return pairs


def _query(event: dict[str, Any], integration: str) -> dict[str, str]:
    """The query as ``{name: value}``, the last value of a repeated name winning (as REST and ALB do)."""
    return dict(_query_pairs(event, integration))


def _method_and_path(event: dict[str, Any], integration: str) -> tuple[str, str, bool]:
    """``(METHOD, path, encoded)``: the path as delivered, and whether it is still percent-encoded.

    REST APIs, ALB, HTTP API payload 2.0 (``rawPath``) and function URLs deliver the path
    as the client sent it, percent-encoded; HTTP API payload 1.0 delivers it decoded.
    Decoding waits until the path is split into segments, so that ``%2F`` stays inside
    its segment.
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
        raise _HTTPProblem(400, "The event has no HTTP method or path.")
    return method.upper(), path, encoded and "%" in path


def _decoded(path: str, encoded: bool) -> str:
    return unquote(path) if encoded else path


def _path_parts(path: str, encoded: bool) -> list[str]:
    """The path's segments, each percent-decoded on its own; a trailing ``/`` gives a last ``""``."""
    stripped = path[1:] if path.startswith("/") else path
    if not stripped:
        return []
    parts = stripped.split("/")
    if encoded:
        return [unquote(part) if "%" in part else part for part in parts]
    return parts


# -- routes and parameters ----------------------------------------------------------------


class _HTTPProblem(Exception):
    """A 4xx decided while reading the request (internal control flow)."""

    def __init__(self, status: int, message: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra or {}


def _scalar(param: _Param, text: str, loc: list[str]) -> Any:
    """A path / query / header value as the parameter's type; a 400 naming it when it is not one."""
    parse = param.parse
    if parse is str:
        return text
    try:
        return parse(text)  # type: ignore[misc]
    except ValueError:
        kind = param.expected
        raise InputValidationError(
            f"Invalid {loc[0]} parameter {loc[1]!r}: expected {kind}.",
            errors=[{"loc": loc, "msg": f"expected {kind}", "type": param.error_type}],
        ) from None


def _list_item(tp: Any) -> Any:
    """``T`` for ``list[T]`` (``list`` alone: ``str``); ``None`` for anything else."""
    import typing

    if tp is list:
        return str
    if typing.get_origin(tp) is list:
        args = typing.get_args(tp)
        return args[0] if args else str
    return None


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    import typing

    args = typing.get_args(tp)
    if type(None) in args and len(args) == 2:
        return next(arg for arg in args if arg is not type(None)), True
    return tp, False


class _Param:
    __slots__ = (
        "convert",
        "default",
        "error_type",
        "expected",
        "kind",
        "many",
        "name",
        "parse",
        "required",
        "source",
        "tp",
        "wire_name",
    )

    def __init__(
        self,
        name: str,
        source: str,
        tp: Any,
        wire_name: str,
        required: bool,
        default: Any,
        *,
        many: bool = False,
    ) -> None:
        self.name = name
        self.source = source  # path / query / header / body / request
        self.tp = tp  # for path / query / header: the scalar type (of each item when many)
        self.wire_name = wire_name
        self.required = required
        self.default = default
        self.many = many  # a query parameter taking every value of a repeated name
        self.parse: Callable[[str], Any] | None = None
        self.expected = self.error_type = ""
        if source in ("path", "query", "header"):
            where = f"{source} value {wire_name!r}"
            self.parse, self.expected, self.error_type = text_parser(tp, where)
            if self.parse is str:
                self.tp = str  # no annotation, or Any
        self.kind = kind_of(self.tp)
        self.convert: Callable[[Any], Any] | None = converter_for(tp) if source == "body" else None


def _parameters(
    core: Callable[..., Any], path_names: frozenset[str], greedy: frozenset[str] = frozenset()
) -> list[_Param]:
    import typing

    code = getattr(core, "__code__", None)
    if code is None:
        raise ConfigurationError(
            f"http() needs a plain function or a lambda, got {type(core).__name__}.", setting="core"
        )
    try:
        hints = typing.get_type_hints(core, include_extras=True)
    except Exception as error:
        raise ConfigurationError(
            f"Cannot resolve the type hints of {core.__qualname__}: {error}.", setting="core"
        ) from None
    names = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
    positional = code.co_varnames[: code.co_argcount]
    defaults = dict(zip(reversed(positional), reversed(core.__defaults__ or ()), strict=False))
    defaults.update(core.__kwdefaults__ or {})
    params: list[_Param] = []
    for name in names:
        hint = hints.get(name, typing.Any)
        marker = None
        if typing.get_origin(hint) is typing.Annotated:
            args = typing.get_args(hint)
            hint = args[0]
            marker = next((arg for arg in args[1:] if isinstance(arg, Header)), None)
        declared = hint  # Optional[int] reads an empty value as None
        hint, optional = _unwrap_optional(hint)
        has_default = name in defaults
        required = not has_default and not optional
        default = defaults.get(name)
        if hint is Request:
            params.append(_Param(name, "request", hint, name, False, None))
        elif marker is not None:
            wire = marker.alias or (name.replace("_", "-") if marker.source == "header" else name)
            item = _list_item(hint) if marker.source == "query" else None
            if item is not None:
                params.append(_Param(name, "query", item, wire, required, default, many=True))
            else:
                params.append(_Param(name, marker.source, declared, wire, required, default))
        elif name in path_names or name in greedy:
            params.append(_Param(name, "path", hint, name, True, None))
        elif hint in _SCALARS:
            params.append(_Param(name, "query", declared, name, required, default))
        else:
            params.append(_Param(name, "body", hint, name, required, default))
    if sum(1 for param in params if param.source == "body") > 1:
        raise ConfigurationError(
            f"{core.__qualname__} has more than one body parameter; mark scalars with Query() or "
            "Header(), or take one model.",
            setting="core",
        )
    missing = path_names - {param.name for param in params if param.source == "path"}
    if missing:
        raise ConfigurationError(
            f"{core.__qualname__} takes no parameter for path segment(s) {sorted(missing)}.",
            setting="core",
        )
    return params


class _Route:
    __slots__ = (
        "body_only",
        "body_param",
        "core",
        "fast_body",
        "method",
        "params",
        "runner",
        "segments",
        "status",
        "template",
    )

    def __init__(self, method: str, template: str, core: Callable[..., Any], status: int) -> None:
        self.method = method
        self.template = template
        self.segments = _segments(template)
        names = frozenset(s[1:-1] for s in self.segments if s.startswith("{") and s.endswith("}"))
        greedy = frozenset(name[:-1] for name in names if name.endswith("+"))
        self.core = core
        self.runner = _Runner(core)
        self.params = _parameters(core, names - {name + "+" for name in greedy}, greedy)
        self.body_param = next((param for param in self.params if param.source == "body"), None)
        self.body_only = len(self.params) == 1 and self.body_param is not None
        # The body parameter when it can take the JSON fast path in handle(), else None.
        param = self.body_param
        fast = (
            self.body_only
            and param is not None
            and param.convert is not None
            and param.kind not in ("protobuf", "str", "bytes")
        )
        self.fast_body = param if fast else None
        self.status = status

    def match(self, parts: list[str]) -> dict[str, str] | None:
        """The route's parameter values for the path's decoded ``parts``, or ``None``."""
        segments = self.segments
        if segments and segments[-1].endswith("+}"):
            # A greedy {name+} takes one or more segments, as in API Gateway, and keeps a
            # trailing slash ("/beta/foo/" gives "foo/").
            head = segments[:-1]
            if len(parts) <= len(head):
                return None
            values = self._match(head, parts[: len(head)])
            rest = "/".join(parts[len(head) :])
            if values is None or not rest:
                return None
            values[segments[-1][1:-2]] = rest
            return values
        if parts and not parts[-1]:
            parts = parts[:-1]  # "/orders/" is "/orders"
        if len(parts) != len(segments):
            return None
        return self._match(segments, parts)

    @staticmethod
    def _match(segments: Sequence[str], parts: Sequence[str]) -> dict[str, str] | None:
        values: dict[str, str] = {}
        for segment, part in zip(segments, parts, strict=True):
            if segment.startswith("{"):
                if not part:
                    return None
                values[segment[1:-1]] = part
            elif segment != part:
                return None
        return values


def _segments(template: str) -> list[str]:
    stripped = template.strip("/")
    return stripped.split("/") if stripped else []


def _check_template(key: str, segments: list[str]) -> None:
    """Refuse a template API Gateway would refuse, or that could never match."""
    names: set[str] = set()
    for index, segment in enumerate(segments):
        is_param = segment.startswith("{") and segment.endswith("}")
        problem = None
        if not segment:
            problem = "an empty segment ('//')"
        elif not is_param and ("{" in segment or "}" in segment):
            problem = f"segment {segment!r}: a {{param}} must be a whole segment"
        elif is_param:
            name = segment[1:-1].removesuffix("+")
            if not name.isidentifier():
                problem = f"segment {segment!r}: a {{param}} name must be a Python identifier"
            elif name in names:
                problem = f"path parameter {name!r} appears twice"
            elif segment.endswith("+}") and index != len(segments) - 1:
                problem = f"greedy {segment} must be the last segment"
            names.add(name)
        if problem is not None:
            raise ConfigurationError(f"Invalid route {key!r}: {problem}.", setting="routes", value=key)


def _specificity(route: _Route) -> tuple[int, int, int, int]:
    """Sort key: static segments first, then {param}s, a greedy {name+} last; a method before ANY.

    API Gateway's order: the most specific path wins, and on the same path an
    explicit method wins over ``ANY``.
    """
    segments = route.segments
    greedy = bool(segments) and segments[-1].endswith("+}")
    static = sum(1 for segment in segments if not segment.startswith("{"))
    return (int(greedy), -static, -len(segments), int(route.method == "*"))


def _shape(method: str, segments: list[str]) -> tuple[str, tuple[str, ...]]:
    """What a route matches: two routes of one shape are the same route (the second unreachable)."""
    return method, tuple(
        ("{+}" if segment.endswith("+}") else "{}") if segment.startswith("{") else segment
        for segment in segments
    )


def _parse_routes(target: Any, status: int) -> list[_Route]:
    if callable(target):
        return [_Route("*", "/{proxy+}", target, status)]
    if not isinstance(target, dict) or not target:
        raise ConfigurationError(
            "http() takes a core function or a non-empty {'METHOD /path': core} mapping.", setting="routes"
        )
    routes = []
    seen: dict[tuple[str, tuple[str, ...]], str] = {}
    for key, core in target.items():
        method, sep, template = str(key).strip().partition(" ")
        template = template.strip()
        if not sep or not template.startswith("/") or not callable(core) or not method.isalpha():
            raise ConfigurationError(
                f"Invalid route {key!r}; expected 'METHOD /path/{{param}}' mapped to a function.",
                setting="routes",
                value=key,
            )
        method = method.upper()
        method = "*" if method == "ANY" else method
        segments = _segments(template)
        _check_template(str(key), segments)
        shape = _shape(method, segments)
        earlier = seen.get(shape)
        if earlier is not None:
            raise ConfigurationError(
                f"Route {key!r} can never be reached: {earlier!r} matches the same requests "
                "(methods are case-insensitive, a trailing '/' is ignored, and {param} names do not "
                "tell routes apart).",
                setting="routes",
                value=key,
            )
        seen[shape] = str(key)
        routes.append(_Route(method, template, core, status))
    routes.sort(key=_specificity)  # stable: among equals, the order given
    return routes


# -- the handler -----------------------------------------------------------------------------


_result_kinds: dict[type, str] = {}
_json_acceptable: dict[str, bool] = {}  # Accept header -> whether JSON may be sent (bounded)
_json_dumpers: dict[type, Callable[[Any], str]] = {}  # result type -> its JSON serialiser


def _json_dumper(tp: type) -> Callable[[Any], str]:
    """The serialiser for results of type ``tp``: pydantic's own, bound once, or ``dumps``."""
    serializer = getattr(tp, "__pydantic_serializer__", None)
    to_json = getattr(serializer, "to_json", None)
    if to_json is None:
        return dumps

    def dump(value: Any) -> str:
        try:
            return to_json(value).decode()  # type: ignore[no-any-return]
        except ValueError:  # a lone surrogate pydantic cannot write as UTF-8: dumps escapes it
            return dumps(value)

    return dump


def _accepts_json(accept: str | None) -> bool:
    """Whether a response in application/json satisfies ``accept`` (q-values honoured, cached)."""
    if not accept:
        return True
    known = _json_acceptable.get(accept)
    if known is None:
        known = _proxy_events.negotiate(accept, [_JSON]) is not None
        if len(_json_acceptable) < 256:  # clients send few distinct Accept values
            _json_acceptable[accept] = known
    return known


_JSON_KINDS = frozenset({"pydantic", "dataclass"})


def _header(event: dict[str, Any], name: str, lower: str) -> str | None:
    """A header value, fast for the common shapes, exact for the rest.

    REST APIs and ALB put the last value of a repeated header in ``headers`` and all
    of them in ``multiValueHeaders``: a single value is taken as it is, anything else
    goes to the full case-insensitive lookup, which joins repeated values.
    """
    headers = event.get("headers")
    if type(headers) is dict:
        value = headers.get(name)
        if value is None:
            value = headers.get(lower)
        if type(value) is str:
            multi = event.get("multiValueHeaders")
            if not multi:
                return value
            if type(multi) is dict:
                values = multi.get(name)
                if type(values) is list and len(values) == 1:
                    return value
    return _proxy_events.get_header(event, name)


def _dict(event: Any) -> dict[str, Any]:
    return event if isinstance(event, dict) else {}


def _run_async(core: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    import asyncio

    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(core(**kwargs))
    finally:
        loop.close()


_SURROGATE = re.compile("[\ud800-\udfff]")


def _unicode_safe(text: str) -> str:
    """``text`` with lone surrogates (from ``\\ud800`` escapes in the event) replaced by U+FFFD.

    awslambdaric encodes the response as UTF-8, and on Python 3.12+ runtimes a lone
    surrogate makes it exit (Runtime.ExitError; the next request is a cold start).
    """
    if text.isascii():  # O(1): CPython records it
        return text
    return _SURROGATE.sub("\ufffd", text)


def _message(error: BaseException) -> str:
    """``str(error)``, or ``""`` when the exception's own ``__str__`` fails."""
    try:
        return str(error)
    except Exception:
        return ""


def _problem_body(status: int, message: str, extra: Mapping[str, Any] | None = None) -> str:
    document = {"message": message}
    if extra:
        document.update(extra)
    return json.dumps(document, separators=(",", ":"))


def http(
    target: Callable[..., Any] | Mapping[str, Callable[..., Any]],
    *,
    status: int = 200,
    errors: Mapping[type[BaseException], int] | None = None,
    cors: bool | CORS = False,
    codec: ProtobufCodec | None = None,
    middleware: Sequence[Callable[[Callable[[Any, Any], Any]], Callable[[Any, Any], Any]]] = (),
) -> Callable[[Any, Any], dict[str, Any]]:
    """An HTTP handler for API Gateway (REST and HTTP APIs), ALB and function URLs.

    Args:
        target: A core function (serves every method and path) or a mapping of
            ``"METHOD /path/{param}"`` to core functions (``{proxy+}`` matches the rest).
        status: The status of a successful result that is not a :class:`Response`.
        errors: Domain exception types mapped to statuses, e.g. ``{OrderNotFound: 404}``;
            the response carries the exception's message.
        cors: ``True`` or a :class:`CORS` to add CORS headers and answer preflights.
        codec: The :class:`~lambda_kit.protobuf.ProtobufCodec` for protobuf bodies and
            results (one from the environment by default).
        middleware: Handler decorators, outermost first.

    Example:
        >>> def get_order(order_id: int) -> dict:
        ...     return {"id": order_id}
        >>> handler = http({"GET /orders/{order_id}": get_order})
    """
    routes = _parse_routes(target, status)
    catch_all = routes[0] if callable(target) else None  # a bare function serves every path
    error_map = tuple((errors or {}).items())
    for exc_type, code in error_map:
        if not (isinstance(exc_type, type) and issubclass(exc_type, BaseException)) or not 400 <= code <= 599:
            raise ConfigurationError(
                f"Invalid errors entry {exc_type!r}: {code!r}; "
                "expected an exception type and a 4xx/5xx status.",
                setting="errors",
            )
    cors_settings = CORS() if cors is True else (cors or None)
    preflight: dict[str, str] | None = None
    if cors_settings is not None:
        methods = sorted(
            {r.method for r in routes if r.method != "*"} or {"GET", "POST", "PUT", "PATCH", "DELETE"}
        )
        preflight = {
            "Access-Control-Allow-Methods": ", ".join([*methods, "OPTIONS"]),
            "Access-Control-Allow-Headers": cors_settings.allow_headers,
            "Access-Control-Max-Age": str(cors_settings.max_age),
        }
    protobuf_codec = codec

    def get_codec() -> ProtobufCodec:
        nonlocal protobuf_codec
        if protobuf_codec is None:
            from lambda_kit.protobuf import ProtobufCodec

            protobuf_codec = ProtobufCodec()
        return protobuf_codec

    def respond(
        event: dict[str, Any],
        integration: str,
        status_code: int,
        body: str,
        content_type: str | None,
        extra_headers: Mapping[str, str] | None = None,
        is_base64: bool = False,
    ) -> dict[str, Any]:
        headers: dict[str, str] = {"Content-Type": content_type} if content_type else {}
        if extra_headers:
            for name, value in extra_headers.items():  # one entry per header, whatever the case
                if name not in headers:
                    for existing in [key for key in headers if key.lower() == name.lower()]:
                        del headers[existing]
                headers[_unicode_safe(str(name))] = _unicode_safe(str(value))
        if cors_settings is not None:
            headers.update(cors_settings.headers_for(_header(event, "Origin", "origin")))
        if integration != "alb":  # API Gateway and function URLs take "headers" whatever the request
            return {"statusCode": status_code, "headers": headers, "body": body, "isBase64Encoded": is_base64}
        # An ALB target group with multi-value headers on ignores "headers": answer in kind.
        multi = _proxy_events.uses_multi_value_headers(event)
        return _proxy_events.build_response(integration, status_code, headers, body, is_base64, multi)

    def problem(
        event: dict[str, Any], integration: str, code: int, message: str, extra: Any = None
    ) -> dict[str, Any]:
        headers = None
        if extra and "allow" in extra:
            headers = {"Allow": extra.pop("allow")}
        return respond(event, integration, code, _problem_body(code, message, extra), _JSON, headers)

    # Routes without {params} are found with one dict lookup.
    static: dict[tuple[str, str], _Route] = {}
    for route in routes:
        if route.method != "*" and not any(segment.startswith("{") for segment in route.segments):
            static.setdefault((route.method, "/" + "/".join(route.segments)), route)

    def find(method: str, path: str, encoded: bool) -> tuple[_Route, dict[str, str]]:
        if not encoded:  # no %-escape: the path is its own decoded form
            key = path if len(path) < 2 or not path.endswith("/") else path.rstrip("/") or "/"
            route = static.get((method, key))
            if route is not None:
                return route, {}
        parts = _path_parts(path, encoded)
        allowed = []
        for route in routes:
            values = route.match(parts)
            if values is None:
                continue
            if route.method == method or route.method == "*" or (method == "HEAD" and route.method == "GET"):
                return route, values
            allowed.append(route.method)
        if allowed:
            raise _HTTPProblem(
                405, f"Method {method} is not allowed here.", {"allow": ", ".join(sorted(set(allowed)))}
            )
        raise _HTTPProblem(404, f"No route for {_decoded(path, encoded)}.")

    def read_body(event: dict[str, Any], param: _Param) -> Any:
        body = event.get("body")
        if body is None or body == "":
            if param.required:
                raise InputValidationError(
                    "The request body is required.",
                    errors=[{"loc": ["body"], "msg": "body required", "type": "missing"}],
                )
            return param.default
        content_type = _header(event, "Content-Type", "content-type")
        if content_type is None or content_type == _JSON:
            media = _JSON
        else:
            media = _proxy_events.media_type_of(content_type)
        kind = param.kind
        if media in _PROTOBUF_TYPES and kind == "protobuf":
            try:
                return get_codec().decode_request(event, param.tp)
            except ProtobufError as error:  # the client's body: a 4xx (a core's own is a 500)
                raise _HTTPProblem(getattr(error, "status_code", 400), error.message) from None
        if (
            type(body) is not str
            or event.get("isBase64Encoded") is True
            or (kind in ("str", "bytes") and not body.isascii())
        ):
            try:
                body = _proxy_events.decode_body(event)
            except ValueError as error:  # not a string, bad base64, a lone surrogate: say which
                raise _HTTPProblem(400, str(error)) from None
        if kind not in ("str", "bytes") and media != _JSON and not media.endswith("+json"):
            raise _HTTPProblem(
                415, f"Unsupported Content-Type {media!r}; send application/json.", {"supported": [_JSON]}
            )
        assert param.convert is not None  # noqa: S101 - set for every body parameter
        return param.convert(body)

    def arguments(
        route: _Route,
        event: dict[str, Any],
        integration: str,
        method: str,
        path: str,
        encoded: bool,
        path_values: dict[str, str],
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        pairs: list[tuple[str, str]] | None = None
        query: dict[str, str] | None = None
        for param in route.params:
            source = param.source
            if source == "body":
                kwargs[param.name] = read_body(event, param)
                continue
            if source == "request":
                try:
                    exact = _proxy_events.detect_integration(event)
                    kwargs[param.name] = Request(event, exact, method, _decoded(path, encoded), path_values)
                except ValueError as error:  # the body: not a string, bad base64, not Unicode
                    raise _HTTPProblem(400, str(error)) from None
                continue
            if source == "path":
                raw: str | None = path_values.get(param.wire_name)
            elif source == "query":
                if pairs is None:
                    pairs = _query_pairs(event, integration)
                    query = dict(pairs)
                if param.many:
                    texts = [value for name, value in pairs if name == param.wire_name]
                    if texts:
                        loc = ["query", param.wire_name]
                        kwargs[param.name] = [_scalar(param, text, loc) for text in texts]
                        continue
                    raw = None
                else:
                    raw = query.get(param.wire_name)  # type: ignore[union-attr]
            else:
                raw = _header(event, param.wire_name, param.wire_name.lower())
            if raw is None:
                if param.required:
                    raise InputValidationError(
                        f"Missing {source} parameter {param.wire_name!r}.",
                        errors=[
                            {"loc": [source, param.wire_name], "msg": "field required", "type": "missing"}
                        ],
                    )
                kwargs[param.name] = param.default
            else:
                kwargs[param.name] = _scalar(param, raw, [source, param.wire_name])
        return kwargs

    def render(event: dict[str, Any], integration: str, route: _Route, result: Any) -> dict[str, Any]:
        status_code = route.status
        headers: dict[str, str] | None = None
        explicit = isinstance(result, Response)
        if isinstance(result, Response):
            status_code, headers, result = result.status, result.headers, result.body
        if result is None:  # no content: 204, unless a status was asked for
            status_code = 204 if status_code == 200 and not explicit else status_code
            return respond(event, integration, status_code, "", None, headers)
        kind = _result_kinds.get(type(result))
        if kind is None:  # once per result type: hasattr on a pydantic model is slow
            kind = _result_kinds[type(result)] = kind_of(type(result))
        if kind == "protobuf":
            response = get_codec().encode_response(result, event, status=status_code, headers=headers)
            if cors_settings is not None:
                extra = cors_settings.headers_for(_header(event, "Origin", "origin"))
                target = response.get("headers")
                if isinstance(target, dict):
                    target.update(extra)
                else:
                    response["multiValueHeaders"].update({k: [v] for k, v in extra.items()})
            return response
        if isinstance(result, bytes):
            body = _proxy_events.encode_base64(result)
            return respond(event, integration, status_code, body, "application/octet-stream", headers, True)
        if isinstance(result, str):
            text = _unicode_safe(result)
            return respond(event, integration, status_code, text, "text/plain; charset=utf-8", headers)
        if not _accepts_json(_header(event, "Accept", "accept")):
            raise _HTTPProblem(
                406, "This endpoint answers with application/json only.", {"acceptable": [_JSON]}
            )
        return respond(event, integration, status_code, dumps(result), _JSON, headers)

    def handle(event: Any, context: Any) -> dict[str, Any]:
        token = lifecycle.start_invocation_for(context)
        integration = "unknown"
        try:
            if not isinstance(event, dict):
                raise _HTTPProblem(400, "The event is not an HTTP request.")
            # The common shapes without a call; function URLs read as http_v2 here (the same
            # request and response format), and Request reports the exact integration.
            if event.get("version") == "2.0":
                integration = "http_v2"
            elif "httpMethod" in event:
                context_ = event.get("requestContext")
                integration = "alb" if type(context_) is dict and "elb" in context_ else "rest_v1"
            else:
                integration = _proxy_events.detect_integration(event)
            if integration == "unknown":
                raise _HTTPProblem(
                    400, "The event is not an HTTP request from API Gateway, ALB or a function URL."
                )
            method, path, encoded = _method_and_path(event, integration)
            if preflight is not None and method == "OPTIONS":
                return respond(event, integration, 204, "", None, preflight)
            path_values: dict[str, str] = {}
            if catch_all is not None:
                route = catch_all
            else:
                route, path_values = find(method, path, encoded)
            body_param = route.fast_body
            if body_param is not None:
                # The common shape (one JSON body parameter) without the general machinery:
                # a JSON text body with a JSON or absent Content-Type goes straight to the
                # converter; anything else takes the general path.
                body = event.get("body")
                if (
                    type(body) is str
                    and body
                    and event.get("isBase64Encoded") is not True
                    and _header(event, "Content-Type", "content-type") in (None, _JSON)
                ):
                    kwargs = {body_param.name: body_param.convert(body)}  # type: ignore[misc]
                else:
                    kwargs = {body_param.name: read_body(event, body_param)}
            elif route.body_only and route.body_param is not None:
                kwargs = {route.body_param.name: read_body(event, route.body_param)}
            else:
                kwargs = arguments(route, event, integration, method, path, encoded, path_values)
            result = _run_async(route.core, kwargs) if route.runner.is_async else route.core(**kwargs)
            if (
                cors_settings is None
                and integration != "alb"
                and method != "HEAD"
                and _result_kinds.get(type(result)) in _JSON_KINDS
                and _accepts_json(_header(event, "Accept", "accept"))
            ):
                dump = _json_dumpers.get(type(result))
                if dump is None:
                    dump = _json_dumpers[type(result)] = _json_dumper(type(result))
                return {
                    "statusCode": route.status,
                    "headers": {"Content-Type": _JSON},
                    "body": dump(result),
                    "isBase64Encoded": False,
                }
            response = render(event, integration, route, result)
            if method == "HEAD":  # the headers a GET would have, without its body
                response["body"] = ""
                response["isBase64Encoded"] = False
            return response
        except _HTTPProblem as issue:
            return problem(_dict(event), integration, issue.status, issue.message, dict(issue.extra))
        except InputValidationError as error:
            listed = error.context.get("errors") or [{"loc": [], "msg": str(error), "type": "value_error"}]
            errors = {"errors": listed}
            return problem(_dict(event), integration, 400, "Request validation failed.", errors)
        except Exception as error:
            for exc_type, code in error_map:
                if isinstance(error, exc_type):
                    message = _message(error) or exc_type.__name__
                    return problem(_dict(event), integration, code, message, {"error": exc_type.__name__})
            request_id = lifecycle.current_request_id() or "-"
            import logging

            logging.getLogger("lambda_kit.handler").exception(
                "Unhandled %s in HTTP handler (request %s)", type(error).__name__, request_id
            )
            return problem(
                _dict(event), integration, 500, "Internal server error.", {"requestId": request_id}
            )
        finally:
            lifecycle.end_invocation(token)

    from lambda_kit.handler import compose

    return compose(handle, middleware)
