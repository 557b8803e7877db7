"""API Gateway Lambda authorizers: REST TOKEN / REQUEST, HTTP API 1.0 / 2.0, the policy builder."""

from __future__ import annotations

import asyncio
import json
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aws_samples import sample
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lambda_kit.exceptions import ConfigurationError, EventShapeError, HandlerError, LambdaKitError
from lambda_kit.handler import Policy, UnauthorizedError, authorizer
from lambda_kit.testing import FakeContext, events, invoke

EVENTS = Path(__file__).parent / "events"


def allow_token(token: str) -> Policy | None:
    if token in ("allow", "incoming-client-token", "user1,123"):
        return Policy("user-1", context={"tier": "gold", "quota": 5, "admin": False}).allow()
    if token == "deny":
        return Policy("user-1").deny()
    return None


# -- AWS's sample events ------------------------------------------------------------------------


def test_rest_token_samples_get_an_iam_policy_for_their_own_api() -> None:
    handler = authorizer(allow_token)
    go = invoke(handler, sample("go-apigw-custom-auth-request.json"))
    assert go == {
        "principalId": "user-1",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Action": "execute-api:Invoke",
                    "Effect": "Allow",
                    # the test console's methodArn has stage "*": the policy keeps it
                    "Resource": "arn:aws:execute-api:us-west-2:123456789012:ymy8tbxw7b/*/*/*",
                }
            ],
        },
        "context": {"tier": "gold", "quota": 5, "admin": False},
    }
    sam = invoke(handler, sample("sam-ApiGatewayAuthorizer.json"))
    statement = sam["policyDocument"]["Statement"][0]
    assert statement["Resource"] == "arn:aws:execute-api:us-east-1:123456789012:example/prod/*/*"


@dataclass
class Caller:
    method: str
    path: str
    headers: dict[str, str]
    query: dict[str, str]
    stage_variables: dict[str, str]
    api_id: str
    stage: str
    token: str | None = None
    identity_source: list[str] = field(default_factory=list)


SEEN: list[Caller] = []


def by_header(caller: Caller) -> Policy | None:
    SEEN.append(caller)
    if caller.headers.get("headerauth1") != "headerValue1":
        return None
    return Policy("user-2", usage_identifier_key="key-123").allow(caller.method, caller.path)


@pytest.mark.parametrize(
    "name", ["go-apigw-custom-auth-request-type-request.json", "sam-ApiGatewayRestRequestAuthorizer.json"]
)
def test_rest_request_samples_reach_the_core_as_a_typed_request(name: str) -> None:
    SEEN.clear()
    response = invoke(authorizer(by_header), sample(name))
    caller = SEEN[0]
    assert (caller.method, caller.path, caller.stage) == ("GET", "/request", "test")
    assert caller.query == {"QueryString1": "queryValue1"}
    assert caller.stage_variables == {"StageVar1": "stageValue1"}
    assert "x-amz-date" in caller.headers  # names lower-cased
    assert caller.token is None  # no Authorization header in the sample
    assert response["principalId"] == "user-2"
    assert response["usageIdentifierKey"] == "key-123"
    [statement] = response["policyDocument"]["Statement"]
    assert (
        statement["Resource"]
        == f"arn:aws:execute-api:us-east-1:123456789012:{caller.api_id}/test/GET/request"
    )
    assert statement["Effect"] == "Allow"


def test_http_api_payload_1_sample_takes_the_identity_sources_and_an_iam_answer() -> None:
    SEEN.clear()
    event = sample("go-apigw-v2-custom-authorizer-v1-request.json")
    response = invoke(authorizer(by_header), event)
    assert SEEN[0].token == "user1,123"
    assert SEEN[0].identity_source == ["user1", "123"]
    assert "usageIdentifierKey" not in response  # HTTP APIs have no usage plans
    assert response["policyDocument"]["Statement"][0]["Resource"] == event["methodArn"]
    assert invoke(authorizer(allow_token), event)["principalId"] == "user-1"


def test_http_api_payload_2_sample_in_simple_and_iam_form() -> None:
    event = sample("go-apigw-v2-custom-authorizer-v2-request.json")
    assert invoke(authorizer(allow_token, simple=True), event) == {
        "isAuthorized": True,
        "context": {"tier": "gold", "quota": 5, "admin": False},
    }
    iam = invoke(authorizer(allow_token), event)
    assert iam["policyDocument"]["Statement"][0]["Resource"] == (
        "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/*/*"
    )
    SEEN.clear()
    invoke(authorizer(by_header), event)
    caller = SEEN[0]
    assert (caller.method, caller.path) == ("POST", "/my/path")  # requestContext.http, rawPath
    assert caller.identity_source == ["user1", "123"]
    assert caller.headers == {"header1": "value1", "header2": "value2"}


# -- Unauthorized, deny, simple responses ----------------------------------------------------------


def test_none_on_a_rest_api_fails_with_exactly_unauthorized() -> None:
    handler = authorizer(allow_token)
    with pytest.raises(UnauthorizedError) as raised:
        handler(events.authorizer_token("bogus"), FakeContext())
    assert str(raised.value) == "Unauthorized"  # the message API Gateway maps to a 401
    with pytest.raises(UnauthorizedError):
        handler(events.authorizer_request("GET", "/orders"), FakeContext())  # no token at all


def test_none_on_an_http_api_is_a_deny() -> None:
    event = events.http_api_authorizer("GET", "/orders", identity_source=["bogus"])
    assert invoke(authorizer(allow_token, simple=True), event) == {"isAuthorized": False}
    iam = invoke(authorizer(allow_token), event)
    assert iam["principalId"] == "unauthorized"
    assert iam["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    v1 = events.http_api_authorizer("GET", "/orders", identity_source=["bogus"], version="1.0")
    assert invoke(authorizer(allow_token), v1)["policyDocument"]["Statement"][0]["Effect"] == "Deny"


def test_the_core_may_raise_unauthorized_itself() -> None:
    def strict(token: str) -> Policy:
        raise UnauthorizedError()

    with pytest.raises(UnauthorizedError):
        authorizer(strict)(events.authorizer_token("x"), None)
    event = events.http_api_authorizer("GET", "/orders", identity_source=["x"])
    assert invoke(authorizer(strict, simple=True), event) == {"isAuthorized": False}


def test_simple_response_evaluates_the_policy_for_the_route_called() -> None:
    def scoped(token: str) -> Policy:
        return Policy("u").allow("GET", "/orders/*").deny("GET", "/orders/secret")

    handler = authorizer(scoped, simple=True)
    answers = {
        path: invoke(handler, events.http_api_authorizer("GET", path, identity_source=["t"]))["isAuthorized"]
        for path in ("/orders/1", "/orders/secret", "/users/1")
    }
    assert answers == {"/orders/1": True, "/orders/secret": False, "/users/1": False}
    post = events.http_api_authorizer("POST", "/orders/1", identity_source=["t"])
    assert invoke(handler, post) == {"isAuthorized": False}


def test_bool_results_are_for_simple_responses_only() -> None:
    def yes(token: str) -> bool:
        return token == "t"

    event = events.http_api_authorizer("GET", "/orders", identity_source=["t"])
    assert invoke(authorizer(yes, simple=True), event) == {"isAuthorized": True}
    with pytest.raises(HandlerError, match="simple=True"):
        authorizer(yes)(event, None)
    with pytest.raises(HandlerError, match="simple=True"):
        authorizer(yes, simple=True)(events.authorizer_token("t"), None)  # REST: IAM only


def test_a_result_of_another_type_is_a_clear_error() -> None:
    def wrong(token: str) -> Any:
        return {"principalId": "u"}

    with pytest.raises(HandlerError, match="must return a Policy or None, got dict"):
        authorizer(wrong)(events.authorizer_token("t"), None)


def test_a_core_failure_propagates_as_a_function_error() -> None:
    def broken(token: str) -> Policy:
        raise RuntimeError("database down")

    with pytest.raises(RuntimeError, match="database down"):
        authorizer(broken)(events.authorizer_token("t"), None)


@dataclass
class NeedsHeader:
    headers: dict[str, int]  # a header that is not a number does not fit


def test_a_request_that_does_not_fit_the_core_type_is_unauthorized() -> None:
    def core(request: NeedsHeader) -> Policy:
        return Policy("u").allow()

    handler = authorizer(core)
    with pytest.raises(UnauthorizedError):
        handler(events.authorizer_request("GET", "/o", headers={"x-tenant": "acme"}), None)
    event = events.http_api_authorizer("GET", "/o", headers={"x": "acme"})
    assert invoke(authorizer(core, simple=True), event) == {"isAuthorized": False}


def test_async_core() -> None:
    async def check(token: str) -> Policy | None:
        await asyncio.sleep(0)
        return Policy("async-user").allow() if token == "ok" else None

    assert invoke(authorizer(check), events.authorizer_token("ok"))["principalId"] == "async-user"


def test_the_request_object_as_a_dict() -> None:
    captured: list[dict[str, Any]] = []

    def core(request: dict[str, Any]) -> Policy:
        captured.append(request)
        return Policy("u").allow()

    invoke(
        authorizer(core),
        events.authorizer_request(
            "PUT",
            "/orders/7",
            headers={"Authorization": "Bearer t"},
            query={"q": "1"},
            source_ip="198.51.100.1",
        ),
    )
    request = captured[0]
    assert request["token"] == "Bearer t"
    assert request["source_ip"] == "198.51.100.1"
    assert request["method_arn"].endswith(":abcdef1234/prod/PUT/orders/7")
    assert (request["account_id"], request["region"]) == ("123456789012", "us-east-1")


def test_where_a_str_core_finds_the_token() -> None:
    tokens: list[str] = []

    def core(token: str) -> Policy:
        tokens.append(token)
        return Policy("u").allow()

    handler = authorizer(core)
    invoke(handler, events.authorizer_request("GET", "/o", headers={"AUTHORIZATION": "Bearer a"}))
    v1 = events.http_api_authorizer("GET", "/o", identity_source=["b", "c"], version="1.0")
    del v1["authorizationToken"]
    invoke(handler, v1)
    assert tokens == ["Bearer a", "b,c"]
    for broken in ({"identitySource": "not a list"}, {"identitySource": [1, 2]}):
        event = events.http_api_authorizer("GET", "/o", identity_source=["x"]) | broken
        assert invoke(authorizer(core, simple=True), event) == {"isAuthorized": False}
    v1["identitySource"] = None
    assert invoke(handler, v1)["principalId"] == "unauthorized"


# -- the policy builder ----------------------------------------------------------------------------


def test_policy_statements_render_under_the_requests_api_and_stage() -> None:
    def core(token: str) -> Policy:
        return (
            Policy("u")
            .allow("get", "/orders/*")
            .allow("POST", "orders")
            .allow("GET", "/")
            .deny("DELETE")
            .allow("*", "/users/{id}/profile")
        )

    event = events.authorizer_token("t", api_id="a1b2c3", stage="beta")
    resources = [
        (item["Effect"], item["Resource"])
        for item in invoke(authorizer(core), event)["policyDocument"]["Statement"]
    ]
    base = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3/beta"
    assert resources == [
        ("Allow", f"{base}/GET/orders/*"),
        ("Allow", f"{base}/POST/orders"),
        ("Allow", f"{base}/GET/"),  # the root resource
        ("Deny", f"{base}/DELETE/*"),
        ("Allow", f"{base}/*/users/{{id}}/profile"),
    ]


def test_a_policy_without_statements_denies_everything() -> None:
    response = invoke(authorizer(lambda token: Policy("u")), events.authorizer_token("t"))
    assert response["policyDocument"]["Statement"] == [
        {
            "Action": "execute-api:Invoke",
            "Effect": "Deny",
            "Resource": "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/*/*",
        }
    ]


def test_policy_allows_matches_as_iam_does() -> None:
    policy = Policy("u").allow("GET", "/orders/*").deny("*", "/orders/secret?")
    arn = "arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/orders/"
    assert policy.allows(arn + "1/items")  # * crosses "/"
    assert not policy.allows(arn + "secret1")  # ? is one character, an explicit deny wins
    assert policy.allows(arn + "secret")  # "secret" alone does not match "secret?"
    assert not policy.allows("arn:aws:execute-api:us-east-1:123456789012:api/prod/POST/orders/1")
    assert not Policy("u").allows(arn + "1")
    middle = Policy("u").allow("*", "/orders/*/items")
    assert middle.allows(arn + "7/items")
    assert not middle.allows(arn + "7/notes")
    every = Policy("u").allow()
    assert every.allows("arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/")
    assert not every.allows("arn:aws:execute-api:us-east-1:123456789012:api/beta/GET")  # no path part


_arn_text = st.text(alphabet="ab/*?", max_size=8)


@settings(max_examples=200, deadline=None)
@given(pattern=_arn_text, arn=st.text(alphabet="ab/", max_size=8))
def test_resource_matching_fast_paths_agree_with_iam_wildcards(pattern: str, arn: str) -> None:
    import re

    from lambda_kit.handler._authorizer import _matches

    reference = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    assert _matches(pattern, arn) is (re.fullmatch(reference, arn, flags=re.DOTALL) is not None)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Policy(""), "principal_id"),
        (lambda: Policy("u", context={"nested": {"a": 1}}), "must be a string, a finite number"),
        (lambda: Policy("u", context={"gone": None}), "refuses objects, arrays and null"),
        (lambda: Policy("u", context={"inf": float("inf")}), "finite number"),
        (lambda: Policy("u", context={1: "x"}), "keys must be strings"),  # type: ignore[dict-item]
        (lambda: Policy("u", context=["a"]), "mapping"),  # type: ignore[arg-type]
        (lambda: Policy("u", usage_identifier_key=5), "usage_identifier_key"),  # type: ignore[arg-type]
        (lambda: Policy("u").allow("FETCH", "/x"), "Invalid method 'FETCH'"),
        (lambda: Policy("u").allow("GET", "/a b"), "without spaces"),
        (lambda: Policy("u").allow("GET", "/a\u2003b"), "without spaces"),
        (lambda: Policy("u").deny(["GET"], "/"), "Invalid method"),  # type: ignore[arg-type]
        (lambda: Policy("u").deny("GET", None), "must be a string"),  # type: ignore[arg-type]
    ],
)
def test_policy_refuses_what_api_gateway_would(build: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        build()


def test_policy_repr_shows_no_context_values() -> None:
    text = repr(Policy("u", context={"email": "jane@example.com"}).allow())
    assert "jane@example.com" not in text
    assert "email" in text


# -- malformed events --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ([], "expected an object"),
        ({"type": "JWT"}, "expected 'type' TOKEN or REQUEST"),
        ({"type": "REQUEST", "version": "3.0"}, "expected 'type' TOKEN or REQUEST"),
        ({"type": "TOKEN", "authorizationToken": "t"}, "no method ARN"),
        ({"type": "TOKEN", "authorizationToken": "t", "methodArn": "arn:aws:s3:::bucket"}, "execute-api"),
        ({"type": "TOKEN", "authorizationToken": "t", "methodArn": "arn:aws:execute-api:r:a:api"}, "api-id"),
        ({"type": "TOKEN", "methodArn": "arn:aws:execute-api:r:a:api/s/GET/x"}, "authorizationToken"),
        ({"version": "2.0", "type": "REQUEST", "methodArn": "arn:aws:execute-api:r:a:i/s/GET/"}, "ARN"),
    ],
)
def test_malformed_events_are_clear_errors(event: Any, message: str) -> None:
    with pytest.raises(EventShapeError, match=message):
        authorizer(allow_token)(event, None)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
_events = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["TOKEN", "REQUEST", "x"]),
        "version": st.sampled_from(["1.0", "2.0", 2]),
        "authorizationToken": st.text(max_size=10) | _json,
        "methodArn": st.sampled_from(["arn:aws:execute-api:r:1:a/s/GET/p", "arn:x", ""]) | _json,
        "routeArn": st.sampled_from(["arn:aws:execute-api:r:1:a/s/GET/p", "bad"]) | _json,
        "identitySource": st.lists(st.text(max_size=5), max_size=3) | _json,
        "headers": st.dictionaries(st.text(max_size=5), st.text(max_size=5) | _json, max_size=3) | _json,
        "queryStringParameters": _json,
        "requestContext": _json,
        "cookies": _json,
        "rawPath": _json,
        "httpMethod": _json,
    },
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event=_events, simple=st.booleans())
def test_any_event_gives_an_answer_or_a_lambda_kit_error(event: dict[str, Any], simple: bool) -> None:
    def core(request: dict[str, Any]) -> Policy:
        return Policy("u").allow("GET") if request["token"] else Policy("u")

    for handler in (authorizer(core, simple=simple), authorizer(allow_token, simple=simple)):
        try:
            response = handler(event, None)
        except LambdaKitError:
            continue
        json.dumps(response)  # always something Lambda can send
        assert "isAuthorized" in response or "policyDocument" in response


# -- the real runtime --------------------------------------------------------------------------------


@pytest.mark.emulator
def test_unauthorized_reaches_api_gateway_as_the_error_message(tmp_path: Path) -> None:
    from lambda_kit_dev import Emulator

    (tmp_path / "auth.py").write_text(
        textwrap.dedent(
            """
            from lambda_kit.handler import Policy, authorizer

            def check(token: str):
                return Policy("user-1").allow() if token == "good" else None

            handler = authorizer(check)
            """
        ),
        encoding="utf-8",
    )
    with Emulator("auth.handler", task_root=tmp_path) as fn:
        refused = fn.invoke(events.authorizer_token("bad"))
        allowed = fn.invoke(events.authorizer_token("good"))
    assert refused.error is not None
    assert refused.error["errorMessage"] == "Unauthorized"
    assert allowed.json()["principalId"] == "user-1"
