"""The warehouse on loopback. AWS, events, metrics and imports come from lambda-kit's plugin."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from lambda_kit_dev.stand_ins import TLSServer


@pytest.fixture(scope="session")
def warehouse_server() -> Iterator[TLSServer]:
    """The warehouse: a keep-alive HTTP server on 127.0.0.1 that answers 200 and records requests."""
    with TLSServer(tls=False) as server:
        yield server


@pytest.fixture
def warehouse(warehouse_server: TLSServer, monkeypatch: pytest.MonkeyPatch) -> TLSServer:
    """The warehouse, with nothing recorded yet, and ``WAREHOUSE_URL`` pointing at it."""
    warehouse_server.reset()
    monkeypatch.setenv("WAREHOUSE_URL", warehouse_server.base_url)
    return warehouse_server
