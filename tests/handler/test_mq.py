"""Amazon MQ: ActiveMQ and RabbitMQ batches, one call per message, the batch raised on failure."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any, TypedDict

import pytest
from aws_samples import sample
from hypothesis import given, settings
from hypothesis import strategies as st

from lambda_kit.exceptions import EventShapeError, InputValidationError
from lambda_kit.handler import MQMessage, mq
from lambda_kit.testing import events

EVENTS = Path(__file__).parent / "events"


def test_activemq_sample_message_reaches_the_core_as_text_and_as_a_message() -> None:
    texts: list[str] = []
    messages: list[MQMessage] = []

    def take_text(body: str) -> None:
        texts.append(body)

    def take_message(message: MQMessage) -> None:
        messages.append(message)

    event = sample("go-activemq-event.json")
    mq(take_text)(event, None)
    mq(take_message)(event, None)

    assert texts == ["Enter some text here for the message body..."]
    (message,) = messages
    assert message.broker == "activemq"
    assert message.queue == "testQueue"
    assert message.message_id == event["messages"][0]["messageID"]
    assert message.properties == {"testKey": "testValue"}
    assert message.content_type == "jms/text-message"
    assert message.redelivered is False
    assert message.timestamp == 1599863938941
    assert message.data == b"Enter some text here for the message body..."
    assert "Enter" not in repr(message)


class Payload(TypedDict):
    timeout: int
    data: str


def test_rabbitmq_sample_message_is_parsed_and_its_byte_headers_decoded() -> None:
    payloads: list[Payload] = []
    messages: list[MQMessage] = []

    def take(payload: Payload) -> None:
        payloads.append(payload)

    def take_message(message: MQMessage) -> None:
        messages.append(message)

    event = sample("go-rabbitmq-event.json")
    mq(take)(event, None)
    mq(take_message)(event, None)

    assert payloads == [{"timeout": 0, "data": "CZrmf0Gw8Ov4bqLQxD4E"}]
    (message,) = messages
    assert (message.broker, message.queue, message.virtual_host) == ("rabbitmq", "test", "/")
    assert message.properties == {"header1": b"value1", "header2": b"value2", "numberInHeader": 10}
    assert message.content_type == "text/plain"
    assert message.message_id is None


@pytest.mark.parametrize("broker", ["activemq", "rabbitmq"])
def test_messages_are_processed_in_order(broker: str) -> None:
    seen: list[dict[str, int]] = []

    def take(order: dict[str, int]) -> None:
        seen.append(order)

    mq(take)(events.amazon_mq([{"n": 1}, {"n": 2}, {"n": 3}], broker=broker), None)
    assert seen == [{"n": 1}, {"n": 2}, {"n": 3}]


@pytest.mark.parametrize("broker", ["activemq", "rabbitmq"])
def test_the_first_failure_is_logged_and_raised_for_redelivery(
    broker: str, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[int] = []

    def take(order: dict[str, int]) -> None:
        if order["n"] == 2:
            raise RuntimeError("stock service down")
        seen.append(order["n"])

    event = events.amazon_mq([{"n": 1}, {"n": 2}, {"n": 3}], broker=broker)
    with pytest.raises(RuntimeError, match="stock service down"):
        mq(take)(event, None)
    assert seen == [1]  # the batch goes back to the broker: nothing after the failure runs
    assert any(
        "Amazon MQ record" in message and "stock service down" in message for message in caplog.messages
    )


def test_bad_base64_is_a_clear_error_naming_the_message() -> None:
    event = events.amazon_mq(["x"])
    event["messages"][0]["data"] = "not base64!"
    with pytest.raises(EventShapeError, match="not valid base64"):
        mq(lambda body: None)(event, None)


def test_a_body_that_does_not_parse_into_the_type_is_an_input_error() -> None:
    with pytest.raises(InputValidationError):
        mq(lambda body: None)(events.amazon_mq(["plain text, not JSON"]), None)


@pytest.mark.parametrize(
    "event",
    [
        None,
        {},
        {"eventSource": "aws:mq"},
        {"eventSource": "aws:rmq", "rmqMessagesByQueue": []},
        {"messages": []},
    ],
)
def test_an_event_that_is_not_from_amazon_mq_is_a_clear_error(event: Any) -> None:
    with pytest.raises(EventShapeError, match="Not an Amazon MQ event"):
        mq(lambda body: None)(event, None)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=80, deadline=None)
@given(
    st.sampled_from(["activemq", "rabbitmq"]),
    st.lists(st.binary(max_size=20), min_size=1, max_size=3),
    st.dictionaries(
        st.sampled_from(["data", "basicProperties", "destination", "properties"]), _json, max_size=2
    ),
)
def test_malformed_messages_raise_only_clear_errors(
    broker: str, bodies: list[bytes], damage: dict[str, Any]
) -> None:
    event = events.amazon_mq(bodies, broker=broker)
    messages = event["messages"] if broker == "activemq" else event["rmqMessagesByQueue"]["orders::/"]
    messages[0].update(damage)
    seen: list[MQMessage] = []

    def take(message: MQMessage) -> None:
        seen.append(message)

    try:
        mq(take)(event, None)
    except EventShapeError:
        assert "data" in damage or "basicProperties" in damage
        return
    assert [message.data for message in seen[1:]] == bodies[1:]
    first = damage.get("data", base64.b64encode(bodies[0]).decode())
    assert seen[0].data == (base64.b64decode(first) if first is not None else b"")
