"""CloudWatch Logs subscriptions: base64 + gzip + JSON, control messages, one call per log event."""

from __future__ import annotations

import base64
import gzip
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lambda_kit.exceptions import EventShapeError, LambdaKitError
from lambda_kit.handler import _cloudwatch_logs, cloudwatch_logs
from lambda_kit.testing import events, invoke

EVENTS = Path(__file__).parent / "events"


@dataclass
class LogLine:
    message: str
    timestamp: int
    log_group: str
    log_stream: str


class LogEntry(TypedDict):
    id: str
    message: str


def _wrap(document: Any, *, raw: bytes | None = None) -> dict[str, Any]:
    data = raw if raw is not None else gzip.compress(json.dumps(document).encode())
    return {"awslogs": {"data": base64.b64encode(data).decode()}}


@pytest.mark.parametrize("name", ["go-cloudwatch-logs-event.json", "sam-CloudwatchLogs.json"])
def test_sample_events_call_the_core_per_log_event(name: str) -> None:
    seen: list[LogLine] = []
    plain: list[dict[str, Any]] = []
    handler = cloudwatch_logs(plain.append)  # no annotation: the log event as a dict

    def typed(line: LogLine) -> None:
        seen.append(line)

    event = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    assert invoke(cloudwatch_logs(typed), event) is None
    assert seen == [
        LogLine("[ERROR] First test message", 1440442987000, "testLogGroup", "testLogStream"),
        LogLine("[ERROR] Second test message", 1440442987001, "testLogGroup", "testLogStream"),
    ]
    invoke(handler, event)
    assert [item["id"] for item in plain] == ["eventId1", "eventId2"]
    assert plain[0]["owner"] == "123456789123"
    assert plain[0]["subscription_filters"] == ["testFilter"]


def test_a_str_core_takes_the_message_and_a_typeddict_its_fields() -> None:
    messages: list[str] = []

    def text(message: str) -> None:
        messages.append(message)

    entries: list[LogEntry] = []

    def entry(item: LogEntry) -> None:
        entries.append(item)

    event = events.cloudwatch_logs(['{"level": "INFO"}', "plain ünïcode"])
    invoke(cloudwatch_logs(text), event)
    invoke(cloudwatch_logs(entry), event)
    assert messages == ['{"level": "INFO"}', "plain ünïcode"]
    assert [item["message"] for item in entries] == messages


def test_control_messages_are_skipped() -> None:
    calls: list[Any] = []
    assert invoke(cloudwatch_logs(calls.append), events.cloudwatch_logs([], control=True)) is None
    assert calls == []


def test_a_failed_call_is_logged_and_raised_and_later_events_wait(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[str] = []

    def core(message: str) -> None:
        calls.append(message)
        if message == "bad":
            raise ValueError("cannot index")

    event = events.cloudwatch_logs(["good", "bad", "never"])
    handler = cloudwatch_logs(core)
    with (
        caplog.at_level(logging.WARNING, logger="lambda_kit.handler"),
        pytest.raises(ValueError, match="cannot index"),
    ):
        invoke(handler, event)
    assert calls == ["good", "bad"]
    [record] = caplog.records
    assert record.getMessage().startswith(
        "CloudWatch Logs record 36000000000000000000000000000000000000000000000000000001"
    )
    assert "cannot index" in record.getMessage()


@dataclass
class NeedsNumber:
    message: int


def test_a_log_event_that_does_not_fit_the_type_fails_the_invocation() -> None:
    calls: list[NeedsNumber] = []

    def core(item: NeedsNumber) -> None:
        calls.append(item)

    with pytest.raises(LambdaKitError, match="Invalid input"):
        invoke(cloudwatch_logs(core), events.cloudwatch_logs(["x"]))
    assert calls == []


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({}, "expected 'awslogs.data' text"),
        ({"awslogs": {"data": 5}}, "expected 'awslogs.data' text"),
        ({"awslogs": {"data": "not base64!"}}, "not valid base64"),
        (_wrap(None, raw=b"plain bytes, not gzip"), "not gzip data"),
        (_wrap(None, raw=gzip.compress(b"{not json")), "not JSON"),
        (_wrap(None, raw=gzip.compress(b"\xff\xfe")), "not JSON"),
        (_wrap(None, raw=gzip.compress(b"[1, 2]")), "not an object"),
        (_wrap(None, raw=gzip.compress(b"[" * 100000 + b"]" * 100000)), "nested too deeply|not an object"),
        (_wrap(None, raw=gzip.compress(b'{"messageType": "DATA_MESSAGE"}')[:-12]), "not complete gzip"),
        (_wrap({"messageType": "OTHER"}), "neither DATA_MESSAGE nor CONTROL_MESSAGE"),
        (_wrap({"messageType": "DATA_MESSAGE"}), "no 'logEvents' list"),
        (_wrap({"messageType": "DATA_MESSAGE", "logEvents": [{"id": "1"}]}), "no 'message' text"),
    ],
)
def test_malformed_deliveries_are_clear_errors(event: Any, message: str) -> None:
    with pytest.raises(EventShapeError, match=message):
        cloudwatch_logs(lambda message: None)(event, None)


def test_a_decompression_bomb_is_refused_without_inflating_it() -> None:
    bomb = gzip.compress(b" " * (2 * 1024 * 1024))
    with pytest.raises(EventShapeError, match="larger than 1048576 bytes"):
        _cloudwatch_logs.decode(_wrap(None, raw=bomb), limit=1024 * 1024)
    assert _cloudwatch_logs.MAX_DECOMPRESSED >= 16 * 1024 * 1024


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None)
@given(
    document=st.fixed_dictionaries(
        {"messageType": st.sampled_from(["DATA_MESSAGE", "CONTROL_MESSAGE", "x"])},
        optional={
            "logEvents": st.lists(
                st.fixed_dictionaries({}, optional={"id": _json, "timestamp": _json, "message": _json}),
                max_size=3,
            )
            | _json,
            "logGroup": _json,
            "logStream": _json,
            "subscriptionFilters": _json,
        },
    ),
    garble=st.sampled_from([None, "truncate", "flip"]),
)
def test_any_delivery_calls_the_core_or_raises_a_lambda_kit_error(
    document: dict[str, Any], garble: str | None
) -> None:
    raw = gzip.compress(json.dumps(document).encode())
    if garble == "truncate":
        raw = raw[: len(raw) // 2]
    elif garble == "flip":
        raw = raw[:12] + bytes([raw[12] ^ 0xFF]) + raw[13:]
    seen: list[LogLine] = []

    def core(line: LogLine) -> None:
        seen.append(line)

    try:
        cloudwatch_logs(core)(_wrap(None, raw=raw), None)
    except LambdaKitError:
        return
    assert all(isinstance(line.message, str) for line in seen)
