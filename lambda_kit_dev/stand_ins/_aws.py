"""A local stand-in for AWS: a moto server on 127.0.0.1 in a process of its own (internal; re-exported)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import urllib.request

from lambda_kit.exceptions import ConfigurationError
from lambda_kit_dev.exceptions import EmulatorError
from lambda_kit_dev.stand_ins._seed import Seed, load_seed

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import TracebackType
    from typing import Any

    from typing_extensions import Self

    from lambda_kit_dev.stand_ins._seed import SeedSource

# The server process: moto's threaded server on an ephemeral loopback port, which it
# prints once listening; it runs until its stdin closes (the stand-in stops, or the
# process that started it dies), then exits at once.
_SERVER = """\
import logging, os, sys
from moto.server import ThreadedMotoServer
logging.getLogger("werkzeug").setLevel(logging.WARNING)
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.buffer.read()
os._exit(0)
"""
START_TIMEOUT_S = 60.0  # moto's import takes well under a second; a loaded machine may be slow
ACCOUNT_ID = "123456789012"  # moto's default account: the stand-in's ARNs use it


class AwsStandIn:
    """A moto server on an ephemeral loopback port that handlers can call as AWS.

    Each stand-in runs its own server process, so its state is its own: another
    stand-in in the same process, and ``moto.mock_aws()`` (which keeps its state
    inside the test process and resets it on entry), neither see nor change it.
    :meth:`stop` ends the process and its state with it; :meth:`start` after a stop
    begins empty again, then creates the seed.

    ``environ()`` gives the variables that point boto3 at it (``AWS_ENDPOINT_URL``,
    dummy credentials, the region); the emulator sets them in the function's
    environment when started with ``aws=True`` or ``aws=AwsStandIn(...)``. Needs
    ``moto[server]`` in this interpreter (a development dependency).

    Args:
        region: ``AWS_REGION`` for clients and functions.
        seed: Secrets and parameters to create on every :meth:`start` and
            :meth:`reset`: a mapping, or a ``.json`` / ``.yaml`` file (see
            :func:`~lambda_kit_dev.stand_ins._seed.parse_seed` for the format). It is
            read and checked here, so a bad seed fails before anything starts.
        endpoint_url: Use a server that is already running (moto's, started with
            ``moto_server``, or another stand-in's) instead of starting one: nothing
            is started or stopped then, and :meth:`reset` resets *that* server.

    Raises:
        ConfigurationError: The seed or ``endpoint_url`` is invalid.

    Example:
        >>> from lambda_kit_dev.stand_ins import AwsStandIn
        >>> with AwsStandIn(seed={"secrets": {"prod/db": {"password": "pw"}}}) as aws:  # doctest: +SKIP
        ...     aws.client("secretsmanager").get_secret_value(SecretId="prod/db")["SecretString"]
        '{"password":"pw"}'
    """

    def __init__(
        self, *, region: str = "us-east-1", seed: SeedSource = None, endpoint_url: str | None = None
    ) -> None:
        self.region = region
        self.seed: Seed = load_seed(seed)
        self._given = check_endpoint(endpoint_url) if endpoint_url is not None else ""
        self._process: subprocess.Popen[bytes] | None = None
        self._endpoint = ""
        self._lock = threading.Lock()
        self._admins: dict[str, Any] = {}  # the clients that create seeds, per service

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:<port>`` (or the ``endpoint_url`` given); only valid once started."""
        if not self._endpoint:
            raise EmulatorError("The AWS stand-in is not running; call start() first.")
        return self._endpoint

    @property
    def running(self) -> bool:
        """Whether :meth:`start` was called and :meth:`stop` not since."""
        return bool(self._endpoint)

    @property
    def external(self) -> bool:
        """Whether this stand-in uses a server it did not start (``endpoint_url=``)."""
        return bool(self._given)

    def start(self) -> Self:
        """Start the server (once; later calls do nothing) and create the seed.

        Raises:
            EmulatorError: moto's server is missing or did not start; the seed could
                not be created.
        """
        with self._lock:
            if self._endpoint:
                return self
            if self._given:
                self._endpoint = self._given
            else:
                self._process, self._endpoint = _spawn()
        try:
            self._create(self.seed)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the server (its state is lost); a stand-in on ``endpoint_url`` only detaches."""
        with self._lock:
            process, self._process = self._process, None
            self._endpoint = ""
            self._admins.clear()
        if process is not None:
            _end(process)

    def reset(self) -> None:
        """Forget every resource created so far, then create the seed again.

        Resets this stand-in's own server (moto's reset API): nothing in the test
        process, such as ``moto.mock_aws()``, is touched.
        """
        url = f"{self.endpoint_url}/moto-api/reset"
        request = urllib.request.Request(url, method="POST")  # noqa: S310 - the stand-in's http URL
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            response.read()
        self._create(self.seed)

    def add(self, seed: SeedSource) -> None:
        """Create more secrets and parameters now (a mapping or a file, as ``seed=``).

        An existing secret gets a new current version; an existing parameter is
        overwritten. :meth:`reset` forgets them (only the constructor's seed is
        created again).

        Example:
            >>> aws.add({"secrets": {"prod/api-key": "k-2"}})  # doctest: +SKIP
        """
        self._create(load_seed(seed))

    def _create(self, seed: Seed) -> None:
        if not seed:
            return
        from botocore.exceptions import BotoCoreError, ClientError

        name = ""
        try:
            for name, value in seed.secrets.items():
                field = "SecretBinary" if isinstance(value, bytes) else "SecretString"
                try:
                    self._admin("secretsmanager").create_secret(Name=name, **{field: value})
                except ClientError as error:
                    if error.response.get("Error", {}).get("Code") != "ResourceExistsException":
                        raise
                    self._admin("secretsmanager").put_secret_value(SecretId=name, **{field: value})
            for name, (value, kind) in seed.parameters.items():
                self._admin("ssm").put_parameter(Name=name, Value=value, Type=kind, Overwrite=True)
        except (BotoCoreError, ClientError) as error:
            code = error.response.get("Error", {}).get("Code") if isinstance(error, ClientError) else None
            raise EmulatorError(
                f"Could not create {name!r} in the AWS stand-in at {self._endpoint}: "
                f"{code or type(error).__name__}.",
                name=name,
                code=code,
            ) from None

    def _admin(self, service: str) -> Any:
        """The client that creates seeds: one attempt per call (a stand-in answers or is down)."""
        from botocore.config import Config

        with self._lock:
            admin = self._admins.get(service)
            if admin is None:
                config = Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=60)
                admin = self._admins[service] = self.client(service, config=config)
            return admin

    def environ(self) -> dict[str, str]:
        """Environment variables that point AWS SDKs at this stand-in."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
        }

    def client(self, service: str, **kwargs: Any) -> Any:
        """A boto3 client for ``service`` talking to the stand-in (boto3 loads here)."""
        import boto3

        make_client: Any = boto3.session.Session().client  # the service name is only known at run time
        made = make_client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - moto's dummy credentials
            aws_session_token="testing",  # noqa: S106
            **kwargs,
        )
        return made

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = self._endpoint or "stopped"
        return f"AwsStandIn({state})"


def check_endpoint(url: str) -> str:
    """``url`` if it is an ``http(s)://host[:port]`` URL (no path beyond ``/``), else ConfigurationError."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url) if isinstance(url, str) else None
        port = parts.port if parts is not None else None  # ValueError when out of range
    except ValueError:
        parts, port = None, None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username is not None
        or any(c.isspace() or c < " " for c in url)
    ):
        raise ConfigurationError(
            f"Invalid AWS endpoint URL {url!r}; expected http(s)://HOST[:PORT], "
            "e.g. http://127.0.0.1:5000 (a running moto server).",
            setting="aws_endpoint",
            value=url,
        )
    del port
    return url.rstrip("/")


def _spawn() -> tuple[subprocess.Popen[bytes], str]:
    """Start a server process; its process and ``http://127.0.0.1:<port>``."""
    import importlib.util
    import select
    import tempfile

    if importlib.util.find_spec("moto") is None:  # pragma: no cover - moto is a dev dependency
        raise EmulatorError(
            "The AWS stand-in needs moto's server; install it with "
            "pip install 'moto[server]' (it is in lambda-kit's tools extra).",
        )
    env = {key: value for key, value in os.environ.items() if key != "MOTO_ACCOUNT_ID"}
    with tempfile.TemporaryFile() as errors:  # the server logs warnings only: kept for a failed start
        process = subprocess.Popen(
            [sys.executable, "-c", _SERVER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            env=env,
        )
        out: Any = process.stdout  # a pipe: stdout=PIPE
        ready, _, _ = select.select([out], [], [], START_TIMEOUT_S)
        line = out.readline() if ready else b""
        if not line.strip().isdigit():
            _end(process)
            errors.seek(0)
            detail = errors.read().decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
            raise EmulatorError(f"The AWS stand-in (moto's server) did not start: {detail[0]}")
    return process, f"http://127.0.0.1:{int(line)}"


def _end(process: subprocess.Popen[bytes]) -> None:
    """End a server process: close its stdin (it exits), kill it if it lingers."""
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            try:
                stream.close()
            except OSError:  # pragma: no cover - a broken pipe on close
                pass
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:  # pragma: no cover - only a hung server
        process.kill()
        process.wait()
