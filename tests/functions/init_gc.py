"""A function that pauses the collector for INIT (tests/test_init_gc.py)."""

import gc

from lambda_kit import lifecycle

PAUSED = lifecycle.pause_gc_for_init()
DURING_INIT = {"paused": PAUSED, "collecting": gc.isenabled()}


@lifecycle.track_invocations
def handler(event: object, context: object) -> list[dict[str, object]]:
    return [DURING_INIT, {"collecting": gc.isenabled(), "frozen": gc.get_freeze_count()}]
