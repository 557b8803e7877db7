"""A local HTTPS stand-in for a downstream service, counting the connections it accepts.

Handlers that call other services over HTTPS can be run under the emulator against
this server on 127.0.0.1; the tests and benchmarks of ``lambda_kit.http`` use it too.
It needs the ``cryptography`` package (a development dependency) for its certificate.

``TLSServer`` serves HTTP/1.1 keep-alive over TLS on 127.0.0.1 with a self-signed
certificate made by :func:`make_certificate` (the ``cryptography`` package). It
counts accepted TCP connections and requests, and can misbehave on cue:

* ``GET /ok`` (any method): 200, a small JSON body naming the connection number;
* ``/delay/<seconds>``: answers after the delay (cut short when the server stops);
* ``/bytes/<n>``: ``n`` bytes of body;
* ``/gzip/<n>``: ``n`` bytes, gzip-compressed, with ``Content-Encoding: gzip``;
* ``/trickle/<n>``: ``n`` bytes of body, one every 50 ms;
* ``/stats``: ``{"connections": ..., "requests": ...}`` so far (for another process);
* ``/reset-after``: answers, then aborts the connection with a TCP reset;
* ``script(path, [(status, headers), ...])``: the next requests to ``path`` get
  these answers in order, then 200;
* ``close_idle()``: closes every open connection, as a server's idle timeout (or a
  NAT) does while a Lambda environment is frozen;
* ``drop_next_reused(n)``: the next ``n`` requests that arrive on an already-used
  connection are read and then the connection is closed without an answer.

With ``upstream="http://127.0.0.1:<port>"`` it is instead a keep-alive front for
another server: every request is forwarded there and the answer relayed on the
client's kept-alive connection. moto's server (werkzeug) closes the connection
after every response, so a client's connection reuse can only be observed, and
counted, through such a front.
"""

from __future__ import annotations

import datetime
import itertools
import json
import socket
import ssl
import struct
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


def make_certificate(directory: str | Path, *, rsa: bool = False) -> tuple[str, str]:
    """Write a self-signed certificate for 127.0.0.1/localhost and its key; return their paths.

    The key is ECDSA P-256 (fast to make, for tests) or, with ``rsa``, RSA 2048 (what
    most public servers still present, for benchmarks).
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric import rsa as rsa_keys
    from cryptography.x509.oid import NameOID

    key: Any = rsa_keys.generate_private_key(65537, 2048) if rsa else ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "lambda-kit test server")])
    now = datetime.datetime.now(datetime.timezone.utc)
    import ipaddress

    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.IPv4Address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory = Path(directory)
    cert_path = directory / "cert.pem"
    key_path = directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    owner: TLSServer

    def get_request(self) -> tuple[socket.socket, Any]:
        raw, address = super().get_request()
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        number = self.owner._accepted()
        if self.owner.context is None:
            wrapped = raw
        else:  # the handshake happens in the handler thread, not in the accept loop
            wrapped = self.owner.context.wrap_socket(raw, server_side=True, do_handshake_on_connect=False)
        self.owner._track(wrapped, number)  # wrap_socket takes over the file descriptor
        return wrapped, address

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that vanish mid-request are part of what these tests do


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
        pass

    def setup(self) -> None:
        super().setup()
        self.served = 0
        self.number = self.server.owner._numbers_by_socket.get(id(self.request), 0)

    def _handle(self) -> None:
        owner = self.server.owner
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        owner._record(self.command, self.path, body, self.number, dict(self.headers))
        if self.served and owner._take_drop():
            self.close_connection = True
            self.request.close()
            return
        self.served += 1
        if owner.upstream is not None and self.path != "/stats":
            status, headers, payload = owner._forward(self.command, self.path, dict(self.headers), body)
        else:
            status, headers, payload = owner._answer(self.command, self.path, self.number, body)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.path.startswith("/trickle/"):  # the body, one byte every 50 ms
            for byte in payload:
                if owner._stop.wait(0.05):
                    break
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
        elif self.command != "HEAD":
            self.wfile.write(payload)
        if self.path == "/reset-after":  # answer, then abort the connection with an RST
            self.wfile.flush()
            self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle


class TLSServer:
    """An HTTPS (or, with ``tls=False``, HTTP) server on 127.0.0.1 for client tests.

    It sets ``TCP_NODELAY`` on every connection it accepts: a hand-written stand-in
    that does not (``http.server`` as it comes) lets Nagle's algorithm hold back each
    small response until the client's delayed ACK, about 40 ms per request on a
    kept-alive connection.

    Args:
        cert: The certificate's PEM file; with ``key``, the server presents it.
        key: Its private key's PEM file.
        tls: ``False`` for plain HTTP.
        upstream: Forward every request to this ``http://`` server instead (a
            keep-alive front for it).

    Without ``cert`` and ``key`` a TLS server makes a throwaway self-signed
    certificate for 127.0.0.1 and localhost; ``cert`` is then its path, for a
    client's CA bundle (removed when the server stops).

    Example:
        >>> import urllib3
        >>> with TLSServer() as server:  # doctest: +SKIP
        ...     urllib3.PoolManager(ca_certs=server.cert).request("GET", server.url("/ok")).status
        200
    """

    def __init__(
        self,
        cert: str | None = None,
        key: str | None = None,
        *,
        tls: bool = True,
        upstream: str | None = None,
    ) -> None:
        self.upstream = upstream
        self.context: ssl.SSLContext | None = None
        self._made: tempfile.TemporaryDirectory[str] | None = None
        if tls:
            if (cert is None) != (key is None):
                raise ValueError("a TLS server needs both cert and key paths, or neither (a throwaway pair)")
            if cert is None or key is None:
                self._made = tempfile.TemporaryDirectory(prefix="lambda-kit-tls-")
                cert, key = make_certificate(self._made.name)
            self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.context.load_cert_chain(cert, key)
        self.cert = cert
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._numbers = itertools.count(1)
        self._sockets: list[socket.socket] = []
        self._numbers_by_socket: dict[int, int] = {}
        self.connections = 0
        self.requests: list[tuple[str, str, bytes, int]] = []
        self.headers: list[dict[str, str]] = []
        self._scripts: dict[str, list[tuple[int, dict[str, str]]]] = {}
        self._drops = 0
        self.dropped = 0
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.daemon = True

    @property
    def base_url(self) -> str:
        return f"{'https' if self.context else 'http'}://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def start(self) -> TLSServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self.close_idle()
        self._server.server_close()
        if self._made is not None:
            self._made.cleanup()

    def __enter__(self) -> TLSServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- control --------------------------------------------------------------------------

    def reset(self) -> None:
        """Close every connection and forget counts, scripts and drops."""
        self.close_idle()
        with self._lock:
            self.connections = 0
            self._numbers = itertools.count(1)
            self.requests.clear()
            self.headers.clear()
            self._scripts.clear()
            self._drops = 0
            self.dropped = 0

    def script(self, path: str, answers: list[tuple[int, dict[str, str]]]) -> None:
        with self._lock:
            self._scripts[path] = list(answers)

    def drop_next_reused(self, count: int = 1) -> None:
        with self._lock:
            self._drops = count

    def close_idle(self) -> None:
        """Close every open connection at the TCP level (the client sees EOF on its next use)."""
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def requests_to(self, path: str) -> list[tuple[str, str, bytes, int]]:
        with self._lock:
            return [request for request in self.requests if request[1] == path]

    # -- called by the handler ------------------------------------------------------------

    def _accepted(self) -> int:
        with self._lock:
            self.connections += 1
            return next(self._numbers)

    def _track(self, sock: socket.socket, number: int) -> None:
        with self._lock:
            self._sockets.append(sock)
            self._numbers_by_socket[id(sock)] = number

    def _record(self, method: str, path: str, body: bytes, number: int, headers: dict[str, str]) -> None:
        with self._lock:
            self.requests.append((method, path, body, number))
            self.headers.append(headers)

    def _take_drop(self) -> bool:
        with self._lock:
            if self._drops > 0:
                self._drops -= 1
                self.dropped += 1
                return True
            return False

    def _forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        import http.client

        if self.upstream is None:  # pragma: no cover - only called for a front
            raise RuntimeError("this server has no upstream to forward to")
        host, port = self.upstream.split("://", 1)[1].split(":")
        upstream = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            upstream.request(method, path, body=body or None, headers=headers)
            response = upstream.getresponse()
            payload = response.read()
            hop = {"connection", "keep-alive", "transfer-encoding", "content-length"}
            relayed = {name: value for name, value in response.getheaders() if name.lower() not in hop}
            return response.status, relayed, payload
        finally:
            upstream.close()

    def _answer(self, method: str, path: str, number: int, body: bytes) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            queue = self._scripts.get(path)
            scripted = queue.pop(0) if queue else None
        if scripted is not None:
            status, headers = scripted
            return status, {"Content-Type": "text/plain", **headers}, f"scripted {status}".encode()
        route = path.partition("?")[0]
        if route == "/stats":
            with self._lock:
                stats = {"connections": self.connections, "requests": len(self.requests)}
            return 200, {"Content-Type": "application/json"}, json.dumps(stats).encode()
        if route.startswith("/delay/"):
            self._stop.wait(float(route.rsplit("/", 1)[1]))
        if route.startswith("/gzip/"):
            import gzip

            body_bytes = gzip.compress(b"z" * int(route.rsplit("/", 1)[1]))
            return 200, {"Content-Type": "text/plain", "Content-Encoding": "gzip"}, body_bytes
        if route.startswith(("/bytes/", "/trickle/")):
            return 200, {"Content-Type": "application/octet-stream"}, b"x" * int(route.rsplit("/", 1)[1])
        payload = json.dumps({"connection": number, "method": method, "path": path, "length": len(body)})
        return 200, {"Content-Type": "application/json"}, payload.encode()


def temporary_certificate(*, rsa: bool = False) -> tuple[str, str, tempfile.TemporaryDirectory[str]]:
    """A certificate in a fresh temporary directory (keep the directory object alive)."""
    directory = tempfile.TemporaryDirectory()
    cert, key = make_certificate(directory.name, rsa=rsa)
    return cert, key, directory
