"""Shared helpers for the benchmarks: machine facts, statistics, result files.

Every benchmark prints medians and ratios against a hand-written lower bound with
the target beside them, and leaves a JSON record and a text copy of what it printed
in ``benchmarks/results/``, stamped with the machine and the versions it ran on.

Example:
    >>> out = Output("bench_example")
    >>> out.line(ratio_line("warm round trip", 0.42, 0.28, target=1.0))  # doctest: +SKIP
    >>> out.write({"warm": {"median_ms": 0.42}})  # doctest: +SKIP
"""

from __future__ import annotations

import datetime
import json
import math
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"

# `python benchmarks/bench_x.py` puts benchmarks/ on sys.path, not the repo root;
# the editable install usually covers lambda_kit, this covers a plain checkout.
if str(REPO_ROOT) not in sys.path:
    sys.path.append(str(REPO_ROOT))


def package_version(name: str) -> str | None:
    """The installed distribution's version, or None when it is not installed."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(REPO_ROOT), *args],  # noqa: S607 - git from PATH, read-only queries
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def machine_info(packages: tuple[str, ...] = ("lambda-perf-kit", "awslambdaric")) -> dict[str, Any]:
    """Where a result came from: platform, CPU, Python and the packages measured."""
    commit = _git("rev-parse", "--short", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no")
    try:
        usable_cpus: int | None = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable_cpus = os.cpu_count()
    try:
        load: list[float] | None = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    return {
        "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "usable_cpus": usable_cpus,
        "load_average": load,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "executable": sys.executable,
        "versions": {name: package_version(name) for name in packages},
        "git_commit": None if commit is None else commit + ("-dirty" if status else ""),
    }


def machine_lines(info: dict[str, Any]) -> list[str]:
    """The machine record as a few human-readable lines."""
    versions = ", ".join(f"{name} {version or 'not installed'}" for name, version in info["versions"].items())
    return [
        f"machine : {info['platform']} ({info['machine']}), {info['cpu_model']}",
        f"cpus    : {info['cpu_count']} ({info['usable_cpus']} usable), load average {info['load_average']}",
        f"python  : {info['python']} ({info['executable']})",
        f"versions: {versions}; git {info['git_commit']}; {info['date_utc']}",
    ]


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank ``q``-th percentile (0 < q <= 100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: list[float]) -> float:
    """The median (mean of the middle two for an even count); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def summary(values: list[float], digits: int = 4) -> dict[str, float | int]:
    """Count, median, p10/p90/p99, min and max of ``values``, rounded for a JSON record."""
    return {
        "n": len(values),
        "median": round(median(values), digits),
        "p10": round(percentile(values, 10), digits),
        "p90": round(percentile(values, 90), digits),
        "p99": round(percentile(values, 99), digits),
        "min": round(min(values), digits) if values else math.nan,
        "max": round(max(values), digits) if values else math.nan,
    }


def verdict(value: float, target: float | None) -> str:
    """PASS when ``value`` is at most ``target``, MISS otherwise, ``-`` without a target."""
    if target is None:
        return "-"
    return "PASS" if value <= target else "MISS"


def ratio_line(
    label: str,
    value: float,
    bound: float,
    *,
    target: float | None = None,
    unit: str = "ms",
) -> str:
    """One result against its lower bound: value, bound, ratio, excess, target, verdict."""
    ratio = value / bound if bound > 0 else math.inf
    target_text = f"target <= {target:.3f} {unit}" if target is not None else "no target"
    return (
        f"  {label:<48} {value:8.3f} {unit}  bound {bound:8.3f} {unit}  x{ratio:5.2f}"
        f"  ({value - bound:+.3f} {unit})  {target_text:<20} {verdict(value, target)}"
    )


def value_line(label: str, value: float, *, unit: str = "ms", note: str = "") -> str:
    """One figure without a bound (context for the ratio lines)."""
    return f"  {label:<48} {value:8.3f} {unit}  {note}".rstrip()


class Output:
    """Prints lines and keeps them, to write a text copy beside the JSON record."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.lines: list[str] = []

    def line(self, text: str = "") -> None:
        print(text, flush=True)
        self.lines.append(text)

    def paths(self) -> tuple[Path, Path]:
        """Where :meth:`write` puts the JSON record and the text copy."""
        return RESULTS_DIR / f"{self.name}.json", RESULTS_DIR / f"{self.name}.txt"

    def write(self, record: dict[str, Any]) -> tuple[Path, Path]:
        """Write ``results/<name>.json`` (the record) and ``results/<name>.txt`` (the printout)."""
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        json_path, text_path = self.paths()
        json_path.write_text(json.dumps(record, indent=2, sort_keys=False) + "\n", encoding="utf-8")
        text_path.write_text("\n".join(self.lines) + "\n", encoding="utf-8")
        return json_path, text_path

    def finish(self, record: dict[str, Any], *, quick: bool) -> None:
        """Write the record and say where, or say that a ``--quick`` run writes nothing."""
        if quick:
            self.line("results : not written (--quick)")
            return
        json_path, text_path = self.paths()
        self.line(f"results : {json_path.relative_to(REPO_ROOT)}, {text_path.relative_to(REPO_ROOT)}")
        self.write(record)
