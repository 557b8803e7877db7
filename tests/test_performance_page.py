"""docs/performance.md and its charts are what benchmarks/_report.py makes of benchmarks/results/.

The page is generated: these tests fail when a result file changed without the page being
rebuilt (``python benchmarks/_report.py``, which ``make bench`` runs), and check that the
generator shows every claim a benchmark recorded, with its figures, and draws charts that
are well-formed SVG.
"""

from __future__ import annotations

import importlib.util
import json
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def report() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "lambda_kit_bench_report", ROOT / "benchmarks" / "_report.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_page_and_charts_match_the_committed_results(report: ModuleType) -> None:
    stale = report.differences()
    assert stale == [], f"stale or missing, run `python benchmarks/_report.py`: {stale}"


def test_every_recorded_claim_is_on_the_page_with_its_figures(report: ModuleType) -> None:
    page = (ROOT / "docs" / "performance.md").read_text(encoding="utf-8")
    records = report.load_records()
    claims = [claim for record in records.values() for claim in record.get("claims", [])]
    assert claims, "no benchmark records claims"
    rows = [line for line in page.splitlines() if line.startswith("| ")]
    for claim in claims:
        figure = f"x{claim['ratio']:.2f}" if "ratio" in claim else f"{claim['value']:.2f}"
        matching = [row for row in rows if f"| {claim['claim']} | {claim['shape']} | {figure}" in row]
        assert len(matching) == 1, claim
        assert matching[0].rstrip().endswith(f"| {claim['verdict']} |")
        if "passes" in claim:  # the spread is shown: every pass, and the identical-pair control
            assert all(f"x{found:.2f}" in matching[0] for found in claim["passes"])
            assert all(f"{control:.3f}" in matching[0] for control in claim["control"])
    for name, record in records.items():
        assert f"## {name}" in page or f"### {name}" in page
        if isinstance(record.get("machine"), dict):
            assert record["machine"]["cpu_model"] in page


def test_charts_are_well_formed_svg_with_one_bar_per_ratio(report: ModuleType) -> None:
    claims: list[dict[str, Any]] = [
        {"claim": "a / b", "ratio": 1.2, "passes": [1.1, 1.2], "target": 1.5, "verdict": "PASS"},
        {"claim": "c < d", "ratio": 7.0, "passes": [7.0, 6.5], "target": 2.5, "verdict": "MISS"},
        {"claim": "imports", "value": 1.0, "unit": "ms"},  # not a ratio: not drawn
    ]
    svg = report.chart_svg("title <&>", claims)
    root = ElementTree.fromstring(svg)  # noqa: S314 - our own generator's output
    bars = [
        element
        for element in root.iter("{http://www.w3.org/2000/svg}rect")
        if "fill-opacity" in element.attrib
    ]
    assert [bar.attrib["fill"] for bar in bars] == [report.COLOURS["PASS"], report.COLOURS["MISS"]]
    assert float(bars[1].attrib["width"]) / float(bars[0].attrib["width"]) == pytest.approx(
        7.0 / 1.2, rel=0.01
    )


def test_a_record_without_claims_is_listed_with_its_verdicts(report: ModuleType, tmp_path: Path) -> None:
    record = {
        "machine": {
            "cpu_model": "Test CPU",
            "python": "CPython 3.11",
            "date_utc": "2026-01-01",
            "git_commit": "abc",
        },
        "verdict": {"speedup": {"value": 3.5, "verdict": "PASS"}},
    }
    (tmp_path / "bench_old.json").write_text(json.dumps(record), encoding="utf-8")
    text, charts = report.render(tmp_path)
    assert charts == {}
    assert "### bench_old" in text
    assert "has no `claims` list yet" in text
    assert "| speedup | value: 3.5, verdict: PASS |" in text


def test_a_stale_page_is_reported(report: ModuleType, tmp_path: Path) -> None:
    results = tmp_path / "results"
    results.mkdir()
    source = ROOT / "benchmarks" / "results" / "bench_metrics.json"
    (results / "bench_metrics.json").write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    page, charts = tmp_path / "performance.md", tmp_path / "charts"
    report.write(results, page, charts)
    assert report.differences(results, page, charts) == []
    record = json.loads((results / "bench_metrics.json").read_text(encoding="utf-8"))
    record["claims"][0]["ratio"] += 0.5
    (results / "bench_metrics.json").write_text(json.dumps(record), encoding="utf-8")
    assert str(page) in report.differences(results, page, charts)
