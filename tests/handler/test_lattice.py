"""VPC Lattice as another integration of http(): event structures 1 and 2, the response Lattice takes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_samples import sample
from hypothesis import given, settings
from hypothesis import strategies as st

from lambda_kit.handler import Request, http
from lambda_kit.handler._lattice import as_http_v2, lattice_version
from lambda_kit.testing import events

EVENTS = Path(__file__).parent / "events"
RESPONSE_KEYS = {"statusCode", "statusDescription", "headers", "body", "isBase64Encoded"}


def test_the_version_1_sample_is_routed_with_its_query_headers_and_base64_body() -> None:
    seen: list[Request] = []

    def test_path(request: Request) -> dict[str, Any]:
        seen.append(request)
        return {"order": request.query["order-id"]}

    response = http({"GET /testpath": test_path})(sample("guide-vpc-lattice-v1.json"), None)

    assert response == {
        "statusCode": 200,
        "statusDescription": "200 OK",
        "headers": {"Content-Type": "application/json"},
        "body": '{"order":"1"}',
        "isBase64Encoded": False,
    }
    (request,) = seen
    assert request.body == b'{"test": "event"}'
    assert request.header("X-Forwarded-For") == "10.213.229.10"
    assert request.header("user_agent") == "curl/7.64.1"
    assert request.path == "/testpath"


def test_the_version_2_sample_keeps_the_lattice_identity_for_the_core() -> None:
    seen: list[Request] = []

    def todos(request: Request) -> list[str]:
        seen.append(request)
        return ["write tests"]

    response = http({"GET /todos": todos})(sample("guide-vpc-lattice-v2.json"), None)

    assert response["statusCode"] == 200
    assert response["statusDescription"] == "200 OK"
    assert json.loads(response["body"]) == ["write tests"]
    (request,) = seen
    identity = request.event["requestContext"]["identity"]
    assert identity["principal"].endswith("assumed-role/example-role/057d00f8b51257ba3c853a0f248943cf")
    assert request.event["requestContext"]["serviceArn"].startswith("arn:aws:vpc-lattice:")
    assert request.query == {"order-id": "1"}
    assert request.json() == {"message": "Hello from Lambda!"}


@dataclass
class Order:
    item: str
    quantity: int


@pytest.mark.parametrize("version", [1, 2])
def test_a_json_body_takes_the_same_path_as_on_api_gateway(version: int) -> None:
    def create(order: Order) -> Order:
        return Order(order.item.upper(), order.quantity + 1)

    handler = http({"POST /orders": create}, status=201)
    event = events.vpc_lattice("POST", "/orders", body={"item": "tea", "quantity": 1}, version=version)
    response = handler(event, None)
    assert response["statusCode"] == 201
    assert response["statusDescription"] == "201 Created"
    assert json.loads(response["body"]) == {"item": "TEA", "quantity": 2}
    assert set(response) == RESPONSE_KEYS


@pytest.mark.parametrize("version", [1, 2])
def test_path_and_query_values_are_bound_and_decoded(version: int) -> None:
    def get_order(order_id: str, verbose: bool = False) -> dict[str, Any]:
        return {"id": order_id, "verbose": verbose}

    event = events.vpc_lattice("GET", "/orders/a%2Fb", query={"verbose": "true"}, version=version)
    response = http({"GET /orders/{order_id}": get_order})(event, None)
    assert json.loads(response["body"]) == {"id": "a/b", "verbose": True}


def test_repeated_values_in_version_2_are_kept() -> None:
    seen: list[Request] = []

    def search(request: Request) -> None:
        seen.append(request)

    event = events.vpc_lattice("GET", "/search")
    event["headers"]["x-tag"] = ["a", "b"]
    event["queryStringParameters"] = {"tag": ["x y", "z+1"]}
    response = http(search)(event, None)
    assert response["statusCode"] == 204
    assert response["statusDescription"] == "204 No Content"
    assert seen[0].header("X-Tag") == "a,b"
    assert seen[0].query_list("tag") == ["x y", "z+1"]


@pytest.mark.parametrize("version", [1, 2])
def test_errors_are_answered_in_the_lattice_shape(version: int) -> None:
    def boom() -> None:
        raise RuntimeError("down")

    handler = http({"GET /boom": boom, "POST /orders": lambda order: None})
    missing = handler(events.vpc_lattice("GET", "/nowhere", version=version), None)
    crashed = handler(events.vpc_lattice("GET", "/boom", version=version), None)
    wrong = handler(events.vpc_lattice("DELETE", "/orders", version=version), None)
    assert [(r["statusCode"], r["statusDescription"]) for r in (missing, crashed, wrong)] == [
        (404, "404 Not Found"),
        (500, "500 Internal Server Error"),
        (405, "405 Method Not Allowed"),
    ]
    assert wrong["headers"]["Allow"] == "POST"
    assert all(set(r) == RESPONSE_KEYS for r in (missing, crashed, wrong))


def test_binary_results_are_base64_for_lattice_too() -> None:
    response = http(lambda: b"\x00\xff")(events.vpc_lattice("GET", "/blob", version=1), None)
    assert response["isBase64Encoded"] is True
    assert response["body"] == "AP8="


def test_events_of_other_integrations_are_not_taken_for_lattice() -> None:
    for event in (
        events.api_gateway_v1("GET", "/x"),
        events.api_gateway_v2("GET", "/x"),
        events.alb("GET", "/x"),
        events.function_url("GET", "/x"),
    ):
        assert lattice_version(event) is None
    handler = http(lambda: {"ok": True})
    unknown = handler({"method": "GET"}, None)
    assert unknown["statusCode"] == 400
    assert "Lattice" in unknown["body"]
    assert "statusDescription" not in unknown
    no_path = handler({"version": "2.0", "method": "GET"}, None)
    assert no_path["statusCode"] == 400
    assert json.loads(no_path["body"]) == {"message": "The event has no HTTP method or path."}


def test_the_query_in_a_version_1_raw_path_is_read_when_no_parameters_came() -> None:
    translated = as_http_v2({"method": "get", "raw_path": "/a?x=1&y=%2B", "headers": None})
    assert translated is not None
    assert (translated["rawPath"], translated["rawQueryString"]) == ("/a", "x=1&y=%2B")
    assert translated["requestContext"]["http"]["method"] == "GET"


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from([1, 2]),
    st.dictionaries(
        st.sampled_from(
            [
                "headers",
                "body",
                "isBase64Encoded",
                "is_base64_encoded",
                "queryStringParameters",
                "query_string_parameters",
                "requestContext",
                "path",
                "raw_path",
            ]
        ),
        _json,
        max_size=3,
    ),
)
def test_malformed_lattice_events_get_an_answer_never_an_exception(
    version: int, damage: dict[str, Any]
) -> None:
    def echo(request: Request) -> dict[str, Any]:
        return {"path": request.path}

    event = events.vpc_lattice("POST", "/echo", body="hi", version=version)
    event.update(damage)
    response = http(echo)(event, None)
    assert isinstance(response["statusCode"], int)
    assert 200 <= response["statusCode"] < 500
    if lattice_version(event) is not None:
        assert response["statusDescription"].startswith(str(response["statusCode"]))
