"""The empty handler: what the emulator costs when the function costs nothing."""

from __future__ import annotations

from typing import Any


def handler(event: Any, context: Any) -> None:
    """Do nothing (and return ``null``): all time measured around this is the instrument's."""
