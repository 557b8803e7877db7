"""The performance page: ``docs/performance.md`` and its charts, from ``benchmarks/results/``.

``make bench`` runs every benchmark, then this script, so the page always shows the
figures of the results committed beside it; ``tests/test_performance_page.py`` checks
that the committed page and charts are what this script makes of the committed
results. Nothing here measures anything: it only formats what the benchmarks recorded.

A benchmark's JSON record states its claims in a ``claims`` list, one dict each:

* ``claim``: what is compared, ``"A / B"`` for a ratio of A's time over B's;
* ``shape``: the workload (event, sizes, line length...);
* ``measure``: how it was measured (CPU or wall time, paired or not, which pass is quoted);
* either ``ratio`` (the figure quoted), ``passes`` (each pass's median ratio), ``iqr``
  (each pass's quartiles), ``spread`` (largest pass over smallest), ``control`` (each
  pass's identical-pair ratio) and ``direction`` (``"at_most"`` or ``"at_least"``: which
  way the target points);
* or ``value`` with ``unit`` and ``p10_p90`` for an absolute figure;
* ``target`` (or None) and ``verdict`` (``PASS``, ``MISS``, ``VOID`` when a control was
  off by more than 3 %, ``-`` without a target);
* optionally ``chart``: the name of the group the claim is drawn in.

A record without ``claims`` is listed with its machine, date and recorded verdicts, and
a pointer to its printout.

Usage (from the repository root)::

    python benchmarks/_report.py          # write docs/performance.md and its charts
    python benchmarks/_report.py --check  # exit 1 if the committed files differ
"""

from __future__ import annotations

import argparse
import json
import sys
from html import escape
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
PAGE = REPO_ROOT / "docs" / "performance.md"
CHART_DIR = REPO_ROOT / "docs" / "performance"

COLOURS = {"PASS": "#2e7d32", "MISS": "#c62828", "VOID": "#9e9e9e", "-": "#5c6bc0"}


# -- records --------------------------------------------------------------------------------------


def load_records(results_dir: Path = RESULTS_DIR) -> dict[str, dict[str, Any]]:
    """Every ``bench_*.json`` record, by benchmark name, in name order."""
    return {
        path.stem: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(results_dir.glob("bench_*.json"))
    }


def _machine(record: dict[str, Any]) -> str:
    info = record.get("machine")
    if not isinstance(info, dict):
        return "not recorded"
    parts = [
        f"{info.get('cpu_model', '?')}, {info.get('usable_cpus', info.get('cpu_count', '?'))} usable CPUs",
        str(info.get("python", "?")),
        str(info.get("platform", "?")),
    ]
    load = info.get("load_average")
    if load is not None:
        end = record.get("load_average_at_end")
        parts.append(f"load average {load}" + (f" at the start, {end} at the end" if end is not None else ""))
    return "; ".join(parts)


def _provenance(record: dict[str, Any]) -> str:
    info = record.get("machine")
    if not isinstance(info, dict):
        return "date and commit not recorded"
    quick = " (a --quick run)" if record.get("quick") else ""
    return (
        f"{info.get('date_utc', 'date not recorded')}, commit {info.get('git_commit', 'not recorded')}{quick}"
    )


def _number(value: float) -> str:
    return f"{value:.2f}"


def _ratio_cell(claim: dict[str, Any]) -> str:
    if "ratio" in claim:
        return f"x{_number(claim['ratio'])}"
    return f"{_number(claim['value'])} {claim.get('unit', '')}".rstrip()


def _passes_cell(claim: dict[str, Any]) -> str:
    if "passes" in claim:
        iqr = claim.get("iqr") or [None] * len(claim["passes"])
        return "; ".join(
            f"x{_number(found)}" + (f" (IQR {_number(q[0])}-{_number(q[1])})" if q else "")
            for found, q in zip(claim["passes"], iqr, strict=True)
        )
    if "p10_p90" in claim:
        low, high = claim["p10_p90"]
        return f"p10-p90 {_number(low)}-{_number(high)}"
    return "-"


def _target_cell(claim: dict[str, Any]) -> str:
    target = claim.get("target")
    if target is None:
        return "-"
    if "ratio" in claim:
        return ("≥ x" if claim.get("direction") == "at_least" else "≤ x") + _number(target)
    return f"< {_number(target)} {claim.get('unit', '')}".rstrip()


def _control_cell(claim: dict[str, Any]) -> str:
    control = claim.get("control")
    return ", ".join(f"{value:.3f}" for value in control) if control else "-"


def _spread_cell(claim: dict[str, Any]) -> str:
    spread = claim.get("spread")
    return f"{(spread - 1) * 100:.1f} %" if spread is not None else "-"


# -- charts --------------------------------------------------------------------------------------


def chart_svg(title: str, claims: list[dict[str, Any]]) -> str:
    """Horizontal bars, one per ratio claim: the quoted ratio, each pass as a tick, the target dashed."""
    rows = [claim for claim in claims if "ratio" in claim]
    label_width, bar_width, row_height, top = 330, 420, 26, 44
    largest = max(
        [1.0] + [max(claim["passes"] + [claim["ratio"], claim.get("target") or 0]) for claim in rows]
    )
    scale = bar_width / (largest * 1.08)
    height = top + row_height * len(rows) + 40
    width = label_width + bar_width + 90
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="10" y="20" font-size="14" font-weight="bold">{escape(title)}</text>',
        '<text x="10" y="36" fill="#555555">ratio (bar: the figure quoted; ticks: each pass; '
        "dashed: target); the line at x1 is parity</text>",
    ]
    one = label_width + scale
    out.append(
        f'<line x1="{one:.1f}" y1="{top - 4}" x2="{one:.1f}" y2="{top + row_height * len(rows)}" '
        'stroke="#000000" stroke-width="1"/>'
    )
    for index, claim in enumerate(rows):
        y = top + index * row_height
        colour = COLOURS.get(claim.get("verdict", "-"), COLOURS["-"])
        length = claim["ratio"] * scale
        out.append(
            f'<text x="{label_width - 8}" y="{y + 16}" text-anchor="end">{escape(claim["claim"])}</text>'
        )
        out.append(
            f'<rect x="{label_width}" y="{y + 5}" width="{length:.1f}" height="14" fill="{colour}" '
            'fill-opacity="0.8"/>'
        )
        for found in claim["passes"]:
            x = label_width + found * scale
            out.append(f'<line x1="{x:.1f}" y1="{y + 2}" x2="{x:.1f}" y2="{y + 22}" stroke="#000000"/>')
        target = claim.get("target")
        if target is not None:
            x = label_width + target * scale
            out.append(
                f'<line x1="{x:.1f}" y1="{y}" x2="{x:.1f}" y2="{y + 24}" stroke="#000000" '
                'stroke-dasharray="3,2" stroke-width="2"/>'
            )
        note = f"x{_number(claim['ratio'])} {claim.get('verdict', '-')}"
        end = label_width + max([claim["ratio"], *claim["passes"], target or 0]) * scale
        out.append(f'<text x="{end + 6:.1f}" y="{y + 16}">{escape(note)}</text>')
    axis = top + row_height * len(rows) + 16
    for tick in range(int(largest * 1.08) + 1):
        x = label_width + tick * scale
        out.append(f'<text x="{x:.1f}" y="{axis}" text-anchor="middle" fill="#555555">x{tick}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


# -- the page ------------------------------------------------------------------------------------

INTRODUCTION = """\
# Performance

<!-- Generated by benchmarks/_report.py from benchmarks/results/ (make bench). Do not edit. -->

Every figure on this page comes from a benchmark in `benchmarks/`, run by `make bench`, which
records its results in `benchmarks/results/` and then rebuilds this page from them. Each
figure states the machine it was measured on, the shape of the workload, the ratio, and how
far apart the repeated measurements were. The machine is a shared 2-CPU virtual machine:
read small differences with the spread beside them.

## How the figures are measured

* **Per-invocation cost** is CPU time (`time.thread_time()`) in *paired rounds*: each round
  times a batch of every contender back to back, in an order rotated from round to round,
  and a ratio is taken within each round, so that what the machine is doing at that moment
  weighs on both sides alike. One contender is timed twice per round: the ratio of that
  *identical pair* (the control) should be 1; a pass whose control is off by more than 3 %
  is void. Each benchmark runs two passes; the figure quoted is the worse of the two
  (the larger ratio for an "at most" target, the smaller for an "at least" one), with both
  passes, their quartiles (IQR) and their spread beside it.
* **Instruction counts** under `valgrind --tool=callgrind` are a second, noise-free opinion
  on per-invocation cost where a benchmark records them.
* **Imports and cold starts** are wall time, because waiting is what they cost; their runs
  are interleaved between contenders, and the median is shown with its 10th-90th percentiles.
"""


def _claims_section(name: str, record: dict[str, Any], charts: dict[str, str]) -> list[str]:
    claims: list[dict[str, Any]] = record["claims"]
    lines = [
        f"## {name}",
        "",
        f"Machine: {_machine(record)}. Measured {_provenance(record)}.",
        "",
    ]
    groups: dict[str, list[dict[str, Any]]] = {}
    for claim in claims:
        if "ratio" in claim and claim.get("chart"):
            groups.setdefault(claim["chart"], []).append(claim)
    for group, members in groups.items():
        file_name = f"{name}-{group.replace(' ', '-')}.svg"
        charts[file_name] = chart_svg(f"{name}: {group}", members)
        lines += [f"![{name}: {group}](performance/{file_name})", ""]
    lines += [
        "| Claim | Shape | Figure | Passes | Spread | Control | Target | Verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for claim in claims:
        cells = [
            claim["claim"],
            claim.get("shape", "-"),
            _ratio_cell(claim),
            _passes_cell(claim),
            _spread_cell(claim),
            _control_cell(claim),
            _target_cell(claim),
            claim.get("verdict", "-"),
        ]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    measures = sorted({claim["measure"] for claim in claims if claim.get("measure")})
    lines += ["", "Measured as: " + "; ".join(measures) + "." if measures else "", ""]
    callgrind = record.get("callgrind")
    if isinstance(callgrind, dict) and callgrind:
        labels = list(next(iter(callgrind.values())))
        lines += [
            "Instructions per invocation under callgrind (noise-free second opinion):",
            "",
            "| Size | " + " | ".join(labels) + " |",
            "|---|" + "---|" * len(labels),
        ]
        for size, counts in callgrind.items():
            lines.append(f"| {size} | " + " | ".join(f"{counts[label]:,}" for label in labels) + " |")
        lines.append("")
    return lines


def _flat_verdicts(found: Any) -> list[tuple[str, str]]:
    if not isinstance(found, dict):
        return []
    rows: list[tuple[str, str]] = []
    for key, value in found.items():
        if isinstance(value, dict):
            shown = ", ".join(f"{inner}: {item}" for inner, item in value.items())
        elif isinstance(value, float):
            shown = f"{value:.4g}"
        else:
            shown = str(value)
        rows.append((str(key), shown))
    return rows


def _legacy_section(name: str, record: dict[str, Any]) -> list[str]:
    lines = [
        f"### {name}",
        "",
        f"Machine: {_machine(record)}. Measured {_provenance(record)}.",
        "",
        "Its record has no `claims` list yet, so this page cannot show its ratios with their",
        f"spread and control: read them in its printout, `benchmarks/results/{name}.txt`.",
        "",
    ]
    rows = _flat_verdicts(record.get("verdict", record.get("verdicts")))
    if rows:
        lines += ["| Recorded verdict | Value |", "|---|---|"]
        lines += [f"| {key} | {value.replace('|', '/')} |" for key, value in rows]
        lines.append("")
    return lines


def render(results_dir: Path = RESULTS_DIR) -> tuple[str, dict[str, str]]:
    """The page's Markdown and its charts (file name -> SVG text) for the records in ``results_dir``."""
    records = load_records(results_dir)
    charts: dict[str, str] = {}
    lines = [INTRODUCTION]
    with_claims = {name: record for name, record in records.items() if record.get("claims")}
    without = {name: record for name, record in records.items() if not record.get("claims")}
    for name, record in with_claims.items():
        lines += _claims_section(name, record, charts)
    if without:
        lines += [
            "## Benchmarks without a claims list",
            "",
            "These records do not (yet) state their claims in the form this page reads; until they",
            "do, the page lists where and when they ran and the verdicts they recorded.",
            "",
        ]
        for name, record in without.items():
            lines += _legacy_section(name, record)
    text = "\n".join(lines).rstrip("\n") + "\n"
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text, charts


def differences(results_dir: Path = RESULTS_DIR, page: Path = PAGE, chart_dir: Path = CHART_DIR) -> list[str]:
    """The files that are not what :func:`render` makes of ``results_dir`` (stale, missing or extra)."""
    text, charts = render(results_dir)
    stale: list[str] = []
    if not page.exists() or page.read_text(encoding="utf-8") != text:
        stale.append(str(page))
    for file_name, svg in charts.items():
        path = chart_dir / file_name
        if not path.exists() or path.read_text(encoding="utf-8") != svg:
            stale.append(str(path))
    if chart_dir.exists():
        stale += [str(path) for path in sorted(chart_dir.glob("*.svg")) if path.name not in charts]
    return stale


def write(results_dir: Path = RESULTS_DIR, page: Path = PAGE, chart_dir: Path = CHART_DIR) -> None:
    """Write the page and its charts; remove charts no record asks for any more."""
    text, charts = render(results_dir)
    page.write_text(text, encoding="utf-8")
    chart_dir.mkdir(parents=True, exist_ok=True)
    for path in chart_dir.glob("*.svg"):
        if path.name not in charts:
            path.unlink()
    for file_name, svg in charts.items():
        (chart_dir / file_name).write_text(svg, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the committed page or charts are stale"
    )
    args = parser.parse_args(argv)
    if args.check:
        stale = differences()
        for path in stale:
            print(f"stale: {path} (run python benchmarks/_report.py)")
        return 1 if stale else 0
    write()
    print(f"wrote {PAGE.relative_to(REPO_ROOT)} and {CHART_DIR.relative_to(REPO_ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
