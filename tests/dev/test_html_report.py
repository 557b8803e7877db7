"""The HTML reports in a real headless Chromium: they render, run no script, and show the run's figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from synthetic_logs import known_invocations, tail_text

from lambda_kit_dev._cli import main
from lambda_kit_dev.emulator._report import ImportTiming
from lambda_kit_dev.html_report import Page, import_waterfall

if TYPE_CHECKING:
    from playwright.sync_api import Page as BrowserPage


def open_page(page: BrowserPage, path: Path) -> None:
    page.set_default_timeout(5000)
    page.goto(path.as_uri())
    page.wait_for_load_state("load")


def chart(page: BrowserPage, key: str, nth: int = 0) -> dict[str, str]:
    """The data-* attributes of the ``nth`` chart called ``key``, and its rendered size."""
    element = page.locator(f'svg[data-chart="{key}"]').nth(nth)
    box = element.bounding_box()
    assert box is not None
    assert box["width"] > 100
    assert box["height"] > 20
    return dict(element.evaluate("e => Object.fromEntries([...e.attributes].map(a => [a.name, a.value]))"))


def figure(page: BrowserPage, name: str) -> str:
    return page.locator(f'tr[data-figure="{name}"] td').first.inner_text()


def test_logs_report(tmp_path: Path, page: BrowserPage, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "orders.log"
    log.write_text(tail_text(known_invocations()), encoding="utf-8")
    html = tmp_path / "logs.html"
    assert main(["logs", str(log), "--json", "--html", str(html)]) == 0
    figures = json.loads(capsys.readouterr().out)["functions"][0]
    open_page(page, html)
    assert page.title() == "lambda-kit logs"
    concurrency = chart(page, "concurrency")
    assert concurrency["data-peak"] == "7"
    assert concurrency["data-peak-at"] == "2026-03-01T12:05Z" == figures["concurrency"]["peak_minute"]
    assert "peak 7 concurrent at 2026-03-01T12:05Z" in (
        page.locator("[data-peak-label]").text_content() or ""
    )
    bar = page.locator('svg[data-chart="concurrency"] rect[data-x="2026-03-01T12:05Z"]')
    assert bar.get_attribute("data-y") == "7"
    # 11 minutes: the first invocation's INIT (250 ms) began at 11:59:59.750.
    assert int(concurrency["data-points"]) == len(figures["concurrency"]["per_minute"]) == 11
    assert figures["concurrency"]["per_minute"][0]["minute"] == "2026-03-01T11:59Z"
    line = page.locator("svg[data-chart=concurrency] polyline")
    assert line.get_attribute("data-line") == "mean per minute (Logs Insights)"
    assert chart(page, "cold-duration")["data-count"] == "3"
    assert chart(page, "warm-duration")["data-count"] == "64"
    assert chart(page, "warm-duration")["data-max"] == "2000"
    assert figure(page, "Peak concurrency") == "7 at 2026-03-01T12:05Z"
    assert figure(page, "Invocations") == "67"
    assert figure(page, "Cold starts") == "3 (4.5%)"
    cost = page.locator('table[data-table="cost"]').inner_text()
    assert f"${figures['cost']['per_million_usd']:,.2f}" in cost
    assert f"{figures['right_sizing']['suggested_mb']} MB" in cost
    assert page.errors == []  # type: ignore[attr-defined]


def test_bench_report(
    tmp_path: Path, page: BrowserPage, handlers: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    html = tmp_path / "bench.html"
    status = main(
        [
            "bench",
            "profiled.handler",
            "--task-root",
            str(handlers),
            "--cold",
            "2",
            "--warm",
            "6",
            "--no-bytecode-check",
            "--json",
            "--html",
            str(html),
        ]
    )
    assert status == 0
    result = json.loads(capsys.readouterr().out)
    open_page(page, html)
    assert page.title() == "lambda-kit bench: profiled.handler"
    assert figure(page, "Warm Duration p50") == f"{result['summary']['warm_p50_ms']:,.2f} ms"
    assert figure(page, "Init Duration p50") == f"{result['summary']['init_p50_ms']:,.2f} ms"
    cold, warm = chart(page, "cold-duration"), chart(page, "warm-duration")
    assert cold["data-count"] == "2"
    assert warm["data-count"] == "6"
    assert float(warm["data-max"]) == pytest.approx(max(result["warm_duration_ms"]), rel=1e-5)
    imports = chart(page, "imports")
    waterfall = result["import_waterfall"]
    assert int(imports["data-rows"]) == len(waterfall) > 0
    slow = page.locator('svg[data-chart="imports"] rect[data-label="slow_dependency"]')
    assert float(slow.get_attribute("data-length") or 0) >= 200  # it sleeps 200 ms at import
    row = next(r for r in waterfall if r["module"] == "slow_dependency")
    assert float(slow.get_attribute("data-start") or 0) == pytest.approx(row["start_ms"], rel=1e-5)
    assert "$" in page.locator('table[data-table="cost"]').inner_text()
    assert page.errors == []  # type: ignore[attr-defined]


def test_a_page_from_plain_data_escapes_and_needs_no_network(tmp_path: Path, page: BrowserPage) -> None:
    """What ``load`` would build: figures, a series with a quota, a waterfall; hostile names stay text."""
    hostile = '<img src="https://example.com/x.png" onerror="console.error(1)">'
    built = Page(f"load: {hostile}", subtitle="<script>console.error('ran')</script>")
    built.add_figures("Summary", [("Requests", "1,000"), (hostile, "<b>1</b>")])
    built.add_series("Concurrency", [("12:00", 3.0), ("12:01", 9.0), ("12:02", 4.0)], unit="envs", limit=8.0)
    built.add_waterfall("Imports", [("a", 0.0, 5.0), ("b", 5.0, 10.0)])
    built.add_histogram("Empty", [])
    path = tmp_path / "load.html"
    path.write_text(built.html(), encoding="utf-8")
    open_page(page, path)
    assert page.locator("img").count() == 0
    assert page.locator("script").count() == 0
    assert hostile in page.locator("h1").inner_text()
    series = chart(page, "series")
    assert (series["data-peak"], series["data-peak-at"]) == ("9", "12:01")
    assert page.locator("line[data-limit]").get_attribute("data-limit") == "8"
    assert chart(page, "waterfall")["data-end"] == "15"
    assert page.errors == []  # type: ignore[attr-defined]


def test_import_waterfall_from_importtime() -> None:
    timings = [
        ImportTiming("site", 100, 900, 0),
        ImportTiming("awslambdaric.bootstrap", 2000, 2000, 0),
        ImportTiming("json.decoder", 300, 300, 2),
        ImportTiming("json", 200, 500, 1),
        ImportTiming("helpers", 1000, 1000, 1),
        ImportTiming("app", 500, 2000, 0),
    ]
    rows = import_waterfall(timings)
    assert [(r["module"], r["start_ms"], r["ms"]) for r in rows] == [
        ("app", pytest.approx(2.1), 2.0),
        ("json", pytest.approx(2.1), 0.5),
        ("helpers", pytest.approx(2.6), 1.0),
    ]
    assert import_waterfall(timings[:1]) == []  # no runtime client: not a Lambda INIT profile
