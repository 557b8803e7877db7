"""Event filtering: AWS's documented examples, per operator and per source, and what Lambda refuses."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lambda_kit_dev._cli import main
from lambda_kit_dev.emulator import Emulator
from lambda_kit_dev.filters import FilterCriteria, FilterPatternError, filter_batch

# --- records as AWS's documentation shows them -------------------------------------------


def sqs(body: str, message_id: str = "059f36b4-87a3-44ab-83d2-661975830a7d") -> dict[str, Any]:
    return {
        "messageId": message_id,
        "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1545082649183",
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "ApproximateFirstReceiveTimestamp": "1545082649185",
        },
        "messageAttributes": {},
        "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-west-2:123456789012:my-queue",
        "awsRegion": "us-west-2",
    }


def kinesis(
    data: bytes | str, partition_key: str = "1", sequence: str = "4959033827149025660855969253"
) -> dict[str, Any]:
    encoded = data if isinstance(data, str) else base64.b64encode(data).decode()
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": partition_key,
            "sequenceNumber": sequence,
            "data": encoded,
            "approximateArrivalTimestamp": 1545084650.987,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"shardId-000000000006:{sequence}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": "arn:aws:iam::123456789012:role/lambda-role",
        "awsRegion": "us-east-2",
        "eventSourceARN": "arn:aws:kinesis:us-east-2:123456789012:stream/lambda-stream",
    }


def dynamodb(
    new_image: dict[str, Any], keys: dict[str, Any] | None = None, event_name: str = "INSERT"
) -> dict[str, Any]:
    return {
        "eventID": "1",
        "eventVersion": "1.0",
        "eventName": event_name,
        "eventSource": "aws:dynamodb",
        "dynamodb": {
            "ApproximateCreationDateTime": "1678831218.0",
            "Keys": keys or {"CustomerName": {"S": "AnyCompany Industries"}},
            "NewImage": new_image,
            "SequenceNumber": "111",
            "SizeBytes": 26,
            "StreamViewType": "NEW_IMAGE",
        },
    }


DOC_IMAGE = {
    "AccountManager": {"S": "Pat Candella"},
    "PaymentTerms": {"S": "60 days"},
    "CustomerName": {"S": "AnyCompany Industries"},
}


def keeps(pattern: Any, record: dict[str, Any], source: str | None = None) -> bool:
    text = pattern if isinstance(pattern, str) else json.dumps(pattern)
    return FilterCriteria([text], source=source).matches(record)


# --- the operators, as the comparison-operator table gives them (a document field on SQS) ---

OPERATOR_CASES = [
    # (operator, pattern on body, bodies kept, bodies dropped)
    ("null", {"UserID": [None]}, [{"UserID": None}], [{"UserID": "x"}, {}]),
    ("empty", {"LastName": [""]}, [{"LastName": ""}], [{"LastName": "Doe"}, {"LastName": None}, {}]),
    ("equals", {"Name": ["Alice"]}, [{"Name": "Alice"}], [{"Name": "alice"}, {"Name": "Alice "}, {}]),
    (
        "equals-ignore-case",
        {"Name": [{"equals-ignore-case": "alice"}]},
        [{"Name": "ALICE"}, {"Name": "Alice"}],
        [{"Name": "Alicia"}],
    ),
    (
        "and",
        {"Location": ["New York"], "Day": ["Monday"]},
        [{"Location": "New York", "Day": "Monday"}],
        [{"Location": "New York", "Day": "Tuesday"}, {"Location": "New York"}],
    ),
    (
        "or",
        {"PaymentType": ["Credit", "Debit"]},
        [{"PaymentType": "Credit"}, {"PaymentType": "Debit"}],
        [{"PaymentType": "Cash"}],
    ),
    (
        "or (multiple fields)",
        {"$or": [{"Location": ["New York"]}, {"Day": ["Monday"]}]},
        [{"Location": "New York", "Day": "Friday"}, {"Location": "Boston", "Day": "Monday"}],
        [{"Location": "Boston", "Day": "Friday"}],
    ),
    (
        "not",
        {"Weather": [{"anything-but": ["Raining"]}]},
        [{"Weather": "Sunny"}],
        [{"Weather": "Raining"}, {}],
    ),
    (
        "numeric (equals)",
        {"Price": [{"numeric": ["=", 100]}]},
        [{"Price": 100}, {"Price": 100.0}],
        [{"Price": 101}, {"Price": "100"}],
    ),
    (
        "numeric (range)",
        {"Price": [{"numeric": [">", 10, "<=", 20]}]},
        [{"Price": 20}, {"Price": 10.5}],
        [{"Price": 10}, {"Price": 20.01}, {"Price": "15"}],
    ),
    (
        "exists",
        {"ProductName": [{"exists": True}]},
        [{"ProductName": "x"}, {"ProductName": None}],
        [{}, {"ProductName": {"a": 1}}],
    ),
    ("does not exist", {"ProductName": [{"exists": False}]}, [{}, {"Other": 1}], [{"ProductName": "x"}]),
    (
        "begins with",
        {"Region": [{"prefix": "us-"}]},
        [{"Region": "us-east-1"}],
        [{"Region": "eu-west-1"}, {"Region": 5}],
    ),
    (
        "ends with",
        {"FileName": [{"suffix": ".png"}]},
        [{"FileName": "cat.png"}],
        [{"FileName": "cat.PNG"}, {"FileName": "png.txt"}],
    ),
    (
        "anything-but (begins with)",
        {"Region": [{"anything-but": {"prefix": "us-"}}]},
        [{"Region": "eu-west-1"}],
        [{"Region": "us-east-1"}],
    ),
    (
        "begins with (ignore case)",
        {"service": [{"prefix": {"equals-ignore-case": "eventb"}}]},
        [{"service": "EventBridge"}],
        [{"service": "Lambda"}],
    ),
    (
        "wildcard",
        {"FilePath": [{"wildcard": "dir/*.png"}]},
        [{"FilePath": "dir/a/b.png"}],
        [{"FilePath": "other/b.png"}],
    ),
    (
        "array in the record",
        {"Tags": ["blue"]},
        [{"Tags": ["red", "blue"]}],
        [{"Tags": ["red"]}, {"Tags": []}],
    ),
]


@pytest.mark.parametrize(
    ("operator", "pattern", "kept", "dropped"), OPERATOR_CASES, ids=[c[0] for c in OPERATOR_CASES]
)
def test_comparison_operators(
    operator: str, pattern: dict[str, Any], kept: list[Any], dropped: list[Any]
) -> None:
    for body in kept:
        assert keeps({"body": pattern}, sqs(json.dumps(body))), (operator, body)
    for body in dropped:
        assert not keeps({"body": pattern}, sqs(json.dumps(body))), (operator, body)


def test_numbers_match_exactly_by_their_text() -> None:
    """AWS: "300, 300.0, and 3.0e2 are not considered equal" (numeric compares values)."""
    assert keeps({"body": {"a": [300]}}, sqs('{"a": 300}'))
    assert not keeps({"body": {"a": [300]}}, sqs('{"a": 300.0}'))
    assert not keeps({"body": {"a": [300]}}, sqs('{"a": 3.0e2}'))
    assert keeps({"body": {"a": [{"numeric": ["=", 300]}]}}, sqs('{"a": 3.0e2}'))


def test_filters_are_ored_and_report_which_matched() -> None:
    criteria = FilterCriteria(['{"body": {"k": ["a"]}}', '{"body": {"k": ["b"]}}'])
    assert criteria.which(sqs('{"k": "b"}')) == 1
    assert criteria.which(sqs('{"k": "c"}')) is None


def test_the_console_example() -> None:
    """``{ "a" : [ 1, 2 ] }``: records whose field a is 1 or 2."""
    criteria = FilterCriteria(['{ "a" : [ 1, 2 ] }'], source="sqs")
    assert [criteria.matches({"a": v}) for v in (1, 2, 3, "1")] == [True, True, False, False]


# --- SQS --------------------------------------------------------------------------------------

DOC_BODY = '{\n "RecordNumber": 1234,\n "TimeStamp": "yyyy-mm-ddThh:mm:ss",\n "RequestCode": "AAAA"\n}'


def test_sqs_documented_examples() -> None:
    assert not keeps({"body": {"RequestCode": ["BBBB"]}}, sqs(DOC_BODY))
    assert keeps({"body": {"RequestCode": ["BBBB"]}}, sqs(DOC_BODY.replace("AAAA", "BBBB")))
    assert not keeps({"body": {"RecordNumber": [{"numeric": [">", 9999]}]}}, sqs(DOC_BODY))
    assert keeps(
        {"body": {"RecordNumber": [{"numeric": [">", 9999]}]}}, sqs(DOC_BODY.replace("1234", "12345"))
    )


@pytest.mark.parametrize(
    ("body", "pattern", "kept"),
    [
        ("I am a plain string", {"body": ["I am a plain string"]}, True),  # plain, plain: filtered
        ("I am a plain string", {"body": [{"prefix": "I am"}]}, True),
        ("I am a plain string", {"body": ["other"]}, False),
        (
            "I am a plain string",
            {"messageId": ["059f36b4-87a3-44ab-83d2-661975830a7d"]},
            True,
        ),  # no body pattern
        (
            "I am a plain string",
            {"body": {"RequestCode": ["AAAA"]}},
            False,
        ),  # plain body, JSON pattern: dropped
        (DOC_BODY, {"body": [DOC_BODY]}, False),  # JSON body, plain-string pattern: dropped
        (DOC_BODY, {"messageId": ["059f36b4-87a3-44ab-83d2-661975830a7d"]}, True),  # metadata only
        (DOC_BODY, {"body": {"RequestCode": ["AAAA"]}}, True),  # JSON, JSON: filtered
    ],
)
def test_sqs_body_format_table(body: str, pattern: dict[str, Any], kept: bool) -> None:
    assert keeps(pattern, sqs(body)) is kept


# --- Kinesis ---------------------------------------------------------------------------------

DOC_KINESIS_DATA = (  # from AWS's Kinesis filtering page
    "eyJSZWNvcmROdW1iZXIiOiAiMDAwMSIsICJUaW1lU3RhbXAiOiAieXl5eS1tbS1kZFRoaDptbTpzcyIsICJSZXF1ZXN0Q29kZSI6ICJBQUFBIn0="
)
ORDER = {"record": 12345, "order": {"type": "buy", "stock": "ANYCO", "quantity": 1000}}


def test_kinesis_documented_examples() -> None:
    assert keeps({"data": {"RequestCode": ["AAAA"]}}, kinesis(DOC_KINESIS_DATA))
    assert not keeps({"data": {"RequestCode": ["BBBB"]}}, kinesis(DOC_KINESIS_DATA))
    assert keeps({"data": {"order": {"type": ["buy"]}}}, kinesis(json.dumps(ORDER).encode()))
    sell = {**ORDER, "order": {**ORDER["order"], "type": "sell"}}
    assert not keeps({"data": {"order": {"type": ["buy"]}}}, kinesis(json.dumps(sell).encode()))
    la = kinesis(json.dumps({"City": "Los Angeles", "Location": "Los Angeles", "Temperature": 55}).encode())
    assert keeps({"partitionKey": ["1"], "data": {"Location": ["Los Angeles"]}}, la)
    assert not keeps({"partitionKey": ["2"], "data": {"Location": ["Los Angeles"]}}, la)
    assert keeps({"data": {"Temperature": [{"numeric": [">", 50, "<=", 60]}]}}, la)
    assert not keeps({"data": {"Temperature": [{"numeric": [">", 60]}]}}, la)


def test_kinesis_data_that_is_not_json() -> None:
    aggregated = kinesis(b"\xf3\x89\x9a\xc2 KPL aggregated record")
    assert not keeps(
        {"data": {"order": {"type": ["buy"]}}}, aggregated
    )  # non-JSON data, JSON pattern: dropped
    assert keeps({"partitionKey": ["1"]}, aggregated)  # no data pattern: metadata only
    assert not keeps({"data": {"a": [{"exists": False}]}}, kinesis("not base64!"))


def test_stream_data_patterns_must_be_json() -> None:
    with pytest.raises(FilterPatternError, match=r"Invalid filter pattern definition\..*must be JSON"):
        FilterCriteria(['{"data": ["plain"]}'], source="kinesis")
    with pytest.raises(FilterPatternError, match="must be JSON"):
        FilterCriteria(['{"dynamodb": [{"exists": true}]}']).matches(dynamodb(DOC_IMAGE))


# --- DynamoDB Streams ------------------------------------------------------------------------


def test_dynamodb_documented_examples() -> None:
    record = dynamodb(DOC_IMAGE)
    assert keeps({"dynamodb": {"Keys": {"CustomerName": {"S": ["AnyCompany Industries"]}}}}, record)
    assert not keeps({"dynamodb": {"Keys": {"CustomerName": {"S": ["Other"]}}}}, record)
    either = {"dynamodb": {"NewImage": {"AccountManager": {"S": ["Pat Candella", "Shirley Rodriguez"]}}}}
    assert keeps(either, record)
    shirley = dynamodb({**DOC_IMAGE, "AccountManager": {"S": "Shirley Rodriguez"}})
    assert keeps(either, shirley)
    assert not keeps(either, dynamodb({**DOC_IMAGE, "AccountManager": {"S": "Someone Else"}}))
    both = {
        "dynamodb": {
            "NewImage": {"AccountManager": {"S": ["Pat Candella"]}, "PaymentTerms": {"S": ["60 days"]}}
        }
    }
    assert keeps(both, record)
    assert not keeps(both, dynamodb({**DOC_IMAGE, "PaymentTerms": {"S": "30 days"}}))
    assert keeps({"eventName": ["INSERT"]}, record)
    assert not keeps({"eventName": ["INSERT"]}, dynamodb(DOC_IMAGE, event_name="MODIFY"))


def test_dynamodb_multi_level_and_numbers_as_strings() -> None:
    record = dynamodb({"Message": {"S": "New item!"}, "Id": {"N": "101"}}, keys={"Id": {"N": "101"}})
    assert keeps({"dynamodb": {"Keys": {"Id": {"N": ["101"]}}}}, record)
    assert not keeps({"dynamodb": {"Keys": {"Id": {"N": [101]}}}}, record)  # a number never equals the string
    assert not keeps({"dynamodb": {"Keys": {"Id": {"N": [{"numeric": ["=", 101]}]}}}}, record)
    assert keeps({"dynamodb": {"Keys": {"Id": {"N": [{"prefix": "10"}]}}}}, record)


def test_dynamodb_exists_works_on_leaf_nodes_only() -> None:
    record = dynamodb(
        {
            "UserID": {"S": "12345"},
            "Name": {"S": "John Doe"},
            "Organizations": {"L": [{"S": "Sales"}, {"S": "Marketing"}, {"S": "Support"}]},
        }
    )
    assert not keeps({"dynamodb": {"NewImage": {"Organizations": [{"exists": True}]}}}, record)
    assert keeps({"dynamodb": {"NewImage": {"Organizations": {"L": {"S": [{"exists": True}]}}}}}, record)
    assert keeps({"dynamodb": {"NewImage": {"Organizations": {"L": {"S": ["Marketing"]}}}}}, record)
    assert keeps({"dynamodb": {"NewImage": {"Missing": {"S": [{"exists": False}]}}}}, record)


def test_dynamodb_typed_values() -> None:
    record = dynamodb(
        {
            "Active": {"BOOL": True},
            "Nothing": {"NULL": True},
            "Sizes": {"NS": ["1", "2"]},
            "Address": {"M": {"City": {"S": "Seattle"}}},
        }
    )
    assert keeps({"dynamodb": {"NewImage": {"Active": {"BOOL": [True]}}}}, record)
    assert not keeps({"dynamodb": {"NewImage": {"Active": {"BOOL": [False]}}}}, record)
    assert keeps({"dynamodb": {"NewImage": {"Nothing": {"NULL": [True]}}}}, record)
    assert keeps({"dynamodb": {"NewImage": {"Sizes": {"NS": ["2"]}}}}, record)
    assert keeps({"dynamodb": {"NewImage": {"Address": {"M": {"City": {"S": ["Seattle"]}}}}}}, record)


# --- what Lambda refuses -------------------------------------------------------------------------

INVALID = [
    ("not JSON", '{ "a": [1, }', "not JSON"),
    ("not an object", "[1, 2]", "must be a JSON object"),
    ("a value instead of an array", '{"a": "x"}', "must be an array of conditions"),
    ("an empty pattern", "{}", "empty object"),
    ("an empty array", '{"a": []}', "empty array"),
    ("an unknown operator", '{"a": [{"contains": "x"}]}', "unknown operator 'contains'"),
    ("two operators in one object", '{"a": [{"prefix": "x", "suffix": "y"}]}', "exactly one operator"),
    ("prefix of a number", '{"a": [{"prefix": 1}]}', "prefix takes a string"),
    ("exists of a string", '{"a": [{"exists": "yes"}]}', "exists takes true or false"),
    ("numeric without a number", '{"a": [{"numeric": [">", "5"]}]}', "takes a number"),
    ("numeric with a bad operator", '{"a": [{"numeric": ["!=", 5]}]}', "numeric operator '!='"),
    ("numeric range upside down", '{"a": [{"numeric": ["<", 5, ">", 1]}]}', "lower bound"),
    ("numeric range empty", '{"a": [{"numeric": [">", 5, "<", 1]}]}', "above its upper bound"),
    ("numeric out of range", '{"a": [{"numeric": [">", 6e9]}]}', "between -5.0e9 and 5.0e9"),
    ("anything-but of an object", '{"a": [{"anything-but": {"wildcard": "x"}}]}', "anything-but takes"),
    ("anything-but of null", '{"a": [{"anything-but": [null]}]}', "strings or numbers"),
    ("a nested array", '{"a": [[1]]}', "not an array"),
    ("$or with one branch", '{"$or": [{"a": [1]}]}', "at least two"),
    ("NaN", '{"a": [NaN]}', "not JSON"),
]


@pytest.mark.parametrize(("shape", "pattern", "reason"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid_patterns_are_refused_with_lambdas_reason(shape: str, pattern: str, reason: str) -> None:
    with pytest.raises(FilterPatternError) as raised:
        FilterCriteria([pattern])
    message = str(raised.value)
    assert message.startswith("InvalidParameterValueException: Invalid filter pattern definition.")
    assert reason in message


def test_limits() -> None:
    long = '{"a": ["' + "x" * 4090 + '"]}'
    assert len(long) > 4096
    with pytest.raises(FilterPatternError, match=r"ValidationException.*filters\.1\.member\.pattern.*4096"):
        FilterCriteria([long])
    FilterCriteria(['{"a": ["' + "x" * (4096 - 11) + '"]}'])  # exactly 4,096 characters is allowed
    five = [f'{{"a": [{i}]}}' for i in range(5)]
    FilterCriteria(five)
    with pytest.raises(FilterPatternError, match=r"6 filters.*at most 5"):
        FilterCriteria([*five, '{"b": [1]}'])
    FilterCriteria([*five, *five], max_filters=10)
    with pytest.raises(FilterPatternError, match="at most 10 on request"):
        FilterCriteria(five, max_filters=11)
    with pytest.raises(FilterPatternError, match="FilterCriteria is"):
        FilterCriteria.from_dict({"Filters": "nope"})
    assert FilterCriteria.from_dict({"Filters": [{"Pattern": '{"a": [1]}'}]}).patterns == ['{"a": [1]}']


def test_a_record_without_a_known_source() -> None:
    with pytest.raises(FilterPatternError, match="event source"):
        FilterCriteria(['{"a": [1]}']).matches({"a": 1})


# --- batches, and the handler behind them --------------------------------------------------------


def test_filter_batch_sqs_and_streams() -> None:
    criteria = FilterCriteria(['{"body": {"kind": ["order"]}}'])
    records = [sqs('{"kind": "order"}', "m1"), sqs('{"kind": "refund"}', "m2"), sqs("plain", "m3")]
    batch = filter_batch({"Records": records}, criteria)
    assert [r["messageId"] for r in batch.kept] == ["m1"]
    assert [r["messageId"] for r in batch.dropped] == ["m2", "m3"]
    assert batch.disposition == "deleted from the queue"
    assert batch.event == {"Records": [records[0]]}
    assert batch.invoked
    none = filter_batch({"Records": records[1:]}, criteria)
    assert none.event is None
    assert not none.invoked
    streams = filter_batch({"Records": [kinesis(b"{}")]}, FilterCriteria(['{"data": {"x": [1]}}']))
    assert streams.disposition.startswith("skipped: the iterator moves past them")
    with pytest.raises(FilterPatternError, match="no Records"):
        filter_batch({"body": "x"}, criteria)


def test_the_handler_gets_what_lambda_would_send(handlers: Path) -> None:
    criteria = FilterCriteria(['{"body": {"kind": ["order"]}}'])
    event = {"Records": [sqs('{"kind": "order"}', "m1"), sqs('{"kind": "refund"}', "m2")]}
    batch = filter_batch(event, criteria)
    assert batch.event is not None
    with Emulator("basic.echo", task_root=handlers) as function:
        invocation = function.invoke(batch.event)
    received = invocation.json()["event"]["Records"]
    assert [r["messageId"] for r in received] == ["m1"]


# --- properties -----------------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(pattern=JSON_VALUES, body=JSON_VALUES)
def test_any_pattern_and_body_give_an_answer_or_a_clear_refusal(pattern: Any, body: Any) -> None:
    try:
        criteria = FilterCriteria([json.dumps({"body": pattern})])
    except FilterPatternError as error:
        refusal = str(error)
    else:
        assert criteria.matches(sqs(json.dumps(body))) in (True, False)
        return
    assert refusal.startswith(("InvalidParameterValueException", "ValidationException"))


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(
        st.text(min_size=1, max_size=5).filter(lambda key: key != "$or"),  # an operator, as in EventBridge
        st.text(max_size=8) | st.integers(-1000, 1000),
        min_size=1,
        max_size=4,
    )
)
def test_a_pattern_of_a_records_own_values_matches_it(body: dict[str, Any]) -> None:
    pattern = {"body": {key: [value] for key, value in body.items()}}
    assert keeps(pattern, sqs(json.dumps(body)))
    anything_but = {"body": {key: [{"anything-but": [value]}] for key, value in body.items()}}
    assert not keeps(anything_but, sqs(json.dumps(body)))


# --- command line ---------------------------------------------------------------------------------


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pattern = tmp_path / "pattern.json"
    pattern.write_text('{"body": {"kind": ["order"]}}')
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"Records": [sqs('{"kind": "order"}', "m1"), sqs('{"kind": "x"}', "m2")]}))
    assert main(["filter", "--pattern", str(pattern), str(event)]) == 0
    out = capsys.readouterr().out
    assert "1 kept, 1 dropped (deleted from the queue)" in out
    assert "dropped m2" in out
    assert main(["filter", "--pattern", str(pattern), str(event), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert [r["kept"] for r in document["results"][0]["records"]] == [True, False]
    criteria = tmp_path / "criteria.json"
    criteria.write_text(json.dumps({"Filters": [{"Pattern": '{"body": {"kind": ["x"]}}'}]}))
    assert main(["filter", "--pattern", str(criteria), str(event), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["results"][0]["kept"] == 1
    bad = tmp_path / "bad.json"
    bad.write_text('{"body": {"kind": "order"}}')
    assert main(["filter", "--pattern", str(bad), str(event)]) == 2
    assert "Invalid filter pattern definition" in capsys.readouterr().err


def test_the_testing_event_builders_filter_as_aws_records() -> None:
    from lambda_kit.testing import events

    sqs_batch = filter_batch(
        events.sqs([{"kind": "order"}, "plain"]), FilterCriteria(['{"body": {"kind": ["order"]}}'])
    )
    assert (len(sqs_batch.kept), len(sqs_batch.dropped)) == (1, 1)
    stream = events.kinesis([{"order": {"type": "buy"}}, b"\x00binary"])
    kinesis_batch = filter_batch(stream, FilterCriteria(['{"data": {"order": {"type": ["buy"]}}}']))
    assert (len(kinesis_batch.kept), len(kinesis_batch.dropped)) == (1, 1)
    table = events.dynamodb_streams([{"pk": "a", "status": "DONE"}, {"pk": "b", "status": "NEW"}])
    done = FilterCriteria(['{"dynamodb": {"NewImage": {"status": {"S": ["DONE"]}}}}'])
    assert [r["dynamodb"]["NewImage"]["pk"]["S"] for r in filter_batch(table, done).kept] == ["a"]


TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Consumer:
    Type: AWS::Serverless::Function
    Properties:
      Handler: consumer.handler
      Runtime: python3.12
      Events:
        Orders:
          Type: SQS
          Properties:
            Queue: !GetAtt Queue.Arn
            FilterCriteria:
              Filters:
                - Pattern: '{ "body" : { "RequestCode" : [ "BBBB" ] } }'
        Api:
          Type: Api
          Properties: {Path: /, Method: GET}
  Streamer:
    Type: AWS::Serverless::Function
    Properties:
      Handler: s.handler
      Events:
        One: {Type: Kinesis, Properties: {FilterCriteria: {Filters: [{Pattern: '{"data": ["x"]}'}]}}}
        Two: {Type: DynamoDB, Properties: {FilterCriteria: {Filters: [{Pattern: !Sub '{"a": ["${X}"]}'}]}}}
        Three: {Type: DynamoDB, Properties: {FilterCriteria: {Filters: [{Pattern: {"eventName": [X]}}]}}}
        Four: {Type: DynamoDB, Properties: {}}
  Queue:
    Type: AWS::SQS::Queue
"""


def test_filters_from_a_sam_template(tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(TEMPLATE)
    criteria = FilterCriteria.from_template(template, "Consumer")
    assert criteria.source == "sqs"
    assert criteria.matches(sqs(DOC_BODY.replace("AAAA", "BBBB")))
    assert not criteria.matches(sqs(DOC_BODY))
    with pytest.raises(FilterPatternError, match="must be JSON"):  # refused as Lambda refuses it for Kinesis
        FilterCriteria.from_template(template, "Streamer", event="One")
    with pytest.raises(FilterPatternError, match=r"intrinsic function \(Fn::Sub\)"):
        FilterCriteria.from_template(template, "Streamer", event="Two")
    with pytest.raises(FilterPatternError, match="Pattern is a string"):
        FilterCriteria.from_template(template, "Streamer", event="Three")
    with pytest.raises(FilterPatternError, match="has no FilterCriteria"):
        FilterCriteria.from_template(template, "Streamer", event="Four")
    with pytest.raises(FilterPatternError, match="4 SQS, Kinesis or DynamoDB events"):
        FilterCriteria.from_template(template, "Streamer")
    with pytest.raises(FilterPatternError, match="no SQS, Kinesis or DynamoDB event 'Api'"):
        FilterCriteria.from_template(template, "Consumer", event="Api")
    with pytest.raises(FilterPatternError, match="no function 'Nope'"):
        FilterCriteria.from_template(template, "Nope")
