"""Property tests for what lambda_kit.http parses from outside: URLs and Retry-After headers."""

from __future__ import annotations

import time
from email.utils import formatdate

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lambda_kit.exceptions import InvalidURLError
from lambda_kit.http import _split, parse_retry_after, redact_url

# RFC 3986 unreserved characters plus sub-delims: what a credential or query value may
# hold unencoded (no '/', '?', '#', '@').
SAFE = st.text(
    alphabet=st.sampled_from(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=%"
    ),
    min_size=1,
    max_size=20,
)
HOSTS = st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z][a-z0-9-]{0,10}){0,3}", fullmatch=True)
PATHS = st.lists(st.from_regex(r"[A-Za-z0-9._~-]{1,12}", fullmatch=True), max_size=4).map(
    lambda parts: "/" + "/".join(parts)
)


@given(
    scheme=st.sampled_from(["http", "https"]),
    user=SAFE,
    password=SAFE,
    host=HOSTS,
    port=st.one_of(st.none(), st.integers(1, 65535)),
    path=PATHS,
    secret=st.text(min_size=1, max_size=30).filter(lambda text: "MARK" not in text),
    fragment=st.text(max_size=10),
)
def test_redacted_urls_never_hold_credentials_or_query(
    scheme: str,
    user: str,
    password: str,
    host: str,
    port: int | None,
    path: str,
    secret: str,
    fragment: str,
) -> None:
    authority = host if port is None else f"{host}:{port}"
    url = f"{scheme}://{user}:MARK{password}@{authority}{path}?key=MARK{secret}#{fragment}"

    redacted = redact_url(url)

    assert "MARK" not in redacted
    assert redacted == f"{scheme}://{authority}{path}"


@given(st.text(max_size=200))
def test_redact_and_split_are_total_on_any_text(text: str) -> None:
    redacted = redact_url(text)  # never raises
    try:
        scheme, host, port, target = _split(text)
    except InvalidURLError as error:
        reported = error.context["url"]
    else:
        assert scheme in ("http", "https")
        assert host
        assert 0 < port < 65536
        assert target.startswith("/")
        return
    assert reported == redacted


@given(
    scheme=st.sampled_from(["http", "https", "HTTPS"]),
    host=HOSTS,
    port=st.one_of(st.none(), st.integers(1, 65535)),
    path=PATHS,
    query=st.one_of(st.none(), SAFE),
)
def test_split_finds_origin_and_target(
    scheme: str, host: str, port: int | None, path: str, query: str | None
) -> None:
    authority = host if port is None else f"{host}:{port}"
    target = path if query is None else f"{path}?{query}"

    assert _split(f"{scheme}://{authority}{target}#frag") == (
        scheme.lower(),
        host,
        port or (80 if scheme == "http" else 443),
        target,
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://[::1]:8443/x", ("https", "::1", 8443, "/x")),
        ("http://[::1]", ("http", "::1", 80, "/")),
        ("https://H.Example?x=1", ("https", "h.example", 443, "/?x=1")),
    ],
)
def test_split_examples(url: str, expected: tuple[str, str, int, str]) -> None:
    assert _split(url) == expected


@pytest.mark.parametrize("url", ["https://[::1]x/", "https://[::1", "https://:80/", "https://h:+1/"])
def test_split_rejects_bad_authorities(url: str) -> None:
    with pytest.raises(InvalidURLError):
        _split(url)


def test_redact_without_scheme() -> None:
    assert redact_url("user:pw@host/p?q") == "host/p"
    assert redact_url("host/p#frag") == "host/p"


@given(st.integers(0, 10**9))
def test_retry_after_seconds(seconds: int) -> None:
    assert parse_retry_after(str(seconds)) == float(seconds)
    assert parse_retry_after(f"  {seconds} ") == float(seconds)


@given(st.integers(-(10**6), 10**6))
def test_retry_after_http_dates(offset: int) -> None:
    now = 1_800_000_000.0
    header = formatdate(now + offset, usegmt=True)

    assert parse_retry_after(header, now=now) == max(0.0, float(offset))


@given(st.text(max_size=60))
def test_retry_after_never_raises_on_garbage(text: str) -> None:
    result = parse_retry_after(text)
    assert result is None or result >= 0.0


@pytest.mark.parametrize("text", ["", "   ", "-5", "1.5", "soon", "Wed, 99 Foo 2015 07:28:00 GMT", "٣"])
def test_retry_after_invalid_values(text: str) -> None:
    assert parse_retry_after(text) is None


def test_retry_after_absent_and_real_clock() -> None:
    assert parse_retry_after(None) is None
    assert 0.0 <= (parse_retry_after(formatdate(time.time() + 5, usegmt=True)) or 0.0) <= 5.0


@pytest.mark.parametrize("text", ["9" * 16, "9" * 400, "9" * 5000, "1" + "0" * 308, " " + "7" * 20 + " "])
def test_retry_after_too_large_to_represent_is_infinite(text: str) -> None:
    assert parse_retry_after(text) == float("inf")


def test_retry_after_with_leading_zeros() -> None:
    assert parse_retry_after("0" * 5000 + "5") == 5.0
    assert parse_retry_after("000") == 0.0


# What a password may hold unencoded in the wild, '/' included (not valid, but seen).
SLASHED = st.text(
    alphabet=st.sampled_from(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=%/"
    ),
    min_size=1,
    max_size=20,
)


@given(user=SAFE, password=SLASHED, host=HOSTS, path=PATHS, secret=SAFE)
def test_redacted_urls_hide_passwords_holding_slashes(
    user: str, password: str, host: str, path: str, secret: str
) -> None:
    url = f"https://{user}:MARK{password}@{host}{path}?key=MARK{secret}"

    redacted = redact_url(url)

    assert "MARK" not in redacted
    assert redacted == f"https://{host}{path}"
    with pytest.raises(InvalidURLError) as caught:
        _split(url)
    assert "MARK" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://host/users/@me?x=1", "https://host/users/@me"),
        ("https://host:8443/a@b", "https://host:8443/a@b"),
        ("https://[::1]:8443/a@b", "https://[::1]:8443/a@b"),
        ("https://[::1]x/a@b", "https://b"),
        ("https://user:p/w@[::1]/x", "https://[::1]/x"),
    ],
)
def test_redact_keeps_at_signs_in_paths_of_well_formed_urls(url: str, expected: str) -> None:
    assert redact_url(url) == expected
