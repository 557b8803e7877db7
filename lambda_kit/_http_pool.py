"""urllib3 plumbing for :mod:`lambda_kit.http` (internal; imports urllib3 on first use).

Kept apart from ``lambda_kit.http`` so that importing the public module costs
nothing: this module is imported when a session makes its first pool.

Two additions to urllib3's connection pools:

* each pool records, per thread, whether the connection it handed out had been
  used before (a socket was already open). A request that fails on such a
  connection before any response byte arrived was most likely sent into a socket
  the server had closed while the environment was frozen, and can be replayed;
* :func:`warm` opens connections into a pool without sending a request.
"""

from __future__ import annotations

import queue
import socket
import ssl
import threading

from urllib3.connection import HTTPConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ClosedPoolError,
    ConnectTimeoutError,
    EmptyPoolError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.util.ssl_ import create_urllib3_context
from urllib3.util.timeout import Timeout
from urllib3.util.wait import wait_for_read

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from urllib3._base_connection import BaseHTTPConnection

__all__ = [
    "ClosedPoolError",
    "ConnectTimeoutError",
    "EmptyPoolError",
    "HTTPError",
    "NewConnectionError",
    "ProtocolError",
    "ReadTimeoutError",
    "SSLError",
    "Timeout",
    "alive",
    "make_pool",
    "mark_attempt",
    "reused",
    "socket_options",
    "tls_context",
    "warm",
]

_state = threading.local()


def mark_attempt() -> None:
    """Forget the previous attempt's connection state in this thread."""
    _state.reused = False


def reused() -> bool:
    """Whether the last attempt in this thread ran on a connection opened earlier."""
    return bool(getattr(_state, "reused", False))


def alive(conn: BaseHTTPConnection) -> bool:
    """Whether a pooled connection can carry a request: open, and not hung up by its peer.

    urllib3 counts any readable socket as dropped. A TLS 1.3 server sends session
    tickets just after the handshake, so a connection opened by :func:`warm` and not
    used yet is readable without being closed; here such records are consumed, and
    only end-of-file, an error or unexpected data count as dropped.
    """
    sock = getattr(conn, "sock", None)
    if sock is None:
        return False
    if not wait_for_read(sock, timeout=0.0):
        return True
    if not isinstance(sock, ssl.SSLSocket):
        return False  # end of file, or bytes nobody asked for
    previous = sock.gettimeout()
    sock.settimeout(0.0)
    try:
        sock.recv(1)
    except ssl.SSLWantReadError:
        return True  # only TLS records that carry no data (session tickets)
    except OSError:  # pragma: no cover - a reset peer; loopback shows it as end of file first
        return False
    finally:
        sock.settimeout(previous)
    return False


class _PoolMixin:
    """Pool behaviour shared by both schemes (see the module docstring)."""

    pool: queue.LifoQueue[Any] | None

    def _get_conn(self, timeout: float | None = None) -> BaseHTTPConnection:
        # urllib3's own _get_conn, with a liveness check that TLS 1.3 does not fool.
        pool = self.pool
        if pool is None:
            raise ClosedPoolError(self, "Pool is closed.")  # type: ignore[arg-type]  # mixin over a pool
        conn: BaseHTTPConnection | None = None
        try:
            conn = pool.get(block=True, timeout=timeout)  # lambda-kit's pools always block
        except queue.Empty:
            raise EmptyPoolError(self, "Pool is empty and no more connections are allowed.") from None  # type: ignore[arg-type]
        if conn is not None and not alive(conn):
            conn.close()
        # An open socket here was used before (or warmed) and looks alive.
        _state.reused = conn is not None and not conn.is_closed
        if conn is None:
            conn = self._new_conn()  # type: ignore[attr-defined]
        return conn


class KeepAliveHTTPPool(_PoolMixin, HTTPConnectionPool):
    """A plain-HTTP pool that records connection reuse."""


class KeepAliveHTTPSPool(_PoolMixin, HTTPSConnectionPool):
    """A TLS pool that records connection reuse."""


def socket_options(idle: int = 30, interval: int = 10, count: int = 3) -> list[tuple[int, int, int]]:
    """urllib3's defaults (TCP_NODELAY) plus TCP keep-alive probes where the platform has them.

    Probes stop while Lambda freezes the environment; they matter where a process
    stays up between requests (Lambda Managed Instances, long invocations) and keep
    NAT and load-balancer entries alive.
    """
    options: list[tuple[int, int, int]] = list(HTTPConnection.default_socket_options)
    options.append((socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1))
    for name, value in (("TCP_KEEPIDLE", idle), ("TCP_KEEPINTVL", interval), ("TCP_KEEPCNT", count)):
        constant = getattr(socket, name, None)
        if constant is not None:  # pragma: no branch - all three exist on Linux, where Lambda runs
            options.append((socket.IPPROTO_TCP, constant, value))
    return options


def tls_context(ca_certs: str | None) -> ssl.SSLContext:
    """One verifying TLS context per session, with its CA certificates loaded once.

    urllib3 builds a context and loads the system's CA store for every new
    connection when it is given none; sharing one makes reconnecting cheaper.
    """
    context = create_urllib3_context()
    if ca_certs is not None:
        context.load_verify_locations(cafile=ca_certs)
    else:
        context.load_default_certs()
    return context


def make_pool(
    scheme: str,
    host: str,
    port: int,
    *,
    maxsize: int,
    connect_timeout: float,
    read_timeout: float,
    headers: dict[str, str],
    ssl_context: ssl.SSLContext | None,
) -> HTTPConnectionPool:
    """A blocking pool of at most ``maxsize`` keep-alive connections to one origin."""
    kwargs: dict[str, Any] = {
        "maxsize": maxsize,
        "block": True,  # bounded: threads wait for a free connection instead of opening more
        "timeout": Timeout(connect=connect_timeout, read=read_timeout),
        "retries": False,
        "headers": headers,
        "socket_options": socket_options(),
    }
    if scheme == "https":
        return KeepAliveHTTPSPool(host, port, ssl_context=ssl_context, **kwargs)
    return KeepAliveHTTPPool(host, port, **kwargs)


def warm(pool: HTTPConnectionPool, connections: int, timeout: float) -> int:
    """Have up to ``connections`` connections (TCP and TLS) open in ``pool``; never raises for I/O.

    Returns:
        How many of them are open: already open ones count, failed connects do not.
    """
    taken: list[BaseHTTPConnection] = []
    ready = 0
    try:
        for _ in range(connections):
            conn = pool._get_conn(timeout=timeout)
            taken.append(conn)
            if conn.is_closed:
                conn.timeout = timeout
                try:
                    conn.connect()
                except (HTTPError, OSError):
                    conn.close()
                    break
            ready += 1
    except (HTTPError, OSError):  # no free connection, closed pool
        pass
    finally:
        for conn in taken:
            pool._put_conn(conn)
    return ready
