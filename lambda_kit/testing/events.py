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
    "amazon_mq",
    "api_gateway_v1",
    "api_gateway_v2",
    "authorizer_request",
    "authorizer_token",
    "cloudwatch_logs",
    "cognito",
    "custom_resource",
    "dynamodb_streams",
    "eventbridge",
    "firehose",
    "function_url",
    "http_api_authorizer",
    "http_api_v1",
    "kafka",
    "kinesis",
    "s3",
    "s3_batch",
    "s3_eventbridge",
    "sns",
    "sqs",
    "sqs_from_s3",
    "sqs_from_sns",
    "tumbling_window",
    "vpc_lattice",
    "websocket",
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


# -- API Gateway Lambda authorizers, CloudWatch Logs, Firehose, Cognito, Kafka -----------------


def _method_arn(api_id: str, stage: str, method: str, path: str) -> str:
    return f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}/{stage}/{method.upper()}/{path.lstrip('/')}"


def authorizer_token(
    token: str, *, method: str = "GET", path: str = "/orders", api_id: str = "abcdef1234", stage: str = "prod"
) -> dict[str, Any]:
    """A REST API TOKEN authorizer event (what API Gateway sends for the token source header)."""
    return {
        "type": "TOKEN",
        "authorizationToken": token,
        "methodArn": _method_arn(api_id, stage, method, path),
    }


def authorizer_request(
    method: str,
    path: str,
    *,
    headers: Mapping[str, str] | None = None,
    query: Mapping[str, str] | None = None,
    path_parameters: Mapping[str, str] | None = None,
    stage_variables: Mapping[str, str] | None = None,
    resource: str | None = None,
    api_id: str = "abcdef1234",
    stage: str = "prod",
    source_ip: str = "203.0.113.10",
) -> dict[str, Any]:
    """A REST API REQUEST authorizer event."""
    given = dict(headers or {})
    single_query = dict(query or {})
    return {
        "type": "REQUEST",
        "methodArn": _method_arn(api_id, stage, method, path),
        "resource": resource or path,
        "path": path,
        "httpMethod": method.upper(),
        "headers": given,
        "multiValueHeaders": {name: [value] for name, value in given.items()},
        "queryStringParameters": single_query,
        "multiValueQueryStringParameters": {name: [value] for name, value in single_query.items()},
        "pathParameters": dict(path_parameters or {}),
        "stageVariables": dict(stage_variables or {}),
        "requestContext": {
            "path": f"/{stage}{path}",
            "accountId": ACCOUNT,
            "resourceId": "a1b2c3",
            "stage": stage,
            "requestId": str(uuid.uuid4()),
            "identity": {"apiKey": None, "sourceIp": source_ip},
            "resourcePath": resource or path,
            "httpMethod": method.upper(),
            "apiId": api_id,
        },
    }


def http_api_authorizer(
    method: str,
    path: str,
    *,
    identity_source: Sequence[str] = (),
    headers: Mapping[str, str] | None = None,
    query: Mapping[str, str] | None = None,
    route_key: str | None = None,
    version: str = "2.0",
    api_id: str = "abcdef1234",
    stage: str = "$default",
    source_ip: str = "203.0.113.10",
) -> dict[str, Any]:
    """An HTTP API Lambda authorizer event, payload ``version`` 2.0 or 1.0.

    ``identity_source`` holds the values of the authorizer's identity sources (the
    ``Authorization`` header's value, say), as API Gateway passes them.
    """
    lower = {name.lower(): value for name, value in (headers or {}).items()}
    single_query = dict(query or {})
    arn = _method_arn(api_id, stage, method, path)
    if version == "1.0":
        event = authorizer_request(
            method, path, headers=lower, query=single_query, api_id=api_id, stage=stage, source_ip=source_ip
        )
        joined = ",".join(identity_source)
        return {"version": "1.0", **event, "identitySource": joined, "authorizationToken": joined}
    if version != "2.0":
        raise ValueError("HTTP API authorizer payload version is '1.0' or '2.0'.")
    now = _now_ms()
    return {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": arn,
        "identitySource": list(identity_source),
        "routeKey": route_key or f"{method.upper()} {path}",
        "rawPath": path,
        "rawQueryString": urlencode(single_query),
        "cookies": [],
        "headers": lower,
        "queryStringParameters": single_query,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": api_id,
            "domainName": f"{api_id}.execute-api.{REGION}.amazonaws.com",
            "domainPrefix": api_id,
            "http": {
                "method": method.upper(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": "lambda-kit-tests/1.0",
            },
            "requestId": base64.b64encode(uuid.uuid4().bytes[:10]).decode("ascii"),
            "routeKey": route_key or f"{method.upper()} {path}",
            "stage": stage,
            "time": _http_time(now),
            "timeEpoch": now,
        },
        "pathParameters": {},
        "stageVariables": {},
    }


def cloudwatch_logs(
    messages: Sequence[str],
    *,
    log_group: str = "/aws/lambda/orders",
    log_stream: str = "2026/12/03/[$LATEST]0123456789abcdef0123456789abcdef",
    control: bool = False,
) -> dict[str, Any]:
    """A CloudWatch Logs subscription event: the log events gzipped and base64-encoded.

    ``control=True`` makes the ``CONTROL_MESSAGE`` CloudWatch Logs sends to check that
    the destination is reachable (it carries one message and no real log events).
    """
    import gzip

    now = _now_ms()
    document = {
        "messageType": "CONTROL_MESSAGE" if control else "DATA_MESSAGE",
        "owner": "CloudwatchLogs" if control else ACCOUNT,
        "logGroup": "" if control else log_group,
        "logStream": "" if control else log_stream,
        "subscriptionFilters": [] if control else ["lambda-kit-tests"],
        "logEvents": [
            {
                "id": str(36000000000000000000000000000000000000000000000000000000 + index),
                "timestamp": now + index,
                "message": message,
            }
            for index, message in enumerate(
                ["CWL CONTROL MESSAGE: Checking health of destination Lambda."] if control else messages
            )
        ],
    }
    data = gzip.compress(json.dumps(document).encode("utf-8"))
    return {"awslogs": {"data": base64.b64encode(data).decode("ascii")}}


def firehose(
    data: Sequence[Any], *, stream: str = "orders", source_stream: str | None = None, msk: bool = False
) -> dict[str, Any]:
    """A Firehose data-transformation event; each item (bytes, text or an object as JSON) base64-encoded.

    ``source_stream`` adds the Kinesis source's metadata; ``msk=True`` writes the records
    as Firehose does for an Amazon MSK source (``kafkaRecordValue`` instead of ``data``).
    """
    now = _now_ms()
    records = []
    for index, item in enumerate(data):
        raw = bytes(item) if isinstance(item, (bytes, bytearray)) else (_text(item) or "").encode("utf-8")
        record: dict[str, Any] = {
            "recordId": f"{49546986683135544286507457936321625675700192471156785154 + index}",
            "approximateArrivalTimestamp": now,
            ("kafkaRecordValue" if msk else "data"): base64.b64encode(raw).decode("ascii"),
        }
        if source_stream is not None:
            record["kinesisRecordMetadata"] = {
                "shardId": "shardId-000000000000",
                "partitionKey": f"key-{index}",
                "approximateArrivalTimestamp": now,
                "sequenceNumber": str(49546986683135544286507457936321625675700192471156785154 + index),
                "subsequenceNumber": "",
            }
        records.append(record)
    event: dict[str, Any] = {
        "invocationId": str(uuid.uuid4()),
        "deliveryStreamArn": f"arn:aws:firehose:{REGION}:{ACCOUNT}:deliverystream/{stream}",
        "region": REGION,
        "records": records,
    }
    if source_stream is not None:
        event["sourceKinesisStreamArn"] = f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{source_stream}"
    return event


def cognito(
    trigger_source: str,
    *,
    user_attributes: Mapping[str, str] | None = None,
    request: Mapping[str, Any] | None = None,
    response: Mapping[str, Any] | None = None,
    user_name: str = "jane",
    user_pool_id: str = f"{REGION}_EXAMPLE1",
    client_id: str = "1example23456789",
) -> dict[str, Any]:
    """A Cognito user pool trigger event for ``trigger_source`` (``PreSignUp_SignUp``, ...).

    ``request`` adds trigger-specific request fields (``validationData``, ``session``, ...)
    and ``response`` the fields Cognito sends empty for the trigger to fill in.
    """
    attributes = {"sub": str(uuid.uuid4()), "email": f"{user_name}@example.com", "email_verified": "false"}
    attributes |= dict(user_attributes or {})
    return {
        "version": "1",
        "region": REGION,
        "userPoolId": user_pool_id,
        "userName": user_name,
        "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": client_id},
        "triggerSource": trigger_source,
        "request": {"userAttributes": attributes, **dict(request or {})},
        "response": dict(response or {}),
    }


def kafka(
    values: Sequence[Any],
    *,
    topic: str = "orders",
    partition: int = 0,
    first_offset: int = 0,
    keys: Sequence[bytes | str | None] | None = None,
    headers: Sequence[Mapping[str, bytes | str]] | None = None,
    self_managed: bool = False,
) -> dict[str, Any]:
    """A Kafka event (Amazon MSK, or self-managed) with one partition's records.

    Values and keys are bytes, text or (values) objects sent as JSON; ``None`` is a
    null (a tombstone value, or no key). Headers become Kafka's byte arrays. Merge the
    ``records`` of two events to build a batch of several partitions.
    """

    def encoded(item: Any) -> str | None:
        if item is None:
            return None
        raw = bytes(item) if isinstance(item, (bytes, bytearray)) else (_text(item) or "").encode("utf-8")
        return base64.b64encode(raw).decode("ascii")

    now = _now_ms()
    given_keys = list(keys) if keys is not None else [f"key-{index}" for index in range(len(values))]
    given_headers = list(headers) if headers is not None else [{} for _ in values]
    records = []
    for index, (value, key, header) in enumerate(zip(values, given_keys, given_headers, strict=True)):
        records.append(
            {
                "topic": topic,
                "partition": partition,
                "offset": first_offset + index,
                "timestamp": now + index,
                "timestampType": "CREATE_TIME",
                "key": encoded(key),
                "value": encoded(value),
                "headers": [
                    {name: list(item.encode("utf-8") if isinstance(item, str) else bytes(item))}
                    for name, item in header.items()
                ],
            }
        )
    servers = ",".join(f"b-{n}.orders.abc123.c2.kafka.{REGION}.amazonaws.com:9098" for n in (1, 2))
    event: dict[str, Any] = {
        "eventSource": "SelfManagedKafka" if self_managed else "aws:kafka",
        "bootstrapServers": servers,
        "records": {f"{topic}-{partition}": records},
    }
    if not self_managed:
        event["eventSourceArn"] = f"arn:aws:kafka:{REGION}:{ACCOUNT}:cluster/orders/{uuid.uuid4()}-2"
    return event


# -- WebSocket, custom resources, S3 Batch Operations, Amazon MQ, VPC Lattice, wrapped shapes ---


_WEBSOCKET_TYPES = {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}


def websocket(
    route_key: str = "$default",
    body: Any = None,
    *,
    connection_id: str = "L0SM9cOFvHcCIhw=",
    api_id: str = "abcdef1234",
    stage: str = "prod",
    headers: Mapping[str, str] | None = None,
    query: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway WebSocket event for ``route_key`` (``$connect`` carries headers and query)."""
    now = _now_ms()
    domain = f"{api_id}.execute-api.{REGION}.amazonaws.com"
    event_type = _WEBSOCKET_TYPES.get(route_key, "MESSAGE")
    context: dict[str, Any] = {
        "routeKey": route_key,
        "eventType": event_type,
        "extendedRequestId": uuid.uuid4().hex[:16],
        "requestTime": _http_time(now),
        "messageDirection": "IN",
        "stage": stage,
        "connectedAt": now - 1000,
        "requestTimeEpoch": now,
        "identity": {"userAgent": "Mozilla/5.0", "sourceIp": "203.0.113.10"},
        "requestId": uuid.uuid4().hex[:16],
        "domainName": domain,
        "connectionId": connection_id,
        "apiId": api_id,
    }
    event: dict[str, Any] = {"requestContext": context, "isBase64Encoded": False}
    if event_type == "MESSAGE":
        context["messageId"] = uuid.uuid4().hex[:16]
        event["body"] = _text(body)
    elif event_type == "CONNECT":
        sent = {"Host": domain, "Sec-WebSocket-Version": "13", **dict(headers or {})}
        event["headers"] = sent
        event["multiValueHeaders"] = {name: [value] for name, value in sent.items()}
        if query:
            event["queryStringParameters"] = dict(query)
            event["multiValueQueryStringParameters"] = {name: [value] for name, value in query.items()}
    else:
        context["disconnectStatusCode"] = 1001
        context["disconnectReason"] = ""
        event["headers"] = {"Host": domain}
    return event


def custom_resource(
    request_type: str = "Create",
    properties: Mapping[str, Any] | None = None,
    *,
    response_url: str = "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/response",
    physical_id: str | None = None,
    old_properties: Mapping[str, Any] | None = None,
    logical_id: str = "MyResource",
    resource_type: str = "Custom::Resource",
    stack: str = "orders",
) -> dict[str, Any]:
    """A CloudFormation custom resource request; its answer goes to ``response_url``."""
    stack_id = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{stack}/{uuid.uuid4()}"
    function = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{stack}-provider"
    event: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": function,
        "ResponseURL": response_url,
        "StackId": stack_id,
        "RequestId": str(uuid.uuid4()),
        "LogicalResourceId": logical_id,
        "ResourceType": resource_type,
        "ResourceProperties": {"ServiceToken": function, **dict(properties or {})},
    }
    if request_type != "Create":
        event["PhysicalResourceId"] = physical_id or f"{logical_id}-1a2b3c4d"
    if request_type == "Update":
        event["OldResourceProperties"] = {"ServiceToken": function, **dict(old_properties or {})}
    return event


def s3_batch(
    keys: Sequence[str],
    *,
    bucket: str = "uploads",
    schema: str = "2.0",
    user_arguments: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """An S3 Batch Operations invocation (schema ``"1.0"`` or ``"2.0"``), keys URL-encoded as S3 sends."""
    tasks = []
    for key in keys:
        task: dict[str, Any] = {
            "taskId": base64.b64encode(uuid.uuid4().bytes).decode("ascii").rstrip("="),
            "s3Key": quote_plus(key, safe="/"),
            "s3VersionId": None,
        }
        if schema == "1.0":
            task["s3BucketArn"] = f"arn:aws:s3:::{bucket}"
        else:
            task["s3Bucket"] = bucket
        tasks.append(task)
    job: dict[str, Any] = {"id": str(uuid.uuid4())}
    if schema != "1.0":
        job["userArguments"] = dict(user_arguments or {})
    return {
        "invocationSchemaVersion": schema,
        "invocationId": base64.b64encode(uuid.uuid4().bytes * 2).decode("ascii"),
        "job": job,
        "tasks": tasks,
    }


def amazon_mq(bodies: Sequence[Any], *, broker: str = "activemq", queue: str = "orders") -> dict[str, Any]:
    """An Amazon MQ event (``broker`` ``"activemq"`` or ``"rabbitmq"``); bodies as bytes, text or JSON."""
    now = _now_ms()
    arn = f"arn:aws:mq:{REGION}:{ACCOUNT}:broker:orders:b-{uuid.uuid4()}"

    def data(body: Any) -> str:
        raw = bytes(body) if isinstance(body, (bytes, bytearray)) else (_text(body) or "").encode("utf-8")
        return base64.b64encode(raw).decode("ascii")

    if broker == "rabbitmq":
        messages = [
            {
                "basicProperties": {
                    "contentType": "application/json",
                    "contentEncoding": None,
                    "headers": {"source": {"bytes": list(b"orders-service")}},
                    "deliveryMode": 2,
                    "priority": 0,
                    "correlationId": None,
                    "replyTo": None,
                    "expiration": None,
                    "messageId": str(uuid.uuid4()),
                    "timestamp": None,
                    "type": None,
                    "userId": None,
                    "appId": None,
                    "clusterId": None,
                    "bodySize": len(base64.b64decode(data(body))),
                },
                "redelivered": False,
                "data": data(body),
            }
            for body in bodies
        ]
        return {
            "eventSource": "aws:rmq",
            "eventSourceArn": arn,
            "rmqMessagesByQueue": {f"{queue}::/": messages},
        }
    host = f"b-{uuid.uuid4()}-1.mq.{REGION}.amazonaws.com"
    return {
        "eventSource": "aws:mq",
        "eventSourceArn": arn,
        "messages": [
            {
                "messageID": f"ID:{host}-37557-1234520418293-4:1:1:1:{index + 1}",
                "messageType": "jms/text-message",
                "timestamp": now,
                "deliveryMode": 1,
                "correlationID": "",
                "replyTo": "null",
                "destination": {"physicalName": queue},
                "redelivered": False,
                "type": "",
                "expiration": 0,
                "priority": 0,
                "data": data(body),
                "brokerInTime": now,
                "brokerOutTime": now + 1,
                "properties": {"index": str(index)},
            }
            for index, body in enumerate(bodies)
        ],
    }


def vpc_lattice(
    method: str,
    path: str,
    *,
    body: Any = None,
    headers: Mapping[str, str] | None = None,
    query: Mapping[str, str] | None = None,
    version: int = 2,
) -> dict[str, Any]:
    """A VPC Lattice request to a Lambda target group, event structure ``version`` 1 or 2."""
    text, base64_encoded = _http_body(body, False)
    sent = {"host": "orders-0123456789abcdef.7d67968.vpc-lattice-svcs.us-east-1.on.aws", "accept": "*/*"}
    sent |= {name.lower(): value for name, value in (headers or {}).items()}
    if body is not None and "content-type" not in sent:
        sent["content-type"] = "application/json" if not isinstance(body, (str, bytes)) else "text/plain"
    if version == 1:
        return {
            "raw_path": path,
            "method": method.upper(),
            "headers": sent,
            "query_string_parameters": dict(query or {}),
            "body": text or "",
            "is_base64_encoded": base64_encoded,
        }
    return {
        "version": "2.0",
        "path": path,
        "method": method.upper(),
        "headers": {name: [value] for name, value in sent.items()},
        "queryStringParameters": {name: [value] for name, value in (query or {}).items()},
        "body": text or "",
        "isBase64Encoded": base64_encoded,
        "requestContext": {
            "serviceNetworkArn": f"arn:aws:vpc-lattice:{REGION}:{ACCOUNT}:servicenetwork/sn-0bf3f2882e9cc80",
            "serviceArn": f"arn:aws:vpc-lattice:{REGION}:{ACCOUNT}:service/svc-0a40eebed65f8d69c",
            "targetGroupArn": f"arn:aws:vpc-lattice:{REGION}:{ACCOUNT}:targetgroup/tg-6d0ecf831eec9f09",
            "identity": {
                "sourceVpcArn": f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/vpc-0b8276c84697e7339",
                "type": "AWS_IAM",
                "principal": f"arn:aws:sts::{ACCOUNT}:assumed-role/orders-client/session",
                "sessionName": "session",
            },
            "region": REGION,
            "timeEpoch": str(_now_ms() * 1000),
        },
    }


def sqs_from_sns(messages: Sequence[Any], *, topic: str = "orders", queue: str = "orders") -> dict[str, Any]:
    """An SQS event whose bodies are SNS notifications (a subscription without raw message delivery)."""
    notifications = []
    for record in sns(messages, topic=topic)["Records"]:
        note = record["Sns"]
        notifications.append(
            {
                "Type": "Notification",
                "MessageId": note["MessageId"],
                "TopicArn": note["TopicArn"],
                "Message": note["Message"],
                "Timestamp": note["Timestamp"],
                "SignatureVersion": "1",
                "Signature": note["Signature"],
                "SigningCertURL": note["SigningCertUrl"],
                "UnsubscribeURL": note["UnsubscribeUrl"],
            }
        )
    return sqs([json.dumps(note) for note in notifications], queue=queue)


def sqs_from_s3(keys: Sequence[str], *, bucket: str = "uploads", queue: str = "uploads") -> dict[str, Any]:
    """An SQS event whose body is the S3 notification of ``keys`` (one message, one record per key)."""
    return sqs([json.dumps(s3(keys, bucket=bucket))], queue=queue)


def s3_eventbridge(
    key: str, *, bucket: str = "uploads", detail_type: str = "Object Created", size: int = 1024
) -> dict[str, Any]:
    """An S3 event delivered by EventBridge (the key as it is: EventBridge does not encode it)."""
    event = eventbridge(
        {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {
                "key": key,
                "size": size,
                "etag": hashlib.md5(key.encode(), usedforsecurity=False).hexdigest(),
                "sequencer": "617f08299329d189",
            },
            "request-id": uuid.uuid4().hex[:16].upper(),
            "requester": ACCOUNT,
            "source-ip-address": "203.0.113.10",
            "reason": "PutObject",
        },
        detail_type=detail_type,
        source="aws.s3",
    )
    event["resources"] = [f"arn:aws:s3:::{bucket}"]
    return event


def tumbling_window(
    event: Mapping[str, Any],
    *,
    state: Mapping[str, Any] | None = None,
    final: bool = False,
    start: str = "2026-11-26T10:00:00Z",
    end: str = "2026-11-26T10:05:00Z",
) -> dict[str, Any]:
    """A :func:`kinesis` or :func:`dynamodb_streams` event delivered in a tumbling window."""
    records = list(event.get("Records") or [])
    arn = records[0].get("eventSourceARN") if records else f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/orders"
    return {
        "Records": records,
        "window": {"start": start, "end": end},
        "state": dict(state or {}),
        "shardId": "shardId-000000000000",
        "eventSourceARN": arn,
        "isFinalInvokeForWindow": final,
        "isWindowTerminatedEarly": False,
    }
