"""The warehouse service's client, made once per execution environment (during INIT).

The API key lives in Secrets Manager as ``{"api_key": "..."}``. It is fetched during
INIT (``prefetch``), served from memory after that, and fetched again once when the
warehouse answers 401 (the key was rotated): ``refetch_on`` retries the call with the
new key. The HTTPS connection is opened during INIT too (``preconnect``) and kept
alive across invocations.
"""

from __future__ import annotations

import os

from lambda_kit.http import Session
from lambda_kit.secrets import Secret

from orders import OutOfStock

API_KEY = Secret(os.environ.get("WAREHOUSE_SECRET_ID", "shop/warehouse")).prefetch()


class Unauthorized(Exception):
    """The warehouse refused the API key: it was rotated after it was fetched."""


class WarehouseClient:
    """The warehouse over one kept-alive HTTPS session."""

    def __init__(self, base_url: str) -> None:
        self.session = Session(base_url, timeout=2.0, preconnect=True)

    @API_KEY.refetch_on(Unauthorized)
    def _post(self, path: str, payload: dict[str, object]) -> None:
        headers = {"x-api-key": API_KEY.json()["api_key"]}
        response = self.session.post(path, json=payload, headers=headers)
        if response.status == 401:
            raise Unauthorized("the warehouse refused the API key")
        if response.status == 409:
            raise OutOfStock(f"not enough stock for {payload.get('sku')}")
        response.raise_for_status()

    def reserve(self, sku: str, quantity: int) -> None:
        self._post("/reservations", {"sku": sku, "quantity": quantity})

    def ship(self, order_id: str) -> None:
        self._post("/shipments", {"order_id": order_id})


def connect() -> WarehouseClient:
    """The client for the warehouse at ``WAREHOUSE_URL``."""
    return WarehouseClient(os.environ["WAREHOUSE_URL"])
