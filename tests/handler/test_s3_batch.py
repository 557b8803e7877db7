"""S3 Batch Operations: a result code per task, schema 1.0 and 2.0, URL-decoded keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aws_samples import sample
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st

from lambda_kit.exceptions import ConfigurationError, EventShapeError
from lambda_kit.handler import TemporaryFailureError, s3_batch
from lambda_kit.testing import events

EVENTS = Path(__file__).parent / "events"
SAMPLES = [
    "sam-S3BatchInvocation.json",
    "go-s3-batch-job-event-request-1.0.json",
    "go-s3-batch-job-event-request-2.0.json",
]


@dataclass
class Task:
    bucket: str
    key: str
    version_id: str | None = None
    user_arguments: dict[str, str] = field(default_factory=dict)


@pytest.mark.parametrize("name", SAMPLES)
def test_every_sample_task_is_answered_with_its_object(name: str) -> None:
    event = sample(name)
    seen: list[Task] = []

    def copy(task: Task) -> str:
        seen.append(task)
        return f"copied {task.key}"

    response = s3_batch(copy)(event, None)

    assert response["invocationSchemaVersion"] == event["invocationSchemaVersion"]
    assert response["invocationId"] == event["invocationId"]
    assert response["treatMissingKeysAs"] == "PermanentFailure"
    assert [result["taskId"] for result in response["results"]] == [task["taskId"] for task in event["tasks"]]
    assert {result["resultCode"] for result in response["results"]} == {"Succeeded"}
    first = event["tasks"][0]
    assert seen[0].bucket == {"sam": "examplebucket"}.get(name[:3], "awsexamplebucket")
    assert seen[0].key == first["s3Key"]  # the samples' keys have nothing to decode
    assert seen[0].version_id == first["s3VersionId"]
    assert response["results"][0]["resultString"] == f"copied {first['s3Key']}"


def test_schema_2_user_arguments_reach_the_core() -> None:
    seen: list[Task] = []

    def record(task: Task) -> None:
        seen.append(task)

    s3_batch(record)(sample("go-s3-batch-job-event-request-2.0.json"), None)
    assert seen[0].user_arguments == {"k1": "v1", "k2": "v2"}


@pytest.mark.parametrize("schema", ["1.0", "2.0"])
def test_keys_are_url_decoded_in_both_schemas(schema: str) -> None:
    keys = ["photos/red flower (1).jpg", "a+b=c&d/ü.txt", "plain/key"]
    event = events.s3_batch(keys, schema=schema, bucket="media")
    seen: list[Task] = []

    def record(task: Task) -> None:
        seen.append(task)

    s3_batch(record)(event, None)
    assert [task.key for task in seen] == keys
    assert {task.bucket for task in seen} == {"media"}
    assert "%" in event["tasks"][0]["s3Key"] or "+" in event["tasks"][0]["s3Key"]


def test_result_codes_follow_the_core() -> None:
    event = events.s3_batch(["ok", "none", "busy", "slow", "broken"])

    def work(task: Task) -> Any:
        if task.key == "ok":
            return {"copied": 1}
        if task.key == "none":
            return None
        if task.key == "busy":
            raise TemporaryFailureError("the table is busy")
        if task.key == "slow":
            raise ClientError(
                {"Error": {"Code": "SlowDown", "Message": "Reduce your request rate."}}, "CopyObject"
            )
        raise ValueError("not an image")

    results = s3_batch(work)(event, None)["results"]
    assert [(r["resultCode"], r["resultString"]) for r in results] == [
        ("Succeeded", '{"copied":1}'),
        ("Succeeded", ""),
        ("TemporaryFailure", "TemporaryFailureError: the table is busy"),
        ("TemporaryFailure", results[3]["resultString"]),
        ("PermanentFailure", "ValueError: not an image"),
    ]
    assert results[3]["resultString"].startswith("ClientError: An error occurred (SlowDown)")


def test_a_task_that_cannot_be_parsed_fails_alone(caplog: pytest.LogCaptureFixture) -> None:
    event = events.s3_batch(["good", "bad"])
    del event["tasks"][1]["s3Key"]
    results = s3_batch(lambda task: "done")(event, None)["results"]
    assert [r["resultCode"] for r in results] == ["Succeeded", "PermanentFailure"]
    assert "s3Key" in results[1]["resultString"]
    assert any("S3 Batch Operations record" in message for message in caplog.messages)


def test_a_long_failure_reason_is_shortened() -> None:
    def fail(task: dict[str, Any]) -> None:
        raise RuntimeError("x" * 5000)

    result = s3_batch(fail)(events.s3_batch(["k"]), None)["results"][0]
    assert result["resultCode"] == "PermanentFailure"
    assert len(result["resultString"]) == 1000
    assert result["resultString"].endswith("...")


def test_treat_missing_keys_as_is_configurable_and_checked() -> None:
    response = s3_batch(lambda task: None, treat_missing_keys_as="TemporaryFailure")(
        events.s3_batch(["k"]), None
    )
    assert response["treatMissingKeysAs"] == "TemporaryFailure"
    with pytest.raises(ConfigurationError, match="treat_missing_keys_as"):
        s3_batch(lambda task: None, treat_missing_keys_as="Maybe")


@pytest.mark.parametrize(
    "event",
    [None, [], {}, {"invocationSchemaVersion": "3.0", "tasks": []}, {"invocationSchemaVersion": "1.0"}],
)
def test_an_event_that_is_not_a_batch_job_is_a_clear_error(event: Any) -> None:
    with pytest.raises(EventShapeError, match="Not an S3 Batch Operations event"):
        s3_batch(lambda task: None)(event, None)


def test_a_task_without_an_id_cannot_be_answered() -> None:
    event = events.s3_batch(["k"])
    del event["tasks"][0]["taskId"]
    with pytest.raises(EventShapeError, match="taskId"):
        s3_batch(lambda task: None)(event, None)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {"taskId": st.text(min_size=1, max_size=10)},
            optional={"s3Key": _json | st.text(max_size=20), "s3Bucket": _json, "s3BucketArn": _json},
        ),
        max_size=4,
    )
)
def test_malformed_tasks_are_each_answered_never_raised(tasks: list[dict[str, Any]]) -> None:
    event = {"invocationSchemaVersion": "2.0", "invocationId": "id", "job": {"id": "j"}, "tasks": tasks}
    results = s3_batch(lambda task: task["key"])(event, None)["results"]
    assert len(results) == len(tasks)
    for task, result in zip(tasks, results, strict=True):
        well_formed = isinstance(task.get("s3Key"), str) and (
            isinstance(task.get("s3Bucket"), str)
            or (isinstance(task.get("s3BucketArn"), str) and task["s3BucketArn"].startswith("arn:"))
        )
        assert result["resultCode"] == ("Succeeded" if well_formed else "PermanentFailure")
