"""CloudWatch Logs subscription filters: the core called once per log event (internal).

CloudWatch Logs delivers a batch of log events as ``{"awslogs": {"data": ...}}``,
where ``data`` is base64 of gzip of JSON. The adapter decodes it (strictly; the
decompressed size is capped, so a hostile payload cannot exhaust memory), skips
``CONTROL_MESSAGE`` deliveries (CloudWatch Logs sends one to check that the
destination is reachable; they hold no log events), and calls the core with each
log event of a ``DATA_MESSAGE``:

* a ``str`` parameter takes the event's message, ``bytes`` its UTF-8;
* any other annotation takes ``{"id", "timestamp", "message", "log_group",
  "log_stream", "owner", "subscription_filters"}`` (``timestamp`` in epoch
  milliseconds), parsed into its type: a dataclass or model declaring the fields it
  wants, a ``TypedDict``, or ``dict``.

Subscription filters invoke the function asynchronously and have no partial batch
response: a failed call is logged with the log event's id and re-raised (the events
after it are not processed), so that Lambda's asynchronous retries and on-failure
destination take the whole delivery. A delivery that cannot be decoded raises
:class:`~lambda_kit.exceptions.EventShapeError` saying why, without quoting it.
"""

from __future__ import annotations

import binascii
import json
import zlib

from lambda_kit.exceptions import EventShapeError
from lambda_kit.handler._firehose import decode_base64

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["MAX_DECOMPRESSED", "decode", "event_payloads", "message_payloads"]

MAX_DECOMPRESSED = 64 * 1024 * 1024
"""Largest decompressed delivery accepted (bytes); CloudWatch Logs batches are at most 1 MB of events."""


def _shape_error(why: str) -> EventShapeError:
    return EventShapeError(f"Not a CloudWatch Logs subscription event: {why}.", source="CloudWatch Logs")


def decode(event: Any, limit: int = MAX_DECOMPRESSED) -> dict[str, Any]:
    """The delivery's JSON document: ``awslogs.data`` base64-decoded, gunzipped and parsed."""
    awslogs = event.get("awslogs") if isinstance(event, dict) else None
    data = awslogs.get("data") if isinstance(awslogs, dict) else None
    if not isinstance(data, str):
        raise _shape_error("expected 'awslogs.data' text")
    try:
        compressed = decode_base64(data)
    except (binascii.Error, ValueError):
        raise _shape_error("'awslogs.data' is not valid base64") from None
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)  # gzip framing
    try:
        raw = inflater.decompress(compressed, limit + 1)
        if len(raw) > limit:
            raise _shape_error(f"the decompressed data is larger than {limit} bytes")
        if not inflater.eof:
            raise _shape_error("'awslogs.data' is not complete gzip data")
    except zlib.error:
        raise _shape_error("'awslogs.data' is not gzip data") from None
    try:
        document = json.loads(raw)
    except RecursionError:
        raise _shape_error("the decompressed JSON is nested too deeply") from None
    except ValueError:  # JSONDecodeError and UnicodeDecodeError; their messages never quote the data
        raise _shape_error("the decompressed data is not JSON") from None
    if not isinstance(document, dict):
        raise _shape_error("the decompressed JSON is not an object")
    return document


def _log_events(event: Any) -> list[tuple[str | None, dict[str, Any]]]:
    document = decode(event)
    kind = document.get("messageType")
    if kind == "CONTROL_MESSAGE":
        return []
    if kind != "DATA_MESSAGE":
        raise _shape_error("'messageType' is neither DATA_MESSAGE nor CONTROL_MESSAGE")
    entries = document.get("logEvents")
    if not isinstance(entries, list):
        raise _shape_error("a DATA_MESSAGE has no 'logEvents' list")
    filters = document.get("subscriptionFilters")
    common = {
        "log_group": document.get("logGroup"),
        "log_stream": document.get("logStream"),
        "owner": document.get("owner"),
        "subscription_filters": filters if isinstance(filters, list) else [],
    }
    found = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("message"), str):
            raise _shape_error("a log event has no 'message' text")
        entry_id = entry.get("id")
        found.append(
            (
                entry_id if isinstance(entry_id, str) else None,
                {"id": entry_id, "timestamp": entry.get("timestamp"), "message": entry["message"], **common},
            )
        )
    return found


def event_payloads(event: Any) -> list[tuple[str | None, Any]]:
    """Each log event's id and ``{"id", "timestamp", "message", "log_group", ...}``."""
    return list(_log_events(event))


def message_payloads(event: Any) -> list[tuple[str | None, Any]]:
    """Each log event's id and message text."""
    return [(entry_id, entry["message"]) for entry_id, entry in _log_events(event)]
