"""Batch adapters: FIFO versus fair queues, failure logs, and ids that cannot go back to Lambda."""

from __future__ import annotations

import json
import logging
import os
import textwrap
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lambda_kit.exceptions import BatchError
from lambda_kit.handler import dynamodb_streams, eventbridge, kinesis, s3, sns, sqs
from lambda_kit.testing import FakeContext, events, reset_lifecycle
from lambda_kit_dev import AwsStandIn, Emulator

ROOT = Path(__file__).resolve().parents[2]
LONE = "\ud800"  # what json.loads makes of a "\ud800" escape: a str that is not valid Unicode


@pytest.fixture(autouse=True)
def _fresh_lifecycle() -> None:
    reset_lifecycle()


@dataclass
class Order:
    order_id: str
    quantity: int


def _failed(result: dict[str, list[dict[str, str]]]) -> list[str]:
    return [item["itemIdentifier"] for item in result["batchItemFailures"]]


def _message_ids(event: dict[str, Any], indexes: list[int]) -> list[str]:
    return [event["Records"][i]["messageId"] for i in indexes]


# -- FIFO is told from the queue, not from MessageGroupId (SQS fair queues) ------------------------


def _lambda_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The event Lambda's event source mapping builds from received messages."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message["Attributes"],
                "messageAttributes": {},
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
            for message in messages
        ]
    }


def _run_like_lambda(
    aws: AwsStandIn, queue_name: str, sent: list[tuple[str, str]]
) -> tuple[list[str], list[str]]:
    """Send (group, body) messages, hand one batch to an sqs() handler, settle it as Lambda does.

    Returns the bodies the core processed and the bodies still in the queue afterwards.
    """
    client = aws.client("sqs")
    fifo = queue_name.endswith(".fifo")
    attributes = {"FifoQueue": "true", "ContentBasedDeduplication": "true"} if fifo else {}
    url = client.create_queue(QueueName=queue_name, Attributes=attributes)["QueueUrl"]
    arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    for group, body in sent:
        client.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group)
    messages = client.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"], VisibilityTimeout=60
    )["Messages"]
    assert len(messages) == len(sent)
    processed: list[str] = []

    def process(body: str) -> None:
        if body.startswith("poison"):
            raise ValueError("cannot process this message")
        processed.append(body)

    result = sqs(process, raise_on_entire_failure=False)(_lambda_event(messages, arn), FakeContext())
    failed = set(_failed(result))
    for message in messages:  # Lambda deletes what succeeded; the failed ones reappear later
        if message["MessageId"] in failed:
            client.change_message_visibility(
                QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        else:
            client.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    left = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return processed, sorted(message["Body"] for message in left)


def test_fair_queue_poison_message_fails_alone_and_the_rest_of_the_batch_is_processed(
    aws: AwsStandIn,
) -> None:
    # A standard queue whose messages carry MessageGroupId (an SQS fair queue): no ordering,
    # so one poison message must not hold back the others, of its tenant or of any other.
    sent = [("tenant-a", "a1"), ("tenant-a", "poison"), ("tenant-a", "a2"), ("tenant-b", "b1")]

    processed, left = _run_like_lambda(aws, f"fair-{uuid.uuid4().hex[:8]}", sent)

    assert processed == ["a1", "a2", "b1"]
    assert left == ["poison"]


def test_fifo_queue_stops_at_the_first_failure_and_keeps_the_rest_for_retry(aws: AwsStandIn) -> None:
    # AWS: with a FIFO queue, stop after the first failure and return the failed and the
    # unprocessed messages in batchItemFailures, so that order is kept.
    sent = [("tenant-a", "a1"), ("tenant-a", "poison"), ("tenant-a", "a2")]

    processed, left = _run_like_lambda(aws, f"orders-{uuid.uuid4().hex[:8]}.fifo", sent)

    assert processed == ["a1"]
    assert left == ["a2", "poison"]


def _groups(event: dict[str, Any], group_ids: list[str]) -> dict[str, Any]:
    for record, group in zip(event["Records"], group_ids, strict=True):
        record["attributes"]["MessageGroupId"] = group
    return event


def test_message_group_id_on_a_standard_queue_does_not_make_the_batch_fifo() -> None:
    calls: list[str] = []

    def process(body: str) -> None:
        calls.append(body)
        if body == "bad":
            raise ValueError("bad")

    event = _groups(events.sqs(["ok-1", "bad", "ok-2", "ok-3"]), ["a", "a", "b", "a"])

    result = sqs(process)(event, None)

    assert _failed(result) == _message_ids(event, [1])
    assert calls == ["ok-1", "bad", "ok-2", "ok-3"]


@pytest.mark.parametrize(
    ("arn", "attributes", "fifo"),
    [
        ("arn:aws:sqs:us-east-1:123456789012:orders.fifo", {}, True),  # the ARN decides alone
        ("arn:aws:sqs:us-east-1:123456789012:orders", {"MessageGroupId": "g"}, False),
        ("arn:aws:sqs:us-east-1:123456789012:orders", {"SequenceNumber": "1"}, False),
        (None, {"MessageGroupId": "g", "SequenceNumber": "18849496460467696128"}, True),
        (None, {"MessageGroupId": "g"}, False),  # a fair queue's message in a hand-built event
        (None, {}, False),
    ],
)
def test_fifo_is_told_from_the_queue_arn(arn: str | None, attributes: dict[str, str], fifo: bool) -> None:
    calls: list[str] = []

    def process(body: str) -> None:
        calls.append(body)
        if body == "bad":
            raise ValueError("bad")

    event = events.sqs(["bad", "ok"])
    for record in event["Records"]:
        record["attributes"] = dict(attributes)
        if arn is None:
            del record["eventSourceARN"]
        else:
            record["eventSourceARN"] = arn

    result = sqs(process, raise_on_entire_failure=False)(event, None)

    assert _failed(result) == _message_ids(event, [0, 1] if fifo else [0])
    assert calls == (["bad"] if fifo else ["bad", "ok"])


def test_first_record_with_an_arn_decides_even_after_a_record_without_one() -> None:
    calls: list[str] = []

    def process(body: str) -> None:
        calls.append(body)
        raise ValueError("down")

    event = events.sqs(["a", "b", "c"], fifo=True)
    del event["Records"][0]["eventSourceARN"]
    del event["Records"][0]["attributes"]["SequenceNumber"]

    result = sqs(process, raise_on_entire_failure=False)(event, None)

    assert _failed(result) == _message_ids(event, [0, 1, 2])
    assert calls == ["a"]


# -- a failed record is logged with its reason and traceback, never with its body --------------------


def _warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "lambda_kit.handler" and r.levelno == logging.WARNING]


def _sqs_case() -> tuple[Any, dict[str, Any], str]:
    event = events.sqs([{"order_id": "secret-4111-1111", "quantity": 1}])
    return sqs, event, event["Records"][0]["messageId"]


def _kinesis_case() -> tuple[Any, dict[str, Any], str]:
    event = events.kinesis([{"order_id": "secret-4111-1111", "quantity": 1}])
    return kinesis, event, event["Records"][0]["kinesis"]["sequenceNumber"]


def _dynamodb_case() -> tuple[Any, dict[str, Any], str]:
    event = events.dynamodb_streams([{"order_id": "secret-4111-1111", "quantity": 1}])
    return dynamodb_streams, event, event["Records"][0]["dynamodb"]["SequenceNumber"]


BATCH_CASES = [_sqs_case, _kinesis_case, _dynamodb_case]


class StockError(Exception):
    pass


def _out_of_stock(order: Order) -> None:
    raise StockError("warehouse eu-1 has no stock for this order")


@pytest.mark.parametrize("case", BATCH_CASES, ids=["sqs", "kinesis", "dynamodb"])
def test_failed_record_is_logged_with_its_reason_traceback_and_id(
    case: Any, caplog: pytest.LogCaptureFixture
) -> None:
    adapter, event, record_id = case()

    with caplog.at_level(logging.WARNING, logger="lambda_kit.handler"):
        result = adapter(_out_of_stock, raise_on_entire_failure=False)(event, FakeContext(request_id="req-7"))

    assert _failed(result) == [record_id]
    (record,) = _warnings(caplog)
    line = record.getMessage()
    assert record_id in line
    assert "req-7" in line
    assert "StockError: warehouse eu-1 has no stock for this order" in line
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], StockError)
    assert "in _out_of_stock" in caplog.text  # the traceback reaches the log, down to the core's frame
    assert "secret-4111" not in caplog.text


def test_a_failed_records_traceback_is_formatted_once(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The record carries its traceback text, so a log formatter does not format it again."""
    adapter, event, record_id = BATCH_CASES[0]()
    formatted: list[object] = []
    original = logging.Formatter.formatException

    def counting(self: logging.Formatter, exc_info: Any) -> str:
        formatted.append(exc_info)
        return original(self, exc_info)

    monkeypatch.setattr(logging.Formatter, "formatException", counting)
    with caplog.at_level(logging.WARNING, logger="lambda_kit.handler"):
        adapter(_out_of_stock, raise_on_entire_failure=False)(event, FakeContext(request_id="req-8"))
    (record,) = _warnings(caplog)
    text = logging.Formatter().format(record)
    assert formatted == []  # exc_text was there: no second formatting
    assert record.exc_info is not None  # still there for handlers that structure it
    assert text.count("Traceback (most recent call last)") == 1
    assert text.endswith("StockError: warehouse eu-1 has no stock for this order")
    assert original(logging.Formatter(), record.exc_info) == record.exc_text
    assert record_id in text


@pytest.mark.parametrize("case", BATCH_CASES, ids=["sqs", "kinesis", "dynamodb"])
@pytest.mark.parametrize("core_input", ["dataclass", "pydantic", "typeddict"])
def test_records_lambda_kit_cannot_parse_are_logged_without_their_content(
    case: Any, core_input: str, caplog: pytest.LogCaptureFixture
) -> None:
    from typing import TypedDict

    import pydantic

    class Model(pydantic.BaseModel):
        order_id: str
        quantity: int

    class Typed(TypedDict):
        order_id: str
        quantity: int

    adapter, event, record_id = case()
    secret = "secret-4111-1111"
    # quantity holds the secret too: the type error must not quote the rejected value
    if adapter is sqs:
        event["Records"][0]["body"] = json.dumps({"order_id": secret, "quantity": secret})
    elif adapter is kinesis:
        import base64

        data = json.dumps({"order_id": secret, "quantity": secret}).encode()
        event["Records"][0]["kinesis"]["data"] = base64.b64encode(data).decode()
    else:
        event["Records"][0]["dynamodb"]["NewImage"]["quantity"] = {"S": secret}
    annotation = {"dataclass": Order, "pydantic": Model, "typeddict": Typed}[core_input]

    def take(order: Any) -> None:
        raise AssertionError("never called")

    take.__annotations__["order"] = annotation

    with caplog.at_level(logging.WARNING, logger="lambda_kit.handler"):
        result = adapter(take, raise_on_entire_failure=False)(event, None)

    assert _failed(result) == [record_id]
    (record,) = _warnings(caplog)
    assert "InputValidationError" in record.getMessage()
    assert secret not in caplog.text


def test_unparseable_json_body_is_logged_without_its_text(caplog: pytest.LogCaptureFixture) -> None:
    event = events.sqs(['{"card": "4111-1111-1111-1111" oops'])

    with caplog.at_level(logging.WARNING, logger="lambda_kit.handler"):
        result = sqs(lambda order: None, raise_on_entire_failure=False)(event, None)

    assert _failed(result) == _message_ids(event, [0])
    assert "not valid JSON" in caplog.text
    assert "4111" not in caplog.text


@pytest.mark.parametrize(
    ("adapter", "event", "record_id"),
    [
        (
            sns,
            events.sns([{"order_id": "secret-4111", "quantity": 1}]),
            lambda e: e["Records"][0]["Sns"]["MessageId"],
        ),
        (eventbridge, events.eventbridge({"order_id": "secret-4111", "quantity": 1}), lambda e: e["id"]),
        (
            s3,
            events.s3(["invoices/secret-4111.pdf"]),
            lambda e: e["Records"][0]["responseElements"]["x-amz-request-id"],
        ),
    ],
    ids=["sns", "eventbridge", "s3"],
)
def test_event_adapters_log_the_failed_record_and_reraise(
    adapter: Any, event: dict[str, Any], record_id: Any, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse(item: dict[str, Any]) -> None:
        raise StockError("downstream refused it")

    with caplog.at_level(logging.WARNING, logger="lambda_kit.handler"), pytest.raises(StockError):
        adapter(refuse)(event, FakeContext(request_id="req-9"))

    (record,) = _warnings(caplog)
    line = record.getMessage()
    assert record_id(event) in line
    assert "req-9" in line
    assert "StockError: downstream refused it" in line
    assert record.exc_info is not None
    assert "secret-4111" not in caplog.text


def test_event_record_without_an_id_is_logged_as_such(caplog: pytest.LogCaptureFixture) -> None:
    event = events.sns([{"order_id": "a", "quantity": 1}])
    del event["Records"][0]["Sns"]["MessageId"]

    with caplog.at_level(logging.WARNING, logger="lambda_kit.handler"), pytest.raises(StockError):
        sns(_out_of_stock)(event, None)

    assert "SNS record <no id> failed" in caplog.text


def test_nothing_is_formatted_when_warnings_are_off(caplog: pytest.LogCaptureFixture) -> None:
    class Loud(Exception):
        def __str__(self) -> str:
            raise AssertionError("formatted although nobody listens")

    def fail(body: str) -> None:
        raise Loud

    event = events.sqs(["a"])
    with caplog.at_level(logging.ERROR, logger="lambda_kit.handler"):
        result = sqs(fail, raise_on_entire_failure=False)(event, None)

    assert _failed(result) == _message_ids(event, [0])
    assert caplog.records == []


def test_exception_whose_str_fails_is_still_logged_and_reported(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no")

    def fail(body: str) -> None:
        raise Broken

    event = events.sqs(["a", "b"])
    with caplog.at_level(logging.WARNING, logger="lambda_kit.handler"):
        result = sqs(fail, raise_on_entire_failure=False)(event, None)

    assert _failed(result) == _message_ids(event, [0, 1])
    records = _warnings(caplog)
    assert len(records) == 2
    assert all("Broken: <str() failed>" in r.getMessage() for r in records)
    assert all(r.exc_info is None and "Traceback" in r.getMessage() for r in records)


def test_very_long_ids_and_messages_are_shortened_in_the_summary(caplog: pytest.LogCaptureFixture) -> None:
    event = events.sqs(["a"])
    event["Records"][0]["messageId"] = "m" * 5000

    def fail(body: str) -> None:
        raise ValueError("x" * 5000)

    with caplog.at_level(logging.WARNING, logger="lambda_kit.handler"):
        result = sqs(fail, raise_on_entire_failure=False)(event, None)

    assert _failed(result) == ["m" * 5000]  # the full id goes back to Lambda
    (record,) = _warnings(caplog)
    assert len(record.getMessage()) < 1000
    assert "m" * 197 + "..." in record.getMessage()


class _ExplodingHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        raise OSError("log pipe closed")


def test_a_failing_log_handler_never_fails_the_batch() -> None:
    logger = logging.getLogger("lambda_kit.handler")
    handler = _ExplodingHandler()
    logger.addHandler(handler)
    try:
        event = events.sqs(["ok", "bad"])

        def process(body: str) -> None:
            if body == "bad":
                raise ValueError("bad")

        result = sqs(process)(event, None)
    finally:
        logger.removeHandler(handler)

    assert _failed(result) == _message_ids(event, [1])


# -- text from the event that is not valid Unicode (lone surrogates) ----------------------------------


@pytest.fixture
def lambda_log_pipe() -> Iterator[tuple[logging.Handler, Any]]:
    """awslambdaric's own log handler, writing frames to a pipe as on Lambda (strict UTF-8)."""
    from awslambdaric.bootstrap import FramedTelemetryLogSink, LambdaLoggerHandler

    read_fd, write_fd = os.pipe()
    os.set_blocking(read_fd, False)
    logger = logging.getLogger("lambda_kit.handler")
    with FramedTelemetryLogSink(write_fd) as sink:
        handler = LambdaLoggerHandler(sink)
        handler.setFormatter(logging.Formatter("[%(levelname)s] %(message)s"))
        logger.addHandler(handler)
        old_level = logger.level
        logger.setLevel(logging.WARNING)
        try:

            def read() -> str:
                data = b""
                while True:
                    try:
                        chunk = os.read(read_fd, 65536)
                    except BlockingIOError:
                        break
                    if not chunk:
                        break
                    data += chunk
                messages = []
                while data:  # frame: type (4 bytes), length (4), timestamp (8), message
                    length = int.from_bytes(data[4:8], "big")
                    messages.append(data[16 : 16 + length].decode("utf-8"))  # strict UTF-8
                    data = data[16 + length :]
                return "\n".join(messages)

            yield handler, read
        finally:
            logger.removeHandler(handler)
            logger.setLevel(old_level)
            os.close(read_fd)


def test_failure_message_quoting_a_lone_surrogate_is_logged_escaped_and_the_batch_continues(
    lambda_log_pipe: tuple[logging.Handler, Any],
) -> None:
    _, read = lambda_log_pipe
    seen: list[str] = []

    def process(order: dict[str, str]) -> None:
        if order["sku"] != "ok":
            raise ValueError(f"unknown sku {order['sku']}")  # the core quotes the client's value
        seen.append(order["sku"])

    event = events.sqs([{"sku": "ok"}, {"sku": "x"}, {"sku": "ok"}])
    event["Records"][1]["body"] = '{"sku": "\\ud800"}'  # json.loads makes a lone surrogate of it

    result = sqs(process)(event, None)

    assert _failed(result) == _message_ids(event, [1])
    assert seen == ["ok", "ok"]
    text = read()
    assert "ValueError: unknown sku \\ud800" in text
    assert "Traceback" in text


def _fail_bad(payload: dict[str, str]) -> None:
    if payload["v"] == "bad":
        raise ValueError("bad record")


@pytest.mark.parametrize("adapter", ["sqs", "kinesis", "dynamodb"])
def test_failed_record_whose_id_is_not_valid_unicode_fails_the_whole_batch(
    adapter: str, lambda_log_pipe: tuple[logging.Handler, Any]
) -> None:
    _, read = lambda_log_pipe
    payloads = [{"v": "ok"}, {"v": "bad"}]
    if adapter == "sqs":
        handler = sqs(_fail_bad)
        event = events.sqs(payloads)
        event["Records"][1]["messageId"] = f"id-{LONE}"
    elif adapter == "kinesis":
        handler = kinesis(_fail_bad, stop_on_failure=False)
        event = events.kinesis(payloads)
        event["Records"][1]["kinesis"]["sequenceNumber"] = f"id-{LONE}"
    else:
        handler = dynamodb_streams(_fail_bad, stop_on_failure=False)
        event = events.dynamodb_streams(payloads)
        event["Records"][1]["dynamodb"]["SequenceNumber"] = f"id-{LONE}"

    # Lambda could match no record to an escaped id (and awslambdaric cannot send the raw
    # one): the batch is retried whole, as for a failed record without an id.
    with pytest.raises(BatchError, match="no id Lambda could match"):
        handler(event, None)
    assert "record id-\\ud800 failed" in read()


def test_succeeding_record_whose_id_is_not_valid_unicode_is_not_reported() -> None:
    event = events.sqs([{"v": "ok"}, {"v": "bad"}])
    event["Records"][0]["messageId"] = f"id-{LONE}"

    assert sqs(_fail_bad)(event, None) == {
        "batchItemFailures": [{"itemIdentifier": event["Records"][1]["messageId"]}]
    }


# -- the same, end to end under the real awslambdaric -------------------------------------------------


FUNCTION = """
from lambda_kit.handler import sqs


def process(body: str) -> None:
    if body.startswith("bad"):
        raise ValueError(f"cannot take {body}")


handler = sqs(process, raise_on_entire_failure=False)
"""


@pytest.fixture(scope="module")
def batch_function(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("batch_function")
    (root / "batch_function.py").write_text(textwrap.dedent(FUNCTION))
    return root


@pytest.mark.parametrize("runtime", ["python3.11", "python3.12"])
def test_lone_surrogates_in_an_sqs_event_never_crash_the_runtime(batch_function: Path, runtime: str) -> None:
    # python3.12+ runtimes serialise the response with ensure_ascii=False, then encode it as
    # UTF-8; every runtime logs through a strict UTF-8 sink.
    event = events.sqs(["ok", "bad-1", "bad-2"])
    event["Records"][1]["body"] = f"bad-{LONE}"  # the core's error message quotes it
    payload = json.dumps(event)  # ensure_ascii: the surrogate travels as a \ud800 escape
    unmatched = events.sqs(["ok", "bad"])
    unmatched["Records"][1]["messageId"] = f"id-{LONE}"
    env = {"AWS_EXECUTION_ENV": f"AWS_Lambda_{runtime}"}

    with Emulator("batch_function.handler", task_root=batch_function, env=env, python_path=[ROOT]) as fn:
        partial = fn.invoke(payload=payload)
        whole = fn.invoke(payload=json.dumps(unmatched))
        after = fn.invoke(events.sqs(["ok"]))

    assert partial.error is None, partial.error
    assert partial.json() == {
        "batchItemFailures": [{"itemIdentifier": i} for i in _message_ids(event, [1, 2])]
    }
    assert "ValueError: cannot take bad-\\ud800" in partial.output
    assert whole.error is not None
    assert whole.error["errorType"] == "BatchError"  # a function error: Lambda retries the batch
    assert after.error is None
    assert not after.cold  # the runtime survived both


# -- property: whatever text the event holds, the response and the log lines are valid UTF-8 ----------

wild_text = st.text(
    st.one_of(st.sampled_from(["\ud800", "\udbff", "\udc00", "\udfff"]), st.characters()), max_size=12
)


class _StrictUtf8Handler(logging.Handler):
    """Formats and encodes each record as awslambdaric's handler does (strict UTF-8)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[bytes] = []
        self.errors: list[Exception] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record).encode("utf-8"))
        except Exception as error:
            self.errors.append(error)
            raise


@settings(max_examples=150, deadline=None)
@given(
    records=st.lists(st.tuples(wild_text, wild_text, st.booleans()), min_size=1, max_size=5),
    fifo=st.booleans(),
)
def test_any_ids_and_failure_messages_give_a_utf8_response_and_log(
    records: list[tuple[str, str, bool]], fifo: bool
) -> None:
    event = events.sqs(["x"] * len(records), fifo=fifo)
    for record, (message_id, text, fails) in zip(event["Records"], records, strict=True):
        record["messageId"] = message_id
        record["body"] = ("!" if fails else "~") + text

    def process(body: str) -> None:
        if body.startswith("!"):
            raise ValueError(f"refused {body}")  # the message quotes the body, surrogates and all

    logger = logging.getLogger("lambda_kit.handler")
    strict = _StrictUtf8Handler()
    logger.addHandler(strict)
    try:
        result = sqs(process, raise_on_entire_failure=False)(event, None)
    except BatchError:  # a failed record whose id Lambda could not match: the batch is retried
        result = None
    finally:
        logger.removeHandler(strict)

    failing = [fails for _, _, fails in records]
    assert strict.errors == []
    assert len(strict.lines) == (int(any(failing)) if fifo else sum(failing))
    if result is not None:
        json.dumps(result, ensure_ascii=False).encode("utf-8")  # as python3.12+ runtimes send it
        first = failing.index(True) if any(failing) else len(failing)
        expected = [
            r["messageId"]
            for index, r in enumerate(event["Records"])
            if (index >= first if fifo else failing[index])
        ]
        assert _failed(result) == expected


def test_a_traceback_that_cannot_be_formatted_still_leaves_a_log_line(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import traceback

    def broken(*args: Any, **kwargs: Any) -> list[str]:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(traceback, "format_exception", broken)
    event = events.sqs(["a"])

    def fail(body: str) -> None:
        raise ValueError("refused")

    with caplog.at_level(logging.WARNING, logger="lambda_kit.handler"):
        result = sqs(fail, raise_on_entire_failure=False)(event, None)

    assert _failed(result) == _message_ids(event, [0])
    (record,) = _warnings(caplog)
    assert "ValueError: refused" in record.getMessage()
    assert "(no traceback)" in record.getMessage()


def test_lambda_json_log_format_gets_the_error_type_message_and_stack_trace(
    lambda_log_pipe: tuple[logging.Handler, Any],
) -> None:
    from awslambdaric.lambda_runtime_log_utils import JsonFormatter

    handler, read = lambda_log_pipe
    handler.setFormatter(JsonFormatter())  # AWS_LAMBDA_LOG_FORMAT=JSON
    event = events.sqs([{"order_id": "secret-4111-1111", "quantity": 1}])

    sqs(_out_of_stock, raise_on_entire_failure=False)(event, FakeContext(request_id="req-json"))

    (line,) = read().splitlines()
    logged = json.loads(line)
    assert logged["level"] == "WARNING"
    assert event["Records"][0]["messageId"] in logged["message"]
    assert logged["errorType"] == "StockError"
    assert logged["errorMessage"] == "warehouse eu-1 has no stock for this order"
    assert any("_out_of_stock" in frame for frame in logged["stackTrace"])
    assert "secret-4111" not in line
