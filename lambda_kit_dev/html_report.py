"""Self-contained HTML reports: figures, tables and charts as inline SVG drawn in Python.

A page needs nothing at view time: no script, no style sheet, no font or image from
the network; it opens from a file, an e-mail attachment or a CI artifact alike.
:class:`Page` takes plain data (numbers, strings, pairs) so that any command can
build one: :func:`bench_page` and :func:`logs_page` are two such pages, and a page
for ``lambda-kit load`` is a few calls of the same methods.

Every chart carries its figures twice: drawn, and as ``data-*`` attributes and text
(a ``<title>`` per bar, labels on the axes and on the peak), so that a reader, a
screen reader and a test can all check what it shows.

Example:
    >>> page = Page("lambda-kit load: app.handler")
    >>> page.add_figures("Summary", [("Requests", "1,000"), ("Throttled", "0")])
    >>> page.add_series("Concurrency", [("12:00", 3.0), ("12:01", 7.0)], unit="environments")
    >>> html = page.html()
    >>> html.startswith("<!DOCTYPE html>")
    True
"""

from __future__ import annotations

import html as _html
import math
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from lambda_kit_dev.bench import BenchResult
    from lambda_kit_dev.emulator._report import ImportTiming
    from lambda_kit_dev.logs import LogsReport

__all__ = ["Page", "bench_page", "import_waterfall", "logs_page", "write_page"]

_WIDTH = 720
_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:780px;
color:#1d232a;background:#fff}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px;border-bottom:1px solid #dde3ea}
p.sub{color:#56606b;margin:0 0 12px}table{border-collapse:collapse;margin:4px 0}
td,th{padding:3px 12px 3px 0;text-align:left;vertical-align:top}th{color:#56606b;font-weight:600}
td.n{text-align:right;font-variant-numeric:tabular-nums}svg{display:block;margin:6px 0}
svg text{font:11px system-ui,sans-serif;fill:#3b444d}.note{color:#56606b}.warn{color:#a33}
"""


def _e(text: object) -> str:
    return _html.escape(str(text), quote=True)


def _number(value: float) -> str:
    """A short label: 1,234 / 12.3 / 0.123."""
    if value == 0 or not math.isfinite(value):
        return "0" if value == 0 else "-"
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:,.1f}"
    return f"{value:.3g}"


class Page:
    """One report page; add sections in order, then :meth:`html`.

    Every ``add_*`` method takes plain data and an optional ``key``, the value of
    the section's ``data-chart`` (or ``data-table``) attribute, by which a test or a
    script finds it.
    """

    def __init__(self, title: str, subtitle: str = "") -> None:
        self.title = title
        self.subtitle = subtitle
        self._sections: list[str] = []

    def add_text(self, text: str, *, warning: bool = False) -> None:
        """A paragraph (escaped)."""
        self._sections.append(f'<p class="{"warn" if warning else "note"}">{_e(text)}</p>')

    def add_figures(self, title: str, rows: Sequence[tuple[str, str]], *, key: str = "figures") -> None:
        """A two-column table of named figures, already formatted."""
        body = "".join(
            f'<tr data-figure="{_e(name)}"><th>{_e(name)}</th><td class="n">{_e(value)}</td></tr>'
            for name, value in rows
        )
        self._sections.append(f'<h2>{_e(title)}</h2><table data-table="{_e(key)}">{body}</table>')

    def add_table(
        self, title: str, header: Sequence[str], rows: Sequence[Sequence[object]], *, key: str = "table"
    ) -> None:
        """A table; numbers are right-aligned."""
        head = "".join(f"<th>{_e(h)}</th>" for h in header)
        body = "".join(
            "<tr>"
            + "".join(
                f'<td class="n">{_e(c)}</td>' if isinstance(c, (int, float)) else f"<td>{_e(c)}</td>"
                for c in row
            )
            + "</tr>"
            for row in rows
        )
        self._sections.append(
            f'<h2>{_e(title)}</h2><table data-table="{_e(key)}"><tr>{head}</tr>{body}</table>'
        )

    def add_histogram(
        self,
        title: str,
        values: Sequence[float] | Sequence[tuple[float, int]],
        *,
        unit: str = "ms",
        bins: int = 24,
        key: str = "histogram",
    ) -> None:
        """A histogram of ``values`` (or of (value, count) pairs), in ``bins`` equal bins."""
        pairs: list[tuple[float, int]] = [
            (float(v[0]), int(v[1])) if isinstance(v, tuple) else (float(v), 1) for v in values
        ]
        pairs = [(v, n) for v, n in pairs if math.isfinite(v) and n > 0]
        total = sum(n for _, n in pairs)
        if not total:
            self._sections.append(f"<h2>{_e(title)}</h2><p class=note>No values.</p>")
            return
        low, high = min(v for v, _ in pairs), max(v for v, _ in pairs)
        width = (high - low) / bins if high > low else 1.0
        counts = [0] * bins
        for value, count in pairs:
            index = min(bins - 1, int((value - low) / width)) if high > low else 0
            counts[index] += count
        height, left, bottom = 160, 44, 28
        plot_w, plot_h = _WIDTH - left - 10, height - bottom - 10
        top = max(counts)
        bar_w = plot_w / bins
        bars = []
        for i, count in enumerate(counts):
            if not count:
                continue
            lo, hi = low + i * width, low + (i + 1) * width
            h = plot_h * count / top
            x, y = left + i * bar_w, 10 + plot_h - h
            bars.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(bar_w - 1, 1):.1f}" height="{h:.1f}" '
                'fill="#4a7fb5" '
                f'data-lo="{lo:.6g}" data-hi="{hi:.6g}" data-count="{count}">'
                f"<title>{_e(_number(lo))}-{_e(_number(hi))} {_e(unit)}: {count}</title></rect>"
            )
        axis = (
            f'<line x1="{left}" y1="{10 + plot_h}" x2="{left + plot_w}" y2="{10 + plot_h}" stroke="#888"/>'
            f'<text x="{left}" y="{height - 8}">{_e(_number(low))} {_e(unit)}</text>'
            f'<text x="{left + plot_w}" y="{height - 8}" text-anchor="end">'
            f"{_e(_number(high))} {_e(unit)}</text>"
            f'<text x="{left - 4}" y="18" text-anchor="end">{top}</text>'
            f'<text x="{left - 4}" y="{10 + plot_h}" text-anchor="end">0</text>'
        )
        self._sections.append(
            f"<h2>{_e(title)}</h2>"
            f'<svg role="img" aria-label="{_e(title)}" width="{_WIDTH}" height="{height}" '
            f'viewBox="0 0 {_WIDTH} {height}" data-chart="{_e(key)}" data-count="{total}" '
            f'data-min="{low:.6g}" data-max="{high:.6g}">{axis}{"".join(bars)}</svg>'
        )

    def add_series(
        self,
        title: str,
        points: Sequence[tuple[str, float]],
        *,
        unit: str = "",
        key: str = "series",
        line: Sequence[float] | None = None,
        line_label: str = "",
        limit: float | None = None,
    ) -> None:
        """Values over time as bars (``points`` are (label, value)); the peak is labelled.

        Args:
            line: A second series, drawn as a line over the bars (e.g. a mean).
            line_label: Its name in the legend.
            limit: A horizontal rule at this value (e.g. a quota), when it fits.
        """
        if not points:
            self._sections.append(f"<h2>{_e(title)}</h2><p class=note>No values.</p>")
            return
        if len(points) > 720:  # keep the page small: the maximum of each group of points
            step = math.ceil(len(points) / 720)
            points = [
                (points[i][0], max(v for _, v in points[i : i + step])) for i in range(0, len(points), step)
            ]
            if line is not None:
                line = [max(line[i : i + step]) for i in range(0, len(line), step)]
        height, left, bottom = 200, 44, 30
        plot_w, plot_h = _WIDTH - left - 10, height - bottom - 22
        peak_index = max(range(len(points)), key=lambda i: (points[i][1], -i))
        peak_label, peak = points[peak_index]
        scale_top = max(peak, max(line) if line else 0.0, limit if limit and limit < 4 * peak else 0.0) or 1.0
        bar_w = plot_w / len(points)
        parts = []
        for i, (label, value) in enumerate(points):
            h = plot_h * value / scale_top
            x, y = left + i * bar_w, 22 + plot_h - h
            parts.append(
                f'<rect x="{x:.2f}" y="{y:.2f}" width="{max(bar_w - 0.5, 0.5):.2f}" height="{h:.2f}" '
                f'fill="{"#c0504d" if i == peak_index else "#4a7fb5"}" data-x="{_e(label)}" '
                f'data-y="{value:.6g}">'
                f"<title>{_e(label)}: {_e(_number(value))} {_e(unit)}</title></rect>"
            )
        if line:
            coordinates = " ".join(
                f"{left + (i + 0.5) * bar_w:.2f},{22 + plot_h - plot_h * v / scale_top:.2f}"
                for i, v in enumerate(line)
            )
            parts.append(
                f'<polyline points="{coordinates}" fill="none" stroke="#e09b22" stroke-width="1.5" '
                f'data-line="{_e(line_label)}"/>'
            )
        if limit is not None and limit <= scale_top:
            y = 22 + plot_h - plot_h * limit / scale_top
            parts.append(
                f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#a33" '
                f'stroke-dasharray="4 3" data-limit="{limit:.6g}"/>'
            )
        peak_x = left + (peak_index + 0.5) * bar_w
        parts.append(
            f'<text x="{min(max(peak_x, left + 60), left + plot_w - 60):.1f}" y="14" text-anchor="middle" '
            f'data-peak-label="">peak {_e(_number(peak))} {_e(unit)} at {_e(peak_label)}</text>'
            f'<line x1="{left}" y1="{22 + plot_h}" x2="{left + plot_w}" y2="{22 + plot_h}" stroke="#888"/>'
            f'<text x="{left}" y="{height - 8}">{_e(points[0][0])}</text>'
            f'<text x="{left + plot_w}" y="{height - 8}" text-anchor="end">{_e(points[-1][0])}</text>'
            f'<text x="{left - 4}" y="30" text-anchor="end">{_e(_number(scale_top))}</text>'
        )
        legend = f'<p class="note">Bars: {_e(unit or "value")}'
        legend += f"; line: {_e(line_label)}" if line else ""
        legend += f"; dashed: {_e(_number(limit))}" if limit is not None and limit <= scale_top else ""
        self._sections.append(
            f"<h2>{_e(title)}</h2>"
            f'<svg role="img" aria-label="{_e(title)}" width="{_WIDTH}" height="{height}" '
            f'viewBox="0 0 {_WIDTH} {height}" data-chart="{_e(key)}" data-peak="{peak:.6g}" '
            f'data-peak-at="{_e(peak_label)}" data-points="{len(points)}">{"".join(parts)}</svg>{legend}.</p>'
        )

    def add_waterfall(
        self,
        title: str,
        rows: Sequence[tuple[str, float, float]] | Sequence[tuple[str, float, float, int]],
        *,
        unit: str = "ms",
        key: str = "waterfall",
    ) -> None:
        """Horizontal bars that start where they start: (label, start, length[, depth]) rows.

        A row's depth (0 by default) indents its label: an import made by the row above.
        """
        if not rows:
            self._sections.append(f"<h2>{_e(title)}</h2><p class=note>No values.</p>")
            return
        label_w, row_h = 220, 18
        plot_w = _WIDTH - label_w - 70
        end = max(float(row[1]) + float(row[2]) for row in rows) or 1.0
        height = row_h * len(rows) + 24
        parts = []
        for i, row in enumerate(rows):
            label, start, length = str(row[0]), float(row[1]), float(row[2])
            depth = int(row[3]) if len(row) > 3 else 0
            y = 4 + i * row_h
            x = label_w + plot_w * start / end
            w = max(plot_w * length / end, 1.0)
            parts.append(
                f'<text x="{label_w - 6}" y="{y + 12}" text-anchor="end">'
                f"{'· ' * depth}{_e(label[:34])}</text>"
                f'<rect x="{x:.1f}" y="{y + 2}" width="{w:.1f}" height="{row_h - 5}" fill="#4a7fb5" '
                f'data-label="{_e(label)}" data-start="{start:.6g}" data-length="{length:.6g}" '
                f'data-depth="{depth}">'
                f"<title>{_e(label)}: {_e(_number(length))} {_e(unit)} from "
                f"{_e(_number(start))} {_e(unit)}</title>"
                f"</rect>"
                f'<text x="{x + w + 4:.1f}" y="{y + 12}">{_e(_number(length))} {_e(unit)}</text>'
            )
        parts.append(
            f'<text x="{label_w}" y="{height - 4}">0</text>'
            f'<text x="{label_w + plot_w}" y="{height - 4}" text-anchor="end">'
            f"{_e(_number(end))} {_e(unit)}</text>"
        )
        self._sections.append(
            f"<h2>{_e(title)}</h2>"
            f'<svg role="img" aria-label="{_e(title)}" width="{_WIDTH}" height="{height}" '
            f'viewBox="0 0 {_WIDTH} {height}" data-chart="{_e(key)}" data-rows="{len(rows)}" '
            f'data-end="{end:.6g}">{"".join(parts)}</svg>'
        )

    def html(self) -> str:
        """The page: one self-contained HTML document."""
        subtitle = f'<p class="sub">{_e(self.subtitle)}</p>' if self.subtitle else ""
        return (
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(self.title)}</title><style>{_STYLE}</style></head><body>"
            f"<h1>{_e(self.title)}</h1>{subtitle}{''.join(self._sections)}</body></html>\n"
        )


def write_page(path: str | os.PathLike[str], page: str) -> None:
    """Write ``page`` (from :meth:`Page.html` or a ``*_page`` function) to ``path``."""
    from lambda_kit.exceptions import ConfigurationError

    try:
        with open(path, "w", encoding="utf-8") as file:
            file.write(page)
    except OSError as error:
        raise ConfigurationError(
            f"Cannot write the HTML report {os.fspath(path)!r}: {error.strerror}",
            setting="--html",
            value=path,
        ) from None


def import_waterfall(timings: Sequence[ImportTiming], *, limit: int = 30) -> list[dict[str, Any]]:
    """The INIT imports of a ``-X importtime`` profile as waterfall rows.

    ``-X importtime`` prints a module when its import ends, after what it imported;
    the time elapsed at that moment is the sum of the self times printed so far, so a
    module's import started its cumulative time before. Rows (``module``,
    ``start_ms`` from the interpreter's start, ``ms``, ``depth``) are the imports made
    after the runtime client's own (``awslambdaric``): the handler module and what
    it imports directly, the ``limit`` longest, in the order they started.
    """
    elapsed = 0.0
    rows: list[dict[str, Any]] = []
    after_runtime = False
    for timing in timings:
        elapsed += timing.self_us / 1000
        name = timing.module
        if timing.depth == 0 and (name == "awslambdaric" or name.startswith("awslambdaric.")):
            after_runtime, rows = True, []
            continue
        if timing.depth <= 1:
            start = elapsed - timing.cumulative_us / 1000
            rows.append(
                {"module": name, "start_ms": start, "ms": timing.cumulative_us / 1000, "depth": timing.depth}
            )
    if not after_runtime:
        return []
    longest = sorted(rows, key=lambda r: r["ms"], reverse=True)[:limit]
    # A module and its first import start together: the module first (times are rounded).
    return sorted(longest, key=lambda r: (round(r["start_ms"], 1), r["depth"]))


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f} ms"


def bench_page(result: BenchResult) -> str:
    """The page of one ``lambda-kit bench`` run (see :func:`lambda_kit_dev.bench.run_bench`)."""
    s = result.summary
    page = Page(
        f"lambda-kit bench: {result.handler}",
        f"{result.memory_mb} MB; {len(result.init_ms)} cold starts, {len(result.warm_duration_ms)} warm "
        f"invocations; {result.invocations - len(result.errors)} of {result.invocations} succeeded",
    )
    if result.errors:
        page.add_text(f"{len(result.errors)} invocation(s) failed; first: {result.errors[0]}", warning=True)
    page.add_figures(
        "Summary",
        [
            ("Init Duration p50", _ms(s.get("init_p50_ms"))),
            ("Init Duration p95", _ms(s.get("init_p95_ms"))),
            ("Cold Duration p50", _ms(s.get("cold_duration_p50_ms"))),
            ("Warm Duration p50", _ms(s.get("warm_p50_ms"))),
            ("Warm Duration p99", _ms(s.get("warm_p99_ms"))),
            ("Max Memory Used", f"{result.max_memory_mb} MB" if result.max_memory_mb else "n/a"),
        ],
    )
    waterfall = getattr(result, "import_waterfall", None)
    if waterfall:
        page.add_waterfall(
            "INIT import waterfall (-X importtime)",
            [(row["module"], row["start_ms"], row["ms"], row["depth"]) for row in waterfall],
            key="imports",
        )
    elif result.imports:
        page.add_waterfall(
            "Heaviest imports during INIT (cumulative, -X importtime)",
            [(t.module, 0.0, t.cumulative_us / 1000) for t in result.imports],
            key="imports",
        )
    page.add_histogram("Cold Duration", result.cold_duration_ms, key="cold-duration")
    page.add_histogram("Warm Duration", result.warm_duration_ms, key="warm-duration")
    cost = s.get("warm_cost_per_million_usd")
    gb_s = (
        (sum(result.billed_warm_ms) / len(result.billed_warm_ms) / 1000 * result.memory_mb / 1024)
        if (result.billed_warm_ms)
        else None
    )
    page.add_table(
        "Cost",
        ["", "per invocation", "per million invocations"],
        [
            [
                f"warm, {result.memory_mb} MB, x86_64",
                "-" if gb_s is None else f"{gb_s:.6f} GB-s",
                "-" if cost is None else f"${cost:,.2f}",
            ]
        ],
        key="cost",
    )
    p = result.projection
    if p is not None:
        page.add_figures(
            f"At {p.rps:,.0f} requests/s (Little's law, {p.basis} p99 {p.duration_ms:.2f} ms)",
            [("Concurrency", f"{p.concurrency:,.1f} of {p.concurrency_quota:,}")]
            + [(op, f"{f['rate'] or 0:,.0f}/s") for op, f in p.operations.items()],
            key="projection",
        )
        for warning in p.warnings:
            page.add_text(warning, warning=True)
    return page.html()


def logs_page(report: LogsReport) -> str:
    """The page of a ``lambda-kit logs`` analysis (see :func:`lambda_kit_dev.logs.analyse`)."""
    page = Page(
        "lambda-kit logs",
        f"{len(report.files)} file(s), {report.lines:,} lines, {report.reports:,} REPORT records, "
        f"{report.bad:,} unreadable",
    )
    for s in report.functions:
        name = f"{s.function} ({s.version or 'version unknown'})"
        c = s.concurrency
        rows = [
            ("Function", name),
            ("Invocations", f"{s.invocations:,}"),
            ("Errors / timeouts", f"{s.errors:,} / {s.timeouts:,}"),
            ("Cold starts", f"{s.cold_starts:,} ({(s.cold_start_share or 0):.1%})"),
            ("Duration p50 / p99", f"{_ms(s.duration_ms['p50'])} / {_ms(s.duration_ms['p99'])}"),
            ("Init Duration p50", _ms(s.init_ms["p50"])),
            (
                "Max Memory Used p99",
                f"{_number(s.max_memory_used_mb['p99'] or 0)} MB of {s.memory_size_mb} MB",
            ),
        ]
        if c["peak"] is not None:
            rows += [
                ("Peak concurrency", f"{c['peak']} at {c['peak_minute']}"),
                ("p99 / mean concurrency", f"{c['p99']} / {c['mean']:.2f}"),
                ("Little's law (rate x mean occupancy)", f"{c['littles_law']:.2f}"),
            ]
        page.add_figures(name, rows, key=f"figures:{name}")
        if c["per_minute"]:
            page.add_series(
                f"Concurrency per minute: {name}",
                [(m["minute"], float(m["peak"])) for m in c["per_minute"]],
                unit="concurrent",
                line=[m["insights"] for m in c["per_minute"]],
                line_label="mean per minute (Logs Insights)",
                key="concurrency",
            )
        page.add_histogram(f"Init Duration: {name}", s.histograms.get("init_ms", []), key="init")
        page.add_histogram(
            f"Cold Duration: {name}", s.histograms.get("cold_duration_ms", []), key="cold-duration"
        )
        page.add_histogram(
            f"Warm Duration: {name}", s.histograms.get("warm_duration_ms", []), key="warm-duration"
        )
        cost, sizing = s.cost, s.right_sizing
        cost_rows: list[list[object]] = []
        if cost["per_million_usd"] is not None:
            cost_rows.append(
                [
                    f"now: {cost['memory_mb']} MB",
                    f"{cost['mean_billed_ms']:,.1f} ms",
                    f"${cost['per_million_usd']:,.2f}",
                ]
            )
        if sizing["per_million_usd_range"] and sizing["action"] != "keep":
            low, high = sizing["per_million_usd_range"]
            d_low, d_high = sizing["duration_p50_ms_range"]
            cost_rows.append(
                [
                    f"suggested: {sizing['suggested_mb']} MB",
                    f"p50 {d_low:,.1f} to {d_high:,.1f} ms",
                    f"${low:,.2f} to ${high:,.2f}",
                ]
            )
        page.add_table(
            f"Cost ({cost['architecture']}, INIT billed): {name}",
            ["memory", "billed / duration", "per million invocations"],
            cost_rows,
            key="cost",
        )
        page.add_text(sizing["note"])
    page.add_text("CloudWatch Logs Insights query for the per-minute concurrency: " + report.insights_query)
    return page.html()
