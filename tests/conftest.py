"""Shared fixtures: a clean environment for every test and one AWS stand-in per session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from lambda_kit_dev.stand_ins import AwsStandIn

HANDLERS = Path(__file__).parent / "functions"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees LAMBDA_KIT_* or AWS_* variables it did not set itself."""
    for name in list(os.environ):
        if name.startswith(("LAMBDA_KIT_", "AWS_")):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def aws() -> Iterator[AwsStandIn]:
    """A moto server on 127.0.0.1, shared by the session (tests reset what they need)."""
    with AwsStandIn() as stand_in:
        yield stand_in


@pytest.fixture
def handlers() -> Path:
    """The directory of the function modules (handlers) the emulator tests run."""
    return HANDLERS
