"""Property tests: any Accept header, any body, any content type gives a documented outcome.

Documented outcomes of ``encode_response``: a 200 response in one of MEDIA_TYPES
that the client accepts at the highest q it gave any of them, or a 406 response;
of ``decode_request``: a message, ProtobufDecodeError (400) or
UnsupportedMediaTypeError (415). Nothing else may escape.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from google.protobuf import json_format
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from protos import orders_pb2
from test_proxy_events import KINDS, make_event

from lambda_kit import _proxy_events
from lambda_kit.exceptions import ProtobufDecodeError, UnsupportedMediaTypeError
from lambda_kit.protobuf import MEDIA_TYPES, ProtobufCodec

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CODEC = ProtobufCodec(gzip=True, gzip_min_bytes=64)

ranges = st.sampled_from(
    [
        "application/x-protobuf",
        "application/protobuf",
        "application/json",
        "APPLICATION/JSON",
        "application/*",
        "*/*",
        "*",
        "text/html",
        "text/*",
        "image/webp",
        "application/xml",
        "*/json",
        "junk",
        "",
        "/",
    ]
)
qvalues = st.one_of(
    st.none(),
    st.sampled_from(["0", "0.0", "1", "1.000", "0.5", "0.001", ".5", "2", "-1", "nan", "abc", ""]),
    st.floats(min_value=0, max_value=1).map(lambda value: f"{value:.3f}"),
)


@st.composite
def accept_headers(draw: st.DrawFn) -> str:
    parts = []
    for media_range, q in draw(st.lists(st.tuples(ranges, qvalues), max_size=6)):
        params = draw(st.sampled_from(["", ";level=1", "; charset=utf-8"]))
        parts.append(media_range + params + ("" if q is None else f";q={q}"))
    separator = draw(st.sampled_from([",", ", ", " ,"]))
    return separator.join(parts)


def oracle_quality(header: str, offer: str) -> float:
    """The q a client gives ``offer``: from the most specific valid range matching it (0 when none)."""
    kind, subtype = offer.split("/")
    best_level, best_q = -1, 0.0
    for element in header.split(","):
        media, *params = [part.strip() for part in element.split(";")]
        media = "*/*" if media.lower() == "*" else media.lower()
        if media.count("/") != 1:
            continue
        range_kind, range_subtype = media.split("/")
        q = 1.0
        for param in params:
            if param.partition("=")[0].strip().lower() == "q":
                try:
                    q = float(param.partition("=")[2])
                except ValueError:
                    q = -1.0
                break
        if (
            not 0.0 <= q <= 1.0
            or not range_kind
            or not range_subtype
            or (range_kind == "*" and range_subtype != "*")
        ):
            continue
        level = (
            2
            if (range_kind, range_subtype) == (kind, subtype)
            else 1
            if (range_kind, range_subtype) == (kind, "*")
            else 0
            if range_kind == "*"
            else -1
        )
        if level > best_level:
            best_level, best_q = level, q
    return best_q


def read_body(response: dict[str, Any]) -> bytes:
    data = (
        base64.b64decode(response["body"], validate=True)
        if response["isBase64Encoded"]
        else response["body"].encode()
    )
    headers = response.get("headers") or {
        name: values[0] for name, values in response["multiValueHeaders"].items()
    }
    if headers.get("Content-Encoding") == "gzip":
        import gzip

        data = gzip.decompress(data)
    return data


ORDER = orders_pb2.Order(
    order_id="o-1", customer_id="c", items=[orders_pb2.LineItem(sku=f"s{i}") for i in range(9)]
)


@SETTINGS
@given(
    accept=accept_headers(), kind=st.sampled_from(KINDS), encoding=st.one_of(st.none(), st.text(max_size=30))
)
def test_any_accept_header_gives_a_documented_response(accept: str, kind: str, encoding: str | None) -> None:
    headers = {"Accept": accept}
    if encoding is not None:
        headers["Accept-Encoding"] = encoding
    event = make_event(kind, headers=headers)

    response = CODEC.encode_response(ORDER, event)

    got = response.get("headers") or {
        name: values[0] for name, values in response["multiValueHeaders"].items()
    }
    offered = {offer: oracle_quality(accept, offer) for offer in MEDIA_TYPES}
    parseable = bool(_proxy_events.parse_accept(accept))
    if response["statusCode"] == 406:
        assert parseable
        assert max(offered.values()) <= 0.0
        assert json.loads(response["body"])["acceptable"] == list(MEDIA_TYPES)
        return
    assert response["statusCode"] == 200
    chosen = got["Content-Type"]
    assert chosen in MEDIA_TYPES
    if parseable:
        assert offered[chosen] == max(offered.values()) > 0.0
    else:
        assert chosen == "application/json"  # the default when nothing in Accept parses
    data = read_body(response)
    if chosen == "application/json":
        assert json_format.Parse(data.decode(), orders_pb2.Order()) == ORDER
    else:
        assert orders_pb2.Order.FromString(data) == ORDER


@SETTINGS
@given(header=st.text(max_size=80))
def test_junk_accept_never_raises(header: str) -> None:
    result = _proxy_events.negotiate(header, list(MEDIA_TYPES))
    assert result is None or result in MEDIA_TYPES
    assert isinstance(_proxy_events.token_accepted(header, "gzip"), bool)


def decode_outcome(event: dict[str, Any]) -> str:
    caught: ProtobufDecodeError | None = None
    try:
        CODEC.decode_request(event, orders_pb2.Order)
    except ProtobufDecodeError as error:  # UnsupportedMediaTypeError included
        caught = error
    if caught is None:
        return "ok"
    if isinstance(caught, UnsupportedMediaTypeError):
        assert caught.status_code == 415
        return "415"
    assert caught.status_code == 400
    assert caught.reason in ("base64", "text", "protobuf", "json", "empty")
    return "400"


content_types = st.one_of(
    st.sampled_from(
        [
            "application/x-protobuf",
            "application/protobuf",
            "application/json",
            "application/json; charset=utf-8",
            "application/vnd.api+json",
            "text/plain",
            "",
        ]
    ),
    st.text(max_size=40),
)


@SETTINGS
@given(
    kind=st.sampled_from(KINDS),
    content_type=content_types,
    body=st.one_of(st.binary(max_size=200), st.text(max_size=200)),
)
def test_any_body_and_content_type_gives_a_documented_outcome(
    kind: str, content_type: str, body: bytes | str
) -> None:
    event = make_event(kind, headers={"Content-Type": content_type}, body=body)

    outcome = decode_outcome(event)

    media = _proxy_events.media_type_of(content_type)
    if media not in (
        "",
        "application/x-protobuf",
        "application/protobuf",
        "application/json",
    ) and not media.endswith("+json"):
        assert outcome == "415"


@SETTINGS
@given(kind=st.sampled_from(KINDS), cut=st.integers(min_value=1, max_value=400), junk=st.text(max_size=5))
def test_truncated_or_corrupted_base64_is_a_400_or_a_message(kind: str, cut: int, junk: str) -> None:
    event = make_event(
        kind, headers={"Content-Type": "application/x-protobuf"}, body=ORDER.SerializeToString()
    )
    event["body"] = event["body"][:-cut] + junk

    assert decode_outcome(event) in ("ok", "400")


@SETTINGS
@given(
    kind=st.sampled_from(KINDS),
    order_id=st.text(max_size=30),
    units=st.integers(min_value=-(2**63), max_value=2**63 - 1),
    skus=st.lists(st.text(max_size=10), max_size=5),
    signature=st.binary(max_size=50),
    media_type=st.sampled_from(MEDIA_TYPES),
)
def test_messages_round_trip_both_ways(
    kind: str, order_id: str, units: int, skus: list[str], signature: bytes, media_type: str
) -> None:
    order = orders_pb2.Order(
        order_id=order_id, signature=signature, items=[orders_pb2.LineItem(sku=sku) for sku in skus]
    )
    order.total.units = units

    response = CODEC.encode_response(
        order, make_event(kind, headers={"Accept": media_type, "Accept-Encoding": "gzip"})
    )
    data = read_body(response)
    if media_type == "application/json":
        request = make_event(kind, headers={"Content-Type": media_type}, body=data.decode())
    else:
        request = make_event(kind, headers={"Content-Type": media_type}, body=data)

    assert CODEC.decode_request(request, orders_pb2.Order) == order


@SETTINGS
@given(
    ranges=st.lists(
        st.tuples(
            st.sampled_from(["application/json", "application/x-protobuf", "text/*", "*/*"]),
            st.sampled_from(["", ";q=0", ";q=0.5", ";q=1"]),
            st.text(alphabet=st.sampled_from(' ,;=abq0."\\'), max_size=12),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_quoted_parameters_never_change_the_ranges(ranges: list[tuple[str, str, str]]) -> None:
    """A quoted parameter value, whatever it holds (commas, semicolons, escaped quotes), is skipped whole."""
    plain = ", ".join(media + q for media, q, _ in ranges)
    quoted = ", ".join(
        f'{media};ext="{value.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"{q}'
        for media, q, value in ranges
    )

    assert _proxy_events.parse_accept(quoted) == _proxy_events.parse_accept(plain)
