"""lambda_kit.http against a real local HTTPS server that counts its connections."""

from __future__ import annotations

import logging
import random
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lambda_kit import http, lifecycle
from lambda_kit.exceptions import (
    ConfigurationError,
    HTTPConnectionError,
    HTTPError,
    HTTPStatusError,
    HTTPTimeoutError,
    InvalidURLError,
    LambdaKitError,
)
from lambda_kit.http import Response, Session
from lambda_kit.testing import FakeContext, simulate_restore, simulate_snapshot
from lambda_kit_dev.stand_ins._tls import TLSServer, temporary_certificate

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def certificate() -> Iterator[tuple[str, str]]:
    cert, key, directory = temporary_certificate()
    with directory:
        yield cert, key


@pytest.fixture(scope="module")
def module_server(certificate: tuple[str, str]) -> Iterator[TLSServer]:
    with TLSServer(*certificate) as server:
        yield server


@pytest.fixture
def server(module_server: TLSServer) -> TLSServer:
    module_server.reset()
    return module_server


@pytest.fixture
def session(server: TLSServer) -> Iterator[Session]:
    with Session(server.base_url, ca_certs=server.cert, backoff=0.01) as made:
        yield made


class Sleeps:
    """Records the waits a session asks for instead of sleeping them."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def invocation(timeout_s: float = 3.0) -> FakeContext:
    return FakeContext(timeout_s=timeout_s)


def free_port() -> int:
    """A loopback port with nothing listening on it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- keep-alive and pooling -------------------------------------------------------------


def test_sequential_requests_share_one_connection(session: Session, server: TLSServer) -> None:
    answers = [session.get("/ok").json() for _ in range(20)]

    assert server.connections == 1
    assert {answer["connection"] for answer in answers} == {1}
    assert len(server.requests) == 20


def test_eight_threads_share_a_bounded_pool(server: TLSServer) -> None:
    session = Session(server.base_url, ca_certs=server.cert, pool_maxsize=3)
    results: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work() -> None:
        try:
            for _ in range(10):
                status = session.get("/ok").status
                with lock:
                    results.append(status)
        except BaseException as error:  # surfaced by the assert below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    assert results == [200] * 80
    assert 1 <= server.connections <= 3


def test_a_full_pool_makes_waiters_time_out_with_a_clear_error(server: TLSServer) -> None:
    session = Session(server.base_url, ca_certs=server.cert, pool_maxsize=1)
    holder = threading.Thread(target=session.get, args=("/delay/1",))
    holder.start()
    while not server.requests_to("/delay/1"):
        time.sleep(0.005)

    with pytest.raises(HTTPTimeoutError, match="no pooled connection became free") as caught:
        session.get("/ok", timeout=0.2)
    holder.join()

    assert caught.value.context["limit"] == "timeout"
    assert server.connections == 1


def test_tcp_keepalive_is_set_on_pooled_connections(session: Session) -> None:
    session.get("/ok")
    (pool,) = session._pools.values()
    conn = pool._get_conn()
    try:
        assert conn.sock is not None
        assert conn.sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        assert conn.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    finally:
        pool._put_conn(conn)


# -- freeze and thaw: connections closed while the environment was frozen -----------------


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_server_closing_idle_connections_between_invocations_is_invisible(
    session: Session, server: TLSServer, method: str
) -> None:
    @lifecycle.track_invocations
    def handler(event: dict[str, str], context: object) -> int:
        answer: int = session.request(method, "/ok", json=event).json()["connection"]
        return answer

    first = handler({"n": "1"}, invocation())
    server.close_idle()  # the server's idle timeout fires while the environment is frozen
    second = handler({"n": "2"}, invocation())

    assert (first, second) == (1, 2)
    assert server.connections == 2
    assert [request[0] for request in server.requests] == [method, method]


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_idempotent_request_lost_on_a_kept_alive_connection_is_replayed_once(
    session: Session, server: TLSServer, method: str
) -> None:
    session.get("/ok")
    server.drop_next_reused()  # the server reads the request, then closes without answering

    response = session.request(method, "/ok", body=b"payload")

    assert response.status == 200
    assert response.json()["connection"] == 2
    assert server.dropped == 1
    assert server.connections == 2


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_a_non_idempotent_request_the_server_received_is_never_sent_twice(
    session: Session, server: TLSServer, method: str
) -> None:
    # (This test used to assert the duplicate: a replayed POST/PATCH the server had already read.)
    session.get("/ok")
    server.drop_next_reused()  # the server reads the request, then closes without answering

    with pytest.raises(HTTPConnectionError, match="may have received") as caught:
        session.request(method, "/charge", body=b"amount=100")

    assert len(server.requests_to("/charge")) == 1
    assert caught.value.context["attempts"] == 1
    assert caught.value.context["maybe_received"] is True
    assert caught.value.context["reason"] == "RemoteDisconnected"
    assert session.request(method, "/ok", body=b"x", idempotent=True).status == 200  # the pool recovers


def test_an_opted_in_post_is_replayed_after_a_lost_answer(session: Session, server: TLSServer) -> None:
    session.get("/ok")
    server.drop_next_reused()

    response = session.post("/charge", body=b"x", idempotent=True)

    assert response.status == 200
    assert len(server.requests_to("/charge")) == 2


def read_request(conn: socket.socket) -> bytes:
    """One HTTP/1.1 request (headers and Content-Length body) from a raw server socket."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        body += conn.recv(65536)
    return head.split(b"\r\n")[0]


class RawServer:
    """A loopback HTTP server run by one function on a raw listening socket (for exact misbehaviour)."""

    def __init__(self, serve: Callable[[socket.socket], None], context: ssl.SSLContext | None = None) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        self.context = context
        scheme = "https" if context else "http"
        self.url = f"{scheme}://127.0.0.1:{self.listener.getsockname()[1]}"
        self.thread = threading.Thread(target=serve, args=(self.listener,), daemon=True)

    def accept(self) -> socket.socket:
        conn, _ = self.listener.accept()
        if self.context is not None:
            return self.context.wrap_socket(conn, server_side=True)
        return conn

    def __enter__(self) -> RawServer:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.listener.close()
        self.thread.join(5)


OK_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


@pytest.mark.parametrize("tls", [False, True])
def test_a_post_whose_first_write_hits_a_reset_connection_is_replayed(
    certificate: tuple[str, str], monkeypatch: pytest.MonkeyPatch, tls: bool
) -> None:
    from urllib3.util.wait import wait_for_read

    from lambda_kit import _http_pool

    received: list[bytes] = []
    first_read = threading.Event()
    context = None
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*certificate)

    def serve(listener: socket.socket) -> None:
        first = server.accept()
        received.append(read_request(first))
        first.sendall(OK_RESPONSE)
        first_read.wait(5)
        first.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        first.close()  # a TCP reset, as from a NAT that forgot the flow while the environment was frozen
        second = server.accept()
        received.append(read_request(second))
        second.sendall(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
        second.close()

    def reset_after_the_check(conn: Any) -> bool:
        wait_for_read(conn.sock, timeout=5)  # the reset lands between the liveness check and the write
        return True

    server = RawServer(serve, context)
    with server:
        session = Session(server.url, ca_certs=certificate[0])
        assert session.get("/first").body == b"ok"
        first_read.set()
        monkeypatch.setattr(_http_pool, "alive", reset_after_the_check)
        response = session.post("/payments", body=b"amount=100")

    assert response.status == 201
    assert received == [b"GET /first HTTP/1.1", b"POST /payments HTTP/1.1"]  # the first POST never arrived


def test_a_post_whose_answer_had_started_is_not_replayed() -> None:
    received: list[bytes] = []

    def serve(listener: socket.socket) -> None:
        conn, _ = listener.accept()
        received.append(read_request(conn))
        conn.sendall(OK_RESPONSE)
        received.append(read_request(conn))
        conn.sendall(b"HTTP/1.1 20")  # the server processed the POST and began to answer
        conn.close()

    with RawServer(serve) as server:
        session = Session(server.url)
        session.get("/first")
        with pytest.raises(HTTPConnectionError, match="may have received") as caught:
            session.post("/payments", body=b"amount=100")

    assert received == [b"GET /first HTTP/1.1", b"POST /payments HTTP/1.1"]
    assert caught.value.context["attempts"] == 1


def test_a_post_that_loses_its_fresh_connection_too_is_not_retried(
    session: Session, server: TLSServer
) -> None:
    session.get("/ok")
    original = server._take_drop

    def always_drop() -> bool:
        server.dropped += 1
        return True

    # Drop every request, even on new connections: a POST is not sent a second time.
    server._take_drop = always_drop  # type: ignore[method-assign]
    try:
        every_request_on_a_used_connection(server, enabled=True)
        with pytest.raises(HTTPConnectionError) as caught:
            session.post("/ok", json={"charge": 1})
    finally:
        every_request_on_a_used_connection(server, enabled=False)
        server._take_drop = original  # type: ignore[method-assign]

    # (This test used to expect 2 attempts: the POST the server had read was sent again.)
    assert caught.value.context["attempts"] == 1
    assert caught.value.context["reason"] == "RemoteDisconnected"
    assert len(server.requests_to("/ok")) == 2


def every_request_on_a_used_connection(server: TLSServer, *, enabled: bool) -> None:
    """Make the server treat every request as arriving on a used connection."""
    from lambda_kit_dev.stand_ins import _tls as _tls_server

    handler = _tls_server._Handler
    if enabled:
        handler.setup_original = handler.setup  # type: ignore[attr-defined]

        def setup(self: _tls_server._Handler) -> None:
            handler.setup_original(self)  # type: ignore[attr-defined]
            self.served = 1

        handler.setup = setup  # type: ignore[method-assign]
    else:
        handler.setup = handler.setup_original  # type: ignore[attr-defined,method-assign]


def test_idempotent_requests_retry_a_lost_connection_with_backoff(
    session: Session, server: TLSServer
) -> None:
    session.get("/ok")
    sleeps = Sleeps()
    session._sleep = sleeps
    every_request_on_a_used_connection(server, enabled=True)
    server.drop_next_reused(2)  # the replay is dropped too; a retry then succeeds
    try:
        response = session.get("/ok")
    finally:
        every_request_on_a_used_connection(server, enabled=False)

    assert response.status == 200
    assert server.dropped == 2
    assert len(sleeps.waits) == 1


# -- retries on status codes ------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_retryable_status_then_200_is_retried_with_backoff(
    session: Session, server: TLSServer, status: int
) -> None:
    sleeps = Sleeps()
    session._sleep = sleeps
    server.script("/flaky", [(status, {}), (status, {})])

    response = session.get("/flaky")

    assert response.status == 200
    assert len(server.requests_to("/flaky")) == 3
    assert len(sleeps.waits) == 2
    assert 0 <= sleeps.waits[0] <= 0.01
    assert 0 <= sleeps.waits[1] <= 0.02  # full jitter under a doubling cap


def test_backoff_really_sleeps(server: TLSServer) -> None:
    session = Session(server.base_url, ca_certs=server.cert, backoff=0.001)
    server.script("/flaky", [(503, {})])

    assert session.get("/flaky").status == 200
    assert len(server.requests_to("/flaky")) == 2


def test_post_is_not_retried_on_503_unless_opted_in(session: Session, server: TLSServer) -> None:
    server.script("/charge", [(503, {}), (503, {})])

    assert session.post("/charge", json={"amount": 5}).status == 503
    assert len(server.requests_to("/charge")) == 1

    assert session.post("/charge", json={"amount": 5}, idempotent=True).status == 200
    assert len(server.requests_to("/charge")) == 3


def test_get_can_opt_out_of_retries(session: Session, server: TLSServer) -> None:
    server.script("/flaky", [(503, {})])

    assert session.get("/flaky", idempotent=False).status == 503
    assert len(server.requests_to("/flaky")) == 1


def test_retry_after_seconds_is_honoured(session: Session, server: TLSServer) -> None:
    sleeps = Sleeps()
    session._sleep = sleeps
    server.script("/busy", [(503, {"Retry-After": "2"})])

    assert session.get("/busy").status == 200
    assert sleeps.waits == [2.0]


def test_retry_after_http_date_is_honoured(session: Session, server: TLSServer) -> None:
    from email.utils import formatdate

    sleeps = Sleeps()
    session._sleep = sleeps
    server.script("/busy", [(429, {"Retry-After": formatdate(time.time() + 3, usegmt=True)})])

    assert session.get("/busy").status == 200
    assert len(sleeps.waits) == 1
    assert 1.0 <= sleeps.waits[0] <= 3.0


def test_retry_after_beyond_the_budget_returns_the_answer_at_once(
    session: Session, server: TLSServer
) -> None:
    sleeps = Sleeps()
    session._sleep = sleeps
    server.script("/busy", [(503, {"Retry-After": "120"})])

    response = session.get("/busy", timeout=5)

    assert response.status == 503
    assert sleeps.waits == []
    assert len(server.requests_to("/busy")) == 1


def test_when_retries_run_out_the_last_answer_is_returned(server: TLSServer) -> None:
    session = Session(server.base_url, ca_certs=server.cert, retries=1, backoff=0)
    server.script("/down", [(502, {}), (504, {}), (503, {})])

    response = session.get("/down")

    assert response.status == 504
    assert len(server.requests_to("/down")) == 2
    with pytest.raises(HTTPStatusError, match="returned 504") as caught:
        response.raise_for_status()
    assert caught.value.context["status"] == 504
    assert caught.value.response is response  # type: ignore[attr-defined]


def test_non_retryable_status_is_returned_as_is(session: Session, server: TLSServer) -> None:
    server.script("/missing", [(404, {}), (500, {})])

    assert session.get("/missing").status == 404
    assert session.get("/missing").status == 500
    assert len(server.requests_to("/missing")) == 2


# -- deadlines and timeouts -------------------------------------------------------------


def test_explicit_deadline_shorter_than_the_server_delay(session: Session, server: TLSServer) -> None:
    start = time.monotonic()
    with pytest.raises(HTTPTimeoutError) as caught:
        session.get("/delay/5", deadline=1.0)
    elapsed = time.monotonic() - start

    assert elapsed < 1.0  # the margin (0.25 s) is kept for the handler
    assert caught.value.context["limit"] == "deadline"
    assert caught.value.context["budget"] == pytest.approx(0.75)
    assert isinstance(caught.value, TimeoutError)


def test_deadline_comes_from_the_lambda_context_inside_track_invocations(
    session: Session, server: TLSServer
) -> None:
    @lifecycle.track_invocations
    def handler(event: object, context: object) -> str:
        try:
            session.get("/delay/5")
        except HTTPTimeoutError as error:
            return str(error.context["limit"])
        return "no timeout"

    start = time.monotonic()
    assert handler({}, invocation(timeout_s=0.8)) == "deadline"
    assert time.monotonic() - start < 0.8


def test_no_time_left_fails_before_sending(session: Session, server: TLSServer) -> None:
    with pytest.raises(HTTPTimeoutError, match="no time was left to send it"):
        session.get("/ok", deadline=0.2)  # less than the 0.25 s margin

    assert server.requests == []


def test_deadline_margin_is_configurable(server: TLSServer) -> None:
    session = Session(server.base_url, ca_certs=server.cert, deadline_margin=0)

    assert session.get("/ok", deadline=0.2).status == 200


def test_session_timeout_bounds_requests_without_a_deadline(server: TLSServer) -> None:
    session = Session(server.base_url, ca_certs=server.cert, timeout=0.3)

    with pytest.raises(HTTPTimeoutError) as caught:
        session.get("/delay/5")

    assert caught.value.context["limit"] == "timeout"
    assert caught.value.context["attempts"] == 1


def test_a_deadline_longer_than_the_timeout_leaves_the_timeout_in_charge(server: TLSServer) -> None:
    session = Session(server.base_url, ca_certs=server.cert, timeout=0.3)

    with pytest.raises(HTTPTimeoutError) as caught:
        session.get("/delay/5", deadline=60)

    assert caught.value.context["limit"] == "timeout"


def test_read_timeout_retries_idempotent_requests_within_the_budget(server: TLSServer) -> None:
    session = Session(
        server.base_url, ca_certs=server.cert, read_timeout=0.15, timeout=2, retries=1, backoff=0
    )

    with pytest.raises(HTTPTimeoutError) as caught:
        session.get("/delay/5")

    assert caught.value.context["attempts"] == 2
    assert caught.value.context["limit"] == "read_timeout"
    assert len(server.requests_to("/delay/5")) == 2


def test_read_timeout_does_not_retry_a_post(server: TLSServer) -> None:
    session = Session(server.base_url, ca_certs=server.cert, read_timeout=0.15, timeout=2, retries=2)

    with pytest.raises(HTTPTimeoutError) as caught:
        session.post("/delay/5")

    assert caught.value.context["attempts"] == 1
    assert caught.value.context["limit"] == "read_timeout"


def test_a_body_that_outlasts_the_budget_times_out() -> None:
    class SlowBody:
        connection = None
        length_remaining = None
        headers: dict[str, str] = {}  # noqa: RUF012 - read only

        def __init__(self) -> None:
            self.closed = self.released = False

        def read1(self, amount: int) -> bytes:
            time.sleep(0.02)
            return b"x"

        def close(self) -> None:
            self.closed = True

        def release_conn(self) -> None:
            self.released = True

    raw = SlowBody()
    with pytest.raises(http._Expired):
        http._read_body(raw, time.monotonic() + 0.1)  # type: ignore[arg-type]

    assert raw.closed
    assert raw.released


def test_a_trickling_body_cannot_outlast_the_deadline(session: Session, server: TLSServer) -> None:
    start = time.monotonic()
    with pytest.raises(HTTPTimeoutError) as caught:
        session.get("/trickle/100", deadline=0.75)  # each byte comes well within any socket timeout

    assert time.monotonic() - start < 0.75
    assert caught.value.context["limit"] == "deadline"
    assert session.get("/ok").status == 200  # the connection was discarded, the pool still works


def test_body_arriving_in_many_chunks_is_joined(session: Session) -> None:
    assert session.get("/bytes/300000").body == b"x" * 300000
    assert session.get("/bytes/0").body == b""


def test_a_server_that_closes_after_answering_gets_a_new_connection_next_time(
    session: Session, server: TLSServer
) -> None:
    server.script("/once", [(200, {"Connection": "close"})])

    assert session.get("/once").body == b"scripted 200"
    assert session.get("/ok").json()["connection"] == 2


def test_compressed_bodies_are_decoded(session: Session, server: TLSServer) -> None:
    assert session.get("/gzip/200000").body == b"z" * 200000
    assert session.get("/gzip/10").body == b"z" * 10
    assert server.connections == 1


# -- connection failures ----------------------------------------------------------------


def test_connection_refused_is_retried_then_reported() -> None:
    sleeps = Sleeps()
    session = Session(f"https://127.0.0.1:{free_port()}", retries=2)
    session._sleep = sleeps

    with pytest.raises(HTTPConnectionError) as caught:
        session.post("/charge", json={"amount": 1})  # nothing was sent: safe even for POST

    assert caught.value.context["attempts"] == 3
    assert caught.value.context["reason"] == "ConnectionRefusedError"
    assert len(sleeps.waits) == 2
    assert isinstance(caught.value, ConnectionError)


def test_connect_timeout_is_reported_as_a_timeout() -> None:
    # A listening socket whose backlog is full never completes the handshake.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        session = Session(f"http://127.0.0.1:{port}", connect_timeout=0.1, timeout=0.5, retries=1, backoff=0)
        with pytest.raises((HTTPTimeoutError, HTTPConnectionError)):
            session.get("/ok")
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def test_an_untrusted_certificate_fails_without_retries(server: TLSServer) -> None:
    sleeps = Sleeps()
    session = Session(server.base_url)  # the system's CAs do not include the test certificate
    session._sleep = sleeps

    with pytest.raises(HTTPConnectionError) as caught:
        session.get("/ok")

    assert caught.value.context["attempts"] == 1
    assert "Certificate" in caught.value.context["reason"] or "SSL" in caught.value.context["reason"]
    assert sleeps.waits == []


def test_an_ssl_context_can_be_supplied(server: TLSServer) -> None:
    import ssl

    context = ssl.create_default_context(cafile=server.cert)
    session = Session(server.base_url, ssl_context=context)

    assert session.get("/ok").status == 200


def test_plain_http_is_supported_and_notices_closed_connections() -> None:
    with TLSServer(tls=False) as plain:
        session = Session(plain.base_url)
        assert [session.get("/ok").json()["connection"] for _ in range(3)] == [1, 1, 1]
        plain.close_idle()
        time.sleep(0.05)  # let the FIN arrive, as it does during a freeze
        assert session.get("/ok").json()["connection"] == 2


def test_a_reset_connection_is_replaced(session: Session, server: TLSServer) -> None:
    session.get("/reset-after")
    time.sleep(0.05)

    assert session.get("/ok").json()["connection"] == 2


def test_unexpected_bytes_on_an_idle_tls_connection_retire_it(session: Session, server: TLSServer) -> None:
    from lambda_kit import _http_pool

    session.get("/ok")
    (pool,) = session._pools.values()
    conn = pool._get_conn()
    conn.sock.settimeout(0.0)  # behave as if the server had pushed application data
    assert _http_pool.alive(conn)
    pool._put_conn(conn)
    server.close_idle()
    time.sleep(0.05)
    conn = pool._get_conn()
    assert conn.is_closed  # EOF seen: closed before being handed out
    pool._put_conn(conn)


def test_a_connection_without_a_socket_is_not_alive() -> None:
    from urllib3.connection import HTTPConnection

    from lambda_kit import _http_pool

    assert not _http_pool.alive(HTTPConnection("127.0.0.1", 1))


def test_a_pool_closed_by_a_hook_mid_request_is_replaced(session: Session, server: TLSServer) -> None:
    session.get("/ok")
    (pool,) = session._pools.values()
    pool.close()  # as if a SnapStart hook closed it between lookup and use

    assert session.post("/ok").status == 200
    assert len(session._pools) == 1


def test_warm_on_a_closed_or_busy_pool_opens_nothing(session: Session) -> None:
    from lambda_kit import _http_pool

    session.warm()
    (pool,) = session._pools.values()
    busy = [pool._get_conn() for _ in range(session.pool_maxsize)]
    assert _http_pool.warm(pool, 1, 0.05) == 0
    for conn in busy:
        pool._put_conn(conn)
    pool.close()
    assert _http_pool.warm(pool, 1, 0.05) == 0


def test_time_running_out_during_a_backoff_wait_is_a_timeout(server: TLSServer) -> None:
    session = Session(server.base_url, ca_certs=server.cert, timeout=0.3)
    session._sleep = lambda seconds: time.sleep(0.35)  # a wait that overruns the budget
    server.script("/flaky", [(503, {})])

    with pytest.raises(HTTPTimeoutError) as caught:
        session.get("/flaky")

    assert caught.value.context["attempts"] == 1
    assert caught.value.context["limit"] == "timeout"


def test_headers_are_merged_for_raw_and_json_bodies(server: TLSServer) -> None:
    session = Session(server.base_url, ca_certs=server.cert, headers={"X-A": "1"})

    session.post("/ok", body=b"x", headers={"X-B": "2"})
    session.post("/ok", json=[1], headers={"Content-Type": "application/vnd.api+json"})
    session.get("/ok")

    raw, typed, plain = server.headers
    assert (raw["X-A"], raw["X-B"]) == ("1", "2")
    assert (typed["X-A"], typed["Content-Type"]) == ("1", "application/vnd.api+json")
    assert plain["X-A"] == "1"
    assert "X-B" not in plain
    assert session._headers == {"X-A": "1"}  # never mutated by a request


# -- INIT pre-connect and SnapStart -----------------------------------------------------


def test_warm_opens_the_connection_the_first_request_uses(session: Session, server: TLSServer) -> None:
    assert session.warm() == 1
    assert server.connections == 1
    assert server.requests == []

    assert session.get("/ok").json()["connection"] == 1
    assert server.connections == 1


def test_preconnect_warms_during_construction(server: TLSServer) -> None:
    Session(server.base_url, ca_certs=server.cert, preconnect=True)

    assert server.connections == 1


def test_warm_several_connections_and_other_origins(server: TLSServer) -> None:
    session = Session(ca_certs=server.cert, pool_maxsize=4)

    assert session.warm(server.url("/anything?x=1"), connections=3) == 3
    assert session.warm(server.base_url, connections=3) == 3  # already open
    assert server.connections == 3


def test_warm_an_unreachable_origin_is_not_an_error() -> None:
    assert Session(f"https://127.0.0.1:{free_port()}").warm() == 0
    session = Session(f"http://[::1]:{free_port()}", connect_timeout=0.2)
    assert session.warm() == 0
    assert list(session._warmed) == [f"http://[::1]:{session.base_url.rsplit(':', 1)[1]}"]


def test_warm_needs_a_url_and_a_sane_count(session: Session) -> None:
    with pytest.raises(ConfigurationError, match="warm\\(\\) needs a URL"):
        Session().warm()
    with pytest.raises(ConfigurationError, match="connections=0"):
        session.warm(connections=0)
    with pytest.raises(ConfigurationError, match="preconnect=True needs a base_url"):
        Session(preconnect=True)


def test_snapstart_restore_opens_new_connections(session: Session, server: TLSServer) -> None:
    session.warm()
    assert session.get("/ok").json()["connection"] == 1

    simulate_restore()  # the pool is rebuilt, and the warmed origin warmed again

    assert server.connections == 2
    assert session.get("/ok").json()["connection"] == 2
    assert server.connections == 2


def test_snapshot_closes_pools_and_the_next_request_reconnects(session: Session, server: TLSServer) -> None:
    session.get("/ok")
    simulate_snapshot()

    assert session._pools == {}
    assert session.get("/ok").json()["connection"] == 2


def test_restore_hooks_survive_a_failing_rewarm(session: Session, server: TLSServer) -> None:
    session.warm()
    session._warmed["https://not a host:1"] = 1  # a bad origin must not break the hook

    simulate_restore()

    assert session.get("/ok").status == 200


def test_hooks_of_collected_sessions_do_nothing(server: TLSServer) -> None:
    import gc

    Session(server.base_url, ca_certs=server.cert).warm()
    gc.collect()
    simulate_snapshot()
    simulate_restore()

    assert server.connections == 1


# -- requests and responses -------------------------------------------------------------


def test_json_body_params_and_headers(server: TLSServer) -> None:
    session = Session(server.base_url, ca_certs=server.cert, headers={"X-Session": "s"})

    answer = session.put("/ok", json={"a": "é"}, params={"q": "1 2", "r": 3}, headers={"X-Call": "c"}).json()

    assert answer["method"] == "PUT"
    assert answer["path"] == "/ok?q=1+2&r=3"
    assert answer["length"] == len('{"a":"é"}'.encode())
    assert session.get("/ok?x=1", params=[("y", "2")]).json()["path"] == "/ok?x=1&y=2"


def test_every_verb_helper_sends_its_method(session: Session, server: TLSServer) -> None:
    session.get("/ok")
    session.post("/ok", body="text")
    session.put("/ok", body=b"bytes")
    session.patch("/ok", json=None)
    session.delete("/ok")
    session.head("/ok")

    assert [request[0] for request in server.requests] == ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]
    assert server.requests[1][2] == b"text"
    assert server.requests[3][2] == b"null"


def test_absolute_urls_bypass_the_base_url(session: Session, server: TLSServer) -> None:
    assert session.get(server.url("/ok")).status == 200
    assert session.get("ok").json()["path"] == "/ok"


def test_json_and_body_are_exclusive(session: Session) -> None:
    with pytest.raises(ConfigurationError, match="either json= or body="):
        session.post("/ok", json={}, body=b"x")


def test_response_helpers() -> None:
    response = Response(201, {"Content-Type": "application/json"}, b'{"id": 1}', "POST", "https://h/x")

    assert response.ok
    assert response.json() == {"id": 1}
    assert response.text == '{"id": 1}'
    assert response.raise_for_status() is response
    assert repr(response) == "<Response [201] POST https://h/x>"
    bad = Response(404, {}, b"secret body", "GET", "https://h/x")
    assert not bad.ok
    with pytest.raises(HTTPStatusError, match="client error") as caught:
        bad.raise_for_status()
    assert "secret body" not in str(caught.value)
    with pytest.raises(HTTPStatusError, match="server error"):
        Response(500, {}, b"", "GET", "https://h/x").raise_for_status()


def test_errors_never_show_credentials_or_query_secrets(server: TLSServer) -> None:
    session = Session(ca_certs=server.cert, timeout=0.3)

    with pytest.raises(HTTPTimeoutError) as caught:
        session.get(server.url("/delay/5?api_key=TOPSECRET"))
    assert "TOPSECRET" not in str(caught.value)
    assert "TOPSECRET" not in repr(caught.value)
    assert caught.value.context["url"] == server.url("/delay/5")

    with pytest.raises(InvalidURLError) as invalid:
        session.get("https://user:TOPSECRET@example.com/x")
    assert "TOPSECRET" not in str(invalid.value)

    refused = Session(f"https://127.0.0.1:{free_port()}", retries=0)
    with pytest.raises(HTTPConnectionError) as failed:
        refused.get("/x", params={"token": "TOPSECRET"})
    assert "TOPSECRET" not in str(failed.value)
    assert "TOPSECRET" not in repr(Session("https://h.example/v1?key=TOPSECRET"))


@pytest.mark.parametrize(
    "url",
    [
        "/relative",
        "ftp://h/x",
        "https://",
        "https://h:0/",
        "https://h:99999/",
        "https://h:x/",
        "https://[::1/x",
    ],
)
def test_invalid_urls_are_rejected(url: str) -> None:
    with pytest.raises(InvalidURLError) as caught:
        Session().get(url)
    assert isinstance(caught.value, HTTPError)
    assert isinstance(caught.value, LambdaKitError)
    assert isinstance(caught.value, ValueError)


def test_a_malformed_base_url_fails_at_init() -> None:
    with pytest.raises(InvalidURLError):
        Session("api.example.com")


# -- configuration ----------------------------------------------------------------------


def test_defaults() -> None:
    session = Session()

    assert session.timeout == http.DEFAULT_TIMEOUT
    assert session.connect_timeout == http.DEFAULT_CONNECT_TIMEOUT
    assert session.retries == http.DEFAULT_RETRIES
    assert session.deadline_margin == http.DEFAULT_DEADLINE_MARGIN
    assert session.pool_maxsize == 10
    assert repr(session) == "Session(base_url=None, timeout=10.0, pools=0)"


def test_environment_variables_configure_the_session(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMBDA_KIT_HTTP_TIMEOUT", "4.5")
    monkeypatch.setenv("LAMBDA_KIT_HTTP_CONNECT_TIMEOUT", "0.5")
    monkeypatch.setenv("LAMBDA_KIT_HTTP_RETRIES", "4")
    monkeypatch.setenv("LAMBDA_KIT_HTTP_DEADLINE_MARGIN", "0.1")
    monkeypatch.setenv("LAMBDA_KIT_HTTP_POOL_MAXSIZE", "7")

    session = Session()
    assert (session.timeout, session.connect_timeout, session.retries) == (4.5, 0.5, 4)
    assert (session.deadline_margin, session.pool_maxsize) == (0.1, 7)
    assert Session(timeout=1, retries=0).timeout == 1  # explicit wins


def test_pool_size_follows_managed_instance_concurrency(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_MAX_CONCURRENCY", "64")
    assert Session().pool_maxsize == 64
    monkeypatch.setenv("AWS_LAMBDA_MAX_CONCURRENCY", "lots")
    assert Session().pool_maxsize == 10


@pytest.mark.parametrize(
    ("kwargs", "setting"),
    [
        ({"timeout": 0}, "http_timeout"),
        ({"timeout": float("inf")}, "http_timeout"),
        ({"connect_timeout": -1}, "http_connect_timeout"),
        ({"read_timeout": 0}, "read_timeout"),
        ({"retries": 11}, "http_retries"),
        ({"backoff": -0.1}, "backoff"),
        ({"backoff_max": float("nan")}, "backoff_max"),
        ({"deadline_margin": -1}, "http_deadline_margin"),
        ({"pool_maxsize": 0}, "http_pool_maxsize"),
    ],
)
def test_invalid_settings_are_rejected(kwargs: dict[str, float], setting: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Session(**kwargs)  # type: ignore[arg-type]
    assert caught.value.context["setting"] == setting


def test_invalid_environment_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMBDA_KIT_HTTP_RETRIES", "many")
    with pytest.raises(ConfigurationError, match="LAMBDA_KIT_HTTP_RETRIES"):
        Session()


@pytest.mark.parametrize(("name", "value"), [("timeout", 0), ("timeout", -1), ("deadline", float("nan"))])
def test_invalid_per_request_values_are_rejected(session: Session, name: str, value: float) -> None:
    with pytest.raises(ConfigurationError) as caught:
        session.get("/ok", **{name: value})
    assert caught.value.context["setting"] == name


# Every numeric setting of Session: (argument, a valid value, its variable or None, an
# invalid value that is a number of the right kind).
SESSION_SETTINGS = [
    ("timeout", 2.0, "LAMBDA_KIT_HTTP_TIMEOUT", 0),
    ("connect_timeout", 1.0, "LAMBDA_KIT_HTTP_CONNECT_TIMEOUT", -1),
    ("read_timeout", 1.0, None, 0),
    ("retries", 3, "LAMBDA_KIT_HTTP_RETRIES", 11),
    ("backoff", 0.5, None, -0.1),
    ("backoff_max", 1.0, None, -1),
    ("deadline_margin", 0.5, "LAMBDA_KIT_HTTP_DEADLINE_MARGIN", -1),
    ("pool_maxsize", 5, "LAMBDA_KIT_HTTP_POOL_MAXSIZE", 0),
]
SETTING_NAMES = [setting[0] for setting in SESSION_SETTINGS]


@pytest.mark.parametrize(("argument", "good", "variable", "bad"), SESSION_SETTINGS, ids=SETTING_NAMES)
def test_an_invalid_setting_is_named_by_its_argument(
    argument: str, good: float, variable: str, bad: float
) -> None:
    assert getattr(Session(**{argument: good}), argument) == good
    with pytest.raises(ConfigurationError) as caught:
        Session(**{argument: bad})

    assert str(caught.value).startswith(f"Invalid {argument}={bad!r}; expected ")
    assert "http_" not in str(caught.value)
    assert caught.value.context["argument"] == argument
    assert caught.value.context["value"] == bad


def test_session_timeout_message() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Session(timeout=-1)
    assert str(caught.value) == "Invalid timeout=-1; expected a finite number of seconds > 0."


@pytest.mark.parametrize("value", [True, False])
@pytest.mark.parametrize(("argument", "good", "variable", "bad"), SESSION_SETTINGS, ids=SETTING_NAMES)
def test_bools_are_not_numbers(argument: str, good: float, variable: str, bad: float, value: bool) -> None:
    # True == 1: accepted before, it made Session(timeout=True) a one-second timeout.
    with pytest.raises(ConfigurationError, match=f"^Invalid {argument}={value}; ") as caught:
        Session(**{argument: value})
    assert caught.value.context["argument"] == argument


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize(("argument", "good", "variable", "bad"), SESSION_SETTINGS, ids=SETTING_NAMES)
def test_non_finite_values_are_refused(
    argument: str, good: float, variable: str, bad: float, value: float
) -> None:
    with pytest.raises(ConfigurationError, match=f"^Invalid {argument}=") as caught:
        Session(**{argument: value})
    assert caught.value.context["argument"] == argument


@pytest.mark.parametrize("text", ["abc", "nan", "inf", "true", "-5"])
@pytest.mark.parametrize(
    ("argument", "variable"),
    [(argument, variable) for argument, _, variable, _ in SESSION_SETTINGS if variable is not None],
)
def test_an_invalid_variable_is_named_by_the_variable(
    monkeypatch: pytest.MonkeyPatch, argument: str, variable: str, text: str
) -> None:
    monkeypatch.setenv(variable, text)
    with pytest.raises(ConfigurationError) as caught:
        Session()

    assert str(caught.value).startswith(f"Invalid {variable}={text!r}")
    assert caught.value.context["variable"] == variable
    assert caught.value.context["argument"] == argument
    assert caught.value.context["value"] == text


def test_none_means_not_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMBDA_KIT_HTTP_TIMEOUT", "4")
    monkeypatch.setenv("LAMBDA_KIT_HTTP_RETRIES", "5")
    session = Session(timeout=None, retries=None, read_timeout=None, pool_maxsize=None)

    assert (session.timeout, session.retries, session.read_timeout, session.pool_maxsize) == (
        4.0,
        5,
        None,
        10,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [("timeout", True), ("timeout", float("inf")), ("deadline", True), ("deadline", float("inf"))],
)
def test_per_request_bools_and_infinity_are_refused(session: Session, name: str, value: float) -> None:
    with pytest.raises(ConfigurationError, match=f"^Invalid {name}={value!r}; ") as caught:
        session.get("/ok", **{name: value})
    assert caught.value.context["argument"] == name
    assert session._pools == {}  # refused before any connection


@pytest.mark.parametrize("connections", [True, 1.0, 0])
def test_warm_refuses_connections_that_are_not_a_count(connections: Any) -> None:
    with pytest.raises(ConfigurationError, match=f"^Invalid connections={connections!r}; ") as caught:
        Session("http://127.0.0.1:9").warm(connections=connections)
    assert caught.value.context["argument"] == "connections"


def test_no_json_is_the_documented_default(server: TLSServer, session: Session) -> None:
    import inspect

    assert repr(http.NO_JSON) == "NO_JSON"
    assert not http.NO_JSON
    assert inspect.signature(Session.request).parameters["json"].default is http.NO_JSON
    assert "NO_JSON" in http.__all__

    session.post("/ok", json=http.NO_JSON)
    session.post("/ok", json=None)
    assert [request[2] for request in server.requests] == [b"", b"null"]


# -- import cost ------------------------------------------------------------------------


# -- review round 4: deadlines, close(), logging, jitter, URLs ----------------------------


@pytest.mark.parametrize("mode", ["headers", "chunked"])
def test_trickling_headers_or_chunk_lines_cannot_outlast_the_budget(mode: str) -> None:
    """Every byte comes well within any socket timeout; only an absolute deadline stops it."""
    sent_before_hang_up: list[int] = []

    def serve(listener: socket.socket) -> None:
        conn, _ = listener.accept()
        read_request(conn)
        if mode == "headers":
            data = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Pad: " + b"a" * 80 + b"\r\n\r\nok"
        else:
            conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            data = b"10;ext=" + b"x" * 80 + b"\r\n" + b"y" * 16 + b"\r\n0\r\n\r\n"
        sent = 0
        try:
            for byte in data:  # 5 s in all, one byte every 50 ms
                conn.send(bytes([byte]))
                sent += 1
                time.sleep(0.05)
        except OSError:  # the client gave up and closed the connection
            pass
        sent_before_hang_up.append(sent)
        conn.close()

    with RawServer(serve) as server:
        session = Session(server.url, timeout=0.4, retries=0)
        with pytest.raises(HTTPTimeoutError) as caught:
            session.get("/x")

    assert caught.value.context["limit"] == "timeout"
    # The client hung up while the header (or chunk-size) line was still arriving, not after it.
    assert sent_before_hang_up[0] < 60


def test_a_huge_retry_after_returns_the_answer_instead_of_raising(
    session: Session, server: TLSServer
) -> None:
    sleeps = Sleeps()
    session._sleep = sleeps
    server.script("/busy", [(503, {"Retry-After": "9" * 400})])

    response = session.get("/busy")

    assert response.status == 503
    assert sleeps.waits == []
    assert len(server.requests_to("/busy")) == 1


def test_close_wakes_threads_waiting_for_a_pooled_connection(server: TLSServer) -> None:
    session = Session(server.base_url, ca_certs=server.cert, pool_maxsize=1, timeout=5)
    session.get("/ok")
    finished: list[str] = []
    errors: list[BaseException] = []

    def call(name: str, path: str) -> None:
        try:
            session.get(path)
            finished.append(name)
        except BaseException as error:  # surfaced by the assert below
            errors.append(error)

    holder = threading.Thread(target=call, args=("holder", "/delay/1.5"))
    holder.start()
    while not server.requests_to("/delay/1.5"):
        time.sleep(0.005)
    waiter = threading.Thread(target=call, args=("waiter", "/ok"))
    waiter.start()
    time.sleep(0.05)  # let the waiter block on the pool's queue
    session.close()  # a SnapStart hook, or the application, closes the session meanwhile
    waiter.join()
    holder.join()

    assert not errors
    assert finished == ["waiter", "holder"]  # the waiter moved to a new pool at once


def test_closing_a_pool_wakes_every_waiter_and_closes_late_connections(server: TLSServer) -> None:
    from lambda_kit import _http_pool

    session = Session(server.base_url, ca_certs=server.cert, pool_maxsize=2)
    session.get("/ok")
    (pool,) = session._pools.values()
    queue = pool.pool
    assert queue is not None
    first, second = pool._get_conn(), pool._get_conn()
    pool.close()
    queue.put_nowait(first)  # a connection put back while close() ran
    _http_pool._wake(queue)

    assert first.is_closed
    for _ in range(3):  # every waiter finds the marker, and leaves it for the next one
        with pytest.raises(_http_pool.ClosedPoolError):
            pool._get_conn(timeout=1)
    second.close()


def test_urllib3_debug_log_never_shows_query_strings(
    server: TLSServer, caplog: pytest.LogCaptureFixture
) -> None:
    session = Session(server.base_url, ca_certs=server.cert)
    with caplog.at_level(logging.DEBUG, logger="urllib3"):
        session.get("/ok", params={"api_key": "TOPSECRET"})
        session.get("/ok#frag")

    lines = [record.getMessage() for record in caplog.records if record.name == "urllib3.connectionpool"]
    assert any('"GET /ok HTTP/1.1" 200' in line for line in lines)
    assert not any("TOPSECRET" in line for line in lines)


def test_the_log_filter_is_installed_once_and_keeps_other_records() -> None:
    from lambda_kit import _http_pool

    logger = logging.getLogger("urllib3.connectionpool")
    _http_pool.install_log_filter()
    _http_pool.install_log_filter()
    assert sum(isinstance(kept, _http_pool.RedactQueries) for kept in logger.filters) == 1
    record = logging.LogRecord(
        "urllib3.connectionpool", logging.DEBUG, "f", 1, "%s %s %d", ("a", "/p", 3), None
    )
    assert _http_pool.RedactQueries().filter(record)
    assert record.args == ("a", "/p", 3)
    record.args = ("/p?token=x#f", 7)
    _http_pool.RedactQueries().filter(record)
    assert record.args == ("/p", 7)


def test_backoff_jitter_differs_between_copies_restored_from_one_snapshot() -> None:
    session = Session("http://127.0.0.1:9", backoff=1.0, backoff_max=1.0)
    snapshot = random.getstate()  # what every restored copy holds in memory
    copies: list[list[float]] = []
    for _ in range(2):
        random.setstate(snapshot)
        waits = Sleeps()
        session._sleep = waits
        for retried in range(4):
            assert session._backoff(retried, None, time.monotonic() + 100)
        copies.append(waits.waits)

    assert copies[0] != copies[1]
    assert all(0.0 <= wait <= 1.0 for wait in copies[0] + copies[1])


def test_params_go_before_a_fragment(session: Session) -> None:
    assert session.get("/ok#top", params={"a": "1"}).json()["path"] == "/ok?a=1"
    assert session.get("/ok?x=1#top", params={"a": "1"}).json()["path"] == "/ok?x=1&a=1"


def test_credentials_holding_a_slash_never_reach_a_message() -> None:
    with pytest.raises(InvalidURLError, match="credentials in the URL") as caught:
        Session().get("https://user:pa/TOPSECRET@api.example.com/v1?token=abc")

    assert "TOPSECRET" not in str(caught.value)
    assert caught.value.context["url"] == "https://api.example.com/v1"


def test_pool_internals_for_deadlines_writes_and_closing(
    server: TLSServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lambda_kit import _http_pool

    # A read after the deadline fails at once; closing twice is harmless.
    left, right = socket.socketpair()
    with left, right:
        reader = _http_pool._DeadlineReader(left, time.monotonic() - 1, None)
        with pytest.raises(TimeoutError):
            reader.readinto(bytearray(1))
        reader.close()
        reader.close()

    # Outside an attempt (no deadline marked) a pool still reads responses normally.
    pool = _http_pool.make_pool(
        "https",
        "127.0.0.1",
        server.port,
        maxsize=1,
        connect_timeout=1,
        read_timeout=1,
        headers={},
        ssl_context=_http_pool.tls_context(server.cert),
    )
    _http_pool.mark_attempt(None)
    assert pool.urlopen("GET", "/ok", retries=False).status == 200

    # Only a failed first write of at most 16 KiB proves that nothing was delivered.
    closed = socket.socket()
    closed.close()
    for data, unsent in ((b"x" * 100, True), (b"x" * 20_000, False)):
        conn = _http_pool.KeepAliveHTTPConnection("127.0.0.1", 9)
        conn.sock = closed
        _http_pool.mark_attempt(None)
        with pytest.raises(OSError, match="file descriptor"):
            conn.send(data)
        assert _http_pool.unsent() is unsent
        assert not _http_pool.sent() or not unsent

    # A waiter that finds an empty slot of a pool closed meanwhile leaves too.
    (conn_held,) = [pool._get_conn()]
    queue = pool.pool
    assert queue is not None
    outcome: list[BaseException] = []

    def wait() -> None:
        try:
            pool._get_conn(timeout=5)
        except BaseException as error:  # checked below
            outcome.append(error)

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.05)
    pool.pool = None
    queue.put_nowait(None)
    waiter.join()
    assert isinstance(outcome[0], _http_pool.ClosedPoolError)
    conn_held.close()
    assert queue.get_nowait() is _http_pool._CLOSED  # left by the waiter for the next one
    queue.put_nowait(None)
    _http_pool._wake(queue)  # empty slots are skipped, the marker stays
    assert queue.get_nowait() is _http_pool._CLOSED

    # Installing the log filter again finds the one already there.
    monkeypatch.setattr(_http_pool, "_log_filter_installed", False)
    _http_pool.install_log_filter()
    logger = logging.getLogger("urllib3.connectionpool")
    assert sum(isinstance(kept, _http_pool.RedactQueries) for kept in logger.filters) == 1


# -- issue 11: fair pools, hooks that leak, bounded restores ------------------------------


def threads_waiting(queue: Any) -> int:
    """Threads blocked in a pool's queue (FairQueue's waiters; a plain Queue's condition waiters)."""
    waiters = getattr(queue, "_waiters", None)
    if waiters is None:
        waiters = queue.not_empty._waiters
    return len(waiters)


def wait_for(condition: Callable[[], bool]) -> None:
    for _ in range(2000):  # bounded: 10 s at most
        if condition():
            return
        time.sleep(0.005)
    raise AssertionError("condition not reached")


def test_threads_waiting_for_a_connection_are_served_in_arrival_order(server: TLSServer) -> None:
    session = Session(server.base_url, ca_certs=server.cert, pool_maxsize=1)
    session.get("/ok")
    (pool,) = session._pools.values()
    queue = pool.pool
    held = pool._get_conn()
    order: list[str] = []

    def wait(name: str) -> None:
        conn = pool._get_conn(timeout=5)
        order.append(name)
        pool._put_conn(conn)

    waiters: list[threading.Thread] = []
    for name in ("first", "second", "third"):
        waiter = threading.Thread(target=wait, args=(name,))
        waiter.start()
        waiters.append(waiter)
        wait_for(lambda: threads_waiting(queue) == len(waiters))  # queued in this order

    pool._put_conn(held)
    again = pool._get_conn(timeout=5)  # the thread that gave it back asks again at once
    order.append("releaser")
    pool._put_conn(again)
    for waiter in waiters:
        waiter.join()

    # (A LifoQueue let the releaser take it straight back; a woken waiter that found the
    # queue empty again went to the back of the line: one request waited a whole 5 s run.)
    assert order == ["first", "second", "third", "releaser"]
    assert session.get("/ok").status == 200


def test_eight_threads_on_a_pool_of_two_are_all_served(server: TLSServer) -> None:
    session = Session(server.base_url, ca_certs=server.cert, pool_maxsize=2, timeout=5)
    served: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work() -> None:
        try:
            for _ in range(15):
                session.get("/ok")
                with lock:
                    served.append(1)
        except BaseException as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    assert len(served) == 120
    assert server.connections <= 2


def test_fair_queue_keeps_queue_semantics() -> None:
    from queue import Empty, Full

    from lambda_kit._http_pool import FairQueue

    fair = FairQueue(2)
    fair.put("a")
    fair.put("b")
    with pytest.raises(Full):
        fair.put("c", block=False)
    with pytest.raises(Full):
        fair.put("c", timeout=0.01)  # a blocking put that finds no room in time
    taker = threading.Timer(0.05, fair.get)
    taker.start()
    fair.put("c", timeout=5)  # waits until the taker made room
    taker.join()
    assert [fair.get(block=False), fair.get(block=False)] == ["c", "a"]  # most recent first
    with pytest.raises(Empty):
        fair.get(block=False)
    with pytest.raises(Empty):
        fair.get(timeout=0)
    with pytest.raises(Empty):
        fair.get(timeout=0.01)
    with pytest.raises(ValueError, match="non-negative"):
        fair.get(timeout=-1)
    assert fair.empty()


def test_sessions_made_per_invocation_leave_no_hooks_behind(server: TLSServer) -> None:
    import gc

    hooks_before = {phase: len(hooks) for phase, hooks in lifecycle._hooks.items()}

    for made in range(1000):  # one Session per invocation: what the docs advise against, made harmless
        session = Session(server.base_url, ca_certs=server.cert)
        if made % 20 == 0:
            session.warm()  # tracked by lifecycle from its first pool on, weakly
    del session
    gc.collect()

    # (Each Session registered two hooks that nothing removed: 10,000 sessions, 20,000 hooks.)
    assert {phase: len(hooks) for phase, hooks in lifecycle._hooks.items()} == hooks_before
    assert not [kept for kept in lifecycle._resources if isinstance(kept, Session)]


def test_a_restore_after_reset_lifecycle_still_renews_sessions(session: Session, server: TLSServer) -> None:
    from lambda_kit.testing import reset_lifecycle

    session.warm()
    assert session.get("/ok").json()["connection"] == 1
    reset_lifecycle()  # forgets every hook, as many test suites do between tests

    simulate_restore()

    # (The session's hooks were forgotten: it went on using the snapshot's connection.)
    assert session.get("/ok").json()["connection"] == 2


class StallingTLSServer:
    """Completes TLS handshakes until ``stall`` is set; then accepts and never answers."""

    def __init__(self, certificate: tuple[str, str]) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(*certificate)
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.url = f"https://127.0.0.1:{self.listener.getsockname()[1]}"
        self.stall = False
        self.accepted = 0
        self.kept: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:  # closed
                return
            self.accepted += 1
            if not self.stall:
                conn = self.context.wrap_socket(conn, server_side=True)
            self.kept.append(conn)

    def close(self) -> None:
        self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self.listener.close()
        self.thread.join(5)
        for conn in self.kept:
            conn.close()


def test_after_restore_rewarming_stalled_servers_stays_within_lambdas_restore_limit(
    certificate: tuple[str, str],
) -> None:
    servers = [StallingTLSServer(certificate) for _ in range(4)]
    try:
        sessions = [Session(server.url, ca_certs=certificate[0], preconnect=True) for server in servers]
        assert [server.accepted for server in servers] == [1, 1, 1, 1]  # warmed during INIT
        for server in servers:
            server.stall = True  # each now takes connections and stalls the TLS handshake

        started = time.monotonic()
        simulate_restore()
        took = time.monotonic() - started

        # (Each re-warm waited its whole 3 s connect_timeout, one after another: 12 s,
        # past the 10 s Lambda gives restore and its hooks together.)
        assert took < 10
        assert took < sessions[0].connect_timeout  # in parallel, cut at the budget
        wait_for(lambda: all(server.accepted == 2 for server in servers))  # every origin was tried
    finally:
        for server in servers:
            server.close()


def test_a_failed_warm_up_leaves_no_connection_object_in_the_pool(server: TLSServer) -> None:
    session = Session(server.base_url)  # the system's CAs: the test certificate fails verification
    assert session.warm() == 0
    (pool,) = session._pools.values()

    assert all(conn is None for conn in list(pool.pool.queue))  # the next request makes a new one


def test_after_a_restore_the_first_request_or_warm_drops_the_snapshots_pools(
    session: Session, server: TLSServer
) -> None:
    other = Session(server.base_url, ca_certs=server.cert)
    assert session.get("/ok").json()["connection"] == 1
    assert other.get("/ok").json()["connection"] == 2

    simulate_restore()  # neither was warmed: nothing reconnects during the restore

    assert server.connections == 2
    assert session.get("/ok").json()["connection"] == 3  # the request renews the pools
    assert other.warm() == 1  # so does warm()
    assert other.get("/ok").json()["connection"] == 4
    session._renew()  # a renewal that finds nothing to do
    assert session.get("/ok").json()["connection"] == 3


def test_warming_stops_at_its_end(session: Session, server: TLSServer) -> None:
    from lambda_kit import _http_pool

    session.get("/ok")
    (pool,) = session._pools.values()

    assert _http_pool.warm(pool, 3, 1.0, end=time.monotonic() - 1) == 0
    assert server.connections == 1


def test_requests_from_executor_workers_stop_at_the_invocations_deadline(server: TLSServer) -> None:
    from concurrent.futures import ThreadPoolExecutor

    session = Session(server.base_url, ca_certs=server.cert, timeout=3)

    def fetch(path: str) -> str:
        try:
            session.get(path)
        except HTTPTimeoutError as error:
            return str(error.context["limit"])
        return "answered"

    @lifecycle.track_invocations
    def handler(event: object, context: object) -> list[str]:
        with ThreadPoolExecutor(2) as pool:  # workers do not inherit the handler's context
            return list(pool.map(fetch, ["/delay/5", "/delay/5"]))

    # (The workers knew no deadline: they ran until the session's timeout, past the function's.)
    assert handler({}, invocation(timeout_s=0.8)) == ["deadline", "deadline"]
