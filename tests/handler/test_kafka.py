"""Kafka (Amazon MSK and self-managed): partitions in order, base64 keys and values, partial failures."""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_samples import sample
from hypothesis import given, settings
from hypothesis import strategies as st

from lambda_kit.exceptions import BatchError, EventShapeError
from lambda_kit.handler import KafkaRecord, kafka
from lambda_kit.testing import events, invoke

EVENTS = Path(__file__).parent / "events"


@pytest.mark.parametrize("name", ["guide-msk.json", "guide-self-managed-kafka.json"])
def test_developer_guide_samples(name: str) -> None:
    records: list[KafkaRecord] = []

    def whole(record: KafkaRecord) -> None:
        records.append(record)

    values: list[dict[str, str]] = []

    def value(item: dict[str, str]) -> None:
        values.append(item)

    event = sample(name)
    assert invoke(kafka(whole), event) == {"batchItemFailures": []}
    assert invoke(kafka(value), event) == {"batchItemFailures": []}
    [record] = records
    assert (record.topic, record.partition, record.offset) == ("mytopic", 0, 15)
    assert (record.timestamp, record.timestamp_type) == (1545084650987, "CREATE_TIME")
    assert record.key == b"recordKey"
    assert record.value == b'{"key":"value"}'
    assert record.headers == [("headerKey", b"headerValue")]
    assert record.header("headerKey") == b"headerValue"
    assert record.header("missing") is None
    assert values == [{"key": "value"}]
    assert "recordKey" not in repr(record)


def test_the_go_sample_with_signed_header_bytes() -> None:
    records: list[KafkaRecord] = []

    def whole(record: KafkaRecord) -> None:
        records.append(record)

    assert invoke(kafka(whole), sample("go-kafka-event.json")) == {"batchItemFailures": []}
    assert records[0].headers == [("headerKey", bytes([118, 220, 0, 127, 128]))]  # -36 is 0xDC
    assert records[0].value == b"8d5596b4-1813-4238-b24b-6dad8e3d1c0c"


@dataclass
class Order:
    order_id: str
    quantity: int


def _batch() -> dict[str, Any]:
    first = events.kafka(
        [
            {"order_id": "a", "quantity": 1},
            {"order_id": "b", "quantity": -1},
            {"order_id": "c", "quantity": 1},
        ],
        topic="orders",
        partition=0,
        first_offset=100,
    )
    second = events.kafka(
        [{"order_id": "d", "quantity": 1}, "not json", {"order_id": "f", "quantity": 2}],
        topic="orders",
        partition=1,
        first_offset=7,
    )
    third = events.kafka([{"order_id": "g", "quantity": 3}], topic="orders", partition=2)
    first["records"].update(second["records"])
    first["records"].update(third["records"])
    return first


def test_each_partition_stops_at_its_first_failure_and_is_reported_there(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[str] = []

    def process(order: Order) -> None:
        if order.quantity < 0:
            raise ValueError("negative quantity")
        seen.append(order.order_id)

    with caplog.at_level(logging.WARNING, logger="lambda_kit.handler"):
        result = invoke(kafka(process), _batch())
    assert result == {
        "batchItemFailures": [
            {"itemIdentifier": {"partition": "orders-0", "offset": 101}},
            {"itemIdentifier": {"partition": "orders-1", "offset": 8}},
        ]
    }
    assert seen == ["a", "d", "g"]  # c and f wait for the retry: order within a partition is kept
    assert "Kafka record orders-0@101 failed" in caplog.text
    assert "negative quantity" in caplog.text


def test_records_are_taken_in_offset_order_within_a_partition() -> None:
    seen: list[int] = []

    def whole(record: KafkaRecord) -> None:
        seen.append(record.offset)

    event = events.kafka(["a", "b", "c"], first_offset=5)
    event["records"]["orders-0"].reverse()
    invoke(kafka(whole), event)
    assert seen == [5, 6, 7]


def test_without_partial_failures_a_failure_fails_the_batch() -> None:
    def process(order: Order) -> None:
        if order.quantity < 0:
            raise ValueError("negative quantity")

    with pytest.raises(BatchError, match="2 of 3 Kafka partitions failed"):
        invoke(kafka(process, partial_failures=False), _batch())
    assert invoke(
        kafka(process, partial_failures=False), events.kafka([{"order_id": "x", "quantity": 1}])
    ) == {"batchItemFailures": []}


def test_a_batch_where_every_record_failed_raises() -> None:
    def fail(value: bytes) -> None:
        raise RuntimeError("down")

    event = events.kafka([b"a", b"b"], partition=0)
    event["records"].update(events.kafka([b"c"], partition=1)["records"])
    with pytest.raises(BatchError):
        invoke(kafka(fail), event)
    assert invoke(kafka(fail, raise_on_entire_failure=False), event) == {
        "batchItemFailures": [
            {"itemIdentifier": {"partition": "orders-0", "offset": 0}},
            {"itemIdentifier": {"partition": "orders-1", "offset": 0}},
        ]
    }


def test_a_later_failure_in_every_partition_does_not_fail_the_batch() -> None:
    def fail_second(record: KafkaRecord) -> None:
        if record.offset == 1:
            raise RuntimeError("down")

    result = invoke(kafka(fail_second), events.kafka([b"a", b"b"]))
    assert result == {"batchItemFailures": [{"itemIdentifier": {"partition": "orders-0", "offset": 1}}]}


def test_tombstones_keys_and_text() -> None:
    seen: list[str | None] = []

    def text(value: str | None) -> None:
        seen.append(value)

    event = events.kafka(["hello", None, "ünï"], keys=[None, "k", b"\x00"], self_managed=True)
    assert event["eventSource"] == "SelfManagedKafka"
    assert invoke(kafka(text), event) == {"batchItemFailures": []}
    assert seen == ["hello", None, "ünï"]
    whole: list[KafkaRecord] = []

    def take(record: KafkaRecord) -> None:
        whole.append(record)

    invoke(kafka(take), event)
    assert [record.key for record in whole] == [None, b"k", b"\x00"]
    assert whole[1].value is None


def test_headers_repeat_and_keep_their_order() -> None:
    got: list[KafkaRecord] = []

    def take(record: KafkaRecord) -> None:
        got.append(record)

    event = events.kafka(["x"], headers=[{"trace": "t-1"}])
    event["records"]["orders-0"][0]["headers"].append({"trace": list(b"t-2")})
    invoke(kafka(take), event)
    assert got[0].headers == [("trace", b"t-1"), ("trace", b"t-2")]
    assert got[0].header("trace") == b"t-2"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"value": "not base64!"}, "value is not valid base64"),
        ({"key": 5}, "key must be base64 text"),
        ({"offset": "9"}, None),  # no offset Lambda could match: the whole batch fails
        ({"topic": None}, "no 'topic' string"),
        ({"partition": 1.5}, "no integer 'partition'"),
        ({"headers": {"a": [1]}}, "headers must be a list"),
        ({"headers": ["a"]}, "header must be an object"),
        ({"headers": [{"a": [256]}]}, "list of bytes"),
        ({"headers": [{"a": "aGk="}]}, "list of bytes"),
        ({"headers": None, "key": None}, ""),  # no headers, no key: a valid record
    ],
)
def test_a_malformed_record_fails_its_partition(
    change: dict[str, Any], reason: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    def take(record: KafkaRecord) -> None:
        pass

    event = events.kafka([b"a", b"b"], partition=0)
    event["records"].update(events.kafka([b"c"], partition=1)["records"])
    event["records"]["orders-0"][1].update(change)
    if reason == "":
        assert invoke(kafka(take), event) == {"batchItemFailures": []}
        return
    with caplog.at_level(logging.WARNING, logger="lambda_kit.handler"):
        if reason is None:
            with pytest.raises(BatchError, match="no offset Lambda could match"):
                invoke(kafka(take), event)
            return
        result = invoke(kafka(take), event)
    assert result == {"batchItemFailures": [{"itemIdentifier": {"partition": "orders-0", "offset": 1}}]}
    assert reason in caplog.text


def test_a_record_that_is_not_an_object_fails_the_batch() -> None:
    event = events.kafka([b"a"], partition=0)
    event["records"].update(events.kafka([b"c"], partition=1)["records"])
    event["records"]["orders-0"].append("junk")
    seen: list[bytes] = []

    def take(value: bytes) -> None:
        seen.append(value)

    with pytest.raises(BatchError, match="no offset Lambda could match"):
        invoke(kafka(take), event)  # a record without an offset cannot be reported
    assert seen == [b"a", b"c"]


@pytest.mark.parametrize("event", [None, {}, {"records": []}, {"records": {"t-0": {}}}])
def test_events_that_are_not_kafka_are_clear_errors(event: Any) -> None:
    with pytest.raises(EventShapeError, match="Not a Kafka event"):
        kafka(lambda value: None)(event, None)


_b64 = st.binary(max_size=12).map(lambda raw: base64.b64encode(raw).decode())
_record = st.fixed_dictionaries(
    {"topic": st.just("t"), "partition": st.just(0)},
    optional={
        "offset": st.integers(0, 50) | st.text(max_size=2),
        "value": _b64 | st.none() | st.text(max_size=5) | st.integers(),
        "key": _b64 | st.none() | st.integers(),
        "headers": st.lists(
            st.dictionaries(
                st.sampled_from(["a", "b"]), st.lists(st.integers(-200, 300), max_size=3), max_size=2
            ),
            max_size=2,
        )
        | st.text(max_size=2),
        "timestamp": st.integers() | st.none(),
    },
)


@settings(max_examples=100, deadline=None)
@given(
    partitions=st.dictionaries(
        st.sampled_from(["t-0", "t-1", "u-0"]), st.lists(_record, max_size=4), max_size=3
    )
)
def test_any_batch_reports_failures_lambda_can_match_or_raises_batch_error(
    partitions: dict[str, list[dict[str, Any]]],
) -> None:
    def take(record: KafkaRecord) -> None:
        if record.value == b"\x00":
            raise RuntimeError("poison")

    event = {"eventSource": "aws:kafka", "records": partitions}
    try:
        result = kafka(take, raise_on_entire_failure=False)(event, None)
    except BatchError:
        return
    for failure in result["batchItemFailures"]:
        identifier = failure["itemIdentifier"]
        offsets = [record.get("offset") for record in partitions[identifier["partition"]]]
        assert identifier["offset"] in offsets
    assert len({failure["itemIdentifier"]["partition"] for failure in result["batchItemFailures"]}) == len(
        result["batchItemFailures"]
    )  # one resume point per partition
