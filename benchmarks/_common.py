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
import gc
import json
import math
import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

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
    # What `make bench` itself writes (results, the performance page) does not make the tree dirty.
    status = _git(
        "status",
        "--porcelain",
        "--untracked-files=no",
        "--",
        ".",
        ":!benchmarks/results",
        ":!docs/performance.md",
    )
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
        self._stream = sys.stdout  # where lines go, even while a section silences sys.stdout

    def line(self, text: str = "") -> None:
        print(text, file=self._stream, flush=True)
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


# -- paired rounds of CPU time ------------------------------------------------------------------

CONTROL_TOLERANCE = 0.03  # an identical pair further apart than this voids the pass


def paired_rounds(
    contenders: dict[str, Callable[[], object]],
    *,
    rounds: int,
    passes: int = 2,
    batch_seconds: float = 0.01,
) -> list[dict[str, list[float]]]:
    """CPU seconds per call of each contender, per round, in ``passes`` independent passes.

    Each round times one batch of every contender back to back (the order rotated each
    round), on ``time.thread_time()``, so ratios are taken within a round, where the
    machine's state is the same for all. The first contender is timed twice per round,
    as itself and as ``"<first> (control)"``: the identical pair whose ratio shows the
    noise floor (see :func:`control_summary`). Each contender's batch is sized once to
    about ``batch_seconds``.
    """
    return _paired(contenders, rounds, passes, batch_seconds, time.thread_time, warm_up=20, least=(10, 5))


def _paired(
    contenders: dict[str, Callable[[], object]],
    rounds: int,
    passes: int,
    batch_seconds: float,
    clock: Callable[[], float],
    *,
    warm_up: int,
    least: tuple[int, int],
) -> list[dict[str, list[float]]]:
    """The rounds of :func:`paired_rounds` on ``clock``: ``warm_up`` calls first, then batches
    sized from at least ``least[0]`` calls to no fewer than ``least[1]`` calls."""
    first = next(iter(contenders))
    tasks = [*contenders.items(), (f"{first} (control)", contenders[first])]
    calls: dict[str, int] = {}
    for label, function in tasks[:-1]:  # the control is the first contender: sized with it
        for _ in range(warm_up):  # caches, first-call costs, first connections
            function()
        began, count = clock(), 0
        while clock() - began < batch_seconds / 4 or count < least[0]:
            function()
            count += 1
        spent = max(clock() - began, 1e-9)
        calls[label] = max(least[1], round(count * batch_seconds / spent))
    calls[tasks[-1][0]] = calls[first]
    results: list[dict[str, list[float]]] = []
    for _ in range(passes):
        series: dict[str, list[float]] = {label: [] for label, _ in tasks}
        for turn in range(rounds):
            shift = turn % len(tasks)
            for label, function in tasks[shift:] + tasks[:shift]:
                count = calls[label]
                gc.collect()
                began = clock()
                for _ in range(count):
                    function()
                series[label].append((clock() - began) / count)
        results.append(series)
    return results


def paired_ratio(passes: list[dict[str, list[float]]], numerator: str, denominator: str) -> dict[str, Any]:
    """``numerator``'s time over ``denominator``'s, per round: each pass's median and quartiles.

    ``worst`` is the largest pass median (the figure to quote for "at most"), ``best``
    the smallest (quote it for "at least"); ``spread`` is the largest over the smallest.
    """
    medians: list[float] = []
    found: list[dict[str, float]] = []
    for series in passes:
        ratios = [top / bottom for top, bottom in zip(series[numerator], series[denominator], strict=True)]
        medians.append(median(ratios))
        found.append(
            {
                "median": round(median(ratios), 4),
                "p25": round(percentile(ratios, 25), 4),
                "p75": round(percentile(ratios, 75), 4),
            }
        )
    return {
        "passes": found,
        "worst": round(max(medians), 4),
        "best": round(min(medians), 4),
        "spread": round(max(medians) / min(medians), 4),
    }


def control_summary(passes: list[dict[str, list[float]]]) -> dict[str, Any]:
    """The identical pair of :func:`paired_rounds`: its ratio per pass, and whether each pass holds."""
    control = next(label for label in passes[0] if label.endswith(" (control)"))
    first = control.removesuffix(" (control)")
    ratio = paired_ratio(passes, control, first)
    medians = [entry["median"] for entry in ratio["passes"]]
    return {
        **ratio,
        "tolerance": CONTROL_TOLERANCE,
        "holds": [abs(value - 1) <= CONTROL_TOLERANCE for value in medians],
    }


def control_line(control: dict[str, Any]) -> str:
    """The control as one line: each pass's ratio, and VOID for a pass off by more than 3 %."""
    shown = ", ".join(
        f"{entry['median']:.3f} (IQR {entry['p25']:.3f}-{entry['p75']:.3f})" + ("" if holds else " VOID")
        for entry, holds in zip(control["passes"], control["holds"], strict=True)
    )
    return f"control : identical pair {shown}; must be within 1 +/- {control['tolerance']:.2f}"


def per_call_us(passes: list[dict[str, list[float]]], label: str) -> list[float]:
    """The median CPU microseconds per call of ``label``, one per pass."""
    return [round(median(series[label]) * 1e6, 3) for series in passes]


# -- wall time in paired rounds, imports, claims (shared by the secrets, protobuf and HTTP benches) --

RUNTIME_PRELOAD = "import awslambdaric.bootstrap"  # what the Python runtime has loaded before the handler


def paired_wall_rounds(
    contenders: dict[str, Callable[[], object]],
    *,
    rounds: int,
    passes: int = 2,
    batch_seconds: float = 0.05,
) -> list[dict[str, list[float]]]:
    """:func:`paired_rounds` on wall time (``time.perf_counter()``), for where waiting is the point.

    The same rounds (every contender back to back, the order rotated each round, the
    first contender timed twice as the identical-pair control), for a network round
    trip or a handshake, whose cost is mostly time spent waiting, which CPU time leaves out.
    """
    return _paired(contenders, rounds, passes, batch_seconds, time.perf_counter, warm_up=3, least=(5, 3))


def scaled(passes: list[dict[str, list[float]]], per_call: dict[str, int]) -> list[dict[str, list[float]]]:
    """``passes`` with each label's times divided by its operations per call (its control's too).

    For contenders that each run a block of ``per_call[label]`` operations per call, to
    keep a function call's own cost out of a figure of a few nanoseconds.
    """
    divisor = {**per_call, **{f"{label} (control)": count for label, count in per_call.items()}}
    return [
        {label: [value / divisor.get(label, 1) for value in values] for label, values in series.items()}
        for series in passes
    ]


def bytecode_env() -> dict[str, str]:
    """The environment of a fresh interpreter that loads (and writes) cached bytecode, as deployed."""
    return {
        name: value
        for name, value in os.environ.items()
        if name != "PYTHONDONTWRITEBYTECODE" and not name.startswith(("COV_CORE_", "COVERAGE_"))
    }


def import_times(
    tasks: dict[str, tuple[str, str]],
    *,
    starts: int,
    flags: dict[str, list[str]] | None = None,
    env: dict[str, str] | None = None,
) -> dict[str, list[float]]:
    """Wall milliseconds of each import statement in a fresh interpreter, ``starts`` each, interleaved.

    ``tasks`` maps a label to ``(statement, preload)``: ``preload`` runs first, untimed
    (``RUNTIME_PRELOAD`` for "the runtime's modules loaded", ``""`` for a bare
    interpreter). Each task runs once first, unmeasured, to write the bytecode caches;
    the order is rotated from one start to the next. ``flags`` adds interpreter options
    per label; ``env`` replaces the environment (default: the bench's, bytecode enabled).
    """
    environment = bytecode_env() if env is None else env
    labels = list(tasks)

    def once(label: str) -> float:
        statement, preload = tasks[label]
        code = (
            f"{preload}\nimport time as _t\n_start = _t.perf_counter()\n{statement}\n"
            "print((_t.perf_counter() - _start) * 1000.0)\n"
        )
        done = subprocess.run(
            [sys.executable, *(flags or {}).get(label, []), "-c", code],
            capture_output=True,
            text=True,
            env=environment,
            cwd=REPO_ROOT,
            check=True,
        )
        return float(done.stdout.strip().splitlines()[-1])

    for label in labels:
        once(label)
    found: dict[str, list[float]] = {label: [] for label in labels}
    for turn in range(starts):
        shift = turn % len(labels)
        for label in labels[shift:] + labels[:shift]:
            found[label].append(once(label))
    return found


def load_now() -> list[float] | None:
    """The load average now (for the end of a run; :func:`machine_info` records the start)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def ratio_verdict(figure: float, target: float | None, *, at_least: bool = False) -> str:
    """PASS or MISS for a ratio against its target (``at_least``: the ratio must reach it); ``-`` without."""
    if target is None:
        return "-"
    return "PASS" if (figure >= target if at_least else figure <= target) else "MISS"


def ratio_text(
    label: str, ratio: dict[str, Any], target: float | None = None, *, at_least: bool = False
) -> str:
    """One :func:`paired_ratio` as a line: the quoted pass, every pass with its IQR, target and verdict."""
    passes = ", ".join(
        f"x{entry['median']:.2f} (IQR {entry['p25']:.2f}-{entry['p75']:.2f})" for entry in ratio["passes"]
    )
    figure = ratio["best"] if at_least else ratio["worst"]
    aim = "" if target is None else f"  target {'>=' if at_least else '<='} x{target:.2f}"
    shown = ratio_verdict(figure, target, at_least=at_least) if target is not None else ""
    return f"  {label:<48} x{figure:6.2f}  passes {passes}{aim}  {shown}".rstrip()


def ratio_claim(
    claim: str,
    ratio: dict[str, Any],
    control: dict[str, Any],
    *,
    shape: str,
    measure: str,
    target: float | None = None,
    at_least: bool = False,
    chart: str | None = None,
) -> dict[str, Any]:
    """A ratio claim for ``_report.py``: the pass quoted is the worse for the target's direction.

    Its verdict is VOID when the identical-pair control failed in a pass.
    """
    figure = ratio["best"] if at_least else ratio["worst"]
    found: dict[str, Any] = {
        "claim": claim,
        "shape": shape,
        "measure": measure,
        "ratio": figure,
        "passes": [entry["median"] for entry in ratio["passes"]],
        "iqr": [[entry["p25"], entry["p75"]] for entry in ratio["passes"]],
        "spread": ratio["spread"],
        "direction": "at_least" if at_least else "at_most",
        "target": target,
        "verdict": "VOID"
        if target is not None and not all(control["holds"])
        else ratio_verdict(figure, target, at_least=at_least),
        "control": [entry["median"] for entry in control["passes"]],
    }
    if chart is not None:
        found["chart"] = chart
    return found


def value_claim(
    claim: str,
    values: list[float],
    *,
    shape: str,
    measure: str,
    unit: str,
    target: float | None = None,
    figure: float | None = None,
    digits: int = 3,
) -> dict[str, Any]:
    """An absolute claim for ``_report.py``: ``figure`` (default: the median of ``values``) with p10-p90.

    The verdict is PASS when the figure is below ``target``.
    """
    quoted = median(values) if figure is None else figure
    return {
        "claim": claim,
        "shape": shape,
        "measure": measure,
        "value": round(quoted, digits),
        "p10_p90": [round(percentile(values, 10), digits), round(percentile(values, 90), digits)],
        "unit": unit,
        "target": target,
        "verdict": "-" if target is None else ("PASS" if quoted < target else "MISS"),
    }


def verdict_summary(claims: list[dict[str, Any]]) -> str:
    """The verdict line: targets met out of those set, then each miss and each void claim by name."""
    aimed = [claim for claim in claims if claim.get("target") is not None]
    met = sum(claim["verdict"] == "PASS" for claim in aimed)

    def named(claim: dict[str, Any]) -> str:
        figure = f"x{claim['ratio']:.2f}" if "ratio" in claim else f"{claim['value']:.3f} {claim['unit']}"
        sign = ">=" if claim.get("direction") == "at_least" else ("<=" if "ratio" in claim else "<")
        return f"{claim['claim']} ({claim['shape']}): {figure}, target {sign} {claim['target']:g}"

    listed = "; ".join(f"{claim['verdict']} {named(claim)}" for claim in aimed)
    voided = [claim for claim in aimed if claim["verdict"] == "VOID"]
    return f"verdict : {met}/{len(aimed)} targets met: {listed}" + (
        f" ({len(voided)} void: control off by more than 3 %)" if voided else ""
    )
