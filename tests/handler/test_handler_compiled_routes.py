"""What the HTTP adapter resolves at INIT answers exactly like its general steps.

``_HTTPApp`` finds the route by per-method tables of matchers, reads the arguments
by each route's plan and answers plain, model and dataclass results with their JSON
serialiser (``compiled``). Here one app keeps all of that and a twin has it switched
off (``compiled`` and ``fast_json`` false, ``fast_body`` cleared: ``find``,
``arguments`` and ``render`` on every request), and both answer the same generated
requests, compared as the runtime would send them (``json.dumps``, key order
included): methods in any case, paths with %-escapes, trailing and doubled slashes,
stage prefixes, repeated query names, ``+`` and ``%2B``, headers in any case, valid
and invalid values, every integration. ``dump_data``, the cached C encoder, is checked
against the encoder it replaces.
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import quote

import pydantic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lambda_kit.handler import CORS, Header, Query, Request, Response
from lambda_kit.handler._coerce import _dump_data_general, dump_data
from lambda_kit.handler._http import _HTTPApp
from lambda_kit.testing import FakeContext, events, reset_lifecycle


@pytest.fixture(autouse=True)
def _fresh() -> None:
    reset_lifecycle()


class Order(pydantic.BaseModel):
    sku: str
    quantity: int


@dataclass
class Note:
    text: str


class Gone(Exception):
    pass


def get_order(order_id: int, verbose: bool = False) -> dict[str, Any]:
    return {"id": order_id, "verbose": verbose}


def special() -> list[str]:
    return ["special"]


def head_orders() -> Response:
    return Response({"head": True}, headers={"X-Head": "yes"})


def get_orders(
    page: int = 1, q: str | None = None, size: Annotated[str, Query("q q")] = ""
) -> dict[str, Any]:
    return {"page": page, "q": q, "size": size}


def get_tags(tag: Annotated[list[str], Query()], q: str = "") -> dict[str, Any]:
    return {"tag": tag, "q": q}


def put_order(order_id: str, order: Order) -> Order:
    return Order(sku=f"{order_id}:{order.sku}", quantity=order.quantity)


def item(
    shop: str,
    item_id: float,
    token: Annotated[str, Header("X-Token")],
    limit: Annotated[int | None, Header("X-Limit")] = None,
) -> Note:
    return Note(text=f"{shop}/{item_id}/{token}/{limit}")


def delete_item(shop: str, item_id: str) -> None:
    if item_id == "gone":
        raise Gone("already gone")


def files(path: str, request: Request) -> dict[str, Any]:
    return {"path": path, "seen": request.path, "params": request.path_params, "q": request.query}


def any_text(name: str, size: int | None = None) -> str:
    return f"{name}:{size}"


def raw(data: bytes) -> bytes:
    return data


def spaced() -> dict[str, str]:
    return {"literal": "a%20b"}


def root() -> dict[str, str]:
    return {"root": "yes"}


def proxy(proxy: str) -> dict[str, str]:
    return {"proxy": proxy}


def boom(kind: str) -> Any:
    if kind == "nan":
        return {"x": math.nan}
    if kind == "set":
        return {"x": {1}}
    if kind == "surrogate":
        return ["\ud800"]
    return [kind]


ROUTES: dict[str, Any] = {
    "GET /orders/{order_id}": get_order,
    "GET /orders/special": special,
    "GET /orders": get_orders,
    "HEAD /orders": head_orders,  # given after GET /orders: find() looks HEAD up first
    "GET /tags": get_tags,
    "PUT /orders/{order_id}": put_order,
    "GET /shops/{shop}/items/{item_id}": item,
    "DELETE /shops/{shop}/items/{item_id}": delete_item,
    "GET /files/{path+}": files,
    "ANY /text/{name}": any_text,
    "POST /raw": raw,
    "GET /a%20b": spaced,
    "GET /": root,
    "GET /boom/{kind}": boom,
    "ANY /{proxy+}": proxy,
}


def _general(app: _HTTPApp) -> _HTTPApp:
    """``app`` with everything resolved at INIT switched off: the general steps only."""
    for route in app.routes:
        route.fast_body = None
    app.fast_json = False
    app.compiled = False
    return app


def _twins(target: Any, **options: Any) -> tuple[_HTTPApp, _HTTPApp]:
    return _HTTPApp(target, errors={Gone: 410}, **options), _general(
        _HTTPApp(target, errors={Gone: 410}, **options)
    )


APPS = {
    "routes": _twins(ROUTES),
    "routes, status 201": _twins(ROUTES, status=201),
    "routes with CORS": _twins(ROUTES, cors=CORS(["https://shop.example"])),
    "one core": _twins(get_order),
    "static only": _twins({"GET /orders": get_orders, "HEAD /orders": head_orders, "POST /raw": raw}),
}


def test_the_twins_differ_only_in_what_init_resolved() -> None:
    fast, general = APPS["routes"]
    assert fast.compiled
    assert fast.fast_json
    assert not general.compiled
    assert not general.fast_json
    assert [route.template for route in fast.routes] == [route.template for route in general.routes]


# -- requests -----------------------------------------------------------------------------------

SEGMENTS = st.sampled_from(
    [
        "orders",
        "special",
        "42",
        "-7",
        "x",
        "shops",
        "s1",
        "items",
        "2.5",
        "files",
        "text",
        "boom",
        "nan",
        "set",
        "surrogate",
        "gone",
        "a%20b",
        "a%2Fb",
        "%41",
        "%zz",
        "%C3%A9",
        "%ff",
        "",
        "Orders",
        "raw",
        "1e3",
    ]
)
ROUTED = st.sampled_from(
    [
        "/orders",
        "/orders/42",
        "/tags",
        "/orders/special",
        "/shops/s1/items/2.5",
        "/files/a/b",
        "/text/x",
        "/boom/nan",
        "/boom/surrogate",
        "/raw",
        "/",
        "/%6Frders",
        "/orders/%34%32",
        "/orders/4%2F2",
        "/shops/s/items/gone",
    ]
)
PATHS = st.one_of(
    ROUTED,
    ROUTED.map(lambda path: path + "/"),
    st.lists(SEGMENTS, max_size=5).map(lambda parts: "/" + "/".join(parts)),
    st.lists(SEGMENTS, min_size=1, max_size=4).map(lambda parts: "/" + "/".join(parts) + "/"),
    st.sampled_from(
        ["/", "//", "/orders//", "orders", "/orders/42//", "/files/a/b/", "/files//", "/a%20b", "/a b"]
    ),
)
METHODS = st.sampled_from(["GET", "get", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "Head", "FOO"])
NAMES = st.sampled_from(["verbose", "page", "q", "tag", "q q", "a+b"])
VALUES = st.sampled_from(["true", "no", "1", "x", "", "a b", "a+b", "a%2Bb", "%zz", "é", "&", "="])
QUERIES = st.lists(st.tuples(NAMES, VALUES), max_size=4)
RAW_QUERIES = st.sampled_from(
    ["", "verbose", "verbose&&page=2", "page=1&page=2", "q=a+b&q=a%2Bb", "%", "&", "=x"]
)
HEADER_NAMES = st.sampled_from(
    ["X-Token", "x-token", "X-TOKEN", "X-Limit", "x-limit", "Accept", "accept", "ACCEPT", "Origin", "origin"]
)
HEADER_VALUES = st.sampled_from(
    ["t1", "5", "application/json", "text/html", "*/*", "application/json;q=0", "https://shop.example", ""]
)
HEADERS = st.dictionaries(HEADER_NAMES, HEADER_VALUES, max_size=3)
BODIES = st.sampled_from([None, "", '{"sku": "a", "quantity": 2}', '{"sku": 1}', "{", "aGk=", "\ud800"])


def _multi(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        multi.setdefault(name, []).append(value)
    return multi


def _event(
    integration: str,
    method: str,
    path: str,
    query: list[tuple[str, str]],
    raw_query: str | None,
    headers: dict[str, str],
    body: str | None,
) -> dict[str, Any]:
    multi = _multi(query) or None
    if integration == "lattice":
        event = events.vpc_lattice(
            method, path, query={name: values[-1] for name, values in (multi or {}).items()}
        )
    elif integration in ("http_v2", "http_v2 stage"):
        staged = integration == "http_v2 stage"
        event = events.api_gateway_v2(
            method,
            "/prod" + path if staged and path.startswith("/") else path,
            query=multi,
            stage="prod" if staged else "$default",
        )
    elif integration == "function_url":
        event = events.function_url(method, path, query=multi)
    elif integration in ("alb", "alb_multi"):
        event = events.alb(method, path, query=multi, multi_value=integration == "alb_multi")
    elif integration == "http_api_v1":
        event = events.http_api_v1(method, path, query=multi)
    else:
        event = events.api_gateway_v1(method, path, query=multi)
    if raw_query is not None and "rawQueryString" in event:
        event["rawQueryString"] = raw_query
    if raw_query is not None and integration == "alb" and raw_query:
        event["queryStringParameters"] = dict(piece.partition("=")[::2] for piece in raw_query.split("&"))
    for field in ("headers", "multiValueHeaders"):
        sent = event.get(field)
        if isinstance(sent, dict):
            for name, value in headers.items():
                sent[name] = [value] if field == "multiValueHeaders" or integration == "lattice" else value
    if body is None:
        event.pop("body", None)
    else:
        event["body"] = body
        if body == "aGk=":
            event["isBase64Encoded"] = True
    return event


def _answers(app: _HTTPApp, event: dict[str, Any]) -> str:
    """The response as the runtime would send it: JSON, keys in order."""
    context = FakeContext(request_id="req-compiled")  # the same request id in both 500 bodies
    return json.dumps(app.handle(copy.deepcopy(event), context))


ALL_INTEGRATIONS = [
    "rest_v1",
    "http_api_v1",
    "http_v2",
    "http_v2 stage",
    "function_url",
    "alb",
    "alb_multi",
    "lattice",
]


@pytest.mark.parametrize("integration", ALL_INTEGRATIONS)
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    app=st.sampled_from(sorted(APPS)),
    method=METHODS,
    path=PATHS,
    query=QUERIES,
    raw_query=st.none() | RAW_QUERIES,
    headers=HEADERS,
    body=BODIES,
)
def test_what_init_resolved_answers_like_the_general_steps(
    app: str,
    integration: str,
    method: str,
    path: str,
    query: list[tuple[str, str]],
    raw_query: str | None,
    headers: dict[str, str],
    body: str | None,
) -> None:
    fast, general = APPS[app]
    event = _event(integration, method, path, query, raw_query, headers, body)
    assert _answers(fast, event) == _answers(general, event)


QUERY_SHAPES = [
    [("q", "a b")],
    [("q", "a+b")],
    [("q", "a%2Bb")],
    [("q", "x"), ("q", "y")],
    [("page", "1"), ("page", "2")],
    [("page", "1"), ("q", "é"), ("page", "x")],
    [("q q", "v"), ("a+b", "w")],
    [("q", "%zz")],
    [("q", "&="), ("verbose", "on")],
    [("verbose", "true"), ("verbose", "no")],
    [("tag", "a"), ("tag", "b b"), ("q", "")],
]
RAW_SHAPES = [None, "q=a+b&q=a%2Bb", "q", "q&&page=2", "page=1&page=2", "verbose&verbose=1", "q=%E9"]


@pytest.mark.parametrize("integration", ALL_INTEGRATIONS)
def test_query_values_are_read_like_the_general_steps(integration: str) -> None:
    for app in ("routes", "routes with CORS"):
        fast, general = APPS[app]
        for path in ("/orders", "/orders/42", "/tags", "/orders/"):
            for query in QUERY_SHAPES:
                for raw_query in RAW_SHAPES:
                    event = _event(integration, "GET", path, query, raw_query, {}, None)
                    assert _answers(fast, event) == _answers(general, event), (app, path, query, raw_query)


@pytest.mark.parametrize(
    ("method", "path", "status", "body"),
    [
        ("GET", "/orders/42", 200, {"id": 42, "verbose": False}),
        ("GET", "/orders/special/", 200, ["special"]),
        ("GET", "/orders/x", 400, None),
        ("HEAD", "/orders", 200, None),
        ("GET", "/files/a%2Fb/c/", 200, None),
        ("PATCH", "/shops/s/items/1", 200, None),  # ANY /{proxy+}
        ("DELETE", "/shops/s/items/gone", 410, None),
        ("GET", "/a%20b", 200, None),  # the proxy: a template's "%20" is not an escape
    ],
)
@pytest.mark.parametrize("integration", ["rest_v1", "http_v2", "alb", "alb_multi"])
def test_typical_requests_take_the_compiled_steps_and_answer_alike(
    method: str, path: str, status: int, body: Any, integration: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast, general = APPS["routes"]
    event = _event(integration, method, path, [("verbose", "false")], None, {}, None)
    expected = _answers(general, event)
    calls: list[str] = []
    original_find = _HTTPApp.find

    def find(self: _HTTPApp, *args: Any) -> Any:
        calls.append("find")
        return original_find(self, *args)

    monkeypatch.setattr(_HTTPApp, "find", find)
    assert _answers(fast, event) == expected
    answer = json.loads(expected)
    assert answer["statusCode"] == status
    if body is not None:
        assert json.loads(answer["body"]) == body
    assert calls == []  # every one of these found by the tables, none left to find()


@pytest.mark.parametrize("integration", ["rest_v1", "http_v2", "alb_multi"])
def test_header_values_are_read_like_the_general_steps(integration: str) -> None:
    fast, general = APPS["routes"]
    for headers in ({}, {"X-Token": "t"}, {"x-token": "t", "X-LIMIT": "7"}, {"X-Token": "t", "x-limit": "x"}):
        event = _event(integration, "GET", "/shops/s/items/1.5", [], None, headers, None)
        answer = _answers(fast, event)
        assert answer == _answers(general, event)
        status = json.loads(answer)["statusCode"]
        assert status == (200 if headers.get("x-limit") != "x" and headers else 400)


def test_a_head_request_finds_the_head_route_given_after_the_get_one() -> None:
    fast, general = APPS["routes"]
    for path in ("/orders", "/orders/"):
        event = events.api_gateway_v2("HEAD", path)
        answer = json.loads(_answers(fast, event))
        assert answer == json.loads(_answers(general, event))
        assert answer["headers"]["X-Head"] == "yes"
        assert answer["body"] == ""


def test_a_plain_result_for_alb_carries_the_status_description_in_either_header_format() -> None:
    fast, general = APPS["routes, status 201"]
    for multi_value in (False, True):
        event = events.alb("GET", "/orders/7", query={"verbose": "1"}, multi_value=multi_value)
        answer = _answers(fast, event)
        assert answer == _answers(general, event)
        assert list(json.loads(answer)) == [
            "statusCode",
            "multiValueHeaders" if multi_value else "headers",
            "statusDescription",
            "body",
            "isBase64Encoded",
        ]
        assert json.loads(answer)["statusDescription"] == "201 Created"


# -- dump_data --------------------------------------------------------------------------------

JSON_DATA = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=6)
    | st.sampled_from(["\ud800", "é\udfff", Decimal("1.5"), Decimal("NaN"), (1, 2), b"hi"]),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(max_size=4) | st.integers() | st.floats(), children, max_size=3)
    ),
    max_leaves=8,
)


def _outcome(dump: Any, data: Any) -> tuple[str, str]:
    try:
        return "text", dump(data)
    except Exception as error:
        return type(error).__name__, str(error)


@settings(max_examples=300, deadline=None)
@given(data=JSON_DATA)
def test_dump_data_writes_what_the_json_encoder_writes(data: Any) -> None:
    assert _outcome(dump_data, data) == _outcome(_dump_data_general, data)


def test_dump_data_reports_a_circular_reference_as_the_json_encoder_does() -> None:
    loop: dict[str, Any] = {}
    loop["self"] = loop
    nested: list[Any] = [{"a": 1}]
    nested[0]["b"] = nested
    for data in (loop, nested, [object()]):
        assert _outcome(dump_data, data) == _outcome(_dump_data_general, data)
        assert _outcome(dump_data, data)[0] != "text"
    assert dump_data({"x": math.inf, "y": [1.5, "\ud800"]}) == '{"x":null,"y":[1.5,"\\ud800"]}'
    assert dump_data(quote("é")) == '"%C3%A9"'


def create_order(order: Order) -> Order:
    return order


ODD_HEADER_VALUES: list[Any] = [
    "application/json",
    "text/plain",
    ["application/json"],
    ["text/html"],
    ["application/json", "text/html"],
    [],
    [5],
    5,
    None,
]


@pytest.mark.parametrize("integration", ["rest_v1", "http_v2", "function_url", "alb", "alb_multi"])
@pytest.mark.parametrize("field", ["headers", "multiValueHeaders"])
@pytest.mark.parametrize(
    "spelling", ["accept", "Accept", "ACCEPT", "content-type", "Content-Type", "CONTENT-TYPE"]
)
def test_headers_of_any_shape_are_read_like_the_general_steps(
    integration: str, field: str, spelling: str
) -> None:
    """The inlined Accept and Content-Type reads answer as fast_header, for values of any shape."""
    fast, general = _twins({"POST /orders": create_order, "GET /orders/{order_id}": get_order})
    for method, path in (("POST", "/orders"), ("GET", "/orders/42")):
        for value in ODD_HEADER_VALUES:
            for others in ("as sent", "emptied", "not a dict"):
                event = _event(integration, method, path, [], None, {}, '{"sku": "a", "quantity": 2}')
                if others == "emptied":
                    event[field] = {}
                elif others == "not a dict":
                    event[field] = ["accept"]
                other = "multiValueHeaders" if field == "headers" else "headers"
                target = event.setdefault(other if others == "not a dict" else field, {})
                if isinstance(target, dict):
                    for name in [name for name in target if name.lower() == spelling.lower()]:
                        del target[name]
                    target[spelling] = value
                assert _answers(fast, event) == _answers(general, event), (method, value, others)
