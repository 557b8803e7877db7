"""The HTTP adapter's steps, each called alone: find, read_body, arguments, render, respond, problem."""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass
from typing import Annotated, Any

import pytest
from protos import orders_pb2

from lambda_kit.exceptions import InputValidationError
from lambda_kit.handler import CORS, Header, Request, Response
from lambda_kit.handler._http import _HTTPApp, _HTTPProblem
from lambda_kit.testing import events, reset_lifecycle


@pytest.fixture(autouse=True)
def _fresh() -> None:
    reset_lifecycle()


@dataclass
class Note:
    text: str


def get_order(order_id: int, verbose: bool = False) -> dict[str, Any]:
    return {"id": order_id, "verbose": verbose}


def add_note(note: Note) -> Note:
    return note


def optional_note(note: Note | None = None) -> Note | None:
    return note


def upload(data: bytes) -> int:
    return len(data)


def find_order(query: orders_pb2.Order) -> orders_pb2.Order:
    return query


def whoami(request: Request, key: Annotated[str, Header("X-Api-Key")]) -> str:
    return key


APP = _HTTPApp(
    {
        "GET /orders/{order_id}": get_order,
        "DELETE /orders/{order_id}": get_order,
        "GET /orders/latest": get_order,
        "POST /notes": add_note,
        "PATCH /notes": optional_note,
        "POST /upload": upload,
        "POST /find": find_order,
        "GET /me": whoami,
    }
)


def _route(key: str) -> Any:
    method, _, template = key.partition(" ")
    return next(r for r in APP.routes if r.method == method and r.template == template)


# -- find ----------------------------------------------------------------------------------------


def test_find_a_static_route_with_one_lookup() -> None:
    route, values = APP.find("GET", "/orders/latest/", False)
    assert (route.template, values) == ("/orders/latest", {})


def test_find_a_route_with_parameters_and_decode_its_values() -> None:
    route, values = APP.find("GET", "/orders/a%2Fb", True)
    assert (route.template, values) == ("/orders/{order_id}", {"order_id": "a/b"})
    route, _ = APP.find("HEAD", "/orders/7", False)
    assert route.method == "GET"  # HEAD is served by GET


def test_find_says_which_methods_a_path_allows() -> None:
    with pytest.raises(_HTTPProblem) as caught:
        APP.find("PUT", "/orders/7", False)
    assert (caught.value.status, caught.value.extra) == (405, {"allow": "DELETE, GET"})
    with pytest.raises(_HTTPProblem, match=r"No route for /nowhere/a b\.") as missing:
        APP.find("GET", "/nowhere/a%20b", True)
    assert missing.value.status == 404


# -- read_body -----------------------------------------------------------------------------------


def _param(key: str) -> Any:
    return _route(key).params[0]


def test_read_body_by_content_type() -> None:
    param = _param("POST /notes")
    event = events.api_gateway_v2("POST", "/notes", body={"text": "hi"})
    assert APP.read_body(event, param) == Note("hi")
    event["headers"]["content-type"] = "application/vnd.notes+json; charset=utf-8"
    assert APP.read_body(event, param) == Note("hi")
    event["body"], event["isBase64Encoded"] = base64.b64encode(b'{"text": "b64"}').decode(), True
    assert APP.read_body(event, param) == Note("b64")


def test_read_body_missing() -> None:
    event = events.api_gateway_v2("POST", "/notes")
    with pytest.raises(InputValidationError, match="body is required"):
        APP.read_body(event, _param("POST /notes"))
    assert APP.read_body(event, _param("PATCH /notes")) is None  # optional: its default


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"headers": {"content-type": "text/plain"}}, 415),
        ({"isBase64Encoded": True, "body": "!!"}, 400),
        ({"body": 42}, 400),
    ],
)
def test_read_body_problems(change: dict[str, Any], status: int) -> None:
    event = events.api_gateway_v2("POST", "/notes", body={"text": "hi"})
    event.update(change)
    with pytest.raises(_HTTPProblem) as caught:
        APP.read_body(event, _param("POST /notes"))
    assert caught.value.status == status


def test_read_body_raw_bytes_take_any_content_type() -> None:
    event = events.api_gateway_v2("POST", "/upload", body="é", headers={"content-type": "text/plain"})
    assert APP.read_body(event, _param("POST /upload")) == "é".encode()


def test_read_body_protobuf_through_the_codec() -> None:
    message = orders_pb2.Order(order_id="o-1")
    event = events.api_gateway_v2(
        "POST",
        "/find",
        body=message.SerializeToString(),
        base64_encoded=True,
        headers={"content-type": "application/x-protobuf"},
    )
    assert APP.read_body(event, _param("POST /find")) == message
    event["body"] = base64.b64encode(b"\xff\xff").decode()
    with pytest.raises(_HTTPProblem) as caught:
        APP.read_body(event, _param("POST /find"))
    assert caught.value.status == 400


# -- arguments -----------------------------------------------------------------------------------


def test_arguments_from_path_query_headers_and_the_request() -> None:
    event = events.api_gateway_v1("GET", "/orders/7", query={"verbose": "yes"})
    route = _route("GET /orders/{order_id}")
    assert APP.arguments(route, event, "rest_v1", "GET", "/orders/7", False, {"order_id": "7"}) == {
        "order_id": 7,
        "verbose": True,
    }
    event = events.api_gateway_v1("GET", "/me", headers={"X-Api-Key": "k"})
    kwargs = APP.arguments(_route("GET /me"), event, "rest_v1", "GET", "/me", False, {})
    assert kwargs["key"] == "k"
    assert repr(kwargs["request"]) == "Request(GET /me)"


def test_arguments_missing_and_invalid_values_are_400s() -> None:
    route = _route("GET /me")
    event = events.api_gateway_v1("GET", "/me")
    with pytest.raises(InputValidationError, match="Missing header parameter 'X-Api-Key'"):
        APP.arguments(route, event, "rest_v1", "GET", "/me", False, {})
    event = events.api_gateway_v1("GET", "/me", headers={"X-Api-Key": "k"})
    event["body"], event["isBase64Encoded"] = "!!", True
    with pytest.raises(_HTTPProblem, match="not valid base64"):
        APP.arguments(route, event, "rest_v1", "GET", "/me", False, {})


# -- render, respond, problem ----------------------------------------------------------------


def test_render_each_kind_of_result() -> None:
    event = events.api_gateway_v2("GET", "/orders/7")
    route = _route("GET /orders/{order_id}")
    json_result = APP.render(event, "http_v2", "GET", route, {"id": 7})
    assert (json_result["headers"]["Content-Type"], json_result["body"]) == ("application/json", '{"id":7}')
    assert APP.render(event, "http_v2", "GET", route, None)["statusCode"] == 204
    assert APP.render(event, "http_v2", "GET", route, Response(None, status=200))["statusCode"] == 200
    text = APP.render(event, "http_v2", "GET", route, "hi")
    assert (text["headers"]["Content-Type"], text["body"]) == ("text/plain; charset=utf-8", "hi")
    binary = APP.render(event, "http_v2", "GET", route, b"\x00")
    assert (binary["body"], binary["isBase64Encoded"]) == ("AA==", True)
    created = APP.render(event, "http_v2", "GET", route, Response({"a": 1}, status=201, headers={"X": "y"}))
    assert (created["statusCode"], created["headers"]["X"]) == (201, "y")


def test_render_head_keeps_the_headers_and_drops_the_body() -> None:
    event = events.api_gateway_v2("HEAD", "/orders/7")
    response = APP.render(event, "http_v2", "HEAD", _route("GET /orders/{order_id}"), b"data")
    assert response["headers"]["Content-Type"] == "application/octet-stream"
    assert (response["body"], response["isBase64Encoded"]) == ("", False)


def test_render_refuses_a_client_that_takes_no_json() -> None:
    event = events.api_gateway_v2("GET", "/orders/7", headers={"accept": "text/html"})
    with pytest.raises(_HTTPProblem) as caught:
        APP.render(event, "http_v2", "GET", _route("GET /orders/{order_id}"), {"id": 7})
    assert caught.value.status == 406


def test_render_a_protobuf_result_with_cors_headers() -> None:
    app = _HTTPApp({"POST /find": find_order}, cors=CORS(["https://shop.example"]))
    for event in (
        events.api_gateway_v2("POST", "/find", headers={"origin": "https://shop.example"}),
        events.alb("POST", "/find", headers={"origin": "https://shop.example"}, multi_value=True),
    ):
        integration = "alb" if "elb" in event["requestContext"] else "http_v2"
        response = app.render(event, integration, "POST", app.routes[0], orders_pb2.Order(order_id="o"))
        headers = response.get("headers") or {k: v[0] for k, v in response["multiValueHeaders"].items()}
        assert headers["Access-Control-Allow-Origin"] == "https://shop.example"


def test_respond_merges_headers_whatever_their_case() -> None:
    event = events.api_gateway_v2("GET", "/")
    response = APP.respond(
        event, "http_v2", 200, "x", "text/plain", {"content-type": "text/csv", "X-A": "\ud800"}
    )
    assert response["headers"] == {"content-type": "text/csv", "X-A": "\ufffd"}


def test_respond_in_the_alb_format() -> None:
    single = APP.respond(events.alb("GET", "/"), "alb", 200, "x", "text/plain")
    assert (single["statusDescription"], single["headers"]) == ("200 OK", {"Content-Type": "text/plain"})
    multi = APP.respond(events.alb("GET", "/", multi_value=True), "alb", 404, "", None)
    assert (multi["statusDescription"], multi["multiValueHeaders"]) == ("404 Not Found", {})


def test_problem_is_json_and_allow_becomes_a_header() -> None:
    event = events.api_gateway_v2("PUT", "/orders/7")
    response = APP.problem(event, "http_v2", 405, "No.", {"allow": "GET", "hint": 1})
    assert response["headers"] == {"Content-Type": "application/json", "Allow": "GET"}
    assert json.loads(response["body"]) == {"message": "No.", "hint": 1}


def test_error_response_maps_what_went_wrong(caplog: pytest.LogCaptureFixture) -> None:
    class Gone(Exception):
        pass

    app = _HTTPApp(get_order, errors={Gone: 410})
    event = events.api_gateway_v2("GET", "/")
    assert app.error_response(event, "http_v2", _HTTPProblem(404, "No."))["statusCode"] == 404
    invalid = app.error_response(event, "http_v2", InputValidationError("bad"))
    assert json.loads(invalid["body"])["errors"] == [{"loc": [], "msg": "bad", "type": "value_error"}]
    assert app.error_response(event, "http_v2", Gone("away"))["body"] == '{"message":"away","error":"Gone"}'
    with caplog.at_level(logging.ERROR, logger="lambda_kit.handler"):
        failed = app.error_response("not a dict", "unknown", RuntimeError("secret"))
    assert failed["statusCode"] == 500
    assert "secret" not in failed["body"]
    assert caplog.records[0].exc_info is not None
    assert caplog.records[0].exc_info[0] is RuntimeError


def test_the_codec_is_made_once_on_first_use() -> None:
    app = _HTTPApp(get_order)
    codec = app.codec()
    assert app.codec() is codec


def test_handle_is_call() -> None:
    event = events.api_gateway_v2("GET", "/orders/7")
    assert APP(event, None) == APP.handle(event, None)
