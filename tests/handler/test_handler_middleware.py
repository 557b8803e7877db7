"""lambda_kit.handler._middleware: compose, request_id_logging, timeout_guard."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from lambda_kit import lifecycle
from lambda_kit.exceptions import ConfigurationError, LambdaKitError
from lambda_kit.handler import compose, http, request_id_logging, sqs, timeout_guard
from lambda_kit.testing import FakeContext, events


def test_middleware_order_and_request_id_logging(caplog: pytest.LogCaptureFixture) -> None:
    order: list[str] = []

    def step(name: str) -> Any:
        def middleware(handler: Any) -> Any:
            def wrapper(event: Any, context: Any) -> Any:
                order.append(name)
                return handler(event, context)

            return wrapper

        return middleware

    def process(body: str) -> None:
        logging.getLogger("app").warning("processing")

    handler = sqs(process, middleware=[step("outer"), request_id_logging, step("inner")])
    with caplog.at_level(logging.WARNING, logger="app"):
        handler(events.sqs(["x"]), FakeContext(request_id="req-log"))
    assert order == ["outer", "inner"]
    assert [getattr(r, "aws_request_id", None) for r in caplog.records] == ["req-log"]
    assert compose(process) is process


def test_timeout_guard_warns_near_the_deadline(caplog: pytest.LogCaptureFixture) -> None:
    import threading

    done = threading.Event()

    def slow(event: Any, context: Any) -> str:
        done.wait(0.5)
        return "finished"

    guarded = timeout_guard(0.95)(slow)
    with caplog.at_level(logging.WARNING, logger="lambda_kit.handler"):
        assert guarded({}, FakeContext(timeout_s=1.0, request_id="req-slow")) == "finished"
        assert timeout_guard(0.1)(slow)({}, None) == "finished"  # no context: no timer
    assert "req-slow" in caplog.text
    assert "timeout" in caplog.text
    with pytest.raises(LambdaKitError):
        timeout_guard(-1)


def _tag(name: str, seen: list[str]) -> Any:
    def middleware(handler: Any) -> Any:
        def wrapper(event: Any, context: Any) -> Any:
            seen.append(f"{name}>")
            try:
                return handler(event, context)
            finally:
                seen.append(f"<{name}")

        return wrapper

    return middleware


def test_compose_wraps_the_first_listed_outermost() -> None:
    seen: list[str] = []

    def handler(event: Any, context: Any) -> str:
        seen.append("handler")
        return "done"

    wrapped = compose(handler, [_tag("a", seen), _tag("b", seen)])
    assert wrapped({}, None) == "done"
    assert seen == ["a>", "b>", "handler", "<b", "<a"]
    assert compose(handler, ()) is handler


def test_http_applies_its_middleware() -> None:
    seen: list[str] = []

    def health() -> dict[str, bool]:
        return {"ok": True}

    handler = http({"GET /health": health}, middleware=[_tag("outer", seen)])
    response = handler(events.api_gateway_v2("GET", "/health"), FakeContext())
    assert response["statusCode"] == 200
    assert seen == ["outer>", "<outer"]


def test_request_id_logging_keeps_the_handler_and_marks_the_invocation() -> None:
    ids: list[str | None] = []

    def handler(event: Any, context: Any) -> Any:
        ids.append(lifecycle.current_request_id())
        return event

    wrapped = request_id_logging(handler)
    assert wrapped.__name__ == "handler"
    assert wrapped({"x": 1}, FakeContext(request_id="req-1")) == {"x": 1}
    assert ids == ["req-1"]
    assert lifecycle.current_request_id() is None  # ended with the call
    assert request_id_logging(handler)({}, FakeContext(request_id="req-2")) == {}  # installed once


@pytest.mark.parametrize("margin", [-0.1, float("nan")])
def test_timeout_guard_refuses_a_negative_or_nan_margin(margin: float) -> None:
    with pytest.raises(ConfigurationError, match=r"^Invalid margin="):
        timeout_guard(margin)


def test_timeout_guard_passes_the_handlers_exception_through() -> None:
    def failing(event: Any, context: Any) -> Any:
        raise RuntimeError("boom")

    guarded = timeout_guard(0.1)(failing)
    with pytest.raises(RuntimeError, match="boom"):
        guarded({}, FakeContext(timeout_s=5.0))


def test_middleware_from_the_package_and_the_module_are_the_same() -> None:
    from lambda_kit.handler import _middleware

    assert compose is _middleware.compose
    assert request_id_logging is _middleware.request_id_logging
    assert timeout_guard is _middleware.timeout_guard


@pytest.mark.parametrize("margin", [-0.1, float("nan"), float("inf"), True, "1"], ids=repr)
def test_timeout_guard_names_its_argument(margin: Any) -> None:
    with pytest.raises(ConfigurationError, match=r"^Invalid margin=") as caught:
        timeout_guard(margin=margin)
    assert caught.value.context["argument"] == "margin"
    assert caught.value.context["value"] is margin


def test_timeout_guard_takes_margin_by_keyword_and_zero() -> None:
    assert timeout_guard(margin=0)(lambda event, context: event)({"x": 1}, FakeContext(timeout_s=5.0)) == {
        "x": 1
    }
