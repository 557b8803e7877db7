"""URL semantics as each integration delivers them: paths, segments, query strings, cookies, bodies.

API Gateway REST APIs, ALB, HTTP API payload 2.0 (``rawPath``) and function URLs deliver
the path percent-encoded, as the client sent it; HTTP API payload 1.0 delivers it
decoded. HTTP APIs and function URLs join repeated query names with commas in
``queryStringParameters`` and keep the query as sent in ``rawQueryString``; REST APIs
decode the query; ALB passes it encoded. Whatever the integration, the core must get
the same values: the property test at the end builds one request four ways.
"""

from __future__ import annotations

import base64
import enum
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import quote, quote_plus

import pydantic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lambda_kit.exceptions import ConfigurationError
from lambda_kit.handler import Query, Request, Response, http
from lambda_kit.testing import events, invoke, reset_lifecycle


@pytest.fixture(autouse=True)
def _fresh() -> None:
    reset_lifecycle()


def _json(response: dict[str, Any]) -> Any:
    assert response["isBase64Encoded"] is False
    return json.loads(response["body"])


# Each factory takes the path as the client sent it (percent-encoded).
ENCODED_PATH_SHAPES = {
    "rest_v1": events.api_gateway_v1,
    "http_v2": events.api_gateway_v2,
    "function_url": events.function_url,
    "alb": events.alb,
    "alb_multi": lambda method, path, **kw: events.alb(method, path, multi_value=True, **kw),
}


def echo_item(name: str) -> dict[str, str]:
    return {"name": name}


ITEMS = http({"GET /items/{name}": echo_item, "GET /files/{name}": echo_item})


@pytest.mark.parametrize("shape", sorted(ENCODED_PATH_SHAPES))
def test_percent_encoded_path_segment_reaches_core_decoded(shape: str) -> None:
    event = ENCODED_PATH_SHAPES[shape]("GET", "/items/foo%20bar%C3%A9")
    assert _json(invoke(ITEMS, event)) == {"name": "foo baré"}


@pytest.mark.parametrize("shape", sorted(ENCODED_PATH_SHAPES))
def test_encoded_slash_stays_inside_its_segment(shape: str) -> None:
    event = ENCODED_PATH_SHAPES[shape]("GET", "/files/foo%2Fbar")
    response = invoke(ITEMS, event)
    assert response["statusCode"] == 200
    assert _json(response) == {"name": "foo/bar"}


def test_http_api_payload_1_path_is_not_decoded_twice() -> None:
    # Payload 1.0 has decoded the path already: the client's "100%25" arrives as "100%".
    event = events.http_api_v1("GET", "/items/100%25")
    assert event["path"] == "/items/100%"
    assert _json(invoke(ITEMS, event)) == {"name": "100%"}
    twice = invoke(ITEMS, events.http_api_v1("GET", "/items/a%252541"))
    assert _json(twice) == {"name": "a%2541"}


def test_request_path_is_decoded_and_stage_stripped() -> None:
    seen: list[str] = []

    def core(request: Request) -> None:
        seen.append(request.path)

    handler = http(core)
    invoke(handler, events.api_gateway_v2("GET", "/prod/a%20b/c", stage="prod"))
    invoke(handler, events.api_gateway_v1("GET", "/a%20b/c"))
    assert seen == ["/a b/c", "/a b/c"]


def tz_and_pages(tz: str, page: int) -> dict[str, Any]:
    return {"tz": tz, "page": page}


def pages(page: Annotated[list[int], Query()], tag: Annotated[list[str] | None, Query()] = None) -> Any:
    return {"page": page, "tag": tag}


QUERY_SHAPES = {
    "rest_v1": events.api_gateway_v1,
    "http_api_v1": events.http_api_v1,
    **ENCODED_PATH_SHAPES,
}


@pytest.mark.parametrize("shape", sorted(QUERY_SHAPES))
def test_repeated_query_name_gives_last_value_to_scalar_and_every_value_to_list(shape: str) -> None:
    build = QUERY_SHAPES[shape]
    scalar = http({"GET /q": tz_and_pages})
    event = build("GET", "/q", query={"page": ["1", "2"], "tz": "+00:00"})
    assert _json(invoke(scalar, event)) == {"tz": "+00:00", "page": 2}
    listing = http({"GET /q": pages})
    # An ALB target group without multi-value headers passes only the last value of a name.
    every = [3] if shape == "alb" else [1, 2, 3]
    assert _json(invoke(listing, build("GET", "/q", query={"page": ["1", "2", "3"]}))) == {
        "page": every,
        "tag": None,
    }


def test_http_api_v2_plus_sign_encoded_as_2b_is_a_plus_not_a_space() -> None:
    handler = http({"GET /q": tz_and_pages})
    event = events.api_gateway_v2("GET", "/q")
    # What API Gateway delivers for ?tz=%2B00%3A00&page=1: the parameters cannot tell + from %2B.
    event["rawQueryString"] = "tz=%2B00%3A00&page=1"
    event["queryStringParameters"] = {"tz": "+00:00", "page": "1"}
    assert _json(invoke(handler, event)) == {"tz": "+00:00", "page": 1}
    event["rawQueryString"] = "tz=a+b&page=1"  # a form-encoded space
    assert _json(invoke(handler, event))["tz"] == "a b"


def test_http_api_v2_repeated_names_are_not_joined_with_commas() -> None:
    handler = http({"GET /q": pages})
    event = events.function_url("GET", "/q")
    event["rawQueryString"] = "page=1&page=2&tag=a%2Cb"
    event["queryStringParameters"] = {"page": "1,2", "tag": "a,b"}
    assert _json(invoke(handler, event)) == {"page": [1, 2], "tag": ["a,b"]}


def test_hand_made_v2_event_without_raw_query_string_still_reads_parameters() -> None:
    handler = http({"GET /q": tz_and_pages})
    event = {
        "version": "2.0",
        "rawPath": "/q",
        "requestContext": {"http": {"method": "GET"}, "stage": "$default"},
        "queryStringParameters": {"tz": "utc", "page": "3"},
    }
    assert _json(invoke(handler, event)) == {"tz": "utc", "page": 3}


def test_missing_required_list_query_parameter_is_a_400() -> None:
    handler = http({"GET /q": pages})
    response = invoke(handler, events.api_gateway_v2("GET", "/q"))
    assert response["statusCode"] == 400
    assert _json(response)["errors"][0]["loc"] == ["query", "page"]


def proxy(proxy: str) -> dict[str, str]:
    return {"proxy": proxy}


@pytest.mark.parametrize("shape", sorted(ENCODED_PATH_SHAPES))
def test_greedy_proxy_keeps_trailing_slash(shape: str) -> None:
    handler = http({"GET /beta/{proxy+}": proxy})
    build = ENCODED_PATH_SHAPES[shape]
    assert _json(invoke(handler, build("GET", "/beta/foo/"))) == {"proxy": "foo/"}
    assert _json(invoke(handler, build("GET", "/beta/foo/a%2Fb"))) == {"proxy": "foo/a/b"}
    assert invoke(handler, build("GET", "/beta/"))["statusCode"] == 404


class Priority(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Ratio(enum.Enum):
    HALF = 0.5
    ONE = 1.0


class Color(enum.Enum):
    RED = "red"


def by_priority(level: Priority, ratio: Annotated[Ratio, Query()], color: Annotated[Color, Query()]) -> Any:
    return {"level": level.name, "ratio": ratio.name, "color": color.name}


def test_int_enum_and_number_valued_enum_path_and_query_parameters() -> None:
    handler = http({"GET /tasks/{level}": by_priority})
    response = invoke(
        handler, events.api_gateway_v2("GET", "/tasks/2", query={"ratio": "0.5", "color": "red"})
    )
    assert _json(response) == {"level": "HIGH", "ratio": "HALF", "color": "RED"}
    response = invoke(handler, events.api_gateway_v2("GET", "/tasks/1", query={"ratio": "1", "color": "red"}))
    assert _json(response) == {"level": "LOW", "ratio": "ONE", "color": "RED"}
    bad = invoke(handler, events.api_gateway_v2("GET", "/tasks/3", query={"ratio": "1", "color": "red"}))
    assert bad["statusCode"] == 400
    assert _json(bad)["errors"] == [
        {"loc": ["path", "level"], "msg": "expected one of: 1, 2", "type": "enum"}
    ]


def by_number(count: int, ratio: float) -> dict[str, Any]:
    return {"count": count, "ratio": ratio}


@pytest.mark.parametrize(
    ("count", "ratio"),
    [
        ("1_000", "1"),
        ("١٢٣", "1"),
        (" 1", "1"),
        ("1", "nan"),
        ("1", "inf"),
        ("1", "1e999"),
        ("9" * 5000, "1"),
    ],
)
def test_numbers_in_urls_are_ascii_digits_and_finite(count: str, ratio: str) -> None:
    handler = http({"GET /n": by_number})
    response = invoke(handler, events.api_gateway_v2("GET", "/n", query={"count": count, "ratio": ratio}))
    assert response["statusCode"] == 400


def test_numbers_in_urls_accept_signs_and_exponents() -> None:
    handler = http({"GET /n": by_number})
    response = invoke(handler, events.api_gateway_v2("GET", "/n", query={"count": "+7", "ratio": "-1.5e2"}))
    assert _json(response) == {"count": 7, "ratio": -150.0}


@pytest.mark.parametrize(
    "routes",
    [
        ["GET /x", "get /x"],
        ["GET /x", "GET /x/"],
        ["GET /o/{order_id}", "GET /o/{id}"],
        ["ANY /o/{id}", "any /o/{other}"],
        ["GET /p/{rest+}", "GET /p/{proxy+}"],
    ],
)
def test_routes_that_can_never_be_reached_are_refused(routes: list[str]) -> None:
    def order(order_id: str = "", id: str = "", other: str = "", rest: str = "", proxy: str = "") -> None:  # noqa: A002
        return None

    with pytest.raises(ConfigurationError, match="can never be reached"):
        http(dict.fromkeys(routes, order))


@pytest.mark.parametrize(
    "template",
    ["/a/{proxy+}/b", "/a/x{id}", "/a/{id}/{id}", "/a//b", "/a/{}", "/a/{not-an-identifier}"],
)
def test_templates_that_cannot_match_are_refused(template: str) -> None:
    def core(id: str = "", proxy: str = "") -> None:  # noqa: A002
        return None

    with pytest.raises(ConfigurationError, match="Invalid route"):
        http({f"GET {template}": core})


def test_a_method_route_wins_over_any_on_the_same_path_whatever_the_order() -> None:
    def any_order(order_id: str) -> str:
        return "any"

    def get_order(order_id: str) -> str:
        return "get"

    handler = http({"ANY /o/{order_id}": any_order, "GET /o/{order_id}": get_order})
    assert invoke(handler, events.api_gateway_v2("GET", "/o/1"))["body"] == "get"
    assert invoke(handler, events.api_gateway_v2("DELETE", "/o/1"))["body"] == "any"


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no message for you")


def test_mapped_exception_whose_str_raises_still_gets_its_status() -> None:
    def core() -> None:
        raise Unprintable

    handler = http(core, errors={Unprintable: 409})
    response = invoke(handler, events.api_gateway_v2("GET", "/"))
    assert response["statusCode"] == 409
    assert _json(response) == {"message": "Unprintable", "error": "Unprintable"}


def test_unmapped_exception_whose_str_raises_is_a_500(caplog: pytest.LogCaptureFixture) -> None:
    def core() -> None:
        raise Unprintable

    response = invoke(http(core), events.api_gateway_v2("GET", "/"))
    assert response["statusCode"] == 500


def take_body(body: dict[str, Any]) -> dict[str, Any]:
    return body


def take_text(body: bytes) -> bytes:
    return body


@pytest.mark.parametrize("core", [take_body, take_text])
@pytest.mark.parametrize(
    ("body", "base64_encoded", "message"),
    [
        ({"a": 1}, False, "body is a JSON object, not a string"),
        (12, True, "body is a JSON number, not a string"),
        ("{not base64", True, "not valid base64"),
        ("é", True, "not valid base64"),
    ],
)
def test_unreadable_body_says_what_is_wrong(core: Any, body: Any, base64_encoded: bool, message: str) -> None:
    handler = http({"POST /b": core})
    event = events.api_gateway_v2("POST", "/b")
    event["body"] = body
    event["isBase64Encoded"] = base64_encoded
    response = invoke(handler, event)
    assert response["statusCode"] == 400
    assert message in _json(response)["message"]


def test_text_body_with_lone_surrogate_is_refused() -> None:
    event = events.api_gateway_v2("POST", "/b", headers={"content-type": "text/plain"})
    event["body"] = "ab\ud800"
    response = invoke(http({"POST /b": take_text}), event)
    assert response["statusCode"] == 400
    assert "not valid Unicode text" in _json(response)["message"]


def test_request_parameter_with_unreadable_body_says_what_is_wrong() -> None:
    def core(request: Request) -> None:
        return None

    event = events.api_gateway_v1("POST", "/b")
    event["body"] = "\ud800"
    response = invoke(http(core), event)
    assert response["statusCode"] == 400
    assert "not valid Unicode text" in _json(response)["message"]


# -- one request, every integration ------------------------------------------------------------

SEGMENT = st.text(
    st.sampled_from([*list("az09-._~ /?#%&=+;,:@!$'()*[]"), "é", "日", "😀", "\xa0"]),
    min_size=1,
    max_size=8,
)
QUERY_TEXT = st.text(st.sampled_from([*list("az09 +%&=/?#,;:"), "é", "😀"]), min_size=0, max_size=8)
COOKIE_NAME = st.text(st.sampled_from(list("abcXYZ_-")), min_size=1, max_size=5)
COOKIE_VALUE = st.text(st.sampled_from(list("abc123-_.%!")), min_size=0, max_size=6)


def _echo(first: str, second: str, request: Request) -> dict[str, Any]:
    names = sorted({name for name, _ in request._pairs})
    return {
        "first": first,
        "second": second,
        "method": request.method,
        "query": {name: request.query_list(name) for name in names},
        "last": request.query,
        "cookies": request.cookies,
        "body": base64.b64encode(request.body).decode("ascii"),
    }


ECHO = http({"ANY /r/{first}/{second}": _echo})


def _build(
    integration: str,
    method: str,
    segments: list[str],
    query: list[tuple[str, str]],
    cookies: dict[str, str],
    body: bytes | None,
    base64_body: bool,
) -> dict[str, Any]:
    """The event ``integration`` delivers for one client request, as AWS documents it."""
    raw_path = "/r/" + "/".join(quote(segment, safe="") for segment in segments)
    decoded_path = "/r/" + "/".join(segments)
    raw_query = "&".join(f"{quote_plus(name)}={quote_plus(value)}" for name, value in query)
    multi: dict[str, list[str]] = {}
    for name, value in query:
        multi.setdefault(name, []).append(value)
    cookie_header = "; ".join(f"{name}={value}" for name, value in cookies.items())
    headers = {"cookie": cookie_header} if cookies else {}
    text: Any = None
    if body is not None:
        text = body if base64_body else body.decode("utf-8")
    if integration in ("http_v2", "function_url"):
        build = events.api_gateway_v2 if integration == "http_v2" else events.function_url
        event = build(method, raw_path, body=text, base64_encoded=base64_body)
        event["rawQueryString"] = raw_query
        event.pop("queryStringParameters", None)
        if multi:  # what API Gateway puts there: decoded, repeated names joined with commas
            event["queryStringParameters"] = {name: ",".join(values) for name, values in multi.items()}
        if cookies:
            event["cookies"] = [f"{name}={value}" for name, value in cookies.items()]
        return event
    if integration in ("rest_v1", "http_api_v1"):
        path = decoded_path if integration == "http_api_v1" else raw_path
        event = events.api_gateway_v1(method, path, body=text, base64_encoded=base64_body, headers=headers)
        event["queryStringParameters"] = {name: values[-1] for name, values in multi.items()} or None
        event["multiValueQueryStringParameters"] = multi or None
        if integration == "http_api_v1":
            event["version"] = "1.0"
        return event
    multi_value = integration == "alb_multi"
    event = events.alb(
        method, raw_path, body=text, base64_encoded=base64_body, headers=headers, multi_value=multi_value
    )
    raw_multi: dict[str, list[str]] = {}  # ALB: names and values exactly as the client sent them
    for name, value in query:
        raw_multi.setdefault(quote_plus(name), []).append(quote_plus(value))
    if multi_value:
        event["multiValueQueryStringParameters"] = raw_multi
    else:
        event["queryStringParameters"] = {name: values[-1] for name, values in raw_multi.items()}
    return event


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"]),
    segments=st.lists(SEGMENT, min_size=2, max_size=2),
    query=st.lists(st.tuples(st.sampled_from(["a", "b c", "ö", "x+y"]), QUERY_TEXT), max_size=6),
    cookies=st.dictionaries(COOKIE_NAME, COOKIE_VALUE, max_size=3),
    body=st.one_of(
        st.none(), st.binary(max_size=32), st.text(max_size=16).map(lambda t: t.encode("utf-8", "replace"))
    ),
    base64_body=st.booleans(),
)
def test_every_integration_gives_the_core_the_same_values(
    method: str,
    segments: list[str],
    query: list[tuple[str, str]],
    cookies: dict[str, str],
    body: bytes | None,
    base64_body: bool,
) -> None:
    if body is not None and not base64_body:
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            base64_body = True  # binary bodies arrive base64-encoded
    multi: dict[str, list[str]] = {}
    for name, value in query:
        multi.setdefault(name, []).append(value)
    expected = {
        "first": segments[0],
        "second": segments[1],
        "method": method,
        "query": dict(sorted(multi.items())),
        "last": {name: values[-1] for name, values in multi.items()},
        "cookies": cookies,
        "body": base64.b64encode(body or b"").decode("ascii"),
    }
    integrations = ["rest_v1", "http_v2", "function_url", "alb", "alb_multi"]
    if not any("/" in segment for segment in segments):
        integrations.append("http_api_v1")  # payload 1.0 decoded the path: an encoded / is lost
    for integration in integrations:
        event = _build(integration, method, segments, query, cookies, body, base64_body)
        response = invoke(ECHO, event)
        assert response["statusCode"] == 200, (integration, response)
        wanted = expected
        if integration == "alb":  # without multi-value headers, ALB passes the last value of a name
            wanted = expected | {"query": {name: [value] for name, value in expected["last"].items()}}
        assert _json(response) == wanted, integration


# -- what the runtime can send back -------------------------------------------------------------


def _as_runtime_sends(response: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``response`` marshalled and encoded as awslambdaric does on a Python 3.12+ runtime.

    There its encoder keeps non-ASCII text as it is (``ensure_ascii=False``) and the
    result is encoded as UTF-8: a lone surrogate raises, and the runtime exits.
    """
    from awslambdaric.lambda_runtime_marshaller import LambdaMarshaller

    monkeypatch.setenv("AWS_EXECUTION_ENV", "AWS_Lambda_python3.12")
    text, _ = LambdaMarshaller().marshal_response(response)
    return json.loads(text.encode("utf-8"))


def echo_text(request: Request) -> str:
    return request.query.get("q", "")


def test_text_result_with_lone_surrogate_can_be_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    event = events.api_gateway_v2("GET", "/")
    event["rawQueryString"] = ""
    event["queryStringParameters"] = {"q": "a\ud800b"}
    response = invoke(http(echo_text), event)
    sent = _as_runtime_sends(response, monkeypatch)
    assert sent["body"] == "a\ufffdb"


def test_response_header_with_lone_surrogate_can_be_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    def core(request: Request) -> Response:
        return Response("ok", headers={"X-Echo": request.query.get("q", "")})

    event = events.alb("GET", "/", multi_value=True)
    event["multiValueQueryStringParameters"] = {"q": ["%ED%A0%80"]}  # an encoded surrogate: 3 x U+FFFD
    sent = _as_runtime_sends(invoke(http(core), event), monkeypatch)
    assert sent["multiValueHeaders"]["X-Echo"] == ["\ufffd" * 3]
    event = events.api_gateway_v1("GET", "/")
    event["multiValueQueryStringParameters"] = {"q": ["\ud800"]}
    sent = _as_runtime_sends(invoke(http(core), event), monkeypatch)
    assert sent["headers"]["X-Echo"] == "\ufffd"


@dataclass
class Echoed:
    sku: str
    ratio: float


class EchoedModel(pydantic.BaseModel):
    sku: str
    ratio: float


def echo_dataclass(order: Echoed) -> Echoed:
    return order


def echo_model(order: EchoedModel) -> EchoedModel:
    return order


def echo_dict(order: dict[str, Any]) -> dict[str, Any]:
    return {"sku": order["sku"], "ratio": order["ratio"]}


@pytest.mark.parametrize("core", [echo_dataclass, echo_model, echo_dict])
@pytest.mark.parametrize("shape", ["http_v2", "rest_v1", "alb_multi"])
def test_lone_surrogate_echoed_in_a_json_result_can_be_sent(
    core: Any, shape: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = http({"POST /orders": core})
    event = ENCODED_PATH_SHAPES[shape]("POST", "/orders")
    event["body"] = '{"sku": "a\\ud800\\u00e9", "ratio": 0.5}'  # the escape as a client sends it
    response = invoke(handler, event)
    sent = _as_runtime_sends(response, monkeypatch)
    if core is echo_model:  # pydantic refuses a lone surrogate in JSON: a 400 that can be sent
        assert response["statusCode"] == 400
        return
    assert response["statusCode"] == 200
    assert json.loads(sent["body"]) == {"sku": "a\ud800é", "ratio": 0.5}  # the client's own text


class Ratio2(pydantic.BaseModel):
    ratio: float


@dataclass
class RatioResult:
    ratio: float


@pytest.mark.parametrize(
    "result",
    [
        {"ratio": float("nan")},
        {"nested": [1.0, float("inf"), {"x": float("-inf")}]},
        RatioResult(float("nan")),
        [RatioResult(float("inf"))],
        {"model": Ratio2(ratio=float("nan"))},
        {"amount": Decimal("NaN"), "limit": Decimal("Infinity")},
    ],
)
def test_non_finite_numbers_in_a_result_are_sent_as_null(result: Any) -> None:
    response = invoke(http(lambda: result), events.api_gateway_v2("GET", "/"))
    assert response["statusCode"] == 200
    json.loads(response["body"], parse_constant=lambda name: pytest.fail(f"{name} is not JSON"))
    assert "null" in response["body"]


def test_body_with_nan_or_a_huge_number_says_what_is_wrong() -> None:
    handler = http({"POST /b": take_body})
    for text, reason in [
        ('{"a": NaN}', "NaN is not a JSON value"),
        ('{"a": -Infinity}', "-Infinity is not a JSON value"),
        ('{"a": ' + "9" * 5000 + "}", "a number has too many digits"),
        ('{"a": }', "Expecting value"),
    ]:
        event = events.api_gateway_v2("POST", "/b")
        event["body"] = text
        response = invoke(handler, event)
        assert response["statusCode"] == 400
        assert reason in json.dumps(_json(response)), text
        assert "UTF-8" not in json.dumps(_json(response))


def test_model_result_holding_a_lone_surrogate_can_be_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    def core(request: Request) -> EchoedModel:
        return EchoedModel(sku=request.query["sku"], ratio=float("nan"))

    event = events.api_gateway_v1("GET", "/")
    event["multiValueQueryStringParameters"] = {"sku": ["\ud800"]}
    response = invoke(http(core), event)
    assert response["statusCode"] == 200
    sent = _as_runtime_sends(response, monkeypatch)
    assert json.loads(sent["body"]) == {"sku": "\ud800", "ratio": None}


def test_empty_query_value_is_none_for_an_optional_number_and_a_400_for_a_number() -> None:
    def optional(limit: int | None = None) -> dict[str, Any]:
        return {"limit": limit}

    def required(limit: int) -> dict[str, Any]:
        return {"limit": limit}

    assert _json(invoke(http(optional), events.api_gateway_v2("GET", "/", query={"limit": ""}))) == {
        "limit": None
    }
    assert _json(invoke(http(optional), events.api_gateway_v2("GET", "/", query={"limit": "5"}))) == {
        "limit": 5
    }
    assert invoke(http(required), events.api_gateway_v2("GET", "/", query={"limit": ""}))["statusCode"] == 400
