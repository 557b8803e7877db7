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
(REST and HTTP APIs), ALB and function URLs. :func:`authorizer` answers API Gateway
Lambda authorizers with a :class:`Policy`; :func:`cloudwatch_logs` calls the core per
log event of a subscription; :func:`firehose` answers every Firehose record (``Ok``,
``Dropped``, ``ProcessingFailed``); :func:`cognito` dispatches user pool triggers on
``triggerSource``; :func:`kafka` serves MSK and self-managed Kafka, partition by
partition, with partial batch failures. :func:`websocket` routes API Gateway WebSocket
messages by route key; :func:`custom_resource` always answers CloudFormation;
:func:`s3_batch` answers every S3 Batch Operations task; :func:`mq` serves Amazon MQ
(ActiveMQ and RabbitMQ); :func:`tumbling_window` folds Kinesis and DynamoDB Streams
windows into their ``state``. :func:`http` also serves VPC Lattice.

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
    from typing import Any, Literal, TypeAlias

    from lambda_kit.exceptions import TemporaryFailureError, UnauthorizedError
    from lambda_kit.handler._authorizer import Policy
    from lambda_kit.handler._batch import DynamoDBRecord, Window
    from lambda_kit.handler._binding import Header, Query, Request
    from lambda_kit.handler._custom_resource import CustomResourceRequest, Resource
    from lambda_kit.handler._firehose import Transformed
    from lambda_kit.handler._http import CORS, Response
    from lambda_kit.handler._kafka import KafkaRecord
    from lambda_kit.handler._middleware import Middleware
    from lambda_kit.handler._mq import MQMessage
    from lambda_kit.handler._websocket import Connection

    BatchResponse: TypeAlias = dict[str, list[dict[str, str]]]

__all__ = [
    "CORS",
    "Connection",
    "CustomResourceRequest",
    "DynamoDBRecord",
    "Header",
    "KafkaRecord",
    "MQMessage",
    "Policy",
    "Query",
    "Request",
    "Resource",
    "Response",
    "TemporaryFailureError",
    "Transformed",
    "UnauthorizedError",
    "Window",
    "authorizer",
    "cloudwatch_logs",
    "cognito",
    "compose",
    "custom_resource",
    "dynamodb_streams",
    "eventbridge",
    "firehose",
    "http",
    "kafka",
    "kinesis",
    "mq",
    "request_id_logging",
    "s3",
    "s3_batch",
    "sns",
    "sqs",
    "timeout_guard",
    "tumbling_window",
    "websocket",
]

# The HTTP adapter's types load with it, on first use: batch-only functions never pay for it.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "CORS": "lambda_kit.handler._http",
        "Connection": "lambda_kit.handler._websocket",
        "CustomResourceRequest": "lambda_kit.handler._custom_resource",
        "DynamoDBRecord": "lambda_kit.handler._batch",
        "Header": "lambda_kit.handler._binding",
        "KafkaRecord": "lambda_kit.handler._kafka",
        "MQMessage": "lambda_kit.handler._mq",
        "Policy": "lambda_kit.handler._authorizer",
        "Query": "lambda_kit.handler._binding",
        "Request": "lambda_kit.handler._binding",
        "Resource": "lambda_kit.handler._custom_resource",
        "Response": "lambda_kit.handler._http",
        "TemporaryFailureError": "lambda_kit.exceptions",
        "Transformed": "lambda_kit.handler._firehose",
        "UnauthorizedError": "lambda_kit.exceptions",
        "Window": "lambda_kit.handler._batch",
    },
)


def sqs(
    core: Callable[..., Any],
    *,
    fifo: bool | None = None,
    envelope: Literal["sns", "s3"] | None = None,
    raise_on_entire_failure: bool = True,
    middleware: Sequence[Middleware] = (),
) -> Callable[[Any, Any], BatchResponse]:
    """An SQS handler with partial batch responses (enable ``ReportBatchItemFailures``).

    Each record's ``body`` is parsed into the core's input type. A FIFO queue (told
    from the queue ARN, or forced with ``fifo=``) stops at the first failure and
    reports it and every later record, keeping the message group's order.

    ``envelope="sns"`` hands the core the SNS ``Message`` inside each body (a topic's
    subscription without raw message delivery); ``envelope="s3"`` the objects of the S3
    notification inside it, one call each, like :func:`s3` (S3's ``s3:TestEvent`` is
    skipped). A body that is not that envelope fails its record.

    Example:
        >>> def process(order: dict) -> None: ...
        >>> handler = sqs(process)
        >>> from_topic = sqs(process, envelope="sns")
    """
    from lambda_kit.exceptions import ConfigurationError
    from lambda_kit.handler import _batch

    ordered = {None: _batch.sqs_is_fifo, True: _batch.always_ordered, False: _batch.never_ordered}[fifo]
    extract: Any = _batch.sqs_extract
    many = False
    if envelope is not None:
        if envelope not in _batch.ENVELOPES:
            raise ConfigurationError(
                f"Invalid envelope={envelope!r}; expected 'sns', 's3' or None.", setting="envelope"
            )
        extract, many = _batch.ENVELOPES[envelope]
    handler = _batch.batch_handler(
        _batch.each(core) if many else core,
        kind="SQS",
        identify=_batch.sqs_id,
        extract=extract,
        ordered=ordered,
        raise_on_entire_failure=raise_on_entire_failure,
        convert=_batch.keep if many else None,
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
    integral numbers become ``int``, others stay ``Decimal``. A :class:`DynamoDBRecord`
    parameter takes the whole change instead: ``event_name`` (``INSERT``, ``MODIFY``,
    ``REMOVE``), ``keys``, ``new_image`` and ``old_image``.
    """
    from lambda_kit.handler import _batch
    from lambda_kit.handler._core import core_parameter_type

    changes = core_parameter_type(core) is _batch.DynamoDBRecord
    handler = _batch.batch_handler(
        core,
        kind="DynamoDB Streams",
        identify=_batch.dynamodb_id,
        extract=_batch.dynamodb_record if changes else _batch.dynamodb_extract,
        ordered=_batch.always_ordered if stop_on_failure else _batch.never_ordered,
        raise_on_entire_failure=raise_on_entire_failure,
        convert=_batch.keep if changes else None,
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
    with those fields, or ``dict``). S3 events delivered by EventBridge (``source``
    ``aws.s3``) give the same object, with the ``detail-type`` as ``event_name``
    (``Object Created``).
    """
    from lambda_kit.handler import _batch

    return compose(_batch.event_handler(core, kind="S3", payloads=_batch.s3_payloads), middleware)


def authorizer(
    core: Callable[..., Any], *, simple: bool = False, middleware: Sequence[Middleware] = ()
) -> Callable[[Any, Any], dict[str, Any]]:
    """An API Gateway Lambda authorizer: REST TOKEN and REQUEST, HTTP API payloads 1.0 and 2.0.

    A ``str`` parameter takes the token; any other annotation the request
    (``token``, ``method``, ``path``, ``headers``, ``query``, ``source_ip``, ...) parsed
    into its type. The core returns a :class:`Policy` (``Policy("user-1").allow()``),
    or ``None`` when the credentials are not valid: a 401 on REST APIs (the function
    fails with ``Unauthorized``), a deny on HTTP APIs. ``simple=True`` answers HTTP API
    payload 2.0 in the simple format (``isAuthorized``, the policy evaluated for the
    route called; a ``bool`` result works too); else IAM policies, whose ARNs the
    adapter writes from the request's own method or route ARN.

    Example:
        >>> def check(token: str) -> Policy | None:
        ...     return Policy("user-1").allow() if token == "good" else None
        >>> handler = authorizer(check)
    """
    from lambda_kit.handler._authorizer import authorizer as build

    return compose(build(core, simple=simple), middleware)


def cloudwatch_logs(
    core: Callable[..., Any], *, middleware: Sequence[Middleware] = ()
) -> Callable[[Any, Any], None]:
    """A CloudWatch Logs subscription handler: the core is called once per log event.

    ``awslogs.data`` is base64-decoded, gunzipped and parsed; ``CONTROL_MESSAGE``
    deliveries are skipped. A ``str`` parameter takes the message; any other annotation
    ``{"id", "timestamp", "message", "log_group", "log_stream", "owner",
    "subscription_filters"}`` parsed into its type. A failed call is logged and
    re-raised, so that Lambda's asynchronous retries apply.
    """
    from lambda_kit.handler import _batch, _cloudwatch_logs
    from lambda_kit.handler._coerce import kind_of
    from lambda_kit.handler._core import core_parameter_type

    text = kind_of(core_parameter_type(core)) in ("str", "bytes")
    payloads = _cloudwatch_logs.message_payloads if text else _cloudwatch_logs.event_payloads
    return compose(_batch.event_handler(core, kind="CloudWatch Logs", payloads=payloads), middleware)


def firehose(
    core: Callable[..., Any],
    *,
    json_lines: bool = True,
    middleware: Sequence[Middleware] = (),
) -> Callable[[Any, Any], dict[str, list[dict[str, Any]]]]:
    """An Amazon Data Firehose transformation: every ``recordId`` answered.

    Each record's data is base64-decoded and parsed into the core's input type. Its
    result is the output (``bytes`` / ``str`` as they are, other results as a JSON line,
    :class:`Transformed` with dynamic partitioning keys): ``Ok``; ``None`` is
    ``Dropped``; a raise or a record that cannot be parsed is ``ProcessingFailed``.
    Outputs that would overflow Lambda's 6 MB response fail with their original data.
    """
    from lambda_kit.handler._firehose import firehose as build

    return compose(build(core, json_lines=json_lines), middleware)


def cognito(
    cores: dict[str, Callable[..., Any]], *, middleware: Sequence[Middleware] = ()
) -> Callable[[Any, Any], dict[str, Any]]:
    """Amazon Cognito user pool triggers, dispatched on ``triggerSource``.

    ``cores`` maps a trigger source (``"PreSignUp_SignUp"``) or a family (the part
    before ``_``: ``"PreSignUp"``) to a core. The core gets the request (with
    ``userName``, ``userPoolId``, ``triggerSource``, ``region``, ``clientId``) parsed
    into its type; the mapping it returns is merged into the event's ``response``,
    and the event goes back to Cognito. A raise fails the operation with its message.

    Example:
        >>> def pre_sign_up(request: dict) -> dict:
        ...     return {"autoConfirmUser": True}
        >>> handler = cognito({"PreSignUp": pre_sign_up})
    """
    from lambda_kit.handler._cognito import cognito as build

    return compose(build(cores), middleware)


def kafka(
    core: Callable[..., Any],
    *,
    partial_failures: bool = True,
    raise_on_entire_failure: bool = True,
    middleware: Sequence[Middleware] = (),
) -> Callable[[Any, Any], dict[str, list[dict[str, Any]]]]:
    """An Apache Kafka handler (Amazon MSK and self-managed) with partial batch failures.

    The core is called once per record in offset order within each topic-partition,
    with the value parsed into its input type (a :class:`KafkaRecord` parameter takes
    the whole record: key, value, headers as bytes). A partition stops at its first
    failure, reported as ``{"partition": "topic-0", "offset": n}`` so that Lambda
    resumes it there (``ReportBatchItemFailures``, provisioned mode);
    ``partial_failures=False`` raises instead, retrying the whole batch.
    """
    from lambda_kit.handler._kafka import kafka as build

    handler = build(core, partial_failures=partial_failures, raise_on_entire_failure=raise_on_entire_failure)
    return compose(handler, middleware)


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


def websocket(
    routes: Callable[..., Any] | dict[str, Callable[..., Any]],
    *,
    errors: dict[type[BaseException], int] | None = None,
    middleware: Sequence[Middleware] = (),
) -> Callable[[Any, Any], dict[str, Any]]:
    """An API Gateway WebSocket API handler, routed by ``routeKey``.

    ``routes`` is one core (every route) or a mapping of route keys (``"$connect"``,
    ``"$disconnect"``, ``"$default"``, ``"sendmessage"``) to cores; ``$default`` takes
    route keys not listed. A :class:`Connection` parameter takes the connection (its
    ``connection_id``, and :meth:`Connection.send` to post back through the cached
    ``aws.client("apigatewaymanagementapi")``); one other parameter takes the message
    body parsed into its type. The result is the body sent back (``None``: no body);
    a bad body is a 400, ``errors={Refused: 403}`` maps exceptions (a non-2xx
    ``$connect`` refuses the connection), anything else is a logged 500.

    Example:
        >>> def join(connection: Connection) -> None: ...
        >>> def say(message: dict, connection: Connection) -> dict:
        ...     return {"echo": message}
        >>> handler = websocket({"$connect": join, "sendmessage": say})
    """
    from lambda_kit.handler._websocket import websocket as build

    return compose(build(routes, errors=errors), middleware)


def custom_resource(
    cores: Callable[..., Any] | dict[str, Callable[..., Any]],
    *,
    timeout_margin: float = 3.0,
    put_timeout: float = 5.0,
    middleware: Sequence[Middleware] = (),
) -> Callable[[Any, Any], None]:
    """A CloudFormation custom resource that always answers ``SUCCESS`` or ``FAILED``.

    ``cores`` is one core (every request type) or ``{"Create": ..., "Update": ...,
    "Delete": ...}`` (a missing ``Delete`` succeeds). The core gets the
    ``ResourceProperties`` (without ``ServiceToken``) parsed into its type, and a
    :class:`CustomResourceRequest` parameter the request; it returns ``Data`` (a
    mapping), a :class:`Resource` (physical id, data, ``no_echo``) or ``None``. A raise,
    a malformed request, or a deadline ``timeout_margin`` seconds away answers
    ``FAILED`` with the reason. ``PhysicalResourceId`` stays the event's unless the core
    gives one; ``Data`` must fit CloudFormation's 4,096-byte response.

    Example:
        >>> def create_bucket(properties: dict) -> Resource:
        ...     return Resource("bucket-1", data={"Arn": "arn:aws:s3:::bucket-1"})
        >>> handler = custom_resource({"Create": create_bucket})
    """
    from lambda_kit.handler._custom_resource import custom_resource as build

    return compose(build(cores, timeout_margin=timeout_margin, put_timeout=put_timeout), middleware)


def s3_batch(
    core: Callable[..., Any],
    *,
    treat_missing_keys_as: str = "PermanentFailure",
    middleware: Sequence[Middleware] = (),
) -> Callable[[Any, Any], dict[str, Any]]:
    """An S3 Batch Operations handler (invocation schema 1.0 and 2.0): a result code per task.

    The core gets ``{"bucket", "key", "version_id", "task_id", "job_id",
    "user_arguments"}`` (the key URL-decoded) parsed into its type. Its result is the
    task's ``resultString`` with ``Succeeded``; :class:`TemporaryFailureError` (or a
    throttling AWS error) answers ``TemporaryFailure``; any other raise
    ``PermanentFailure``.
    """
    from lambda_kit.handler._s3_batch import s3_batch as build

    return compose(build(core, treat_missing_keys_as=treat_missing_keys_as), middleware)


def mq(core: Callable[..., Any], *, middleware: Sequence[Middleware] = ()) -> Callable[[Any, Any], None]:
    """An Amazon MQ handler (ActiveMQ and RabbitMQ): the core is called once per message.

    The message's data is base64-decoded and parsed into the core's input type; an
    :class:`MQMessage` parameter takes the whole message (data, properties or headers,
    queue, id). There is no partial batch response: a failure is logged and raised,
    and the broker redelivers the batch.
    """
    from lambda_kit.handler._mq import mq as build

    return compose(build(core), middleware)


def tumbling_window(
    core: Callable[..., Any],
    *,
    raise_on_entire_failure: bool = True,
    middleware: Sequence[Middleware] = (),
) -> Callable[[Any, Any], dict[str, Any]]:
    """A Kinesis or DynamoDB Streams tumbling-window aggregation (``TumblingWindowInSeconds``).

    The core is ``core(records: list[T], state: S[, window: Window]) -> S``: the batch's
    records parsed into ``T`` (Kinesis data, DynamoDB images, or :class:`DynamoDBRecord`),
    the window's state so far parsed into ``S``, and the :class:`Window` (``is_final`` on
    its last invocation). What it returns is the next ``state`` (at most 1 MB). Records
    that cannot be parsed stop the shard there and are reported in
    ``batchItemFailures``; a core that raises fails the batch, so that Lambda retries it
    with the state unchanged.

    Example:
        >>> def count(records: list[dict], state: dict) -> dict:
        ...     return {"count": state.get("count", 0) + len(records)}
        >>> handler = tumbling_window(count)
    """
    from lambda_kit.handler._batch import window_handler

    return compose(window_handler(core, raise_on_entire_failure=raise_on_entire_failure), middleware)
