"""The shop's core logic: plain typed functions that know nothing of Lambda.

They take what they need (the warehouse) as an argument, so a unit test calls them
with an in-memory warehouse and no event, context or AWS at all.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Protocol

MAX_QUANTITY = 100


class OutOfStock(Exception):
    """The warehouse cannot reserve what was asked for."""


class Warehouse(Protocol):
    """What the core needs from the warehouse: nothing about HTTP or API keys."""

    def reserve(self, sku: str, quantity: int) -> None: ...

    def ship(self, order_id: str) -> None: ...


@dataclass(frozen=True)
class NewOrder:
    """The body of ``POST /orders``."""

    sku: str
    quantity: int


@dataclass(frozen=True)
class Order:
    """An order once placed."""

    order_id: str
    sku: str
    quantity: int


@dataclass(frozen=True)
class Shipment:
    """One message of the shipping queue."""

    order_id: str


def place_order(order: NewOrder, warehouse: Warehouse) -> Order:
    """Reserve the stock and give the order its id."""
    if not order.sku.strip():
        raise ValueError("sku must not be blank")
    if not 1 <= order.quantity <= MAX_QUANTITY:
        raise ValueError(f"quantity must be from 1 to {MAX_QUANTITY}")
    warehouse.reserve(order.sku, order.quantity)
    return Order(order_id=uuid.uuid4().hex, sku=order.sku, quantity=order.quantity)


def ship_order(shipment: Shipment, warehouse: Warehouse) -> None:
    """Ask the warehouse to ship an order."""
    if not shipment.order_id.strip():
        raise ValueError("order_id must not be blank")
    warehouse.ship(shipment.order_id)
