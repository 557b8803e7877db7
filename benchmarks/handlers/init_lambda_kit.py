"""bench_init's job written with lambda-kit: the same as ``init_by_hand.py``.

An HTTP API (payload 2.0) route ``GET /orders/{order_id}`` that answers
``{"order_id", "user", "in_stock"}``: the user from a secret fetched once during INIT
(``Secret.prefetch``), the stock from a downstream HTTPS service over one connection
opened during INIT and kept alive (``Session(preconnect=True)``), and one ``Requests``
metric per invocation as a CloudWatch Embedded Metric Format line (``Metrics``).
"""

from __future__ import annotations

import os

from lambda_kit.handler import http
from lambda_kit.http import Session
from lambda_kit.metrics import Metrics
from lambda_kit.secrets import Secret

SECRET = Secret(os.environ["DB_SECRET_ID"]).prefetch()  # fetched during INIT
metrics = Metrics(namespace="BenchInit", service="orders")
INVENTORY = Session(
    os.environ["INVENTORY_URL"],
    timeout=2.0,
    ca_certs=os.environ.get("INVENTORY_CA_BUNDLE"),
    preconnect=True,  # the TLS handshake during INIT
)


def get_order(order_id: str) -> dict[str, object]:
    if not order_id.strip():
        raise ValueError("order_id must not be blank")
    metrics.put_metric("Requests", 1, "Count")
    in_stock = bool(INVENTORY.get(f"/items/{order_id}").raise_for_status().json())
    return {"order_id": order_id, "user": str(SECRET.json()["username"]), "in_stock": in_stock}


handler = http(
    {"GET /orders/{order_id}": get_order},
    errors={ValueError: 400},
    middleware=[metrics.log_metrics()],
)
