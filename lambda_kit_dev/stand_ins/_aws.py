"""A local stand-in for AWS: a moto server on 127.0.0.1 (internal; re-exported)."""

from __future__ import annotations

import logging
import urllib.request

from lambda_kit_dev.exceptions import EmulatorError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import TracebackType
    from typing import Any

    from typing_extensions import Self


class AwsStandIn:
    """A moto server on an ephemeral loopback port that handlers can call as AWS.

    ``environ()`` gives the variables that point boto3 at it (``AWS_ENDPOINT_URL``,
    dummy credentials, the region); the emulator sets them in the function's
    environment when started with ``aws=True`` or ``aws=AwsStandIn(...)``. Needs
    ``moto[server]`` (a development dependency; imported on :meth:`start`).

    Example:
        >>> with AwsStandIn() as aws:  # doctest: +SKIP
        ...     aws.client("secretsmanager").create_secret(Name="db", SecretString="pw")
    """

    def __init__(self, *, region: str = "us-east-1") -> None:
        self.region = region
        self._server: Any = None
        self._endpoint = ""

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:<port>``; only valid once started."""
        if not self._endpoint:
            raise EmulatorError("The AWS stand-in is not running; call start() first.")
        return self._endpoint

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> Self:
        """Start the moto server (once; later calls do nothing)."""
        if self._server is not None:
            return self
        try:
            from moto.server import ThreadedMotoServer
        except ImportError:  # pragma: no cover - moto is a dev dependency
            raise EmulatorError(
                "The AWS stand-in needs moto's server; install it with "
                "pip install 'moto[server]' (it is in lambda-kit's dev extra).",
            ) from None
        # werkzeug logs every request at INFO on stderr; the stand-in should be quiet.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        self._server = server
        self._endpoint = f"http://{host}:{port}"
        return self

    def stop(self) -> None:
        """Stop the server; its state is lost."""
        if self._server is not None:
            self._server.stop()
            self._server = None
            self._endpoint = ""

    def reset(self) -> None:
        """Forget every resource created so far (moto's reset API)."""
        url = f"{self.endpoint_url}/moto-api/reset"  # always http://127.0.0.1:<port>
        request = urllib.request.Request(url, method="POST")  # noqa: S310 - loopback http only
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            response.read()

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

        make_client: Any = boto3.client  # the service name is only known at run time
        return make_client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - moto's dummy credentials
            aws_session_token="testing",  # noqa: S106
            **kwargs,
        )

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
