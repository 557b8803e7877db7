"""Amazon Data Firehose transformation: every recordId answered, base64 output, the 6 MB limit."""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_samples import sample
from hypothesis import given, settings
from hypothesis import strategies as st

from lambda_kit.exceptions import ConfigurationError, EventShapeError
from lambda_kit.handler import Transformed, firehose
from lambda_kit.handler._firehose import firehose as build
from lambda_kit.testing import events, invoke

EVENTS = Path(__file__).parent / "events"


def decoded(answer: dict[str, Any], field: str = "data") -> bytes:
    return base64.b64decode(answer[field], validate=True)


def upper(data: bytes) -> bytes:
    return data.upper()


@pytest.mark.parametrize(
    "name",
    [
        "go-kinesis-firehose-event.json",
        "sam-KinesisFirehose.json",
        "sam-KinesisFirehoseStreamsAsSource.json",
        "sam-KinesisFirehoseSyslog.json",
        "sam-KinesisFirehoseCloudwatchLogsProcessor.json",
    ],
)
def test_sample_events_get_every_record_answered_in_order(name: str) -> None:
    event = sample(name)
    response = invoke(firehose(upper), event)
    answers = response["records"]
    assert [answer["recordId"] for answer in answers] == [record["recordId"] for record in event["records"]]
    for answer, record in zip(answers, event["records"], strict=True):
        assert answer["result"] == "Ok"
        assert decoded(answer) == base64.b64decode(record["data"]).upper()
        assert set(answer) == {"recordId", "result", "data"}


def test_the_apache_log_sample_with_excess_padding_is_read_on_every_python() -> None:
    texts: list[str] = []

    def parse(line: str) -> str:
        texts.append(line)
        return line.split(" ", 1)[0]

    [answer] = invoke(firehose(parse), sample("sam-KinesisFirehoseApachelog.json"))["records"]
    assert texts == [
        '64.242.88.10 - - [07/Mar/2004:16:10:02 -0800] "GET /mailman/listinfo/hsdivision HTTP/1.1" 200 6291'
    ]
    assert answer["result"] == "Ok"
    assert decoded(answer) == b"64.242.88.10"


def test_data_outside_the_base64_alphabet_fails_with_the_original(caplog: pytest.LogCaptureFixture) -> None:
    event = {"records": [{"recordId": "1", "data": "aGk=!"}, {"recordId": "2", "data": "aGk"}]}
    with caplog.at_level(logging.WARNING, logger="lambda_kit.handler"):
        answers = invoke(firehose(upper), event)["records"]
    assert answers == [
        {"recordId": "1", "result": "ProcessingFailed", "data": "aGk=!"},  # for processing-failed/
        {"recordId": "2", "result": "Ok", "data": "SEk="},  # missing padding is rebuilt
    ]
    assert "not valid base64" in caplog.text


@dataclass
class Click:
    user: str
    page: str


def test_typed_records_json_lines_drops_and_failures() -> None:
    def enrich(click: Click) -> dict[str, Any] | None:
        if click.page == "/health":
            return None
        if click.user == "boom":
            raise RuntimeError("lookup failed")
        return {"user": click.user, "page": click.page, "ok": True}

    event = events.firehose(
        [
            {"user": "a", "page": "/"},
            {"user": "b", "page": "/health"},
            {"user": "boom", "page": "/x"},
            "not json",
            {"user": "c"},
        ]
    )
    answers = invoke(firehose(enrich), event)["records"]
    assert [answer["result"] for answer in answers] == [
        "Ok",
        "Dropped",
        "ProcessingFailed",
        "ProcessingFailed",
        "ProcessingFailed",
    ]
    assert decoded(answers[0]) == b'{"user":"a","page":"/","ok":true}\n'
    assert answers[1]["data"] == ""
    for answer, record in zip(answers[2:], event["records"][2:], strict=True):
        assert answer["data"] == record["data"]
    plain = invoke(firehose(enrich, json_lines=False), event)["records"]
    assert decoded(plain[0]) == b'{"user":"a","page":"/","ok":true}'


def test_str_results_and_partition_keys() -> None:
    def route(text: str) -> Transformed | str:
        if text.startswith("c-"):
            return Transformed(text + "\n", partition_keys={"customer": text[:3]})
        return text.replace("\ud800", "")

    answers = invoke(firehose(route), events.firehose(["c-1 hello", "plain ü"]))["records"]
    assert answers[0]["metadata"] == {"partitionKeys": {"customer": "c-1"}}
    assert decoded(answers[0]) == b"c-1 hello\n"
    assert decoded(answers[1]) == "plain ü".encode()
    assert "metadata" not in answers[1]


def test_a_lone_surrogate_in_a_str_result_is_sent_as_valid_utf8() -> None:
    def broken(text: str) -> str:
        return "a\ud800b"

    answers = invoke(firehose(broken), events.firehose(["x"]))["records"]
    assert decoded(answers[0]) == b"a?b"


def test_transformed_with_a_model_and_no_keys() -> None:
    def wrap(data: bytes) -> Transformed:
        return Transformed({"n": 1})

    answers = invoke(firehose(wrap), events.firehose([b"\x00"]))["records"]
    assert decoded(answers[0]) == b'{"n":1}\n'
    assert "metadata" not in answers[0]
    with pytest.raises(ConfigurationError, match="must be strings"):
        Transformed("x", partition_keys={"n": 1})  # type: ignore[dict-item]
    assert "secret" not in repr(Transformed("secret", partition_keys={"k": "v"}))


def test_msk_sourced_records_use_kafka_record_value() -> None:
    answers = invoke(firehose(upper), events.firehose(["abc", "def"], msk=True))["records"]
    assert [decoded(answer, "kafkaRecordValue") for answer in answers] == [b"ABC", b"DEF"]
    assert all("data" not in answer for answer in answers)


def test_async_core() -> None:
    async def transform(data: bytes) -> bytes:
        return data[::-1]

    answers = invoke(firehose(transform), events.firehose([b"abc"]))["records"]
    assert decoded(answers[0]) == b"cba"


def test_outputs_that_would_overflow_the_response_fail_with_their_original_data(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def blow_up(data: bytes) -> bytes:
        return data * 50

    event = events.firehose([b"x" * 100] * 10)
    limit = 4000  # no room for one output (6.7 KB of base64), room for every original (136 bytes)
    with caplog.at_level(logging.WARNING, logger="lambda_kit.handler"):
        answers = build(blow_up, max_response_bytes=limit)(event, None)["records"]
    assert [answer["result"] for answer in answers] == ["ProcessingFailed"] * 10
    assert [answer["data"] for answer in answers] == [record["data"] for record in event["records"]]
    assert len(json.dumps({"records": answers})) <= limit
    assert "does not fit" in caplog.text

    roomy = 2 * 6800 + 10 * 300  # two outputs fit beside the others' originals
    answers = build(blow_up, max_response_bytes=roomy)(event, None)["records"]
    results = [answer["result"] for answer in answers]
    assert results[:2] == ["Ok", "Ok"]
    assert set(results[2:]) == {"ProcessingFailed"}
    assert len(json.dumps({"records": answers})) <= roomy


@settings(max_examples=100, deadline=None)
@given(
    ids=st.lists(st.text(max_size=6), min_size=1, max_size=6),
    sizes=st.lists(st.integers(0, 400), min_size=6, max_size=6),
    keys=st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=2),
    limit=st.integers(500, 5000),
)
def test_the_answer_fits_the_limit_whenever_the_originals_do(
    ids: list[str], sizes: list[int], keys: dict[str, str], limit: int
) -> None:
    event = events.firehose([b"r" * 30 for _ in ids])
    for record, record_id in zip(event["records"], ids, strict=False):
        record["recordId"] = record_id

    def grow(data: bytes) -> Transformed:
        return Transformed(b"x" * sizes[len(data) % 6], partition_keys=keys)

    originals = len(
        json.dumps({"records": [{**record, "result": "ProcessingFailed"} for record in event["records"]]})
    )
    answers = build(grow, max_response_bytes=limit)(event, None)["records"]
    assert [answer["recordId"] for answer in answers] == ids
    if originals <= limit - 200:
        assert len(json.dumps({"records": answers})) <= limit


def test_the_default_limit_is_lambdas_6_mb_response() -> None:
    big = [b"y" * 600_000] * 7  # 5.6 MB of base64 in; 6.5 MB out if every output were kept

    def grow(data: bytes) -> bytes:
        return data + data[:100_000]

    answers = invoke(firehose(grow), events.firehose(big))["records"]
    assert len(json.dumps({"records": answers})) <= 6 * 1024 * 1024
    assert "ProcessingFailed" in {answer["result"] for answer in answers}
    assert answers[0]["result"] == "Ok"


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({}, "expected a 'records' list"),
        ({"records": {}}, "expected a 'records' list"),
        ({"records": [{"data": "eA=="}]}, "no 'recordId'"),
        ({"records": ["x"]}, "no 'recordId'"),
    ],
)
def test_events_whose_records_cannot_be_answered_are_clear_errors(event: Any, message: str) -> None:
    with pytest.raises(EventShapeError, match=message):
        firehose(upper)(event, None)


def test_a_record_without_data_fails_alone() -> None:
    answers = invoke(firehose(upper), {"records": [{"recordId": "1"}, {"recordId": "2", "data": "eA=="}]})
    assert answers["records"] == [
        {"recordId": "1", "result": "ProcessingFailed", "data": ""},
        {"recordId": "2", "result": "Ok", "data": "WA=="},
    ]


_record = st.fixed_dictionaries(
    {"recordId": st.text(max_size=12)},
    optional={
        "data": st.text(max_size=20) | st.binary(max_size=30).map(lambda raw: base64.b64encode(raw).decode()),
        "approximateArrivalTimestamp": st.integers() | st.text(max_size=5),
    },
)


@settings(max_examples=150, deadline=None)
@given(records=st.lists(_record, max_size=6))
def test_every_record_is_answered_whatever_it_holds(records: list[dict[str, Any]]) -> None:
    def core(order: dict[str, Any]) -> dict[str, Any]:
        return {"seen": order}

    answers = firehose(core)({"records": records}, None)["records"]
    assert [answer["recordId"] for answer in answers] == [record["recordId"] for record in records]
    for answer, record in zip(answers, records, strict=True):
        assert answer["result"] in ("Ok", "Dropped", "ProcessingFailed")
        if answer["result"] == "Ok":
            sent = json.loads(base64.b64decode(record["data"]))
            assert json.loads(base64.b64decode(answer["data"], validate=True)) == {"seen": sent}
    json.dumps({"records": answers}).encode("utf-8")
