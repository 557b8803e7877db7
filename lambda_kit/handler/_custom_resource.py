"""AWS CloudFormation custom resources: always an answer to the presigned ``ResponseURL`` (internal).

CloudFormation invokes the function asynchronously with a ``Create``, ``Update`` or
``Delete`` request and then waits, up to an hour, for a JSON document PUT to the
presigned S3 URL in ``ResponseURL``. A function that raises, times out or forgets to
answer leaves the stack hanging for that hour. The adapter therefore answers on every
path:

* the core returns: ``SUCCESS``, with what it returned as ``Data`` (a mapping) or a
  :class:`Resource` setting the physical id, ``Data`` and ``NoEcho``;
* the core raises, or the request cannot be parsed: ``FAILED``, with the exception's
  type and message (and the log stream to read) as ``Reason``;
* the invocation is about to time out: ``FAILED`` from a timer that fires
  ``timeout_margin`` seconds (3 by default: time for the PUT) before Lambda's deadline
  (the core's late answer is then dropped: one answer per request).

``PhysicalResourceId`` is stable: an ``Update`` or ``Delete`` keeps the id the event
carries unless the core returns a new one (a new id on ``Update`` is a replacement:
CloudFormation then deletes the old one); a ``Create`` without one gets an id derived
from the stack, the logical id and the request id, the same for a retry of that
request, and a failed ``Create`` sends it too, so that the ``Delete`` CloudFormation
sends next can recognise it. CloudFormation limits the response document to 4,096
bytes: ``Data`` that would overflow it is a ``FAILED`` saying so, and a long
``Reason`` is shortened to fit.

The PUT goes through the standard library's ``http.client`` (imported on the first
answer): a custom resource function runs a handful of times per stack operation,
mostly cold, where urllib3 and a pooled session would only add import time. The URL's
signature never reaches a log line: only its host is named. When the PUT itself
fails (after three attempts), the handler raises, so that Lambda's asynchronous
retries run the request again.
"""

from __future__ import annotations

import logging
import threading

from lambda_kit import lifecycle
from lambda_kit.exceptions import ConfigurationError, EventShapeError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

__all__ = ["CustomResourceRequest", "Resource", "custom_resource"]

_BODY_LIMIT = 4096  # bytes of the whole response document, as CloudFormation documents
_ID_LIMIT = 1024  # PhysicalResourceId
_REQUEST_TYPES = ("Create", "Update", "Delete")
_ATTEMPTS = 3


class Resource:
    """A custom resource's answer: its physical id, ``Data`` for ``Fn::GetAtt``, and ``NoEcho``.

    Example:
        >>> Resource("bucket-1", data={"Arn": "arn:aws:s3:::bucket-1"})
        Resource('bucket-1')
    """

    __slots__ = ("data", "no_echo", "physical_id")

    def __init__(
        self, physical_id: str | None = None, *, data: Mapping[str, Any] | None = None, no_echo: bool = False
    ) -> None:
        if physical_id is not None and (not isinstance(physical_id, str) or not physical_id):
            raise ConfigurationError(
                "A physical resource id must be a non-empty string.", setting="physical_id"
            )
        self.physical_id = physical_id
        self.data = dict(data) if data is not None else None
        self.no_echo = no_echo

    def __repr__(self) -> str:  # no data: it may be a secret sent with NoEcho
        return f"Resource({self.physical_id!r})"


class CustomResourceRequest:
    """A custom resource request as a core sees it (annotate a parameter with it).

    Attributes:
        request_type: ``Create``, ``Update`` or ``Delete``.
        physical_resource_id: The resource's id (``None`` on ``Create``).
        old_properties: The properties before an ``Update`` (``{}`` otherwise).
        properties: ``ResourceProperties`` without ``ServiceToken``.
        logical_resource_id, resource_type, stack_id, request_id: Which resource and stack.
    """

    __slots__ = (
        "logical_resource_id",
        "old_properties",
        "physical_resource_id",
        "properties",
        "request_id",
        "request_type",
        "resource_type",
        "stack_id",
    )

    def __init__(self, event: dict[str, Any]) -> None:
        self.request_type: str = event["RequestType"]
        self.physical_resource_id = _text(event.get("PhysicalResourceId"))
        self.properties = _properties(event.get("ResourceProperties"), "ResourceProperties")
        self.old_properties = _properties(event.get("OldResourceProperties"), "OldResourceProperties")
        self.logical_resource_id = _text(event.get("LogicalResourceId")) or ""
        self.resource_type = _text(event.get("ResourceType"))
        self.stack_id = _text(event.get("StackId")) or ""
        self.request_id = _text(event.get("RequestId")) or ""

    def __repr__(self) -> str:
        return f"CustomResourceRequest({self.request_type} {self.logical_resource_id})"


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _properties(value: Any, field: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise EventShapeError(f"Custom resource {field} must be an object.", field=field)
    return {key: item for key, item in value.items() if key != "ServiceToken"}


def default_physical_id(event: dict[str, Any]) -> str:
    """The id of a resource created without one: stable for the request, unique per stack and resource.

    Example:
        >>> event = {"StackId": "arn:aws:cloudformation:us-east-1:1:stack/s/g",
        ...     "LogicalResourceId": "Thing", "RequestId": "r-1"}
        >>> default_physical_id(event) == default_physical_id(dict(event))
        True
        >>> default_physical_id(event).startswith("Thing-")
        True
    """
    import hashlib

    logical = _text(event.get("LogicalResourceId")) or "CustomResource"
    seed = "\n".join(str(event.get(key)) for key in ("StackId", "LogicalResourceId", "RequestId"))
    return f"{logical[:200]}-{hashlib.sha256(seed.encode('utf-8', 'surrogatepass')).hexdigest()[:16]}"


class _Core:
    __slots__ = ("convert", "core", "is_async", "properties_name", "request_name")

    def __init__(self, request_type: str, core: Callable[..., Any]) -> None:
        from lambda_kit._util import is_coroutine_function
        from lambda_kit.handler._coerce import converter_for
        from lambda_kit.handler._core import split_parameters

        if not callable(core):
            raise ConfigurationError(
                f"Custom resource {request_type!r} is not mapped to a function.", setting="core"
            )
        self.core = core
        self.is_async = is_coroutine_function(core)
        self.request_name, properties, properties_type = split_parameters(
            core,
            CustomResourceRequest,
            lambda name: (
                "A custom resource core takes the properties and a CustomResourceRequest; "
                f"{name!r} is one parameter too many."
            ),
            "core",
        )
        self.properties_name = None if properties is None else properties.name
        self.convert = converter_for(properties_type)

    def __call__(self, request: CustomResourceRequest) -> Any:
        kwargs: dict[str, Any] = {}
        if self.request_name is not None:
            kwargs[self.request_name] = request
        if self.properties_name is not None:
            kwargs[self.properties_name] = self.convert(request.properties)
        if self.is_async:
            from lambda_kit.handler._core import run_async

            return run_async(self.core, kwargs)
        return self.core(**kwargs)


def _shorten(text: str, limit: int) -> str:
    data = text.encode("utf-8", "backslashreplace")
    if len(data) <= limit:
        return data.decode("utf-8")
    return data[: max(limit - 3, 0)].decode("utf-8", "ignore") + "..."


def response_document(
    event: dict[str, Any],
    status: str,
    physical_id: str,
    reason: str = "",
    data: Mapping[str, Any] | None = None,
    no_echo: bool = False,
) -> bytes:
    """The JSON document CloudFormation reads, at most 4,096 bytes (``Reason`` shortened to fit).

    Raises:
        ValueError: ``Data`` alone does not fit (the caller answers FAILED instead).
    """
    from lambda_kit.handler._coerce import dumps, to_jsonable

    document: dict[str, Any] = {
        "Status": status,
        "Reason": "",
        "PhysicalResourceId": physical_id,
        "StackId": event.get("StackId"),
        "RequestId": event.get("RequestId"),
        "LogicalResourceId": event.get("LogicalResourceId"),
    }
    if no_echo:
        document["NoEcho"] = True
    if data:
        document["Data"] = to_jsonable(dict(data))
    room = _BODY_LIMIT - len(dumps(document).encode("utf-8"))
    if room < 0:
        raise ValueError(
            f"The response with Data is {_BODY_LIMIT - room} bytes; CloudFormation takes at most "
            f"{_BODY_LIMIT}: return less Data."
        )
    document["Reason"] = _shorten(reason, room - 16) if reason else ""
    body = dumps(document).encode("utf-8")
    while len(body) > _BODY_LIMIT and document["Reason"]:  # escapes grew it: shorten more
        document["Reason"] = _shorten(document["Reason"], len(document["Reason"]) // 2)
        body = dumps(document).encode("utf-8")
    return body


def put_response(url: str, body: bytes, timeout: float) -> None:
    """PUT ``body`` to the presigned ``url`` (three attempts); raise ``OSError`` when every one failed.

    No Content-Type: the URL was signed without one, and S3 would refuse a signature mismatch.
    """
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    last: Exception | None = None
    for _ in range(_ATTEMPTS):
        connection: http.client.HTTPConnection
        if parts.scheme == "https":
            connection = http.client.HTTPSConnection(parts.hostname or "", parts.port, timeout=timeout)
        else:
            connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
        try:
            connection.request("PUT", target, body=body, headers={"Content-Length": str(len(body))})
            response = connection.getresponse()
            response.read()
            if 200 <= response.status < 300:
                return
            last = OSError(f"{parts.hostname} answered the response PUT with HTTP {response.status}")
            if response.status < 500:
                break  # a 403 (expired or altered URL) will not get better
        except (OSError, http.client.HTTPException) as error:
            last = error
        finally:
            connection.close()
    raise OSError(f"Could not PUT the custom resource response to {parts.hostname}: {last}")


class _Answer:
    """One request's answer: sent once, by the core's outcome or by the deadline timer."""

    __slots__ = ("event", "lock", "sent", "timeout", "url")

    def __init__(self, event: dict[str, Any], url: str, timeout: float) -> None:
        self.event = event
        self.url = url
        self.timeout = timeout
        self.lock = threading.Lock()
        self.sent = False

    def send(self, body: bytes) -> bool:
        """PUT ``body`` unless an answer went already; ``False`` when one had."""
        with self.lock:
            if self.sent:
                return False
            self.sent = True
            put_response(self.url, body, self.timeout)
            return True


def custom_resource(
    cores: Callable[..., Any] | Mapping[str, Callable[..., Any]],
    *,
    timeout_margin: float = 3.0,
    put_timeout: float = 5.0,
) -> Callable[[Any, Any], None]:
    """Build the handler of a CloudFormation custom resource (see the module docstring)."""
    if callable(cores):
        table = {kind: _Core(kind, cores) for kind in _REQUEST_TYPES}
    elif hasattr(cores, "items") and cores:
        table = {}
        for kind, core in cores.items():
            if kind not in _REQUEST_TYPES:
                raise ConfigurationError(
                    f"Invalid custom resource request type {kind!r}; expected Create, Update or Delete.",
                    setting="cores",
                )
            table[kind] = _Core(kind, core)
    else:
        raise ConfigurationError(
            "custom_resource() takes a core function or a {'Create' | 'Update' | 'Delete': core} mapping.",
            setting="cores",
        )
    if not 0 <= timeout_margin < 900 or not 0 < put_timeout <= 60:
        raise ConfigurationError(
            f"Invalid timeout_margin={timeout_margin} or put_timeout={put_timeout}; "
            "expected 0-900 and 0-60 seconds.",
            setting="timeout_margin",
        )

    def handler(event: Any, context: Any) -> None:
        token = lifecycle.start_invocation_for(context)
        try:
            url = event.get("ResponseURL") if isinstance(event, dict) else None
            if not isinstance(url, str) or not url.startswith(("https://", "http://")):
                # Nowhere to answer: fail the invocation, as nothing else can be done.
                raise EventShapeError(
                    "Not a CloudFormation custom resource event: no http(s) 'ResponseURL'.",
                    source="CloudFormation",
                )
            _serve(event, url, context)
        finally:
            lifecycle.end_invocation(token)

    def _serve(event: dict[str, Any], url: str, context: Any) -> None:
        kind = event.get("RequestType")
        logger = logging.getLogger("lambda_kit.handler")
        physical_id = _text(event.get("PhysicalResourceId"))
        if kind == "Create" or physical_id is None:
            physical_id = default_physical_id(event)
        answer = _Answer(event, url, put_timeout)
        timer = _deadline_timer(answer, physical_id, context, timeout_margin, logger)
        try:
            try:
                if kind not in _REQUEST_TYPES:
                    raise EventShapeError(
                        "Custom resource RequestType must be Create, Update or Delete, "
                        f"not {str(kind)[:40]!r}.",
                        field="RequestType",
                    )
                request = CustomResourceRequest(event)
                core = table.get(kind)
                if core is None:
                    if kind != "Delete":
                        raise ConfigurationError(
                            f"This custom resource has no core for {kind}.", setting="cores"
                        )
                    result = None  # nothing registered to delete: deleting nothing succeeds
                else:
                    result = core(request)
                status, reason, data, no_echo = "SUCCESS", "", None, False
                if isinstance(result, Resource):
                    physical_id = result.physical_id or physical_id
                    data, no_echo = result.data, result.no_echo
                elif result is not None:
                    from lambda_kit.handler._coerce import to_jsonable

                    data = to_jsonable(result)
                    if not isinstance(data, dict):
                        raise TypeError(
                            f"A custom resource core returns a mapping (Data), a Resource or None, "
                            f"not {type(result).__name__}."
                        )
                if len(physical_id.encode("utf-8", "surrogatepass")) > _ID_LIMIT:
                    raise ValueError(f"The physical resource id is over CloudFormation's {_ID_LIMIT} bytes.")
                body = response_document(event, status, physical_id, reason, data, no_echo)
            except Exception as error:
                from lambda_kit.handler._batch import _log_failure

                _log_failure("CloudFormation", f"{kind} {event.get('LogicalResourceId')}", error)
                body = response_document(event, "FAILED", physical_id, _reason(error, context))
            if not answer.send(body):
                logger.warning(
                    "Custom resource %s answered after its deadline; CloudFormation had FAILED already.",
                    str(event.get("LogicalResourceId"))[:200],
                )
        finally:
            if timer is not None:
                timer.cancel()

    return handler


def _reason(error: BaseException, context: Any) -> str:
    try:
        message = str(error)
    except Exception:  # a broken __str__: the type says enough
        message = ""
    reason = f"{type(error).__name__}: {message}" if message else type(error).__name__
    stream = getattr(context, "log_stream_name", None)
    return f"{reason} (CloudWatch Logs stream {stream})" if isinstance(stream, str) else reason


def _deadline_timer(
    answer: _Answer, physical_id: str, context: Any, margin: float, logger: logging.Logger
) -> threading.Timer | None:
    """A timer that answers FAILED ``margin`` seconds before the deadline (none without a deadline)."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(remaining):
        return None
    try:
        delay = float(remaining()) / 1000.0 - margin
    except (TypeError, ValueError):
        return None

    def fail() -> None:
        body = response_document(
            answer.event, "FAILED", physical_id, "The custom resource function timed out before it finished."
        )
        try:
            answer.send(body)
        except OSError as error:
            logger.error("Custom resource timeout answer failed: %s", error)

    timer = threading.Timer(max(delay, 0.0), fail)
    timer.daemon = True
    timer.start()
    return timer
