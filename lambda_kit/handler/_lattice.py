"""Amazon VPC Lattice requests for :func:`lambda_kit.handler.http` (internal).

A VPC Lattice target group invokes a Lambda target with one of two event
structures, chosen on the target group:

* version 1: ``{"method", "raw_path", "headers": {name: value},
  "query_string_parameters": {name: value}, "body", "is_base64_encoded"}``;
* version 2 (``"version": "2.0"``): ``{"method", "path", "headers": {name: [values]},
  "queryStringParameters": {name: [values]}, "body", "isBase64Encoded",
  "requestContext": {"serviceNetworkArn", "serviceArn", "targetGroupArn",
  "identity", "region", "timeEpoch"}}``.

and expects an ALB-like response: ``statusCode``, ``statusDescription``
(``"200 OK"``), ``headers`` (one value each), ``body``, ``isBase64Encoded``.

The HTTP adapter looks here only when an event matched none of the other
integrations (version 1 has no field they use; version 2 carries ``"version":
"2.0"`` but no ``rawPath``), so their requests never pay for it. A Lattice request is
rewritten as the HTTP API payload 2.0 request it amounts to (lower-case header names,
repeated values joined with commas, the query as ``rawQueryString``; version 2's
``requestContext`` kept beside ``http``), served as one, and the response given its
``statusDescription``. A core's :class:`~lambda_kit.handler.Request` therefore reads
``integration`` ``"http_v2"``, and ``request.event["requestContext"]`` holds the
Lattice identity (``identity.principal``, ``identity.sourceVpcArn``, ...).
"""

from __future__ import annotations

from lambda_kit._proxy_events import status_description

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["as_http_v2", "lattice_response", "lattice_version"]


def lattice_version(event: dict[str, Any]) -> int | None:
    """1 or 2 for a VPC Lattice request of that event structure, else ``None``.

    Example:
        >>> lattice_version({"method": "GET", "raw_path": "/", "headers": {}})
        1
    """
    if type(event.get("method")) is not str:
        return None
    if event.get("version") == "2.0" and type(event.get("path")) is str and "rawPath" not in event:
        return 2
    if type(event.get("raw_path")) is str and "version" not in event:
        return 1
    return None


def _values(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def as_http_v2(event: dict[str, Any]) -> dict[str, Any] | None:
    """The HTTP API payload 2.0 request a VPC Lattice request amounts to (``None`` if it is not one)."""
    version = lattice_version(event)
    if version is None:
        return None
    from urllib.parse import urlencode

    if version == 2:
        path, headers, query = event["path"], event.get("headers"), event.get("queryStringParameters")
        base64_encoded = event.get("isBase64Encoded") is True
        context = event.get("requestContext")
        context = dict(context) if isinstance(context, dict) else {}
    else:
        path, headers, query = event["raw_path"], event.get("headers"), event.get("query_string_parameters")
        base64_encoded = event.get("is_base64_encoded") is True
        context = {}
    path, _, raw_query = path.partition("?")
    pairs = [
        (str(name), value)
        for name, values in (query.items() if isinstance(query, dict) else ())
        for value in _values(values)
    ]
    if pairs:
        raw_query = urlencode(pairs)
    merged: dict[str, str] = {}
    for name, value in headers.items() if isinstance(headers, dict) else ():
        values = _values(value)
        if values:
            key = str(name).lower()
            merged[key] = ",".join([merged[key], *values]) if key in merged else ",".join(values)
    method = event["method"].upper()
    context["http"] = {"method": method, "path": path or "/"}
    context["stage"] = "$default"
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path or "/",
        "rawQueryString": raw_query,
        "headers": merged,
        "requestContext": context,
        "body": event.get("body"),
        "isBase64Encoded": base64_encoded,
    }


def lattice_response(response: dict[str, Any]) -> dict[str, Any]:
    """An HTTP API response as VPC Lattice takes it: with ``statusDescription``.

    Example:
        >>> answer = {"statusCode": 404, "headers": {}, "body": "", "isBase64Encoded": False}
        >>> lattice_response(answer)["statusDescription"]
        '404 Not Found'
    """
    status = response.get("statusCode")
    answer = {
        "statusCode": status,
        "statusDescription": status_description(status) if isinstance(status, int) else "",
        "headers": response.get("headers") or {},
        "body": response.get("body", ""),
        "isBase64Encoded": response.get("isBase64Encoded") is True,
    }
    return answer
