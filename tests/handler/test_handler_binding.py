"""lambda_kit.handler._binding: routes, parameters and the request's path and query, each alone."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Annotated, Any, Optional, Union

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lambda_kit.exceptions import ConfigurationError, InputValidationError
from lambda_kit.handler._binding import (
    Header,
    Param,
    Query,
    Request,
    Route,
    decoded,
    parameters,
    parse_routes,
    path_parts,
    query_pairs,
    scalar,
    specificity,
)
from lambda_kit.testing import events


@dataclass
class Order:
    sku: str


class Color(enum.Enum):
    RED = "red"


def core(
    order_id: int,
    order: Order,
    request: Request,
    api_key: Annotated[str, Header()],
    trace: Annotated[str | None, Header("X-Trace")],
    tags: Annotated[list[int], Query("tag")],
    page: Annotated[int, Query()] = 1,
    verbose: bool = False,
    color: Optional[str] = None,  # noqa: UP045  # the spelling under test
) -> None: ...


# -- parameters ---------------------------------------------------------------------------------


def test_parameters_take_their_source_from_the_annotation() -> None:
    params = {param.name: param for param in parameters(core, frozenset({"order_id"}))}
    shown = {name: (p.source, p.wire_name, p.required, p.many) for name, p in params.items()}
    assert shown == {
        "order_id": ("path", "order_id", True, False),
        "order": ("body", "order", True, False),
        "request": ("request", "request", False, False),
        "api_key": ("header", "api-key", True, False),
        "trace": ("header", "X-Trace", False, False),
        "tags": ("query", "tag", True, True),
        "page": ("query", "page", False, False),
        "verbose": ("query", "verbose", False, False),
        "color": ("query", "color", False, False),
    }
    assert params["order"].kind == "dataclass"
    assert params["order"].convert is not None
    assert params["order_id"].convert is None
    assert params["tags"].tp is int
    assert params["page"].default == 1
    assert repr(params["order"]) == "Param('order', 'body')"


def test_a_marker_defaulting_to_none_keeps_its_source_on_every_python() -> None:
    # Python 3.10 wraps the hint of a None default in Optional, around the Annotated marker.
    def search(
        tag: Annotated[list[str] | None, Query()] = None,
        trace: Annotated[str, Header("X-Trace")] = None,  # type: ignore[assignment]  # noqa: RUF013
        spelled: Optional[Annotated[int, Query("n")]] = None,  # noqa: UP045  # what 3.10 makes of it
        flipped: Union[None, Annotated[int, Header()]] = None,  # noqa: UP007, RUF036
        plain: Optional[int] = None,  # noqa: UP045
    ) -> None: ...

    params = {param.name: param for param in parameters(search, frozenset())}
    shown = {name: (p.source, p.wire_name, p.required, p.many) for name, p in params.items()}
    assert shown == {
        "tag": ("query", "tag", False, True),
        "trace": ("header", "X-Trace", False, False),
        "spelled": ("query", "n", False, False),
        "flipped": ("header", "flipped", False, False),
        "plain": ("query", "plain", False, False),
    }
    assert params["tag"].tp is str


def test_a_greedy_segment_binds_by_its_name() -> None:
    def files(path: str) -> None: ...

    [param] = parameters(files, frozenset(), frozenset({"path"}))
    assert (param.source, param.required) == ("path", True)


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (len, "plain function"),
        (lambda a, b: None, "more than one body parameter"),
        (lambda: None, "no parameter for path segment"),
    ],
)
def test_parameters_refuse_what_cannot_be_bound(target: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        parameters(target, frozenset({"order_id"}) if "path" in message else frozenset())


def test_parameters_refuse_unresolvable_hints() -> None:
    def broken(value: NoSuchType) -> None: ...  # type: ignore[name-defined]  # noqa: F821

    with pytest.raises(ConfigurationError, match="Cannot resolve the type hints"):
        parameters(broken, frozenset())


def test_a_return_type_imported_on_first_use_does_not_stop_the_binding() -> None:
    """Only the parameters' hints are read: a core may return a type its module loads lazily."""

    def lazy(order_id: int, verbose: bool = False) -> NotImportedYet.Message:  # type: ignore[name-defined]  # noqa: F821
        return {"id": order_id}

    bound = parameters(lazy, frozenset({"order_id"}))
    assert [(p.name, p.source, p.tp) for p in bound] == [
        ("order_id", "path", int),
        ("verbose", "query", bool),
    ]
    assert lazy.__annotations__["return"] == "NotImportedYet.Message"  # the core itself is untouched

    def broken_parameter(value: NoSuchType) -> NotImportedYet.Message: ...  # type: ignore[name-defined]  # noqa: F821

    with pytest.raises(ConfigurationError, match=r"Cannot resolve the type hints of .*broken_parameter"):
        parameters(broken_parameter, frozenset())


def test_scalar_parses_by_type_and_names_the_parameter_when_it_cannot() -> None:
    def typed(count: int, color: Annotated[Color, Query()], name: str) -> None: ...

    count, color, name = parameters(typed, frozenset())
    assert scalar(count, "+7", ["query", "count"]) == 7
    assert scalar(color, "red", ["query", "color"]) is Color.RED
    assert scalar(name, "as is", ["query", "name"]) == "as is"
    with pytest.raises(InputValidationError, match="Invalid query parameter 'count'") as caught:
        scalar(count, "seven", ["query", "count"])
    assert caught.value.context["errors"] == [
        {"loc": ["query", "count"], "msg": "expected integer", "type": "integer_parsing"}
    ]


# -- routes ---------------------------------------------------------------------------------------


def _route(key: str) -> Route:
    method, _, template = key.partition(" ")

    def anything(a: str = "", b: str = "", rest: str = "") -> None: ...

    return Route("*" if method == "ANY" else method, template, anything, 200)


def test_routes_sort_most_specific_first_and_a_method_before_any() -> None:
    def core(a: str = "", b: str = "", rest: str = "") -> None: ...

    routes = parse_routes(
        {
            "ANY /{rest+}": core,
            "GET /orders/{a}": core,
            "ANY /orders/latest": core,
            "GET /orders/latest": core,
            "GET /{a}/{b}": core,
            "GET /": core,
        },
        200,
    )
    assert [repr(route) for route in routes] == [
        "Route(GET /orders/latest)",
        "Route(ANY /orders/latest)",
        "Route(GET /orders/{a})",
        "Route(GET /{a}/{b})",
        "Route(GET /)",
        "Route(ANY /{rest+})",
    ]
    assert specificity(routes[0]) < specificity(routes[-1])


def test_a_bare_core_is_any_path() -> None:
    def core(proxy: str) -> None: ...

    [route] = parse_routes(core, 201)
    assert (route.method, route.template, route.status) == ("*", "/{proxy+}", 201)
    assert route.match(["a", "b", ""]) == {"proxy": "a/b/"}


@pytest.mark.parametrize(
    ("key", "parts", "values"),
    [
        ("GET /orders/{a}", ["orders", "x"], {"a": "x"}),
        ("GET /orders/{a}", ["orders", "x", ""], {"a": "x"}),  # a trailing slash
        ("GET /orders/{a}", ["orders", ""], None),  # an empty value
        ("GET /orders/{a}", ["orders"], None),
        ("GET /orders/{a}", ["other", "x"], None),
        ("GET /files/{rest+}", ["files", "a", "b"], {"rest": "a/b"}),
        ("GET /files/{rest+}", ["files", "a", ""], {"rest": "a/"}),
        ("GET /files/{rest+}", ["files"], None),
        ("GET /files/{rest+}", ["files", ""], None),
        ("GET /files/{rest+}", ["other", "a"], None),
        ("GET /", [], {}),
    ],
)
def test_route_match(key: str, parts: list[str], values: dict[str, str] | None) -> None:
    assert _route(key).match(parts) == values


def test_the_fast_body_is_the_only_parameter_when_it_is_json() -> None:
    def model(order: Order) -> None: ...

    def text(body: bytes) -> None: ...

    def two(order: Order, page: int = 1) -> None: ...

    assert Route("POST", "/", model, 200).fast_body is not None
    assert Route("POST", "/", text, 200).fast_body is None  # raw bytes: read_body decides
    assert Route("POST", "/", text, 200).body_param is not None
    assert Route("POST", "/", two, 200).body_param is None  # bound by arguments()
    assert Route("POST", "/", two, 200).fast_body is None


@pytest.mark.parametrize(
    "target",
    [{}, [], {"/orders": lambda: None}, {"GET orders": lambda: None}, {"GET /x": "not callable"}],
)
def test_parse_routes_refuses_a_bad_table(target: Any) -> None:
    with pytest.raises(ConfigurationError):
        parse_routes(target, 200)


# -- the request's path and query ---------------------------------------------------------------


def test_path_parts_decode_each_segment_on_its_own() -> None:
    assert path_parts("/files/a%2Fb/c", True) == ["files", "a/b", "c"]
    assert path_parts("/files/a%2Fb", False) == ["files", "a%2Fb"]
    assert path_parts("/", True) == []
    assert path_parts("orders/", False) == ["orders", ""]
    assert decoded("/a%20b", True) == "/a b"
    assert decoded("/a%20b", False) == "/a%20b"


@given(st.lists(st.text(min_size=1).filter(lambda s: "/" not in s), max_size=4))
def test_path_parts_invert_quoting_segment_by_segment(segments: list[str]) -> None:
    from urllib.parse import quote

    path = "/" + "/".join(quote(segment, safe="") for segment in segments)
    assert path_parts(path, True) == segments


@pytest.mark.parametrize(
    ("event", "integration"),
    [
        (events.api_gateway_v1("GET", "/", query={"q": ["a b", "c+d"], "x": "1"}), "rest_v1"),
        (events.api_gateway_v2("GET", "/", query={"q": ["a b", "c+d"], "x": "1"}), "http_v2"),
        (events.function_url("GET", "/", query={"q": ["a b", "c+d"], "x": "1"}), "function_url"),
        (events.alb("GET", "/", query={"q": ["a b", "c+d"], "x": "1"}, multi_value=True), "alb"),
    ],
)
def test_query_pairs_are_the_same_on_every_integration(event: dict[str, Any], integration: str) -> None:
    assert query_pairs(event, integration) == [("q", "a b"), ("q", "c+d"), ("x", "1")]


def test_query_pairs_of_hand_made_events() -> None:
    assert query_pairs({"queryStringParameters": {"a": "1", "b": 2}}, "rest_v1") == [("a", "1")]
    assert query_pairs({"queryStringParameters": {"a": "1"}}, "http_v2") == [("a", "1")]
    assert query_pairs({"multiValueQueryStringParameters": {"a": "no list"}}, "rest_v1") == []
    assert query_pairs({"queryStringParameters": {"a%20b": "c+d"}}, "alb") == [("a b", "c d")]
    assert query_pairs({}, "rest_v1") == []


def test_request_reads_the_event() -> None:
    event = events.api_gateway_v2(
        "POST",
        "/orders/7",
        body={"sku": "a"},
        query={"page": ["1", "2"]},
        cookies=["session=abc", "theme=dark"],
    )
    request = Request(event, "http_v2", "POST", "/orders/7", {"order_id": "7"})
    assert (request.method, request.path, request.integration) == ("POST", "/orders/7", "http_v2")
    assert request.path_params == {"order_id": "7"}
    assert request.query == {"page": "2"}
    assert request.query_list("page") == ["1", "2"]
    assert request.query_list("none") == []
    assert request.json() == {"sku": "a"}
    assert request.header("CONTENT-TYPE") == "application/json"
    assert request.cookies == {"session": "abc", "theme": "dark"}
    assert repr(request) == "Request(POST /orders/7)"


def test_request_cookies_from_the_cookie_header() -> None:
    event = events.api_gateway_v1("GET", "/", headers={"Cookie": "a=1; b=2; junk; =x"})
    assert Request(event, "rest_v1", "GET", "/", {}).cookies == {"a": "1", "b": "2"}


def test_markers_show_their_alias() -> None:
    assert repr(Header("X-Api-Key")) == "Header('X-Api-Key')"
    assert repr(Query()) == "Query(None)"
    assert isinstance(Query(), Header)  # one marker family: parameters() looks for Header
    assert Param("n", "query", int, "n", True, None).parse is not None
