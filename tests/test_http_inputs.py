"""lambda_kit.http: what users pass in (query parameters, headers, methods, URLs) is sent
as they meant it, or refused with a clear error that never shows a header value.

The end-to-end tests read what a real local HTTP server received.
"""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lambda_kit.exceptions import ConfigurationError, InvalidURLError, LambdaKitError
from lambda_kit.http import Session, _check_headers, _query
from lambda_kit_dev.stand_ins._tls import TLSServer

SECRET = "S3CR3T-token-value"


@pytest.fixture(scope="module")
def module_server() -> Iterator[TLSServer]:
    with TLSServer(tls=False) as server:
        yield server


@pytest.fixture
def server(module_server: TLSServer) -> TLSServer:
    module_server.reset()
    return module_server


@pytest.fixture
def session(server: TLSServer) -> Session:
    return Session(server.base_url, retries=0, timeout=5)


def path_sent(session: Session, url: str = "/ok", **kwargs: Any) -> str:
    answer: str = session.get(url, **kwargs).json()["path"]
    return answer


def assert_never_shows(error: BaseException, secret: str = SECRET) -> None:
    """The secret is nowhere in the error: message, repr, context, or any chained error."""
    seen: BaseException | None = error
    while seen is not None:
        assert secret not in str(seen)
        assert secret not in repr(seen)
        assert secret not in repr(getattr(seen, "context", {}))
        seen = seen.__cause__ or seen.__context__


# -- query parameters --------------------------------------------------------------------


def test_list_values_repeat_the_name_and_none_is_left_out(session: Session) -> None:
    # (This sent ids=%5B1%2C+2%5D&q=None: the list's repr, and the word None.)
    assert path_sent(session, params={"ids": [1, 2], "q": None}) == "/ok?ids=1&ids=2"


def test_tuples_bools_bytes_and_none_inside_lists(session: Session) -> None:
    params = {"t": ("a", "b"), "yes": True, "no": False, "raw": b"\xff ", "mixed": [1, None, 2.5]}

    assert path_sent(session, params=params) == "/ok?t=a&t=b&yes=true&no=false&raw=%FF+&mixed=1&mixed=2.5"


def test_params_as_pairs_may_repeat_names_and_hold_lists(session: Session) -> None:
    pairs = [("a", 1), ("a", [2, 3]), ("b", None), ("c", "x y")]

    assert path_sent(session, params=pairs) == "/ok?a=1&a=2&a=3&c=x+y"
    assert path_sent(session, params=(("k", bytearray(b"v")),)) == "/ok?k=v"


def test_params_are_added_to_a_query_already_in_the_url(session: Session) -> None:
    assert path_sent(session, "/ok?x=1", params={"y": [2, 3]}) == "/ok?x=1&y=2&y=3"
    assert path_sent(session, "/ok?", params={"y": 2}) == "/ok?y=2"
    assert path_sent(session, "/ok?x=1&", params={"y": 2}) == "/ok?x=1&y=2"
    assert path_sent(session, "/ok?x=1#frag", params={"y": 2}) == "/ok?x=1&y=2"


def test_params_that_encode_to_nothing_leave_the_url_as_it_was(session: Session) -> None:
    # (This sent q=None, and an empty mapping elsewhere left a dangling '?'.)
    assert path_sent(session, params={"q": None, "r": []}) == "/ok"
    assert path_sent(session, "/ok?x=1", params={"q": None}) == "/ok?x=1"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ("a=1", "params of type str"),
        (42, "params of type int"),
        ([("a", 1), "b"], "item 1 is a str"),
        ([("a", 1, 2)], "item 0 is a tuple"),
        ({"token": {"nested": SECRET}}, "query parameter 'token': a dict"),
        ({"token": [[SECRET]]}, "query parameter 'token': a list"),
        ({"token": {SECRET}}, "query parameter 'token': a set"),
        ({None: SECRET}, "parameter name of type NoneType"),
    ],
)
def test_params_that_cannot_be_encoded_are_configuration_errors(
    session: Session, server: TLSServer, params: Any, message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message) as caught:
        session.get("/ok", params=params)

    assert caught.value.context["setting"] == "params"
    assert_never_shows(caught.value)
    assert server.requests == []


NAMES = st.text(min_size=1, max_size=8)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=12),
    st.binary(max_size=8),
    st.floats(allow_nan=False, allow_infinity=False),
)
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=3), st.tuples(SCALARS, SCALARS))


def expected_pairs(params: list[tuple[str, Any]]) -> list[tuple[str, str]]:
    """What a server that decodes the query as UTF-8 (invalid bytes replaced) reads back."""

    def text(value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, bytes):
            return value.decode("utf-8", "replace")
        return str(value)

    pairs = []
    for name, value in params:
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if item is not None:
                pairs.append((name, text(item)))
    return pairs


@settings(max_examples=200, deadline=None)
@given(params=st.lists(st.tuples(NAMES, VALUES), max_size=6), as_mapping=st.booleans())
def test_the_query_reads_back_as_the_pairs_given(params: list[tuple[str, Any]], as_mapping: bool) -> None:
    if as_mapping:
        mapping = dict(params)
        params = list(mapping.items())
        query = _query(mapping)
    else:
        query = _query(params)

    assert all(char not in query for char in " #\r\n")  # safe to append to any URL
    assert parse_qsl(query, keep_blank_values=True, errors="replace") == expected_pairs(params)


CONTAINERS = st.one_of(
    st.dictionaries(st.text(max_size=3), SCALARS, min_size=0, max_size=2),
    st.sets(st.integers(), max_size=2),
    st.frozensets(st.text(max_size=2), max_size=2),
    st.lists(st.lists(SCALARS, max_size=2), min_size=1, max_size=2),
    st.iterables(st.integers(), max_size=2),
)
OTHER_SCALARS = st.one_of(
    st.decimals(), st.uuids(), st.dates(), st.complex_numbers(), st.fractions(), st.builds(object)
)


@settings(max_examples=200, deadline=None)
@given(value=st.one_of(SCALARS, OTHER_SCALARS, CONTAINERS))
def test_any_parameter_value_is_encoded_or_refused_clearly(value: Any) -> None:
    outcome: ConfigurationError | str
    try:
        outcome = _query({"p": value})
    except ConfigurationError as error:
        outcome = error
    if isinstance(outcome, ConfigurationError):
        assert outcome.context == {"setting": "params", "parameter": "p"}
        assert hasattr(value, "__iter__")  # only containers other than list and tuple are refused
    else:
        assert outcome == "" or outcome.startswith("p=")
        assert not any(char in outcome for char in " #&\r\n") or isinstance(value, list)


# -- headers -----------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["session", "request"])
def test_a_header_value_with_a_trailing_newline_names_the_header_never_the_value(
    server: TLSServer, where: str
) -> None:
    token = f"Bearer {SECRET}\n"  # read from a file, newline and all

    def send() -> None:
        if where == "session":
            Session(server.base_url, headers={"Authorization": token})
        else:
            Session(server.base_url).get("/ok", headers={"Authorization": token})

    # (This raised a bare ValueError: "Invalid header value b'Bearer S3CR3T-token-value\\n'".)
    with pytest.raises(ConfigurationError, match=r"header 'Authorization'.*line feed.*at its end") as caught:
        send()

    assert isinstance(caught.value, (LambdaKitError, ValueError))
    assert caught.value.context == {"setting": "headers", "header": "Authorization"}
    assert "strip" in str(caught.value)
    assert_never_shows(caught.value)
    assert server.requests == []


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (f"{SECRET}\r", "carriage return"),
        (f"a\r\nX-Injected: {SECRET}", "carriage return.*at position 1"),
        (f"{SECRET}\x00", "NUL byte"),
        (f"{SECRET}\x7f", "control character"),
        (f"caf\u00e9 {SECRET} \u2019", "beyond Latin-1.*encode"),
        (f"{SECRET}\n".encode(), "line feed"),
        (None, "a NoneType \\(leave the header out instead\\)"),
        (1.5, "a float"),
        (True, "a bool"),
        ([SECRET], "a list"),
    ],
)
def test_invalid_header_values_are_configuration_errors(session: Session, value: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=f"header 'X-Api-Key': .*{message}") as caught:
        session.get("/ok", headers={"X-Api-Key": value})

    assert caught.value.context["header"] == "X-Api-Key"
    assert_never_shows(caught.value)


@pytest.mark.parametrize(
    ("name", "shown", "message"),
    [
        (f"Authorization: Bearer {SECRET}", "'Authorization'", "the character ':' after 'Authorization'"),
        (f"X-Key {SECRET}", "'X-Key'", "the character ' ' after 'X-Key'"),
        (f"X-Key\n{SECRET}", "'X-Key'", "a line feed"),
        (f" {SECRET}", "''", "the character ' ' after ''"),
        ("", "''", "is empty"),
    ],
)
def test_invalid_header_names_show_only_their_valid_start(
    session: Session, name: str, shown: str, message: str
) -> None:
    with pytest.raises(ConfigurationError, match="Invalid header name") as caught:
        session.get("/ok", headers={name: "value"})

    assert message in str(caught.value)
    assert repr(caught.value.context["header"]) == shown
    assert_never_shows(caught.value)


@pytest.mark.parametrize("name", [7, None, ("X", "Y")])
def test_header_names_of_other_types_are_refused(session: Session, name: Any) -> None:
    with pytest.raises(ConfigurationError, match=f"header name of type {type(name).__name__}"):
        session.get("/ok", headers={name: "value"})


def test_valid_headers_of_every_accepted_type_are_sent(session: Session, server: TLSServer) -> None:
    session.get(
        "/ok",
        headers={
            "X-Count": 3,
            b"X-Raw": b"r\xe9",
            "X-Tab": "a\tb",
            "X-Latin": "caf\u00e9",
            "X-Empty": "",
            "X-Token!#$%&'*+-.^_`|~": "ok",
        },
    )

    sent = server.headers[-1]
    assert sent["X-Count"] == "3"
    assert sent["X-Raw"] == "r\xe9"
    assert sent["X-Tab"] == "a\tb"
    assert sent["X-Latin"] == "caf\u00e9"
    assert sent["X-Empty"] == ""
    assert sent["X-Token!#$%&'*+-.^_`|~"] == "ok"


def test_headers_must_be_a_mapping(server: TLSServer) -> None:
    with pytest.raises(ConfigurationError, match="headers of type list"):
        Session(server.base_url, headers=[("X-A", "1")])  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(value=st.text(max_size=30), name=st.text(max_size=12))
def test_a_header_is_accepted_exactly_when_http_client_can_send_it(value: str, name: str) -> None:
    """What the check lets through, http.client sends; what it refuses never shows the value."""
    marked = f"{value}{SECRET}{value}"
    try:
        checked = _check_headers({name: marked})
    except ConfigurationError as error:
        assert_never_shows(error)
        return
    conn = http.client.HTTPConnection("127.0.0.1")  # putheader validates without sending
    conn.putrequest("GET", "/")
    for checked_name, checked_value in checked.items():
        conn.putheader(checked_name, checked_value)


# -- methods and URLs --------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET /admin HTTP/1.1\r\nX-Injected: 1\r\n", "GE T", "", "GET\n", 7])
def test_an_invalid_method_is_a_configuration_error(session: Session, server: TLSServer, method: Any) -> None:
    with pytest.raises(ConfigurationError, match="Invalid HTTP method") as caught:
        session.request(method, "/ok")

    assert caught.value.context == {"setting": "method"}
    assert server.requests == []


def test_methods_are_any_token_in_any_case(session: Session, server: TLSServer) -> None:
    session.request("get", "/ok")
    session.request("Options", "/ok")

    assert [request[0] for request in server.requests] == ["GET", "OPTIONS"]
    assert session.request("PROPFIND", "/ok").status == 501  # sent: the server does not know it


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (f"/ok\n{SECRET}", "a line feed \\(\\\\n\\) at position"),
        (f"/ok?token={SECRET}\r\n", "a carriage return \\(\\\\r\\) at position"),
        (f"/ok?token={SECRET}\n", "a line feed \\(\\\\n\\) at its end"),
        ("/ok\x00", "a NUL byte"),
        ("/ok\t", "a control character \\(U\\+0009\\)"),
    ],
)
def test_urls_with_line_breaks_or_control_characters_are_invalid_url_errors(
    session: Session, server: TLSServer, url: str, message: str
) -> None:
    # (urllib3 percent-encoded them silently: the request went to /ok%0AS3CR3T...)
    with pytest.raises(InvalidURLError, match=message) as caught:
        session.get(url)

    if "?" in url:
        assert_never_shows(caught.value)  # the query is never shown
    assert server.requests == []


def test_a_base_url_read_with_its_newline_fails_at_init() -> None:
    with pytest.raises(InvalidURLError, match="at its end"):
        Session("https://api.example.com/v1\n")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://exa mple.com/ok", "the host holds the character ' '"),
        ("http://a<b.example/ok", "the host holds the character '<'"),
        ("http://[fe80::1%eth0 ]/", "the host holds the character ' '"),
    ],
)
def test_hosts_with_invalid_characters_are_invalid_url_errors(url: str, message: str) -> None:
    # (urllib3 raised its own LocationParseError, outside lambda-kit's error tree.)
    with pytest.raises(InvalidURLError, match=message):
        Session().get(url)


def test_a_host_urllib3_cannot_normalise_is_an_invalid_url_error() -> None:
    with pytest.raises(InvalidURLError, match="not a valid host name") as caught:
        Session().get("http://[fe80::1%eth0]/x")

    assert caught.value.context["url"] == "http://[fe80::1%eth0]:80"


def test_spaces_and_non_ascii_in_a_path_are_percent_encoded(session: Session) -> None:
    assert path_sent(session, "/a b/caf\u00e9") == "/a%20b/caf%C3%A9"


def test_integer_parameter_names_are_sent_as_text(session: Session) -> None:
    assert path_sent(session, params={1: "a", "b": 2}) == "/ok?1=a&b=2"


# -- bodies ------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"abc", bytearray(b"abc"), memoryview(b"abc"), "abc"])
def test_bodies_of_bytes_buffers_and_text_are_sent_whole(
    session: Session, server: TLSServer, body: bytes | bytearray | memoryview | str
) -> None:
    assert session.post("/ok", body=body).status == 200
    assert server.requests[-1][2] == b"abc"


@pytest.mark.parametrize("body", [5, {"password": SECRET}, [SECRET], (SECRET,)])
def test_other_bodies_are_configuration_errors(session: Session, server: TLSServer, body: Any) -> None:
    # (A dict went out as its keys, a list as its items, in chunks: b"password" for
    # {"password": ...}; an int raised urllib3's TypeError, which quotes the value.)
    with pytest.raises(ConfigurationError, match=f"body of type {type(body).__name__}.*json=") as caught:
        session.post("/ok", body=body)

    assert caught.value.context == {"setting": "body"}
    assert_never_shows(caught.value)
    assert server.requests == []
