"""What Metrics caches between invocations never changes a byte of what it writes.

A logger created at INIT remembers, across invocations, the part of a line between its
timestamp and its values (``_emf._middles``) and what the first dimension set of a blob
leaves behind (``Metrics._dimension_shapes``). These tests run the same invocations
through one long-lived logger and through a fresh logger with empty caches each time,
and compare the lines byte for byte; then the edges: a cached set meeting a metric of
the same name, a unit changed between invocations, properties, the bounds of the caches,
and Lambda's own stdout wrapper.
"""

from __future__ import annotations

import io
import json
import re
import sys
from typing import Any

import pytest
from awslambdaric.bootstrap import Unbuffered
from hypothesis import given, settings
from hypothesis import strategies as st

from lambda_kit import _emf
from lambda_kit import metrics as metrics_module
from lambda_kit.exceptions import InvalidDimensionError, MetricsError
from lambda_kit.metrics import Metrics
from lambda_kit.testing._metrics import capture_metrics

TIMESTAMP = re.compile(r'"Timestamp":\d+')

# A small vocabulary, so that invocations repeat shapes and the caches are hit.
NAMES = st.sampled_from(["Latency", "Orders", "Size", "operation", "Errors"])
UNITS = st.sampled_from(["Milliseconds", "Count", "Bytes", "None"])
VALUES = st.one_of(st.integers(-(2**53), 2**53), st.floats(allow_nan=False, allow_infinity=False))
DIMENSIONS = st.dictionaries(
    st.sampled_from(["operation", "tier", "region"]), st.sampled_from(["a", "b", "checkout"]), max_size=2
)


@st.composite
def invocations(draw: st.DrawFn) -> list[list[tuple[Any, ...]]]:
    """A few invocations, each a list of calls on the logger."""
    runs: list[list[tuple[Any, ...]]] = []
    for _ in range(draw(st.integers(1, 6))):
        calls: list[tuple[Any, ...]] = []
        for _ in range(draw(st.integers(0, 8))):
            kind = draw(st.sampled_from(["metric", "metric", "metric", "put", "set", "reset", "property"]))
            if kind == "metric":
                calls.append(
                    ("metric", draw(NAMES), draw(VALUES), draw(UNITS), draw(st.sampled_from([60, 1])))
                )
            elif kind == "put":
                calls.append(("put", draw(DIMENSIONS)))
            elif kind == "set":
                calls.append(("set", draw(st.lists(DIMENSIONS, max_size=2)), draw(st.booleans())))
            elif kind == "reset":
                calls.append(("reset", draw(st.booleans())))
            else:
                calls.append(("property", draw(st.sampled_from(["request_id", "Size"])), draw(VALUES)))
        runs.append(calls)
    return runs


def run_invocation(metrics: Metrics, calls: list[tuple[Any, ...]]) -> tuple[list[str], list[str]]:
    """The lines of one invocation (timestamps blanked) and the errors its calls raised, by type."""
    errors: list[str] = []
    with capture_metrics() as captured:
        for call in calls:
            try:
                if call[0] == "metric":
                    metrics.put_metric(call[1], call[2], call[3], call[4])
                elif call[0] == "put":
                    metrics.put_dimensions(call[1])
                elif call[0] == "set":
                    metrics.set_dimensions(*call[1], use_default=call[2])
                elif call[0] == "reset":
                    metrics.reset_dimensions(call[1])
                else:
                    metrics.set_property(call[1], call[2])
            except MetricsError as error:
                errors.append(type(error).__name__)
        metrics.flush()
    return [TIMESTAMP.sub('"Timestamp":0', line) for line in captured.lines], errors


@settings(max_examples=120, deadline=None)
@given(runs=invocations())
def test_a_long_lived_logger_writes_the_bytes_of_a_fresh_one(runs: list[list[tuple[Any, ...]]]) -> None:
    kept = Metrics(namespace="Shop", service="orders")
    for calls in runs:
        found = run_invocation(kept, calls)
        _emf._middles.clear()  # the reference starts from nothing cached at all
        expected = run_invocation(Metrics(namespace="Shop", service="orders"), calls)
        assert found == expected


def test_a_cached_dimension_set_still_refuses_a_name_a_metric_took() -> None:
    metrics = Metrics(namespace="Shop")
    with capture_metrics():
        metrics.put_dimensions({"operation": "checkout"}).put_metric("Orders", 1).flush()
        metrics.put_metric("operation", 1)
        with pytest.raises(InvalidDimensionError, match="already used by a metric"):
            metrics.put_dimensions({"operation": "checkout"})
        metrics.flush()
        metrics.put_dimensions({"operation": "checkout"}).put_metric("Orders", 2).flush()
    with capture_metrics() as captured:
        metrics.put_dimensions({"operation": "checkout"}).put_metric("Orders", 3).flush()
    assert captured.documents[0]["operation"] == "checkout"
    assert captured.documents[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["operation"]]


def test_dimension_values_changed_between_invocations_are_written() -> None:
    metrics = Metrics(namespace="Shop", service="orders")
    with capture_metrics() as captured:
        for operation in ("checkout", "refund", "checkout"):
            metrics.put_dimensions({"operation": operation}).put_metric("Orders", 1, "Count").flush()
        metrics.put_metric("Orders", 1, "Count").flush()  # the defaults alone
    assert [document.get("operation") for document in captured.documents] == [
        "checkout",
        "refund",
        "checkout",
        None,
    ]
    assert [document["service"] for document in captured.documents] == ["orders"] * 4


def test_a_unit_changed_between_invocations_is_written() -> None:
    metrics = Metrics(namespace="Shop")
    with capture_metrics() as captured:
        metrics.put_metric("Latency", 1.5, "Milliseconds").flush()
        metrics.put_metric("Latency", 0.0015, "Seconds").flush()
        metrics.put_metric("Latency", 2.5, "Milliseconds", 1).flush()
    definitions = [document["_aws"]["CloudWatchMetrics"][0]["Metrics"] for document in captured.documents]
    assert definitions == [
        [{"Name": "Latency", "Unit": "Milliseconds"}],
        [{"Name": "Latency", "Unit": "Seconds"}],
        [{"Name": "Latency", "Unit": "Milliseconds", "StorageResolution": 1}],
    ]


def test_properties_are_not_cached_with_the_line() -> None:
    metrics = Metrics(namespace="Shop")
    with capture_metrics() as captured:
        metrics.put_metric("Orders", 1).flush()
        cached = len(_emf._middles)
        for index in range(50):
            metrics.set_property("request_id", f"req-{index}").put_metric("Orders", 1).flush()
    assert len(_emf._middles) == cached  # one shape of line, whatever the property says
    assert [document.get("request_id") for document in captured.documents[1:]] == [
        f"req-{index}" for index in range(50)
    ]


def test_the_caches_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_emf, "_MIDDLES_LIMIT", 8)
    monkeypatch.setattr(metrics_module, "_SHAPES_LIMIT", 8)
    metrics = Metrics(namespace="Shop")
    with capture_metrics() as captured:
        for index in range(30):
            metrics.put_dimensions({"customer": f"c{index}"}).put_metric(f"M{index}", index).flush()
    assert len(_emf._middles) <= 8
    assert len(metrics._dimension_shapes) <= 8
    assert [
        (document["customer"], document[f"M{index}"]) for index, document in enumerate(captured.documents)
    ] == [(f"c{index}", index) for index in range(30)]


def test_a_child_logger_shares_the_dimension_cache_and_writes_the_same() -> None:
    metrics = Metrics(namespace="Shop", service="orders")
    child = metrics.new()
    with capture_metrics() as captured:
        metrics.put_dimensions({"operation": "checkout"}).put_metric("Orders", 1).flush()
        child.put_dimensions({"operation": "checkout"}).put_metric("Orders", 1).flush()
    assert child._dimension_shapes is metrics._dimension_shapes
    assert TIMESTAMP.sub("", captured.lines[0]) == TIMESTAMP.sub("", captured.lines[1])


class CountingStream(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.flushes = 0

    def flush(self) -> None:
        self.flushes += 1
        super().flush()


def test_lambdas_unbuffered_stdout_is_flushed_once_per_line(monkeypatch: pytest.MonkeyPatch) -> None:
    # On Lambda the runtime client's Unbuffered wrapper flushes every write itself.
    inner = CountingStream()
    monkeypatch.setattr(sys, "stdout", Unbuffered(inner))
    metrics = Metrics(namespace="Shop")
    metrics.put_metric("Orders", 1, "Count").flush()
    for index in range(150):
        metrics.put_metric(f"M{index}", index)
    metrics.flush()  # two lines
    lines = inner.getvalue().splitlines()
    assert [len(json.loads(line)["_aws"]["CloudWatchMetrics"][0]["Metrics"]) for line in lines] == [
        1,
        100,
        50,
    ]
    assert inner.flushes == 3  # the wrapper's one per write; none added on top


def test_any_other_stdout_is_still_flushed_after_its_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = CountingStream()
    monkeypatch.setattr(sys, "stdout", stream)
    metrics = Metrics(namespace="Shop")
    metrics.put_metric("Orders", 1, "Count").flush()
    metrics.put_metric("Orders", 2, "Count").flush()
    assert stream.flushes == 2
    assert [json.loads(line)["Orders"] for line in stream.getvalue().splitlines()] == [1, 2]
