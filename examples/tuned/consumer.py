"""The SQS consumer of the demo: the same core logic behind a queue, with partial batch failures.

Each message is ``{"order_id": "..."}``. ``lambda_kit.handler.sqs`` parses it into
:class:`OrderMessage`, calls :func:`refresh_order` once per record, and reports
only the records that failed in ``batchItemFailures`` (the template turns on
``ReportBatchItemFailures``), so Lambda retries those alone and the DLQ gets what
keeps failing. Nothing here touches AWS or the network: the core needs no database
secret or inventory session to validate a message, which keeps this function's INIT
small.
"""

from __future__ import annotations

from dataclasses import dataclass

import orders

from lambda_kit.handler import sqs
from lambda_kit.metrics import Metrics

metrics = Metrics(namespace="LambdaKitDemo", service="demo-consumer")


@dataclass(frozen=True)
class OrderMessage:
    """One queued order change."""

    order_id: str


class _NoDatabase:
    def user(self) -> str:
        return "consumer"


class _NoInventory:
    def available(self, order_id: str) -> bool | None:
        return None


def refresh_order(message: OrderMessage) -> None:
    """Recompute the order's view; a blank id raises, and only that record is retried."""
    orders.get_order(_NoDatabase(), _NoInventory(), message.order_id)
    metrics.put_metric("OrdersRefreshed", 1, "Count")


handler = sqs(refresh_order, middleware=[metrics.log_metrics])
