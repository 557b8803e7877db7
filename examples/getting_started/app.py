"""The HTTP API: ``POST /orders`` behind API Gateway, a function URL or an ALB.

INIT fetches the warehouse's API key and opens its connection (``warehouse.connect``);
each request then costs the core logic, one call over the kept-alive connection and one EMF line.
"""

from __future__ import annotations

from lambda_kit.handler import Response, http
from lambda_kit.metrics import Metrics

import orders
import warehouse

metrics = Metrics(namespace="Shop", service="orders")
WAREHOUSE = warehouse.connect()  # during INIT: the secret is fetched, the connection opened


def create_order(order: orders.NewOrder) -> Response:
    placed = orders.place_order(order, WAREHOUSE)
    metrics.put_metric("OrdersPlaced", 1, "Count")
    metrics.put_metric("ItemsOrdered", order.quantity, "Count")
    return Response(placed, status=201, headers={"Location": f"/orders/{placed.order_id}"})


handler = http(
    {"POST /orders": create_order},
    errors={ValueError: 400, orders.OutOfStock: 409},
    middleware=[metrics.log_metrics(capture_cold_start_metric=True)],
)
