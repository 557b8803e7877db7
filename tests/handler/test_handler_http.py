"""The HTTP adapter over every integration's event shape: routing, injection, errors."""

from __future__ import annotations

import base64
import datetime
import json
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any

import pydantic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from protos import orders_pb2

from lambda_kit.exceptions import ConfigurationError
from lambda_kit.handler import CORS, Header, Query, Request, Response, http
from lambda_kit.testing import FakeContext, events, invoke, reset_lifecycle


@pytest.fixture(autouse=True)
def _fresh() -> None:
    reset_lifecycle()


class CreateOrder(pydantic.BaseModel):
    sku: str
    quantity: int


class OrderCreated(pydantic.BaseModel):
    order_id: str
    sku: str
    quantity: int


@dataclass
class Note:
    text: str


class OrderNotFound(Exception):
    pass


ORDERS: dict[str, OrderCreated] = {}


def create_order(order: CreateOrder) -> Response:
    created = OrderCreated(order_id=f"o-{len(ORDERS) + 1}", sku=order.sku, quantity=order.quantity)
    ORDERS[created.order_id] = created
    return Response(created, status=201, headers={"Location": f"/orders/{created.order_id}"})


def get_order(order_id: str, verbose: bool = False) -> OrderCreated:
    if order_id not in ORDERS:
        raise OrderNotFound(f"order {order_id} does not exist")
    return ORDERS[order_id]


def list_orders(limit: int = 10, sku: str | None = None) -> list[dict[str, Any]]:
    items = [o.model_dump() for o in ORDERS.values() if sku is None or o.sku == sku]
    return items[:limit]


def delete_order(order_id: str) -> None:
    ORDERS.pop(order_id, None)


def whoami(
    api_key: Annotated[str, Header("X-Api-Key")], page: Annotated[int, Query("p")] = 1
) -> dict[str, Any]:
    return {"key_length": len(api_key), "page": page}


def echo_request(request: Request) -> dict[str, Any]:
    return {
        "method": request.method,
        "path": request.path,
        "query": request.query,
        "cookies": request.cookies,
        "agent": request.header("user-agent"),
        "body": request.body.decode(errors="replace"),
        "integration": request.integration,
        "params": request.path_params,
    }


def crash() -> dict[str, Any]:
    raise RuntimeError("database password is hunter2")


def add_note(note: Note) -> str:
    return f"noted: {note.text}"


def raw(data: bytes) -> bytes:
    return data[::-1]


def find_order(query: orders_pb2.Order) -> orders_pb2.Order:
    return orders_pb2.Order(order_id=query.order_id or "none", customer_id="c-1")


async def slow_hello(name: str = "world") -> dict[str, str]:
    return {"hello": name}


APP = http(
    {
        "POST /orders": create_order,
        "GET /orders": list_orders,
        "GET /orders/{order_id}": get_order,
        "DELETE /orders/{order_id}": delete_order,
        "GET /me": whoami,
        "ANY /echo/{proxy+}": echo_request,
        "GET /crash": crash,
        "POST /notes": add_note,
        "POST /raw": raw,
        "POST /find": find_order,
        "GET /hello": slow_hello,
    },
    errors={OrderNotFound: 404},
    cors=CORS(["https://shop.example"], allow_credentials=True),
)

SHAPES = {
    "rest_v1": events.api_gateway_v1,
    "http_v2": events.api_gateway_v2,
    "function_url": events.function_url,
    "alb": events.alb,
}


def _headers(response: dict[str, Any]) -> dict[str, str]:
    if "multiValueHeaders" in response:
        return {k.lower(): ",".join(v) for k, v in response["multiValueHeaders"].items()}
    return {k.lower(): v for k, v in response["headers"].items()}


def _body(response: dict[str, Any]) -> Any:
    body = response["body"]
    if response["isBase64Encoded"]:
        return base64.b64decode(body)
    return json.loads(body) if body else None


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_create_then_get_on_every_integration(shape: str) -> None:
    ORDERS.clear()
    make = SHAPES[shape]
    created = invoke(APP, make("POST", "/orders", body={"sku": "book", "quantity": 2}))
    assert created["statusCode"] == 201
    assert _body(created) == {"order_id": "o-1", "sku": "book", "quantity": 2}
    assert _headers(created)["location"] == "/orders/o-1"
    assert _headers(created)["content-type"] == "application/json"
    if shape == "alb":
        assert created["statusDescription"] == "201 Created"
    fetched = invoke(APP, make("GET", "/orders/o-1"))
    assert fetched["statusCode"] == 200
    assert _body(fetched)["sku"] == "book"
    listed = invoke(APP, make("GET", "/orders", query={"limit": "1", "sku": "book"}))
    assert _body(listed) == [{"order_id": "o-1", "sku": "book", "quantity": 2}]
    deleted = invoke(APP, make("DELETE", "/orders/o-1"))
    assert deleted["statusCode"] == 204
    assert deleted["body"] == ""
    missing = invoke(APP, make("GET", "/orders/o-1"))
    assert missing["statusCode"] == 404
    assert _body(missing) == {"message": "order o-1 does not exist", "error": "OrderNotFound"}


def test_multi_value_headers_only_for_alb_targets_that_use_them() -> None:
    response = invoke(APP, events.api_gateway_v1("GET", "/orders"))
    assert response["headers"]["Content-Type"] == "application/json"  # REST APIs take either form
    assert "multiValueHeaders" in invoke(APP, events.alb("GET", "/orders", multi_value=True))
    assert "headers" in invoke(APP, events.alb("GET", "/orders"))
    assert "headers" in invoke(APP, events.api_gateway_v2("GET", "/orders"))


def test_validation_errors_are_400_with_field_errors() -> None:
    response = invoke(APP, events.api_gateway_v2("POST", "/orders", body={"sku": "book", "quantity": "two"}))
    assert response["statusCode"] == 400
    body = _body(response)
    assert body["message"] == "Request validation failed."
    assert body["errors"][0]["loc"] == ["quantity"]
    assert "two" not in response["body"]
    for bad, status in (("{not json", 400), ("", 400)):
        event = events.api_gateway_v2("POST", "/orders")
        event["body"] = bad
        assert invoke(APP, event)["statusCode"] == status
    event = events.api_gateway_v2("POST", "/orders", body="%%%", base64_encoded=False)
    event["isBase64Encoded"] = True
    assert _body(invoke(APP, event)) == {"message": "The request body is not valid base64."}
    form = events.api_gateway_v2("POST", "/orders", body="a=1", headers={"content-type": "text/plain"})
    assert invoke(APP, form)["statusCode"] == 415
    bad_query = invoke(APP, events.api_gateway_v2("GET", "/orders", query={"limit": "ten"}))
    assert bad_query["statusCode"] == 400
    assert _body(bad_query)["errors"] == [
        {"loc": ["query", "limit"], "msg": "expected integer", "type": "integer_parsing"}
    ]


def test_headers_query_aliases_and_request_object() -> None:
    response = invoke(
        APP, events.api_gateway_v1("GET", "/me", headers={"x-api-key": "abc"}, query={"p": "3"})
    )
    assert _body(response) == {"key_length": 3, "page": 3}
    missing = invoke(APP, events.api_gateway_v1("GET", "/me"))
    assert missing["statusCode"] == 400
    assert _body(missing)["errors"][0]["loc"] == ["header", "X-Api-Key"]
    echo = _body(
        invoke(
            APP,
            events.api_gateway_v2(
                "PUT",
                "/echo/a/b%20c",
                body="hi",
                query={"q": "1"},
                cookies=["session=s1", "theme=dark"],
                headers={"content-type": "text/plain"},
            ),
        )
    )
    assert echo == {
        "method": "PUT",
        "path": "/echo/a/b c",
        "query": {"q": "1"},
        "cookies": {"session": "s1", "theme": "dark"},
        "agent": "lambda-kit-tests/1.0",
        "body": "hi",
        "integration": "http_v2",
        "params": {"proxy": "a/b c"},
    }
    v1 = _body(invoke(APP, events.api_gateway_v1("GET", "/echo/x", headers={"Cookie": "a=1; b=2"})))
    assert v1["cookies"] == {"a": "1", "b": "2"}
    alb = _body(invoke(APP, events.alb("GET", "/echo/x", query={"q": "a b"})))
    assert alb["query"] == {"q": "a b"}


def test_not_found_method_not_allowed_and_stage_prefix() -> None:
    assert invoke(APP, events.api_gateway_v2("GET", "/nowhere"))["statusCode"] == 404
    response = invoke(APP, events.api_gateway_v2("PATCH", "/orders/o-1"))
    assert response["statusCode"] == 405
    assert _headers(response)["allow"] == "DELETE, GET"
    staged = events.api_gateway_v2("GET", "/prod/orders", stage="prod")
    assert invoke(APP, staged)["statusCode"] == 200
    head = invoke(APP, events.api_gateway_v2("HEAD", "/orders"))
    assert head["statusCode"] == 200


def test_unhandled_errors_are_generic_500s_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="lambda_kit.handler"):
        response = invoke(APP, events.api_gateway_v2("GET", "/crash"), request_id="req-500")
    assert response["statusCode"] == 500
    assert _body(response) == {"message": "Internal server error.", "requestId": "req-500"}
    assert "hunter2" not in response["body"]
    assert "Traceback" not in response["body"]
    assert len(caplog.records) == 1
    assert "req-500" in caplog.records[0].getMessage()


def test_text_bytes_none_and_accept() -> None:
    note = invoke(APP, events.api_gateway_v2("POST", "/notes", body={"text": "hi"}))
    assert note["body"] == "noted: hi"
    assert _headers(note)["content-type"].startswith("text/plain")
    raw_event = events.api_gateway_v2(
        "POST",
        "/raw",
        body=b"\x00\x01\x02",
        base64_encoded=True,
        headers={"content-type": "application/octet-stream"},
    )
    reversed_ = invoke(APP, raw_event)
    assert reversed_["isBase64Encoded"]
    assert base64.b64decode(reversed_["body"]) == b"\x02\x01\x00"
    refused = invoke(APP, events.api_gateway_v2("GET", "/orders", headers={"accept": "text/html"}))
    assert refused["statusCode"] == 406
    assert (
        invoke(APP, events.api_gateway_v2("GET", "/orders", headers={"accept": "text/*;q=0.5, */*"}))[
            "statusCode"
        ]
        == 200
    )


def test_protobuf_bodies_and_results() -> None:
    query = orders_pb2.Order(order_id="o-9")
    event = events.api_gateway_v1(
        "POST",
        "/find",
        body=query.SerializeToString(),
        base64_encoded=True,
        headers={"Content-Type": "application/x-protobuf", "Accept": "application/x-protobuf"},
    )
    response = invoke(APP, event)
    assert response["statusCode"] == 200
    assert response["isBase64Encoded"]
    decoded = orders_pb2.Order.FromString(base64.b64decode(response["body"]))
    assert decoded.order_id == "o-9"
    as_json = invoke(APP, events.api_gateway_v2("POST", "/find", body={"orderId": "o-7"}))
    assert json.loads(as_json["body"])["orderId"] == "o-7"
    assert _headers(as_json)["content-type"] == "application/json"
    broken = events.api_gateway_v2(
        "POST",
        "/find",
        body=b"\xff\xff\xff",
        base64_encoded=True,
        headers={"content-type": "application/x-protobuf"},
    )
    assert invoke(APP, broken)["statusCode"] == 400


def test_cors_headers_and_preflight() -> None:
    preflight = invoke(
        APP, events.api_gateway_v2("OPTIONS", "/orders", headers={"origin": "https://shop.example"})
    )
    headers = _headers(preflight)
    assert preflight["statusCode"] == 204
    assert headers["access-control-allow-origin"] == "https://shop.example"
    assert headers["access-control-allow-credentials"] == "true"
    assert "POST" in headers["access-control-allow-methods"]
    other = invoke(APP, events.api_gateway_v2("GET", "/orders", headers={"origin": "https://evil.example"}))
    assert "access-control-allow-origin" not in _headers(other)
    rest = invoke(
        APP,
        events.api_gateway_v1(
            "POST", "/find", body={"orderId": "1"}, headers={"Origin": "https://shop.example"}
        ),
    )
    assert _headers(rest)["access-control-allow-origin"] == "https://shop.example"
    anyone = http(list_orders, cors=True)
    assert _headers(invoke(anyone, events.api_gateway_v2("GET", "/x")))["access-control-allow-origin"] == "*"
    with pytest.raises(ConfigurationError):
        CORS(allow_credentials=True)


def test_async_core_and_single_function_handler() -> None:
    response = invoke(APP, events.api_gateway_v2("GET", "/hello", query={"name": "kit"}))
    assert _body(response) == {"hello": "kit"}
    single = http(add_note, status=202)
    result = invoke(single, events.function_url("POST", "/anything/at/all", body={"text": "x"}))
    assert result["statusCode"] == 202
    assert result["body"] == "noted: x"


@pytest.mark.parametrize(
    "target",
    [
        {},
        {"orders": list_orders},
        {"GET /orders": "not callable"},
        {"GET /orders/{order_id}": list_orders},
        {"POST /two": lambda a, b: None},
    ],
)
def test_invalid_route_tables(target: Any) -> None:
    if target == {"POST /two": target.get("POST /two")}:

        def two_bodies(a: CreateOrder, b: Note) -> None: ...

        target = {"POST /two": two_bodies}
    with pytest.raises(ConfigurationError):
        http(target)


def test_invalid_error_map_and_response_status() -> None:
    with pytest.raises(ConfigurationError):
        http(list_orders, errors={OrderNotFound: 200})
    with pytest.raises(ConfigurationError):
        http(list_orders, errors={"nope": 404})  # type: ignore[dict-item]
    with pytest.raises(ConfigurationError):
        Response(None, status=99)
    with pytest.raises(ConfigurationError):
        http(print)


def test_not_http_events_are_400() -> None:
    for event in ([], {"Records": []}, {"version": "2.0", "requestContext": {"http": {}}}):
        response = APP(event, FakeContext())
        assert response["statusCode"] == 400
        assert "message" in json.loads(response["body"])


HEADER_NAMES = st.sampled_from(["accept", "content-type", "Accept", "Content-Type", "origin", "x-api-key"])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "weird"]),
    path=st.one_of(
        st.sampled_from(["/orders", "/orders/o-1", "/me", "/echo/x", "/find", "/raw", "/notes"]), st.text()
    ),
    body=st.one_of(st.none(), st.text(), st.binary().map(lambda b: base64.b64encode(b).decode())),
    base64_flag=st.booleans(),
    headers=st.dictionaries(HEADER_NAMES, st.text(max_size=40), max_size=4),
    query=st.dictionaries(st.sampled_from(["limit", "sku", "p", "name"]), st.text(max_size=10), max_size=3),
    shape=st.sampled_from(sorted(SHAPES)),
)
def test_bad_input_only_ever_gives_4xx(
    method: str,
    path: str,
    body: str | None,
    base64_flag: bool,
    headers: dict[str, str],
    query: dict[str, str],
    shape: str,
) -> None:
    event = SHAPES[shape](method, path if path.startswith("/") else "/" + path, headers=headers, query=query)
    event["body"] = body
    event["isBase64Encoded"] = base64_flag
    response = APP(event, FakeContext())
    assert 200 <= response["statusCode"] < 500, response
    assert isinstance(response["body"], str)
    if response["statusCode"] >= 400 and response["body"]:
        assert "message" in json.loads(response["body"])


@settings(max_examples=100, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c),
        max_leaves=8,
    )
)
def test_arbitrary_events_never_raise(event: Any) -> None:
    response = APP(event, None)
    assert 400 <= response["statusCode"] < 500


def test_trailing_slash_and_percent_encoded_paths() -> None:
    ORDERS.clear()
    invoke(APP, events.api_gateway_v2("POST", "/orders", body={"sku": "b", "quantity": 1}))
    assert invoke(APP, events.api_gateway_v2("GET", "/orders/"))["statusCode"] == 200
    assert invoke(APP, events.api_gateway_v2("GET", "/orders/o%2D1"))["statusCode"] == 200
    assert invoke(APP, events.alb("GET", "/orders/o%2D1"))["statusCode"] == 200


# -- regressions found in review ----------------------------------------------------------------


def _get_order_by_id(order_id: str) -> dict[str, str]:
    return {"id": order_id}


def _catch(proxy: str) -> dict[str, str]:
    return {"catch": proxy}


def test_a_single_any_route_still_routes() -> None:
    one = http({"ANY /orders/{order_id}": _get_order_by_id})
    assert _body(invoke(one, events.api_gateway_v2("GET", "/orders/5"))) == {"id": "5"}
    assert invoke(one, events.api_gateway_v2("GET", "/totally/else"))["statusCode"] == 404
    admin = http({"ANY /admin/{proxy+}": _catch})
    assert invoke(admin, events.api_gateway_v2("DELETE", "/public/x"))["statusCode"] == 404
    assert invoke(admin, events.api_gateway_v2("GET", "/admin"))["statusCode"] == 404  # {proxy+} needs one
    assert _body(invoke(admin, events.api_gateway_v2("GET", "/admin/a/b"))) == {"catch": "a/b"}


def _files(path: str) -> dict[str, str]:
    return {"path": path}


def _users(b: str) -> dict[str, str]:
    return {"route": "users"}


def _pair(a: str, b: str) -> dict[str, str]:
    return {"route": "pair"}


def test_routes_match_the_most_specific_first() -> None:
    app = http({"ANY /{proxy+}": _catch, "GET /orders/{order_id}": _get_order_by_id})
    assert _body(invoke(app, events.api_gateway_v2("GET", "/orders/7"))) == {"id": "7"}
    assert _body(invoke(app, events.api_gateway_v2("GET", "/else/where"))) == {"catch": "else/where"}
    pairs = http({"GET /{a}/{b}": _pair, "GET /users/{b}": _users})
    assert _body(invoke(pairs, events.api_gateway_v2("GET", "/users/1"))) == {"route": "users"}
    named = http({"GET /files/{path+}": _files})
    assert _body(invoke(named, events.api_gateway_v2("GET", "/files/a/b"))) == {"path": "a/b"}


@pytest.mark.parametrize("header", ["CONTENT-TYPE", "Content-type", "content-type"])
def test_a_non_json_content_type_in_any_case_is_415(header: str) -> None:
    event = events.api_gateway_v1("POST", "/notes", body='{"text": "x"}', headers={header: "text/plain"})
    for name in [key for key in event["headers"] if key.lower() == "content-type" and key != header]:
        del event["headers"][name]
        del event["multiValueHeaders"][name]
    assert invoke(APP, event)["statusCode"] == 415
    alb = events.alb(
        "POST", "/notes", body='{"text": "x"}', headers={"content-type": "text/plain"}, multi_value=True
    )
    assert invoke(APP, alb)["statusCode"] == 415


def test_hostile_json_bodies_are_400() -> None:
    for body in ("[" * 100_000, '{"text": NaN}', '{"text": Infinity}'):
        response = invoke(APP, events.api_gateway_v2("POST", "/notes", body=body))
        assert response["statusCode"] == 400, response


def _priced(order_id, amount: Annotated[Decimal, Query()] = Decimal(0)) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"id": order_id, "amount": str(amount)}


def test_path_and_query_types() -> None:
    app = http({"GET /o/{order_id}": _priced})
    assert _body(invoke(app, events.api_gateway_v2("GET", "/o/7", query={"amount": "1.50"}))) == {
        "id": "7",
        "amount": "1.50",
    }
    assert invoke(app, events.api_gateway_v2("GET", "/o/7", query={"amount": "abc"}))["statusCode"] == 400

    def dated(day: Annotated[datetime.date, Query()]) -> dict[str, str]:
        return {"day": day.isoformat()}

    assert (
        _body(
            invoke(http({"GET /d": dated}), events.api_gateway_v2("GET", "/d", query={"day": "2026-12-03"}))
        )["day"]
        == "2026-12-03"
    )

    def mapped(where: Annotated[dict[str, int], Query()]) -> None: ...

    with pytest.raises(ConfigurationError, match="annotate it as str"):
        http({"GET /d": mapped})


def _validates_itself(order: dict[str, Any]) -> None:
    from lambda_kit.exceptions import InputValidationError

    raise InputValidationError("quantity must be positive")


def _corrupt_downstream() -> None:
    from lambda_kit.exceptions import ProtobufDecodeError

    raise ProtobufDecodeError("downstream payload: wire format was corrupt")


def _json_of_request(request: Request) -> Any:
    return request.json()


def test_errors_raised_by_the_core_or_the_request_object(caplog: pytest.LogCaptureFixture) -> None:
    app = http(
        {"POST /v": _validates_itself, "GET /down": _corrupt_downstream, "POST /req": _json_of_request},
        cors=True,
    )
    response = invoke(app, events.api_gateway_v2("POST", "/v", body={}))
    assert response["statusCode"] == 400
    assert _body(response)["errors"] == [
        {"loc": [], "msg": "quantity must be positive", "type": "value_error"}
    ]
    with caplog.at_level(logging.ERROR, logger="lambda_kit.handler"):
        down = invoke(app, events.api_gateway_v2("GET", "/down", headers={"origin": "https://a.example"}))
    assert down["statusCode"] == 500
    assert "wire format" not in down["body"]
    assert len(caplog.records) == 1
    assert down["headers"]["Access-Control-Allow-Origin"] == "*"
    bad = invoke(
        app, events.api_gateway_v2("POST", "/req", body="{bad", headers={"content-type": "text/plain"})
    )
    assert bad["statusCode"] == 400


def test_protobuf_body_errors_are_4xx_with_cors_and_never_echo_values() -> None:
    broken = events.api_gateway_v2(
        "POST",
        "/find",
        body=b"\xff\xff\xff",
        base64_encoded=True,
        headers={"content-type": "application/x-protobuf", "origin": "https://shop.example"},
    )
    response = invoke(APP, broken)
    assert response["statusCode"] == 400
    assert response["headers"]["Access-Control-Allow-Origin"] == "https://shop.example"
    value = invoke(APP, events.api_gateway_v2("POST", "/find", body={"orderId": {"secret": "<script>"}}))
    assert value["statusCode"] == 400
    assert "<script>" not in value["body"]


@pytest.mark.parametrize(
    "accept", ["application/json;q=0", "text/html, */*;q=0", "application/json;q=0, text/html"]
)
def test_accept_with_q_zero_is_406(accept: str) -> None:
    assert (
        invoke(APP, events.api_gateway_v2("GET", "/orders", headers={"accept": accept}))["statusCode"] == 406
    )


def _created_nothing() -> Response:
    return Response(None, status=200, headers={"content-type": "text/plain", "X-Id": "1"})


def _json_dataclass() -> Note:
    return Note("x")


def test_head_status_and_header_merging() -> None:
    app = http({"GET /note": _json_dataclass, "GET /nothing": _created_nothing})
    head = invoke(app, events.api_gateway_v2("HEAD", "/note"))
    assert head["statusCode"] == 200
    assert head["body"] == ""
    nothing = invoke(app, events.api_gateway_v2("GET", "/nothing"))
    assert nothing["statusCode"] == 200
    assert nothing["headers"] == {"content-type": "text/plain", "X-Id": "1"}
