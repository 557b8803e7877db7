"""lambda_kit.metrics: the lines Metrics writes, dimension sets, new(), threads, caches, public names."""

from __future__ import annotations

import ast
import datetime
import io
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from lambda_kit import _emf
from lambda_kit import metrics as metrics_module
from lambda_kit.exceptions import (
    DimensionSetExceededError,
    InvalidDimensionError,
    InvalidMetricNameError,
    InvalidPropertyError,
)
from lambda_kit.metrics import Metrics, StorageResolution, Unit
from lambda_kit.testing._metrics import CapturedMetrics, capture_metrics

ROOT = Path(__file__).resolve().parents[2]


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


# -- public names and the import graph --------------------------------------------------------


def test_metrics_all_is_pinned() -> None:
    assert metrics_module.__all__ == [
        "DEFAULT_NAMESPACE",
        "STANDARD_UNITS",
        "Metrics",
        "StorageResolution",
        "Unit",
    ]


def test_every_public_name_resolves_and_the_vocabulary_is_the_wire_formats() -> None:
    for name in metrics_module.__all__:
        assert getattr(metrics_module, name) is not None, name
    assert metrics_module.Unit is _emf.Unit
    assert metrics_module.StorageResolution is _emf.StorageResolution
    assert metrics_module.STANDARD_UNITS is _emf.STANDARD_UNITS


def lambda_kit_imports(path: Path) -> set[str]:
    """The lambda_kit modules a source file imports, wherever the import statement is."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = (
                [node.module] if node.module != "lambda_kit" else [f"lambda_kit.{a.name}" for a in node.names]
            )
            found.update(name for name in names if name.startswith("lambda_kit"))
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("lambda_kit"))
    return found


def test_imports_run_one_way_from_the_collector_to_the_wire_format() -> None:
    package = ROOT / "lambda_kit"
    assert lambda_kit_imports(package / "_emf.py") == {"lambda_kit.exceptions"}
    assert "lambda_kit._emf" in lambda_kit_imports(package / "metrics.py")
    assert lambda_kit_imports(package / "testing" / "_metrics.py") == {
        "lambda_kit._emf",
        "lambda_kit._util",
    }  # _util: lazy_exports


WIRE_FORMAT_ALONE = """
import sys
import lambda_kit._emf as emf
after_emf = set(sys.modules)
import lambda_kit.testing._metrics
after_capture = set(sys.modules)
try:
    emf.MetricDefinition("Latency", "ms", 60)
except Exception as error:
    print(type(error).__module__, type(error).__name__)
deferred = ("lambda_kit.metrics", "lambda_kit.exceptions", "typing", "json", "re", "threading", "pytest")
print(" ".join(name for name in deferred if name in after_emf) or "-")
print(" ".join(name for name in ("lambda_kit.metrics", "pytest") if name in after_capture) or "-")
"""


def test_the_wire_format_loads_alone_and_imports_its_errors_when_raising() -> None:
    env = {
        name: value for name, value in os.environ.items() if not name.startswith(("COV_CORE_", "COVERAGE_"))
    }
    result = subprocess.run(
        [sys.executable, "-c", WIRE_FORMAT_ALONE],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "lambda_kit.exceptions InvalidUnitError",  # typed, and imported only to be raised
        "-",  # _emf alone loads no collector, no error tree, nothing the runtime lacks
        "-",  # the capture helper hooks into _emf without the collector (or pytest)
    ]
