"""``lambda-kit tune``: weighted events, outliers trimmed, costs, the three choices, the command."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lambda_kit.exceptions import ConfigurationError
from lambda_kit_dev import _cli
from lambda_kit_dev.emulator import _cgroup
from lambda_kit_dev.tune import (
    PRICES,
    SizeResult,
    WeightedEvent,
    choose,
    format_tune,
    parse_events,
    run_tune,
    schedule,
    trimmed,
)

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=10,
)


def test_events_one_or_weighted_as_power_tuning_takes_them() -> None:
    assert parse_events({"path": "/"}) == [WeightedEvent({"path": "/"}, 1.0)]
    assert parse_events([{"a": 1}]) == [WeightedEvent([{"a": 1}], 1.0)]  # a list event, not weighted
    weighted = parse_events([{"payload": {"n": 1}, "weight": 5}, {"payload": "x", "weight": 15}])
    assert weighted == [WeightedEvent({"n": 1}, 5.0), WeightedEvent("x", 15.0)]
    for bad in (0, -1, "5", float("inf"), True):
        with pytest.raises(ConfigurationError, match="expected a positive finite number"):
            parse_events([{"payload": {}, "weight": bad}])


@given(JSON)
def test_any_json_document_is_events_or_a_clear_error(document: object) -> None:
    try:
        events = parse_events(document)
    except ConfigurationError as error:
        message = str(error)
        events = []
    else:
        message = ""
    assert events or "weight" in message
    assert all(e.weight > 0 and math.isfinite(e.weight) for e in events)


@given(st.lists(st.integers(1, 50), min_size=1, max_size=6), st.integers(0, 200))
def test_schedule_follows_the_weights(weights: list[int], n: int) -> None:
    events = [WeightedEvent(i, float(w)) for i, w in enumerate(weights)]
    picked = schedule(events, n)
    assert len(picked) == n
    counts = [picked.count(i) for i in range(len(weights))]
    if n >= len(weights):
        assert min(counts) >= 1  # every event is used at least once
    total = sum(weights)
    for count, weight in zip(counts, weights, strict=True):
        assert abs(count - n * weight / total) <= len(weights) + 1


def test_schedule_interleaves_in_proportion() -> None:
    picked = schedule([WeightedEvent("a", 1), WeightedEvent("b", 3)], 8)
    assert picked.count("a") == 2
    assert picked.count("b") == 6
    assert picked[:4].count("a") == 1  # interleaved, not in blocks


def test_outliers_trimmed_as_power_tuning_does() -> None:
    assert trimmed([float(v) for v in range(1, 11)]) == [3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
    assert trimmed([5.0, 1.0], 0.4) == [1.0, 5.0]  # floor(0.8) = 0 left out
    assert trimmed([3.0, 1.0, 2.0], 0.4) == [2.0]
    assert trimmed([]) == []


def _size(memory_mb: int, cost: float, mean_ms: float, *, errors: list[str] | None = None) -> SizeResult:
    return SizeResult(
        memory_mb=memory_mb,
        target_share=memory_mb / 1769,
        cpu_share=None,
        init_ms=[],
        cold_duration_ms=[],
        warm_duration_ms=[mean_ms],
        max_memory_mb=None,
        errors=errors or [],
        summary={"cost_per_million_x86_64": cost, "warm_trimmed_mean_scaled_ms": mean_ms},
    )


def test_cheapest_fastest_and_balanced() -> None:
    sizes = [
        _size(128, 2.0, 800.0),
        _size(512, 2.2, 150.0),
        _size(1769, 6.0, 60.0),
        _size(3008, 1.0, 1.0, errors=["x"]),
    ]
    assert choose(sizes) == (128, 1769, 512)
    assert choose(sizes, balanced_weight=1.0)[2] == 128  # all cost
    assert choose(sizes, balanced_weight=0.0)[2] == 1769  # all speed
    assert choose([_size(128, 1.0, 1.0, errors=["failed"])]) == (None, None, None)


def test_tune_runs_each_size_with_lambdas_limits(handlers: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMBDA_KIT_CALIBRATION_FACTOR", "2")
    events = [WeightedEvent({"cpu_ms": 2}, 1), WeightedEvent({"cpu_ms": 4}, 1)]
    result = run_tune(
        "cpu_work.burn",
        events,
        memory_sizes=[128, 1024],
        cold=1,
        warm=4,
        task_root=handlers,
        measure_reference=False,
    )
    assert [s.memory_mb for s in result.sizes] == [128, 1024]
    assert not result.failed
    assert result.calibration_factor == 2.0
    assert result.calibration_source == "LAMBDA_KIT_CALIBRATION_FACTOR"
    for size in result.sizes:
        m = size.summary
        assert len(size.init_ms) == 1
        assert len(size.warm_duration_ms) == 4
        assert m["warm_trimmed_mean_scaled_ms"] == pytest.approx(2 * m["warm_trimmed_mean_ms"])  # type: ignore[operator]
        gb_s = m["warm_billed_mean_ms"] / 1000 * size.memory_mb / 1024  # type: ignore[operator]
        cold_gb_s = m["cold_billed_mean_ms"] / 1000 * size.memory_mb / 1024  # type: ignore[operator]
        for arch, price in PRICES.items():
            expected = (0.99 * (gb_s * price + 0.2e-6) + 0.01 * (cold_gb_s * price + 0.2e-6)) * 1e6
            assert m[f"cost_per_million_{arch}"] == pytest.approx(expected)
        assert m["cost_per_million_arm64"] < m["cost_per_million_x86_64"]  # type: ignore[operator]
        if _cgroup.backend().cpu:
            assert size.cpu_share == pytest.approx(size.target_share, rel=0.1)
    assert result.fastest in (128, 1024)
    assert result.cheapest in (128, 1024)
    if _cgroup.backend().cpu:
        assert result.notice is None or "memory" in result.notice
        assert result.fastest == 1024  # 8x the CPU
    else:
        assert "CPU not limited" in (result.notice or "")
    text = format_tune(result)
    assert "Cheapest (strategy cost):" in text
    assert "estimates, not Lambda measurements" in text
    assert "20% of warm invocations discarded" in text


def test_tune_command(handlers: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = tmp_path / "events.json"
    events.write_text(json.dumps([{"payload": {"n": 1}, "weight": 1}, {"payload": {"n": 2}, "weight": 3}]))
    arguments = ["tune", "basic.echo", "--task-root", str(handlers), "--memory", "128,256", "--cold", "1"]
    arguments += ["--warm", "4", "--events", str(events), "--calibration-factor", "1.5", "--json"]
    status = _cli.main(arguments)
    out, err = capsys.readouterr()
    assert status == 0
    document = json.loads(out)
    assert [s["memory_mb"] for s in document["sizes"]] == [128, 256]
    assert document["calibration_factor"] == 1.5
    assert document["reference_ms"] > 0
    assert "tune: 256 MB warm 4/4" in err  # progress on stderr
    with pytest.raises(SystemExit) as exit_info:
        _cli.main(["tune", "basic.echo", "--memory", "64,128"])
    assert exit_info.value.code == 2
    assert "--memory sizes must be 128 to 10240 MB" in capsys.readouterr().err


def test_bad_settings_are_refused(handlers: Path) -> None:
    with pytest.raises(ConfigurationError, match="discard"):
        run_tune("basic.echo", memory_sizes=[128], discard=0.5, task_root=handlers)
    with pytest.raises(ConfigurationError, match="calibration factor"):
        run_tune("basic.echo", memory_sizes=[128], calibration_factor=0.0, task_root=handlers)
