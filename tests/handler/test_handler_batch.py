"""Batch and event adapters: partial failures, ordering, parsing into the core's types."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypedDict

import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lambda_kit import lifecycle
from lambda_kit.exceptions import BatchError, EventShapeError
from lambda_kit.handler import dynamodb_streams, eventbridge, kinesis, s3, sns, sqs
from lambda_kit.testing import FakeContext, events, invoke


@dataclass
class Uploaded:
    bucket: str
    key: str
    size: int


@dataclass
class Order:
    order_id: str
    quantity: int
    price: float = 0.0
    tags: list[str] = field(default_factory=list)


class OrderModel(pydantic.BaseModel):
    order_id: str
    quantity: int


class OrderDict(TypedDict):
    order_id: str
    quantity: int


def _ids(event: dict[str, Any], indexes: list[int], key: str = "messageId") -> list[dict[str, str]]:
    return [{"itemIdentifier": event["Records"][i][key]} for i in indexes]


def test_sqs_parses_into_a_dataclass_and_reports_only_failures() -> None:
    seen: list[Order] = []

    def process(order: Order) -> None:
        if order.quantity < 0:
            raise ValueError("negative")
        seen.append(order)

    event = events.sqs(
        [
            {"order_id": "a", "quantity": 1, "unknown": "ignored"},
            {"order_id": "b", "quantity": -1},
            "not json",
            {"order_id": "c"},
            {"order_id": "d", "quantity": "2"},
            {"order_id": "e", "quantity": 3, "price": 9.5, "tags": ["x"]},
        ]
    )
    result = invoke(sqs(process), event)
    assert result == {"batchItemFailures": _ids(event, [1, 2, 3, 4])}
    assert seen == [Order("a", 1), Order("e", 3, 9.5, ["x"])]


RECEIVED: list[Any] = []


def take_model(order: OrderModel) -> None:
    RECEIVED.append(order)


def take_typeddict(order: OrderDict) -> None:
    RECEIVED.append(order)


def take_dict(order: dict[str, Any]) -> None:
    RECEIVED.append(order)


@pytest.mark.parametrize("core", [take_model, take_typeddict, take_dict])
def test_sqs_with_other_input_types(core: Any) -> None:
    RECEIVED.clear()
    received = RECEIVED
    event = events.sqs([{"order_id": "a", "quantity": 1}, {"order_id": "b", "quantity": "many"}])
    result = sqs(core)(event, FakeContext())
    if core is take_dict:
        assert result == {"batchItemFailures": []}
        assert received == [{"order_id": "a", "quantity": 1}, {"order_id": "b", "quantity": "many"}]
    else:
        assert result == {"batchItemFailures": _ids(event, [1])}
        assert len(received) == 1


BODIES: list[str] = []


def take_text(body: str) -> None:
    BODIES.append(body)


def test_sqs_raw_string_body() -> None:
    BODIES.clear()
    event = events.sqs(["plain text", "{not json"])
    assert sqs(take_text)(event, None) == {"batchItemFailures": []}
    assert BODIES == ["plain text", "{not json"]
    unannotated = sqs(lambda body: None, raise_on_entire_failure=False)  # no hint: parsed JSON
    assert unannotated(event, None) == {"batchItemFailures": _ids(event, [0, 1])}


def test_fifo_stops_at_first_failure_and_reports_the_rest() -> None:
    calls: list[str] = []

    def process(order: Order) -> None:
        calls.append(order.order_id)
        if order.order_id == "b":
            raise RuntimeError("boom")

    event = events.sqs([{"order_id": x, "quantity": 1} for x in "abcd"], queue="orders.fifo", fifo=True)
    assert sqs(process)(event, None) == {"batchItemFailures": _ids(event, [1, 2, 3])}
    assert calls == ["a", "b"]
    standard = events.sqs([{"order_id": x, "quantity": 1} for x in "abcd"])
    calls.clear()
    assert sqs(process, fifo=True)(standard, None) == {"batchItemFailures": _ids(standard, [1, 2, 3])}
    calls.clear()
    assert sqs(process, fifo=False)(event, None) == {"batchItemFailures": _ids(event, [1])}
    assert calls == ["a", "b", "c", "d"]


def test_entire_failure_raises_so_lambda_retries() -> None:
    def process(order: Order) -> None:
        raise RuntimeError("down")

    event = events.sqs([{"order_id": "a", "quantity": 1}, {"order_id": "b", "quantity": 1}])
    with pytest.raises(BatchError) as caught:
        sqs(process)(event, None)
    assert caught.value.context == {"failed": 2, "total": 2}
    result = sqs(process, raise_on_entire_failure=False)(event, None)
    assert result == {"batchItemFailures": _ids(event, [0, 1])}


def test_failed_record_without_id_fails_the_whole_batch() -> None:
    event = events.sqs(["ok", "bad"])
    del event["Records"][1]["messageId"]

    def process(body: str) -> None:
        if body == "bad":
            raise ValueError(body)

    with pytest.raises(BatchError):
        sqs(process)(event, None)


def test_empty_batch_and_wrong_event_shape() -> None:
    assert sqs(lambda body: None)({"Records": []}, None) == {"batchItemFailures": []}
    with pytest.raises(EventShapeError, match="Records"):
        sqs(lambda body: None)({"detail": {}}, None)


def test_failures_are_logged_without_the_body(caplog: pytest.LogCaptureFixture) -> None:
    # The core's exception message is logged as the core wrote it; lambda-kit adds no body.
    def process(body: str) -> None:
        raise ValueError("cannot handle this card")

    event = events.sqs(["secret-card-number-4111", "fine"])
    context = FakeContext(request_id="req-42")
    with caplog.at_level(logging.WARNING, logger="lambda_kit.handler"):
        sqs(process, raise_on_entire_failure=False)(event, context)
    text = caplog.text
    assert "req-42" in text
    assert "ValueError: cannot handle this card" in text
    assert event["Records"][0]["messageId"] in text
    assert "secret-card-number" not in text


def test_kinesis_decodes_and_stops_on_failure() -> None:
    seen: list[Any] = []

    def process(order: Order) -> None:
        if order.quantity == 0:
            raise ValueError("zero")
        seen.append(order.order_id)

    event = events.kinesis(
        [{"order_id": "a", "quantity": 1}, {"order_id": "b", "quantity": 0}, {"order_id": "c", "quantity": 1}]
    )
    result = kinesis(process)(event, None)
    seq = [r["kinesis"]["sequenceNumber"] for r in event["Records"]]
    assert result == {"batchItemFailures": [{"itemIdentifier": seq[1]}, {"itemIdentifier": seq[2]}]}
    assert seen == ["a"]
    seen.clear()
    assert kinesis(process, stop_on_failure=False)(event, None) == {
        "batchItemFailures": [{"itemIdentifier": seq[1]}]
    }
    assert seen == ["a", "c"]


def test_kinesis_raw_bytes_and_bad_base64() -> None:
    received: list[bytes] = []

    def take(data: bytes) -> None:
        received.append(data)

    event = events.kinesis([b"\x00\x01", b"\xff"])
    event["Records"][1]["kinesis"]["data"] = "***not base64***"
    result = kinesis(take, raise_on_entire_failure=False)(event, None)
    assert received == [b"\x00\x01"]
    assert result == {
        "batchItemFailures": [{"itemIdentifier": event["Records"][1]["kinesis"]["sequenceNumber"]}]
    }


def test_dynamodb_streams_images() -> None:
    seen: list[dict[str, Any]] = []
    event = events.dynamodb_streams(
        [
            {
                "pk": "order#1",
                "quantity": 3,
                "price": Decimal("9.99"),
                "paid": True,
                "blob": b"\x01",
                "tags": {"a"},
            },
            None,
        ],
        old_images=[None, {"pk": "order#2", "quantity": 1}],
    )
    event["Records"][1]["eventName"] = "REMOVE"
    assert dynamodb_streams(seen.append)(event, None) == {"batchItemFailures": []}
    assert seen[0] == {
        "pk": "order#1",
        "quantity": 3,
        "price": Decimal("9.99"),
        "paid": True,
        "blob": b"\x01",
        "tags": ["a"],
    }
    assert seen[1] == {"pk": "order#2", "quantity": 1}


def test_dynamodb_streams_typed_into_a_dataclass_and_bad_images() -> None:
    orders: list[Order] = []

    def take(order: Order) -> None:
        orders.append(order)

    event = events.dynamodb_streams(
        [{"order_id": "x", "quantity": 2, "price": Decimal("1.5")}, {"order_id": "y"}]
    )
    event["Records"].append({"dynamodb": {"SequenceNumber": "999", "Keys": {}}})  # KEYS_ONLY view
    event["Records"].append({"dynamodb": {"SequenceNumber": "998", "NewImage": {"pk": {"Q": "?"}}}})
    result = dynamodb_streams(take, stop_on_failure=False)(event, None)
    assert [o.order_id for o in orders] == ["x"]
    assert result == {
        "batchItemFailures": [
            {"itemIdentifier": event["Records"][1]["dynamodb"]["SequenceNumber"]},
            {"itemIdentifier": "999"},
            {"itemIdentifier": "998"},
        ]
    }


def test_sns_eventbridge_s3() -> None:
    got: list[Any] = []
    sns(got.append)(events.sns([{"order_id": "a", "quantity": 1}]), None)
    eventbridge(got.append)(events.eventbridge({"order_id": "b", "quantity": 2}), None)

    s3(got.append)(events.s3(["photos/summer 2026.jpg"], bucket="media"), None)
    assert got[:2] == [{"order_id": "a", "quantity": 1}, {"order_id": "b", "quantity": 2}]
    assert got[2]["key"] == "photos/summer 2026.jpg"
    assert got[2]["bucket"] == "media"
    typed: list[Uploaded] = []

    def on_upload(item: Uploaded) -> None:
        typed.append(item)

    s3(on_upload)(events.s3(["a+b.txt"]), None)
    assert typed == [Uploaded(bucket="uploads", key="a+b.txt", size=1024)]


@pytest.mark.parametrize(
    ("adapter", "event"),
    [
        (sns, {"Records": [{"Sns": {}}]}),
        (sns, {}),
        (eventbridge, {"detail": {}}),
        (s3, {"Records": [{"s3": {"bucket": {"name": "b"}}}]}),
        (s3, []),
    ],
)
def test_event_adapters_reject_wrong_shapes(adapter: Any, event: Any) -> None:
    with pytest.raises(EventShapeError):
        adapter(lambda item: None)(event, None)


def test_event_adapter_raises_when_core_raises() -> None:
    def fail(order: Order) -> None:
        raise RuntimeError("downstream")

    with pytest.raises(RuntimeError, match="downstream"):
        eventbridge(fail)(events.eventbridge({"order_id": "a", "quantity": 1}), None)
    from lambda_kit.exceptions import InputValidationError

    with pytest.raises(InputValidationError) as caught:
        eventbridge(fail)(events.eventbridge({"order_id": "a"}), None)
    assert caught.value.context["errors"] == [
        {"loc": ["quantity"], "msg": "field required", "type": "missing"}
    ]


def test_async_core_functions() -> None:
    seen: list[str] = []

    async def process(order: Order) -> None:
        await asyncio.sleep(0)
        if order.order_id == "bad":
            raise ValueError("bad")
        seen.append(order.order_id)

    event = events.sqs([{"order_id": "a", "quantity": 1}, {"order_id": "bad", "quantity": 1}])
    assert sqs(process)(event, None) == {"batchItemFailures": _ids(event, [1])}
    eventbridge(process)(events.eventbridge({"order_id": "c", "quantity": 1}), None)
    assert seen == ["a", "c"]


def test_adapters_mark_invocations_for_the_lifecycle() -> None:
    cold: list[bool] = []

    def process(body: str) -> None:
        cold.append(lifecycle.is_cold_start())
        raise ValueError("first invocation fails")

    handler = sqs(process, raise_on_entire_failure=False)
    handler(events.sqs(["x"]), FakeContext())
    handler(events.sqs(["y"]), FakeContext())
    assert cold == [True, False]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.integers(),
            st.text(),
            st.dictionaries(
                st.sampled_from(["messageId", "body", "kinesis", "dynamodb", "attributes"]),
                st.one_of(st.none(), st.text(), st.integers(), st.dictionaries(st.text(), st.text())),
            ),
        ),
        max_size=6,
    )
)
def test_malformed_records_never_crash_a_batch(records: list[Any]) -> None:
    event = {"Records": records}
    for adapter in (sqs, kinesis, dynamodb_streams):
        handler = adapter(lambda order: None, raise_on_entire_failure=False)  # type: ignore[operator]
        try:
            result = handler(event, None)
        except BatchError:
            continue  # a failed record had no id to report: the whole batch is retried
        failures = result["batchItemFailures"]
        assert len(failures) <= len(records)
        assert all(isinstance(f["itemIdentifier"], str) and f["itemIdentifier"] for f in failures)


@settings(max_examples=100, deadline=None)
@given(st.text(), st.binary())
def test_arbitrary_bodies_are_per_record_failures(text: str, data: bytes) -> None:
    event = events.sqs([text, {"order_id": "ok", "quantity": 1}])
    handler = sqs(take_text)
    typed = sqs(_typed_core)
    result = typed(event, None)
    assert result["batchItemFailures"] in ([], _ids(event, [0]))
    assert handler(event, None) == {"batchItemFailures": []}
    stream = events.kinesis([data, b'{"order_id": "ok", "quantity": 1}'])
    kinesis_result = kinesis(_typed_core, stop_on_failure=False)(stream, None)
    assert len(kinesis_result["batchItemFailures"]) <= 1


def _typed_core(order: Order) -> None:
    assert isinstance(order, Order)


def test_event_factories_are_realistic() -> None:
    sqs_event = events.sqs(["a"], fifo=True)
    record = sqs_event["Records"][0]
    assert record["eventSourceARN"].endswith(":orders.fifo")
    assert record["attributes"]["MessageGroupId"] == "group-1"
    assert set(record) >= {"messageId", "receiptHandle", "body", "md5OfBody", "eventSource", "awsRegion"}
    kinesis_event = events.kinesis(["x"])
    assert base64.b64decode(kinesis_event["Records"][0]["kinesis"]["data"]) == b"x"
    v1 = events.api_gateway_v1("GET", "/orders/1", query={"q": ["a", "b"]}, headers={"X-Api-Key": "k"})
    assert v1["multiValueQueryStringParameters"] == {"q": ["a", "b"]}
    assert v1["queryStringParameters"] == {"q": "b"}
    assert v1["headers"]["X-Api-Key"] == "k"
    assert v1["multiValueHeaders"]["Accept"] == ["application/json"]
    v2 = events.api_gateway_v2("POST", "/orders", body={"a": 1}, cookies=["s=1"], query={"q": "1"})
    assert json.loads(v2["body"]) == {"a": 1}
    assert v2["cookies"] == ["s=1"]
    assert v2["rawQueryString"] == "q=1"
    url = events.function_url("GET", "/", base64_encoded=True, body=b"\x00")
    assert ".lambda-url." in url["requestContext"]["domainName"]
    assert url["isBase64Encoded"]
    alb = events.alb("GET", "/health", multi_value=True)
    assert "multiValueHeaders" in alb
    assert "headers" not in alb
    dynamo = events.dynamodb_streams([{"pk": "1", "n": None, "l": [1, "x"], "ns": {1, 2}, "m": {"k": 1.5}}])
    image = dynamo["Records"][0]["dynamodb"]["NewImage"]
    assert image["n"] == {"NULL": True}
    assert image["ns"] == {"NS": ["1", "2"]}
    with pytest.raises(TypeError):
        events.dynamodb_streams([{"pk": object()}])
    assert events.eventbridge({"a": 1}, detail_type="X")["detail-type"] == "X"
    assert events.s3(["a b"])["Records"][0]["s3"]["object"]["key"] == "a+b"


def test_a_malformed_first_record_does_not_hide_a_fifo_queue() -> None:
    seen: list[str] = []

    def process(order: Order) -> None:
        seen.append(order.order_id)

    event = events.sqs([{"order_id": x, "quantity": 1} for x in "abc"], fifo=True)
    event["Records"].insert(0, "not a record")
    with pytest.raises(BatchError):  # the bad record has no id to report: retry the whole batch
        sqs(process, raise_on_entire_failure=False)(event, None)
    assert seen == []  # FIFO: nothing after the failed first record is processed out of order


def test_event_factories_refuse_binary_text_and_type_byte_sets() -> None:
    with pytest.raises(ValueError, match="base64"):
        events.sqs([b"\xff"])
    with pytest.raises(ValueError, match="base64_encoded=True"):
        events.api_gateway_v2("POST", "/", body=b"\xff")
    image = events.dynamodb_streams([{"pk": "1", "blobs": {b"a", b"b"}}])["Records"][0]["dynamodb"][
        "NewImage"
    ]
    assert image["blobs"] == {"BS": ["YQ==", "Yg=="]}
    alb = events.alb("GET", "/", query={"q": "a+b%"})
    assert alb["queryStringParameters"] == {"q": "a%2Bb%25"}
