"""The demo's job, tuned with lambda-kit: nothing but the work itself per warm invocation.

Compared with ``examples/naive`` (a new client, GetSecretValue and PutMetricData in
every invocation) and ``examples/plain`` (hand-written INIT caching and EMF):

* the database secret is fetched once, during INIT, and refetched only after a
  rotation makes the connection fail (``Secret.refetch_on``);
* metrics are EMF lines on stdout, with a ``ColdStart`` metric (``Metrics``);
* the core logic in ``orders.py`` never sees an event: ``http`` routes the API
  Gateway request to it and serialises the result.
"""

from __future__ import annotations

import os

import orders

from lambda_kit.handler import http
from lambda_kit.metrics import Metrics
from lambda_kit.secrets import Secret

DB_SECRET = Secret(os.environ.get("DB_SECRET_ID", "demo/db")).prefetch()  # fetched during INIT
metrics = Metrics(namespace="LambdaKitDemo", service="demo")


class AuthenticationFailed(Exception):
    """What a database driver raises when the password was rotated under it."""


class SecretsDatabase:
    """A stand-in connection that authenticates with the cached secret."""

    def __init__(self) -> None:
        self._username = ""
        self.connect()

    @DB_SECRET.refetch_on(AuthenticationFailed)
    def connect(self) -> None:
        credentials = DB_SECRET.json()
        if not credentials.get("password"):
            raise AuthenticationFailed("the database refused the credentials")
        self._username = str(credentials["username"])

    def user(self) -> str:
        return self._username


DATABASE = SecretsDatabase()  # connected during INIT, reused by every invocation


def get_order(order_id: str) -> orders.OrderView:
    metrics.put_metric("Requests", 1, "Count")
    return orders.get_order(DATABASE, order_id)


handler = http(
    {"GET /orders/{order_id}": get_order},
    errors={ValueError: 400},
    middleware=[metrics.log_metrics(capture_cold_start_metric=True)],
)
