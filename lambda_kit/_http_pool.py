"""urllib3 plumbing for :mod:`lambda_kit.http` (internal; imports urllib3 on first use).

Kept apart from ``lambda_kit.http`` so that importing the public module costs
nothing: this module is imported when a session makes its first pool.

Additions to urllib3's connection pools:

* each pool records, per thread, whether the connection it handed out had been
  used before (a socket was already open), and whether the first write of the
  request failed (so the server provably received none of it). Only such a
  request may be replayed whatever its method: one whose bytes left may have been
  received and acted upon by the server;
* every socket read of a response gets only the time left before the attempt's
  absolute deadline (see :func:`mark_attempt`), so a server trickling headers or
  chunk-size lines byte by byte cannot stretch a request past its budget;
* threads waiting for a free connection are served first come, first served
  (:class:`FairQueue`), each within its own timeout;
* :meth:`close` wakes the threads waiting for a free connection of the closed pool
  (they get ``ClosedPoolError`` and move to a new pool) instead of leaving them
  blocked for their whole budget;
* urllib3's DEBUG request log line loses its query string (it may carry secrets);
* :func:`warm` opens connections into a pool without sending a request (also into
  botocore's pools, whose warmed connections it teaches about TLS 1.3 session tickets).
"""

from __future__ import annotations

import collections
import http.client
import io
import logging
import queue
import socket
import ssl
import threading
import time

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ClosedPoolError,
    ConnectTimeoutError,
    EmptyPoolError,
    HTTPError,
    LocationValueError,
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
    "FairQueue",
    "HTTPError",
    "LocationValueError",
    "NewConnectionError",
    "ProtocolError",
    "ReadTimeoutError",
    "RedactQueries",
    "SSLError",
    "Timeout",
    "alive",
    "install_log_filter",
    "make_pool",
    "mark_attempt",
    "reused",
    "sent",
    "socket_options",
    "tls_context",
    "unsent",
    "warm",
]

_state = threading.local()
_ONE_WRITE = 16384  # at most one TLS record, and far below any socket send buffer


class _Closed:
    """Put into a closed pool's queue to wake the threads waiting on it; closes like a connection."""

    is_closed = True

    def close(self) -> None:
        """Nothing to close (urllib3's finalizer closes whatever is left in the queue)."""


_CLOSED: Any = _Closed()
_monotonic = time.monotonic


def mark_attempt(end: float | None = None) -> None:
    """Start an attempt in this thread: forget the last one's state, and set its absolute deadline.

    Args:
        end: The ``time.monotonic()`` value by which the response must have arrived;
            every socket read of the response waits at most until then.
    """
    _state.reused = False
    _state.sent = False
    _state.unsent = False
    _state.end = end


def reused() -> bool:
    """Whether the last attempt in this thread ran on a connection opened earlier."""
    return bool(getattr(_state, "reused", False))


def unsent() -> bool:
    """Whether the last attempt's first write failed, so the server received none of the request.

    The first write of a request is its header block (at most 16 KiB here), sent into
    an idle connection whose send buffer is empty: the kernel takes all of it or
    fails, so a failure (a reset or closed connection) means nothing was delivered.
    """
    return bool(getattr(_state, "unsent", False))


def sent() -> bool:
    """Whether the last attempt in this thread wrote any of its request to the socket."""
    return bool(getattr(_state, "sent", False)) and not unsent()


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


class _DeadlineReader(io.RawIOBase):
    """A response's socket reader whose every read waits at most until the attempt's deadline."""

    def __init__(self, sock: socket.socket, end: float, read: float | None) -> None:
        super().__init__()
        self._sock = sock
        self._raw = sock.makefile("rb", buffering=0)  # socket.SocketIO: keeps the socket's io refcount
        self._end = end
        self._read = read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        left = self._end - _monotonic()
        if left <= 0:
            raise TimeoutError("timed out")  # urllib3 reports it as a read timeout
        read = self._read
        self._sock.settimeout(left if read is None or left < read else read)
        return self._raw.readinto(buffer)

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


class _DeadlineSocket:
    """What ``http.client.HTTPResponse`` needs of a socket: ``makefile``, here deadline-bound."""

    __slots__ = ("_end", "_sock")

    def __init__(self, sock: socket.socket, end: float) -> None:
        self._sock = sock
        self._end = end

    def makefile(self, mode: str = "rb") -> io.BufferedReader:
        sock = self._sock
        return io.BufferedReader(_DeadlineReader(sock, self._end, sock.gettimeout()))


class _DeadlineResponse(http.client.HTTPResponse):
    """``http.client.HTTPResponse`` reading through :class:`_DeadlineReader` during an attempt."""

    def __init__(
        self, sock: Any, debuglevel: int = 0, method: str | None = None, url: str | None = None
    ) -> None:
        end = getattr(_state, "end", None)
        if end is not None:
            _state.end = None  # one attempt, one response
            sock = _DeadlineSocket(sock, end)
        super().__init__(sock, debuglevel, method, url)


class _ConnectionMixin:
    """Connection behaviour shared by both schemes: deadline-bound reads, first-write tracking."""

    def send(self, data: Any) -> None:
        if getattr(_state, "sent", True):  # not the first write of an attempt (or no attempt)
            super().send(data)  # type: ignore[misc]  # mixin over an HTTPConnection
            return
        _state.sent = True
        try:
            super().send(data)  # type: ignore[misc]
        except OSError as error:
            # The first write into an idle connection either goes in whole or fails whole.
            if not isinstance(error, TimeoutError) and isinstance(data, bytes) and len(data) <= _ONE_WRITE:
                _state.unsent = True
            raise


class KeepAliveHTTPConnection(_ConnectionMixin, HTTPConnection):
    """A plain-HTTP connection (see :class:`_ConnectionMixin`)."""

    response_class = _DeadlineResponse


class KeepAliveHTTPSConnection(_ConnectionMixin, HTTPSConnection):
    """A TLS connection (see :class:`_ConnectionMixin`)."""

    response_class = _DeadlineResponse


class _Waiter:
    """A thread waiting in a :class:`FairQueue`: its lock is released when an item is handed to it."""

    __slots__ = ("handed", "item", "lock")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.lock.acquire()
        self.handed = False
        self.item: Any = None


if TYPE_CHECKING:
    _LifoQueue = queue.LifoQueue[Any]
else:
    _LifoQueue = queue.LifoQueue  # typing.Any is not imported at runtime


class FairQueue(_LifoQueue):
    """A pool's queue that serves the threads waiting for a connection in arrival order.

    With ``queue.LifoQueue`` a thread that puts a connection back can take it again at
    once, ahead of the threads already waiting: they are woken, find the queue empty,
    and wait again at the back. Under load one request could wait out its whole budget
    while the others took turns. Here an item put while threads wait is handed to the
    one that has waited longest, and a thread that arrives while others wait queues
    behind them. Free connections still go out most recently used first.
    """

    def __init__(self, maxsize: int = 0) -> None:
        super().__init__(maxsize)
        self._waiters: collections.deque[_Waiter] = collections.deque()

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        if timeout is not None and timeout < 0:
            raise ValueError("'timeout' must be a non-negative number")
        with self.mutex:
            if self._qsize() and (not block or not self._waiters):
                item = self._get()
                self.not_full.notify()
                return item
            if not block or timeout == 0:
                raise queue.Empty
            waiter = _Waiter()
            self._waiters.append(waiter)
        waiter.lock.acquire(True, -1 if timeout is None else timeout)
        with self.mutex:
            if waiter.handed:  # also when the item came just as the wait timed out
                return waiter.item
            self._waiters.remove(waiter)
        raise queue.Empty

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        with self.not_full:  # holds self.mutex
            if self._waiters:
                waiter = self._waiters.popleft()
                waiter.item = item
                waiter.handed = True
                waiter.lock.release()
                return
            if self.maxsize > 0 and self._qsize() >= self.maxsize:
                if not block:
                    raise queue.Full
                # Unused by urllib3 (it puts without blocking); Queue's semantics, for completeness.
                end = None if timeout is None else _monotonic() + timeout
                while self._qsize() >= self.maxsize:
                    left = None if end is None else end - _monotonic()
                    if left is not None and left <= 0:
                        raise queue.Full
                    self.not_full.wait(left)
            self._put(item)
            self.unfinished_tasks += 1
            self.not_empty.notify()


def _wake(pool: queue.LifoQueue[Any]) -> None:
    """Leave the closed marker in a closed pool's queue: every waiter takes it, puts it back, and leaves."""
    while True:  # a second round only when a connection came back in between
        try:
            while True:
                item = pool.get_nowait()
                if item is not None:
                    item.close()  # put back by a request that finished during close()
        except queue.Empty:
            pass
        try:
            pool.put_nowait(_CLOSED)
        except queue.Full:  # pragma: no cover - a connection came back in between; empty again
            continue
        return


class _PoolMixin:
    """Pool behaviour shared by both schemes (see the module docstring)."""

    pool: queue.LifoQueue[Any] | None
    QueueCls = FairQueue

    def close(self) -> None:
        old = self.pool
        super().close()  # type: ignore[misc]  # mixin over a pool
        if old is not None:
            _wake(old)

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
        if conn is _CLOSED or self.pool is not pool:  # closed while this thread waited
            if conn is not None:
                conn.close()
            _wake(pool)
            raise ClosedPoolError(self, "Pool is closed.")  # type: ignore[arg-type]
        if conn is not None and not alive(conn):
            conn.close()
        # An open socket here was used before (or warmed) and looks alive.
        _state.reused = conn is not None and not conn.is_closed
        if conn is None:
            conn = self._new_conn()  # type: ignore[attr-defined]
        return conn


class KeepAliveHTTPPool(_PoolMixin, HTTPConnectionPool):
    """A plain-HTTP pool that records connection reuse."""

    ConnectionCls = KeepAliveHTTPConnection


class KeepAliveHTTPSPool(_PoolMixin, HTTPSConnectionPool):
    """A TLS pool that records connection reuse."""

    ConnectionCls = KeepAliveHTTPSConnection


class RedactQueries(logging.Filter):
    """Cuts the query string (and fragment) off the URLs in urllib3's log records: they may hold secrets."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and any(
            isinstance(arg, str) and ("?" in arg or "#" in arg) for arg in args
        ):
            record.args = tuple(
                arg.partition("?")[0].partition("#")[0] if isinstance(arg, str) else arg for arg in args
            )
        return True


_log_filter_installed = False


def install_log_filter() -> None:
    """Add :class:`RedactQueries` to the ``urllib3.connectionpool`` logger, once per process."""
    global _log_filter_installed
    if _log_filter_installed:
        return
    _log_filter_installed = True
    logger = logging.getLogger("urllib3.connectionpool")
    if not any(isinstance(kept, RedactQueries) for kept in logger.filters):
        logger.addFilter(RedactQueries())


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
    if not _log_filter_installed:
        install_log_filter()
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


def warm(pool: HTTPConnectionPool, connections: int, timeout: float, *, end: float | None = None) -> int:
    """Have up to ``connections`` connections (TCP and TLS) open in ``pool``; never raises for I/O.

    Args:
        pool: One of this module's pools, or any urllib3 pool (botocore's).
        connections: How many connections to have open.
        timeout: Most seconds for one connect (and for waiting for a free connection).
        end: A ``time.monotonic()`` value past which no connect may run.

    Returns:
        How many of them are open: already open ones count, failed connects do not.
    """
    taken: list[BaseHTTPConnection | None] = []
    ready = 0
    try:
        for _ in range(connections):
            left = timeout if end is None else min(timeout, end - _monotonic())
            if left <= 0:
                break
            conn = pool._get_conn(timeout=left)
            taken.append(conn)
            if conn.is_closed:
                conn.timeout = left
                try:
                    conn.connect()
                except (HTTPError, OSError):
                    conn.close()
                    # Not back into the pool: a connection object keeps the settings it was made
                    # with, and the next request must get a new one, made with the pool's.
                    taken[-1] = None
                    break
                if not isinstance(conn, _ConnectionMixin):
                    _notice_tickets(conn)
            ready += 1
    except (HTTPError, OSError):  # no free connection, closed pool
        pass
    finally:
        for kept in taken:
            pool._put_conn(kept)
    return ready


_ticket_aware: dict[type, type] = {}


def _notice_tickets(conn: BaseHTTPConnection) -> None:
    """Have a warmed connection of a foreign pool (botocore's) judge its liveness with :func:`alive`.

    urllib3 discards a pooled connection whose socket is readable; a TLS 1.3 server's
    session tickets make a warmed, never used connection readable, so every warm-up
    would be thrown away on first use. The connection's class becomes a subclass whose
    ``is_connected`` (what urllib3's pools ask) consumes such records instead.
    """
    cls = type(conn)
    aware = _ticket_aware.get(cls)
    if aware is None:
        aware = _ticket_aware[cls] = type(
            cls.__name__,
            (cls,),
            {"__module__": cls.__module__, "__doc__": cls.__doc__, "is_connected": property(alive)},
        )
    conn.__class__ = aware
