"""Batch and event adapters: SQS, Kinesis, DynamoDB Streams, SNS, EventBridge, S3 (internal).

Each adapter turns a core function of one record into a Lambda handler. Records
are parsed into the core's input type (see :mod:`lambda_kit.handler._coerce`); a record that
cannot be parsed, or whose call raises, is a per-record failure reported in
``batchItemFailures`` (SQS ``messageId``, stream sequence number), so that Lambda
retries only what failed. Ordered sources (SQS FIFO queues, Kinesis and DynamoDB
Streams by default) stop at the first failure and report it and every later record,
so that nothing is processed out of order; that is what AWS documents for FIFO queues
with ``ReportBatchItemFailures``. A queue is FIFO when its ARN ends in ``.fifo``: a
standard queue's messages may carry a ``MessageGroupId`` too (SQS fair queues), and
they still fail one by one. When every record fails, or a failed record has no id
Lambda could match (missing, or text that cannot be sent back as UTF-8), the adapter
raises :class:`~lambda_kit.exceptions.BatchError` and Lambda retries the whole batch.

Each failure is logged at WARNING on ``lambda_kit.handler`` with the record's id, the
request id, the exception's type and message, and its traceback. lambda-kit never
adds a record's body to a log line, and its own parsing errors never quote it; an
exception message written by the core is logged as it is (that is the core's choice).
Text from the event is made safe for UTF-8 first, so that a lone surrogate cannot make
the runtime's log handler fail the batch.
"""

from __future__ import annotations

import base64
import binascii
import logging
import traceback
from decimal import Decimal

from lambda_kit import lifecycle
from lambda_kit.exceptions import BatchError, EventShapeError
from lambda_kit.handler._coerce import converter_for
from lambda_kit.handler._core import Runner, core_parameter_type

TYPE_CHECKING = False
if TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Sequence
    from typing import Any

    from lambda_kit.handler._coerce import Converter

    Identify = Callable[[dict[str, Any]], str | None]
    Extract = Callable[[dict[str, Any]], Any]


_ID_LIMIT = 200
_REASON_LIMIT = 500


def _printable(text: str, limit: int | None = None) -> str:
    """``text`` shortened to ``limit`` and safe to encode as UTF-8 (lone surrogates escaped)."""
    if limit is not None and len(text) > limit:
        text = text[: limit - 3] + "..."
    if text.isascii():
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _shown_id(identify: Identify, record: Any) -> str:
    """The record's id as a log line shows it (also when it is unusable as an itemIdentifier)."""
    value = identify(record) if isinstance(record, dict) else None
    return _printable(value, _ID_LIMIT) if isinstance(value, str) and value else "<no id>"


def _log_failure(kind: str, shown_id: str, error: BaseException) -> None:
    """Log a failed record: its id, the request id, the reason and the traceback. Never raises.

    awslambdaric's log handler writes strict UTF-8 and catches nothing, so a log line
    holding a lone surrogate (a ``\\ud800`` escape in the event, quoted by the core's
    exception message) would raise here and fail the whole batch. Such a failure, or
    one whose ``str()`` raises, is logged with its traceback as escaped text rather
    than as ``exc_info``; if a handler fails all the same, the record is still
    reported failed.
    """
    logger = logging.getLogger("lambda_kit.handler")
    if not logger.isEnabledFor(logging.WARNING):
        return
    template = "%s record %s failed (request %s): %s"
    request_id = lifecycle.current_request_id() or "-"
    name = type(error).__name__
    try:
        message = str(error)
        clean = _printable(message) == message
    except Exception:  # a broken __str__ must not hide the failure itself
        message, clean = "<str() failed>", False
    reason = _printable(f"{name}: {message}" if message else name, _REASON_LIMIT)
    trace = _traceback_text(error)
    # When a handler could not format or write the exc_info form, the text form follows.
    if (
        clean
        and trace is not None
        and _printable(trace) == trace
        and _warn_with_trace(logger, trace, error, template, kind, shown_id, request_id, reason)
    ):
        return
    _warn(
        logger, template + "\n%s", kind, shown_id, request_id, reason, _printable(trace or "(no traceback)")
    )


def _traceback_text(error: BaseException) -> str | None:
    try:
        return "".join(traceback.format_exception(type(error), error, error.__traceback__)).rstrip("\n")
    except Exception:  # (a RecursionError of a pathological chain, say): the reason says enough
        return None


def _warn_with_trace(logger: logging.Logger, trace: str, error: BaseException, msg: str, *args: Any) -> bool:
    """``logger.warning(msg, *args, exc_info=error)``, the traceback formatted once, not twice.

    The record keeps ``exc_info`` (for handlers that structure it) and carries ``trace``
    as its ``exc_text``, which ``logging.Formatter`` writes instead of formatting the
    traceback again (the same text: ``traceback.format_exception``). False instead of
    an exception when a handler fails.
    """
    try:
        path, line, function, _ = logger.findCaller()
        record = logger.makeRecord(
            logger.name,
            logging.WARNING,
            path,
            line,
            msg,
            args,
            (type(error), error, error.__traceback__),
            function,
        )
        record.exc_text = trace
        logger.handle(record)
    except Exception:  # a failing log handler must not turn a record's failure into the batch's
        return False
    return True


def _warn(logger: logging.Logger, *args: Any, **kwargs: Any) -> bool:
    """``logger.warning``, False instead of an exception when a handler fails."""
    try:
        logger.warning(*args, **kwargs)
    except Exception:  # a failing log handler must not turn a record's failure into the batch's
        return False
    return True


def batch_handler(
    core: Callable[..., Any],
    *,
    kind: str,
    identify: Identify,
    extract: Extract,
    ordered: Callable[[list[Any]], bool],
    raise_on_entire_failure: bool,
    convert: Converter | None = None,
) -> Callable[[Any, Any], dict[str, list[dict[str, str]]]]:
    """A handler that calls ``core`` once per record and reports the records that failed.

    ``identify`` gives a record's ``itemIdentifier``, ``extract`` its payload (parsed
    into the core's input type), and ``ordered`` tells from the batch whether to stop
    at the first failure. ``convert`` replaces the converter of the core's input type.
    """
    to_input: Converter = convert if convert is not None else converter_for(core_parameter_type(core))
    runner = Runner(core)

    def handler(event: Any, context: Any) -> dict[str, list[dict[str, str]]]:
        token = lifecycle.start_invocation_for(context)
        try:
            records = event.get("Records") if isinstance(event, dict) else None
            if not isinstance(records, list):
                raise EventShapeError(f"Not a {kind} event: expected a 'Records' list.", source=kind)
            stop_at_failure = ordered(records)

            def process(call: Callable[[Any], Any]) -> list[str | None]:
                failed: list[str | None] = []
                for record in records:
                    record_id = _safe_id(identify, record)
                    if failed and stop_at_failure:
                        failed.append(record_id)
                        continue
                    try:
                        if not isinstance(record, dict):
                            raise EventShapeError(f"A {kind} record must be an object.", source=kind)
                        call(to_input(extract(record)))
                    except Exception as error:  # every record failure is reported, none escapes
                        _log_failure(kind, _shown_id(identify, record), error)
                        failed.append(record_id)
                return failed

            failed = runner.run_all(process)
            unmatched = any(record_id is None for record_id in failed)
            if failed and (unmatched or (raise_on_entire_failure and len(failed) == len(records))):
                why = " (a failed record has no id Lambda could match)" if unmatched else ""
                raise BatchError(
                    f"{len(failed)} of {len(records)} {kind} records failed{why}; raising so that "
                    "Lambda retries the whole batch.",
                    failed=len(failed),
                    total=len(records),
                )
            return {"batchItemFailures": [{"itemIdentifier": record_id} for record_id in failed if record_id]}
        finally:
            lifecycle.end_invocation(token)

    return handler


def _safe_id(identify: Identify, record: Any) -> str | None:
    """The record's id, or None (a failed record without one fails the whole batch).

    An id that is not valid Unicode (a lone surrogate, from a ``\\ud800`` escape in the
    event) is None too: it cannot be sent back as UTF-8 (awslambdaric fails on it), and
    an escaped form would match no record, which Lambda treats as a failed batch anyway.
    """
    if not isinstance(record, dict):
        return None
    value = identify(record)
    if not isinstance(value, str) or not value:
        return None
    return value if value.isascii() or _printable(value) == value else None


def _nested(record: dict[str, Any], outer: str, inner: str) -> Any:
    section = record.get(outer)
    return section.get(inner) if isinstance(section, dict) else None


def _require(mapping: Any, key: str, what: str) -> Any:
    if not isinstance(mapping, dict) or key not in mapping:
        raise EventShapeError(f"{what} has no '{key}'.", field=key)
    return mapping[key]


# -- SQS ----------------------------------------------------------------------------


def sqs_id(record: dict[str, Any]) -> Any:
    """An SQS record's ``messageId``: its ``itemIdentifier``."""
    return record.get("messageId")


def sqs_extract(record: dict[str, Any]) -> Any:
    """An SQS record's ``body`` text."""
    body = _require(record, "body", "SQS record")
    if not isinstance(body, str):
        raise EventShapeError("SQS record body must be a string.", field="body")
    return body


def sqs_is_fifo(records: list[Any]) -> bool:
    """Whether the batch comes from a FIFO queue: the queue's ARN ends in ``.fifo``.

    Not ``MessageGroupId``: standard queues carry it too (fair queues), and must not
    stop a batch at its first failure. The first record with an ARN decides, so a
    malformed first record cannot make a FIFO batch look standard. A hand-built event
    without ARNs is FIFO when a record has a ``SequenceNumber``, which SQS gives only
    to FIFO messages.
    """
    numbered = False
    for record in records:
        if isinstance(record, dict):
            arn = record.get("eventSourceARN")
            if isinstance(arn, str) and arn:
                return arn.endswith(".fifo")
            attributes = record.get("attributes")
            numbered = numbered or (isinstance(attributes, dict) and "SequenceNumber" in attributes)
    return numbered


# -- Kinesis ------------------------------------------------------------------------


def kinesis_id(record: dict[str, Any]) -> Any:
    """A Kinesis record's ``sequenceNumber``: its ``itemIdentifier``."""
    return _nested(record, "kinesis", "sequenceNumber")


def kinesis_extract(record: dict[str, Any]) -> Any:
    """A Kinesis record's ``data``, base64-decoded (strictly)."""
    kinesis = _require(record, "kinesis", "Kinesis record")
    data = _require(kinesis, "data", "Kinesis record")
    if not isinstance(data, str):
        raise EventShapeError("Kinesis record data must be base64 text.", field="data")
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise EventShapeError("Kinesis record data is not valid base64.", field="data") from None


# -- DynamoDB Streams -----------------------------------------------------------------


def _decode_binary_attributes(value: Any) -> Any:
    """Streams deliver B / BS as base64 text; TypeDeserializer wants bytes."""
    if isinstance(value, dict):
        if len(value) == 1:
            ((tag, inner),) = value.items()
            if tag == "B" and isinstance(inner, str):
                return {"B": base64.b64decode(inner, validate=True)}
            if tag == "BS" and isinstance(inner, list):
                return {"BS": [base64.b64decode(item, validate=True) for item in inner]}
        return {key: _decode_binary_attributes(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_decode_binary_attributes(item) for item in value]
    return value


def _plain(value: Any) -> Any:
    """Decimals from DynamoDB as int when integral (JSON numbers), sets as lists."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else value
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, set, frozenset)):
        return [_plain(item) for item in value]
    if type(value).__name__ == "Binary":
        return bytes(value.value)
    return value


def dynamodb_id(record: dict[str, Any]) -> Any:
    """A DynamoDB Streams record's ``SequenceNumber``: its ``itemIdentifier``."""
    return _nested(record, "dynamodb", "SequenceNumber")


def dynamodb_extract(record: dict[str, Any]) -> Any:
    """A DynamoDB Streams record's new image (the old one for ``REMOVE``) as plain data."""
    change = _require(record, "dynamodb", "DynamoDB Streams record")
    image = change.get("NewImage") if isinstance(change, dict) else None
    if image is None and isinstance(change, dict):
        image = change.get("OldImage")  # REMOVE events carry only the old image
    if not isinstance(image, dict):
        raise EventShapeError(
            "DynamoDB Streams record has no NewImage or OldImage; set the stream view type to "
            "NEW_IMAGE, OLD_IMAGE or NEW_AND_OLD_IMAGES.",
            field="NewImage",
        )
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    try:
        typed = _decode_binary_attributes(image)
        item = {key: deserializer.deserialize(value) for key, value in typed.items()}
    except (TypeError, ValueError, KeyError, AttributeError, binascii.Error, ArithmeticError):
        raise EventShapeError("DynamoDB image is not in DynamoDB's typed JSON.", field="NewImage") from None
    return _plain(item)


class DynamoDBRecord:
    """One DynamoDB Streams change: what a core annotated ``DynamoDBRecord`` receives.

    Attributes:
        event_name: ``INSERT``, ``MODIFY`` or ``REMOVE``.
        keys: The item's key attributes, as plain data.
        new_image, old_image: The item after and before the change, as plain data;
            ``None`` where the stream view type or the change has none (a ``REMOVE``
            has no new image, an ``INSERT`` no old one).
        sequence_number: The record's sequence number in its shard.
        event_id: The record's ``eventID``.
    """

    __slots__ = ("event_id", "event_name", "keys", "new_image", "old_image", "sequence_number")

    def __init__(
        self,
        *,
        event_name: str,
        keys: dict[str, Any],
        new_image: dict[str, Any] | None,
        old_image: dict[str, Any] | None,
        sequence_number: str | None,
        event_id: str | None,
    ) -> None:
        self.event_name = event_name
        self.keys = keys
        self.new_image = new_image
        self.old_image = old_image
        self.sequence_number = sequence_number
        self.event_id = event_id

    def __repr__(self) -> str:  # no image values: items can hold personal data
        return f"DynamoDBRecord({self.event_name} {self.sequence_number})"


_EVENT_NAMES = frozenset({"INSERT", "MODIFY", "REMOVE"})


def _plain_image(image: Any, field: str) -> dict[str, Any] | None:
    if image is None:
        return None
    if not isinstance(image, dict):
        raise EventShapeError(f"DynamoDB {field} must be an object.", field=field)
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    try:
        typed = _decode_binary_attributes(image)
        item = {key: deserializer.deserialize(value) for key, value in typed.items()}
    except (TypeError, ValueError, KeyError, AttributeError, binascii.Error, ArithmeticError):
        raise EventShapeError(f"DynamoDB {field} is not in DynamoDB's typed JSON.", field=field) from None
    plain: dict[str, Any] = _plain(item)
    return plain


def dynamodb_record(record: dict[str, Any]) -> DynamoDBRecord:
    """A DynamoDB Streams record as a :class:`DynamoDBRecord` (event name, keys, both images)."""
    change = _require(record, "dynamodb", "DynamoDB Streams record")
    if not isinstance(change, dict):
        raise EventShapeError("DynamoDB Streams record 'dynamodb' must be an object.", field="dynamodb")
    name = record.get("eventName")
    if not isinstance(name, str) or name not in _EVENT_NAMES:
        raise EventShapeError(
            "DynamoDB Streams record 'eventName' must be INSERT, MODIFY or REMOVE.", field="eventName"
        )
    return DynamoDBRecord(
        event_name=name,
        keys=_plain_image(change.get("Keys"), "Keys") or {},
        new_image=_plain_image(change.get("NewImage"), "NewImage"),
        old_image=_plain_image(change.get("OldImage"), "OldImage"),
        sequence_number=_text_or_none(change.get("SequenceNumber")),
        event_id=_text_or_none(record.get("eventID")),
    )


def keep(value: Any) -> Any:
    """The identity converter: the adapter built the core's input itself."""
    return value


def always_ordered(records: Sequence[Any]) -> bool:
    """An ordered source: a batch stops at its first failure."""
    return True


def never_ordered(records: Sequence[Any]) -> bool:
    """An unordered source: every record is tried."""
    return False


# -- SNS, EventBridge, S3 -------------------------------------------------------------


def event_handler(
    core: Callable[..., Any],
    *,
    kind: str,
    payloads: Callable[[Any], list[tuple[str | None, Any]]],
    convert: Converter | None = None,
) -> Callable[[Any, Any], None]:
    """A handler that calls ``core`` once per payload and raises if any call failed.

    ``payloads`` gives each record's id (for the log line) and payload. A failed call
    is logged like a batch record's, then re-raised: these sources have no partial
    batch response, so Lambda's own retries take the whole event again. ``convert``
    replaces the converter of the core's input type.
    """
    to_input: Converter = convert if convert is not None else converter_for(core_parameter_type(core))
    runner = Runner(core)

    def handler(event: Any, context: Any) -> None:
        token = lifecycle.start_invocation_for(context)
        try:
            items = payloads(event)

            def process(call: Callable[[Any], Any]) -> None:
                for record_id, item in items:
                    try:
                        call(to_input(item))
                    except Exception as error:
                        shown = _printable(record_id, _ID_LIMIT) if record_id else "<no id>"
                        _log_failure(kind, shown, error)
                        raise

            runner.run_all(process)
        finally:
            lifecycle.end_invocation(token)

    return handler


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def sns_payloads(event: Any) -> list[tuple[str | None, Any]]:
    """Each SNS record's ``MessageId`` and ``Sns.Message``."""
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list) or not records:
        raise EventShapeError("Not an SNS event: expected a non-empty 'Records' list.", source="SNS")
    messages = []
    for record in records:
        sns = record.get("Sns") if isinstance(record, dict) else None
        if not isinstance(sns, dict) or not isinstance(sns.get("Message"), str):
            raise EventShapeError("SNS record has no 'Sns.Message' string.", source="SNS")
        messages.append((_text_or_none(sns.get("MessageId")), sns["Message"]))
    return messages


def eventbridge_payloads(event: Any) -> list[tuple[str | None, Any]]:
    """The EventBridge event's ``id`` and ``detail``."""
    if not isinstance(event, dict) or "detail" not in event or "detail-type" not in event:
        raise EventShapeError(
            "Not an EventBridge event: expected 'detail-type' and 'detail'.", source="EventBridge"
        )
    return [(_text_or_none(event.get("id")), event["detail"])]


def _s3_object(record: Any) -> tuple[str | None, dict[str, Any]]:
    """An S3 notification record's request id and object description (the key URL-decoded)."""
    from urllib.parse import unquote_plus

    s3 = record.get("s3") if isinstance(record, dict) else None
    bucket = s3.get("bucket") if isinstance(s3, dict) else None
    obj = s3.get("object") if isinstance(s3, dict) else None
    if not isinstance(bucket, dict) or not isinstance(obj, dict) or not isinstance(obj.get("key"), str):
        raise EventShapeError("S3 record has no 's3.bucket' and 's3.object.key'.", source="S3")
    request_id = _nested(record, "responseElements", "x-amz-request-id")
    return (
        _text_or_none(request_id),
        {
            "event_name": record.get("eventName"),
            "bucket": bucket.get("name"),
            "key": unquote_plus(obj["key"]),  # S3 URL-encodes keys in notifications
            "size": obj.get("size"),
            "etag": obj.get("eTag"),
            "version_id": obj.get("versionId"),
        },
    )


def _s3_eventbridge_object(event: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """The object of an S3 event delivered by EventBridge (``source`` ``aws.s3``).

    EventBridge writes the key as it is (not URL-encoded), names the event by its
    ``detail-type`` (``Object Created``, ``Object Deleted``, ...) and spells the
    version ``version-id``.
    """
    detail = event.get("detail")
    bucket = detail.get("bucket") if isinstance(detail, dict) else None
    obj = detail.get("object") if isinstance(detail, dict) else None
    if not isinstance(bucket, dict) or not isinstance(obj, dict) or not isinstance(obj.get("key"), str):
        raise EventShapeError(
            "S3 event from EventBridge has no 'detail.bucket' and 'detail.object.key'.", source="S3"
        )
    return (
        _text_or_none(detail.get("request-id")),  # type: ignore[union-attr]  # a dict, checked above
        {
            "event_name": event.get("detail-type"),
            "bucket": bucket.get("name"),
            "key": obj["key"],
            "size": obj.get("size"),
            "etag": obj.get("etag"),
            "version_id": obj.get("version-id"),
        },
    )


def s3_payloads(event: Any) -> list[tuple[str | None, Any]]:
    """One object description per record, with the id of the S3 request that changed it.

    The id is ``responseElements.x-amz-request-id``, not the object key: keys can hold
    personal data, and the request id finds the key in CloudTrail or S3 access logs.
    An S3 event delivered by EventBridge (``source`` ``aws.s3``) is one object.
    """
    if isinstance(event, dict) and event.get("source") == "aws.s3" and "detail-type" in event:
        return [_s3_eventbridge_object(event)]
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list) or not records:
        raise EventShapeError("Not an S3 event: expected a non-empty 'Records' list.", source="S3")
    return [_s3_object(record) for record in records]


# -- wrapped shapes: SNS and S3 notifications inside SQS messages ---------------------------


def _json_body(record: dict[str, Any], what: str) -> Any:
    import json

    body = sqs_extract(record)
    try:
        return json.loads(body)
    except ValueError:  # the message is not the envelope asked for; the text is never quoted
        raise EventShapeError(f"SQS message body is not {what} (not JSON).", field="body") from None


def sqs_sns_extract(record: dict[str, Any]) -> Any:
    """The SNS ``Message`` inside an SQS message (a subscription without raw message delivery)."""
    document = _json_body(record, "an SNS notification")
    if (
        not isinstance(document, dict)
        or document.get("Type") != "Notification"
        or not isinstance(document.get("Message"), str)
    ):
        raise EventShapeError(
            "SQS message body is not an SNS notification (no 'Type': 'Notification' and 'Message'); "
            "with raw message delivery on, use sqs() without envelope.",
            field="body",
        )
    return document["Message"]


def sqs_s3_extract(record: dict[str, Any]) -> list[Any]:
    """The objects of the S3 notification inside an SQS message; none for S3's ``s3:TestEvent``."""
    document = _json_body(record, "an S3 notification")
    if isinstance(document, dict) and document.get("Event") == "s3:TestEvent":
        return []  # sent once when the notification is configured: nothing to process
    records = document.get("Records") if isinstance(document, dict) else None
    if not isinstance(records, list) or not records:
        raise EventShapeError("SQS message body is not an S3 notification (no 'Records' list).", field="body")
    return [_s3_object(item)[1] for item in records]


def each(core: Callable[..., Any]) -> Callable[..., Any]:
    """A core of a list of payloads that calls ``core`` on each, parsed into its input type, in order.

    For a record holding several payloads (an S3 notification in an SQS message): the
    record fails at its first failed payload. Built at INIT, so that the batch loop
    keeps its one call per record.
    """
    convert = converter_for(core_parameter_type(core))
    if Runner(core).is_async:

        async def each_async(payloads: list[Any]) -> None:
            for payload in payloads:
                await core(convert(payload))

        return each_async

    def each_sync(payloads: list[Any]) -> None:
        for payload in payloads:
            core(convert(payload))

    return each_sync


ENVELOPES: dict[str, tuple[Callable[[dict[str, Any]], Any], bool]] = {
    "sns": (sqs_sns_extract, False),
    "s3": (sqs_s3_extract, True),  # several objects a message: the core goes through each()
}


# -- tumbling windows: Kinesis and DynamoDB Streams aggregation ------------------------------

_STATE_LIMIT = 1024 * 1024  # Lambda carries at most 1 MB of state between a window's invocations


class Window:
    """The tumbling window an invocation belongs to: what a core's ``Window`` parameter receives.

    Attributes:
        start, end: The window's bounds, ISO 8601 text as Lambda sends them.
        shard_id: The shard the records come from.
        source_arn: The stream's ARN.
        is_final: The last invocation of the window (``isFinalInvokeForWindow``): the
            state is complete; what the core returns now is not carried further.
        terminated_early: The window ended early (``isWindowTerminatedEarly``): the state
            reached its 1 MB limit.
    """

    __slots__ = ("end", "is_final", "shard_id", "source_arn", "start", "terminated_early")

    def __init__(
        self,
        *,
        start: str | None,
        end: str | None,
        shard_id: str | None,
        source_arn: str | None,
        is_final: bool,
        terminated_early: bool,
    ) -> None:
        self.start = start
        self.end = end
        self.shard_id = shard_id
        self.source_arn = source_arn
        self.is_final = is_final
        self.terminated_early = terminated_early

    def __repr__(self) -> str:
        final = ", final" if self.is_final else ""
        return f"Window({self.start} - {self.end}, {self.shard_id}{final})"


def _window_of(event: dict[str, Any]) -> Window:
    window = event.get("window")
    if not isinstance(window, dict):
        raise EventShapeError(
            "Not a tumbling window event: no 'window'; set TumblingWindowInSeconds on the event source "
            "mapping.",
            source="tumbling window",
        )
    return Window(
        start=_text_or_none(window.get("start")),
        end=_text_or_none(window.get("end")),
        shard_id=_text_or_none(event.get("shardId")),
        source_arn=_text_or_none(event.get("eventSourceARN")),
        is_final=event.get("isFinalInvokeForWindow") is True,
        terminated_early=event.get("isWindowTerminatedEarly") is True,
    )


def _window_signature(core: Callable[..., Any]) -> tuple[Any, Any, bool]:
    """The record type (``list[T]``'s ``T``), the state type, and whether a third parameter takes a Window."""
    import inspect
    import typing

    target = core if hasattr(core, "__code__") else getattr(core, "__call__", core)  # noqa: B004
    try:
        positional = [
            p
            for p in inspect.signature(target).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        positional = []
    try:
        hints = typing.get_type_hints(target)
    except Exception:  # unresolvable annotations: take the payloads as they are
        hints = {}
    if len(positional) < 2:
        from lambda_kit.exceptions import ConfigurationError

        raise ConfigurationError(
            "A tumbling window core takes (records: list[T], state: S[, window: Window]) and returns "
            "the new state.",
            setting="core",
        )
    import collections.abc

    records_type = hints.get(positional[0].name, typing.Any)
    args = typing.get_args(records_type)
    origin = typing.get_origin(records_type)
    item_type = args[0] if origin in (list, collections.abc.Sequence) and args else typing.Any
    state_type = hints.get(positional[1].name, typing.Any)
    return item_type, state_type, len(positional) >= 3


def window_handler(
    core: Callable[..., Any], *, raise_on_entire_failure: bool
) -> Callable[[Any, Any], dict[str, Any]]:
    """A Kinesis or DynamoDB Streams tumbling-window handler (see ``lambda_kit.handler.tumbling_window``)."""
    from lambda_kit.exceptions import HandlerError
    from lambda_kit.handler._coerce import dumps, to_jsonable

    item_type, state_type, takes_window = _window_signature(core)
    changes = item_type is DynamoDBRecord
    to_item: Converter = keep if changes else converter_for(item_type)
    to_state: Converter = converter_for(state_type)
    is_async = Runner(core).is_async

    def handler(event: Any, context: Any) -> dict[str, Any]:
        token = lifecycle.start_invocation_for(context)
        try:
            if not isinstance(event, dict):
                raise EventShapeError(
                    "Not a tumbling window event: expected an object.", source="tumbling window"
                )
            window = _window_of(event)
            records = event.get("Records")
            if records is None:
                records = []
            if not isinstance(records, list):
                raise EventShapeError(
                    "Tumbling window event 'Records' must be a list.", source="tumbling window"
                )
            state = event.get("state")
            state = {} if state is None else state
            if not isinstance(state, dict):
                raise EventShapeError("Tumbling window 'state' must be an object.", source="tumbling window")
            kind, identify, extract = _stream_of(event, records, changes)
            items: list[Any] = []
            failed: list[str | None] = []
            for record in records:
                if failed:  # a shard is ordered: nothing after a failed record is folded in
                    failed.append(_safe_id(identify, record))
                    continue
                try:
                    if not isinstance(record, dict):
                        raise EventShapeError(f"A {kind} record must be an object.", source=kind)
                    items.append(to_item(extract(record)))
                except Exception as error:  # reported for Lambda to retry, never escapes
                    _log_failure(kind, _shown_id(identify, record), error)
                    failed.append(_safe_id(identify, record))
            if failed and (None in failed or (raise_on_entire_failure and len(failed) == len(records))):
                raise BatchError(
                    f"{len(failed)} of {len(records)} {kind} records failed; raising so that Lambda retries "
                    "the whole batch.",
                    failed=len(failed),
                    total=len(records),
                )
            current = to_state(state)
            args = (items, current, window) if takes_window else (items, current)
            try:
                result = _call_window(core, is_async, args)
            except Exception as error:
                _log_failure(kind, window.shard_id or "<no shard>", error)
                raise
            new_state = {} if result is None else to_jsonable(result)
            if not isinstance(new_state, dict):
                raise HandlerError(
                    f"A tumbling window core must return the state as a mapping (or None), got "
                    f"{type(result).__name__}."
                )
            if len(dumps(new_state).encode("utf-8")) > _STATE_LIMIT:
                raise HandlerError("The tumbling window state is over Lambda's 1 MB limit.")
            return {
                "state": new_state,
                "batchItemFailures": [{"itemIdentifier": record_id} for record_id in failed if record_id],
            }
        finally:
            lifecycle.end_invocation(token)

    return handler


def _call_window(core: Callable[..., Any], is_async: bool, args: tuple[Any, ...]) -> Any:
    """``core(*args)``; an async core on an event loop of its own, closed before returning."""
    if not is_async:
        return core(*args)
    import asyncio

    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(core(*args))
    finally:
        loop.close()


def _stream_of(event: dict[str, Any], records: list[Any], changes: bool) -> tuple[str, Identify, Extract]:
    """Which stream the window comes from: Kinesis or DynamoDB Streams (by eventSource, else the ARN)."""
    if not records:  # a window's last invocation may carry no records: nothing to extract
        return "stream", kinesis_id, keep
    source = None
    for record in records:
        if isinstance(record, dict) and isinstance(record.get("eventSource"), str):
            source = record["eventSource"]
            break
    if source is None:
        arn = event.get("eventSourceARN")
        if isinstance(arn, str):
            source = "aws:dynamodb" if ":dynamodb:" in arn else "aws:kinesis" if ":kinesis:" in arn else None
    if source == "aws:dynamodb":
        return "DynamoDB Streams", dynamodb_id, dynamodb_record if changes else dynamodb_extract
    if source == "aws:kinesis":
        if changes:
            raise EventShapeError("A DynamoDBRecord core got a Kinesis window.", source="Kinesis")
        return "Kinesis", kinesis_id, kinesis_extract
    raise EventShapeError(
        "Not a Kinesis or DynamoDB Streams window: no 'eventSource' aws:kinesis or aws:dynamodb.",
        source="tumbling window",
    )
