"""lambda_kit.metrics: every input is checked when added, with a precise error."""

from __future__ import annotations

import datetime
import decimal
import enum
import sys
import time
from typing import Any

import pytest

from lambda_kit.exceptions import (
    InvalidMetricError,
    InvalidMetricNameError,
    InvalidMetricValueError,
    InvalidNamespaceError,
    InvalidPropertyError,
    InvalidStorageResolutionError,
    InvalidTimestampError,
    InvalidUnitError,
    MetricsError,
)
from lambda_kit.metrics import STANDARD_UNITS, Metrics, _nested_too_deeply
from lambda_kit.testing._metrics import CapturedMetrics


def only_document(captured: CapturedMetrics) -> dict[str, Any]:
    assert len(captured.lines) == 1, captured.lines
    return captured.documents[0]


def directive(document: dict[str, Any]) -> dict[str, Any]:
    directives = document["_aws"]["CloudWatchMetrics"]
    assert len(directives) == 1
    return directives[0]  # type: ignore[no-any-return]


# -- metric validation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "non-whitespace"),
        ("   ", "non-whitespace"),
        ("n" * 256, "256 characters"),
        ("line\nbreak", "control character"),
        ("_aws", "reserved"),
        (42, "must be a str"),
        (["a"], "must be a str"),
        ({"a": 1}, "must be a str"),
        (b"Orders", "must be a str"),
    ],
)
def test_invalid_metric_names(name: Any, message: str) -> None:
    with pytest.raises(InvalidMetricNameError, match=message) as info:
        Metrics(namespace="Shop").put_metric(name, 1)
    assert isinstance(info.value, InvalidMetricError)
    assert isinstance(info.value, MetricsError)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (float("nan"), "NaN"),
        (float("inf"), "NaN, infinite"),
        (float("-inf"), "NaN, infinite"),
        (2.0**361, "out of range"),
        (-(2**400), "out of range"),
        (10**400, "CloudWatch can store"),
        (decimal.Decimal("NaN"), "NaN"),
        (True, "bool"),
        ("1", "text"),
        (b"1", "text"),
        (None, "not a number"),
        ([1], "not a number"),
    ],
)
def test_invalid_metric_values(value: Any, message: str) -> None:
    metrics = Metrics(namespace="Shop")
    with pytest.raises(InvalidMetricValueError, match=message) as info:
        metrics.put_metric("Latency", value)
    assert info.value.context["metric"] == "Latency"


def test_numbers_are_normalised(captured: CapturedMetrics) -> None:
    class Level(enum.IntEnum):
        HIGH = 3

    metrics = Metrics(namespace="Shop")
    metrics.put_metric("Decimal", decimal.Decimal("1.25"))
    metrics.put_metric("IntEnum", Level.HIGH)
    metrics.put_metric("Big", 2**60)
    metrics.put_metric("Edge", 2.0**360)
    metrics.put_metric("NegativeZero", -0.0)
    metrics.flush()

    line = captured.lines[0]
    document = only_document(captured)
    assert document["Decimal"] == 1.25
    assert '"IntEnum":3' in line
    assert document["Big"] == float(2**60)
    assert document["Edge"] == 2.0**360


@pytest.mark.parametrize("unit", ["ms", "milliseconds", "Count/Minute", "", 5])
def test_invalid_units(unit: Any) -> None:
    with pytest.raises(InvalidUnitError, match="expected one of: Bits, Bits/Second"):
        Metrics(namespace="Shop").put_metric("Latency", 1, unit)


def test_every_standard_unit_and_the_peers_enums_are_accepted(captured: CapturedMetrics) -> None:
    from aws_embedded_metrics.storage_resolution import StorageResolution as EmfResolution
    from aws_embedded_metrics.unit import Unit as EmfUnit
    from aws_lambda_powertools.metrics import MetricResolution, MetricUnit

    assert len(STANDARD_UNITS) == 27
    assert {unit.value for unit in EmfUnit} == STANDARD_UNITS
    metrics = Metrics(namespace="Shop")
    for index, unit in enumerate(sorted(STANDARD_UNITS)):
        metrics.put_metric(f"M{index}", index, unit)
    metrics.put_metric("Emf", 1, EmfUnit.MILLISECONDS, EmfResolution.HIGH)
    metrics.put_metric("Emf", 2, EmfUnit.MILLISECONDS, EmfResolution.HIGH)
    metrics.add_metric("Powertools", MetricUnit.Count, 1, MetricResolution.Standard)  # type: ignore[arg-type]
    metrics.put_metric("NoUnit", 1, None)  # type: ignore[arg-type]
    metrics.flush()

    definitions = {item["Name"]: item for item in directive(only_document(captured))["Metrics"]}
    assert {definitions[f"M{i}"]["Unit"] for i in range(27)} == STANDARD_UNITS
    assert definitions["Emf"] == {"Name": "Emf", "Unit": "Milliseconds", "StorageResolution": 1}
    assert definitions["Powertools"] == {"Name": "Powertools", "Unit": "Count"}
    assert definitions["NoUnit"]["Unit"] == "None"


def test_one_unit_per_metric_per_blob() -> None:
    metrics = Metrics(namespace="Shop")
    metrics.put_metric("Latency", 1, "Milliseconds")
    with pytest.raises(InvalidUnitError, match="already has unit 'Milliseconds'"):
        metrics.put_metric("Latency", 1, "Seconds")
    metrics.put_metric("Latency", 2, "Milliseconds")  # the recorded unit still works


def test_unit_may_change_between_blobs(captured: CapturedMetrics) -> None:
    metrics = Metrics(namespace="Shop")
    metrics.put_metric("Latency", 1, "Milliseconds").flush()
    metrics.put_metric("Latency", 1, "Seconds").flush()

    assert [directive(d)["Metrics"][0]["Unit"] for d in captured.documents] == ["Milliseconds", "Seconds"]


@pytest.mark.parametrize("resolution", [0, 5, 30, 61, "60", 60.0, True, None])
def test_invalid_storage_resolutions(resolution: Any) -> None:
    with pytest.raises(InvalidStorageResolutionError, match=r"expected 60 \(standard\) or 1 \(high\)"):
        Metrics(namespace="Shop").put_metric("Latency", 1, "Milliseconds", resolution)


def test_never_both_resolutions_for_one_metric_in_a_blob() -> None:
    metrics = Metrics(namespace="Shop")
    metrics.put_metric("Latency", 1, "Milliseconds", 1)
    with pytest.raises(InvalidStorageResolutionError, match="already has storage resolution 1"):
        metrics.put_metric("Latency", 1, "Milliseconds", 60)
    with pytest.raises(InvalidStorageResolutionError):
        metrics.put_metric("Latency", 1, "Milliseconds")
    metrics.put_metric("Latency", 2, "Milliseconds", 1)


# -- namespace, properties, timestamps ------------------------------------------------------


@pytest.mark.parametrize("namespace", ["", "a" * 257, "has space", "semi;colon", "AWS/Lambda", "ünï", 7])
def test_invalid_namespaces(namespace: Any) -> None:
    with pytest.raises(InvalidNamespaceError, match="Invalid namespace"):
        Metrics(namespace=namespace)
    with pytest.raises(InvalidNamespaceError):
        Metrics(namespace="Shop").set_namespace(namespace)


@pytest.mark.parametrize("namespace", ["a", "a" * 256, "Company/App-1.x_y#z:w", "aws/lower-is-fine"])
def test_valid_namespaces(namespace: str) -> None:
    assert Metrics(namespace=namespace).namespace == namespace


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("", 1, "non-blank"),
        ("_aws", 1, "non-blank"),
        (3, 1, "non-blank"),
        ("when", datetime.datetime.now(), "not JSON-serializable"),
        ("ratio", float("nan"), "not JSON-serializable"),
        ("nested", {"x": [float("inf")]}, "not JSON-serializable"),
    ],
)
def test_invalid_properties(key: Any, value: Any, message: str) -> None:
    with pytest.raises(InvalidPropertyError, match=message):
        Metrics(namespace="Shop").set_property(key, value)


def test_a_property_nested_too_deeply_is_an_invalid_property() -> None:
    deep: list[Any] = []
    for _ in range(sys.getrecursionlimit() + 100):
        deep = [deep]
    metrics = Metrics(namespace="Shop")
    with pytest.raises(InvalidPropertyError, match="nested too deeply") as info:
        metrics.set_property("tree", deep)
    assert info.value.context["key"] == "tree"
    metrics.set_property("tree", [[[1]]])  # the logger is still usable


def test_nesting_is_counted_against_the_recursion_limit_on_every_python() -> None:
    # From Python 3.12, json.dumps itself writes what is nested past the recursion limit.
    limit = sys.getrecursionlimit()
    deep: Any = "leaf"
    for level in range(limit):
        deep = {"a": deep} if level % 2 else (deep,)
    assert not _nested_too_deeply(deep)
    assert _nested_too_deeply([deep, 1])
    assert not _nested_too_deeply([[1], {"a": [2]}, "x" * limit])


def test_properties_are_bounded_in_size() -> None:
    metrics = Metrics(namespace="Shop")
    metrics.set_property("a", "x" * 200_000)
    with pytest.raises(InvalidPropertyError, match="the limit is 262144"):
        metrics.set_property("b", "x" * 100_000)
    metrics.set_property("a", "small")  # replacing frees the budget
    metrics.set_property("b", "x" * 100_000)


def test_properties_are_encoded_when_set(captured: CapturedMetrics) -> None:
    metrics = Metrics(namespace="Shop")
    payload = {"items": [1, 2]}
    metrics.set_property("payload", payload)
    payload["items"].append(3)
    metrics.put_metric("Orders", 1).flush()

    assert only_document(captured)["payload"] == {"items": [1, 2]}


@pytest.mark.parametrize(
    "offset_ms",
    [-(14 * 24 * 3600 * 1000) - 60_000, 2 * 3600 * 1000 + 60_000],
    ids=["older-than-14-days", "more-than-2-hours-ahead"],
)
def test_timestamps_outside_cloudwatch_window(offset_ms: int) -> None:
    now = time.time() * 1000
    with pytest.raises(InvalidTimestampError, match="14 days ago to 2 hours ahead"):
        Metrics(namespace="Shop").set_timestamp(now + offset_ms)
    moment = datetime.datetime.fromtimestamp((now + offset_ms) / 1000, datetime.timezone.utc)
    with pytest.raises(InvalidTimestampError):
        Metrics(namespace="Shop").set_timestamp(moment)


@pytest.mark.parametrize("timestamp", ["2024-01-01", None, True, float("nan"), datetime.datetime.min])
def test_timestamps_of_the_wrong_kind(timestamp: Any) -> None:
    with pytest.raises(InvalidTimestampError):
        Metrics(namespace="Shop").set_timestamp(timestamp)


def test_nothing_invalid_reaches_stdout(captured: CapturedMetrics) -> None:
    metrics = Metrics(namespace="Shop")
    bad_calls = [
        lambda: metrics.put_metric("Latency", float("nan")),
        lambda: metrics.put_metric("", 1),
        lambda: metrics.put_metric("Latency", 1, "ms"),
        lambda: metrics.put_dimensions({"a": ""}),
        lambda: metrics.set_property("p", float("inf")),
    ]
    for call in bad_calls:
        with pytest.raises(MetricsError):
            call()
    metrics.flush()
    assert captured.lines == []
