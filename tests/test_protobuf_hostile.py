"""lambda_kit.protobuf against hostile input and unsendable results.

Every error leaving the public functions is a ProtobufError with a clear message;
bad client input is a 4xx; and whatever reaches a response (bodies, error messages)
is valid JSON that awslambdaric can send: no bare NaN / Infinity, no lone surrogate.
"""

from __future__ import annotations

import base64
import json
import math
import textwrap
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import any_pb2, descriptor_pb2, struct_pb2, timestamp_pb2, wrappers_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import event as label
from hypothesis import strategies as st
from protos import orders_pb2
from test_proxy_events import KINDS, make_event

from lambda_kit.exceptions import ProtobufDecodeError, ProtobufError
from lambda_kit.protobuf import JSON, MEDIA_TYPES, PROTOBUF, ProtobufCodec, error_response
from lambda_kit_dev.emulator import Emulator

ROOT = Path(__file__).resolve().parent.parent
CODEC = ProtobufCodec()


def _reject(name: str) -> Any:
    raise ValueError(f"bare {name} in a response body")


def strict_json(text: str) -> Any:
    """Parse as a strict JSON parser would: no NaN / Infinity, valid Unicode only."""
    text.encode("utf-8")
    return json.loads(text, parse_constant=_reject)


def sendable(response: dict[str, Any]) -> bytes:
    """The response as a python3.12+ runtime sends it: ensure_ascii=False, then UTF-8."""
    data = json.dumps(response, ensure_ascii=False, allow_nan=False).encode("utf-8")
    if not response["isBase64Encoded"]:
        strict_json(response["body"])
    return data


def json_request(body: str, kind: str = "http_v2") -> dict[str, Any]:
    return make_event(kind, headers={"Content-Type": JSON, "Accept": JSON}, body=body)


# -- NaN, Infinity and numbers out of range --------------------------------------------------------


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1.5e999"])
@pytest.mark.parametrize(
    ("message_type", "template"),
    [
        (struct_pb2.Struct, '{"price": %s}'),
        (struct_pb2.Value, "%s"),
        (struct_pb2.ListValue, "[1, %s]"),
        (wrappers_pb2.DoubleValue, "%s"),
        (orders_pb2.Money, '{"units": %s}'),
    ],
)
def test_bare_nan_infinity_and_overflowing_numbers_in_a_json_body_are_a_400(
    number: str, message_type: Any, template: str
) -> None:
    event = json_request(template % number)

    with pytest.raises(ProtobufDecodeError) as info:
        CODEC.decode_request(event, message_type)

    assert info.value.status_code == 400
    assert info.value.reason == "json"
    assert (
        "NaN" in info.value.message
        or "Infinity" in info.value.message
        or "out of range" in info.value.message
    )
    response = error_response(info.value, event)
    assert response["statusCode"] == 400
    sendable(response)


def test_nan_message_says_how_to_send_a_non_finite_double() -> None:
    with pytest.raises(ProtobufDecodeError, match='takes the string "NaN"'):
        CODEC.decode_request(json_request('{"a": NaN}'), struct_pb2.Struct)


@pytest.mark.parametrize("quoted", ['"NaN"', '"Infinity"', '"-Infinity"'])
def test_quoted_non_finite_doubles_round_trip_as_valid_json(quoted: str) -> None:
    event = json_request(quoted)

    value = CODEC.decode_request(event, wrappers_pb2.DoubleValue)
    response = CODEC.encode_response(value, event)

    assert not math.isfinite(value.value)
    assert strict_json(response["body"]) == json.loads(quoted)
    sendable(response)


def test_five_thousand_digit_integers_are_a_400_without_echoing_them() -> None:
    for message_type, body in [
        (struct_pb2.Struct, '{"a": %s}' % ("9" * 5000)),  # over Python's 4,300-digit limit
        (struct_pb2.Struct, '{"a": %s}' % ("9" * 400)),  # too large for a double
        (orders_pb2.Money, '{"units": %s}' % ("9" * 400)),  # too large for an int64
    ]:
        with pytest.raises(ProtobufDecodeError) as info:
            CODEC.decode_request(json_request(body), message_type)
        assert info.value.status_code == 400
        assert len(info.value.message) < 400


def test_five_thousand_digit_fraction_is_a_double_like_any_other() -> None:
    event = json_request('{"a": 0.%s}' % ("1" * 5000))

    document = CODEC.decode_request(event, struct_pb2.Struct)

    assert document.fields["a"].number_value == pytest.approx(1 / 9)
    sendable(CODEC.encode_response(document, event))


def test_duplicate_json_keys_are_a_400() -> None:
    with pytest.raises(ProtobufDecodeError, match="'orderId' appears twice") as info:
        CODEC.decode_request(json_request('{"orderId": "a", "orderId": "b"}'), orders_pb2.OrderQuery)

    assert info.value.reason == "json"


# -- results that cannot be written ----------------------------------------------------------------


def _deep_struct(depth: int) -> struct_pb2.Struct:
    root = struct_pb2.Struct()
    node = root
    for _ in range(depth):
        node = node.fields["a"].struct_value
    return root


@pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf])
def test_struct_holding_a_non_finite_number_is_a_protobuf_error_as_json_and_fine_as_protobuf(
    number: float,
) -> None:
    result = struct_pb2.Struct()
    result.fields["price"].number_value = number

    with pytest.raises(ProtobufError, match=r"Value\.number_value") as info:
        CODEC.encode_response(result, make_event("http_v2", headers={"Accept": JSON}))

    assert type(info.value) is ProtobufError
    assert info.value.context["message_type"] == "google.protobuf.Struct"
    assert info.value.context["media_type"] == JSON
    assert error_response(info.value, make_event("http_v2"))["statusCode"] == 500
    binary = CODEC.encode_response(result, make_event("http_v2", headers={"Accept": PROTOBUF}))
    sent = struct_pb2.Struct.FromString(base64.b64decode(binary["body"]))
    assert sent.fields["price"].number_value == number or math.isnan(number)


def _missing_required() -> Any:
    return descriptor_pb2.UninterpretedOption.NamePart()  # proto2: name_part and is_extension required


@pytest.mark.parametrize(
    ("make", "media_type", "fragment"),
    [
        (_missing_required, PROTOBUF, "missing required fields"),
        (lambda: timestamp_pb2.Timestamp(seconds=10**15), JSON, "Timestamp is not valid"),
        (lambda: any_pb2.Any(type_url="type.googleapis.com/no.Such", value=b"x"), JSON, "no.Such"),
        (lambda: _deep_struct(400), JSON, "RecursionError"),
    ],
    ids=["required-missing", "timestamp-range", "any-unknown-type", "deep-struct"],
)
def test_every_serialisation_failure_is_a_protobuf_error(make: Any, media_type: str, fragment: str) -> None:
    with pytest.raises(ProtobufError, match=fragment) as info:
        CODEC.encode_response(make(), make_event("alb", headers={"Accept": media_type}))

    assert type(info.value) is ProtobufError
    assert info.value.context["media_type"] == media_type


@pytest.mark.parametrize("media_type", MEDIA_TYPES)
def test_a_message_class_instead_of_a_message_is_a_clear_error(media_type: str) -> None:
    with pytest.raises(ProtobufError, match="got the class Order"):
        CODEC.encode_response(orders_pb2.Order, make_event("http_v2", headers={"Accept": media_type}))  # type: ignore[arg-type]


# -- lone surrogates -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message_type", "body"),
    [
        (orders_pb2.LineItem, '{"sku": "\\ud800"}'),
        (orders_pb2.Order, '{"metadata": {"\\udfff": "x"}}'),
        (orders_pb2.Order, '{"status": "\\ud800"}'),
        (orders_pb2.Order, '{"\\ud800": 1}'),
        (struct_pb2.Struct, '{"sku": "\\ud800"}'),
        (struct_pb2.Struct, '{"\\ud800": 1}'),
        (struct_pb2.Value, '"a\\udc00b"'),
    ],
)
def test_lone_surrogate_in_a_json_body_is_a_400_that_can_be_sent(message_type: Any, body: str) -> None:
    event = json_request(body)

    with pytest.raises(ProtobufDecodeError) as info:
        CODEC.decode_request(event, message_type)

    assert info.value.status_code == 400
    info.value.message.encode("utf-8")
    sendable(error_response(info.value, event))


def test_body_text_holding_a_lone_surrogate_is_a_400_that_says_so() -> None:
    event = json_request('{"orderId": "a"}')
    event["body"] = '{"orderId": "\ud800"}'  # the event's own JSON held the escape: the text is not Unicode

    with pytest.raises(ProtobufDecodeError, match="lone surrogate") as info:
        CODEC.decode_request(event, orders_pb2.OrderQuery)

    assert info.value.reason == "text"
    assert "base64" not in info.value.message
    sendable(error_response(info.value, event))


def test_content_type_and_accept_with_lone_surrogates_give_responses_that_can_be_sent() -> None:
    event = make_event("http_v2", headers={"Content-Type": "text/\ud800", "Accept": "text/\ud800"}, body="x")

    with pytest.raises(ProtobufDecodeError) as info:
        CODEC.decode_request(event, orders_pb2.OrderQuery)
    refused = CODEC.encode_response(orders_pb2.OrderQuery(), event)

    assert info.value.status_code == 415
    info.value.message.encode("utf-8")
    info.value.context["media_type"].encode("utf-8")
    sendable(error_response(info.value, event))
    assert refused["statusCode"] == 406
    sendable(refused)


# -- property: hostile JSON bodies -----------------------------------------------------------------

hostile_numbers = st.one_of(
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1e-400", "-0", "0.0", "1E+2"]),
    st.integers(min_value=1, max_value=5000).map(lambda n: "9" * n),
    st.integers(min_value=1, max_value=400).map(lambda n: "0." + "3" * n),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
)
hostile_strings = st.one_of(
    st.sampled_from(['"\\ud800"', '"\\udfff"', '"a\\udc00b"', '"\\ud83d\\ude00"', '"NaN"', '"Infinity"']),
    st.text(max_size=8).map(json.dumps),
    st.text(max_size=8).map(lambda text: json.dumps(text, ensure_ascii=False)),
)
leaves = st.one_of(hostile_numbers, hostile_strings, st.sampled_from(["true", "false", "null"]))
keys = st.one_of(
    st.sampled_from(['"orderId"', '"order_id"', '"units"', '"sku"', '"status"', '"metadata"', '"\\ud800"']),
    hostile_strings,
)
documents = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda items: "[" + ",".join(items) + "]"),
        st.lists(st.tuples(keys, inner), max_size=4).map(
            lambda members: "{" + ",".join(f"{k}:{v}" for k, v in members) + "}"
        ),
    ),
    max_leaves=12,
)
nested = st.integers(min_value=50, max_value=3000).map(lambda depth: '{"a":' * depth + "1" + "}" * depth)
bodies = st.one_of(
    documents,
    nested,
    st.integers(min_value=50, max_value=3000).map(lambda depth: "[" * depth + "]" * depth),
    st.binary(max_size=40),  # non-UTF-8 bytes among them, sent base64
)
TARGETS = [
    struct_pb2.Struct,
    struct_pb2.Value,
    struct_pb2.ListValue,
    orders_pb2.Order,
    wrappers_pb2.DoubleValue,
]


def _no_nan(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isnan(value)
    if isinstance(value, dict):
        return all(_no_nan(item) for item in value.values())
    if isinstance(value, list):
        return all(_no_nan(item) for item in value)
    return True


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=bodies,
    target=st.sampled_from(TARGETS),
    kind=st.sampled_from(KINDS),
    content_type=st.sampled_from([JSON, "application/problem+json", ""]),
    accept=st.sampled_from([JSON, PROTOBUF, "*/*"]),
    corrupt_base64=st.booleans(),
)
def test_hostile_json_bodies_give_a_message_or_a_4xx_and_every_response_can_be_sent(
    body: str | bytes, target: Any, kind: str, content_type: str, accept: str, corrupt_base64: bool
) -> None:
    event = make_event(kind, headers={"Content-Type": content_type, "Accept": accept}, body=body)
    if isinstance(body, bytes) and corrupt_base64:
        event["body"] = event["body"] + "!"

    caught: ProtobufDecodeError | None = None
    try:
        message = CODEC.decode_request(event, target)
    except ProtobufDecodeError as error:  # the only error a client can cause here
        caught = error
    label(f"{target.__name__}: {caught.reason if caught else 'decoded'}")
    if caught is not None:
        assert 400 <= caught.status_code < 500
        assert caught.reason in ("base64", "text", "json", "empty")
        caught.message.encode("utf-8")
        sendable(error_response(caught, event))
        return

    response = CODEC.encode_response(message, event)  # a decoded message can always be sent back
    sendable(response)
    if not response["isBase64Encoded"]:
        again = CODEC.decode_request(json_request(response["body"], kind), target)
        if _no_nan(json.loads(response["body"])) and target is not wrappers_pb2.DoubleValue:
            assert again == message


# -- end to end under the real awslambdaric ----------------------------------------------------------

FUNCTION = """
from google.protobuf import struct_pb2

from lambda_kit.exceptions import ProtobufDecodeError
from lambda_kit.protobuf import decode_request, encode_response, error_response


def handler(event, context):
    try:
        document = decode_request(event, struct_pb2.Struct)
    except ProtobufDecodeError as error:
        return error_response(error, event)
    return encode_response(document, event)
"""


@pytest.fixture(scope="module")
def protobuf_function(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("protobuf_function")
    (root / "protobuf_function.py").write_text(textwrap.dedent(FUNCTION))
    return root


def test_hostile_bodies_never_crash_a_python312_runtime(protobuf_function: Path) -> None:
    env = {"AWS_EXECUTION_ENV": "AWS_Lambda_python3.12"}  # ensure_ascii=False serialisation
    bodies = [
        '{"price": NaN}',
        '{"price": 1e400}',
        '{"sku": "\\ud800"}',
        '{"\\ud800": 1}',
        '{"ok": [1, "é"]}',
    ]

    with Emulator(
        "protobuf_function.handler", task_root=protobuf_function, env=env, python_path=[ROOT]
    ) as fn:
        results = [fn.invoke(json_request(body)) for body in bodies]
        surrogate_text = json_request("{}")
        surrogate_text["body"] = '{"sku": "\ud800"}'
        raw = fn.invoke(payload=json.dumps(surrogate_text))

    for invocation in [*results, raw]:
        assert invocation.error is None, invocation.error
        assert not invocation.cold or invocation is results[0]  # one environment survived them all
    assert [r.json()["statusCode"] for r in results] == [400, 400, 400, 400, 200]
    assert strict_json(results[-1].json()["body"]) == {"ok": [1.0, "é"]}
    assert raw.json()["statusCode"] == 400
    for invocation in [*results, raw]:
        strict_json(invocation.json()["body"])
