"""The demo's job, tuned with lambda-kit: nothing but the work itself per warm invocation.

Compared with ``examples/naive`` (a new client, GetSecretValue and PutMetricData in
every invocation) and ``examples/plain`` (hand-written INIT caching and EMF):

* the database secret is fetched once, during INIT, and refetched only after a
  rotation makes the connection fail (``Secret.refetch_on``);
* the downstream inventory service is called over one kept-alive HTTPS connection,
  opened during INIT, within the invocation's deadline (``lambda_kit.http.Session``);
* metrics are EMF lines on stdout, with a ``ColdStart`` metric (``Metrics``);
* the core logic in ``orders.py`` never sees an event: ``http`` routes the API
  Gateway request to it and serialises the result; ``/v2/orders/{order_id}`` answers
  protobuf to clients that ask for it (``Accept: application/x-protobuf``) and JSON
  to the others. protobuf is imported by the first request for that route, not
  during INIT: a cold start that serves only ``/orders`` never pays for it.
"""

from __future__ import annotations

import os

import orders

from lambda_kit.handler import http
from lambda_kit.http import Session
from lambda_kit.metrics import Metrics
from lambda_kit.secrets import Secret

TYPE_CHECKING = False
if TYPE_CHECKING:  # for the annotation only: http() reads the parameters' hints, not the return's
    import order_view_pb2

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


class InventoryService:
    """The inventory service over one pooled keep-alive HTTPS session, opened during INIT."""

    def __init__(self, base_url: str | None) -> None:
        self.session = None
        if base_url:
            ca_bundle = os.environ.get("INVENTORY_CA_BUNDLE")
            self.session = Session(base_url, timeout=2.0, ca_certs=ca_bundle, preconnect=True)

    def available(self, order_id: str) -> bool | None:
        if self.session is None:
            return None
        response = self.session.get(f"/items/{order_id}").raise_for_status()
        return bool(response.json())


INVENTORY = InventoryService(os.environ.get("INVENTORY_URL"))


def get_order(order_id: str) -> orders.OrderView:
    metrics.put_metric("Requests", 1, "Count")
    return orders.get_order(DATABASE, INVENTORY, order_id)


def get_order_message(order_id: str) -> order_view_pb2.OrderView:
    import order_view_pb2  # protobuf loads on the first request for this route

    view = get_order(order_id)
    message = order_view_pb2.OrderView(order_id=view.order_id, user=view.user)
    if view.in_stock is not None:
        message.in_stock = view.in_stock
    return message


handler = http(
    {"GET /orders/{order_id}": get_order, "GET /v2/orders/{order_id}": get_order_message},
    errors={ValueError: 400},
    middleware=[metrics.log_metrics(capture_cold_start_metric=True)],
)
