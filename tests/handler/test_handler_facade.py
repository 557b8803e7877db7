"""lambda_kit.handler as a façade: its public names are pinned, and the adapters load on first use."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import lambda_kit.handler as handler

ROOT = Path(__file__).resolve().parents[2]


def test_all_is_pinned() -> None:
    assert handler.__all__ == [
        "CORS",
        "Connection",
        "CustomResourceRequest",
        "DynamoDBRecord",
        "Header",
        "KafkaRecord",
        "MQMessage",
        "Policy",
        "Query",
        "Request",
        "Resource",
        "Response",
        "TemporaryFailureError",
        "Transformed",
        "UnauthorizedError",
        "Window",
        "authorizer",
        "cloudwatch_logs",
        "cognito",
        "compose",
        "custom_resource",
        "dynamodb_streams",
        "eventbridge",
        "firehose",
        "http",
        "kafka",
        "kinesis",
        "mq",
        "request_id_logging",
        "s3",
        "s3_batch",
        "sns",
        "sqs",
        "timeout_guard",
        "tumbling_window",
        "websocket",
    ]


def test_every_public_name_resolves_and_is_listed() -> None:
    listed = dir(handler)
    for name in handler.__all__:
        assert getattr(handler, name) is not None, name
        assert name in listed, name


def test_lazy_names_are_the_defining_modules_objects() -> None:
    from lambda_kit.handler import _binding, _http, _middleware

    assert handler.CORS is _http.CORS
    assert handler.Response is _http.Response
    assert handler.Header is _binding.Header
    assert handler.Query is _binding.Query
    assert handler.Request is _binding.Request
    assert handler.compose is _middleware.compose


def test_unknown_attribute_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match=r"'lambda_kit\.handler' has no attribute 'no_such_name'"):
        handler.no_such_name  # type: ignore[attr-defined]  # noqa: B018
    with pytest.raises(ImportError, match="does_not_exist"):
        from lambda_kit.handler import does_not_exist  # type: ignore[attr-defined]  # noqa: F401


def _modules_after(code: str) -> set[str]:
    env_code = f"import sys\n{code}\nprint('\\n'.join(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", env_code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    return {name for name in done.stdout.split() if name.startswith("lambda_kit.handler")}


def test_each_name_loads_only_what_it_needs() -> None:
    assert _modules_after("import lambda_kit.handler") == {
        "lambda_kit.handler",
        "lambda_kit.handler._middleware",
    }
    assert _modules_after("from lambda_kit.handler import sqs; sqs(lambda body: None)") == {
        "lambda_kit.handler",
        "lambda_kit.handler._middleware",
        "lambda_kit.handler._batch",
        "lambda_kit.handler._coerce",
        "lambda_kit.handler._core",
    }
    assert "lambda_kit.handler._http" not in _modules_after("from lambda_kit.handler import Request")
    assert "lambda_kit.handler._http" in _modules_after("from lambda_kit.handler import Response")


def test_http_returns_the_apps_bound_handle() -> None:
    from lambda_kit.handler._http import _HTTPApp

    built = handler.http(lambda: None)
    app = built.__self__  # type: ignore[attr-defined]
    assert isinstance(app, _HTTPApp)
    assert built.__func__ is _HTTPApp.handle  # type: ignore[attr-defined]
    assert _HTTPApp.__call__ is _HTTPApp.handle
