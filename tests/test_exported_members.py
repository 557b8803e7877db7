"""Each public module's ``__all__``, pinned in one place (as httpx does).

A name added to or dropped from a public module is an API change: this file makes it
show in review. Modules pinned elsewhere (lambda_kit and lambda_kit_dev in
test_imports.py, aws, handler, metrics and secrets beside their own tests) are not
repeated here.
"""

from __future__ import annotations

import importlib

import pytest

EXPORTED = {
    "lambda_kit.exceptions": [
        "BatchError",
        "ConfigurationError",
        "DimensionSetExceededError",
        "EventShapeError",
        "HTTPConnectionError",
        "HTTPError",
        "HTTPStatusError",
        "HTTPTimeoutError",
        "HandlerError",
        "InputValidationError",
        "InvalidDimensionError",
        "InvalidMetricError",
        "InvalidMetricNameError",
        "InvalidMetricValueError",
        "InvalidNamespaceError",
        "InvalidPropertyError",
        "InvalidStorageResolutionError",
        "InvalidTimestampError",
        "InvalidURLError",
        "InvalidUnitError",
        "LambdaKitError",
        "LifecycleHookError",
        "MetricsError",
        "NotAcceptableError",
        "ProtobufDecodeError",
        "ProtobufError",
        "ResponseTooLargeError",
        "SecretError",
        "TemporaryFailureError",
        "UnauthorizedError",
        "UnsupportedMediaTypeError",
    ],
    "lambda_kit.http": [
        "IDEMPOTENT_METHODS",
        "NO_JSON",
        "RETRY_STATUSES",
        "Response",
        "Session",
        "parse_retry_after",
        "redact_url",
    ],
    "lambda_kit.lifecycle": [
        "InvocationToken",
        "current_request_id",
        "end_init",
        "end_invocation",
        "is_cold_start",
        "on_after_restore",
        "on_before_snapshot",
        "pause_gc_for_init",
        "remaining_time",
        "restore_generation",
        "start_invocation",
        "start_invocation_for",
        "track_invocations",
    ],
    "lambda_kit.protobuf": [
        "JSON",
        "MEDIA_TYPES",
        "PROTOBUF",
        "PROTOBUF_ALT",
        "ProtobufCodec",
        "decode_request",
        "encode_response",
        "error_response",
        "negotiate",
    ],
    "lambda_kit.testing": [
        "CapturedMetrics",
        "FakeContext",
        "MetricRecord",
        "capture_metrics",
        "invoke",
        "metrics_capture",
        "reset_lifecycle",
        "simulate_restore",
        "simulate_snapshot",
    ],
    "lambda_kit.testing.events": [
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
    ],
}


@pytest.mark.parametrize("name", sorted(EXPORTED))
def test_all_is_pinned(name: str) -> None:
    assert importlib.import_module(name).__all__ == EXPORTED[name]


@pytest.mark.parametrize("name", sorted(EXPORTED))
def test_every_exported_name_resolves_and_is_listed(name: str) -> None:
    module = importlib.import_module(name)
    listed = dir(module)
    for public in module.__all__:
        assert getattr(module, public) is not None, public
        assert public in listed, public


def test_unknown_name_of_a_lazy_module_names_the_module() -> None:
    import lambda_kit.testing

    with pytest.raises(AttributeError, match=r"'lambda_kit\.testing' has no attribute 'nope'"):
        lambda_kit.testing.nope  # type: ignore[attr-defined]  # noqa: B018
