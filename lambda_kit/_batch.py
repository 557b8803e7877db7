"""Batch and event adapters: SQS, Kinesis, DynamoDB Streams, SNS, EventBridge, S3 (internal).

Each adapter turns a core function of one record into a Lambda handler. Records
are parsed into the core's input type (see :mod:`lambda_kit._coerce`); a record that
cannot be parsed, or whose call raises, is a per-record failure reported in
``batchItemFailures`` (SQS ``messageId``, stream sequence number), so that Lambda
retries only what failed. Ordered sources (SQS FIFO queues, Kinesis and DynamoDB
Streams by default) stop at the first failure and report it and every later record,
so that nothing is processed out of order. When every record fails, or a failed
record has no id to report, the adapter raises :class:`~lambda_kit.exceptions.BatchError`
and Lambda retries the whole batch.

Record bodies never reach a log line: a failure is logged with the request id, the
record id and the exception type only.
"""

from __future__ import annotations

import base64
import binascii

from lambda_kit import lifecycle
from lambda_kit._coerce import converter_for
from lambda_kit.exceptions import BatchError, EventShapeError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

    from lambda_kit._coerce import Converter

    Identify = Callable[[dict[str, Any]], str | None]
    Extract = Callable[[dict[str, Any]], Any]


def _log_failure(kind: str, record_id: str | None, error: BaseException) -> None:
    import logging

    logging.getLogger("lambda_kit.handler").warning(
        "%s record %s failed with %s (request %s)",
        kind,
        record_id or "<no id>",
        type(error).__name__,
        lifecycle.current_request_id() or "-",
    )


class _Runner:
    """Calls a sync or async core; async cores share one event loop per invocation."""

    def __init__(self, core: Callable[..., Any]) -> None:
        from lambda_kit._util import is_coroutine_function

        self.core = core
        self.is_async = is_coroutine_function(core)

    def run_all(self, calls: Callable[[Callable[[Any], Any]], Any]) -> Any:
        if not self.is_async:
            return calls(self.core)
        import asyncio

        loop = asyncio.new_event_loop()
        try:
            return calls(lambda payload: loop.run_until_complete(self.core(payload)))
        finally:
            loop.close()


def core_parameter_type(core: Callable[..., Any]) -> Any:
    """The annotation of the core function's first parameter (``Any`` when absent)."""
    import typing

    code = getattr(core, "__code__", None)
    target = core if code is not None else getattr(core, "__call__", core)  # noqa: B004
    code = getattr(target, "__code__", None)
    if code is None or code.co_argcount == 0:
        return typing.Any
    first = code.co_varnames[0]
    if first in ("self", "cls") and code.co_argcount > 1:
        first = code.co_varnames[1]
    try:
        hints = typing.get_type_hints(target)
    except Exception:  # unresolvable annotations: take the payload as it is
        return typing.Any
    return hints.get(first, typing.Any)


def batch_handler(
    core: Callable[..., Any],
    *,
    kind: str,
    identify: Identify,
    extract: Extract,
    ordered: Callable[[list[Any]], bool],
    raise_on_entire_failure: bool,
) -> Callable[[Any, Any], dict[str, list[dict[str, str]]]]:
    convert: Converter = converter_for(core_parameter_type(core))
    runner = _Runner(core)

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
                    record_id: str | None = None
                    record_id = _safe_id(identify, record)
                    if failed and stop_at_failure:
                        failed.append(record_id)
                        continue
                    try:
                        if not isinstance(record, dict):
                            raise EventShapeError(f"A {kind} record must be an object.", source=kind)
                        call(convert(extract(record)))
                    except Exception as error:  # every record failure is reported, none escapes
                        _log_failure(kind, record_id, error)
                        failed.append(record_id)
                return failed

            failed = runner.run_all(process)
            if failed and (
                any(record_id is None for record_id in failed)
                or (raise_on_entire_failure and len(failed) == len(records))
            ):
                raise BatchError(
                    f"{len(failed)} of {len(records)} {kind} records failed; raising so that Lambda "
                    "retries the whole batch.",
                    failed=len(failed),
                    total=len(records),
                )
            return {"batchItemFailures": [{"itemIdentifier": record_id} for record_id in failed if record_id]}
        finally:
            lifecycle.end_invocation(token)

    return handler


def _safe_id(identify: Identify, record: Any) -> str | None:
    """The record's id, or None (a failed record without one fails the whole batch)."""
    if not isinstance(record, dict):
        return None
    value = identify(record)
    return value if isinstance(value, str) and value else None


def _nested(record: dict[str, Any], outer: str, inner: str) -> Any:
    section = record.get(outer)
    return section.get(inner) if isinstance(section, dict) else None


def _require(mapping: Any, key: str, what: str) -> Any:
    if not isinstance(mapping, dict) or key not in mapping:
        raise EventShapeError(f"{what} has no '{key}'.", field=key)
    return mapping[key]


# -- SQS ----------------------------------------------------------------------------


def sqs_id(record: dict[str, Any]) -> Any:
    return record.get("messageId")


def sqs_extract(record: dict[str, Any]) -> Any:
    body = _require(record, "body", "SQS record")
    if not isinstance(body, str):
        raise EventShapeError("SQS record body must be a string.", field="body")
    return body


def sqs_is_fifo(records: list[Any]) -> bool:
    # The first well-formed record decides: a malformed first record must not make a
    # FIFO batch look like a standard one (that would process it out of order).
    for record in records:
        if isinstance(record, dict):
            arn = record.get("eventSourceARN")
            attributes = record.get("attributes")
            return (isinstance(arn, str) and arn.endswith(".fifo")) or (
                isinstance(attributes, dict) and "MessageGroupId" in attributes
            )
    return False


# -- Kinesis ------------------------------------------------------------------------


def kinesis_id(record: dict[str, Any]) -> Any:
    return _nested(record, "kinesis", "sequenceNumber")


def kinesis_extract(record: dict[str, Any]) -> Any:
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
    from decimal import Decimal

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
    return _nested(record, "dynamodb", "SequenceNumber")


def dynamodb_extract(record: dict[str, Any]) -> Any:
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
    return True


def never_ordered(records: Sequence[Any]) -> bool:
    return False


# -- SNS, EventBridge, S3 -------------------------------------------------------------


def event_handler(
    core: Callable[..., Any],
    *,
    kind: str,
    payloads: Callable[[Any], list[Any]],
) -> Callable[[Any, Any], None]:
    """A handler that calls ``core`` once per payload and raises if any call failed."""
    convert = converter_for(core_parameter_type(core))
    runner = _Runner(core)

    def handler(event: Any, context: Any) -> None:
        token = lifecycle.start_invocation_for(context)
        try:
            items = payloads(event)

            def process(call: Callable[[Any], Any]) -> None:
                for item in items:
                    call(convert(item))

            runner.run_all(process)
        finally:
            lifecycle.end_invocation(token)

    return handler


def sns_payloads(event: Any) -> list[Any]:
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list) or not records:
        raise EventShapeError("Not an SNS event: expected a non-empty 'Records' list.", source="SNS")
    messages = []
    for record in records:
        sns = record.get("Sns") if isinstance(record, dict) else None
        message = sns.get("Message") if isinstance(sns, dict) else None
        if not isinstance(message, str):
            raise EventShapeError("SNS record has no 'Sns.Message' string.", source="SNS")
        messages.append(message)
    return messages


def eventbridge_payloads(event: Any) -> list[Any]:
    if not isinstance(event, dict) or "detail" not in event or "detail-type" not in event:
        raise EventShapeError(
            "Not an EventBridge event: expected 'detail-type' and 'detail'.", source="EventBridge"
        )
    return [event["detail"]]


def s3_payloads(event: Any) -> list[Any]:
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
        objects.append(
            {
                "event_name": record.get("eventName"),
                "bucket": bucket.get("name"),
                "key": unquote_plus(obj["key"]),  # S3 URL-encodes keys in notifications
                "size": obj.get("size"),
                "etag": obj.get("eTag"),
                "version_id": obj.get("versionId"),
            }
        )
    return objects
