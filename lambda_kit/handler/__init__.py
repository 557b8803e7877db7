"""Core logic as plain typed functions; adapters turn them into Lambda handlers.

AWS's advice is to keep the core logic apart from the handler entry point: the
logic never sees an event, so it is easy to test and to expose through another
event source. Here a core function is an ordinary typed function that never imports
lambda-kit::

    @dataclass
    class OrderPlaced:
        order_id: str
        total: float

    def record_order(order: OrderPlaced) -> None: ...

and an adapter reads its type hints and builds the handler::

    from lambda_kit.handler import sqs, eventbridge

    handle_queue = sqs(record_order)          # partial batch failures
    handle_events = eventbridge(record_order)  # the same core, another source

Input types: pydantic models (imported only if you use them), dataclasses,
``TypedDict``, protobuf messages, ``str`` / ``bytes`` and ``dict``. Async core
functions work too (the handler runs them on an event loop per invocation).

Batch adapters (:func:`sqs`, :func:`kinesis`, :func:`dynamodb_streams`) report
``batchItemFailures``: a record that cannot be parsed, or whose core call raises,
fails alone; ordered sources stop at the first failure; a batch where everything
failed raises :class:`~lambda_kit.exceptions.BatchError` so Lambda retries it.
Event adapters (:func:`sns`, :func:`eventbridge`, :func:`s3`) raise when the core
raises, so Lambda's asynchronous retries apply. :func:`http` serves API Gateway
(REST and HTTP APIs), ALB and function URLs.

Every adapter marks the invocation for :mod:`lambda_kit.lifecycle` (cold start,
request id, deadline for :mod:`lambda_kit.http`). Cross-cutting steps are
*middleware*: decorators of a handler, applied outermost first, for example
``sqs(core, middleware=[metrics.log_metrics(capture_cold_start_metric=True),
request_id_logging, timeout_guard(0.5)])``.
"""

from __future__ import annotations

from lambda_kit._util import lazy_exports
from lambda_kit.handler._middleware import compose, request_id_logging, timeout_guard

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any, TypeAlias

    from lambda_kit.handler._binding import Header, Query, Request
    from lambda_kit.handler._http import CORS, Response
    from lambda_kit.handler._middleware import Middleware

    BatchResponse: TypeAlias = dict[str, list[dict[str, str]]]

__all__ = [
    "CORS",
    "Header",
    "Query",
    "Request",
    "Response",
    "compose",
    "dynamodb_streams",
    "eventbridge",
    "http",
    "kinesis",
    "request_id_logging",
    "s3",
    "sns",
    "sqs",
    "timeout_guard",
]

# The HTTP adapter's types load with it, on first use: batch-only functions never pay for it.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "CORS": "lambda_kit.handler._http",
        "Header": "lambda_kit.handler._binding",
        "Query": "lambda_kit.handler._binding",
        "Request": "lambda_kit.handler._binding",
        "Response": "lambda_kit.handler._http",
    },
)


def sqs(
    core: Callable[..., Any],
    *,
    fifo: bool | None = None,
    raise_on_entire_failure: bool = True,
    middleware: Sequence[Middleware] = (),
) -> Callable[[Any, Any], BatchResponse]:
    """An SQS handler with partial batch responses (enable ``ReportBatchItemFailures``).

    Each record's ``body`` is parsed into the core's input type. A FIFO queue (told
    from the queue ARN, or forced with ``fifo=``) stops at the first failure and
    reports it and every later record, keeping the message group's order.

    Example:
        >>> def process(order: dict) -> None: ...
        >>> handler = sqs(process)
    """
    from lambda_kit.handler import _batch

    ordered = {None: _batch.sqs_is_fifo, True: _batch.always_ordered, False: _batch.never_ordered}[fifo]
    handler = _batch.batch_handler(
        core,
        kind="SQS",
        identify=_batch.sqs_id,
        extract=_batch.sqs_extract,
        ordered=ordered,
        raise_on_entire_failure=raise_on_entire_failure,
    )
    return compose(handler, middleware)


def kinesis(
    core: Callable[..., Any],
    *,
    stop_on_failure: bool = True,
    raise_on_entire_failure: bool = True,
    middleware: Sequence[Middleware] = (),
) -> Callable[[Any, Any], BatchResponse]:
    """A Kinesis Data Streams handler with partial batch responses.

    Each record's ``data`` is base64-decoded and parsed into the core's input type
    (``bytes`` takes it raw). Shards are ordered, so by default processing stops at
    the first failure; Lambda retries from the lowest reported sequence number.
    """
    from lambda_kit.handler import _batch

    handler = _batch.batch_handler(
        core,
        kind="Kinesis",
        identify=_batch.kinesis_id,
        extract=_batch.kinesis_extract,
        ordered=_batch.always_ordered if stop_on_failure else _batch.never_ordered,
        raise_on_entire_failure=raise_on_entire_failure,
    )
    return compose(handler, middleware)


def dynamodb_streams(
    core: Callable[..., Any],
    *,
    stop_on_failure: bool = True,
    raise_on_entire_failure: bool = True,
    middleware: Sequence[Middleware] = (),
) -> Callable[[Any, Any], BatchResponse]:
    """A DynamoDB Streams handler with partial batch responses.

    The core receives the item's new image (the old one for ``REMOVE``) as plain
    data, converted with boto3's ``TypeDeserializer`` (loaded on the first record);
    integral numbers become ``int``, others stay ``Decimal``.
    """
    from lambda_kit.handler import _batch

    handler = _batch.batch_handler(
        core,
        kind="DynamoDB Streams",
        identify=_batch.dynamodb_id,
        extract=_batch.dynamodb_extract,
        ordered=_batch.always_ordered if stop_on_failure else _batch.never_ordered,
        raise_on_entire_failure=raise_on_entire_failure,
    )
    return compose(handler, middleware)


def sns(core: Callable[..., Any], *, middleware: Sequence[Middleware] = ()) -> Callable[[Any, Any], None]:
    """An SNS handler: each ``Sns.Message`` is parsed into the core's input type."""
    from lambda_kit.handler import _batch

    return compose(_batch.event_handler(core, kind="SNS", payloads=_batch.sns_payloads), middleware)


def eventbridge(
    core: Callable[..., Any], *, middleware: Sequence[Middleware] = ()
) -> Callable[[Any, Any], None]:
    """An EventBridge handler: the event's ``detail`` is parsed into the core's input type."""
    from lambda_kit.handler import _batch

    return compose(
        _batch.event_handler(core, kind="EventBridge", payloads=_batch.eventbridge_payloads), middleware
    )


def s3(core: Callable[..., Any], *, middleware: Sequence[Middleware] = ()) -> Callable[[Any, Any], None]:
    """An S3 notification handler: the core gets one object per record.

    The object is ``{"event_name", "bucket", "key", "size", "etag", "version_id"}``
    (the key URL-decoded), parsed into the core's input type (a dataclass or model
    with those fields, or ``dict``).
    """
    from lambda_kit.handler import _batch

    return compose(_batch.event_handler(core, kind="S3", payloads=_batch.s3_payloads), middleware)


def http(
    target: Callable[..., Any] | dict[str, Callable[..., Any]],
    *,
    status: int = 200,
    errors: dict[type[BaseException], int] | None = None,
    cors: bool | CORS = False,
    codec: Any = None,
    middleware: Sequence[Middleware] = (),
) -> Callable[[Any, Any], dict[str, Any]]:
    """An HTTP handler for API Gateway (REST and HTTP APIs), ALB and function URLs.

    ``target`` is one core function (every method and path) or a mapping of
    ``"METHOD /path/{param}"`` to core functions. Parameters are filled by annotation:
    path values by name, scalars from the query string, ``Annotated[T, Header()]`` /
    ``Annotated[T, Query()]`` explicitly, a :class:`Request` parameter with the
    request, and one body parameter (a model, dataclass, ``TypedDict``, protobuf
    message, ``dict`` or ``bytes``) from the body by Content-Type. Results become JSON
    (protobuf messages: protobuf or JSON by Accept); ``None`` is 204;
    :class:`Response` sets status and headers.

    Bad input is a 4xx with a JSON body (400 with field errors, 404, 405, 406, 415);
    ``errors={OrderNotFound: 404}`` maps domain exceptions; anything else is a 500
    with a generic body, logged once with the request id.

    Example:
        >>> def get_order(order_id: int) -> dict:
        ...     return {"id": order_id}
        >>> handler = http({"GET /orders/{order_id}": get_order})
    """
    from lambda_kit.handler._http import http as build

    return build(target, status=status, errors=errors, cors=cors, codec=codec, middleware=middleware)
