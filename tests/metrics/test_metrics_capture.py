"""lambda_kit.testing.capture_metrics: the EMF lines diverted through the sink hook and read back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lambda_kit import _emf
from lambda_kit.metrics import Metrics
from lambda_kit.testing._metrics import MetricRecord, capture_metrics


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
    assert _emf._sinks == []


def test_capture_exit_is_idempotent() -> None:
    capture = capture_metrics()
    inner = capture_metrics()
    capture.__enter__()
    inner.__enter__()
    capture.__exit__(None, None, None)  # out of order: the inner capture stays active
    assert _emf._sinks == [inner.captured._write]
    capture.__exit__(None, None, None)
    inner.__exit__(None, None, None)
    assert _emf._sinks == []


def test_the_sink_hook_nests_and_removes_only_the_latest_registration() -> None:
    outer: list[str] = []
    inner: list[str] = []
    _emf.add_sink(outer.append)
    _emf.add_sink(inner.append)
    try:
        Metrics(namespace="Shop").put_metric("Orders", 1).flush()
        _emf.remove_sink(inner.append)  # a fresh bound method: equal, not identical
        _emf.remove_sink(inner.append)  # already gone: nothing happens
        Metrics(namespace="Shop").put_metric("Orders", 2).flush()
    finally:
        _emf.remove_sink(outer.append)

    assert _emf._sinks == []
    assert [json.loads(line)["Orders"] for line in inner] == [1]
    assert [json.loads(line)["Orders"] for line in outer] == [2]
    assert all(line.endswith("}\n") for line in inner + outer)
