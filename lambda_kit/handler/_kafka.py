"""Apache Kafka: Amazon MSK and self-managed clusters, partial batch failures (internal).

Lambda delivers Kafka records grouped by topic-partition: ``{"eventSource":
"aws:kafka" | "SelfManagedKafka", "records": {"orders-0": [...], "orders-1":
[...]}}``, each record with ``topic``, ``partition``, ``offset``, ``timestamp``, a
base64 ``key`` and ``value`` (either may be absent or null: a tombstone has no
value), and ``headers`` as a list of ``{name: [byte, ...]}``. The adapter calls the
core once per record, in offset order within each partition:

* a :class:`KafkaRecord` parameter takes the whole record decoded (``key`` and
  ``value`` as ``bytes`` or ``None``, ``headers`` as ``(name, bytes)`` pairs);
* any other annotation takes the value, parsed into its type (``bytes`` raw,
  ``str`` text, anything else JSON). A tombstone (a null value, as log compaction
  uses) is passed as ``None``: annotate ``Optional[...]``, or take ``KafkaRecord``.

A partition is ordered: its first failed record stops it (its later records are not
called), and the response reports that record, ``{"batchItemFailures":
[{"itemIdentifier": {"partition": "orders-0", "offset": 15}}]}``, so that Lambda
resumes the partition there; other partitions go on. Lambda reads the response
only when the event source mapping has ``ReportBatchItemFailures`` (provisioned
mode); ``partial_failures=False`` raises instead, so that Lambda retries the whole
batch. As for the other batch sources, a batch where every record failed (each
partition at its first record) raises :class:`~lambda_kit.exceptions.BatchError`.
"""

from __future__ import annotations

import binascii

from lambda_kit import lifecycle
from lambda_kit.exceptions import BatchError, EventShapeError
from lambda_kit.handler._coerce import converter_for
from lambda_kit.handler._core import Runner, core_parameter_type
from lambda_kit.handler._firehose import decode_base64

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["KafkaRecord", "kafka"]


class KafkaRecord:
    """One Kafka record, decoded: what a core annotated ``KafkaRecord`` receives.

    Attributes:
        topic, partition, offset: Where the record sits.
        timestamp: Epoch milliseconds; ``timestamp_type`` says which clock
            (``CREATE_TIME`` or ``LOG_APPEND_TIME``).
        key, value: The raw bytes, ``None`` when absent (a tombstone has no value).
        headers: ``(name, value)`` pairs in the order sent; a name may repeat.
    """

    __slots__ = ("headers", "key", "offset", "partition", "timestamp", "timestamp_type", "topic", "value")

    def __init__(
        self,
        *,
        topic: str,
        partition: int,
        offset: int,
        timestamp: int | None,
        timestamp_type: str | None,
        key: bytes | None,
        value: bytes | None,
        headers: list[tuple[str, bytes]],
    ) -> None:
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.timestamp = timestamp
        self.timestamp_type = timestamp_type
        self.key = key
        self.value = value
        self.headers = headers

    def header(self, name: str) -> bytes | None:
        """The last value of header ``name`` (case-sensitive, as Kafka compares them), or ``None``."""
        found = None
        for header_name, value in self.headers:
            if header_name == name:
                found = value
        return found

    def __repr__(self) -> str:  # keys and values may hold personal data: sizes only
        size = "None" if self.value is None else f"{len(self.value)} bytes"
        return f"KafkaRecord({self.topic!r}, partition={self.partition}, offset={self.offset}, value={size})"


def _int(record: dict[str, Any], name: str) -> int:
    value = record.get(name)
    if type(value) is not int:
        raise EventShapeError(f"Kafka record has no integer '{name}'.", field=name)
    return value


def _bytes(record: dict[str, Any], name: str) -> bytes | None:
    value = record.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise EventShapeError(f"Kafka record {name} must be base64 text.", field=name)
    try:
        return decode_base64(value)
    except (binascii.Error, ValueError):
        raise EventShapeError(f"Kafka record {name} is not valid base64.", field=name) from None


def _headers(record: dict[str, Any]) -> list[tuple[str, bytes]]:
    """``[{name: [byte, ...]}, ...]`` as pairs; bytes may come signed (-128..127, as Java writes them)."""
    raw = record.get("headers")
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise EventShapeError("Kafka record headers must be a list.", field="headers")
    pairs = []
    for entry in raw:
        if not isinstance(entry, dict):
            raise EventShapeError("A Kafka record header must be an object.", field="headers")
        for name, value in entry.items():
            if not isinstance(value, list) or not all(type(b) is int and -128 <= b <= 255 for b in value):
                raise EventShapeError("A Kafka header value must be a list of bytes.", field="headers")
            pairs.append((name, bytes(b & 0xFF for b in value)))
    return pairs


def decode(record: Any) -> KafkaRecord:
    """A record of the event as a :class:`KafkaRecord` (raises EventShapeError when malformed)."""
    if not isinstance(record, dict):
        raise EventShapeError("A Kafka record must be an object.", source="Kafka")
    topic = record.get("topic")
    if not isinstance(topic, str):
        raise EventShapeError("Kafka record has no 'topic' string.", field="topic")
    timestamp = record.get("timestamp")
    timestamp_type = record.get("timestampType")
    return KafkaRecord(
        topic=topic,
        partition=_int(record, "partition"),
        offset=_int(record, "offset"),
        timestamp=timestamp if type(timestamp) is int else None,
        timestamp_type=timestamp_type if isinstance(timestamp_type, str) else None,
        key=_bytes(record, "key"),
        value=_bytes(record, "value"),
        headers=_headers(record),
    )


def _without_none(tp: Any) -> Any:
    """``X`` for ``Optional[X]``: a tombstone is passed as ``None``, other values parsed as ``X``."""
    import typing

    args = typing.get_args(tp)
    if len(args) == 2 and type(None) in args and typing.get_origin(tp) is not typing.Annotated:
        return args[0] if args[1] is type(None) else args[1]
    return tp


def _position(record: Any) -> int | None:
    offset = record.get("offset") if isinstance(record, dict) else None
    return offset if type(offset) is int else None


def kafka(
    core: Callable[..., Any], *, partial_failures: bool = True, raise_on_entire_failure: bool = True
) -> Callable[[Any, Any], dict[str, list[dict[str, Any]]]]:
    """Build the Kafka handler (see the module docstring)."""
    from lambda_kit.handler._batch import _log_failure

    tp = _without_none(core_parameter_type(core))
    whole = tp is KafkaRecord
    convert = converter_for(tp)
    runner = Runner(core)

    def handler(event: Any, context: Any) -> dict[str, list[dict[str, Any]]]:
        token = lifecycle.start_invocation_for(context)
        try:
            groups = event.get("records") if isinstance(event, dict) else None
            if not isinstance(groups, dict) or not all(isinstance(items, list) for items in groups.values()):
                raise EventShapeError(
                    "Not a Kafka event: expected 'records' mapping each topic-partition to a list.",
                    source="Kafka",
                )

            def process(call: Callable[[Any], Any]) -> list[dict[str, Any]]:
                failures = []
                first_failed.clear()
                for partition_key, items in groups.items():
                    # Lambda sends a partition's records in offset order; sort in case a
                    # hand-built event does not (a stable sort keeps malformed ones in place).
                    ordered = sorted(items, key=lambda item: _position(item) or 0)
                    for record in ordered:
                        try:
                            decoded = decode(record)
                            if whole:
                                call(decoded)
                            else:  # a tombstone (null value) is None, whatever the type
                                call(None if decoded.value is None else convert(decoded.value))
                        except Exception as error:  # the partition stops here; its failure is reported
                            offset = _position(record)
                            shown = f"{partition_key[:100]}@{offset if offset is not None else '?'}"
                            _log_failure("Kafka", shown, error)
                            failures.append({"partition": partition_key, "offset": offset})
                            if record is ordered[0]:
                                first_failed.append(partition_key)
                            break
                return failures

            first_failed: list[str] = []  # partitions whose every record failed (at the first)
            failures = runner.run_all(process)
            unmatched = any(item["offset"] is None for item in failures)
            every = bool(failures) and len(first_failed) == sum(1 for items in groups.values() if items)
            if failures and (not partial_failures or unmatched or (raise_on_entire_failure and every)):
                total = sum(len(items) for items in groups.values())
                why = " (a failed record has no offset Lambda could match)" if unmatched else ""
                raise BatchError(
                    f"{len(failures)} of {len(groups)} Kafka partitions failed{why}; raising so that Lambda "
                    "retries the whole batch.",
                    failed=len(failures),
                    total=total,
                )
            return {"batchItemFailures": [{"itemIdentifier": item} for item in failures]}
        finally:
            lifecycle.end_invocation(token)

    return handler
