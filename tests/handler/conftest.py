"""Every handler test starts in a fresh execution environment (no invocation seen yet)."""

from __future__ import annotations

import pytest

from lambda_kit.testing import reset_lifecycle


@pytest.fixture(autouse=True)
def _fresh_environment() -> None:
    reset_lifecycle()
