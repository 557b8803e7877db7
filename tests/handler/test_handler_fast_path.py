"""The HTTP adapter's JSON fast path answers exactly like its general path.

``_HTTPApp._json_fast_path`` (a route whose one parameter is a JSON body) and the
first step of ``_HTTPApp.render`` (a model or dataclass result) skip the general
steps where they cannot change the answer. Here one app keeps them and a twin has
them switched off (``fast_body`` cleared on every route, ``fast_json`` and ``compiled`` false), and
both answer the same generated requests: valid and invalid JSON bodies, content
types, the base64 flag, Accept headers and every integration.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
from dataclasses import dataclass
from typing import Any, TypedDict

import pydantic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lambda_kit.handler import CORS, Response
from lambda_kit.handler._http import _HTTPApp
from lambda_kit.testing import FakeContext, events, reset_lifecycle


@pytest.fixture(autouse=True)
def _fresh() -> None:
    reset_lifecycle()


class CreateOrder(pydantic.BaseModel):
    sku: str
    quantity: int
    note: str = ""


class OrderCreated(pydantic.BaseModel):
    order_id: str
    sku: str
    quantity: int
    note: str


@dataclass
class Note:
    text: str
    stars: int = 0


class Tagged(TypedDict):
    tag: str


class Refused(Exception):
    pass


def create_order(order: CreateOrder) -> OrderCreated:
    if order.quantity == 13:
        raise Refused("unlucky")
    if order.quantity == 66:
        raise KeyError("a bug")  # an unhandled error: a 500
    return OrderCreated(order_id="o-1", sku=order.sku, quantity=order.quantity, note=order.note)


def add_note(note: Note) -> Note:
    return Note(text=note.text.upper(), stars=note.stars)


def tag(data: Tagged) -> Tagged:
    return data


def echo(data: Any) -> Any:
    return data


def created(order: CreateOrder) -> Response:
    return Response(order, status=201, headers={"Location": "/orders/o-1"})


async def create_later(order: CreateOrder) -> OrderCreated:
    await asyncio.sleep(0)
    return OrderCreated(order_id="o-2", sku=order.sku, quantity=order.quantity, note="")


def get_order(order_id: int) -> OrderCreated:
    return OrderCreated(order_id=str(order_id), sku="s", quantity=1, note="")


def optional_note(note: Note | None = None) -> Note | None:
    return note


ROUTES = {
    "POST /orders": create_order,
    "PUT /notes": add_note,
    "POST /tags": tag,
    "POST /echo": echo,
    "POST /created": created,
    "POST /later": create_later,
    "GET /orders/{order_id}": get_order,
    "PATCH /notes": optional_note,
}
PATHS = ["/orders", "/notes", "/tags", "/echo", "/created", "/later", "/orders/7", "/orders/x", "/nowhere"]


def _general(app: _HTTPApp) -> _HTTPApp:
    """``app`` with the shortcuts switched off: every request takes the general steps."""
    for route in app.routes:
        route.fast_body = None
    app.fast_json = False
    app.compiled = False  # the route tables and argument plans (test_handler_compiled_routes.py)
    return app


def _twins(target: Any, **options: Any) -> tuple[_HTTPApp, _HTTPApp]:
    return _HTTPApp(target, errors={Refused: 409}, **options), _general(
        _HTTPApp(target, errors={Refused: 409}, **options)
    )


APPS = {
    "routes": _twins(ROUTES),
    "routes with CORS": _twins(ROUTES, cors=CORS(["https://shop.example"])),
    "one core": _twins(create_order),
}


def test_the_twins_differ_only_in_the_shortcuts() -> None:
    fast, general = APPS["routes"]
    assert [route.fast_body is not None for route in fast.routes].count(True) == 7
    assert all(route.fast_body is None for route in general.routes)
    assert fast.fast_json
    assert fast.compiled
    assert not general.fast_json
    assert not general.compiled


# -- requests -----------------------------------------------------------------------------------

VALID = [
    {"sku": "book-42", "quantity": 2},
    {"sku": "b", "quantity": 13},
    {"sku": "b", "quantity": 66},
    {"sku": "é\u2603", "quantity": 1, "note": "gift"},
    {"text": "hi", "stars": 3},
    {"text": "x"},
    {"tag": "t"},
    {"order_id": "o", "sku": "s", "quantity": 1, "note": ""},
]
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)
TEXT_BODIES = st.one_of(
    st.sampled_from([json.dumps(value) for value in VALID]),
    JSON_VALUES.map(json.dumps),
    st.sampled_from(['{"sku": "a", "quantity": "2"}', '{"sku": 1}', "{", "[]", "null", "nan", '"\\ud800"']),
    st.text(max_size=20),
)
BODIES = st.one_of(
    st.none(),
    st.just(""),
    TEXT_BODIES,
    TEXT_BODIES.map(lambda text: ("base64", text)),  # sent base64-encoded
    st.sampled_from(
        [("raw base64", "!!not base64!!"), ("raw base64", "e30"), ("value", 42), ("value", {"a": 1})]
    ),
)
CONTENT_TYPES = st.sampled_from(
    [
        None,
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/vnd.api+json",
        "text/plain",
        "application/x-protobuf",
        "",
    ]
)
ACCEPTS = st.sampled_from(
    [
        None,
        "application/json",
        "*/*",
        "text/html",
        "application/json;q=0",
        "text/*, application/*;q=0.1",
        "application/xml, */*;q=0",
        "",
    ]
)
INTEGRATIONS = st.sampled_from(["rest_v1", "http_api_v1", "http_v2", "function_url", "alb", "alb_multi"])
METHODS = st.sampled_from(["POST", "PUT", "PATCH", "GET", "HEAD"])


def _set_header(event: dict[str, Any], name: str, value: str | None) -> None:
    """Put header ``name`` in the event the way its integration would, or take it out."""
    for field in ("headers", "multiValueHeaders"):
        headers = event.get(field)
        if isinstance(headers, dict):
            for key in [key for key in headers if key.lower() == name.lower()]:
                del headers[key]
            if value is not None:
                spelled = (
                    name if event.get("httpMethod") and "elb" not in event["requestContext"] else name.lower()
                )
                headers[spelled] = [value] if field == "multiValueHeaders" else value


def _event(
    integration: str, method: str, path: str, body: Any, content_type: str | None, accept: str | None
) -> Any:
    factory = {
        "rest_v1": events.api_gateway_v1,
        "http_api_v1": events.http_api_v1,
        "http_v2": events.api_gateway_v2,
        "function_url": events.function_url,
        "alb": events.alb,
        "alb_multi": lambda method, path: events.alb(method, path, multi_value=True),
    }[integration]
    event: dict[str, Any] = factory(method, path)
    if body is None:
        event.pop("body", None)
    elif isinstance(body, tuple):
        how, value = body
        if how == "base64":
            value = base64.b64encode(value.encode("utf-8", "surrogatepass")).decode("ascii")
        event["body"] = value
        event["isBase64Encoded"] = how != "value"
    else:
        event["body"] = body
        event["isBase64Encoded"] = False
    _set_header(event, "Content-Type", content_type)
    _set_header(event, "Accept", accept)
    return event


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    app=st.sampled_from(sorted(APPS)),
    integration=INTEGRATIONS,
    method=METHODS,
    path=st.sampled_from(PATHS),
    body=BODIES,
    content_type=CONTENT_TYPES,
    accept=ACCEPTS,
)
def test_the_fast_path_answers_like_the_general_path(
    app: str,
    integration: str,
    method: str,
    path: str,
    body: Any,
    content_type: str | None,
    accept: str | None,
) -> None:
    fast, general = APPS[app]
    event = _event(integration, method, path, body, content_type, accept)
    context = FakeContext(request_id="req-fast-path")  # the same request id in both 500 bodies
    expected = general.handle(copy.deepcopy(event), context)
    assert fast.handle(copy.deepcopy(event), context) == expected


# -- the shortcuts are taken --------------------------------------------------------------------


def _refuse(*args: Any) -> Any:
    raise AssertionError("the general step ran")


@pytest.mark.parametrize("factory", [events.api_gateway_v1, events.api_gateway_v2, events.function_url])
def test_a_json_body_and_a_model_result_skip_the_general_steps(
    factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast, _ = _twins(ROUTES)
    event = factory("POST", "/orders", body={"sku": "a", "quantity": 2})
    fast.handle(event, None)  # the first result of a type takes render() once, to learn its kind
    monkeypatch.setattr(_HTTPApp, "read_body", _refuse)
    monkeypatch.setattr(_HTTPApp, "arguments", _refuse)
    monkeypatch.setattr(_HTTPApp, "respond", _refuse)
    response = fast.handle(event, None)
    assert response == {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": '{"order_id":"o-1","sku":"a","quantity":2,"note":""}',
        "isBase64Encoded": False,
    }
    monkeypatch.setattr(_HTTPApp, "render", _refuse)
    assert fast.handle(event, None) == response


def test_a_model_result_of_a_route_with_parameters_skips_the_general_render(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fast, _ = _twins(ROUTES)
    event = events.api_gateway_v2("GET", "/orders/7")
    fast.handle(event, None)
    monkeypatch.setattr(_HTTPApp, "respond", _refuse)
    assert fast.handle(event, None)["body"] == '{"order_id":"7","sku":"s","quantity":1,"note":""}'


@pytest.mark.parametrize(
    ("change", "value"),
    [("Content-Type", "text/plain"), ("isBase64Encoded", True), ("body", 42)],
)
def test_a_body_the_shortcut_cannot_take_goes_through_read_body(
    change: str, value: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast, _ = _twins(ROUTES)
    event = events.api_gateway_v2("POST", "/orders", body={"sku": "a", "quantity": 2})
    if change == "Content-Type":
        _set_header(event, change, value)
    else:
        event[change] = value
    seen: list[Any] = []
    original = _HTTPApp.read_body

    def read_body(self: _HTTPApp, event: dict[str, Any], param: Any) -> Any:
        seen.append(param.name)
        return original(self, event, param)

    monkeypatch.setattr(_HTTPApp, "read_body", read_body)
    assert fast.handle(event, None)["statusCode"] in (400, 415)
    assert seen == ["order"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [("POST", "/orders", {"sku": "a", "quantity": 2}), ("GET", "/orders/7", None)],
)
def test_with_cors_a_model_result_takes_the_general_steps_and_carries_cors_headers(
    method: str, path: str, body: Any
) -> None:
    fast, _ = APPS["routes with CORS"]
    assert not fast.fast_json
    event = events.api_gateway_v2(method, path, body=body, headers={"Origin": "https://shop.example"})
    for _ in range(2):  # the second time too, when the result type is known
        response = fast.handle(event, None)
        assert response["statusCode"] == 200
        assert response["headers"]["Access-Control-Allow-Origin"] == "https://shop.example"
        assert response["headers"]["Vary"] == "Origin"
