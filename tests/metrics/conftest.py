"""Fixtures of the metrics tests: a fresh execution environment, and the lines a test writes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lambda_kit.testing import reset_lifecycle
from lambda_kit.testing._metrics import CapturedMetrics, capture_metrics


@pytest.fixture(autouse=True)
def _fresh_environment() -> Iterator[None]:
    reset_lifecycle()
    yield
    reset_lifecycle()


@pytest.fixture
def captured() -> Iterator[CapturedMetrics]:
    with capture_metrics() as lines:
        yield lines
