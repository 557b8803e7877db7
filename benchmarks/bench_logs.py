"""``lambda-kit logs`` on a 1 GB export: throughput, and peak memory that does not grow with the file.

Writes a text export as ``aws logs tail`` prints it (START, END and REPORT lines,
a timestamp and the log stream first): one minute of steady traffic (2,000
invocations of 25 ms, one cold start in 50, with a burst of 40 concurrent invocations
of 1 s in every tenth minute; the peak is computed by brute force from the minute)
repeated minute after minute until the file is 1 GB. Each size is analysed in a
fresh process, and its peak resident memory while analysing is read from ``VmHWM``
after resetting it (``/proc/self/clear_refs``), so the import of the tool is not
counted. The lower bound is reading the same file line
by line and doing nothing with it.

Targets: peak memory for 1 GB within 64 MB of the peak for 64 MB (bounded memory:
the exact percentile buffers stop at 200,000 values, then a histogram with 1 %
buckets takes over), and the figures right: every invocation counted, and the peak.

Usage (from the repository root)::

    python benchmarks/bench_logs.py            # 64 MB and 1 GB; writes benchmarks/results/
    python benchmarks/bench_logs.py --quick    # 16 MB and 64 MB; writes nothing
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import REPO_ROOT, Output, machine_info, machine_lines

MINUTE_INVOCATIONS = 2000
BURST = 40

_PROBE = """
import gc, sys, time
sys.path.insert(0, sys.argv[2])
from lambda_kit_dev.logs import analyse

def status(field):
    with open("/proc/self/status") as lines:
        return next(int(line.split()[1]) for line in lines if line.startswith(field + ":"))

gc.collect()
with open("/proc/self/clear_refs", "w") as clear:
    clear.write("5")
before = status("VmRSS")
started = time.perf_counter()
if sys.argv[3] == "read":
    with open(sys.argv[1], encoding="utf-8", errors="replace") as lines:
        count = sum(1 for _ in lines)
    figures = [count, 0]
else:
    report = analyse([sys.argv[1]])
    figures = [report.reports, report.functions[0].concurrency["peak"]]
elapsed = time.perf_counter() - started
print(status("VmHWM") - before, elapsed, *figures)
"""


def intervals(burst: bool) -> list[tuple[int, int, bool]]:
    """(start ms, length ms, cold) of each invocation of a minute."""
    found = []
    for i in range(MINUTE_INVOCATIONS):
        if burst and i < BURST:  # 40 invocations of 1 s from second 10: all overlap
            found.append((10_000 + i, 1000, False))
        else:
            found.append((i * 30, 25, i % 50 == 25))
    return found


def expected_peak() -> int:
    """The burst minute's peak concurrency, by brute force (INIT of 180 ms before a cold start)."""
    events = []
    for start, length, cold in intervals(True):
        events += [(start - (180 if cold else 0), 1), (start + length, -1)]
    level = peak = 0
    for _, delta in sorted(events):
        level += delta
        peak = max(peak, level)
    return peak


def minute_block(burst: bool) -> str:
    lines = []
    for i, (start, length, init) in enumerate(intervals(burst)):
        end = start + length
        rid = f"8f5d7a3c-0000-4000-8000-{i:012d}"
        began = f"@@:{start // 1000:02d}.{start % 1000:03d}Z 2026/01/01/[$LATEST]0123456789abcdef"
        ended = f"@@:{end // 1000:02d}.{end % 1000:03d}Z 2026/01/01/[$LATEST]0123456789abcdef"
        report = (
            f"REPORT RequestId: {rid}\tDuration: {length:.2f} ms"
            f"\tBilled Duration: {length + (180 if init else 0)} ms"
            f"\tMemory Size: 512 MB\tMax Memory Used: {60 + i % 7} MB\t"
        )
        if init:
            report += "Init Duration: 180.00 ms\t"
        lines += [f"{began} START RequestId: {rid} Version: $LATEST", f"{ended} END RequestId: {rid}"]
        lines.append(f"{ended} {report}")
    # The burst's lines come in time order with the rest: sort by the line's time.
    lines.sort(key=lambda line: line[3:9])
    return "\n".join(lines) + "\n"


def write_export(path: Path, megabytes: int) -> int:
    """Minutes of traffic up to ``megabytes``; returns the invocations written."""
    plain, burst = minute_block(False), minute_block(True)
    size, minute = 0, 0
    with path.open("w", encoding="utf-8") as out:
        while size < megabytes << 20:
            day, rest = divmod(minute, 24 * 60)
            hour, m = divmod(rest, 60)
            block = burst if minute % 10 == 5 else plain
            out.write(block.replace("@@", f"2026-01-{day + 1:02d}T{hour:02d}:{m:02d}"))
            size += len(block)
            minute += 1
    return minute * MINUTE_INVOCATIONS


def probe(path: Path, mode: str) -> tuple[int, float, int, int]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(path), str(REPO_ROOT), mode],
        capture_output=True,
        text=True,
        check=True,
    )
    kb, elapsed, reports, peak = done.stdout.split()
    return int(kb), float(elapsed), int(reports), int(peak)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="16 MB and 64 MB; write nothing")
    args = parser.parse_args()
    sizes = (16, 64) if args.quick else (64, 1024)
    out = Output("bench_logs")
    info = machine_info()
    for line in machine_lines(info):
        out.line(line)
    out.line()
    record: dict[str, object] = {"machine": info, "sizes": {}}
    peaks: dict[int, int] = {}
    ok = True
    with tempfile.TemporaryDirectory(prefix="bench-logs-") as scratch:
        for megabytes in sizes:
            path = Path(scratch) / f"{megabytes}.log"
            started = time.perf_counter()
            written = write_export(path, megabytes)
            generated = time.perf_counter() - started
            read_kb, read_s, lines, _ = probe(path, "read")
            kb, seconds, reports, peak = probe(path, "analyse")
            path.unlink()
            mb_per_s = megabytes / seconds
            peaks[megabytes] = kb
            right = reports == written and peak == expected_peak()
            ok = ok and right
            out.line(
                f"  {megabytes:>5} MB  {written:>10,} invocations  analysed in {seconds:7.1f} s "
                f"({mb_per_s:5.1f} MB/s; reading alone {read_s:5.1f} s)  peak memory +{kb / 1024:6.1f} MB "
                f"(reading alone +{read_kb / 1024:.1f} MB)  figures {'right' if right else 'WRONG'} "
                f"(peak {peak}, {reports:,} REPORT records; written in {generated:.1f} s)"
            )
            record["sizes"][str(megabytes)] = {  # type: ignore[index]
                "invocations": written,
                "lines": lines,
                "analyse_s": seconds,
                "read_s": read_s,
                "mb_per_s": mb_per_s,
                "peak_memory_kb": kb,
                "read_peak_memory_kb": read_kb,
                "reports": reports,
                "peak_concurrency": peak,
            }
    small, large = sizes
    growth = (peaks[large] - peaks[small]) / 1024
    bounded = growth <= 64
    out.line()
    out.line(
        f"  peak memory {large} MB vs {small} MB: {growth:+.1f} MB (target <= +64 MB)  "
        f"{'ok' if bounded else 'MISSED'}"
    )
    record["memory_growth_mb"] = growth
    record["bounded"] = bounded
    record["figures_right"] = ok
    out.finish(record, quick=args.quick)
    return 0 if bounded and ok else 1


if __name__ == "__main__":
    sys.exit(main())
