"""The SQS consumer: ships each queued order, and reports only the records that failed.

``sqs`` parses each record's body into :class:`orders.Shipment`, calls :func:`ship`
once per record, and returns the failed ones in ``batchItemFailures`` (turn on
``ReportBatchItemFailures`` on the event source mapping), so Lambda retries those
alone. A record that is not valid JSON, or lacks ``order_id``, fails alone too.
"""

from __future__ import annotations

from lambda_kit.handler import sqs
from lambda_kit.metrics import Metrics

import orders
import warehouse

metrics = Metrics(namespace="Shop", service="shipping")
WAREHOUSE = warehouse.connect()


def ship(shipment: orders.Shipment) -> None:
    orders.ship_order(shipment, WAREHOUSE)
    metrics.put_metric("OrdersShipped", 1, "Count")


handler = sqs(ship, middleware=[metrics.log_metrics])
