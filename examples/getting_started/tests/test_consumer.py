"""The SQS consumer: only the records that failed are retried."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

from lambda_kit.testing import CapturedMetrics, FakeContext
from lambda_kit_dev.stand_ins import TLSServer

Import = Callable[..., ModuleType]


def test_only_failed_records_are_reported(
    lambda_import: Import,
    lambda_events: ModuleType,
    lambda_context: FakeContext,
    lambda_metrics: CapturedMetrics,
    warehouse: TLSServer,
) -> None:
    consumer = lambda_import("consumer")
    event = lambda_events.sqs([{"order_id": "o-1"}, {"order_id": " "}, "not json", {"order_id": "o-4"}])
    ids = [record["messageId"] for record in event["Records"]]
    result = consumer.handler(event, lambda_context)
    assert result == {"batchItemFailures": [{"itemIdentifier": ids[1]}, {"itemIdentifier": ids[2]}]}
    assert [path for _, path, _, _ in warehouse.requests] == ["/shipments", "/shipments"]
    assert lambda_metrics.values("OrdersShipped") == [1, 1]


def test_a_warehouse_outage_fails_the_record(
    lambda_import: Import, lambda_events: ModuleType, lambda_context: FakeContext, warehouse: TLSServer
) -> None:
    consumer = lambda_import("consumer")
    warehouse.script("/shipments", [(503, {})])  # a POST is not idempotent: never retried
    event = lambda_events.sqs([{"order_id": "o-1"}, {"order_id": "o-2"}])
    result = consumer.handler(event, lambda_context)
    assert result == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
