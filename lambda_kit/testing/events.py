"""Event factories: the events AWS sends a Lambda function, for unit tests.

Each factory returns an event with the full set of fields the service sends (ids,
ARNs, timestamps, attributes), so that a handler tested with it meets the same
shape in production. Values that matter to a test are arguments; the rest are
realistic fixed or generated values.

Example:
    >>> from lambda_kit.testing import events
    >>> event = events.sqs([{"order_id": "42"}])
    >>> event["Records"][0]["body"]
    '{"order_id": "42"}'
    >>> events.api_gateway_v2("POST", "/orders", body={"id": 1})["requestContext"]["http"]["method"]
    'POST'
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from urllib.parse import quote_plus, urlencode

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

__all__ = [
    "alb",
    "api_gateway_v1",
    "api_gateway_v2",
    "dynamodb_streams",
    "eventbridge",
    "function_url",
    "http_api_v1",
    "kinesis",
    "s3",
    "sns",
    "sqs",
]

REGION = "us-east-1"
ACCOUNT = "123456789012"


def _text(body: Any) -> str | None:
    if body is None or isinstance(body, str):
        return body
    if isinstance(body, (bytes, bytearray)):
        try:
            return bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError(
                "This event carries text: pass binary data base64-encoded (HTTP events: base64_encoded=True)."
            ) from None
    return json.dumps(body)


def _http_body(body: Any, base64_encoded: bool) -> tuple[str | None, bool]:
    """Body text as the integration delivers it: JSON for objects, base64 for bytes if asked."""
    if body is None:
        return None, False
    if isinstance(body, (bytes, bytearray)) and base64_encoded:
        return base64.b64encode(bytes(body)).decode("ascii"), True
    text = _text(body)
    if base64_encoded and text is not None:
        return base64.b64encode(text.encode("utf-8")).decode("ascii"), True
    return text, False


def _now_ms() -> int:
    return int(time.time() * 1000)


def _http_time(ms: int) -> str:
    return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(ms / 1000))


def _default_headers(body: Any) -> dict[str, str]:
    headers = {
        "accept": "application/json",
        "host": "abcdef1234.execute-api.us-east-1.amazonaws.com",
        "user-agent": "lambda-kit-tests/1.0",
        "x-amzn-trace-id": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}",
        "x-forwarded-for": "203.0.113.10",
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
    }
    if body is not None:
        headers["content-type"] = "application/json"
    return headers


def api_gateway_v1(
    method: str,
    path: str,
    *,
    body: Any = None,
    headers: Mapping[str, str] | None = None,
    query: Mapping[str, str | Sequence[str]] | None = None,
    path_parameters: Mapping[str, str] | None = None,
    resource: str | None = None,
    stage: str = "prod",
    base64_encoded: bool = False,
) -> dict[str, Any]:
    """An API Gateway REST API (payload 1.0) proxy event.

    ``path`` is the path as the client sent it, percent-encoded (``/files/a%2Fb``),
    which is how REST APIs deliver it; ``query`` values are given decoded, as REST APIs
    decode them. Header names keep the case given (defaults are Title-Cased, as REST
    APIs pass them).
    """
    given = dict(headers) if headers is not None else {}
    base = {name.title(): value for name, value in _default_headers(body).items()}
    lower = {name.lower() for name in given}
    merged = {name: value for name, value in base.items() if name.lower() not in lower} | given
    single_query, multi_query = _queries(query)
    text, encoded = _http_body(body, base64_encoded)
    now = _now_ms()
    return {
        "resource": resource or path,
        "path": path,
        "httpMethod": method.upper(),
        "headers": merged,
        "multiValueHeaders": {name: [value] for name, value in merged.items()},
        "queryStringParameters": single_query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": dict(path_parameters) if path_parameters else None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "a1b2c3",
            "resourcePath": resource or path,
            "httpMethod": method.upper(),
            "extendedRequestId": base64.b64encode(uuid.uuid4().bytes[:10]).decode("ascii"),
            "requestTime": _http_time(now),
            "path": f"/{stage}{path}",
            "accountId": ACCOUNT,
            "protocol": "HTTP/1.1",
            "stage": stage,
            "domainPrefix": "abcdef1234",
            "requestTimeEpoch": now,
            "requestId": str(uuid.uuid4()),
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": None,
                "cognitoIdentityId": None,
                "caller": None,
                "sourceIp": "203.0.113.10",
                "principalOrgId": None,
                "accessKey": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": None,
                "userAgent": "lambda-kit-tests/1.0",
                "user": None,
            },
            "domainName": "abcdef1234.execute-api.us-east-1.amazonaws.com",
            "apiId": "abcdef1234",
        },
        "body": text,
        "isBase64Encoded": encoded,
    }


def http_api_v1(
    method: str,
    path: str,
    *,
    body: Any = None,
    headers: Mapping[str, str] | None = None,
    query: Mapping[str, str | Sequence[str]] | None = None,
    stage: str = "$default",
    base64_encoded: bool = False,
) -> dict[str, Any]:
    """An API Gateway HTTP API event in payload format 1.0: the REST shape with ``version`` 1.0.

    ``path`` is given as the client sent it (percent-encoded); HTTP APIs deliver it
    decoded in this format, and so does this event.
    """
    from urllib.parse import unquote

    event = api_gateway_v1(method, unquote(path), body=body, headers=headers, query=query, stage=stage)
    if base64_encoded:
        event["body"], event["isBase64Encoded"] = _http_body(body, True)
    event["version"] = "1.0"
    event["resource"] = "$default"
    event["requestContext"]["resourcePath"] = "$default"
    return event


def _queries(
    query: Mapping[str, str | Sequence[str]] | None,
) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    if not query:
        return None, None
    multi = {name: [value] if isinstance(value, str) else list(value) for name, value in query.items()}
    return {name: values[-1] for name, values in multi.items()}, multi


def _v2(
    method: str,
    path: str,
    *,
    body: Any,
    headers: Mapping[str, str] | None,
    query: Mapping[str, str | Sequence[str]] | None,
    cookies: Sequence[str] | None,
    path_parameters: Mapping[str, str] | None,
    route_key: str,
    domain: str,
    api_id: str,
    stage: str,
    base64_encoded: bool,
) -> dict[str, Any]:
    merged = _default_headers(body) | {name.lower(): value for name, value in (headers or {}).items()}
    merged["host"] = domain
    _, multi_query = _queries(query)
    text, encoded = _http_body(body, base64_encoded)
    now = _now_ms()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": urlencode([(k, v) for k, vs in (multi_query or {}).items() for v in vs]),
        "headers": merged,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": api_id,
            "domainName": domain,
            "domainPrefix": domain.split(".", 1)[0],
            "http": {
                "method": method.upper(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.10",
                "userAgent": merged.get("user-agent", ""),
            },
            "requestId": base64.b64encode(uuid.uuid4().bytes[:10]).decode("ascii"),
            "routeKey": route_key,
            "stage": stage,
            "time": _http_time(now),
            "timeEpoch": now,
        },
        "isBase64Encoded": encoded,
    }
    if multi_query:
        event["queryStringParameters"] = {name: ",".join(values) for name, values in multi_query.items()}
    if cookies:
        event["cookies"] = list(cookies)
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if text is not None:
        event["body"] = text
    return event


def api_gateway_v2(
    method: str,
    path: str,
    *,
    body: Any = None,
    headers: Mapping[str, str] | None = None,
    query: Mapping[str, str | Sequence[str]] | None = None,
    cookies: Sequence[str] | None = None,
    path_parameters: Mapping[str, str] | None = None,
    route_key: str | None = None,
    stage: str = "$default",
    base64_encoded: bool = False,
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event; header names are lower case.

    ``path`` is the ``rawPath`` as the client sent it, percent-encoded; ``query`` values
    are given decoded and encoded into ``rawQueryString``, and joined with commas in
    ``queryStringParameters`` as API Gateway does.
    """
    return _v2(
        method,
        path,
        body=body,
        headers=headers,
        query=query,
        cookies=cookies,
        path_parameters=path_parameters,
        route_key=route_key or f"{method.upper()} {path}",
        domain="abcdef1234.execute-api.us-east-1.amazonaws.com",
        api_id="abcdef1234",
        stage=stage,
        base64_encoded=base64_encoded,
    )


def function_url(
    method: str,
    path: str,
    *,
    body: Any = None,
    headers: Mapping[str, str] | None = None,
    query: Mapping[str, str | Sequence[str]] | None = None,
    cookies: Sequence[str] | None = None,
    base64_encoded: bool = False,
) -> dict[str, Any]:
    """A Lambda function URL event (payload 2.0 shape, ``$default`` route)."""
    url_id = "k4kzevbbtb3etkh7gzgfu7pw6a0vgckq"
    event = _v2(
        method,
        path,
        body=body,
        headers=headers,
        query=query,
        cookies=cookies,
        path_parameters=None,
        route_key="$default",
        domain=f"{url_id}.lambda-url.{REGION}.on.aws",
        api_id=url_id,
        stage="$default",
        base64_encoded=base64_encoded,
    )
    return event


def alb(
    method: str,
    path: str,
    *,
    body: Any = None,
    headers: Mapping[str, str] | None = None,
    query: Mapping[str, str | Sequence[str]] | None = None,
    multi_value: bool = False,
    base64_encoded: bool = False,
) -> dict[str, Any]:
    """An Application Load Balancer target event (``multi_value`` as the target group sets it).

    ``path`` is given as the client sent it (percent-encoded), as ALB passes it; the
    decoded ``query`` is percent-encoded, as ALB passes the query undecoded.
    """
    merged = _default_headers(body) | {name.lower(): value for name, value in (headers or {}).items()}
    merged["host"] = "orders-alb-1234567890.us-east-1.elb.amazonaws.com"
    # An ALB passes query names and values as the client sent them: percent-encoded.
    encoded_query = (
        {
            quote_plus(k): ([quote_plus(v)] if isinstance(v, str) else [quote_plus(x) for x in v])
            for k, v in query.items()
        }
        if query
        else None
    )
    single_query, multi_query = _queries(encoded_query)
    text, encoded = _http_body(body, base64_encoded)
    event: dict[str, Any] = {
        "requestContext": {
            "elb": {
                "targetGroupArn": (
                    f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/orders/6d0ecf831eec9f09"
                )
            }
        },
        "httpMethod": method.upper(),
        "path": path,
        "body": text or "",
        "isBase64Encoded": encoded,
    }
    if multi_value:
        event["multiValueHeaders"] = {name: [value] for name, value in merged.items()}
        event["multiValueQueryStringParameters"] = multi_query or {}
    else:
        event["headers"] = merged
        event["queryStringParameters"] = single_query or {}
    return event


def sqs(
    bodies: Sequence[Any], *, queue: str = "orders", fifo: bool = False, group_id: str = "group-1"
) -> dict[str, Any]:
    """An SQS event with one record per body (objects are sent as JSON text)."""
    name = f"{queue}.fifo" if fifo and not queue.endswith(".fifo") else queue
    records = []
    for index, body in enumerate(bodies):
        text = _text(body) or ""
        sent = _now_ms()
        attributes = {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": str(sent),
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "ApproximateFirstReceiveTimestamp": str(sent + 5),
        }
        if fifo:
            attributes |= {
                "SequenceNumber": str(18849496460467696128 + index),
                "MessageGroupId": group_id,
                "MessageDeduplicationId": hashlib.sha256(text.encode()).hexdigest(),
            }
        records.append(
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": base64.b64encode(uuid.uuid4().bytes * 4).decode("ascii"),
                "body": text,
                "attributes": attributes,
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(text.encode(), usedforsecurity=False).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}",
                "awsRegion": REGION,
            }
        )
    return {"Records": records}


def kinesis(data: Sequence[Any], *, stream: str = "orders", partition_key: str = "key-1") -> dict[str, Any]:
    """A Kinesis Data Streams event; each item (bytes, text or an object as JSON) base64-encoded."""
    records = []
    base_sequence = 49590338271490256608559692538361571095921575989136588898
    for index, item in enumerate(data):
        raw = bytes(item) if isinstance(item, (bytes, bytearray)) else (_text(item) or "").encode("utf-8")
        sequence = str(base_sequence + index)
        records.append(
            {
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": partition_key,
                    "sequenceNumber": sequence,
                    "data": base64.b64encode(raw).decode("ascii"),
                    "approximateArrivalTimestamp": time.time(),
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": f"shardId-000000000006:{sequence}",
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": f"arn:aws:iam::{ACCOUNT}:role/lambda-role",
                "awsRegion": REGION,
                "eventSourceARN": f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{stream}",
            }
        )
    return {"Records": records}


def _typed(value: Any) -> dict[str, Any]:
    """A plain value in DynamoDB's typed JSON, as Streams deliver it (B as base64)."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, (int, float)) or type(value).__name__ == "Decimal":
        return {"N": str(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, (bytes, bytearray)):
        return {"B": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, dict):
        return {"M": {key: _typed(item) for key, item in value.items()}}
    if isinstance(value, (set, frozenset)):
        items = sorted(value)
        if all(isinstance(item, str) for item in items):
            return {"SS": items}
        if all(isinstance(item, (bytes, bytearray)) for item in items):
            return {"BS": [base64.b64encode(bytes(item)).decode("ascii") for item in items]}
        return {"NS": [str(item) for item in items]}
    if isinstance(value, (list, tuple)):
        return {"L": [_typed(item) for item in value]}
    raise TypeError(f"Cannot express {type(value).__name__} in DynamoDB's typed JSON")


def dynamodb_streams(
    new_images: Sequence[Mapping[str, Any] | None],
    *,
    table: str = "orders",
    key: str = "pk",
    event_name: str = "INSERT",
    old_images: Sequence[Mapping[str, Any] | None] | None = None,
) -> dict[str, Any]:
    """A DynamoDB Streams event; images are plain values, typed here as Streams send them."""
    records = []
    olds = list(old_images) if old_images is not None else [None] * len(new_images)
    for index, (new, old) in enumerate(zip(new_images, olds, strict=True)):
        change: dict[str, Any] = {
            "ApproximateCreationDateTime": int(time.time()),
            "Keys": {key: _typed((new or old or {}).get(key, f"item-{index}"))},
            "SequenceNumber": str(111 + index).rjust(21, "0"),
            "SizeBytes": 26,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        }
        if new is not None:
            change["NewImage"] = {name: _typed(value) for name, value in new.items()}
        if old is not None:
            change["OldImage"] = {name: _typed(value) for name, value in old.items()}
        records.append(
            {
                "eventID": uuid.uuid4().hex,
                "eventName": event_name,
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": REGION,
                "dynamodb": change,
                "eventSourceARN": (
                    f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}/stream/2026-11-26T00:00:00.000"
                ),
            }
        )
    return {"Records": records}


def sns(messages: Sequence[Any], *, topic: str = "orders", subject: str | None = None) -> dict[str, Any]:
    """An SNS event with one record per message (objects are sent as JSON text)."""
    topic_arn = f"arn:aws:sns:{REGION}:{ACCOUNT}:{topic}"
    records = []
    for message in messages:
        subscription = f"{topic_arn}:{uuid.uuid4()}"
        records.append(
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": subscription,
                "Sns": {
                    "Type": "Notification",
                    "MessageId": str(uuid.uuid4()),
                    "TopicArn": topic_arn,
                    "Subject": subject,
                    "Message": _text(message) or "",
                    "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                    "SignatureVersion": "1",
                    "Signature": base64.b64encode(uuid.uuid4().bytes * 8).decode("ascii"),
                    "SigningCertUrl": (
                        f"https://sns.{REGION}.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem"
                    ),
                    "UnsubscribeUrl": (
                        f"https://sns.{REGION}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={subscription}"
                    ),
                    "MessageAttributes": {},
                },
            }
        )
    return {"Records": records}


def eventbridge(
    detail: Any, *, detail_type: str = "OrderPlaced", source: str = "com.example.orders"
) -> dict[str, Any]:
    """An EventBridge event carrying ``detail``."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": ACCOUNT,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": REGION,
        "resources": [],
        "detail": detail,
    }


def s3(
    keys: Sequence[str], *, bucket: str = "uploads", event_name: str = "ObjectCreated:Put", size: int = 1024
) -> dict[str, Any]:
    """An S3 event notification with one record per object key (keys URL-encoded, as S3 sends them)."""
    records = []
    for key in keys:
        records.append(
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": REGION,
                "eventTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                "eventName": event_name,
                "userIdentity": {"principalId": "AWS:AIDAINPONIXQXHT3IKHL2"},
                "requestParameters": {"sourceIPAddress": "203.0.113.10"},
                "responseElements": {
                    "x-amz-request-id": uuid.uuid4().hex[:16].upper(),
                    "x-amz-id-2": base64.b64encode(uuid.uuid4().bytes * 3).decode("ascii"),
                },
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "uploads-notification",
                    "bucket": {
                        "name": bucket,
                        "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                        "arn": f"arn:aws:s3:::{bucket}",
                    },
                    "object": {
                        "key": quote_plus(key, safe="/"),
                        "size": size,
                        "eTag": hashlib.md5(key.encode(), usedforsecurity=False).hexdigest(),
                        "sequencer": "0055AED6DCD90281E5",
                    },
                },
            }
        )
    return {"Records": records}
