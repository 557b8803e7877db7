"""AWS's published sample events (tests/handler/events/, sources in its README)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).parent / "events"


def sample(name: str) -> dict[str, Any]:
    """The sample event ``events/<name>`` as a new dict (a test may change it)."""
    loaded: dict[str, Any] = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    return loaded
