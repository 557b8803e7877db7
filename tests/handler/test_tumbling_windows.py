"""Kinesis and DynamoDB Streams tumbling windows: the core folds each batch into the window's state."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_samples import sample
from hypothesis import given, settings
from hypothesis import strategies as st

from lambda_kit.exceptions import (
    BatchError,
    ConfigurationError,
    EventShapeError,
    HandlerError,
    InputValidationError,
)
from lambda_kit.handler import DynamoDBRecord, Window, tumbling_window
from lambda_kit.testing import events

EVENTS = Path(__file__).parent / "events"


def test_the_kinesis_window_sample_is_folded_into_its_state() -> None:
    windows: list[Window] = []

    def count(records: list[bytes], state: dict[str, Any], window: Window) -> dict[str, Any]:
        windows.append(window)
        return {**state, "count": state.get("count", 0) + len(records), "last": records[-1].decode()}

    response = tumbling_window(count)(sample("go-kinesis-time-window-event.json"), None)

    assert response == {
        "state": {"1": "state 1", "2": "state 2", "count": 1, "last": "Hello, this is a test."},
        "batchItemFailures": [],
    }
    (window,) = windows
    assert (window.start, window.end) == ("2020-12-09T07:04:00Z", "2020-12-09T07:06:00Z")
    assert window.shard_id == "shardId-000000000006"
    assert window.source_arn == "arn:aws:kinesis:us-east-1:123456789012:stream/lambda-stream"
    assert (window.is_final, window.terminated_early) == (False, False)


def test_the_dynamodb_window_sample_tells_inserts_from_removes() -> None:
    def tally(changes: list[DynamoDBRecord], state: dict[str, Any]) -> dict[str, Any]:
        totals = dict(state)
        for change in changes:
            totals[change.event_name] = totals.get(change.event_name, 0) + 1
        return totals

    response = tumbling_window(tally)(sample("go-dynamodb-time-window-event.json"), None)
    assert response["state"] == {"1": "state1", "INSERT": 1, "MODIFY": 1, "REMOVE": 1}


def test_dynamodb_images_as_plain_data() -> None:
    seen: list[dict[str, Any]] = []

    def keep(images: Sequence[dict[str, Any]], state: dict[str, Any]) -> None:
        seen.extend(images)

    response = tumbling_window(keep)(sample("go-dynamodb-time-window-event.json"), None)
    assert response == {"state": {}, "batchItemFailures": []}
    assert seen[2] == {"Message": "This item has changed", "Id": 101}  # REMOVE: its old image


@dataclass
class Reading:
    sensor: str
    value: float


@dataclass
class Totals:
    total: float = 0.0
    readings: int = 0


def add(readings: list[Reading], state: Totals, window: Window) -> Totals | None:
    if window.is_final:
        return None  # the window is complete: report it, carry nothing further
    return Totals(state.total + sum(r.value for r in readings), state.readings + len(readings))


def test_typed_state_is_carried_between_invocations_of_a_window() -> None:
    handler = tumbling_window(add)
    first = handler(events.tumbling_window(events.kinesis([{"sensor": "a", "value": 1.5}])), None)
    second = handler(
        events.tumbling_window(events.kinesis([{"sensor": "b", "value": 2.0}] * 2), state=first["state"]),
        None,
    )
    final = handler(events.tumbling_window({"Records": []}, state=second["state"], final=True), None)
    assert first["state"] == {"total": 1.5, "readings": 1}
    assert second["state"] == {"total": 5.5, "readings": 3}
    assert final == {"state": {}, "batchItemFailures": []}


def test_a_record_that_cannot_be_parsed_stops_the_shard_there(caplog: pytest.LogCaptureFixture) -> None:
    event = events.kinesis([{"sensor": "a", "value": 1}, "not json", {"sensor": "c", "value": 3}])
    response = tumbling_window(add)(events.tumbling_window(event), None)
    ids = [record["kinesis"]["sequenceNumber"] for record in event["Records"]]
    assert response["batchItemFailures"] == [{"itemIdentifier": ids[1]}, {"itemIdentifier": ids[2]}]
    assert response["state"] == {"total": 1.0, "readings": 1}  # only what came before the failure
    assert any("Kinesis record" in message for message in caplog.messages)


def test_every_record_failing_retries_the_batch() -> None:
    event = events.tumbling_window(events.kinesis(["x", "y"]))
    with pytest.raises(BatchError):
        tumbling_window(add)(event, None)
    assert tumbling_window(add, raise_on_entire_failure=False)(event, None)["batchItemFailures"]


def test_a_core_that_raises_fails_the_batch_with_the_state_unchanged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(records: list[Any], state: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("aggregation failed")

    with pytest.raises(RuntimeError, match="aggregation failed"):
        tumbling_window(broken)(events.tumbling_window(events.kinesis([{"a": 1}])), None)
    assert any("shardId-000000000000" in message for message in caplog.messages)


def test_a_state_that_is_not_a_mapping_or_too_large_is_a_handler_error() -> None:
    with pytest.raises(HandlerError, match="mapping"):
        tumbling_window(lambda records, state: [1])(events.tumbling_window(events.kinesis([{"a": 1}])), None)
    with pytest.raises(HandlerError, match="1 MB"):
        tumbling_window(lambda records, state: {"x": "y" * 1_100_000})(
            events.tumbling_window(events.kinesis([{"a": 1}])), None
        )


def test_async_cores_work() -> None:
    async def count(records: list[Any], state: dict[str, int]) -> dict[str, int]:
        return {"n": state.get("n", 0) + len(records)}

    event = events.tumbling_window(events.dynamodb_streams([{"pk": "a"}]), state={"n": 2})
    assert tumbling_window(count)(event, None)["state"] == {"n": 3}


def test_a_core_without_a_state_parameter_is_refused_at_init() -> None:
    with pytest.raises(ConfigurationError, match="records: list"):
        tumbling_window(lambda records: None)


@pytest.mark.parametrize(
    "event",
    [
        None,
        {"Records": []},
        {"Records": [], "window": {}, "state": []},
        {"Records": {}, "window": {}},
        {"Records": [{"eventSource": "aws:sqs"}], "window": {}},
    ],
)
def test_an_event_that_is_not_a_window_is_a_clear_error(event: Any) -> None:
    with pytest.raises(EventShapeError):
        tumbling_window(lambda records, state: None)(event, None)


def test_a_kinesis_window_for_a_dynamodb_record_core_is_a_clear_error() -> None:
    def changes(records: list[DynamoDBRecord], state: dict[str, Any]) -> None:
        return None

    with pytest.raises(EventShapeError, match="Kinesis window"):
        tumbling_window(changes)(events.tumbling_window(events.kinesis([{"a": 1}])), None)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=80, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["window", "state", "shardId", "isFinalInvokeForWindow", "eventSourceARN"]),
        _json,
        max_size=2,
    ),
    st.dictionaries(st.sampled_from(["kinesis", "eventSource", "dynamodb"]), _json, max_size=1),
)
def test_malformed_windows_raise_only_clear_errors(
    damage: dict[str, Any], record_damage: dict[str, Any]
) -> None:
    event = events.tumbling_window(events.kinesis([{"a": 1}, {"a": 2}]), state={"n": 0})
    event.update(damage)
    event["Records"][0].update(record_damage)

    def count(records: list[dict[str, int]], state: dict[str, Any]) -> dict[str, Any]:
        return {"n": len(records)}

    try:
        response = tumbling_window(count)(event, None)
    except (EventShapeError, BatchError):
        return
    assert set(response) == {"state", "batchItemFailures"}
    assert response["state"]["n"] + len(response["batchItemFailures"]) == 2


def test_a_state_that_does_not_fit_its_type_is_a_clear_error() -> None:
    event = events.tumbling_window(events.kinesis([{"sensor": "a", "value": 1}]), state={"total": "lots"})
    with pytest.raises(InputValidationError, match="field error"):
        tumbling_window(add)(event, None)


def test_an_empty_final_invocation_of_a_dynamodb_window_reports_the_state() -> None:
    def tally(changes: list[DynamoDBRecord], state: dict[str, Any], window: Window) -> dict[str, Any]:
        return {**state, "final": window.is_final, "seen": len(changes)}

    event = sample("go-dynamodb-time-window-event.json")
    event.update(Records=[], isFinalInvokeForWindow=True)  # its eventSourceARN is "stream-ARN"
    assert tumbling_window(tally)(event, None)["state"] == {"1": "state1", "final": True, "seen": 0}
