"""``lambda-kit load``: open-loop arrivals scheduled as Lambda scales a function."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lambda_kit.exceptions import ConfigurationError
from lambda_kit_dev._cli import main
from lambda_kit_dev.load import (
    LoadResult,
    concurrency_per_second,
    format_comparison,
    format_report,
    mean_concurrency,
    read_events,
    run_load,
)

SLEEP_S = 0.3


def test_concurrency_follows_littles_law_and_cold_starts_only_while_it_grows(handlers: Path) -> None:
    result = run_load(
        "timed.handler",
        [{"seconds": SLEEP_S}],
        rps=10,
        duration_s=4,
        concurrency_limit=10,
        task_root=handlers,
    )
    summary = result.summary()
    assert summary["requests"] == 40
    assert summary["ok"] == 40
    assert summary["throttles"] == 0
    concurrency = summary["concurrency"]
    # Little's law: concurrency = arrival rate x mean duration (10/s x ~0.3 s = ~3).
    assert concurrency["littles_law"] == pytest.approx(10 * SLEEP_S, rel=0.2)
    assert concurrency["mean"] == pytest.approx(concurrency["littles_law"], rel=0.2)
    assert concurrency["peak"] >= 3
    assert summary["environments_created"] == concurrency["peak"]
    # A cold start happens only when every environment is busy: it raises concurrency
    # to a level never reached before.
    highest = 0
    for arrival in result.arrivals:
        if arrival.cold:
            assert arrival.concurrency == arrival.environments
            assert arrival.concurrency > highest
        highest = max(highest, arrival.concurrency)
    assert summary["cold_starts"] == summary["environments_created"]
    assert summary["latency_ms"]["warm"]["p50"] >= SLEEP_S * 1000
    assert summary["duration_ms"]["warm"]["n"] + summary["duration_ms"]["cold"]["n"] == 40
    assert summary["init_duration_ms"]["n"] == summary["cold_starts"]
    machine = summary["machine"]
    assert machine["cpu_ms_per_invocation"] > 0
    assert machine["honest_rps"] > 0
    report = format_report(result)
    assert "Little's law" in report
    assert "this machine:" in report


def test_arrivals_past_the_concurrency_limit_are_throttled(handlers: Path) -> None:
    result = run_load(
        "timed.handler", [{"seconds": SLEEP_S}], rps=10, duration_s=2, concurrency_limit=2, task_root=handlers
    )
    summary = result.summary()
    assert summary["throttles"] > 0
    assert summary["environments_created"] <= 2
    assert summary["concurrency"]["peak"] <= 2
    for arrival in result.arrivals:
        assert arrival.concurrency <= 2
        if arrival.throttled:  # only when every allowed environment is busy
            assert arrival.concurrency == 2
            assert arrival.error_type == "TooManyRequestsException"
            assert arrival.latency_ms is None
    assert not result.failed  # a throttle is not a failure of the function
    assert f"throttles {summary['throttles']}" in format_report(result)


def test_idle_environments_are_retired_so_a_later_burst_starts_cold(handlers: Path) -> None:
    result = run_load(
        "timed.handler",
        [{"seconds": 0.05}],
        rps=1,
        duration_s=3,
        schedule=[0.0, 0.0, 2.5],
        idle_timeout_s=0.5,
        task_root=handlers,
    )
    first, second, late = result.arrivals
    assert first.cold
    assert second.cold
    assert late.cold  # both environments were idle for over 0.5 s, and retired
    assert result.environments_retired >= 2
    assert result.environments_created == 3


def test_tenants_get_pools_of_their_own(handlers: Path) -> None:
    result = run_load(
        "timed.handler", [{"seconds": 0.01}], rps=5, duration_s=1.2, tenants=2, task_root=handlers
    )
    summary = result.summary()
    assert summary["environments_created"] >= 2
    served: dict[int, set[str | None]] = {}
    for arrival in result.arrivals:
        assert arrival.environment is not None
        served.setdefault(arrival.environment, set()).add(arrival.tenant)
    assert all(len(tenants) == 1 for tenants in served.values())  # an environment never serves two tenants
    assert set(summary["tenants"]) == {"tenant-1", "tenant-2"}
    for figures in summary["tenants"].values():
        assert figures["invocations"] == 3
        assert figures["cold_starts"] >= 1  # counted per tenant
    assert summary["cold_starts"] == sum(f["cold_starts"] for f in summary["tenants"].values())
    assert "tenant tenant-1: 3 invocations" in format_report(result)


def test_the_command_prints_json_and_progress(
    handlers: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text('{"seconds": 0.01}\n{"seconds": 0.02}\n')
    status = main(
        ["load", "timed.handler", "--task-root", str(handlers), "--rps", "5", "--duration", "1",
         "--events", str(events), "--json"]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert status == 0
    document = json.loads(captured.out)
    assert document["summary"]["requests"] == 5
    assert document["summary"]["ok"] == 5
    assert document["rps"] == 5
    assert "load:" in captured.err  # the progress line


def test_the_command_refuses_bad_input(
    handlers: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert (
        main(["load", "timed.handler", "--task-root", str(handlers), "--rps", "5", "--events", str(bad)]) == 2
    )
    assert "is not JSON" in capsys.readouterr().err
    assert main(["load", "timed.handler", "--task-root", str(handlers), "--rps", "0"]) == 2
    assert "Invalid rps=0" in capsys.readouterr().err
    assert (
        main(
            ["load", "timed.handler", "--task-root", str(handlers), "--rps", "1", "--concurrency-limit", "0"]
        )
        == 2
    )
    assert "concurrency_limit" in capsys.readouterr().err
    base = ["load", "timed.handler", "--task-root", str(handlers), "--rps", "1"]
    assert main([*base, "--memory-per-vcpu", "4"]) == 2
    assert "--memory-per-vcpu goes with --max-concurrency" in capsys.readouterr().err
    assert main([*base, "--max-concurrency", "2", "--memory-per-vcpu", "9"]) == 2
    assert "Invalid memory_per_vcpu_gib=9.0" in capsys.readouterr().err


def test_run_load_refuses_bad_settings(handlers: Path) -> None:
    with pytest.raises(ConfigurationError, match="No events"):
        run_load("timed.handler", [], rps=1, duration_s=1, task_root=handlers)
    with pytest.raises(ConfigurationError, match="not JSON-serialisable"):
        run_load("timed.handler", [object()], rps=1, duration_s=1, task_root=handlers)
    for bad in ("acme#1", "", "x" * 257, "tab\there"):  # Lambda's Invoke API: 1-256 of [a-zA-Z0-9._:/=+-@ ]
        with pytest.raises(ConfigurationError, match="tenant id"):
            run_load("timed.handler", [{}], rps=1, duration_s=1, tenants=[bad], task_root=handlers)
    with pytest.raises(ConfigurationError, match="SnapStart and tenant isolation"):
        run_load("timed.handler", [{}], rps=1, duration_s=1, tenants=2, snapstart=True, task_root=handlers)
    with pytest.raises(ConfigurationError, match="schedule"):
        run_load("timed.handler", [{}], rps=1, duration_s=1, schedule=[-1.0], task_root=handlers)


def _result(**changes: object) -> LoadResult:
    settings: dict[str, object] = {
        "handler": "app.handler",
        "rps": 50.0,
        "duration_s": 10.0,
        "concurrency_limit": 10,
        "idle_timeout_s": 60.0,
        "arrivals": [],
        "timeline": [(0.0, 0)],
        "environments_created": 0,
        "environments_retired": 0,
        "elapsed_s": 10.0,
        "lag_p99_ms": 0.5,
        "cpu_ms_per_invocation": 5.0,
        "cpus": 2,
    }
    settings.update(changes)
    return LoadResult(**settings)  # type: ignore[arg-type]


def test_a_rate_beyond_what_the_machine_drives_honestly_is_warned_about() -> None:
    assert _result().honest_rps == pytest.approx(0.7 * 2 * 1000 / 5.0)
    assert _result().warnings() == []
    slow = _result(cpu_ms_per_invocation=100.0)  # 14 requests/s honestly, 50 asked
    assert any("beyond what this machine can drive honestly" in w for w in slow.warnings())
    late = _result(lag_p99_ms=50.0)
    assert any("late" in w for w in late.warnings())
    assert "WARNING:" in format_report(slow)
    assert "honest requests/s" in format_comparison([_result(), slow])


def test_mean_concurrency_is_time_weighted() -> None:
    timeline = [(0.0, 0), (1.0, 2), (3.0, 1), (4.0, 0)]
    assert mean_concurrency(timeline, 0.0, 4.0) == pytest.approx((2 * 2 + 1) / 4)
    assert mean_concurrency(timeline, 1.0, 3.0) == pytest.approx(2.0)
    assert mean_concurrency(timeline, 2.0, 2.0) is None
    seconds = concurrency_per_second(timeline, 4.0)
    assert [s["peak"] for s in seconds] == [0, 2, 2, 1]
    assert [s["mean"] for s in seconds] == [0.0, 2.0, 2.0, 1.0]


@given(
    st.lists(st.tuples(st.floats(0, 100, allow_nan=False), st.integers(0, 50)), min_size=1, max_size=30),
    st.floats(0, 100, allow_nan=False),
    st.floats(0.001, 100, allow_nan=False),
)
def test_mean_concurrency_lies_between_the_levels(
    changes: list[tuple[float, int]], start: float, length: float
) -> None:
    timeline = [(0.0, 0), *sorted(changes)]
    mean = mean_concurrency(timeline, start, start + length)
    assert mean is not None
    assert 0 <= mean <= max(level for _, level in timeline) + 1e-9


@given(st.text(st.characters(exclude_categories=("Cs",)), max_size=200))
def test_reading_event_files_never_fails_unexpectedly(text: str) -> None:
    import tempfile

    for suffix in (".json", ".jsonl"):
        with tempfile.NamedTemporaryFile("w", suffix=suffix, encoding="utf-8", delete=False) as file:
            file.write(text)
        try:
            events: list[object] | str = read_events([file.name])
        except argparse.ArgumentTypeError as error:
            events = str(error)
        finally:
            Path(file.name).unlink()
        assert isinstance(events, list) or "is not JSON" in events


def test_load_with_snapstart_restores_and_reports_hazards(handlers: Path) -> None:
    result = run_load(
        "snapstart_hooks.handler", [{}], rps=5, duration_s=1, snapstart=True, task_root=handlers
    )
    summary = result.summary()
    assert summary["ok"] == 5, [(a.error_type, a.latency_ms) for a in result.arrivals if not a.ok]
    assert summary["init_duration_ms"]["n"] == 0  # INIT ran once, for the snapshot
    assert summary["restore_duration_ms"]["n"] == summary["cold_starts"] >= 1
    assert result.hazards is not None
    assert any(hazard.startswith("random-state: snapstart_hooks") for hazard in result.hazards)
    report = format_report(result)
    assert "Restore Duration" in report
    assert "SnapStart hazards: " in report


def test_snapstart_and_managed_instances_do_not_go_together(handlers: Path) -> None:
    with pytest.raises(ConfigurationError, match="do not go together"):
        run_load(
            "timed.handler", [{}], rps=1, duration_s=1, snapstart=True, max_concurrency=2, task_root=handlers
        )
