"""lifecycle.pause_gc_for_init: the collector is off during INIT and back on when INIT ends."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from lambda_kit import lifecycle
from lambda_kit.handler import http
from lambda_kit.testing import events, reset_lifecycle, simulate_snapshot


@pytest.fixture(autouse=True)
def _collector() -> Iterator[None]:
    """Every test starts in INIT with the collector on and nothing frozen, and leaves it so."""
    reset_lifecycle()
    gc.enable()
    gc.unfreeze()
    yield
    reset_lifecycle()
    gc.enable()
    gc.unfreeze()


def _context(request_id: str) -> SimpleNamespace:
    return SimpleNamespace(aws_request_id=request_id, get_remaining_time_in_millis=lambda: 3000)


def test_paused_until_the_first_invocation_then_frozen_and_on() -> None:
    assert lifecycle.pause_gc_for_init() is True
    assert not gc.isenabled()
    built_at_init = [object() for _ in range(100)]

    @lifecycle.track_invocations
    def handler(event: object, context: object) -> tuple[bool, int]:
        return gc.isenabled(), gc.get_freeze_count()

    enabled, frozen = handler({}, _context("first"))
    assert enabled is True
    assert frozen >= len(built_at_init)  # INIT's objects moved to the permanent generation
    # Warm: nothing is frozen again (frozen objects freed by reference counting leave the count).
    again, frozen_then = handler({}, _context("second"))
    assert again is True
    assert frozen - 50 <= frozen_then <= frozen


def test_without_freeze_nothing_is_frozen() -> None:
    assert lifecycle.pause_gc_for_init(freeze=False) is True
    token = lifecycle.start_invocation("first")
    try:
        assert gc.isenabled()
        assert gc.get_freeze_count() == 0
    finally:
        lifecycle.end_invocation(token)


def test_an_http_adapter_ends_init_at_its_first_request() -> None:
    lifecycle.pause_gc_for_init()

    def status() -> dict[str, bool]:
        return {"collecting": gc.isenabled()}

    handler = http({"GET /status": status})
    response = handler(events.api_gateway_v2("GET", "/status"), _context("r-1"))
    assert json.loads(response["body"]) == {"collecting": True}


def test_too_late_once_an_invocation_has_started() -> None:
    token = lifecycle.start_invocation("first")
    lifecycle.end_invocation(token)
    assert lifecycle.pause_gc_for_init() is False
    assert gc.isenabled()


def test_a_collector_turned_off_by_the_user_stays_theirs() -> None:
    gc.disable()
    assert lifecycle.pause_gc_for_init() is False
    token = lifecycle.start_invocation("first")
    lifecycle.end_invocation(token)
    assert not gc.isenabled()  # lambda-kit did not pause it, so it does not resume it


def test_a_snapshot_ends_init() -> None:
    lifecycle.pause_gc_for_init()
    simulate_snapshot()
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0


def test_end_init_by_hand_and_again_is_harmless() -> None:
    assert lifecycle.pause_gc_for_init() is True
    assert lifecycle.pause_gc_for_init() is False  # already paused
    lifecycle.end_init()
    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    lifecycle.end_init()
    assert gc.isenabled()
    # Not frozen again (objects freed by reference counting since may leave the count).
    assert frozen - 50 <= gc.get_freeze_count() <= frozen


@pytest.mark.emulator
def test_under_the_runtime_client_init_ends_at_the_first_invocation(handlers: Path) -> None:
    from lambda_kit_dev.emulator import Emulator

    with Emulator("init_gc.handler", task_root=handlers) as function:
        first = function.invoke({})
        second = function.invoke({})
    assert first.ok, first.log
    during_init, at_first = json.loads(first.payload)
    assert during_init == {"paused": True, "collecting": False}
    assert at_first["collecting"] is True
    assert at_first["frozen"] > 1000  # the runtime client's and the module's objects
    warm = json.loads(second.payload)[1]
    assert warm["collecting"] is True
    assert at_first["frozen"] - 50 <= warm["frozen"] <= at_first["frozen"]  # not frozen again
