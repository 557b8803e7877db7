"""lambda_kit.metrics: log_metrics flushes each invocation, counts ColdStart, never breaks the handler."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import sys
from typing import Any

import pytest

from lambda_kit import _emf, lifecycle
from lambda_kit.exceptions import DimensionSetExceededError
from lambda_kit.metrics import Metrics
from lambda_kit.testing import FakeContext, reset_lifecycle, simulate_restore
from lambda_kit.testing._metrics import CapturedMetrics


def test_log_metrics_flushes_after_each_invocation(captured: CapturedMetrics) -> None:
    metrics = Metrics(namespace="Shop", service="orders")

    @metrics.log_metrics
    def handler(event: dict[str, Any], context: Any) -> str:
        metrics.put_metric("Orders", event["n"], "Count")
        return "ok"

    assert handler({"n": 1}, FakeContext()) == "ok"
    assert handler({"n": 2}, FakeContext()) == "ok"
    assert handler.__name__ == "handler"
    assert captured.values("Orders") == [1, 2]
    assert len(captured.lines) == 2
    assert "ColdStart" not in captured.names


def test_log_metrics_flushes_when_the_handler_raises(captured: CapturedMetrics) -> None:
    metrics = Metrics(namespace="Shop")

    @metrics.log_metrics()
    def handler(event: Any, context: Any) -> None:
        metrics.put_metric("Attempts", 1, "Count")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        handler({}, FakeContext())
    assert captured.values("Attempts") == [1]


def test_cold_start_metric_is_recorded_once_even_when_the_first_invocation_fails(
    captured: CapturedMetrics,
) -> None:
    metrics = Metrics(namespace="Shop", service="orders")
    calls = iter([RuntimeError("cold failure"), None, None])

    @metrics.log_metrics(capture_cold_start_metric=True)
    def handler(event: Any, context: Any) -> None:
        metrics.put_metric("Invocations", 1, "Count")
        error = next(calls)
        if error is not None:
            raise error

    with pytest.raises(RuntimeError):
        handler({}, FakeContext(function_name="checkout", request_id="r1"))
    handler({}, FakeContext(function_name="checkout", request_id="r2"))
    handler({}, FakeContext(function_name="checkout", request_id="r3"))

    cold = [record for record in captured.records if record.name == "ColdStart"]
    assert len(cold) == 1
    assert cold[0].dimensions == {"function_name": "checkout", "service": "orders"}
    assert (cold[0].unit, cold[0].values, cold[0].namespace) == ("Count", [1], "Shop")
    assert captured.values("Invocations") == [1, 1, 1]
    assert captured.documents[0]["ColdStart"] == 1  # written before the handler ran


def test_cold_start_again_after_a_snapstart_restore(captured: CapturedMetrics) -> None:
    metrics = Metrics(namespace="Shop")

    @metrics.log_metrics(capture_cold_start_metric=True)
    def handler(event: Any, context: Any) -> None:
        return None

    handler({}, FakeContext(request_id="r1"))
    handler({}, FakeContext(request_id="r2"))
    simulate_restore()
    handler({}, FakeContext(request_id="r3"))

    assert captured.values("ColdStart") == [1, 1]


def test_cold_start_function_name_sources(monkeypatch: pytest.MonkeyPatch, captured: CapturedMetrics) -> None:
    def first_invocation(metrics: Metrics, context: Any) -> dict[str, str]:
        reset_lifecycle()
        captured.clear()
        metrics.log_metrics(capture_cold_start_metric=True)(lambda event, context: None)({}, context)
        return captured.records[0].dimensions

    assert first_invocation(Metrics(namespace="Shop"), FakeContext(function_name="ctx")) == {
        "function_name": "ctx"
    }
    assert first_invocation(Metrics(namespace="Shop", function_name="explicit"), FakeContext()) == {
        "function_name": "explicit"
    }
    assert first_invocation(Metrics(namespace="Shop"), None) == {}
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "from-env")
    assert first_invocation(Metrics(namespace="Shop"), None) == {"function_name": "from-env"}
    monkeypatch.setenv("POWERTOOLS_METRICS_FUNCTION_NAME", "pt-name")
    assert first_invocation(Metrics(namespace="Shop"), FakeContext()) == {"function_name": "pt-name"}
    monkeypatch.setenv("LAMBDA_KIT_METRICS_FUNCTION_NAME", "lk-name")
    assert first_invocation(Metrics(namespace="Shop", service="s"), FakeContext()) == {
        "function_name": "lk-name",
        "service": "s",
    }


def test_cold_start_is_written_once_for_a_doubly_decorated_handler(captured: CapturedMetrics) -> None:
    metrics = Metrics(namespace="Shop")

    @metrics.log_metrics(capture_cold_start_metric=True)
    @metrics.log_metrics(capture_cold_start_metric=True)
    def handler(event: Any, context: Any) -> None:
        return None

    handler({}, FakeContext(request_id="r1"))
    assert captured.values("ColdStart") == [1]


def test_a_failing_cold_start_write_is_logged_and_the_handler_still_runs(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    metrics = Metrics(namespace="Shop")
    ran: list[str] = []

    class Broken(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    @metrics.log_metrics(capture_cold_start_metric=True)
    def handler(event: Any, context: Any) -> str:
        ran.append("ran")
        return "ok"

    monkeypatch.setattr(sys, "stdout", Broken())
    with caplog.at_level("WARNING", logger="lambda_kit.metrics"):
        assert handler({}, FakeContext(request_id="r1")) == "ok"
    assert ran == ["ran"]
    [warning] = caplog.records
    assert "the ColdStart metric could not be written" in warning.getMessage()
    assert "BrokenPipeError" in warning.getMessage()
    assert lifecycle.current_request_id() is None


def test_cold_start_with_thirty_default_dimensions_is_refused_at_decoration(
    captured: CapturedMetrics,
) -> None:
    thirty = {f"d{index}": "x" for index in range(30)}
    metrics = Metrics(namespace="Shop", dimensions=thirty)

    def handler(event: Any, context: Any) -> str:
        return "ok"

    with pytest.raises(DimensionSetExceededError, match=r"capture_cold_start_metric.*30 default") as info:
        metrics.log_metrics(capture_cold_start_metric=True)
    assert info.value.context["size"] == 31
    with pytest.raises(DimensionSetExceededError):
        metrics.log_metrics(handler, capture_cold_start_metric=True)
    assert metrics.log_metrics(handler)({}, FakeContext()) == "ok"  # without ColdStart: fine

    reset_lifecycle()
    named = Metrics(namespace="Shop", dimensions={**dict(list(thirty.items())[:29]), "function_name": "f"})
    assert named.log_metrics(handler, capture_cold_start_metric=True)({}, FakeContext()) == "ok"
    reset_lifecycle()
    fits = Metrics(namespace="Shop", dimensions=dict(list(thirty.items())[:29]))
    assert (
        fits.log_metrics(handler, capture_cold_start_metric=True)({}, FakeContext(function_name="f")) == "ok"
    )
    cold = [record for record in captured.records if record.name == "ColdStart"]
    assert [len(record.dimensions) for record in cold] == [30, 30]


def test_an_invalid_cold_start_blob_is_logged_and_the_handler_still_runs(
    captured: CapturedMetrics, caplog: pytest.LogCaptureFixture
) -> None:
    metrics = Metrics(namespace="Shop")
    ran: list[str | None] = []

    @metrics.log_metrics(capture_cold_start_metric=True)
    def handler(event: Any, context: Any) -> str:
        ran.append(lifecycle.current_request_id())
        metrics.put_metric("Orders", 1, "Count")
        return "ok"

    with caplog.at_level("WARNING", logger="lambda_kit.metrics"):
        result = handler({}, FakeContext(function_name="fünction", request_id="r1"))  # not ASCII

    assert (result, ran) == ("ok", ["r1"])
    assert captured.names == {"Orders"}
    [warning] = caplog.records
    assert warning.name == "lambda_kit.metrics"
    assert "ColdStart" in warning.getMessage()
    assert "InvalidDimensionError" in warning.getMessage()
    assert lifecycle.current_request_id() is None


def test_a_final_flush_error_never_replaces_the_result_or_the_exception(
    monkeypatch: pytest.MonkeyPatch, captured: CapturedMetrics, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(_emf, "MAX_LINE", 600)
    metrics = Metrics(namespace="Shop")

    @metrics.log_metrics
    def handler(event: Any, context: Any) -> dict[str, int]:
        metrics.set_property("note", "x" * 300)
        for index in range(50):
            metrics.put_metric("Values", index * 1.123456789)  # too big for one 600-byte line
        if event.get("fail"):
            raise RuntimeError("handler failure")
        return {"statusCode": 200}

    @metrics.log_metrics
    async def async_handler(event: Any, context: Any) -> dict[str, int]:
        return handler.__wrapped__(event, context)  # type: ignore[attr-defined, no-any-return]

    with caplog.at_level("WARNING", logger="lambda_kit.metrics"):
        assert handler({}, FakeContext(request_id="r1")) == {"statusCode": 200}
        with pytest.raises(RuntimeError, match="handler failure"):
            handler({"fail": True}, FakeContext(request_id="r2"))
        assert asyncio.run(async_handler({}, FakeContext(request_id="r3"))) == {"statusCode": 200}

    assert captured.lines == []
    assert len(caplog.records) == 3
    assert all("does not fit" in record.getMessage() for record in caplog.records)
    assert lifecycle.current_request_id() is None


class _RaisingStream(io.StringIO):
    """A replaced sys.stdout whose write (or flush) raises ``error``."""

    def __init__(self, error: BaseException, *, on_flush: bool = False) -> None:
        super().__init__()
        self.error = error
        self.on_flush = on_flush

    def write(self, text: str) -> int:
        if not self.on_flush:
            raise self.error
        return super().write(text)

    def flush(self) -> None:
        if self.on_flush:
            raise self.error


def _closed_stdout() -> io.TextIOWrapper:
    stream = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - closed at once
    stream.close()
    return stream


def _broken_pipe_stdout() -> io.TextIOWrapper:
    read, write = os.pipe()
    os.close(read)  # nobody reads: writing raises BrokenPipeError (Python ignores SIGPIPE)
    return open(write, "w", encoding="utf-8")


_UNWRITABLE_STDOUTS = {
    "closed": _closed_stdout,
    "broken pipe": _broken_pipe_stdout,
    "OSError": lambda: _RaisingStream(OSError(5, "Input/output error")),
    "encoding": lambda: _RaisingStream(UnicodeEncodeError("ascii", "\u00e9", 0, 1, "ordinal not in range")),
    "replaced, raising": lambda: _RaisingStream(RuntimeError("this stdout replacement is broken")),
    "flush fails": lambda: _RaisingStream(OSError(28, "No space left on device"), on_flush=True),
    "None": lambda: None,
}


@pytest.mark.parametrize("stdout", list(_UNWRITABLE_STDOUTS))
def test_an_unwritable_stdout_never_replaces_the_result_or_the_exception(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, stdout: str
) -> None:
    metrics = Metrics(namespace="Shop")

    @metrics.log_metrics
    def handler(event: Any, context: Any) -> dict[str, int]:
        metrics.put_metric("Orders", 1, "Count")
        if event.get("fail"):
            raise RuntimeError("handler failure")
        return {"statusCode": 200}

    @metrics.log_metrics
    async def async_handler(event: Any, context: Any) -> dict[str, int]:
        return handler.__wrapped__(event, context)  # type: ignore[attr-defined, no-any-return]

    stream = _UNWRITABLE_STDOUTS[stdout]()
    monkeypatch.setattr(sys, "stdout", stream)
    try:
        with caplog.at_level("WARNING", logger="lambda_kit.metrics"):
            assert handler({}, FakeContext(request_id="r1")) == {"statusCode": 200}
            with pytest.raises(RuntimeError, match="handler failure"):
                handler({"fail": True}, FakeContext(request_id="r2"))
            assert asyncio.run(async_handler({}, FakeContext(request_id="r3"))) == {"statusCode": 200}
    finally:
        monkeypatch.undo()
        if stream is not None and not stream.closed:
            with contextlib.suppress(OSError):  # the broken pipe's buffer cannot be flushed
                stream.close()
    assert len(caplog.records) == 3
    assert all("this invocation's metrics could not be written" in r.getMessage() for r in caplog.records)
    assert lifecycle.current_request_id() is None


def test_flush_called_directly_raises_what_stdout_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    metrics = Metrics(namespace="Shop")
    monkeypatch.setattr(sys, "stdout", _closed_stdout())
    metrics.put_metric("Orders", 1, "Count")
    with pytest.raises(ValueError, match="closed file"):
        metrics.flush()
    monkeypatch.setattr(sys, "stdout", None)
    metrics.put_metric("Orders", 1, "Count")
    with pytest.raises(ValueError, match=r"sys\.stdout is None"):
        metrics.flush()


def test_a_warning_that_cannot_be_logged_still_leaves_the_outcome_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import logging

    class Unloggable(logging.Handler):  # stdout and stderr both gone, say
        def emit(self, record: logging.LogRecord) -> None:
            raise ValueError("I/O operation on closed file")

        def handleError(self, record: logging.LogRecord) -> None:
            raise ValueError("I/O operation on closed file")

    logger = logging.getLogger("lambda_kit.metrics")
    handler_ = Unloggable()
    logger.addHandler(handler_)
    metrics = Metrics(namespace="Shop")

    @metrics.log_metrics(capture_cold_start_metric=True)
    def handler(event: Any, context: Any) -> str:
        metrics.put_metric("Orders", 1, "Count")
        return "ok"

    monkeypatch.setattr(sys, "stdout", _closed_stdout())
    try:
        assert handler({}, FakeContext(request_id="r1")) == "ok"
    finally:
        logger.removeHandler(handler_)
    assert lifecycle.current_request_id() is None


def test_keyboard_interrupt_from_stdout_still_propagates(monkeypatch: pytest.MonkeyPatch) -> None:
    metrics = Metrics(namespace="Shop")

    @metrics.log_metrics
    def handler(event: Any, context: Any) -> str:
        metrics.put_metric("Orders", 1, "Count")
        return "ok"

    monkeypatch.setattr(sys, "stdout", _RaisingStream(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        handler({}, FakeContext(request_id="r1"))
    assert lifecycle.current_request_id() is None


def test_log_metrics_marks_the_invocation(captured: CapturedMetrics) -> None:
    metrics = Metrics(namespace="Shop")
    seen: list[Any] = []

    @metrics.log_metrics
    def handler(event: Any, context: Any) -> None:
        seen.append((lifecycle.current_request_id(), lifecycle.remaining_time()))

    handler({}, context=FakeContext(request_id="req-9", timeout_s=5))
    assert seen[0][0] == "req-9"
    assert 0 < seen[0][1] <= 5
    assert lifecycle.current_request_id() is None


def test_log_metrics_on_async_handlers(captured: CapturedMetrics) -> None:
    metrics = Metrics(namespace="Shop")

    @metrics.log_metrics(capture_cold_start_metric=True)
    async def handler(event: Any, context: Any) -> str:
        metrics.put_metric("Async", 1, "Count")
        await asyncio.sleep(0)
        if event.get("fail"):
            raise ValueError("async failure")
        return "done"

    assert asyncio.run(handler({}, FakeContext(request_id="a1"))) == "done"
    with pytest.raises(ValueError, match="async failure"):
        asyncio.run(handler({"fail": True}, FakeContext(request_id="a2")))
    assert captured.values("Async") == [1, 1]
    assert captured.values("ColdStart") == [1]
