"""API Gateway WebSocket APIs: routes by ``routeKey``, replies through the management API (internal).

API Gateway invokes the function for each route of a WebSocket API: ``$connect``
when a client connects (with its headers and query), ``$disconnect`` when it leaves,
``$default`` and custom route keys (``sendmessage``) for its messages, with the
connection in ``requestContext`` (``connectionId``, ``routeKey``, ``eventType``,
``domainName``, ``stage``). The adapter picks the core registered for the route key
(``$default`` for any other) and binds its parameters by annotation:

* a :class:`Connection` parameter takes the connection (id, route key, event type,
  headers and query of ``$connect``, disconnect status), whose :meth:`Connection.send`
  posts back to it through the management API;
* one other parameter takes the message body, parsed into its type (``str`` and
  ``bytes`` raw, anything else JSON); a route without a body gives ``None``.

The core's result is the integration response: ``None`` is ``{"statusCode": 200}``,
anything else is written as the ``body`` (a ``str`` as it is, other results as JSON),
which API Gateway sends to the client when the route has a route response. A body
that cannot be parsed answers 400; a domain exception listed in ``errors=`` its
status (on ``$connect`` a non-2xx status refuses the connection); anything else is
logged with the request id and answers 500 with a generic body.
"""

from __future__ import annotations

import json

from lambda_kit import lifecycle
from lambda_kit.exceptions import ConfigurationError, EventShapeError, InputValidationError
from lambda_kit.handler._coerce import converter_for, dumps, kind_of, to_jsonable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

__all__ = ["Connection", "management_endpoint", "websocket"]


def management_endpoint(domain_name: str, stage: str) -> str:
    """The API Gateway management API endpoint of a WebSocket API: ``https://{domain}/{stage}``.

    Example:
        >>> management_endpoint("abc123.execute-api.eu-west-1.amazonaws.com", "prod")
        'https://abc123.execute-api.eu-west-1.amazonaws.com/prod'
    """
    return f"https://{domain_name}/{stage}"


class Connection:
    """A WebSocket connection as a core sees it (annotate a parameter with it).

    Attributes:
        connection_id: API Gateway's id of the connection.
        route_key: ``$connect``, ``$disconnect``, ``$default`` or a custom route key.
        event_type: ``CONNECT``, ``DISCONNECT`` or ``MESSAGE``.
        domain_name, stage, api_id: Where the API is, for the management endpoint.
        request_id: The request's id in API Gateway.
        connected_at: When the client connected, epoch milliseconds.
        source_ip: The client's address.
        headers, query: The ``$connect`` request's headers and query (empty otherwise).
        disconnect_status: The close code of a ``$disconnect`` (``1001``...), else ``None``.
        disconnect_reason: Its reason text, else ``None``.
    """

    __slots__ = (
        "api_id",
        "connected_at",
        "connection_id",
        "disconnect_reason",
        "disconnect_status",
        "domain_name",
        "event_type",
        "headers",
        "query",
        "request_id",
        "route_key",
        "source_ip",
        "stage",
    )

    def __init__(self, event: dict[str, Any]) -> None:
        context = event.get("requestContext")
        context = context if isinstance(context, dict) else {}
        identity = context.get("identity")
        headers = event.get("headers")
        query = event.get("queryStringParameters")
        self.connection_id: str = _text(context.get("connectionId")) or ""
        self.route_key: str = _text(context.get("routeKey")) or ""
        self.event_type = _text(context.get("eventType"))
        self.domain_name = _text(context.get("domainName"))
        self.stage = _text(context.get("stage"))
        self.api_id = _text(context.get("apiId"))
        self.request_id = _text(context.get("requestId"))
        connected = context.get("connectedAt")
        self.connected_at = (
            connected if isinstance(connected, int) and not isinstance(connected, bool) else None
        )
        self.source_ip = _text(identity.get("sourceIp")) if isinstance(identity, dict) else None
        self.headers: dict[str, str] = (
            {str(k): v for k, v in headers.items() if isinstance(v, str)} if isinstance(headers, dict) else {}
        )
        self.query: dict[str, str] = (
            {str(k): v for k, v in query.items() if isinstance(v, str)} if isinstance(query, dict) else {}
        )
        status = context.get("disconnectStatusCode")
        self.disconnect_status = status if isinstance(status, int) and not isinstance(status, bool) else None
        self.disconnect_reason = _text(context.get("disconnectReason"))

    @property
    def endpoint_url(self) -> str:
        """The management API endpoint for this connection's API and stage.

        Raises:
            EventShapeError: The event had no ``domainName`` or ``stage``.
        """
        if not self.domain_name or not self.stage:
            raise EventShapeError(
                "The WebSocket event has no requestContext.domainName and stage to post back to.",
                source="WebSocket",
            )
        return management_endpoint(self.domain_name, self.stage)

    def send(self, data: Any, *, endpoint_url: str | None = None) -> bool:
        """Post ``data`` to this connection; ``False`` when the client is gone (``GoneException``).

        ``data`` is sent as it is when ``bytes`` or ``str``, else as JSON. The client is the
        cached ``lambda_kit.aws.client("apigatewaymanagementapi", endpoint_url=...)``; pass
        ``endpoint_url`` for an API behind a custom domain name (``https://{domain}/{base path}``).

        Raises:
            botocore.exceptions.ClientError: Any other failure of ``PostToConnection``.
        """
        return post_to_connection(self.connection_id, data, endpoint_url=endpoint_url or self.endpoint_url)

    def __repr__(self) -> str:
        return f"Connection({self.route_key} {self.connection_id})"


def post_to_connection(connection_id: str, data: Any, *, endpoint_url: str) -> bool:
    """``PostToConnection`` through the cached management client; ``False`` when the connection is gone."""
    from lambda_kit import aws

    if isinstance(data, str):
        payload = data.encode("utf-8", "surrogatepass")
    elif isinstance(data, (bytes, bytearray)):
        payload = bytes(data)
    else:
        payload = dumps(to_jsonable(data)).encode("utf-8")
    client = aws.client("apigatewaymanagementapi", endpoint_url=endpoint_url)
    try:
        client.post_to_connection(ConnectionId=connection_id, Data=payload)
    except client.exceptions.GoneException:
        return False
    return True


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


class _Route:
    """One route's core, with its parameters bound by annotation at INIT."""

    __slots__ = ("body_name", "connection_name", "convert", "core", "is_async", "kind", "optional_body")

    def __init__(self, route_key: str, core: Callable[..., Any]) -> None:
        import inspect
        import typing

        from lambda_kit._util import is_coroutine_function
        from lambda_kit.handler._core import split_parameters

        if not callable(core):
            raise ConfigurationError(
                f"WebSocket route {route_key!r} is not mapped to a function.", setting="routes"
            )
        self.core = core
        self.is_async = is_coroutine_function(core)
        self.connection_name, body, body_type = split_parameters(
            core,
            Connection,
            lambda name: (
                f"WebSocket core for {route_key!r} takes the message body and a Connection; "
                f"{name!r} is a second body parameter."
            ),
            "routes",
        )
        self.body_name = None if body is None else body.name
        self.optional_body = True
        if body is not None:
            declared = body_type
            args = typing.get_args(declared)
            if type(None) in args:  # Optional[T]: a route without a body gives None
                rest = [arg for arg in args if arg is not type(None)]
                body_type = rest[0] if len(rest) == 1 else typing.Any
            self.optional_body = body.default is not inspect.Parameter.empty or body_type is not declared
        self.convert = converter_for(body_type)
        self.kind = kind_of(body_type)

    def arguments(self, event: dict[str, Any]) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        if self.connection_name is not None:
            kwargs[self.connection_name] = Connection(event)
        if self.body_name is not None:
            body = event.get("body")
            if body is not None and not isinstance(body, str):
                raise EventShapeError("The WebSocket message body must be a string.", field="body")
            if body is not None and event.get("isBase64Encoded") is True:
                from lambda_kit._proxy_events import decode_body

                try:
                    body = decode_body(event)
                except ValueError as error:
                    raise InputValidationError(str(error)) from None
            if body is None or body == "":
                if not self.optional_body and self.kind not in ("str", "bytes", "any"):
                    raise InputValidationError("This route needs a message body.")
                kwargs[self.body_name] = None if body is None or self.kind not in ("str", "bytes") else body
            else:
                kwargs[self.body_name] = self.convert(body)
        return kwargs


def websocket(
    routes: Callable[..., Any] | Mapping[str, Callable[..., Any]],
    *,
    errors: Mapping[type[BaseException], int] | None = None,
) -> Callable[[Any, Any], dict[str, Any]]:
    """Build the handler of an API Gateway WebSocket API (see the module docstring)."""
    from lambda_kit.handler._batch import _log_failure

    if callable(routes):
        table = {"$default": _Route("$default", routes)}
        catch_all = True
    elif hasattr(routes, "items") and routes:
        table = {}
        for key, core in routes.items():
            if not isinstance(key, str) or not key:
                raise ConfigurationError(
                    f"Invalid WebSocket route key {key!r}: expected '$connect', '$disconnect', '$default' or "
                    "a custom route key.",
                    setting="routes",
                )
            table[key] = _Route(key, core)
        catch_all = False
    else:
        raise ConfigurationError(
            "websocket() takes a core function or a non-empty {'route key': core} mapping.", setting="routes"
        )
    error_map = tuple((errors or {}).items())
    for exc_type, code in error_map:
        if not (isinstance(exc_type, type) and issubclass(exc_type, BaseException)) or not (
            isinstance(code, int) and 400 <= code <= 599
        ):
            raise ConfigurationError(
                f"Invalid errors entry {exc_type!r}: {code!r}; "
                "expected an exception type and a 4xx/5xx status.",
                setting="errors",
            )

    def handler(event: Any, context: Any) -> dict[str, Any]:
        token = lifecycle.start_invocation_for(context)
        try:
            request = event.get("requestContext") if isinstance(event, dict) else None
            route_key = request.get("routeKey") if isinstance(request, dict) else None
            if not isinstance(route_key, str) or not isinstance(request.get("connectionId"), str):  # type: ignore[union-attr]
                raise EventShapeError(
                    "Not an API Gateway WebSocket event: no requestContext.routeKey and connectionId.",
                    source="WebSocket",
                )
            route = table["$default"] if catch_all else table.get(route_key) or table.get("$default")
            if route is None:
                return _answer(404, f"No core for route {route_key[:100]!r}.")
            try:
                kwargs = route.arguments(event)
            except (InputValidationError, EventShapeError) as error:
                return _answer(400, str(error), error.context.get("errors"))
            try:
                if route.is_async:
                    from lambda_kit.handler._core import run_async

                    result = run_async(route.core, kwargs)
                else:
                    result = route.core(**kwargs)
            except Exception as error:
                for exc_type, code in error_map:
                    if isinstance(error, exc_type):
                        return _answer(code, _message(error) or exc_type.__name__)
                _log_failure("WebSocket", route_key[:100], error)
                return _answer(500, "Internal server error.", request_id=lifecycle.current_request_id())
            if result is None:
                return {"statusCode": 200}
            if isinstance(result, str):
                return {"statusCode": 200, "body": result}
            return {"statusCode": 200, "body": dumps(to_jsonable(result))}
        finally:
            lifecycle.end_invocation(token)

    return handler


def _message(error: BaseException) -> str:
    try:
        return str(error)
    except Exception:  # a broken __str__: the type's name says enough
        return ""


def _answer(status: int, message: str, errors: Any = None, request_id: str | None = None) -> dict[str, Any]:
    document: dict[str, Any] = {"message": message}
    if errors:
        document["errors"] = errors
    if request_id:
        document["requestId"] = request_id
    return {"statusCode": status, "body": json.dumps(document, separators=(",", ":"))}
