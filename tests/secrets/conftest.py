"""Fixtures of the lambda_kit.secrets tests: a fresh environment, moto behind a counting proxy, stand-ins."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from secrets_helpers import CountingProxy, ExtensionStandIn, FakeClock, RawExtension, make_client

from lambda_kit import _secrets_backends, secrets
from lambda_kit.testing import reset_lifecycle
from lambda_kit_dev.stand_ins import AwsStandIn


@pytest.fixture(autouse=True)
def _fresh_environment() -> Iterator[None]:
    """Each test is a fresh execution environment: no hooks, no shared clients."""
    reset_lifecycle()
    _secrets_backends._reset_shared_for_tests()
    yield
    reset_lifecycle()
    _secrets_backends._reset_shared_for_tests()


@pytest.fixture
def sm(aws: AwsStandIn) -> Any:
    """An admin client straight to moto (its calls are not counted)."""
    return aws.client("secretsmanager")


@pytest.fixture
def proxy(aws: AwsStandIn) -> Iterator[CountingProxy]:
    counting = CountingProxy(aws.endpoint_url)
    yield counting
    counting.close()


@pytest.fixture
def client(proxy: CountingProxy) -> Any:
    """A Secrets Manager client whose calls go through the counting proxy."""
    return make_client(proxy.url)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(secrets, "_monotonic", fake)
    return fake


@pytest.fixture
def proxied_environ(aws: AwsStandIn, proxy: CountingProxy, monkeypatch: pytest.MonkeyPatch) -> None:
    """The stand-in's environment with AWS_ENDPOINT_URL on the proxy: the default client path."""
    for name, value in aws.environ().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)


@pytest.fixture
def extension(aws: AwsStandIn, monkeypatch: pytest.MonkeyPatch) -> Iterator[ExtensionStandIn]:
    monkeypatch.setenv("AWS_SESSION_TOKEN", "session-token-for-the-extension")
    stand_in = ExtensionStandIn(aws, "session-token-for-the-extension")
    monkeypatch.setenv("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", str(stand_in.port))
    yield stand_in
    stand_in.close()


@pytest.fixture
def raw_extension() -> Iterator[RawExtension]:
    stand_in = RawExtension()
    yield stand_in
    stand_in.close()
