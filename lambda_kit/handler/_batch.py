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
        and _warn(logger, template, kind, shown_id, request_id, reason, exc_info=error)
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
) -> Callable[[Any, Any], dict[str, list[dict[str, str]]]]:
    """A handler that calls ``core`` once per record and reports the records that failed.

    ``identify`` gives a record's ``itemIdentifier``, ``extract`` its payload (parsed
    into the core's input type), and ``ordered`` tells from the batch whether to stop
    at the first failure.
    """
    convert: Converter = converter_for(core_parameter_type(core))
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
                        call(convert(extract(record)))
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
) -> Callable[[Any, Any], None]:
    """A handler that calls ``core`` once per payload and raises if any call failed.

    ``payloads`` gives each record's id (for the log line) and payload. A failed call
    is logged like a batch record's, then re-raised: these sources have no partial
    batch response, so Lambda's own retries take the whole event again.
    """
    convert = converter_for(core_parameter_type(core))
    runner = Runner(core)

    def handler(event: Any, context: Any) -> None:
        token = lifecycle.start_invocation_for(context)
        try:
            items = payloads(event)

            def process(call: Callable[[Any], Any]) -> None:
                for record_id, item in items:
                    try:
                        call(convert(item))
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


def s3_payloads(event: Any) -> list[tuple[str | None, Any]]:
    """One object description per record, with the id of the S3 request that changed it.

    The id is ``responseElements.x-amz-request-id``, not the object key: keys can hold
    personal data, and the request id finds the key in CloudTrail or S3 access logs.
    """
    from urllib.parse import unquote_plus

    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list) or not records:
        raise EventShapeError("Not an S3 event: expected a non-empty 'Records' list.", source="S3")
    objects = []
    for record in records:
        s3 = record.get("s3") if isinstance(record, dict) else None
        bucket = s3.get("bucket") if isinstance(s3, dict) else None
        obj = s3.get("object") if isinstance(s3, dict) else None
        if not isinstance(bucket, dict) or not isinstance(obj, dict) or not isinstance(obj.get("key"), str):
            raise EventShapeError("S3 record has no 's3.bucket' and 's3.object.key'.", source="S3")
        request_id = _nested(record, "responseElements", "x-amz-request-id")
        objects.append(
            (
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
        )
    return objects
