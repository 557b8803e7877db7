"""The core logic alone: no event, no AWS, no network."""

from __future__ import annotations

import pytest

from orders import NewOrder, OutOfStock, Shipment, place_order, ship_order


class MemoryWarehouse:
    def __init__(self, stock: int) -> None:
        self.stock = stock
        self.shipped: list[str] = []

    def reserve(self, sku: str, quantity: int) -> None:
        if quantity > self.stock:
            raise OutOfStock(sku)
        self.stock -= quantity

    def ship(self, order_id: str) -> None:
        self.shipped.append(order_id)


def test_place_order_reserves_stock() -> None:
    warehouse = MemoryWarehouse(stock=5)
    order = place_order(NewOrder(sku="book", quantity=2), warehouse)
    assert (order.sku, order.quantity, warehouse.stock) == ("book", 2, 3)
    assert len(order.order_id) == 32


@pytest.mark.parametrize(("sku", "quantity"), [(" ", 1), ("book", 0), ("book", 101)])
def test_place_order_refuses_bad_orders(sku: str, quantity: int) -> None:
    warehouse = MemoryWarehouse(stock=500)
    with pytest.raises(ValueError, match="must"):
        place_order(NewOrder(sku=sku, quantity=quantity), warehouse)
    assert warehouse.stock == 500


def test_ship_order() -> None:
    warehouse = MemoryWarehouse(stock=0)
    ship_order(Shipment(order_id="o-1"), warehouse)
    assert warehouse.shipped == ["o-1"]
    with pytest.raises(ValueError, match="blank"):
        ship_order(Shipment(order_id=""), warehouse)
