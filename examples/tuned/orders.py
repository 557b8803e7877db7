"""The core logic of the demo: plain typed functions that know nothing of Lambda.

They take what they need (a database) as arguments and return plain data, so the
unit tests in ``tests/test_examples_tuned.py`` call them without any event, context
or AWS, and ``app.py`` can expose them through any event source.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class Database(Protocol):
    """What the core needs from the database: nothing about how it connects."""

    def user(self) -> str: ...


class Inventory(Protocol):
    """What the core needs from the inventory service: nothing about HTTP."""

    def available(self, order_id: str) -> bool | None: ...


@dataclass(frozen=True)
class OrderView:
    """What a client sees of an order."""

    order_id: str
    user: str
    in_stock: bool | None = None


def get_order(db: Database, inventory: Inventory, order_id: str) -> OrderView:
    """Describe one order as the connected database user sees it, with its stock."""
    if not order_id.strip():
        raise ValueError("order_id must not be blank")
    return OrderView(order_id=order_id, user=db.user(), in_stock=inventory.available(order_id))
