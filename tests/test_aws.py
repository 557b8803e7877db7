"""lambda_kit.aws: cached, Lambda-tuned boto3 clients, against moto on 127.0.0.1.

moto's server (werkzeug) closes the connection after every response, so the
connections a client opens are counted through a keep-alive front
(``lambda_kit_dev.emulator.TLSServer`` with ``upstream=``): it relays each request to
moto and keeps the client's connection open, and counts accepted TCP connections
at the socket level. That counts real sockets, unlike urllib3's pool statistics,
which count connection objects (one object reconnects silently).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lambda_kit import aws
from lambda_kit.exceptions import ConfigurationError
from lambda_kit.testing import simulate_restore, simulate_snapshot
from lambda_kit_dev.stand_ins import AwsStandIn
from lambda_kit_dev.stand_ins._tls import TLSServer

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", "us-east-1")


@pytest.fixture(scope="module")
def module_front(aws: AwsStandIn) -> Iterator[TLSServer]:
    with TLSServer(tls=False, upstream=aws.endpoint_url) as front:
        yield front


@pytest.fixture
def front(module_front: TLSServer) -> TLSServer:
    module_front.reset()
    return module_front


@pytest.fixture
def cache(credentials: None) -> Iterator[aws.ClientCache]:
    made = aws.ClientCache()
    yield made
    made.clear()


def test_same_arguments_same_client_other_configuration_other_client(cache: aws.ClientCache) -> None:
    s3 = cache.client("s3", endpoint_url="http://127.0.0.1:9")

    assert cache.client("s3", endpoint_url="http://127.0.0.1:9") is s3
    assert cache.client("s3", endpoint_url="http://127.0.0.1:9", read_timeout=3) is not s3
    assert cache.client("s3", endpoint_url="http://127.0.0.1:9", read_timeout=3) is cache.client(
        "s3", endpoint_url="http://127.0.0.1:9", read_timeout=3
    )
    assert cache.client("s3", region="eu-west-1") is not cache.client("s3", region="eu-central-1")
    assert cache.client("sqs") is not cache.client("sns")
    assert len(cache) == 6


def test_dict_and_list_config_values_are_part_of_the_key(cache: aws.ClientCache) -> None:
    first = cache.client("sqs", retries={"mode": "adaptive", "max_attempts": 2})
    same = cache.client("sqs", retries={"max_attempts": 2, "mode": "adaptive"})
    other = cache.client("sqs", retries={"mode": "adaptive", "max_attempts": 5})

    assert first is same
    assert first is not other
    assert first.meta.config.retries == {"mode": "adaptive", "total_max_attempts": 3}
    assert aws._frozen({"a": [1, {2, 3}]}) == aws._frozen({"a": [1, {3, 2}]})


def test_lambda_defaults_are_applied(cache: aws.ClientCache) -> None:
    config = cache.client("secretsmanager").meta.config

    assert config.retries == {"mode": "standard", "total_max_attempts": 4}
    assert config.tcp_keepalive is True
    assert config.connect_timeout == aws.DEFAULT_CONNECT_TIMEOUT
    assert config.read_timeout == aws.DEFAULT_READ_TIMEOUT
    assert config.max_pool_connections == 10


def test_defaults_follow_the_environment(cache: aws.ClientCache, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMBDA_KIT_AWS_CONNECT_TIMEOUT", "0.5")
    monkeypatch.setenv("LAMBDA_KIT_AWS_READ_TIMEOUT", "4")
    monkeypatch.setenv("AWS_LAMBDA_MAX_CONCURRENCY", "32")

    config = cache.client("ssm").meta.config

    assert (config.connect_timeout, config.read_timeout, config.max_pool_connections) == (0.5, 4.0, 32)
    assert aws.default_config()["read_timeout"] == 4.0


def test_region_defaults_to_the_environment(cache: aws.ClientCache, monkeypatch: pytest.MonkeyPatch) -> None:
    assert cache.client("sqs").meta.region_name == "us-east-1"
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    assert cache.client("sqs").meta.region_name == "ap-south-1"


def test_explicit_config_wins_over_defaults(cache: aws.ClientCache) -> None:
    config = cache.client("sqs", read_timeout=1, tcp_keepalive=False).meta.config

    assert (config.read_timeout, config.tcp_keepalive) == (1, False)


def test_hundred_calls_open_one_connection(cache: aws.ClientCache, front: TLSServer) -> None:
    client = cache.client("secretsmanager", endpoint_url=front.base_url)
    client.create_secret(Name="keepalive-test", SecretString="value")

    for _ in range(100):
        client.get_secret_value(SecretId="keepalive-test")

    assert len(front.requests) == 101
    assert front.connections == 1


def test_the_shared_cache_serves_the_module_function(credentials: None, front: TLSServer) -> None:
    try:
        client = aws.client("secretsmanager", endpoint_url=front.base_url)
        assert aws.client("secretsmanager", endpoint_url=front.base_url) is client
        client.list_secrets()
        aws.client("secretsmanager", endpoint_url=front.base_url).list_secrets()
        assert front.connections == 1
    finally:
        aws.clear()
    assert aws.client("secretsmanager", endpoint_url=front.base_url) is not client
    aws.clear()


def test_preconnect_opens_the_connection_during_init(cache: aws.ClientCache, front: TLSServer) -> None:
    client = cache.client("secretsmanager", endpoint_url=front.base_url, preconnect=True)
    front_wait(front, 1)

    assert front.connections == 1
    assert front.requests == []
    client.list_secrets()
    assert front.connections == 1


def test_warm_is_best_effort(cache: aws.ClientCache) -> None:
    assert aws.warm(object()) is False
    assert aws.warm(cache.client("sqs", endpoint_url="http://127.0.0.1:9")) is False  # nothing listens
    proxied = cache.client("sqs", proxies={"http": "http://127.0.0.1:9", "https": "http://127.0.0.1:9"})
    assert aws.warm(proxied) is False


def test_snapstart_restore_renews_clients_in_place_and_rewarms_them(
    cache: aws.ClientCache, front: TLSServer
) -> None:
    warmed = cache.client("secretsmanager", endpoint_url=front.base_url, preconnect=True)
    plain = cache.client("sqs", endpoint_url=front.base_url)
    front_wait(front, 1)

    simulate_restore()

    # The same objects (a handler may hold them in module variables), renewed inside.
    assert cache.client("secretsmanager", endpoint_url=front.base_url) is warmed
    assert cache.client("sqs", endpoint_url=front.base_url) is plain
    front_wait(front, 2)
    assert front.connections == 2  # the warmed client reconnected during the restore
    warmed.list_secrets()
    assert front.connections == 2
    assert front.requests[-1][3] == 2  # on the connection opened during the restore


def test_restore_survives_a_client_that_cannot_be_rewarmed(cache: aws.ClientCache) -> None:
    made = cache.client("sqs", preconnect=True, endpoint_url="http://127.0.0.1:9")  # nothing listens
    cache._warmed.add(("nope",))  # a warmed key whose client is gone

    simulate_restore()

    assert len(cache) == 1
    assert cache.client("sqs", endpoint_url="http://127.0.0.1:9") is made


def test_concurrent_first_use_makes_one_client(cache: aws.ClientCache) -> None:
    barrier = threading.Barrier(8)
    made: list[Any] = []

    def work() -> None:
        barrier.wait()
        made.append(cache.client("dynamodb"))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len({id(client) for client in made}) == 1


def test_invalid_arguments_are_configuration_errors(cache: aws.ClientCache) -> None:
    with pytest.raises(ConfigurationError, match="Unknown AWS service 'no-such-service'"):
        cache.client("no-such-service")
    with pytest.raises(ConfigurationError, match=r"expected keywords of botocore\.config\.Config"):
        cache.client("sqs", no_such_option=1)
    with pytest.raises(ConfigurationError, match="plain value, dict or list"):
        cache.client("sqs", user_agent_extra=[{}, object.__new__(Unhashable)])
    assert len(cache) == 0


class Unhashable:
    __hash__ = None  # type: ignore[assignment]


def test_repr_and_clear(cache: aws.ClientCache) -> None:
    cache.client("sqs")
    assert repr(cache) == "ClientCache(clients=1)"
    cache.clear()
    assert repr(cache) == "ClientCache(clients=0)"


def front_wait(front: TLSServer, connections: int) -> None:
    """The accept loop counts a connection a moment after the client's connect returns."""
    import time

    deadline = time.monotonic() + 2
    while front.connections < connections and time.monotonic() < deadline:
        time.sleep(0.005)


def test_a_partial_retries_dict_keeps_the_default_mode(
    cache: aws.ClientCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_RETRY_MODE", "legacy")  # what the dict would fall back to if replaced whole

    assert cache.client("sqs", retries={"max_attempts": 5}).meta.config.retries == {
        "mode": "standard",
        "total_max_attempts": 6,
    }
    assert cache.client("sqs", retries={"total_max_attempts": 2}).meta.config.retries == {
        "mode": "standard",
        "total_max_attempts": 2,
    }


def test_region_name_in_config_is_the_region(cache: aws.ClientCache) -> None:
    made = cache.client("sqs", region_name="eu-west-1")

    assert made.meta.region_name == "eu-west-1"
    assert made is cache.client("sqs", region="eu-west-1")
    assert made is cache.client("sqs", region="eu-west-1", region_name="eu-west-1")
    with pytest.raises(ConfigurationError, match="pass only region=") as caught:
        cache.client("sqs", region="us-east-1", region_name="eu-west-1")
    assert caught.value.context["setting"] == "region_name"


# -- issue 11: pre-connect over HTTPS, restores, hooks ----------------------------------


@pytest.fixture(scope="module")
def tls_front(aws: AwsStandIn) -> Iterator[TLSServer]:
    """moto behind a keep-alive HTTPS front (TLS 1.3) with a self-signed certificate."""
    from lambda_kit_dev.stand_ins._tls import temporary_certificate

    cert, key, directory = temporary_certificate()
    with directory, TLSServer(cert, key, upstream=aws.endpoint_url) as front:
        yield front


@pytest.fixture
def https_front(tls_front: TLSServer, monkeypatch: pytest.MonkeyPatch) -> TLSServer:
    assert tls_front.cert is not None
    monkeypatch.setenv("AWS_CA_BUNDLE", tls_front.cert)  # how botocore learns the CA
    tls_front.reset()
    return tls_front


def test_preconnect_over_https_makes_the_first_call_use_the_warmed_connection(
    cache: aws.ClientCache, https_front: TLSServer
) -> None:
    client = cache.client(
        "secretsmanager",
        endpoint_url=https_front.base_url,
        preconnect=True,
        retries={"total_max_attempts": 1},  # the first attempt has to succeed
    )
    front_wait(https_front, 1)

    # (The warm-up verified against no CA at all, failed, and its connection object went back
    # into the pool with those settings: the first call failed with SSLError. A warm-up that
    # did connect was then thrown away: its TLS 1.3 session tickets made it look dropped.)
    client.list_secrets()
    client.list_secrets()

    assert len(https_front.requests) == 2
    assert https_front.connections == 1


def test_warm_uses_the_ca_bundle_of_a_client_made_by_hand(
    credentials: None, https_front: TLSServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3
    from botocore.config import Config

    assert https_front.cert is not None
    monkeypatch.delenv("AWS_CA_BUNDLE")  # only verify= names the CA here
    client = boto3.session.Session().client(
        "secretsmanager",
        region_name="us-east-1",
        endpoint_url=https_front.base_url,
        verify=https_front.cert,
        config=Config(retries={"total_max_attempts": 1}),
    )
    try:
        assert aws.warm(client) is True
        front_wait(https_front, 1)
        client.list_secrets()
        assert https_front.connections == 1
    finally:
        client.close()


def test_restore_rewarms_over_https_and_the_client_uses_that_connection(
    cache: aws.ClientCache, https_front: TLSServer
) -> None:
    before = cache.client(
        "secretsmanager",
        endpoint_url=https_front.base_url,
        preconnect=True,
        retries={"total_max_attempts": 1},
    )
    front_wait(https_front, 1)

    simulate_restore()
    front_wait(https_front, 2)  # re-warmed during the restore

    same = cache.client(
        "secretsmanager", endpoint_url=https_front.base_url, retries={"total_max_attempts": 1}
    )
    assert same is before
    same.list_secrets()
    assert https_front.connections == 2
    assert https_front.requests[-1][3] == 2


def test_snapshot_closes_the_cached_clients_connections_and_keeps_the_clients(
    cache: aws.ClientCache, front: TLSServer
) -> None:
    client = cache.client("secretsmanager", endpoint_url=front.base_url)
    client.list_secrets()

    simulate_snapshot()

    assert cache.client("secretsmanager", endpoint_url=front.base_url) is client
    client.list_secrets()
    assert front.connections == 2  # the snapshot held no open socket


def test_restore_after_reset_lifecycle_still_renews_cached_clients(
    credentials: None, front: TLSServer
) -> None:
    from lambda_kit.testing import reset_lifecycle

    try:
        before = aws.client("secretsmanager", endpoint_url=front.base_url)
        before.list_secrets()
        reset_lifecycle()  # forgets every hook, as test suites do between tests

        simulate_restore()

        # (The shared cache had registered its hook once, and never again after the reset.)
        assert aws.client("secretsmanager", endpoint_url=front.base_url) is before
        before.list_secrets()
        assert front.connections == 2  # not the connection from before the restore
    finally:
        aws.clear()


def test_client_caches_made_and_dropped_leave_no_hooks_behind(credentials: None) -> None:
    import gc

    from lambda_kit import lifecycle

    hooks_before = {phase: len(hooks) for phase, hooks in lifecycle._hooks.items()}
    for _ in range(20):
        aws.ClientCache().client("sqs", endpoint_url="http://127.0.0.1:9")
    gc.collect()

    # (Each cache registered an after-restore hook that nothing removed.)
    assert {phase: len(hooks) for phase, hooks in lifecycle._hooks.items()} == hooks_before
    assert not [
        kept
        for kept in lifecycle._resources
        if isinstance(kept, aws.ClientCache) and kept is not aws._clients
    ]


def test_a_restore_keeps_every_client_with_its_configuration(cache: aws.ClientCache) -> None:
    client = cache.client("sqs", endpoint_url="http://127.0.0.1:9", read_timeout=4)

    simulate_restore()
    simulate_restore()

    assert cache.client("sqs", endpoint_url="http://127.0.0.1:9", read_timeout=4) is client
    assert client.meta.config.read_timeout == 4
    assert len(cache) == 1


# -- issue 12: one SnapStart story, a cache's own settings, public names ----------------


def test_a_client_kept_in_a_module_variable_never_uses_a_socket_from_the_snapshot(
    credentials: None, front: TLSServer
) -> None:
    """The docs' own example: ``sqs = aws.client(..., preconnect=True)`` at module scope."""
    try:
        kept = aws.client("secretsmanager", endpoint_url=front.base_url, preconnect=True)  # INIT
        kept.list_secrets()  # an invocation before the snapshot, on the warmed connection
        assert front.connections == 1
        # No simulate_snapshot(): even a socket that reached the snapshot is never used again.

        simulate_restore()
        front_wait(front, 2)  # the restore connected the client the handler holds

        kept.list_secrets()  # the first invocation after the restore
        # (The cache rebuilt and re-warmed a client of its own; the one the handler kept went
        # on with the snapshot's connection, and its first call after the restore opened a third.)
        assert front.connections == 2
        assert [request[3] for request in front.requests] == [1, 2]
    finally:
        aws.clear()


def test_a_cache_of_its_own_settings_applies_them_under_each_calls_own(credentials: None) -> None:
    cache = aws.ClientCache(read_timeout=3, retries={"total_max_attempts": 1}, tcp_keepalive=False)
    try:
        config = cache.client("sqs").meta.config
        assert (config.read_timeout, config.tcp_keepalive) == (3, False)
        assert config.connect_timeout == aws.DEFAULT_CONNECT_TIMEOUT  # the rest: lambda-kit's defaults
        assert config.retries == {"mode": "standard", "total_max_attempts": 1}
        assert cache.client("sqs", read_timeout=5).meta.config.read_timeout == 5
        assert cache.client("sqs", retries={"max_attempts": 4}).meta.config.retries == {
            "mode": "standard",
            "total_max_attempts": 5,  # botocore counts the first attempt in
        }
    finally:
        cache.clear()


def test_a_cache_of_its_own_settings_refuses_a_region_and_checks_the_rest_on_first_use(
    credentials: None,
) -> None:
    with pytest.raises(ConfigurationError, match="pass region= to client") as caught:
        aws.ClientCache(region_name="eu-west-1")
    assert caught.value.context["setting"] == "region_name"
    cache = aws.ClientCache(no_such_option=1)
    with pytest.raises(ConfigurationError, match=r"expected keywords of botocore\.config\.Config"):
        cache.client("sqs")
    assert len(cache) == 0


def test_aws_is_the_packages_only_boto3_client_factory() -> None:
    import ast

    package = ROOT / "lambda_kit"
    makers = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            named = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module is not None:
                named = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            if {"boto3", "boto3.session", "boto3.client", "boto3.Session"} & set(named):
                makers.append(str(path.relative_to(ROOT)))
    assert makers == ["lambda_kit/aws.py"]


def test_all_is_pinned() -> None:
    assert aws.__all__ == ["ClientCache", "clear", "client", "default_config", "warm"]
    for name in aws.__all__:
        assert callable(getattr(aws, name))


@pytest.mark.parametrize(
    ("config", "argument"),
    [
        ({"connect_timeout": 0}, "connect_timeout"),
        ({"read_timeout": -1}, "read_timeout"),
        ({"read_timeout": True}, "read_timeout"),
        ({"connect_timeout": float("nan")}, "connect_timeout"),
    ],
    ids=["connect_timeout", "read_timeout", "read_timeout-bool", "connect_timeout-nan"],
)
def test_an_invalid_timeout_is_named_by_its_argument(
    cache: aws.ClientCache, config: dict[str, Any], argument: str
) -> None:
    with pytest.raises(ConfigurationError, match=f"^Invalid {argument}=") as caught:
        cache.client("sqs", **config)
    assert caught.value.context["argument"] == argument
    with pytest.raises(ConfigurationError, match=f"^Invalid {argument}=") as caught:
        aws.ClientCache(**config)
    assert caught.value.context["argument"] == argument
    assert len(cache) == 0


def test_none_timeouts_are_botocores_defaults(cache: aws.ClientCache) -> None:
    assert aws.ClientCache(connect_timeout=None, read_timeout=None) is not None


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"region": "eu-west-1", "region_name": "us-east-1"}, "region_name"),
        ({"user_agent_extra": [object.__new__(Unhashable)]}, "user_agent_extra"),
    ],
    ids=["region_name", "unhashable"],
)
def test_client_errors_name_the_argument(
    cache: aws.ClientCache, kwargs: dict[str, Any], argument: str
) -> None:
    with pytest.raises(ConfigurationError, match=argument) as caught:
        cache.client("sqs", **kwargs)
    assert caught.value.context["argument"] == argument


@pytest.mark.parametrize("variable", ["LAMBDA_KIT_AWS_CONNECT_TIMEOUT", "LAMBDA_KIT_AWS_READ_TIMEOUT"])
def test_an_invalid_timeout_variable_is_named(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    monkeypatch.setenv(variable, "0")
    with pytest.raises(ConfigurationError, match=f"^Invalid {variable}='0'") as caught:
        aws.default_config()
    assert caught.value.context["variable"] == variable


def test_clients_come_from_botocore_and_boto3_loads_for_s3_only(aws: AwsStandIn) -> None:
    """boto3 (and s3transfer under it) costs INIT time that only the S3 client needs."""
    import json
    import subprocess
    import sys

    script = (
        "import json, sys\n"
        "from lambda_kit import aws\n"
        "secrets = aws.client('secretsmanager')\n"
        "secrets.create_secret(Name='botocore-only', SecretString='v')\n"
        "value = secrets.get_secret_value(SecretId='botocore-only')['SecretString']\n"
        "before = sorted(name for name in ('boto3', 's3transfer') if name in sys.modules)\n"
        "s3 = aws.client('s3')\n"
        "after = sorted(name for name in ('boto3', 's3transfer') if name in sys.modules)\n"
        "shared = secrets._request_signer._credentials is s3._request_signer._credentials\n"
        "transfer = [hasattr(s3, 'upload_file'), hasattr(secrets, 'upload_file')]\n"
        "print(json.dumps([value, before, after, *transfer, type(s3).__mro__[-2].__module__, shared]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", **aws.environ()},
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    value, before, after, s3_transfer, secrets_transfer, base, shared = json.loads(done.stdout)
    assert value == "v"
    assert before == []  # a secrets client alone never loads boto3
    assert "boto3" in after  # S3's client is boto3's, with the transfer methods
    assert s3_transfer is True
    assert secrets_transfer is False
    assert base == "botocore.client"
    assert shared is True  # one session: credentials resolved once for both
