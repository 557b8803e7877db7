"""Real parts and fakes shared by the lambda_kit.secrets tests (imported by name: not a conftest).

A counting proxy in front of moto, a database that accepts only its current password,
a hand-moved clock, in-memory and extension stand-ins, and what a traceback tool can
show of an exception. The fixtures that build them live in conftest.py.
"""

from __future__ import annotations

import base64
import collections
import http.client
import json
import threading
import traceback
import urllib.parse
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3

from lambda_kit_dev.stand_ins import AwsStandIn


class CountingProxy:
    """Forwards HTTP to moto and counts each AWS operation it passes on (or answers itself).

    ``fault`` may return ``(status, json_body)`` for an operation name to answer with
    an error instead of forwarding, as a throttled Secrets Manager would; ``inspect``,
    if set, sees each request's operation and body first (and may hold it). It keeps
    its clients' connections alive, and counts them in ``connections``.
    """

    def __init__(self, target: str) -> None:
        parts = urllib.parse.urlsplit(target)
        self.target = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.calls: collections.Counter[str] = collections.Counter()
        self.connections = 0
        self.fault: Callable[[str], tuple[int, dict[str, str]] | None] | None = None
        self.inspect: Callable[[str, bytes], None] | None = None
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def setup(self) -> None:
                with proxy._lock:
                    proxy.connections += 1
                super().setup()

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                operation = (self.headers.get("X-Amz-Target") or self.path).rsplit(".", 1)[-1]
                with proxy._lock:
                    proxy.calls[operation] += 1
                if proxy.inspect is not None:
                    proxy.inspect(operation, body)
                answer = proxy.fault(operation) if proxy.fault else None
                if answer is not None:
                    status, error = answer
                    self._send(status, json.dumps(error).encode(), "application/x-amz-json-1.1")
                    return
                upstream = http.client.HTTPConnection(*proxy.target, timeout=10)
                try:
                    headers = {
                        k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")
                    }
                    upstream.request("POST", self.path, body=body, headers=headers)
                    response = upstream.getresponse()
                    data = response.read()
                    kind = response.getheader("Content-Type", "application/x-amz-json-1.1")
                    self._send(response.status, data, kind)
                finally:
                    upstream.close()

            def _send(self, status: int, data: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def count(self, operation: str) -> int:
        with self._lock:
            return self.calls[operation]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class AuthFailedError(Exception):
    """What a database driver raises for a wrong password."""


class FakeDatabase:
    """Accepts only its current password, like a database after a rotation."""

    def __init__(self, password: str) -> None:
        self.password = password
        self.accepted = 0
        self.rejected = 0
        self._lock = threading.Lock()

    def connect(self, password: str) -> str:
        with self._lock:
            if password != self.password:
                self.rejected += 1
                raise AuthFailedError("password authentication failed for user app")
            self.accepted += 1
            return "connection"


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_client(endpoint: str, service: str = "secretsmanager", **config: Any) -> Any:
    from botocore.config import Config

    create: Any = boto3.session.Session().client  # the service name is only known at run time
    return create(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}, **config),
    )


def count_calls(client: Any) -> collections.Counter[str]:
    """Count API calls made through ``client`` (a botocore event handler)."""
    counter: collections.Counter[str] = collections.Counter()

    def on_call(model: Any, **_: Any) -> None:
        counter[model.name] += 1

    client.meta.events.register("before-call", on_call)
    return counter


def unique(prefix: str = "test") -> str:
    return f"{prefix}/{uuid.uuid4().hex[:12]}"


def rotate(sm: Any, name: str, db: FakeDatabase, password: str) -> None:
    """The order a rotation function follows: the new value is current before the old one stops."""
    sm.put_secret_value(SecretId=name, SecretString=json.dumps({"username": "app", "password": password}))
    db.password = password


class MemoryBackend:
    """An in-memory backend: values by id, errors on demand."""

    def __init__(self, values: dict[str, str | bytes]) -> None:
        self.values = values
        self.calls = 0
        self.error: Exception | None = None

    def get_secret_value(
        self, secret_id: str, *, version_stage: str | None, version_id: str | None, forced: bool
    ) -> tuple[str | bytes, str]:
        self.calls += 1
        if self.error is not None:
            raise self.error
        value = self.values[secret_id]
        return value, f"v-{hash(value)}"

    def get_parameter(self, name: str, *, with_decryption: bool, forced: bool) -> tuple[str, str]:
        value = self.get_secret_value(name, version_stage=None, version_id=None, forced=forced)[0]
        return str(value), "1"


def chain(error: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    current = error.__cause__ or error.__context__
    while current is not None:
        found.append(current)
        current = current.__cause__ or current.__context__
    return found


class ExtensionStandIn:
    """The Parameters and Secrets Lambda Extension, reading from moto: 400 until ready."""

    def __init__(self, aws: AwsStandIn, token: str) -> None:
        self.ready = False
        self.garbage = False
        self.cache: dict[str, dict[str, Any]] | None = None  # set to {} to cache like the real one
        self.requests: list[str] = []
        self.bad_tokens = 0
        secrets_client = aws.client("secretsmanager")
        ssm_client = aws.client("ssm")
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def do_GET(self) -> None:
                stand_in.requests.append(self.path)
                if self.headers.get("X-Aws-Parameters-Secrets-Token") != token:
                    stand_in.bad_tokens += 1
                    return self._send(401, {"message": "missing token"})
                if not stand_in.ready:
                    return self._send(400, {"message": "not ready to serve traffic, please wait"})
                if stand_in.garbage:
                    return self._send(200, {"unexpected": "shape"})
                if stand_in.cache is not None and self.path in stand_in.cache:
                    return self._send(200, stand_in.cache[self.path])
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                if url.path == "/secretsmanager/get":
                    params = {"SecretId": query["secretId"]}
                    if "versionStage" in query:
                        params["VersionStage"] = query["versionStage"]
                    if "versionId" in query:
                        params["VersionId"] = query["versionId"]
                    answer = secrets_client.get_secret_value(**params)
                    document: dict[str, Any] = {"Name": answer["Name"], "VersionId": answer["VersionId"]}
                    if "SecretString" in answer:
                        document["SecretString"] = answer["SecretString"]
                    else:
                        document["SecretBinary"] = base64.b64encode(answer["SecretBinary"]).decode()
                else:
                    decrypt = query.get("withDecryption") == "true"
                    found = ssm_client.get_parameter(Name=query["name"], WithDecryption=decrypt)["Parameter"]
                    document = {"Parameter": {"Value": found["Value"], "Version": found["Version"]}}
                if stand_in.cache is not None:
                    stand_in.cache[self.path] = document
                return self._send(200, document)

            def _send(self, status: int, document: dict[str, Any]) -> None:
                data = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class RawExtension:
    """An extension stand-in on 127.0.0.1 that answers every request with raw bytes.

    ``answer`` is sent as it is (then the connection closes); with ``drip`` seconds, the
    first ``at_once`` bytes go at once and the rest one byte every ``drip`` seconds.
    ``finished`` is set once a whole answer has been sent.
    """

    def __init__(self, answer: bytes = b"") -> None:
        import socketserver

        self.answer = answer
        self.drip = 0.0
        self.at_once = 0
        self.requests = 0
        self.finished = threading.Event()
        self._stop = threading.Event()
        raw = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                raw.requests += 1
                head = b""
                while b"\r\n\r\n" not in head and len(head) < 65536:
                    piece = self.request.recv(4096)
                    if not piece:
                        return
                    head += piece
                answer, drip = raw.answer, raw.drip
                try:
                    if drip <= 0:
                        self.request.sendall(answer)
                    else:
                        self.request.sendall(answer[: raw.at_once])
                        for index in range(raw.at_once, len(answer)):
                            if raw._stop.wait(drip):
                                return
                            self.request.sendall(answer[index : index + 1])
                except OSError:
                    return  # the client gave up and closed the connection
                raw.finished.set()

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()


# What a tool that prints tracebacks with their locals shows (Sentry, pytest -l): every
# exception of the chain, causes and contexts (shown or suppressed), each frame's locals,
# and every attribute of every exception (JSONDecodeError.doc, UnicodeDecodeError.object).


def everything_a_traceback_tool_can_show(error: BaseException) -> str:
    texts: list[str] = []
    pending: list[BaseException] = [error]
    seen: set[int] = set()
    while pending and len(seen) < 50:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        formatted = traceback.TracebackException.from_exception(current, capture_locals=True)
        texts.append("".join(formatted.format()))
        for frame, _ in traceback.walk_tb(current.__traceback__):
            texts.extend(repr(value) for value in frame.f_locals.values())
        for attribute in dir(current):
            if not attribute.startswith("__"):
                texts.append(repr(getattr(current, attribute, None)))
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return "\n".join(texts)


def raised_by(call: Callable[[], object]) -> BaseException:
    """The exception ``call`` raises, caught in a frame whose locals hold no secret."""
    try:
        call()
    except BaseException as error:  # any exception is what the test looks at
        return error
    raise AssertionError("nothing was raised")


DIGITS = "31415926535897932384626433832795028841971"


LEAK_MARKER = "Lk7SECRETv4lue"
