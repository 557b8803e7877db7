"""lambda_kit.protobuf: negotiation, responses for every integration, requests, limits, config."""

from __future__ import annotations

import base64
import gzip
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from protos import orders_pb2
from test_proxy_events import KINDS, integration_of, make_event, multi_value

from lambda_kit import protobuf
from lambda_kit.exceptions import (
    ConfigurationError,
    LambdaKitError,
    NotAcceptableError,
    ProtobufDecodeError,
    ProtobufError,
    ResponseTooLargeError,
    UnsupportedMediaTypeError,
)
from lambda_kit.protobuf import ProtobufCodec, decode_request, encode_response, error_response

ROOT = Path(__file__).resolve().parent.parent
PROTOBUF_TYPES = ["application/x-protobuf", "application/protobuf"]


def make_order(items: int = 20) -> orders_pb2.Order:
    order = orders_pb2.Order(
        order_id="ord_01JD8Q3W7X",
        customer_id="cus_4f9a2b",
        status=orders_pb2.ORDER_STATUS_PAID,
        created_at_unix_ms=1795784400123,
        metadata={"channel": "web", "campaign": "black-friday"},
        coupon_code="BF2026",
        signature=b"\x00\xff\x10sig",
    )
    order.shipping_address.name = "Ada Lovelace"
    order.shipping_address.lines.extend(["12 Analytical Row", "Flat 3"])
    order.shipping_address.city = "London"
    order.shipping_address.postal_code = "NW1 6XE"
    order.shipping_address.country_code = "GB"
    for index in range(items):
        item = order.items.add(
            sku=f"SKU-{index:05d}", title=f"Item number {index} \u00e9", quantity=index % 4 + 1
        )
        item.unit_price.currency_code = "EUR"
        item.unit_price.units = 10 + index
        item.unit_price.nanos = 990_000_000
        item.line_total.CopyFrom(item.unit_price)
        item.tags.extend(["sale", "gift"] if index % 2 else ["new"])
    order.total.currency_code = "EUR"
    order.total.units = 1234
    return order


def header(response: dict[str, Any], name: str) -> str:
    """A response header, whichever of headers / multiValueHeaders the response uses."""
    if "multiValueHeaders" in response:
        assert "headers" not in response
        values = response["multiValueHeaders"][name]
        assert len(values) == 1
        return str(values[0])
    return str(response["headers"][name])


def client_bytes(response: dict[str, Any]) -> bytes:
    """What the client receives: the integration base64-decodes, the client gunzips."""
    body = response["body"]
    data = base64.b64decode(body, validate=True) if response["isBase64Encoded"] else body.encode()
    encoding = (
        response.get("headers", {}).get("Content-Encoding")
        or response.get("multiValueHeaders", {}).get("Content-Encoding", [None])[0]
    )
    return gzip.decompress(data) if encoding == "gzip" else data


@pytest.fixture(autouse=True)
def _fresh_default_codec(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(protobuf, "_default_codec", None)


# -- round trips through every integration ----------------------------------------------------


@pytest.mark.parametrize("media_type", PROTOBUF_TYPES)
@pytest.mark.parametrize("kind", KINDS)
def test_protobuf_response_round_trip(kind: str, media_type: str) -> None:
    order = make_order()
    event = make_event(kind, headers={"Accept": media_type}, method="GET")

    response = encode_response(order, event)

    assert response["statusCode"] == 200
    assert response["isBase64Encoded"] is True
    assert header(response, "Content-Type") == media_type
    assert header(response, "Vary") == "Accept"
    assert ("multiValueHeaders" in response) is multi_value(kind)
    assert ("statusDescription" in response) is (integration_of(kind) == "alb")
    received = orders_pb2.Order()
    received.ParseFromString(base64.b64decode(response["body"], validate=True))
    assert received == order
    json.dumps(response)  # what the runtime does with it


@pytest.mark.parametrize("kind", KINDS)
def test_json_response_round_trip(kind: str) -> None:
    order = make_order(3)
    event = make_event(kind, headers={"Accept": "application/json"}, method="GET")

    response = encode_response(order, event, status=201)

    assert response["statusCode"] == 201
    assert response["isBase64Encoded"] is False
    assert header(response, "Content-Type") == "application/json"
    body = json.loads(response["body"])
    assert body["orderId"] == "ord_01JD8Q3W7X"
    assert body["status"] == "ORDER_STATUS_PAID"
    assert json_format.Parse(response["body"], orders_pb2.Order()) == order
    if integration_of(kind) == "alb":
        assert response["statusDescription"] == "201 Created"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("media_type", [*PROTOBUF_TYPES, "application/json"])
def test_request_round_trip(kind: str, media_type: str) -> None:
    order = make_order(5)
    if media_type == "application/json":
        event = make_event(kind, headers={"Content-Type": media_type}, body=json_format.MessageToJson(order))
    else:
        event = make_event(kind, headers={"Content-Type": media_type}, body=order.SerializeToString())

    assert decode_request(event, orders_pb2.Order) == order


def test_json_field_names_and_defaults_are_configurable() -> None:
    query = orders_pb2.OrderQuery(order_id="ord_1")
    event = make_event("http_v2", headers={"Accept": "application/json"})

    default = json.loads(encode_response(query, event)["body"])
    proto_names = json.loads(
        encode_response(
            query, event, codec=ProtobufCodec(json_field_names="proto", json_include_defaults=True)
        )["body"]
    )

    assert default == {"orderId": "ord_1"}
    assert proto_names == {"order_id": "ord_1", "include_items": False, "statuses": []}


def test_json_requests_read_both_field_name_styles() -> None:
    for body in ('{"orderId": "a", "includeItems": true}', '{"order_id": "a", "include_items": true}'):
        event = make_event("rest_v1", headers={"Content-Type": "application/json; charset=utf-8"}, body=body)
        assert decode_request(event, orders_pb2.OrderQuery) == orders_pb2.OrderQuery(
            order_id="a", include_items=True
        )


# -- negotiation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "application/json"),
        ("*/*", "application/json"),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "application/json"),
        ("application/json;q=0.4, application/x-protobuf;q=0.8", "application/x-protobuf"),
        ("application/protobuf", "application/protobuf"),
    ],
)
def test_negotiation_picks_by_q_and_falls_back_to_the_default(accept: str | None, expected: str) -> None:
    event = make_event("rest_v1", headers={"Accept": accept} if accept is not None else {})

    assert header(encode_response(make_order(1), event), "Content-Type") == expected
    assert protobuf.negotiate(event) == expected


def test_default_media_type_is_configurable() -> None:
    codec = ProtobufCodec(default_media_type="application/x-protobuf")
    for accept in ({}, {"Accept": "*/*"}, {"Accept": "application/*"}):
        event = make_event("http_v2", headers=accept)  # type: ignore[arg-type]
        assert header(codec.encode_response(make_order(1), event), "Content-Type") == "application/x-protobuf"
    event = make_event("http_v2", headers={"Accept": "application/json"})
    assert header(codec.encode_response(make_order(1), event), "Content-Type") == "application/json"


@pytest.mark.parametrize("kind", KINDS)
def test_nothing_acceptable_gives_406_with_a_json_error(kind: str) -> None:
    event = make_event(kind, headers={"Accept": "text/html, application/xml;q=0.9"})

    response = encode_response(make_order(), event, headers={"X-Request-Id": "r-1"})

    assert response["statusCode"] == 406
    assert response["isBase64Encoded"] is False
    assert header(response, "Content-Type") == "application/json"
    assert header(response, "X-Request-Id") == "r-1"
    body = json.loads(response["body"])
    assert "text/html" in body["message"]
    assert "application/x-protobuf" in body["message"]
    assert body["acceptable"] == ["application/x-protobuf", "application/protobuf", "application/json"]
    if integration_of(kind) == "alb":
        assert response["statusDescription"] == "406 Not Acceptable"
    with pytest.raises(NotAcceptableError) as info:
        protobuf.negotiate(event)
    assert info.value.status_code == 406
    assert info.value.acceptable == list(protobuf.MEDIA_TYPES)


def test_not_acceptable_message_shortens_a_huge_accept() -> None:
    event = make_event("http_v2", headers={"Accept": "text/html;x=" + "y" * 10_000})

    with pytest.raises(NotAcceptableError) as info:
        protobuf.negotiate(event)

    assert len(info.value.message) < 500


def test_negotiation_cache_is_bounded() -> None:
    codec = ProtobufCodec(gzip=True, gzip_min_bytes=0)
    for index in range(600):
        event = make_event(
            "http_v2",
            headers={
                "Accept": f"application/x-protobuf;q=0.{index % 999:03d}",
                "Accept-Encoding": f"gzip;q=0.{index}",
            },
        )
        codec.encode_response(make_order(1), event)
    assert len(codec._accept_cache) <= 256
    assert len(codec._encoding_cache) <= 256


# -- headers ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_caller_headers_are_merged_and_ours_win(kind: str) -> None:
    event = make_event(kind, headers={"Accept": "application/x-protobuf"})

    response = encode_response(
        make_order(1),
        event,
        headers={
            "content-type": "text/plain",
            "Cache-Control": "max-age=60",
            "vary": "Origin",
            "Content-Length": "1",
        },
    )

    names = response.get("headers") or response["multiValueHeaders"]
    assert sorted(names) == ["Cache-Control", "Content-Type", "Vary"]
    assert header(response, "Content-Type") == "application/x-protobuf"
    assert header(response, "Vary") == "Accept, Origin"
    assert header(response, "Cache-Control") == "max-age=60"


# -- gzip -------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("accept", ["application/x-protobuf", "application/json"])
def test_gzip_when_accepted_and_large_enough(kind: str, accept: str) -> None:
    codec = ProtobufCodec(gzip=True, gzip_level=9, gzip_min_bytes=100)
    order = make_order(50)
    event = make_event(kind, headers={"Accept": accept, "Accept-Encoding": "gzip, deflate, br"})

    response = codec.encode_response(order, event)

    assert response["isBase64Encoded"] is True
    assert header(response, "Content-Encoding") == "gzip"
    assert header(response, "Vary") == "Accept, Accept-Encoding"
    raw = client_bytes(response)
    if accept == "application/json":
        assert json_format.Parse(raw.decode(), orders_pb2.Order()) == order
    else:
        assert orders_pb2.Order.FromString(raw) == order
    assert len(base64.b64decode(response["body"])) < len(raw)


@pytest.mark.parametrize(
    ("accept_encoding", "items"),
    [(None, 50), ("identity", 50), ("gzip;q=0", 50), ("br", 50), ("gzip", 0)],
)
def test_no_gzip_when_not_accepted_or_small(accept_encoding: str | None, items: int) -> None:
    codec = ProtobufCodec(gzip=True, gzip_min_bytes=2000)
    headers = {"Accept": "application/json"}
    if accept_encoding is not None:
        headers["Accept-Encoding"] = accept_encoding
    event = make_event("rest_v1", headers=headers)  # type: ignore[arg-type]

    response = codec.encode_response(make_order(items), event)

    assert "Content-Encoding" not in response["multiValueHeaders"]
    assert response["isBase64Encoded"] is False
    assert header(response, "Vary") == "Accept, Accept-Encoding"
    assert json_format.Parse(response["body"], orders_pb2.Order()) == make_order(items)


def test_gzip_is_off_by_default() -> None:
    event = make_event("http_v2", headers={"Accept": "application/x-protobuf", "Accept-Encoding": "gzip"})

    response = encode_response(make_order(200), event)

    assert "Content-Encoding" not in response["headers"]
    assert orders_pb2.Order.FromString(base64.b64decode(response["body"])) == make_order(200)


# -- size limits ------------------------------------------------------------------------------


def big_order(raw_bytes: int) -> orders_pb2.Order:
    return orders_pb2.Order(order_id="big", signature=os.urandom(raw_bytes))


def test_response_over_lambdas_limit_raises_before_lambda_would() -> None:
    event = make_event("http_v2", headers={"Accept": "application/x-protobuf"})
    # 4.8 MB raw is 6.4 MB as base64: over Lambda's 6 MB although the message is under it.
    with pytest.raises(ResponseTooLargeError) as info:
        encode_response(big_order(4_800_000), event)

    error = info.value
    assert isinstance(error, ProtobufError)
    assert error.limit == protobuf.LAMBDA_RESPONSE_LIMIT
    assert error.size > error.limit
    assert error.integration == "http_v2"
    assert "base64" in str(error)
    assert "6,291,556" in str(error)


def test_response_just_under_the_limit_passes() -> None:
    event = make_event("http_v2", headers={"Accept": "application/x-protobuf"})

    response = encode_response(big_order(4_710_000), event)  # within 16 KB of the limit: exact check

    assert len(json.dumps(response)) <= protobuf.LAMBDA_RESPONSE_LIMIT


def test_alb_limit_is_one_megabyte() -> None:
    event = make_event("alb", headers={"Accept": "application/protobuf"})
    with pytest.raises(ResponseTooLargeError) as info:
        encode_response(big_order(800_000), event)
    assert info.value.limit == protobuf.ALB_RESPONSE_LIMIT
    assert "ALB" in str(info.value)
    encode_response(big_order(700_000), event)


def test_gzip_can_bring_a_response_under_the_limit() -> None:
    codec = ProtobufCodec(gzip=True)
    order = orders_pb2.Order(order_id="zeros", signature=bytes(5_000_000))
    event = make_event(
        "function_url", headers={"Accept": "application/x-protobuf", "Accept-Encoding": "gzip"}
    )

    response = codec.encode_response(order, event)

    assert orders_pb2.Order.FromString(client_bytes(response)) == order


def test_large_json_response_is_checked_exactly() -> None:
    order = orders_pb2.Order(order_id="x" * 3_500_000, customer_id='"' * 3_000_000)
    event = make_event("rest_v1", headers={"Accept": "application/json"})
    with pytest.raises(ResponseTooLargeError) as info:
        encode_response(order, event)
    assert info.value.media_type == "application/json"


# -- requests ---------------------------------------------------------------------------------


def test_empty_protobuf_body_is_the_empty_message() -> None:
    for body in (None, b""):
        event = make_event("http_v2", headers={"Content-Type": "application/x-protobuf"}, body=body)
        assert decode_request(event, orders_pb2.OrderQuery) == orders_pb2.OrderQuery()


def test_protobuf_body_sent_as_text_still_reads_when_it_is_ascii() -> None:
    query = orders_pb2.OrderQuery(order_id="ord_1", include_items=True)
    event = make_event(
        "rest_v1", headers={"Content-Type": "application/x-protobuf"}, body=query.SerializeToString().decode()
    )

    assert decode_request(event, orders_pb2.OrderQuery) == query


def test_mangled_protobuf_text_body_hints_at_binary_media_types() -> None:
    event = make_event(
        "rest_v1", headers={"Content-Type": "application/x-protobuf"}, body="\ufffd\ufffd\x0a\xff"
    )

    with pytest.raises(ProtobufDecodeError) as info:
        decode_request(event, orders_pb2.Order)

    assert "binaryMediaTypes" in str(info.value)
    assert info.value.reason == "protobuf"
    assert info.value.message_type == "lambda_kit.tests.orders.Order"


@pytest.mark.parametrize(
    ("headers", "body", "reason", "fragment"),
    [
        ({"Content-Type": "application/x-protobuf"}, b"\x0a\x05ab", "protobuf", "not a valid"),
        ({"Content-Type": "application/protobuf"}, b"\xff\xff\xff", "protobuf", "not a valid"),
        ({"Content-Type": "application/json"}, '{"orderId": 5', "json", "not valid JSON"),
        ({"Content-Type": "application/json"}, '{"orderId": "a", "nope": 1}', "json", "nope"),
        ({"Content-Type": "application/json"}, "[1, 2]", "json", "not valid JSON"),
        ({"Content-Type": "application/json"}, b"\xff\xfe{}", "json", "not valid JSON"),
        ({"Content-Type": "application/json"}, "  ", "empty", "empty"),
        ({}, None, "empty", "empty"),
        ({"Content-Type": "application/problem+json"}, '{"a":', "json", "not valid JSON"),
    ],
)
def test_malformed_bodies_raise_decode_errors(
    headers: dict[str, str], body: str | bytes | None, reason: str, fragment: str
) -> None:
    event = make_event("http_v2", headers=headers, body=body)  # type: ignore[arg-type]

    with pytest.raises(ProtobufDecodeError, match=fragment) as info:
        decode_request(event, orders_pb2.OrderQuery)

    assert info.value.reason == reason
    assert info.value.status_code == 400
    assert isinstance(info.value, LambdaKitError)


def test_invalid_base64_is_a_decode_error() -> None:
    event = make_event("http_v2", headers={"Content-Type": "application/x-protobuf"}, body=b"x")
    event["body"] = event["body"][:-2]  # truncated: padding gone

    with pytest.raises(ProtobufDecodeError, match="base64") as info:
        decode_request(event, orders_pb2.OrderQuery)

    assert info.value.reason == "base64"


def test_deeply_nested_json_is_a_decode_error() -> None:
    event = make_event(
        "http_v2", headers={"Content-Type": "application/json"}, body="[" * 100_000 + "]" * 100_000
    )

    with pytest.raises(ProtobufDecodeError):
        decode_request(event, orders_pb2.OrderQuery)


def test_unknown_json_fields_can_be_ignored() -> None:
    event = make_event(
        "alb", headers={"Content-Type": "application/json"}, body='{"orderId": "a", "future": 1}'
    )
    codec = ProtobufCodec(json_ignore_unknown_fields=True)

    assert decode_request(event, orders_pb2.OrderQuery, codec=codec) == orders_pb2.OrderQuery(order_id="a")


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; b=x"]
)
def test_unsupported_content_type_is_415(content_type: str) -> None:
    event = make_event("rest_v1", headers={"Content-Type": content_type}, body="a=b")

    with pytest.raises(UnsupportedMediaTypeError) as info:
        decode_request(event, orders_pb2.OrderQuery)

    assert info.value.status_code == 415
    assert isinstance(info.value, ProtobufDecodeError)
    assert "application/x-protobuf" in str(info.value)


@pytest.mark.parametrize("kind", KINDS)
def test_error_response_maps_errors_to_statuses(kind: str) -> None:
    event = make_event(kind, headers={"Content-Type": "text/csv"}, body="a,b")
    with pytest.raises(UnsupportedMediaTypeError) as info:
        decode_request(event, orders_pb2.OrderQuery)

    response = error_response(info.value, event)

    assert response["statusCode"] == 415
    assert header(response, "Content-Type") == "application/json"
    assert "text/csv" in json.loads(response["body"])["message"]
    too_large = ResponseTooLargeError("The response is 9 bytes over the limit", size=9, limit=1)
    internal = error_response(too_large, event, headers={"X-Request-Id": "r"})
    assert internal["statusCode"] == 500
    assert json.loads(internal["body"]) == {"message": "Internal Server Error"}
    assert header(internal, "X-Request-Id") == "r"


# -- misuse and configuration -----------------------------------------------------------------


def test_non_message_is_a_clear_error() -> None:
    event = make_event("http_v2", headers={"Accept": "application/x-protobuf"})
    with pytest.raises(ProtobufError, match="needs a protobuf message; got dict"):
        encode_response({"order_id": "x"}, event)  # type: ignore[arg-type]
    json_event = make_event("http_v2", headers={"Accept": "application/json"})
    with pytest.raises(ProtobufError, match="got dict"):
        encode_response({"order_id": "x"}, json_event)  # type: ignore[arg-type]


def test_unknown_event_shapes_get_a_plain_proxy_response() -> None:
    response = encode_response(orders_pb2.OrderQuery(order_id="a"), {"direct": "invoke"})

    assert response == {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json", "Vary": "Accept"},
        "body": '{"orderId":"a"}',
        "isBase64Encoded": False,
    }


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMBDA_KIT_PROTOBUF_DEFAULT_MEDIA_TYPE", " Application/X-Protobuf ")
    monkeypatch.setenv("LAMBDA_KIT_PROTOBUF_JSON_FIELD_NAMES", "proto")
    monkeypatch.setenv("LAMBDA_KIT_PROTOBUF_GZIP", "true")
    monkeypatch.setenv("LAMBDA_KIT_PROTOBUF_GZIP_MIN_BYTES", "0")
    monkeypatch.setenv("LAMBDA_KIT_PROTOBUF_GZIP_LEVEL", "1")

    codec = ProtobufCodec()
    star = codec.encode_response(make_order(1), make_event("http_v2", headers={"Accept": "*/*"}))
    as_json = encode_response(
        orders_pb2.OrderQuery(order_id="a"),
        make_event("http_v2", headers={"Accept": "application/json", "Accept-Encoding": "gzip"}),
    )

    assert star["headers"]["Content-Type"] == "application/x-protobuf"
    assert json.loads(client_bytes(as_json)) == {"order_id": "a"}
    assert "gzip=True" in repr(codec)
    assert "default_media_type='application/x-protobuf'" in repr(codec)


def test_explicit_arguments_beat_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMBDA_KIT_PROTOBUF_DEFAULT_MEDIA_TYPE", "application/protobuf")

    codec = ProtobufCodec(default_media_type="application/json")

    assert codec.negotiate(make_event("http_v2")) == "application/json"


@pytest.mark.parametrize(
    ("kwargs", "variable", "value"),
    [
        ({"default_media_type": "text/html"}, None, None),
        ({"json_field_names": "camel"}, None, None),
        ({"gzip_level": 0}, None, None),
        ({"gzip_min_bytes": -1}, None, None),
        ({}, "LAMBDA_KIT_PROTOBUF_GZIP", "perhaps"),
        ({}, "LAMBDA_KIT_PROTOBUF_GZIP_LEVEL", "10"),
        ({}, "LAMBDA_KIT_PROTOBUF_DEFAULT_MEDIA_TYPE", "application/xml"),
    ],
)
def test_invalid_settings_are_configuration_errors(
    monkeypatch: pytest.MonkeyPatch, kwargs: dict[str, Any], variable: str | None, value: str | None
) -> None:
    if variable is not None and value is not None:
        monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError, match="expected"):
        ProtobufCodec(**kwargs)


# Every setting of ProtobufCodec: (argument, a valid value, its variable, an invalid value).
CODEC_SETTINGS = [
    ("default_media_type", "application/protobuf", "LAMBDA_KIT_PROTOBUF_DEFAULT_MEDIA_TYPE", "text/html"),
    ("json_field_names", "proto", "LAMBDA_KIT_PROTOBUF_JSON_FIELD_NAMES", "camel"),
    ("json_include_defaults", True, "LAMBDA_KIT_PROTOBUF_JSON_INCLUDE_DEFAULTS", "yes"),
    ("json_ignore_unknown_fields", True, "LAMBDA_KIT_PROTOBUF_JSON_IGNORE_UNKNOWN_FIELDS", 1),
    ("gzip", True, "LAMBDA_KIT_PROTOBUF_GZIP", "false"),
    ("gzip_level", 9, "LAMBDA_KIT_PROTOBUF_GZIP_LEVEL", 12),
    ("gzip_min_bytes", 0, "LAMBDA_KIT_PROTOBUF_GZIP_MIN_BYTES", -1),
]
CODEC_NAMES = [setting[0] for setting in CODEC_SETTINGS]
NUMBERS = [
    ("gzip_level", "LAMBDA_KIT_PROTOBUF_GZIP_LEVEL"),
    ("gzip_min_bytes", "LAMBDA_KIT_PROTOBUF_GZIP_MIN_BYTES"),
]


@pytest.mark.parametrize(("argument", "good", "variable", "bad"), CODEC_SETTINGS, ids=CODEC_NAMES)
def test_an_invalid_codec_setting_is_named_by_its_argument(
    argument: str, good: Any, variable: str, bad: Any
) -> None:
    ProtobufCodec(**{argument: good})
    with pytest.raises(ConfigurationError) as caught:
        ProtobufCodec(**{argument: bad})

    assert str(caught.value).startswith(f"Invalid {argument}={bad!r}; expected ")
    assert "protobuf_" not in str(caught.value)
    assert caught.value.context["argument"] == argument
    assert caught.value.context["setting"] == f"protobuf_{argument}"


def test_codec_gzip_level_message() -> None:
    with pytest.raises(ConfigurationError) as caught:
        ProtobufCodec(gzip_level=12)
    assert str(caught.value) == "Invalid gzip_level=12; expected an integer from 1 to 9."


@pytest.mark.parametrize("value", [True, False])
@pytest.mark.parametrize(("argument", "variable"), NUMBERS)
def test_codec_numbers_refuse_bools(argument: str, variable: str, value: bool) -> None:
    # True == 1: gzip_level=True was accepted before, as level 1.
    with pytest.raises(ConfigurationError, match=f"^Invalid {argument}={value}; "):
        ProtobufCodec(**{argument: value})


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 6.0])
@pytest.mark.parametrize(("argument", "variable"), NUMBERS)
def test_codec_numbers_refuse_floats_and_non_finite(argument: str, variable: str, value: float) -> None:
    with pytest.raises(ConfigurationError, match=f"^Invalid {argument}="):
        ProtobufCodec(**{argument: value})


@pytest.mark.parametrize(("argument", "good", "variable", "bad"), CODEC_SETTINGS, ids=CODEC_NAMES)
def test_an_invalid_codec_variable_is_named_by_the_variable(
    monkeypatch: pytest.MonkeyPatch, argument: str, good: Any, variable: str, bad: Any
) -> None:
    monkeypatch.setenv(variable, "nonsense")
    with pytest.raises(ConfigurationError) as caught:
        ProtobufCodec()

    assert str(caught.value).startswith(f"Invalid {variable}='nonsense'")
    assert caught.value.context["variable"] == variable
    assert caught.value.context["argument"] == argument


@pytest.mark.parametrize(("argument", "good", "variable", "bad"), CODEC_SETTINGS, ids=CODEC_NAMES)
def test_codec_none_means_not_given(
    monkeypatch: pytest.MonkeyPatch, argument: str, good: Any, variable: str, bad: Any
) -> None:
    monkeypatch.setenv(variable, "nonsense")
    with pytest.raises(ConfigurationError, match=variable):
        ProtobufCodec(**{argument: None})  # the variable is read, as when the argument is left out
    monkeypatch.delenv(variable)
    assert repr(ProtobufCodec(**{argument: None})) == repr(ProtobufCodec())


def test_codec_signature_takes_none_for_every_setting() -> None:
    import inspect

    parameters = inspect.signature(ProtobufCodec).parameters
    assert sorted(parameters) == sorted(CODEC_NAMES)
    assert all(parameter.default is None for parameter in parameters.values())


def test_codec_is_safe_to_share_between_threads() -> None:
    codec = ProtobufCodec(gzip=True, gzip_min_bytes=10)
    order = make_order()
    accepts = ["application/x-protobuf", "application/json", "application/protobuf", "*/*", "text/html"]
    failures: list[str] = []

    def worker(offset: int) -> None:
        for round_ in range(50):
            accept = accepts[(offset + round_) % len(accepts)]
            event = make_event(
                "rest_v1", headers={"Accept": accept, "Accept-Encoding": f"gzip;q=0.{round_ % 9 + 1}"}
            )
            response = codec.encode_response(order, event)
            if accept == "text/html":
                ok = response["statusCode"] == 406
            elif accept == "application/json" or accept == "*/*":
                ok = json_format.Parse(client_bytes(response).decode(), orders_pb2.Order()) == order
            else:
                ok = orders_pb2.Order.FromString(client_bytes(response)) == order
            if not ok:
                failures.append(accept)

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []


# -- import cost ------------------------------------------------------------------------------


def test_binary_responses_never_import_json_format() -> None:
    env = {
        name: value for name, value in os.environ.items() if not name.startswith(("COV_CORE_", "COVERAGE_"))
    }
    code = (
        "import sys\n"
        "sys.path.insert(0, 'tests/protos')\n"
        "import orders_pb2\n"
        "from lambda_kit.protobuf import encode_response, decode_request\n"
        "event = {'version': '2.0', 'headers': {'accept': 'application/x-protobuf',\n"
        "         'content-type': 'application/x-protobuf'}, 'body': '', 'isBase64Encoded': True}\n"
        "encode_response(decode_request(event, orders_pb2.OrderQuery), event)\n"
        "assert 'google.protobuf.json_format' not in sys.modules\n"
        "event['headers']['accept'] = 'application/json'\n"
        "encode_response(orders_pb2.OrderQuery(), event)\n"
        "assert 'google.protobuf.json_format' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-W", "error", "-c", code], env=env, cwd=ROOT, check=True)


def test_json_body_whose_escaping_crosses_the_limit_is_caught() -> None:
    # 1.6 M quotes: a 3.2 MB ProtoJSON body (each '"' is '\\"'), 6.4 MB once Lambda escapes it again.
    order = orders_pb2.Order(order_id="q", customer_id='"' * 1_600_000)
    event = make_event("http_v2", headers={"Accept": "application/json"})
    with pytest.raises(ResponseTooLargeError) as info:
        encode_response(order, event)
    assert info.value.size > protobuf.LAMBDA_RESPONSE_LIMIT
    assert info.value.media_type == "application/json"


def test_alb_json_body_whose_escaping_crosses_one_megabyte_is_caught() -> None:
    event = make_event("alb", headers={"Accept": "application/json"})
    with pytest.raises(ResponseTooLargeError) as info:
        encode_response(orders_pb2.Order(order_id="q", customer_id="\\" * 270_000), event)
    assert info.value.limit == protobuf.ALB_RESPONSE_LIMIT
    response = encode_response(orders_pb2.Order(order_id="q", customer_id="\\" * 200_000), event)
    assert len(json.dumps(response)) <= protobuf.ALB_RESPONSE_LIMIT


def test_large_caller_headers_count_towards_the_limit() -> None:
    event = make_event("http_v2", headers={"Accept": "application/x-protobuf"})
    room = protobuf.LAMBDA_RESPONSE_LIMIT - 16_384
    order = big_order((room - 200) * 3 // 4 - 8)  # its base64 body alone is just under the cheap bound
    with pytest.raises(ResponseTooLargeError):
        encode_response(order, event, headers={"X-Big": "h" * 20_000})
    response = encode_response(order, event, headers={"X-Small": "é"})  # exact check, within the limit
    assert len(json.dumps(response)) <= protobuf.LAMBDA_RESPONSE_LIMIT
