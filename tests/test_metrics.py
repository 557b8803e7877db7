"""lambda_kit.metrics: the EMF logger, its limits, its decorator and its test capture."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import decimal
import enum
import io
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lambda_kit import lifecycle
from lambda_kit import metrics as metrics_module
from lambda_kit.exceptions import (
    ConfigurationError,
    DimensionSetExceededError,
    InvalidDimensionError,
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
from lambda_kit.metrics import DEFAULT_NAMESPACE, STANDARD_UNITS, Metrics, StorageResolution, Unit
from lambda_kit.testing import FakeContext, reset_lifecycle, simulate_restore
from lambda_kit.testing._metrics import CapturedMetrics, MetricRecord, capture_metrics

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _fresh_environment() -> Iterator[None]:
    reset_lifecycle()
    yield
    reset_lifecycle()


@pytest.fixture
def captured() -> Iterator[CapturedMetrics]:
    with capture_metrics() as lines:
        yield lines


def only_document(captured: CapturedMetrics) -> dict[str, Any]:
    assert len(captured.lines) == 1, captured.lines
    return captured.documents[0]


def directive(document: dict[str, Any]) -> dict[str, Any]:
    directives = document["_aws"]["CloudWatchMetrics"]
    assert len(directives) == 1
    return directives[0]  # type: ignore[no-any-return]


# -- output format ------------------------------------------------------------------------


def test_flush_writes_one_compact_emf_line(captured: CapturedMetrics) -> None:
    metrics = Metrics(namespace="Shop", service="orders")
    before = int(time.time() * 1000)

    metrics.put_metric("Latency", 12.5, "Milliseconds").put_metric("Orders", 3, Unit.COUNT)
    metrics.flush()

    line = captured.lines[0]
    document = only_document(captured)
    assert line == json.dumps(document, separators=(",", ":"))  # compact, and plain JSON
    assert before <= document["_aws"]["Timestamp"] <= int(time.time() * 1000)
    assert directive(document) == {
        "Namespace": "Shop",
        "Dimensions": [["service"]],
        "Metrics": [{"Name": "Latency", "Unit": "Milliseconds"}, {"Name": "Orders", "Unit": "Count"}],
    }
    assert document["service"] == "orders"
    assert document["Latency"] == 12.5
    assert document["Orders"] == 3


def test_repeated_metric_becomes_a_list_and_high_resolution_is_marked(captured: CapturedMetrics) -> None:
    metrics = Metrics(namespace="Shop")
    metrics.put_metric("Hits", 1, "Count", StorageResolution.HIGH)
    metrics.put_metric("Hits", 2.5, "Count", 1)
    metrics.put_metric("Plain", 7)
    metrics.flush()

    document = only_document(captured)
    assert directive(document)["Metrics"] == [
        {"Name": "Hits", "Unit": "Count", "StorageResolution": 1},
        {"Name": "Plain", "Unit": "None"},
    ]
    assert document["Hits"] == [1, 2.5]
    assert directive(document)["Dimensions"] == [[]]  # no service: one empty dimension set


def test_flush_writes_to_the_current_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    metrics = Metrics(namespace="Shop")
    metrics.put_metric("Orders", 1, "Count")
    metrics.flush()

    out = capsys.readouterr().out
    assert out.endswith("\n")
    assert out.count("\n") == 1
    assert json.loads(out)["Orders"] == 1


def test_one_write_call_per_blob(monkeypatch: pytest.MonkeyPatch) -> None:
    writes: list[str] = []

    class Recorder(io.StringIO):
        def write(self, text: str) -> int:
            writes.append(text)
            return len(text)

    monkeypatch.setattr(sys, "stdout", Recorder())
    metrics = Metrics(namespace="Shop")
    for index in range(150):
        metrics.put_metric(f"M{index}", index)
    metrics.flush()

    assert len(writes) == 2
    assert all(text.endswith("\n") and text.count("\n") == 1 for text in writes)


def test_each_flush_pushes_its_lines_out_of_a_buffered_stdout(monkeypatch: pytest.MonkeyPatch) -> None:
    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)
    stream = open(write_end, "w", encoding="utf-8", buffering=1 << 20)  # noqa: SIM115 - closed below
    monkeypatch.setattr(sys, "stdout", stream)
    try:
        Metrics(namespace="Shop").put_metric("Orders", 1, "Count").flush()
        data = os.read(read_end, 1 << 16)  # nothing would be there if the line sat in the buffer
    finally:
        stream.close()
        os.close(read_end)
    assert json.loads(data)["Orders"] == 1


def test_a_stdout_without_flush_still_receives_the_line(monkeypatch: pytest.MonkeyPatch) -> None:
    class WriteOnly:
        def __init__(self) -> None:
            self.text: list[str] = []

        def write(self, text: str) -> int:
            self.text.append(text)
            return len(text)

    stream = WriteOnly()
    monkeypatch.setattr(sys, "stdout", stream)
    Metrics(namespace="Shop").put_metric("Orders", 1, "Count").flush()
    assert json.loads(stream.text[0])["Orders"] == 1


def test_empty_flush_writes_nothing_and_clears_the_context(captured: CapturedMetrics) -> None:
    metrics = Metrics(namespace="Shop")
    metrics.put_dimensions({"operation": "a"}).set_property("request", "r1")
    metrics.set_timestamp(int(time.time() * 1000) - 60_000)

    metrics.flush()
    metrics.flush()
    assert captured.lines == []

    metrics.put_metric("Orders", 1, "Count").flush()
    document = only_document(captured)
    assert directive(document)["Dimensions"] == [[]]
    assert "request" not in document
    assert "operation" not in document


def test_flush_resets_dimensions_properties_and_timestamp(captured: CapturedMetrics) -> None:
    metrics = Metrics(namespace="Shop", service="orders")
    stamp = int(time.time() * 1000) - 3_600_000
    metrics.put_dimensions({"operation": "a"}).set_property("request", "r1").set_timestamp(stamp)
    metrics.put_metric("Orders", 1, "Count").flush()
    metrics.put_metric("Orders", 2, "Count").flush()

    first, second = captured.documents
    assert first["_aws"]["Timestamp"] == stamp
    assert directive(first)["Dimensions"] == [["service", "operation"]]
    assert first["request"] == "r1"
    assert second["_aws"]["Timestamp"] > stamp
    assert directive(second)["Dimensions"] == [["service"]]
    assert "request" not in second


def test_set_timestamp_accepts_datetimes(captured: CapturedMetrics) -> None:
    moment = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=13)
    Metrics(namespace="Shop").set_timestamp(moment).put_metric("Orders", 1).flush()

    assert only_document(captured)["_aws"]["Timestamp"] == round(moment.timestamp() * 1000)


def test_namespace_is_kept_across_flushes(captured: CapturedMetrics) -> None:
    metrics = Metrics(namespace="Shop")
    metrics.set_namespace("Shop/Checkout").put_metric("Orders", 1).flush()
    metrics.put_metric("Orders", 1).flush()

    assert [directive(document)["Namespace"] for document in captured.documents] == ["Shop/Checkout"] * 2
    assert metrics.namespace == "Shop/Checkout"


def test_strings_that_need_escaping_are_valid_json(captured: CapturedMetrics) -> None:
    metrics = Metrics(namespace="Shop", dimensions={'quote"d': "back\\slash"})
    metrics.put_metric("Latenz für Bestellung", 1.0, "Seconds").flush()

    document = only_document(captured)
    assert document['quote"d'] == "back\\slash"
    assert document["Latenz für Bestellung"] == 1.0
    assert captured.lines[0].isascii()


# -- dimensions -------------------------------------------------------------------------------


def test_put_dimensions_adds_sets_with_the_defaults(captured: CapturedMetrics) -> None:
    metrics = Metrics(namespace="Shop", service="orders")
    metrics.put_dimensions({"operation": "a"})
    metrics.put_dimensions({"region": "eu", "tier": "gold"})
    metrics.put_dimensions({"operation": "b"})  # same names: replaces the first set
    metrics.put_metric("Orders", 1).flush()

    document = only_document(captured)
    assert directive(document)["Dimensions"] == [["service", "region", "tier"], ["service", "operation"]]
    assert (document["operation"], document["region"], document["tier"]) == ("b", "eu", "gold")


def test_set_dimensions_leaves_the_defaults_out_unless_asked(captured: CapturedMetrics) -> None:
    metrics = Metrics(namespace="Shop", service="orders")
    metrics.set_dimensions({"operation": "a"}, {"region": "eu"}).put_metric("Orders", 1).flush()
    metrics.set_dimensions({"operation": "a"}, use_default=True).put_metric("Orders", 1).flush()

    first, second = captured.documents
    assert directive(first)["Dimensions"] == [["operation"], ["region"]]
    assert "service" not in first
    assert directive(second)["Dimensions"] == [["service", "operation"]]


def test_reset_dimensions(captured: CapturedMetrics) -> None:
    metrics = Metrics(namespace="Shop", service="orders")
    metrics.put_dimensions({"operation": "a"}).reset_dimensions().put_metric("Orders", 1).flush()
    metrics.put_dimensions({"operation": "a"}).reset_dimensions(use_default=False)
    metrics.put_metric("Orders", 1).flush()

    first, second = captured.documents
    assert directive(first)["Dimensions"] == [["service"]]
    assert directive(second)["Dimensions"] == [[]]


def test_add_dimension_grows_the_latest_set(captured: CapturedMetrics) -> None:
    metrics = Metrics(namespace="Shop", service="orders")
    metrics.add_dimension("operation", "a").add_dimension("region", "eu")
    metrics.add_metric(name="Orders", unit="Count", value=1).add_metadata("request", "r1").flush()

    document = only_document(captured)
    assert directive(document)["Dimensions"] == [["service", "operation", "region"]]
    assert document["request"] == "r1"


def test_one_dimension_name_cannot_have_two_values_in_one_blob(captured: CapturedMetrics) -> None:
    metrics = Metrics(namespace="Shop")
    metrics.put_dimensions({"op": "checkout"})
    with pytest.raises(InvalidDimensionError, match=r"'op'.*'checkout'.*'refund'.*new\(\)") as info:
        metrics.put_dimensions({"op": "refund", "region": "eu"})
    assert info.value.context["dimension"] == "op"
    with pytest.raises(InvalidDimensionError, match="both values are not allowed in one blob"):
        metrics.set_dimensions({"op": "a"}, {"op": "b", "region": "eu"})
    metrics.put_dimensions({"region": "eu"})
    with pytest.raises(InvalidDimensionError, match="'op'"):
        metrics.add_dimension("op", "refund")  # the latest set {region} would get op=refund
    metrics.put_metric("Orders", 1, "Count").flush()  # the rejected calls changed nothing

    assert [record.dimensions for record in captured.records] == [{"op": "checkout"}, {"region": "eu"}]


def test_a_custom_value_cannot_shadow_a_default_beside_another_set() -> None:
    metrics = Metrics(namespace="Shop", service="orders")
    metrics.put_dimensions({"service": "billing"})  # alone: the set's own value wins
    with pytest.raises(InvalidDimensionError, match="'service'"):
        metrics.put_dimensions({"op": "a"})  # this set would carry service=orders
    metrics.set_dimensions({"service": "billing"}, {"op": "a"})  # defaults left out: no clash


def test_sets_may_share_a_name_with_one_value_and_same_names_replace(captured: CapturedMetrics) -> None:
    metrics = Metrics(namespace="Shop", service="orders")
    metrics.put_dimensions({"op": "checkout"}).put_dimensions({"op": "checkout", "region": "eu"})
    metrics.put_metric("Orders", 1, "Count").flush()
    metrics.put_dimensions({"op": "checkout"}).put_dimensions({"op": "refund"})  # same names: replaced
    metrics.put_metric("Orders", 2, "Count").flush()

    assert [(record.dimensions, record.values) for record in captured.records] == [
        ({"service": "orders", "op": "checkout"}, [1]),
        ({"service": "orders", "op": "checkout", "region": "eu"}, [1]),
        ({"service": "orders", "op": "refund"}, [2]),
    ]


def test_explicit_default_dimensions_replace_service() -> None:
    with capture_metrics() as captured:
        Metrics(
            namespace="Shop", service="orders", dimensions={"ServiceName": "orders", "ServiceType": "Lambda"}
        )
        metrics = Metrics(namespace="Shop", service="orders", dimensions={"env": "prod"})
        metrics.put_metric("Orders", 1).flush()

    document = only_document(captured)
    assert directive(document)["Dimensions"] == [["env"]]
    assert metrics.default_dimensions == {"env": "prod"}
    assert metrics.service == "orders"


def test_thirty_dimensions_fit_and_thirty_one_do_not() -> None:
    metrics = Metrics(namespace="Shop", service="orders")
    metrics.put_dimensions({f"d{i}": "v" for i in range(29)})
    with pytest.raises(DimensionSetExceededError, match="31 dimensions"):
        metrics.put_dimensions({f"d{i}": "v" for i in range(30)})
    metrics.set_dimensions({f"d{i}": "v" for i in range(30)})  # defaults left out: 30 fit
    metrics.add_dimension("d0", "w")  # replaces a value; still 30
    with pytest.raises(DimensionSetExceededError):
        metrics.set_dimensions({f"d{i}": "v" for i in range(30)}, use_default=True)
    with pytest.raises(DimensionSetExceededError):
        Metrics(namespace="Shop", dimensions={f"d{i}": "v" for i in range(31)})


@pytest.mark.parametrize(
    ("dimensions", "message"),
    [
        ({"": "v"}, "non-whitespace"),
        ({"  ": "v"}, "non-whitespace"),
        ({"n" * 251: "v"}, "251 characters"),
        ({":name": "v"}, "starts with ':'"),
        ({"_aws": "v"}, "reserved"),
        ({"név": "v"}, "printable ASCII"),
        ({"tab\tname": "v"}, "printable ASCII"),
        ({"name": ""}, "non-whitespace"),
        ({"name": " "}, "non-whitespace"),
        ({"name": "v" * 1025}, "1025 characters"),
        ({"name": "värde"}, "printable ASCII"),
        ({"name": 200}, "must be a str"),
        ({"name": ["a"]}, "must be a str"),
        ({3: "v"}, "must be a str"),
        ("name=value", "mapping"),
    ],
)
def test_invalid_dimensions_are_rejected(dimensions: Any, message: str) -> None:
    metrics = Metrics(namespace="Shop")
    with pytest.raises(InvalidDimensionError, match=message):
        metrics.put_dimensions(dimensions)
    with pytest.raises(InvalidDimensionError, match=message):
        metrics.set_dimensions(dimensions)


def test_dimension_limits_are_inclusive(captured: CapturedMetrics) -> None:
    metrics = Metrics(namespace="Shop")
    metrics.put_dimensions({"n" * 250: "v" * 1024}).put_metric("Orders", 1).flush()
    assert only_document(captured)["n" * 250] == "v" * 1024


def test_dimension_and_metric_names_must_differ() -> None:
    metrics = Metrics(namespace="Shop", service="orders")
    with pytest.raises(InvalidMetricNameError, match="dimension"):
        metrics.put_metric("service", 1)
    metrics.put_metric("Orders", 1)
    with pytest.raises(InvalidDimensionError, match="already used"):
        metrics.put_dimensions({"Orders": "x"})
    metrics.set_property("request", "r1")
    with pytest.raises(InvalidMetricNameError, match="property"):
        metrics.put_metric("request", 1)
    with pytest.raises(InvalidPropertyError, match="already used"):
        metrics.set_property("Orders", 1)
    with pytest.raises(InvalidPropertyError, match="already used"):
        metrics.set_property("service", 1)
    metrics.set_property("request", "r2")  # replacing a property is fine


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


# -- splitting ----------------------------------------------------------------------------------


def test_large_sets_are_split_and_nothing_is_dropped(captured: CapturedMetrics) -> None:
    metrics = Metrics(namespace="Shop", service="orders")
    for index in range(250):
        metrics.put_metric("Many", index, "Count")
    for index in range(230):
        metrics.put_metric(f"M{index}", index)
    metrics.flush()

    documents = captured.documents
    assert all(len(directive(d)["Metrics"]) <= 100 for d in documents)
    for document in documents:
        names = [item["Name"] for item in directive(document)["Metrics"]]
        assert len(names) == len(set(names))
        for name in names:
            value = document[name]
            assert not isinstance(value, list) or len(value) <= 100
    assert captured.values("Many") == list(range(250))
    for index in range(230):
        assert captured.values(f"M{index}") == [index]


def test_one_metric_with_many_values_is_split(captured: CapturedMetrics) -> None:
    metrics = Metrics(namespace="Shop")
    metrics.put_metric("Single", 0.5)
    for index in range(150):
        metrics.put_metric("Many", index)
    metrics.put_dimensions({"operation": "a"})
    metrics.flush()

    assert [len(d["Many"]) for d in captured.documents] == [100, 50]
    assert captured.values("Many") == list(range(150))
    assert captured.values("Single") == [0.5]
    assert all(d["operation"] == "a" for d in captured.documents)


def test_a_blob_over_the_size_budget_is_split(
    monkeypatch: pytest.MonkeyPatch, captured: CapturedMetrics
) -> None:
    monkeypatch.setattr(metrics_module, "_MAX_EVENT", 2_000)
    metrics = Metrics(namespace="Shop")
    for index in range(40):
        metrics.put_metric(f"Metric-{index:03d}-" + "x" * 20, index)
    metrics.flush()

    assert len(captured.lines) > 1
    assert all(len(line) + 1 <= 2_000 for line in captured.lines)
    assert sorted(value for r in captured.records for value in r.values) == list(range(40))


def test_a_metric_that_cannot_fit_raises_and_writes_nothing(
    monkeypatch: pytest.MonkeyPatch, captured: CapturedMetrics
) -> None:
    monkeypatch.setattr(metrics_module, "_MAX_EVENT", 600)
    metrics = Metrics(namespace="Shop")
    metrics.set_property("note", "x" * 300)
    for index in range(50):
        metrics.put_metric("Values", index * 1.123456789)
    with pytest.raises(MetricsError, match="does not fit"):
        metrics.flush()
    assert captured.lines == []


# -- configuration ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, DEFAULT_NAMESPACE),
        ({"POWERTOOLS_METRICS_NAMESPACE": "Pt"}, "Pt"),
        ({"POWERTOOLS_METRICS_NAMESPACE": "Pt", "AWS_EMF_NAMESPACE": "Emf"}, "Emf"),
        ({"AWS_EMF_NAMESPACE": "Emf", "LAMBDA_KIT_METRICS_NAMESPACE": "Lk"}, "Lk"),
        ({"LAMBDA_KIT_METRICS_NAMESPACE": "  "}, DEFAULT_NAMESPACE),
    ],
)
def test_namespace_resolution(
    monkeypatch: pytest.MonkeyPatch, environ: dict[str, str], expected: str
) -> None:
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert Metrics().namespace == expected
    assert Metrics(namespace="Explicit").namespace == "Explicit"


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, None),
        ({"POWERTOOLS_SERVICE_NAME": "pt"}, "pt"),
        ({"POWERTOOLS_SERVICE_NAME": "pt", "AWS_EMF_SERVICE_NAME": "emf"}, "emf"),
        ({"AWS_EMF_SERVICE_NAME": "emf", "LAMBDA_KIT_SERVICE_NAME": "lk"}, "lk"),
    ],
)
def test_service_resolution(
    monkeypatch: pytest.MonkeyPatch, environ: dict[str, str], expected: str | None
) -> None:
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    metrics = Metrics(namespace="Shop")
    assert metrics.service == expected
    assert metrics.default_dimensions == ({"service": expected} if expected else {})
    assert Metrics(namespace="Shop", service="explicit").service == "explicit"


@pytest.mark.parametrize(
    "variable",
    ["LAMBDA_KIT_METRICS_NAMESPACE", "AWS_EMF_NAMESPACE", "POWERTOOLS_METRICS_NAMESPACE"],
)
def test_invalid_namespace_variable_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "not valid")
    with pytest.raises(ConfigurationError, match=variable) as info:
        Metrics()
    assert info.value.context["variable"] == variable


@pytest.mark.parametrize(
    ("environ", "attribute", "expected"),
    [
        (
            {"LAMBDA_KIT_METRICS_NAMESPACE": "Shop", "AWS_EMF_NAMESPACE": "bad namespace"},
            "namespace",
            "Shop",
        ),
        (
            {"LAMBDA_KIT_METRICS_NAMESPACE": "Shop", "POWERTOOLS_METRICS_NAMESPACE": "AWS/Nope"},
            "namespace",
            "Shop",
        ),
        ({"AWS_EMF_NAMESPACE": "Emf", "POWERTOOLS_METRICS_NAMESPACE": "bad namespace"}, "namespace", "Emf"),
        ({"LAMBDA_KIT_SERVICE_NAME": "orders", "POWERTOOLS_SERVICE_NAME": "café"}, "service", "orders"),
        ({"LAMBDA_KIT_SERVICE_NAME": "orders", "AWS_EMF_SERVICE_NAME": "x" * 2000}, "service", "orders"),
        ({"AWS_EMF_SERVICE_NAME": "emf", "POWERTOOLS_SERVICE_NAME": "café"}, "service", "emf"),
        (
            {"LAMBDA_KIT_METRICS_FUNCTION_NAME": "fn", "POWERTOOLS_METRICS_FUNCTION_NAME": "fünction"},
            "_function_name",
            "fn",
        ),
    ],
)
def test_an_invalid_lower_priority_variable_is_never_read(
    monkeypatch: pytest.MonkeyPatch, environ: dict[str, str], attribute: str, expected: str
) -> None:
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert getattr(Metrics(), attribute) == expected


def test_the_variable_used_is_still_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMBDA_KIT_SERVICE_NAME", "café")
    monkeypatch.setenv("AWS_EMF_SERVICE_NAME", "valid")
    with pytest.raises(ConfigurationError, match="LAMBDA_KIT_SERVICE_NAME") as info:
        Metrics(namespace="Shop")
    assert info.value.context["variable"] == "LAMBDA_KIT_SERVICE_NAME"
    monkeypatch.setenv("LAMBDA_KIT_SERVICE_NAME", "  ")  # blank counts as unset
    monkeypatch.setenv("AWS_EMF_SERVICE_NAME", "sërvice")
    with pytest.raises(ConfigurationError, match="AWS_EMF_SERVICE_NAME"):
        Metrics(namespace="Shop")


def test_invalid_service_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "sërvice")
    with pytest.raises(ConfigurationError, match="POWERTOOLS_SERVICE_NAME"):
        Metrics(namespace="Shop")
    monkeypatch.delenv("POWERTOOLS_SERVICE_NAME")
    with pytest.raises(InvalidDimensionError):
        Metrics(namespace="Shop", service="")
    with pytest.raises(InvalidDimensionError):
        Metrics(namespace="Shop", function_name="fünction")


def test_repr_names_namespace_and_service() -> None:
    assert repr(Metrics(namespace="Shop", service="orders")) == "Metrics(namespace='Shop', service='orders')"


# -- new() and thread safety ------------------------------------------------------------------


def test_new_is_independent_and_flushes_as_a_context_manager(captured: CapturedMetrics) -> None:
    metrics = Metrics(namespace="Shop", service="orders")
    metrics.put_dimensions({"operation": "a"}).put_metric("Orders", 1)
    with metrics.new() as single:
        single.put_dimensions({"tier": "gold"}).put_metric("Refunds", 1, "Count")
    metrics.flush()

    first, second = captured.documents
    assert directive(first)["Dimensions"] == [["service", "tier"]]
    assert "Orders" not in first
    assert "operation" not in first
    assert directive(second)["Dimensions"] == [["service", "operation"]]
    assert "Refunds" not in second


def test_eight_threads_lose_and_duplicate_nothing(captured: CapturedMetrics) -> None:
    metrics = Metrics(namespace="Shop", service="orders")
    per_thread = 400
    barrier = threading.Barrier(9)

    def work(worker: int) -> None:
        barrier.wait()
        for index in range(per_thread):
            metrics.put_metric(f"Worker{worker}", worker * 10_000 + index, "Count")
            metrics.put_metric("Shared", worker * 10_000 + index, "Count")
            if index % 50 == 0:
                metrics.flush()

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    barrier.wait()
    for _ in range(20):
        metrics.flush()
    for thread in threads:
        thread.join()
    metrics.flush()

    expected = sorted(worker * 10_000 + index for worker in range(8) for index in range(per_thread))
    assert sorted(captured.values("Shared")) == expected
    for worker in range(8):
        assert (
            sorted(captured.values(f"Worker{worker}"))
            == expected[worker * per_thread : (worker + 1) * per_thread]
        )
    for line in captured.lines:
        json.loads(line)


CONCURRENT_FLUSHES = """
import sys, threading
from lambda_kit.metrics import Metrics

shared = Metrics(namespace="Shop", service="orders")
names = [f"{index:03d}-" + "n" * 200 for index in range(100)]
barrier = threading.Barrier(8)

def work(worker):
    barrier.wait()
    for round_ in range(ROUNDS):
        # half the threads share one logger, half use new() children: one lock for all
        logger = shared if worker % 2 else shared.new()
        for name in names:
            logger.put_metric(name, worker * 1000 + round_, "Count")
        logger.flush()

threads = [threading.Thread(target=work, args=(worker,)) for worker in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
"""


def test_concurrent_large_flushes_through_a_pipe_never_mix_lines() -> None:
    """Eight threads of a fresh interpreter flush ~45 KB lines into a real pipe; every line is whole."""
    rounds = 50
    env = {
        name: value for name, value in os.environ.items() if not name.startswith(("COV_CORE_", "COVERAGE_"))
    }
    code = CONCURRENT_FLUSHES.replace("ROUNDS", str(rounds))
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, check=False
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 8 * rounds
    documents = [json.loads(line) for line in lines]  # a mixed line fails here
    first = f"{0:03d}-" + "n" * 200
    values = sorted(document[first] for document in documents)
    assert values == sorted(worker * 1000 + round_ for worker in range(8) for round_ in range(rounds))


def test_the_name_cache_is_bounded(monkeypatch: pytest.MonkeyPatch, captured: CapturedMetrics) -> None:
    monkeypatch.setattr(metrics_module, "_KNOWN_NAMES_LIMIT", 8)
    metrics = Metrics(namespace="Shop")
    for index in range(30):
        metrics.put_dimensions({f"d{index}": f"v{index}"}).put_metric(f"M{index}", index).flush()

    assert len(metrics._known) <= 8
    assert len(metrics._name_json) <= 8
    assert [r.dimensions for r in captured.records][-1] == {"d29": "v29"}
    assert captured.values("M29") == [29]


# -- log_metrics ----------------------------------------------------------------------------


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
    monkeypatch.setattr(metrics_module, "_MAX_EVENT", 600)
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


# -- the capture helper -----------------------------------------------------------------------


def test_capture_records_nesting_and_echo(capsys: pytest.CaptureFixture[str]) -> None:
    metrics = Metrics(namespace="Shop", service="orders")
    with capture_metrics(echo=True) as outer:
        metrics.put_metric("Outer", 1).flush()
        with capture_metrics() as inner:
            metrics.set_dimensions({"a": "1"}, {"b": "2"}).put_metric("Inner", 2, "Count").flush()
        metrics.put_metric("Outer", 3).flush()
    metrics.put_metric("After", 4).flush()

    out = capsys.readouterr().out
    assert outer.values("Outer") == [1, 3]
    assert len(outer) == 2
    assert "Inner" not in outer.names
    assert out.count("\n") == 3  # two echoed lines, and the one written after the capture
    assert [r.dimensions for r in inner.records] == [{"a": "1"}, {"b": "2"}]
    assert inner.values("Inner") == [2]
    assert inner.values("Inner", {"b": "2"}) == [2]
    assert inner.values("Inner", {"c": "3"}) == []
    record = inner.records[0]
    assert isinstance(record, MetricRecord)
    assert "Inner" in repr(record)
    assert repr(inner) == "CapturedMetrics(lines=1)"
    inner.clear()
    assert inner.lines == []
    assert inner.values("Inner") == []


def test_capture_fixture_is_built_lazily(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(
        "from lambda_kit.testing._metrics import metrics_capture  # noqa: F401\n"
    )
    (tmp_path / "test_user.py").write_text(
        "from lambda_kit.metrics import Metrics\n"
        "\n"
        "def test_uses_fixture(metrics_capture):\n"
        "    Metrics(namespace='Shop').put_metric('Orders', 5, 'Count').flush()\n"
        "    assert metrics_capture.values('Orders') == [5]\n"
    )
    env = {
        name: value for name, value in os.environ.items() if not name.startswith(("COV_CORE_", "COVERAGE_"))
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:cov",
            "--rootdir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_capture_module_rejects_unknown_attributes() -> None:
    from lambda_kit.testing import _metrics

    with pytest.raises(AttributeError, match="no_such_fixture"):
        _metrics.no_such_fixture  # noqa: B018


def test_capture_fixture_object_and_generator() -> None:
    from lambda_kit.testing import _metrics

    fixture = _metrics.metrics_capture
    assert _metrics.metrics_capture is fixture  # built once, then a plain module attribute
    generator = _metrics._metrics_capture()
    captured = next(generator)
    Metrics(namespace="Shop").put_metric("Orders", 1).flush()
    with pytest.raises(StopIteration):
        next(generator)
    assert captured.values("Orders") == [1]
    assert metrics_module._sinks == []


def test_capture_exit_is_idempotent() -> None:
    capture = capture_metrics()
    inner = capture_metrics()
    capture.__enter__()
    inner.__enter__()
    capture.__exit__(None, None, None)  # out of order: the inner capture stays active
    assert metrics_module._sinks == [inner.captured._write]
    capture.__exit__(None, None, None)
    inner.__exit__(None, None, None)
    assert metrics_module._sinks == []


# -- import cost ------------------------------------------------------------------------------
