"""Binding for the HTTP adapter: routes to cores, requests to arguments (internal).

At INIT, :func:`parse_routes` turns ``http()``'s target into :class:`Route` s, sorted
as API Gateway matches them (the most specific path first, a method before ``ANY``),
and reads each core's parameters into :class:`Param` s by annotation:

* a parameter whose name is a path parameter of its route: the path value;
* ``Annotated[T, Header("X-Name")]`` / ``Annotated[T, Query("name")]``: that header or
  query value (``Annotated[list[T], Query()]``: every value of a repeated name); a
  plain ``str`` / ``int`` / ``float`` / ``bool`` parameter: the query value of the same
  name (optional when it has a default or is ``Optional``);
* a parameter annotated :class:`Request`: the whole request;
* any other annotation: the body (at most one such parameter).

Per request, :meth:`Route.match` gives the path values of the path's decoded
segments (:func:`path_parts`), :func:`query_pairs` the query as every integration
delivers it, and :func:`scalar` a text value as its parameter's type (a 400 naming
the parameter when it is not one). Bad routes and signatures are refused at INIT
with a :class:`~lambda_kit.exceptions.ConfigurationError`.

Example:
    >>> def get_order(order_id: int, verbose: bool = False) -> dict: ...
    >>> [route] = parse_routes({"GET /orders/{order_id}": get_order}, 200)
    >>> [(p.name, p.source) for p in route.params], route.match(["orders", "42"])
    ([('order_id', 'path'), ('verbose', 'query')], {'order_id': '42'})
"""

from __future__ import annotations

from operator import itemgetter
from urllib.parse import unquote, unquote_plus

from lambda_kit._proxy_events import decode_body, get_header, parse_query_string
from lambda_kit._util import is_coroutine_function
from lambda_kit.exceptions import ConfigurationError, InputValidationError
from lambda_kit.handler._coerce import converter_for, kind_of, text_parser

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any, TypeAlias

    Getter: TypeAlias = Callable[[Sequence[str]], Any]
    Matcher: TypeAlias = tuple[Getter | None, Any, Getter | None, Any, str | None, int]

__all__ = [
    "Header",
    "Param",
    "Query",
    "Request",
    "Route",
    "decoded",
    "missing_error",
    "parameters",
    "parse_routes",
    "path_parts",
    "query_pairs",
    "query_values",
    "scalar",
    "scalar_error",
]

_SCALARS = (str, int, float, bool)


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
        self._pairs = query_pairs(event, integration)
        self.query = dict(self._pairs)
        self.body = decode_body(event)

    def query_list(self, name: str) -> list[str]:
        """Every value of query parameter ``name``, in the order sent (``[]`` when absent)."""
        return [value for key, value in self._pairs if key == name]

    def header(self, name: str) -> str | None:
        """A header's value, matched case-insensitively (repeated values joined with ``, ``)."""
        return get_header(self.event, name)

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


# -- the request's path and query -----------------------------------------------------------


def query_pairs(event: dict[str, Any], integration: str) -> list[tuple[str, str]]:
    """Every ``(name, value)`` of the query string, decoded, in the order they came.

    Each integration delivers the query differently, and all give the same pairs here:

    * HTTP API payload 2.0 and function URLs: ``rawQueryString`` as the client sent it
      (``queryStringParameters`` there joins repeated names with commas and cannot tell
      ``%2B`` from ``+``), parsed as a form: ``+`` is a space, ``%2B`` a plus.
    * REST APIs and HTTP API payload 1.0: ``multiValueQueryStringParameters``, which
      API Gateway has already decoded (``queryStringParameters`` when it is absent).
    * ALB: the same fields, but percent-encoded as the client sent them.

    (Here rather than in :mod:`lambda_kit._proxy_events`: ALB's decoding needs
    ``urllib.parse``, 2-3 ms of INIT that :mod:`lambda_kit.protobuf` must not pay.)
    """
    if integration == "http_v2" or integration == "function_url":
        raw = event.get("rawQueryString")
        if type(raw) is str and raw:
            return parse_query_string(raw)
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


def query_values(event: dict[str, Any], integration: str) -> dict[str, str]:
    """``dict(query_pairs(event, integration))``: each name's last value; faster in the common shapes.

    The shortcuts read the event's own fields only where they hold exactly what
    :func:`query_pairs` would make of them: a ``rawQueryString`` with nothing to
    decode (no ``%``, no ``+``), and API Gateway's or ALB's parameters as plain
    strings (for ALB, none holding a ``%`` or ``+``, so decoding changes nothing and
    no two names decode to one). Anything else takes :func:`query_pairs`.
    """
    if integration == "http_v2" or integration == "function_url":
        raw = event.get("rawQueryString")
        if type(raw) is str and raw and "%" not in raw and "+" not in raw:
            if "&" not in raw:  # one name
                name, _, value = raw.partition("=")
                return {name: value}
            values: dict[str, str] = {}
            for piece in raw.split("&"):
                if piece:
                    name, _, value = piece.partition("=")
                    values[name] = value
            return values
    else:
        multi = event.get("multiValueQueryStringParameters")
        if not multi:  # absent, null or empty: the single values, as query_pairs reads them
            single = event.get("queryStringParameters")
            if single is None:
                return {}
            if type(single) is dict:
                alb = integration == "alb"
                for name, value in single.items():
                    if type(name) is not str or type(value) is not str:
                        break
                    if alb and ("%" in name or "+" in name or "%" in value or "+" in value):
                        break
                else:
                    return single  # read, never changed
        elif type(multi) is dict and integration != "alb":
            values = {}
            for name, texts in multi.items():
                if type(name) is not str or type(texts) is not list:
                    break
                for text in texts:
                    if type(text) is not str:
                        break
                    values[name] = text
                else:
                    continue
                break
            else:
                return values
    return dict(query_pairs(event, integration))


def decoded(path: str, encoded: bool) -> str:
    """The path percent-decoded, when it is still ``encoded``."""
    return unquote(path) if encoded else path


def path_parts(path: str, encoded: bool) -> list[str]:
    """The path's segments, each percent-decoded on its own; a trailing ``/`` gives a last ``""``.

    Decoding waits until the path is split, so that ``%2F`` stays inside its segment.
    """
    stripped = path[1:] if path.startswith("/") else path
    if not stripped:
        return []
    parts = stripped.split("/")
    if encoded:
        return [unquote(part) if "%" in part else part for part in parts]
    return parts


# -- parameters -------------------------------------------------------------------------------


def scalar(param: Param, text: str, loc: list[str]) -> Any:
    """A path / query / header value as the parameter's type; a 400 naming it when it is not one."""
    parse = param.parse
    if parse is str:
        return text
    try:
        return parse(text)  # type: ignore[misc]
    except ValueError:
        raise scalar_error(param, loc) from None


def scalar_error(param: Param, loc: list[str]) -> InputValidationError:
    """The 400 for a value at ``loc`` (``[source, name]``) that is not of ``param``'s type."""
    kind = param.expected
    return InputValidationError(
        f"Invalid {loc[0]} parameter {loc[1]!r}: expected {kind}.",
        errors=[{"loc": loc, "msg": f"expected {kind}", "type": param.error_type}],
    )


def missing_error(source: str, wire_name: str) -> InputValidationError:
    """The 400 for a required path, query or header value the request lacks."""
    return InputValidationError(
        f"Missing {source} parameter {wire_name!r}.",
        errors=[{"loc": [source, wire_name], "msg": "field required", "type": "missing"}],
    )


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


def _without_implicit_optional(tp: Any) -> Any:
    """``Annotated[X, m]`` out of the ``Optional[Annotated[X, m]]`` Python 3.10 makes of ``= None``.

    Python 3.10's ``get_type_hints`` wraps the hint of a parameter that defaults to ``None``
    in ``Optional``, which hides an ``Annotated`` marker (``Query()``, ``Header()``); 3.11
    dropped that. The ``Annotated`` alone is what the signature says on every version.
    """
    import typing

    args = typing.get_args(tp)
    if len(args) == 2 and type(None) in args:
        inner = args[0] if args[1] is type(None) else args[1]
        if typing.get_origin(inner) is typing.Annotated:
            return inner
    return tp


class Param:
    """One parameter of a core function: where its value comes from, and how it is read."""

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

    def __repr__(self) -> str:
        return f"Param({self.name!r}, {self.source!r})"


def parameters(
    core: Callable[..., Any], path_names: frozenset[str], greedy: frozenset[str] = frozenset()
) -> list[Param]:
    """The core's parameters, each with its source, in signature order.

    ``path_names`` are the route's ``{name}`` segments, ``greedy`` its ``{name+}`` one.

    Raises:
        ConfigurationError: ``core`` is not a plain function, its hints cannot be
            resolved, it takes two body parameters, or none for a path segment.
    """
    import typing

    code = getattr(core, "__code__", None)
    if code is None:
        raise ConfigurationError(
            f"http() needs a plain function or a lambda, got {type(core).__name__}.", setting="core"
        )
    try:
        hints = typing.get_type_hints(core, include_extras=True)
    except Exception as error:
        # Only the parameters' hints matter here: a return type may name a module that
        # the core imports on first use (a protobuf message, say: its import is INIT time).
        try:
            hints = typing.get_type_hints(_without_return(core), include_extras=True)
        except Exception:
            raise ConfigurationError(
                f"Cannot resolve the type hints of {core.__qualname__}: {error}.", setting="core"
            ) from None
    names = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
    positional = code.co_varnames[: code.co_argcount]
    defaults = dict(zip(reversed(positional), reversed(core.__defaults__ or ()), strict=False))
    defaults.update(core.__kwdefaults__ or {})
    params: list[Param] = []
    for name in names:
        hint = hints.get(name, typing.Any)
        if name in defaults and defaults[name] is None:
            hint = _without_implicit_optional(hint)
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
            params.append(Param(name, "request", hint, name, False, None))
        elif marker is not None:
            wire = marker.alias or (name.replace("_", "-") if marker.source == "header" else name)
            item = _list_item(hint) if marker.source == "query" else None
            if item is not None:
                params.append(Param(name, "query", item, wire, required, default, many=True))
            else:
                params.append(Param(name, marker.source, declared, wire, required, default))
        elif name in path_names or name in greedy:
            params.append(Param(name, "path", hint, name, True, None))
        elif hint in _SCALARS:
            params.append(Param(name, "query", declared, name, required, default))
        else:
            params.append(Param(name, "body", hint, name, required, default))
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


def _without_return(core: Any) -> Any:
    """A copy of function ``core`` whose annotations leave out ``return`` (for get_type_hints)."""
    import types

    copy = types.FunctionType(
        core.__code__, core.__globals__, core.__name__, core.__defaults__, core.__closure__
    )
    copy.__kwdefaults__ = core.__kwdefaults__
    if hasattr(core, "__wrapped__"):  # get_type_hints takes the innermost function's globals
        copy.__wrapped__ = core.__wrapped__  # type: ignore[attr-defined]  # a function takes any attribute
    annotations = getattr(core, "__annotations__", {}) or {}
    copy.__annotations__ = {name: hint for name, hint in annotations.items() if name != "return"}
    return copy


# -- routes -----------------------------------------------------------------------------------


class Route:
    """A ``METHOD /template`` and its core, with the core's parameters read once."""

    __slots__ = (
        "body_param",
        "core",
        "fast_body",
        "is_async",
        "matcher",
        "method",
        "params",
        "plan",
        "segments",
        "status",
        "template",
    )

    def __init__(self, method: str, template: str, core: Callable[..., Any], status: int) -> None:
        self.method = method  # upper case, or "*" for ANY
        self.template = template
        self.segments = _segments(template)
        names = frozenset(s[1:-1] for s in self.segments if s.startswith("{") and s.endswith("}"))
        greedy = frozenset(name[:-1] for name in names if name.endswith("+"))
        self.core = core
        self.is_async = is_coroutine_function(core)
        self.params = parameters(core, names - {name + "+" for name in greedy}, greedy)
        # The body parameter when it is the core's only one, else None.
        param = next((param for param in self.params if param.source == "body"), None)
        self.body_param = param if len(self.params) == 1 else None
        # The body parameter when the route can take the adapter's JSON fast path, else None.
        fast = (
            param is not None and param.convert is not None and param.kind not in ("protobuf", "str", "bytes")
        )
        self.fast_body = self.body_param if fast else None
        self.status = status
        self.matcher = _matcher(self.segments)
        self.plan = _plan(self.params)

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

    def __repr__(self) -> str:
        return f"Route({'ANY' if self.method == '*' else self.method} {self.template})"


# What Route.match does, resolved at INIT: (literal getter, its expected value, capture getter,
# capture names, greedy name, head length). A getter is an itemgetter over the path's parts:
# of one index it gives that part, of several a tuple, and the names follow suit.
def _matcher(segments: list[str]) -> Matcher:
    greedy = bool(segments) and segments[-1].endswith("+}")
    head = segments[:-1] if greedy else segments
    # Indices into the path split at "/", whose first item is the "" before the leading "/".
    literal_at = [index for index, segment in enumerate(head, 1) if not segment.startswith("{")]
    capture_at = [index for index, segment in enumerate(head, 1) if segment.startswith("{")]
    literals: Any = tuple(head[index - 1] for index in literal_at)
    names: Any = tuple(head[index - 1][1:-1] for index in capture_at)
    if len(literal_at) == 1:
        literals = literals[0]
    if len(capture_at) == 1:
        names = names[0]
    return (
        itemgetter(*literal_at) if literal_at else None,
        literals,
        itemgetter(*capture_at) if capture_at else None,
        names,
        segments[-1][1:-2] if greedy else None,
        len(head),
    )


# How Route.plan reads each parameter (see _plan). JSON_BODY: a body the adapter may hand
# straight to the converter when it is JSON text (see _HTTPApp._json_fast_path).
PATH, QUERY, HEADER, BODY, JSON_BODY = 0, 1, 2, 3, 4


def _plan(params: list[Param]) -> tuple[tuple[int, str, str, str, Any, Param], ...] | None:
    """The steps that read the core's arguments: ``(source, name, wire name, its lower case, parse, param)``.

    ``parse`` is ``None`` for a ``str`` value (taken as it is). ``None`` instead of a plan
    when a parameter takes the :class:`Request` or every value of a repeated query name:
    the adapter's general steps read those.
    """
    codes = {"path": PATH, "query": QUERY, "header": HEADER, "body": BODY}
    if any(param.source not in codes or param.many for param in params):
        return None
    return tuple(
        (
            JSON_BODY
            if param.source == "body"
            and param.convert is not None
            and param.kind not in ("protobuf", "str", "bytes")
            else codes[param.source],
            param.name,
            param.wire_name,
            param.wire_name.lower(),
            None if param.parse is str else param.parse,
            param,
        )
        for param in params
    )


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


def specificity(route: Route) -> tuple[int, int, int, int]:
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


def parse_routes(target: Any, status: int) -> list[Route]:
    """``http()``'s target as routes in matching order; a bare core is ``ANY /{proxy+}``.

    Raises:
        ConfigurationError: The target is neither a core nor a non-empty mapping of
            ``"METHOD /path"`` to cores, a template is invalid, or a route can never
            be reached because an earlier one matches the same requests.
    """
    if callable(target):
        return [Route("*", "/{proxy+}", target, status)]
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
        routes.append(Route(method, template, core, status))
    routes.sort(key=specificity)  # stable: among equals, the order given
    return routes
