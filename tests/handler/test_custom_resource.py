"""CloudFormation custom resources: one SUCCESS or FAILED PUT to the presigned URL, whatever happens."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lambda_kit.exceptions import ConfigurationError, EventShapeError
from lambda_kit.handler import CustomResourceRequest, Resource, custom_resource
from lambda_kit.testing import events
from lambda_kit_dev.stand_ins import TLSServer

EVENTS = Path(__file__).parent / "events"
SIGNED = "/cloudformation-response/arn%3Aaws%3Acloudformation?X-Amz-Signature=0123abcd&X-Amz-Expires=7200"


@pytest.fixture(scope="module")
def s3() -> Iterator[TLSServer]:
    """A plain HTTP server on 127.0.0.1 standing in for S3's presigned response URL."""
    with TLSServer(tls=False) as server:
        yield server


@pytest.fixture
def bucket(s3: TLSServer) -> TLSServer:
    s3.reset()
    return s3


class Context:
    """What Lambda's context offers the adapter: a log stream and the time left."""

    log_stream_name = "2026/11/26/[$LATEST]0123456789abcdef"
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"

    def __init__(self, remaining_ms: int = 60_000) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def answers(server: TLSServer) -> list[dict[str, Any]]:
    return [json.loads(body) for method, _, body, _ in server.requests if method == "PUT"]


def request(
    server: TLSServer, kind: str = "Create", properties: dict[str, Any] | None = None, **kwargs: Any
) -> dict[str, Any]:
    return events.custom_resource(kind, properties, response_url=server.url(SIGNED), **kwargs)


@dataclass
class BucketProperties:
    BucketName: str
    Versioned: bool = False


def test_the_sample_create_request_is_answered_success_once(bucket: TLSServer) -> None:
    event = json.loads((EVENTS / "sam-CfnCreateRequest.json").read_text(encoding="utf-8"))
    event["ResponseURL"] = bucket.url(SIGNED)
    seen: list[dict[str, Any]] = []

    def create(properties: dict[str, Any]) -> dict[str, str]:
        seen.append(properties)
        return {"Items": ",".join(properties["List"])}

    custom_resource(create)(event, Context())

    assert seen == [{"StackName": "MyStack", "List": ["1", "2", "3"]}]
    ((method, path, body, _),) = bucket.requests
    assert (method, path) == ("PUT", SIGNED)  # the presigned path and query, untouched
    document = json.loads(body)
    assert document["Status"] == "SUCCESS"
    assert document["Data"] == {"Items": "1,2,3"}
    assert document["StackId"] == event["StackId"]
    assert document["RequestId"] == event["RequestId"]
    assert document["LogicalResourceId"] == "MyTestResource"
    assert document["PhysicalResourceId"].startswith("MyTestResource-")
    headers = {name.lower(): value for name, value in bucket.headers[0].items()}
    assert "content-type" not in headers  # the URL was signed without one
    assert headers["content-length"] == str(len(body))


def test_the_physical_id_of_a_create_is_stable_for_its_request(bucket: TLSServer) -> None:
    event = request(bucket)
    handler = custom_resource(lambda properties: None)
    handler(event, Context())
    handler(event, Context())  # Lambda's retry of the same request
    other = request(bucket)
    handler(other, Context())
    first, retried, another = (document["PhysicalResourceId"] for document in answers(bucket))
    assert first == retried
    assert first != another


def test_update_and_delete_keep_the_events_physical_id_unless_the_core_replaces_it(bucket: TLSServer) -> None:
    def update(properties: BucketProperties, request: CustomResourceRequest) -> Resource | None:
        assert request.old_properties == {"BucketName": "old"}
        if properties.BucketName != "old":
            return Resource(f"bucket-{properties.BucketName}", data={"Arn": "arn:aws:s3:::x"})
        return None

    handler = custom_resource({"Update": update})
    handler(
        request(
            bucket,
            "Update",
            {"BucketName": "old"},
            physical_id="bucket-old",
            old_properties={"BucketName": "old"},
        ),
        Context(),
    )
    handler(
        request(
            bucket,
            "Update",
            {"BucketName": "new"},
            physical_id="bucket-old",
            old_properties={"BucketName": "old"},
        ),
        Context(),
    )
    handler(
        request(bucket, "Delete", physical_id="bucket-new"), Context()
    )  # no Delete core: nothing to delete

    assert [(d["Status"], d["PhysicalResourceId"], d.get("Data")) for d in answers(bucket)] == [
        ("SUCCESS", "bucket-old", None),
        ("SUCCESS", "bucket-new", {"Arn": "arn:aws:s3:::x"}),
        ("SUCCESS", "bucket-new", None),
    ]


def test_a_raise_answers_failed_with_the_reason_and_keeps_the_physical_id(
    bucket: TLSServer, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(properties: BucketProperties) -> None:
        raise PermissionError("s3:CreateBucket denied")

    handler = custom_resource(broken)
    handler(request(bucket, "Create", {"BucketName": "b"}), Context())
    handler(request(bucket, "Update", {"BucketName": "b"}, physical_id="bucket-b"), Context())
    handler(request(bucket, "Create", {"Versioned": True}), Context())  # no BucketName: cannot parse

    created, updated, unparsed = answers(bucket)
    assert created["Status"] == updated["Status"] == unparsed["Status"] == "FAILED"
    stream = "(CloudWatch Logs stream 2026/11/26/[$LATEST]0123456789abcdef)"
    assert created["Reason"] == f"PermissionError: s3:CreateBucket denied {stream}"
    assert created["PhysicalResourceId"].startswith("MyResource-")  # the Delete that follows names it
    assert updated["PhysicalResourceId"] == "bucket-b"
    assert unparsed["Reason"].startswith("InputValidationError")
    assert "X-Amz-Signature" not in caplog.text


def test_data_over_the_4_kb_response_limit_answers_failed(bucket: TLSServer) -> None:
    custom_resource(lambda properties: {"Blob": "x" * 5000})(request(bucket), Context())
    (document,) = answers(bucket)
    assert document["Status"] == "FAILED"
    assert "CloudFormation takes at most 4096" in document["Reason"]
    assert len(bucket.requests[0][2]) <= 4096


def test_a_long_reason_is_shortened_to_fit(bucket: TLSServer) -> None:
    def broken(properties: dict[str, Any]) -> None:
        raise RuntimeError("é" * 5000)

    custom_resource(broken)(request(bucket), Context())
    body = bucket.requests[0][2]
    assert len(body) <= 4096
    assert json.loads(body)["Reason"].endswith("...")


def test_no_echo_is_sent_when_asked(bucket: TLSServer) -> None:
    custom_resource(lambda p: Resource("secret-1", data={"Password": "hunter2"}, no_echo=True))(
        request(bucket), Context()
    )
    (document,) = answers(bucket)
    assert document["NoEcho"] is True
    assert repr(Resource("secret-1", data={"Password": "hunter2"})) == "Resource('secret-1')"


def test_the_deadline_answers_failed_before_the_function_times_out(
    bucket: TLSServer, caplog: pytest.LogCaptureFixture
) -> None:
    released = threading.Event()

    def slow(properties: dict[str, Any]) -> dict[str, str]:
        deadline = time.monotonic() + 10  # a guard: the timer's PUT arrives long before
        while not answers(bucket) and time.monotonic() < deadline:
            time.sleep(0.01)
        released.set()
        return {"Late": "yes"}

    custom_resource(slow, timeout_margin=3.0)(request(bucket), Context(remaining_ms=3050))

    assert released.is_set()
    (document,) = answers(bucket)  # one answer per request: the core's late one is dropped
    assert document["Status"] == "FAILED"
    assert document["Reason"] == "The custom resource function timed out before it finished."
    assert any("answered after its deadline" in message for message in caplog.messages)


def test_a_response_put_that_keeps_failing_raises_for_lambdas_retry(bucket: TLSServer) -> None:
    path = "/fails"
    bucket.script(path, [(500, {}), (503, {}), (500, {})])
    event = events.custom_resource(response_url=bucket.url(path))
    with pytest.raises(OSError, match=r"Could not PUT the custom resource response to 127\.0\.0\.1"):
        custom_resource(lambda p: None)(event, Context())
    assert len(bucket.requests) == 3

    bucket.reset()
    bucket.script(path, [(403, {})])
    with pytest.raises(OSError, match="HTTP 403"):
        custom_resource(lambda p: None)(event, Context())
    assert len(bucket.requests) == 1  # an expired URL does not get better


def test_a_put_that_fails_once_is_retried(bucket: TLSServer) -> None:
    bucket.script(SIGNED, [(500, {})])
    custom_resource(lambda p: None)(request(bucket), Context())
    assert [method for method, *_ in bucket.requests] == ["PUT", "PUT"]


def test_the_answer_goes_over_https(monkeypatch: pytest.MonkeyPatch) -> None:
    with TLSServer() as server:
        assert server.cert is not None
        monkeypatch.setenv("SSL_CERT_FILE", server.cert)  # how OpenSSL's default context learns the CA
        custom_resource(lambda p: {"Ok": "1"})(request(server), Context())
        assert [json.loads(body)["Status"] for _, _, body, _ in server.requests] == ["SUCCESS"]


@pytest.mark.parametrize(
    "event", [None, {}, {"RequestType": "Create"}, {"ResponseURL": "ftp://example.com/x"}, {"ResponseURL": 7}]
)
def test_an_event_with_nowhere_to_answer_raises(event: Any) -> None:
    with pytest.raises(EventShapeError, match="ResponseURL"):
        custom_resource(lambda p: None)(event, Context())


def test_configuration_mistakes_are_reported_at_init() -> None:
    with pytest.raises(ConfigurationError, match="Create, Update or Delete"):
        custom_resource({"Destroy": lambda p: None})
    with pytest.raises(ConfigurationError, match="one parameter too many"):
        custom_resource(lambda a, b: None)
    with pytest.raises(ConfigurationError, match="timeout_margin"):
        custom_resource(lambda p: None, timeout_margin=-1)
    with pytest.raises(ConfigurationError, match="physical resource id"):
        Resource("")


def test_a_mapping_without_the_request_type_answers_failed(bucket: TLSServer) -> None:
    custom_resource({"Delete": lambda p: None})(request(bucket, "Create"), Context())
    (document,) = answers(bucket)
    assert (document["Status"], document["Reason"].split(" (")[0]) == (
        "FAILED",
        "ConfigurationError: This custom resource has no core for Create.",
    )


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "RequestType",
                "ResourceProperties",
                "OldResourceProperties",
                "PhysicalResourceId",
                "LogicalResourceId",
                "StackId",
                "RequestId",
            ]
        ),
        _json,
        max_size=3,
    )
)
def test_malformed_requests_are_answered_exactly_once(bucket: TLSServer, damage: dict[str, Any]) -> None:
    bucket.reset()
    event = request(bucket, "Update", physical_id="thing-1")
    event.update(damage)
    custom_resource(lambda properties: {"Seen": "yes"})(event, Context())
    (document,) = answers(bucket)
    assert document["Status"] in ("SUCCESS", "FAILED")
    assert isinstance(document["PhysicalResourceId"], str)
    assert document["PhysicalResourceId"]
    if event["RequestType"] not in ("Create", "Update", "Delete"):
        assert document["Status"] == "FAILED"
