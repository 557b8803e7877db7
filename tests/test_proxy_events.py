"""Sample HTTP events of the four Lambda integrations, and tests of lambda_kit._proxy_events.

The factories here build events field for field as each integration sends them
(written for these tests from the documented formats), with the request headers a
test asks for placed the way that integration places them: REST v1 keeps the
client's header case and fills both ``headers`` and ``multiValueHeaders``; HTTP
API v2 and function URLs lower-case names and join repeated headers with commas;
an ALB lower-cases names and uses either ``headers`` or ``multiValueHeaders``.
Other protobuf test modules import them.
"""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lambda_kit import _proxy_events as events

KINDS = ["rest_v1", "http_v2", "function_url", "alb", "alb_multi"]

_TIME_EPOCH = 1795784400000


def _client_headers(extra: dict[str, list[str]]) -> list[tuple[str, str]]:
    base = [
        ("Host", "placeholder"),
        ("User-Agent", "orders-client/2.4 (python-requests)"),
        ("X-Amzn-Trace-Id", "Root=1-6745c1a0-1f2e3d4c5b6a79880f1e2d3c"),
        ("X-Forwarded-For", "203.0.113.10"),
        ("X-Forwarded-Port", "443"),
        ("X-Forwarded-Proto", "https"),
    ]
    return base + [(name, value) for name, values in extra.items() for value in values]


def _single(pairs: list[tuple[str, str]], *, lower: bool) -> dict[str, str]:
    joined: dict[str, list[str]] = {}
    for name, value in pairs:
        joined.setdefault(name.lower() if lower else name, []).append(value)
    # v2 joins repeated headers with commas; REST v1's `headers` keeps only the last value.
    return {name: (",".join(values) if lower else values[-1]) for name, values in joined.items()}


def _multi(pairs: list[tuple[str, str]], *, lower: bool) -> dict[str, list[str]]:
    joined: dict[str, list[str]] = {}
    for name, value in pairs:
        joined.setdefault(name.lower() if lower else name, []).append(value)
    return joined


def make_event(
    kind: str,
    *,
    headers: dict[str, str | list[str]] | None = None,
    body: str | bytes | None = None,
    method: str = "POST",
) -> dict[str, Any]:
    """An event of ``kind`` (one of KINDS) with these request headers and body.

    A ``bytes`` body is sent base64-encoded with ``isBase64Encoded: true``, as the
    integrations pass binary bodies; a ``str`` body as text.
    """
    extra = {name: value if isinstance(value, list) else [value] for name, value in (headers or {}).items()}
    pairs = _client_headers(extra)
    if isinstance(body, bytes):
        body_text: str | None = base64.b64encode(body).decode("ascii")
        is_base64 = True
    else:
        body_text, is_base64 = body, False
    if kind == "rest_v1":
        host = "abcdef1234.execute-api.eu-west-1.amazonaws.com"
        pairs[0] = ("Host", host)
        return {
            "resource": "/orders",
            "path": "/orders",
            "httpMethod": method,
            "headers": _single(pairs, lower=False),
            "multiValueHeaders": _multi(pairs, lower=False),
            "queryStringParameters": {"expand": "items"},
            "multiValueQueryStringParameters": {"expand": ["items"]},
            "pathParameters": None,
            "stageVariables": None,
            "requestContext": {
                "resourceId": "k3j9x2",
                "resourcePath": "/orders",
                "httpMethod": method,
                "extendedRequestId": "Cx1yZGBqoAMFTdw=",
                "requestTime": "26/Nov/2026:13:00:00 +0000",
                "path": "/prod/orders",
                "accountId": "123456789012",
                "protocol": "HTTP/1.1",
                "stage": "prod",
                "domainPrefix": "abcdef1234",
                "requestTimeEpoch": _TIME_EPOCH,
                "requestId": "3f0c8c3e-5d1a-4a55-9d0e-7f1b2c3d4e5f",
                "identity": {
                    "cognitoIdentityPoolId": None,
                    "accountId": None,
                    "cognitoIdentityId": None,
                    "caller": None,
                    "sourceIp": "203.0.113.10",
                    "principalOrgId": None,
                    "accessKey": None,
                    "cognitoAuthenticationType": None,
                    "cognitoAuthenticationProvider": None,
                    "userArn": None,
                    "userAgent": "orders-client/2.4 (python-requests)",
                    "user": None,
                },
                "domainName": host,
                "apiId": "abcdef1234",
            },
            "body": body_text,
            "isBase64Encoded": is_base64,
        }
    if kind in ("http_v2", "function_url"):
        if kind == "http_v2":
            api_id, host, route, stage = (
                "r2d2c3po4x",
                "r2d2c3po4x.execute-api.eu-west-1.amazonaws.com",
                f"{method} /orders",
                "$default",
            )
            account = "123456789012"
        else:
            api_id = "q7w5bkd4mvdqdjyq3kxmt4lj5e0ghtvn"
            host = f"{api_id}.lambda-url.eu-west-1.on.aws"
            route, stage, account = "$default", "$default", "anonymous"
        pairs[0] = ("Host", host)
        return {
            "version": "2.0",
            "routeKey": route,
            "rawPath": "/orders",
            "rawQueryString": "expand=items",
            "cookies": ["session=7c1e2f", "theme=dark"],
            "headers": _single(pairs, lower=True),
            "queryStringParameters": {"expand": "items"},
            "requestContext": {
                "accountId": account,
                "apiId": api_id,
                "domainName": host,
                "domainPrefix": api_id,
                "http": {
                    "method": method,
                    "path": "/orders",
                    "protocol": "HTTP/1.1",
                    "sourceIp": "203.0.113.10",
                    "userAgent": "orders-client/2.4 (python-requests)",
                },
                "requestId": "Cx2AbHBqoAMEbQg=",
                "routeKey": route,
                "stage": stage,
                "time": "26/Nov/2026:13:00:00 +0000",
                "timeEpoch": _TIME_EPOCH,
            },
            "body": body_text,
            "isBase64Encoded": is_base64,
        }
    if kind in ("alb", "alb_multi"):
        pairs[0] = ("Host", "orders-alb-1234567890.eu-west-1.elb.amazonaws.com")
        event: dict[str, Any] = {
            "requestContext": {
                "elb": {
                    "targetGroupArn": (
                        "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/orders/6d0ecf831eec9f09"
                    )
                }
            },
            "httpMethod": method,
            "path": "/orders",
        }
        if kind == "alb":
            event["queryStringParameters"] = {"expand": "items"}
            event["headers"] = _single(pairs, lower=True)
        else:
            event["multiValueQueryStringParameters"] = {"expand": ["items"]}
            event["multiValueHeaders"] = _multi(pairs, lower=True)
        event["body"] = body_text if body_text is not None else ""
        event["isBase64Encoded"] = is_base64
        return event
    raise ValueError(kind)


def integration_of(kind: str) -> str:
    return "alb" if kind == "alb_multi" else kind


def multi_value(kind: str) -> bool:
    return kind in ("rest_v1", "alb_multi")


# -- the factories themselves ---------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_sample_events_have_their_integrations_markers(kind: str) -> None:
    event = make_event(kind, headers={"Accept": "application/json"})

    assert events.detect_integration(event) == integration_of(kind)
    assert events.uses_multi_value_headers(event) is multi_value(kind)
    if kind in ("http_v2", "function_url"):
        assert all(name == name.lower() for name in event["headers"])
        assert event["cookies"]
    if kind == "function_url":
        assert event["requestContext"]["domainName"].endswith(".lambda-url.eu-west-1.on.aws")
    if kind == "alb_multi":
        assert "headers" not in event


# -- detection and headers ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (None, "unknown"),
        ([], "unknown"),
        ({}, "unknown"),
        ({"requestContext": "junk", "httpMethod": "GET"}, "rest_v1"),
        ({"version": "1.0", "httpMethod": "GET", "requestContext": {}}, "rest_v1"),
        ({"version": "2.0", "requestContext": None}, "http_v2"),
        ({"version": "2.0", "requestContext": {"domainName": 7}}, "http_v2"),
        ({"requestContext": {"elb": {}}, "httpMethod": "GET"}, "alb"),
    ],
)
def test_detect_integration_of_odd_events(event: Any, expected: str) -> None:
    assert events.detect_integration(event) == expected


def test_header_lookup_is_case_insensitive_in_every_shape() -> None:
    for kind in KINDS:
        event = make_event(kind, headers={"Accept": "application/x-protobuf"})
        for name in ("Accept", "accept", "ACCEPT"):
            assert events.get_header(event, name) == "application/x-protobuf", (kind, name)
        assert events.get_header(event, "Accept-Encoding") is None


def test_repeated_headers_are_joined() -> None:
    values = ["application/x-protobuf", "application/json;q=0.5"]
    for kind in KINDS:
        event = make_event(kind, headers={"Accept": values})
        joined = events.get_header(event, "accept")
        assert joined is not None
        assert [part.strip() for part in joined.split(",")] == values, kind


def test_header_lookup_survives_malformed_headers() -> None:
    assert events.get_header(None, "Accept") is None
    assert events.get_header({"headers": "junk"}, "Accept") is None
    assert events.get_header({"headers": {"Accept": 5}}, "Accept") is None
    assert events.get_header({"headers": {7: "x", "ACCEPT": "a/b"}}, "Accept") == "a/b"
    assert events.get_header(
        {"multiValueHeaders": {"Accept": [1, None]}, "headers": {"accept": "c/d"}}, "Accept"
    ) == ("c/d")
    assert events.get_header({"multiValueHeaders": {"Accept": "a/b"}}, "Accept") == "a/b"
    assert events.get_header({"multiValueHeaders": {"Accept": [3, "a/b"]}}, "Accept") == "a/b"


HEADER_NAMES = st.sampled_from(["Accept", "accept", "ACCEPT", "Content-Type", "content-type", "X"])
HEADER_VALUES = st.one_of(
    st.text(max_size=5), st.none(), st.integers(), st.lists(st.text(max_size=3), max_size=2)
)


@given(
    headers=st.one_of(
        st.none(), st.text(max_size=3), st.dictionaries(HEADER_NAMES, HEADER_VALUES, max_size=3)
    ),
    multi=st.one_of(
        st.none(),
        st.just({}),
        st.text(max_size=3),
        st.dictionaries(
            HEADER_NAMES, st.one_of(HEADER_VALUES, st.lists(HEADER_VALUES, max_size=3)), max_size=3
        ),
    ),
    name=st.sampled_from(["Accept", "Content-Type", "X"]),
)
def test_fast_header_always_equals_get_header(headers: Any, multi: Any, name: str) -> None:
    event = {
        key: value for key, value in (("headers", headers), ("multiValueHeaders", multi)) if value is not None
    }
    assert events.fast_header(event, name, name.lower()) == events.get_header(event, name)


@pytest.mark.parametrize("kind", KINDS)
def test_fast_header_in_every_shape(kind: str) -> None:
    event = make_event(kind, headers={"Accept": "a/b"})
    assert events.fast_header(event, "Accept", "accept") == "a/b"
    event = make_event(kind, headers={"Accept": ["a/b", "c/d"]})
    assert events.fast_header(event, "Accept", "accept") == events.get_header(event, "Accept")


@pytest.mark.parametrize(
    ("event", "integration", "expected"),
    [
        ({"httpMethod": "get", "path": "/a%20b"}, "rest_v1", ("GET", "/a%20b", True)),
        ({"httpMethod": "GET", "path": "/plain"}, "rest_v1", ("GET", "/plain", False)),
        ({"httpMethod": "GET", "path": "/a%20b", "version": "1.0"}, "rest_v1", ("GET", "/a%20b", False)),
        ({"httpMethod": "GET", "path": "/a%20b", "version": "1.0"}, "alb", ("GET", "/a%20b", True)),
        (
            {"rawPath": "/prod/x", "requestContext": {"stage": "prod", "http": {"method": "POST"}}},
            "http_v2",
            ("POST", "/x", False),
        ),
        (
            {"rawPath": "/prod", "requestContext": {"stage": "prod", "http": {"method": "POST"}}},
            "function_url",
            ("POST", "/", False),
        ),
        (
            {"rawPath": "/production/x", "requestContext": {"stage": "prod", "http": {"method": "GET"}}},
            "http_v2",
            ("GET", "/production/x", False),
        ),
        (
            {"rawPath": "/$default/x", "requestContext": {"stage": "$default", "http": {"method": "GET"}}},
            "http_v2",
            ("GET", "/$default/x", False),
        ),
        ({"rawPath": "/x", "requestContext": {"http": "junk"}}, "http_v2", None),
        ({"rawPath": "/x", "requestContext": None}, "http_v2", None),
        ({"httpMethod": "GET"}, "rest_v1", None),
        ({"httpMethod": 5, "path": "/"}, "alb", None),
    ],
)
def test_method_and_path(event: dict[str, Any], integration: str, expected: Any) -> None:
    assert events.method_and_path(event, integration) == expected


def test_multi_value_requires_a_dict_and_not_v2() -> None:
    assert not events.uses_multi_value_headers({"multiValueHeaders": None})
    assert not events.uses_multi_value_headers({"version": "2.0", "multiValueHeaders": {}})
    assert events.uses_multi_value_headers({"multiValueHeaders": {}})


# -- bodies ---------------------------------------------------------------------------------


def test_decode_body() -> None:
    assert events.decode_body({"body": None}) == b""
    assert events.decode_body({}) == b""
    assert events.decode_body("junk") == b""
    assert events.decode_body({"body": "h\u00e9"}) == "h\u00e9".encode()
    assert events.decode_body({"body": "AAEC", "isBase64Encoded": True}) == b"\x00\x01\x02"
    with pytest.raises(ValueError, match="not a string"):
        events.decode_body({"body": 5})
    for bad in ("AAE", "AA=C", "AA\nEC", "\u00e9\u00e9\u00e9\u00e9"):
        with pytest.raises(ValueError):  # noqa: PT011 - binascii.Error and friends, all ValueError
            events.decode_body({"body": bad, "isBase64Encoded": True})


def test_encode_base64_round_trips() -> None:
    data = bytes(range(256)) * 3
    assert base64.b64decode(events.encode_base64(data)) == data
    assert "\n" not in events.encode_base64(data)


def test_media_type_of() -> None:
    assert events.media_type_of(None) == ""
    assert events.media_type_of("") == ""
    assert events.media_type_of(" Application/X-Protobuf ; proto=a.B") == "application/x-protobuf"


# -- Accept ---------------------------------------------------------------------------------

OFFERS = ["application/json", "application/x-protobuf", "application/protobuf"]


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "application/json"),
        ("", "application/json"),
        ("*/*", "application/json"),
        ("*", "application/json"),
        ("application/*", "application/json"),
        ("junk, ;;;, /", "application/json"),
        ("application/x-protobuf", "application/x-protobuf"),
        ("APPLICATION/PROTOBUF", "application/protobuf"),
        ("application/json;q=0.5, application/x-protobuf", "application/x-protobuf"),
        ("application/x-protobuf, application/json", "application/x-protobuf"),
        ("application/json, application/x-protobuf", "application/json"),
        ("application/protobuf, application/x-protobuf", "application/protobuf"),
        ("application/x-protobuf;q=0, */*", "application/json"),
        ("application/json;q=0, */*;q=0.1", "application/x-protobuf"),
        ("application/json;q=0, application/*;q=0.3, */*;q=0.9", "application/x-protobuf"),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "application/json"),
        ("application/x-protobuf;q=1.5, application/json;q=0.2", "application/json"),
        ("application/x-protobuf;q=abc, application/json;q=0.2", "application/json"),
        ("application/x-protobuf; messageType=a.B; q=0.4, application/json;q=0.3", "application/x-protobuf"),
        ("text/html", None),
        ("*/*;q=0", None),
        ("application/json;q=0, application/x-protobuf;q=0, application/protobuf;q=0", None),
    ],
)
def test_negotiate(accept: str | None, expected: str | None) -> None:
    assert events.negotiate(accept, OFFERS) == expected


def test_negotiate_keeps_the_servers_order_for_wildcards() -> None:
    assert events.negotiate("*/*", ["application/x-protobuf", "application/json"]) == "application/x-protobuf"


def test_parse_accept_skips_junk() -> None:
    assert events.parse_accept("*/json, a/b/c, /x, x/, text/*;q=0.25;level=1, *;q=nan") == [
        ("text", "*", 0.25)
    ]


def test_token_accepted() -> None:
    assert not events.token_accepted(None, "gzip")
    assert not events.token_accepted("", "gzip")
    assert events.token_accepted("gzip, deflate, br", "gzip")
    assert not events.token_accepted("gzip;q=x", "gzip")
    assert events.token_accepted("GZIP;q=0.5", "gzip")
    assert not events.token_accepted("gzip;q=0", "gzip")
    assert not events.token_accepted("gzip;q=0, *", "gzip")
    assert events.token_accepted("x-gzip", "gzip", "x-gzip")
    assert events.token_accepted("br, *;q=0.1", "gzip")
    assert not events.token_accepted("br, *;q=0", "gzip")
    assert not events.token_accepted("identity", "gzip")
    assert events.token_accepted("gzip;q=0, x-gzip;q=1", "gzip", "x-gzip")


# -- responses ------------------------------------------------------------------------------


def test_status_description() -> None:
    assert events.status_description(200) == "200 OK"
    assert events.status_description(418) == "418 I'm a Teapot"
    assert events.status_description(299) == "299"


def test_build_response_shapes() -> None:
    headers = {"Content-Type": "text/plain"}
    plain = events.build_response("http_v2", 201, dict(headers), "hi", False, False)
    assert plain == {"statusCode": 201, "headers": headers, "body": "hi", "isBase64Encoded": False}
    alb = events.build_response("alb", 404, dict(headers), "", False, True)
    assert alb == {
        "statusCode": 404,
        "statusDescription": "404 Not Found",
        "multiValueHeaders": {"Content-Type": ["text/plain"]},
        "body": "",
        "isBase64Encoded": False,
    }


def test_factories_do_not_share_state() -> None:
    first = make_event("rest_v1", headers={"Accept": "a/b"})
    second = copy.deepcopy(first)
    first["headers"]["Accept"] = "c/d"
    assert make_event("rest_v1", headers={"Accept": "a/b"}) == second


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ('application/json;foo="a,b";q=0.1, application/x-protobuf;q=0.5', "application/x-protobuf"),
        ('application/json;foo="a;q=0";q=0.1, application/x-protobuf;q=0.5', "application/x-protobuf"),
        ('application/json;foo="a\\",b";q=0.1, application/x-protobuf;q=0.5', "application/x-protobuf"),
        ('application/x-protobuf;foo="x,y", application/json', "application/x-protobuf"),
        ('application/json;foo="unterminated, application/x-protobuf', "application/json"),
    ],
)
def test_commas_and_semicolons_inside_quoted_parameters(accept: str, expected: str) -> None:
    assert events.negotiate(accept, OFFERS) == expected


def test_quoted_parameters_in_weighted_tokens() -> None:
    assert events.parse_weighted_tokens('gzip;x="a,b";q=0, br') == [("gzip", 0.0), ("br", 1.0)]
    assert not events.token_accepted('gzip;x="a,b";q=0, br', "gzip")
