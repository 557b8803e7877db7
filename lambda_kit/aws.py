"""boto3 clients made once per execution environment, tuned for Lambda, SnapStart-safe.

Creating a boto3 client costs milliseconds of CPU (loading the service model,
resolving credentials and the endpoint) and its first call opens a new TCP + TLS
connection. :func:`client` creates each client once, on first use, and returns
the same object to every later call with the same arguments, so its connection
pool is reused across invocations. Clients come with a botocore ``Config`` suited
to Lambda, each value overridable by keyword:

* ``retries={"mode": "standard", "max_attempts": 3}``: the SDKs' standard retry
  mode (exponential backoff with jitter, a retry quota) instead of "legacy";
* ``tcp_keepalive=True``: keep-alive probes on pooled connections;
* ``connect_timeout=2`` and ``read_timeout=10`` seconds instead of botocore's 60
  and 60, which outlast every Lambda timeout that matters
  (``LAMBDA_KIT_AWS_CONNECT_TIMEOUT``, ``LAMBDA_KIT_AWS_READ_TIMEOUT``);
* ``max_pool_connections``: 10, or the function's concurrency on Lambda Managed
  Instances (``AWS_LAMBDA_MAX_CONCURRENCY``).

``client(..., preconnect=True)`` (or :func:`warm`) opens the connection during
INIT, with the client's own TLS settings (its CA bundle: ``verify=`` or
``AWS_CA_BUNDLE``), so the first call finds it open and uses it.

Clients are made by botocore's own session, which is what ``boto3.client`` calls
underneath: the same client class, credentials, endpoints and Config. boto3 itself is
imported only for S3, the one service whose client boto3 extends (``upload_file``,
``download_file`` and their kin). Importing boto3 costs ~20 ms of CPU at INIT on
top of botocore (most of it ``s3transfer``, which ``boto3.compat`` imports), so a
function that reads its secrets at INIT and never touches S3 does not pay it.
Nothing is imported at import time.

SnapStart: a client survives a restore as the same object, renewed inside, so a
client kept in a module variable (as below) is right. Its connections are closed
before the snapshot and, in case a socket slipped into it, again after the restore;
those made with ``preconnect=True`` are connected again during the restore, within
:data:`lambda_kit.lifecycle.RESTORE_WARM_BUDGET`, on the very object your handler
holds. The credentials it resolved during INIT stay with it: with SnapStart, Lambda
hands the SDK container credentials (``AWS_CONTAINER_CREDENTIALS_FULL_URI``) rather
than access keys in the environment, and botocore refreshes those before they
expire, as a new client would fetch them. No hook is registered per cache: lifecycle
holds caches weakly.

Example:
    >>> from lambda_kit import aws
    >>> sqs = aws.client("sqs", preconnect=True)  # at module scope, during INIT  # doctest: +SKIP
    >>> def handler(event: dict, context: object) -> None:
    ...     sqs.send_message(QueueUrl=event["queue"], MessageBody="hi")
"""

from __future__ import annotations

import functools
import os
import threading

from lambda_kit.exceptions import ConfigurationError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, Final

__all__ = ["ClientCache", "clear", "client", "default_config", "warm"]

DEFAULT_CONNECT_TIMEOUT: Final = 2.0
DEFAULT_READ_TIMEOUT: Final = 10.0
DEFAULT_MAX_ATTEMPTS: Final = 3

_lifecycle: Any = None  # lambda_kit.lifecycle, imported with the first client (not at import)


def _check_timeouts(config: dict[str, Any]) -> None:
    """Refuse a timeout keyword that is not a finite number of seconds > 0 (None: botocore's default)."""
    for name in ("connect_timeout", "read_timeout"):
        value = config.get(name)
        if value is not None:
            from lambda_kit._config import seconds

            seconds().validate(name, value, also=" or None")


def _unkeyable(service: str, config: dict[str, Any]) -> ConfigurationError:
    """The error for Config keywords that cannot be part of a cache key, naming the first such keyword."""
    for name in sorted(config):
        try:
            _frozen(config[name])
        except TypeError:
            break
    return ConfigurationError(
        f"Invalid Config for {service!r}: {name}= must be a plain value, dict or list "
        "(it becomes part of the cache key).",
        setting="config",
        argument=name,
        value=sorted(config),
    )


def _frozen(value: Any) -> Any:
    """A hashable stand-in for a Config value (dicts and lists of plain values)."""
    if isinstance(value, dict):
        return tuple(sorted((str(key), _frozen(item)) for key, item in value.items()))
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_frozen(item) for item in value]
        return ("<set>", *sorted(items, key=repr)) if isinstance(value, (set, frozenset)) else tuple(items)
    hash(value)  # raises TypeError for what cannot be part of a cache key
    return value


def default_config() -> dict[str, Any]:
    """The botocore ``Config`` keywords lambda-kit starts from (before your overrides).

    Example:
        >>> default_config()["retries"]
        {'mode': 'standard', 'max_attempts': 3}
    """
    from lambda_kit._config import UNSET, resolve, seconds
    from lambda_kit.http import default_pool_size

    return {
        "retries": {"mode": "standard", "max_attempts": DEFAULT_MAX_ATTEMPTS},
        "tcp_keepalive": True,
        "connect_timeout": resolve(
            "aws_connect_timeout",
            UNSET,
            DEFAULT_CONNECT_TIMEOUT,
            seconds(),
        ),
        "read_timeout": resolve(
            "aws_read_timeout",
            UNSET,
            DEFAULT_READ_TIMEOUT,
            seconds(),
        ),
        "max_pool_connections": default_pool_size(),
    }


class ClientCache:
    """A thread-safe cache of boto3 clients keyed by service, region, endpoint and Config.

    :func:`client` uses one shared instance; make your own to keep a separate set
    (for example with a different boto3 session's credentials in tests), or to give
    every client it makes settings of its own.

    Args:
        **config: ``botocore.config.Config`` keywords for every client this cache
            makes, over lambda-kit's defaults and under a call's own keywords (a
            ``retries`` dict is merged one level deep at each step). Checked when the
            first client is made.

    Raises:
        ConfigurationError: ``region_name`` among ``config``: the region is a
            client's argument (``region=``), not the cache's.

    Example:
        >>> cache = ClientCache(read_timeout=3)
        >>> s3 = cache.client("s3", region="eu-west-1")  # doctest: +SKIP
        >>> s3 is cache.client("s3", region="eu-west-1")  # doctest: +SKIP
        True
    """

    def __init__(self, **config: Any) -> None:
        if "region_name" in config:
            raise ConfigurationError(
                "A ClientCache takes Config keywords for every client, not a region; "
                "pass region= to client().",
                setting="region_name",
                argument="region_name",
                value=config["region_name"],
            )
        _check_timeouts(config)
        self._config = config
        self._lock = threading.RLock()
        self._clients: dict[tuple[Any, ...], Any] = {}
        self._warmed: set[tuple[Any, ...]] = set()  # keys of the clients made with preconnect=True
        self._session: Any = None  # botocore's session, shared by every client
        self._boto3: Any = None  # boto3's session over it, for S3 only
        self._defaults: dict[str, Any] | None = None

    def client(
        self,
        service: str,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        preconnect: bool = False,
        **config: Any,
    ) -> Any:
        """The cached client for these arguments, created on first use.

        Args:
            service: The boto3 service name (``"s3"``, ``"secretsmanager"``...).
            region: The region; ``None`` means ``AWS_REGION`` / ``AWS_DEFAULT_REGION``.
            endpoint_url: A custom endpoint; ``None`` lets boto3 decide (it honours
                ``AWS_ENDPOINT_URL`` and ``AWS_ENDPOINT_URL_<SERVICE>``).
            preconnect: Open a connection to the service's endpoint now (see :func:`warm`),
                and again after every SnapStart restore.
            **config: ``botocore.config.Config`` keywords, over lambda-kit's defaults.
                They are part of the cache key. A ``retries`` dict is merged with the
                default one (``retries={"max_attempts": 5}`` keeps ``mode="standard"``);
                ``region_name`` is read as ``region``.

        Returns:
            A boto3 client (``botocore.client.BaseClient``).

        Raises:
            ConfigurationError: An unknown service, an invalid Config keyword, a
                Config value that cannot be part of a cache key, or ``region_name``
                disagreeing with ``region``.
        """
        if "region_name" in config:  # botocore's spelling: the client's own argument wins over it
            named = config.pop("region_name")
            if region is not None and named != region:
                raise ConfigurationError(
                    f"Conflicting regions for {service!r}: region={region!r} and region_name={named!r}; "
                    "pass only region=.",
                    setting="region_name",
                    argument="region_name",
                    value=named,
                )
            region = named
        if region is None:
            region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        try:
            key = (
                (service, region, endpoint_url, _frozen(config))
                if config
                else (service, region, endpoint_url)
            )
        except TypeError:
            raise _unkeyable(service, config) from None
        made = self._clients.get(key)
        if made is None:
            made = self._create(key, service, region, endpoint_url, config)
        if preconnect:
            with self._lock:
                self._warmed.add(key)
            warm(made)
        return made

    def _create(
        self,
        key: tuple[Any, ...],
        service: str,
        region: str | None,
        endpoint_url: str | None,
        config: dict[str, Any],
    ) -> Any:
        global _lifecycle
        with self._lock:  # boto3 sessions are not safe to create clients from concurrently
            made = self._clients.get(key)
            if made is not None:
                return made
            import botocore.session
            from botocore.config import Config
            from botocore.exceptions import UnknownServiceError

            _check_timeouts(config)
            if self._defaults is None:
                self._defaults = _merged(default_config(), self._config)
            if self._session is None:
                self._session = botocore.session.get_session()
            merged = _merged(self._defaults, config)
            try:
                settings = Config(**merged)
            except TypeError as error:
                raise ConfigurationError(
                    f"Invalid Config for {service!r}: {error}; expected keywords of botocore.config.Config.",
                    setting="config",
                    value=sorted({*self._config, *config}),
                ) from None
            try:
                made = self._maker(service)(
                    service, region_name=region, endpoint_url=endpoint_url, config=settings
                )
            except UnknownServiceError:
                known = ", ".join(sorted(self._session.get_available_services())[:8])
                raise ConfigurationError(
                    f"Unknown AWS service {service!r}; expected a boto3 service name ({known}, ...).",
                    setting="service",
                    value=service,
                ) from None
            self._clients = {**self._clients, key: made}  # readers never see a dict mid-update
        if _lifecycle is None:
            from lambda_kit import lifecycle

            _lifecycle = lifecycle
        _lifecycle._track(self)  # weakly: closed before a snapshot, renewed after a restore
        return made

    def _maker(self, service: str) -> Callable[..., Any]:
        """What creates ``service``'s client: botocore's session, or boto3's over it for S3.

        boto3 adds methods to the S3 client only (the transfer manager's); for every
        other service its ``client()`` is botocore's ``create_client`` with a user agent
        that says boto3. Both share the one botocore session, so credentials are
        resolved once.
        """
        if service != "s3":
            return self._session.create_client  # type: ignore[no-any-return]
        if self._boto3 is None:
            import boto3.session

            self._boto3 = boto3.session.Session(botocore_session=self._session)
        return self._boto3.client  # type: ignore[no-any-return]

    def _close_connections(self) -> None:
        """Close every client's connection pool; the clients stay (botocore reconnects on the next call)."""
        for made in list(self._clients.values()):
            made.close()

    def _close_for_snapshot(self) -> None:
        """Before a snapshot (lifecycle calls it): no socket goes into the snapshot."""
        self._close_connections()

    def _warmups(self) -> list[Callable[[float], object]]:
        """After a restore (lifecycle calls it, before any invocation): renew the clients in place.

        The clients stay the same objects, so one a handler keeps in a module variable
        is renewed too: their pools are closed (a socket restored from the snapshot is
        dead in every copy), and those made with ``preconnect=True`` are connected
        again by the warm-ups returned, which lifecycle runs in parallel.
        """
        self._close_connections()
        with self._lock:
            warmed = list(self._warmed)
        return [functools.partial(self._rewarm, key) for key in warmed]

    def _rewarm(self, key: tuple[Any, ...], end: float) -> bool:
        """Open the warmed client's connection again, no connect running past ``end``."""
        made = self._clients.get(key)
        return made is not None and _warm(made, end)

    def clear(self) -> None:
        """Close and forget every client (and the session, so credentials are re-read)."""
        with self._lock:
            clients, self._clients = self._clients, {}
            self._session = None
            self._boto3 = None
            self._defaults = None
            self._warmed.clear()
        for made in clients.values():
            made.close()  # botocore >= 1.28: closes the client's connection pool

    def __len__(self) -> int:
        return len(self._clients)

    def __repr__(self) -> str:
        return f"ClientCache(clients={len(self._clients)})"


def _merged(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``overrides`` over ``base``; a ``retries`` dict is merged into ``base``'s one level deep.

    ``retries={"max_attempts": 5}`` over the defaults keeps ``mode="standard"``.
    ``max_attempts`` and ``total_max_attempts`` spell the same limit (one apart), so
    either one given replaces both.
    """
    merged = {**base, **overrides}
    retries = overrides.get("retries")
    inherited = base.get("retries")
    if isinstance(retries, dict) and isinstance(inherited, dict):
        kept = {
            name: value
            for name, value in inherited.items()
            if not (name in ("max_attempts", "total_max_attempts") and retries.keys() & _ATTEMPTS)
        }
        merged["retries"] = {**kept, **retries}
    return merged


_ATTEMPTS = frozenset({"max_attempts", "total_max_attempts"})


_clients = ClientCache()


def client(
    service: str,
    *,
    region: str | None = None,
    endpoint_url: str | None = None,
    preconnect: bool = False,
    **config: Any,
) -> Any:
    """A boto3 client for ``service``, created once per environment and shared afterwards.

    Same arguments, same client object; a different region, endpoint or Config gives
    a different client. See :meth:`ClientCache.client` for the arguments.

    Example:
        >>> from lambda_kit import aws
        >>> ddb = aws.client("dynamodb", read_timeout=3)  # doctest: +SKIP
        >>> ddb is aws.client("dynamodb", read_timeout=3)  # doctest: +SKIP
        True
    """
    return _clients.client(service, region=region, endpoint_url=endpoint_url, preconnect=preconnect, **config)


def clear() -> None:
    """Close and forget every client made by :func:`client`."""
    _clients.clear()


def warm(made: Any) -> bool:
    """Open a TCP (and TLS) connection from ``made``'s pool to its endpoint now.

    Best effort: returns ``False`` instead of raising when the endpoint cannot be
    reached, a proxy is configured, or the client is not a botocore client. Only
    the client's regional endpoint is warmed (an S3 bucket's virtual host is not).

    Example:
        >>> from lambda_kit import aws
        >>> aws.warm(aws.client("secretsmanager"))  # doctest: +SKIP
        True
    """
    return _warm(made, None)


def _warm(made: Any, end: float | None) -> bool:
    """:func:`warm`, with no connect running past ``end`` (a ``time.monotonic()`` value)."""
    try:
        endpoint = made._endpoint
        url: str = endpoint.host
        http = endpoint.http_session
        if http._proxy_config.proxy_url_for(url):
            return False
        pool = http._get_connection_manager(url).connection_from_url(url)
        # botocore gives a pool its CA bundle (verify= or AWS_CA_BUNDLE) in send(), just
        # before each request; a connection opened before the first would verify against
        # no CA at all, fail, and keep those settings for the first real call.
        http._setup_ssl_cert(pool, url, http._verify)
    except Exception:  # not a botocore client, or botocore changed its insides
        return False
    from lambda_kit import _http_pool

    timeout = float(made.meta.config.connect_timeout or DEFAULT_CONNECT_TIMEOUT)
    return _http_pool.warm(pool, 1, timeout, end=end) == 1
