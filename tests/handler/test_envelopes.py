"""Wrapped shapes: SNS and S3 notifications in SQS, S3 events through EventBridge, DynamoDB event names."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import pytest
from aws_samples import sample
from hypothesis import given, settings
from hypothesis import strategies as st

from lambda_kit.exceptions import BatchError, ConfigurationError, EventShapeError
from lambda_kit.handler import DynamoDBRecord, dynamodb_streams, s3, sqs
from lambda_kit.testing import events

EVENTS = Path(__file__).parent / "events"


@dataclass
class S3Object:
    bucket: str
    key: str
    event_name: str | None = None
    size: int | None = None
    version_id: str | None = None


def sqs_carrying(bodies: list[str]) -> dict[str, Any]:
    """AWS's SQS sample event, one record per body (ids made unique)."""
    template = sample("go-sqs-event.json")["Records"][0]
    records = []
    for index, body in enumerate(bodies):
        record = json.loads(json.dumps(template))
        record["messageId"] = f"{record['messageId']}-{index}"
        record["body"] = body
        records.append(record)
    return {"Records": records}


def sns_notification(sns_record: dict[str, Any]) -> str:
    """An SNS sample record's notification as SNS writes it into an SQS message body."""
    note = sns_record["Sns"]
    return json.dumps(
        {
            "Type": note["Type"],
            "MessageId": note["MessageId"],
            "TopicArn": note["TopicArn"],
            "Subject": note["Subject"],
            "Message": note["Message"],
            "Timestamp": note["Timestamp"],
            "SignatureVersion": note["SignatureVersion"],
            "Signature": note["Signature"],
            "SigningCertURL": note["SigningCertUrl"],
            "UnsubscribeURL": note["UnsubscribeUrl"],
        }
    )


def test_the_sns_sample_inside_the_sqs_sample_reaches_the_core_as_its_message() -> None:
    notes = sample("go-sns-event.json")["Records"]
    seen: list[str] = []

    def take(message: str) -> None:
        seen.append(message)

    response = sqs(take, envelope="sns")(sqs_carrying([sns_notification(n) for n in notes]), None)
    assert response == {"batchItemFailures": []}
    assert seen == [note["Sns"]["Message"] for note in notes]


@dataclass
class Order:
    order_id: str


def test_sns_messages_are_parsed_into_the_cores_type() -> None:
    seen: list[Order] = []

    def take(order: Order) -> None:
        seen.append(order)

    sqs(take, envelope="sns")(events.sqs_from_sns([{"order_id": "1"}, {"order_id": "2"}]), None)
    assert seen == [Order("1"), Order("2")]


def test_a_body_that_is_not_an_sns_notification_fails_its_record_alone(
    caplog: pytest.LogCaptureFixture,
) -> None:
    event = events.sqs_from_sns(["one", "two"])
    event["Records"].append(events.sqs(["a raw body, delivered as it was"])["Records"][0])
    event["Records"].append(events.sqs([{"Type": "SubscriptionConfirmation"}])["Records"][0])
    response = sqs(_take_text, envelope="sns")(event, None)
    failed = [item["itemIdentifier"] for item in response["batchItemFailures"]]
    assert failed == [event["Records"][2]["messageId"], event["Records"][3]["messageId"]]
    assert "a raw body" not in caplog.text  # a body is never quoted
    assert "not an SNS notification" in caplog.text


def _take_text(message: str) -> None:
    return None


def test_the_s3_sample_inside_the_sqs_sample_reaches_the_core_object_by_object() -> None:
    s3_event = sample("go-s3-event.json")
    seen: list[S3Object] = []

    def take(obj: S3Object) -> None:
        seen.append(obj)

    response = sqs(take, envelope="s3")(sqs_carrying([json.dumps(s3_event)]), None)
    assert response == {"batchItemFailures": []}
    record = s3_event["Records"][0]
    assert seen == [
        S3Object(
            bucket=record["s3"]["bucket"]["name"],
            key=unquote_plus(record["s3"]["object"]["key"]),
            event_name="ObjectCreated:Put",
            size=record["s3"]["object"]["size"],
            version_id=record["s3"]["object"].get("versionId"),
        )
    ]


def test_s3_keys_inside_sqs_are_url_decoded_and_the_test_event_skipped() -> None:
    seen: list[str] = []

    def take(obj: S3Object) -> None:
        seen.append(obj.key)

    event = events.sqs_from_s3(["a b/c+d.txt", "ü/x.png"])
    test_event = {
        "Service": "Amazon S3",
        "Event": "s3:TestEvent",
        "Time": "2026-11-26T10:00:00Z",
        "Bucket": "b",
    }
    event["Records"].append(events.sqs([test_event])["Records"][0])
    assert sqs(take, envelope="s3")(event, None) == {"batchItemFailures": []}
    assert seen == ["a b/c+d.txt", "ü/x.png"]


def test_one_failed_object_fails_its_sqs_record() -> None:
    def take(obj: S3Object) -> None:
        if obj.key == "bad":
            raise ValueError("corrupt upload")

    first = events.sqs_from_s3(["good", "bad"])
    second = events.sqs_from_s3(["fine"])
    event = {"Records": first["Records"] + second["Records"]}
    response = sqs(take, envelope="s3")(event, None)
    assert response == {"batchItemFailures": [{"itemIdentifier": first["Records"][0]["messageId"]}]}


def test_not_an_s3_notification_fails_and_every_failure_retries_the_batch() -> None:
    with pytest.raises(BatchError):
        sqs(lambda obj: None, envelope="s3")(events.sqs(["not json", {"Records": "x"}]), None)


def test_an_unknown_envelope_is_refused_at_init() -> None:
    with pytest.raises(ConfigurationError, match="envelope"):
        sqs(lambda body: None, envelope="kinesis")  # type: ignore[arg-type]


def test_s3_takes_the_eventbridge_sample_as_one_object() -> None:
    seen: list[S3Object] = []

    def take(obj: S3Object) -> None:
        seen.append(obj)

    s3(take)(sample("guide-s3-eventbridge-object-created.json"), None)
    assert seen == [
        S3Object(
            bucket="amzn-s3-demo-bucket1",
            key="example-key",
            event_name="Object Created",
            size=5,
            version_id="IYV3p45BT0ac8hjHg1houSdS1a.Mro8e",
        )
    ]


def test_eventbridge_keys_are_taken_as_they_are() -> None:
    seen: list[str] = []

    def take(obj: S3Object) -> None:
        seen.append(obj.key)

    s3(take)(events.s3_eventbridge("reports/a+b%20c.csv"), None)
    assert seen == ["reports/a+b%20c.csv"]  # EventBridge does not URL-encode: nothing to decode


def test_an_eventbridge_s3_event_without_an_object_is_a_clear_error() -> None:
    event = events.s3_eventbridge("k")
    del event["detail"]["object"]
    with pytest.raises(EventShapeError, match=r"detail\.object\.key"):
        s3(lambda obj: None)(event, None)


def test_dynamodb_records_carry_their_event_name_and_both_images() -> None:
    seen: list[DynamoDBRecord] = []

    def take(change: DynamoDBRecord) -> None:
        seen.append(change)

    assert dynamodb_streams(take)(sample("sam-DynamoDBUpdate.json"), None) == {"batchItemFailures": []}
    assert [(c.event_name, c.keys) for c in seen] == [
        ("INSERT", {"Id": 101}),
        ("MODIFY", {"Id": 101}),
        ("REMOVE", {"Id": 101}),
    ]
    insert, modify, remove = seen
    assert (insert.new_image, insert.old_image) == ({"Message": "New item!", "Id": 101}, None)
    assert modify.old_image == {"Message": "New item!", "Id": 101}
    assert modify.new_image == {"Message": "This item has changed", "Id": 101}
    assert (remove.new_image, remove.old_image) == (None, {"Message": "This item has changed", "Id": 101})
    assert remove.sequence_number == "4421584500000000017450439093"
    assert "This item" not in repr(remove)


def test_a_record_with_an_unknown_event_name_fails_alone() -> None:
    event = sample("sam-DynamoDBUpdate.json")
    event["Records"][1]["eventName"] = "UPSERT"
    typed = dynamodb_streams(_take_change, stop_on_failure=False)(event, None)
    assert typed == {"batchItemFailures": [{"itemIdentifier": "4421584500000000017450439092"}]}


def _take_change(change: DynamoDBRecord) -> None:
    return None


@settings(max_examples=80, deadline=None)
@given(
    st.sampled_from(["eventName", "dynamodb"]),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=8),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(
                st.sampled_from(["Keys", "NewImage", "OldImage", "S", "N", "x"]), inner, max_size=3
            )
        ),
        max_leaves=8,
    ),
)
def test_malformed_dynamodb_records_fail_alone_never_raise(field: str, value: Any) -> None:
    event = events.dynamodb_streams([{"pk": "a"}, {"pk": "b"}])
    event["Records"][0][field] = value
    try:
        response = dynamodb_streams(_take_change, stop_on_failure=False)(event, None)
    except BatchError:  # the record lost its SequenceNumber: Lambda could match no id, so the batch retries
        assert field == "dynamodb"
        return
    failed = [item["itemIdentifier"] for item in response["batchItemFailures"]]
    assert event["Records"][1]["dynamodb"]["SequenceNumber"] not in failed
    assert len(failed) <= 1


def test_an_async_core_takes_each_object_of_an_s3_envelope() -> None:
    seen: list[str] = []

    async def take(obj: S3Object) -> None:
        if obj.key == "bad":
            raise ValueError("corrupt")
        seen.append(obj.key)

    event = events.sqs_from_s3(["a", "b"])
    failing = events.sqs_from_s3(["bad", "never"])
    event["Records"] += failing["Records"]
    response = sqs(take, envelope="s3")(event, None)
    assert seen == ["a", "b"]  # a message stops at its first failed object
    assert response == {"batchItemFailures": [{"itemIdentifier": failing["Records"][0]["messageId"]}]}


@pytest.mark.parametrize(
    "name", ["sam-DynamoDBUpdate.json", "go-dynamodb-event.json", "go-dynamodb-time-window-event.json"]
)
def test_every_dynamodb_sample_record_becomes_a_record_with_its_event_name(name: str) -> None:
    event = sample(name)
    seen: list[DynamoDBRecord] = []

    def take(change: DynamoDBRecord) -> None:
        seen.append(change)

    assert dynamodb_streams(take)(event, None) == {"batchItemFailures": []}
    assert [change.event_name for change in seen] == [record["eventName"] for record in event["Records"]]
    for change, record in zip(seen, event["Records"], strict=True):
        assert change.sequence_number == record["dynamodb"]["SequenceNumber"]
        assert (change.new_image is None) == ("NewImage" not in record["dynamodb"])
        assert (change.old_image is None) == ("OldImage" not in record["dynamodb"])
