"""API Gateway WebSocket APIs: routes by routeKey, the connection to the core, replies posted back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_samples import sample
from hypothesis import given, settings
from hypothesis import strategies as st

from lambda_kit import aws as aws_module
from lambda_kit.exceptions import ConfigurationError, EventShapeError
from lambda_kit.handler import Connection, websocket
from lambda_kit.handler._websocket import management_endpoint
from lambda_kit.testing import events
from lambda_kit_dev.stand_ins import AwsStandIn, TLSServer

EVENTS = Path(__file__).parent / "events"


@dataclass
class Chat:
    text: str


class Refused(Exception):
    pass


def routes(log: list[tuple[str, Any]]) -> dict[str, Any]:
    def connect(connection: Connection) -> None:
        if connection.query.get("token") == "bad":
            raise Refused("bad token")
        log.append(("connect", connection))

    def disconnect(connection: Connection) -> None:
        log.append(("disconnect", connection))

    def default(message: dict[str, Any], connection: Connection) -> dict[str, Any]:
        log.append(("default", message))
        return {"echo": message, "from": connection.connection_id}

    def send(chat: Chat) -> str:
        log.append(("sendmessage", chat))
        return chat.text.upper()

    return {"$connect": connect, "$disconnect": disconnect, "$default": default, "sendmessage": send}


def test_the_connect_sample_reaches_connect_with_its_connection() -> None:
    log: list[tuple[str, Any]] = []
    response = websocket(routes(log))(sample("go-apigw-websocket-request.json"), None)

    assert response == {"statusCode": 200}
    ((name, connection),) = log
    assert name == "connect"
    assert connection.connection_id == "TWegAcC4EowCHnA="
    assert connection.route_key == "$connect"
    assert connection.event_type == "CONNECT"
    assert connection.query == {"name": "me"}
    assert connection.headers["Content-Type"] == "application/json"
    assert connection.connected_at == 1547230720092
    assert connection.source_ip == "192.168.196.186"
    assert repr(connection) == "Connection($connect TWegAcC4EowCHnA=)"


def test_the_disconnect_sample_carries_its_close_code() -> None:
    log: list[tuple[str, Any]] = []
    assert websocket(routes(log))(sample("go-apigw-websocket-request-disconnect.json"), None) == {
        "statusCode": 200
    }
    ((name, connection),) = log
    assert name == "disconnect"
    assert connection.disconnect_status == 1001
    assert connection.disconnect_reason == ""
    assert connection.endpoint_url == "https://dl7ptocha9.execute-api.ap-northeast-1.amazonaws.com/prod"


def test_the_message_sample_reaches_default_with_its_body_parsed() -> None:
    log: list[tuple[str, Any]] = []
    response = websocket(routes(log))(sample("go-apigw-websocket-request-send-message.json"), None)
    assert log == [("default", {"a": 1})]
    assert json.loads(response["body"]) == {"echo": {"a": 1}, "from": "R1kmxc2VNjMCFIA="}
    assert response["statusCode"] == 200


def test_a_custom_route_gets_its_typed_message_and_answers_text() -> None:
    log: list[tuple[str, Any]] = []
    event = events.websocket("sendmessage", {"text": "hello"})
    assert websocket(routes(log))(event, None) == {"statusCode": 200, "body": "HELLO"}
    assert log == [("sendmessage", Chat("hello"))]


def test_an_unlisted_route_goes_to_default_and_without_default_is_a_404() -> None:
    log: list[tuple[str, Any]] = []
    websocket(routes(log))(events.websocket("other", {"x": 1}), None)
    assert log == [("default", {"x": 1})]
    response = websocket({"sendmessage": lambda chat: None})(events.websocket("other", "{}"), None)
    assert response["statusCode"] == 404
    assert json.loads(response["body"]) == {"message": "No core for route 'other'."}


def test_one_core_serves_every_route() -> None:
    keys: list[str] = []

    def every(connection: Connection) -> None:
        keys.append(connection.route_key)

    handler = websocket(every)
    for key in ("$connect", "$default", "anything", "$disconnect"):
        handler(events.websocket(key, "{}"), None)
    assert keys == ["$connect", "$default", "anything", "$disconnect"]


def test_a_mapped_exception_refuses_the_connection_with_its_status() -> None:
    log: list[tuple[str, Any]] = []
    handler = websocket(routes(log), errors={Refused: 403})
    response = handler(events.websocket("$connect", query={"token": "bad"}), None)
    assert response["statusCode"] == 403
    assert json.loads(response["body"]) == {"message": "bad token"}


def test_a_body_that_does_not_parse_is_a_400_and_a_crash_a_logged_500(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log: list[tuple[str, Any]] = []
    handler = websocket(routes(log))
    bad = handler(events.websocket("sendmessage", "{not json"), None)
    assert bad["statusCode"] == 400
    assert "not valid JSON" in json.loads(bad["body"])["message"]

    def crash(message: dict[str, Any]) -> None:
        raise RuntimeError("database down")

    response = websocket(crash)(events.websocket("$default", "{}"), None)
    assert response["statusCode"] == 500
    assert json.loads(response["body"])["message"] == "Internal server error."
    assert "database down" not in response["body"]
    assert any("WebSocket record" in m and "database down" in m for m in caplog.messages)


def test_a_route_that_needs_a_body_says_so_and_an_optional_one_gets_none() -> None:
    got: list[Any] = []

    def optional(chat: Chat | None = None) -> None:
        got.append(chat)

    assert websocket(optional)(events.websocket("$default"), None) == {"statusCode": 200}
    assert got == [None]
    response = websocket(lambda chat: None)(events.websocket("$default"), None)
    assert response["statusCode"] == 200
    required = websocket({"$default": _needs_chat})(events.websocket("$default"), None)
    assert required["statusCode"] == 400
    assert "needs a message body" in required["body"]


def _needs_chat(chat: Chat) -> None:
    return None


def test_async_cores_work() -> None:
    async def echo(message: dict[str, Any]) -> dict[str, Any]:
        return message

    assert websocket(echo)(events.websocket("$default", {"a": 1}), None)["body"] == '{"a":1}'


def test_configuration_mistakes_are_reported_at_init() -> None:
    with pytest.raises(ConfigurationError, match="route key"):
        websocket({"": lambda: None})
    with pytest.raises(ConfigurationError, match="second body parameter"):
        websocket(lambda a, b: None)
    with pytest.raises(ConfigurationError, match="errors"):
        websocket(lambda: None, errors={Refused: 200})
    with pytest.raises(ConfigurationError):
        websocket({})


@pytest.mark.parametrize(
    "event",
    [None, {}, {"requestContext": {"routeKey": "$default"}}, {"requestContext": {"connectionId": "x"}}],
)
def test_an_event_that_is_not_a_websocket_event_is_a_clear_error(event: Any) -> None:
    with pytest.raises(EventShapeError, match="Not an API Gateway WebSocket event"):
        websocket(lambda: None)(event, None)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=80, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["body", "isBase64Encoded", "headers", "queryStringParameters"]), _json, max_size=3
    ),
    st.dictionaries(
        st.sampled_from(["connectedAt", "identity", "disconnectStatusCode", "domainName", "stage"]),
        _json,
        max_size=3,
    ),
)
def test_malformed_events_answer_a_status_never_raise(
    damage: dict[str, Any], context: dict[str, Any]
) -> None:
    event = events.websocket("$connect", query={"a": "b"})
    event.update(damage)
    event["requestContext"].update(context)
    seen: list[Connection] = []

    def take(chat: Chat | None, connection: Connection) -> None:
        seen.append(connection)

    response = websocket(take)(event, None)
    assert response["statusCode"] in (200, 400)
    if response["statusCode"] == 200:
        assert seen[0].connection_id == "L0SM9cOFvHcCIhw="


def test_management_endpoint_is_built_from_domain_and_stage() -> None:
    assert management_endpoint("abc.execute-api.us-east-1.amazonaws.com", "dev") == (
        "https://abc.execute-api.us-east-1.amazonaws.com/dev"
    )
    connection = Connection({"requestContext": {"connectionId": "c", "routeKey": "$default"}})
    with pytest.raises(EventShapeError, match="domainName and stage"):
        connection.endpoint_url  # noqa: B018


# -- posting back through the management API ----------------------------------------------------


@pytest.fixture
def credentials(aws: AwsStandIn, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The stand-in's credentials and region; the endpoint comes from the event (a fresh client cache)."""
    for name, value in aws.environ().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    aws_module.clear()
    yield
    aws_module.clear()


@pytest.fixture
def api_gateway(credentials: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[TLSServer]:
    """An HTTPS server on 127.0.0.1 standing in for a WebSocket API's domain name."""
    with TLSServer() as server:
        assert server.cert is not None
        monkeypatch.setenv("AWS_CA_BUNDLE", server.cert)
        yield server


def test_send_posts_to_the_endpoint_built_from_domain_name_and_stage(api_gateway: TLSServer) -> None:
    sent: list[bool] = []

    def reply(message: dict[str, Any], connection: Connection) -> None:
        sent.append(connection.send({"got": message}))
        sent.append(connection.send("plain text"))
        sent.append(connection.send(b"\x00\x01"))

    event = events.websocket("$default", {"hi": 1}, connection_id="conn-1", stage="live")
    event["requestContext"]["domainName"] = f"127.0.0.1:{api_gateway.port}"
    assert websocket(reply)(event, None) == {"statusCode": 200}

    assert sent == [True, True, True]
    assert [(method, path, body) for method, path, body, _ in api_gateway.requests] == [
        ("POST", "/live/@connections/conn-1", b'{"got":{"hi":1}}'),
        ("POST", "/live/@connections/conn-1", b"plain text"),
        ("POST", "/live/@connections/conn-1", b"\x00\x01"),
    ]
    signature = api_gateway.headers[0]["Authorization"]
    assert "/execute-api/aws4_request" in signature  # signed for the management API
    assert api_gateway.connections == 1  # one cached client, one kept-alive connection


def test_send_says_false_when_the_client_is_gone(api_gateway: TLSServer) -> None:
    api_gateway.script("/prod/@connections/gone-1", [(410, {"x-amzn-ErrorType": "GoneException"})])
    connection = Connection(events.websocket("$default", connection_id="gone-1"))
    connection.domain_name = f"127.0.0.1:{api_gateway.port}"
    assert connection.send("bye") is False


def test_send_reaches_the_management_api_of_the_stand_in(aws: AwsStandIn, credentials: None) -> None:
    with TLSServer(upstream=aws.endpoint_url) as front:
        assert front.cert is not None
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("AWS_CA_BUNDLE", front.cert)
            connection = Connection(events.websocket("$default", connection_id="conn-9"))
            # moto serves the API at the root: the endpoint is given, as for a custom domain name
            assert connection.send({"n": 1}, endpoint_url=front.base_url) is True
    assert [(m, p) for m, p, _, _ in front.requests] == [("POST", "/@connections/conn-9")]


def test_a_base64_body_is_decoded_and_bad_base64_is_a_400() -> None:
    got: list[bytes] = []

    def take(data: bytes) -> None:
        got.append(data)

    event = events.websocket("$default")
    event.update(body="AAEC", isBase64Encoded=True)
    assert websocket(take)(event, None) == {"statusCode": 200}
    assert got == [b"\x00\x01\x02"]
    event["body"] = "!!"
    response = websocket(take)(event, None)
    assert response["statusCode"] == 400
    assert "base64" in response["body"]
