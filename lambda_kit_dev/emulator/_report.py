"""What Lambda reports for one invocation: the START / END / REPORT log lines."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["ImportTiming", "Invocation", "Report"]


@dataclass(frozen=True)
class Report:
    """The figures of Lambda's REPORT line for one invocation.

    Attributes:
        request_id: The invocation's ``aws_request_id``.
        duration_ms: From the event being handed to the runtime to its response or
            error being posted (the configured timeout when the invocation timed out).
        billed_duration_ms: ``duration_ms`` rounded up to the next millisecond; on a
            cold start it includes ``init_duration_ms``, as on-demand Lambda bills
            INIT since August 2025.
        memory_size_mb: The configured memory.
        max_memory_used_mb: The environment's peak resident memory so far (VmHWM), or
            ``None`` where ``/proc`` is not available.
        init_duration_ms: Process spawn to the runtime's first ``/next``; ``None`` on a
            warm invocation.
        status: ``None`` on success, ``"error"`` or ``"timeout"`` otherwise.
        error_type: The ``errorType`` that Lambda appends when ``status`` is ``"error"``.
        function_version: Shown in the START line.
        init_status: ``"error"`` or ``"timeout"`` when INIT failed (Lambda then logs an
            ``INIT_REPORT`` line before START), else ``None``.
        restore_duration_ms: SnapStart: from the restore of the snapshot to the runtime's
            first ``/next``, after-restore hooks included (cold starts only; such an
            invocation has no Init Duration).
        cpu_share: The CPU share the invocation ran with, in vCPUs, as measured when
            the emulator calibrated it (``Emulator(limits=True)``); ``None`` when the
            CPU was not limited (the machine's whole CPU).
        limits_notice: What of Lambda's CPU share and memory limit the invocation did
            not have, and why (limits off, no cgroup rights, macOS, a share capped at
            this machine's CPUs); ``None`` when it had both.
        init_gc_ms: Time the garbage collector ran during INIT (cold starts only;
            ``None`` where it was not observed, as in a SnapStart restore).
        init_gc_collections: INIT's collections per generation, the last (2) full.
        gc_ms: Time the garbage collector ran during this invocation.
    """

    request_id: str
    duration_ms: float
    billed_duration_ms: int
    memory_size_mb: int
    max_memory_used_mb: int | None
    init_duration_ms: float | None = None
    status: str | None = None
    error_type: str | None = None
    function_version: str = "$LATEST"
    init_status: str | None = None
    restore_duration_ms: float | None = None
    cpu_share: float | None = None
    limits_notice: str | None = None
    init_gc_ms: float | None = None
    init_gc_collections: tuple[int, int, int] | None = None
    gc_ms: float | None = None

    @staticmethod
    def billed(duration_ms: float, init_duration_ms: float | None) -> int:
        """Billed milliseconds: the duration (plus INIT on a cold start), rounded up."""
        total = duration_ms + (init_duration_ms or 0.0)
        return max(1, math.ceil(round(total, 6)))

    @property
    def cold(self) -> bool:
        """Whether this invocation started a new execution environment (INIT or a restore)."""
        return self.init_duration_ms is not None or self.restore_duration_ms is not None

    def start_line(self) -> str:
        """``START RequestId: <id> Version: $LATEST``."""
        return f"START RequestId: {self.request_id} Version: {self.function_version}"

    def end_line(self) -> str:
        """``END RequestId: <id>``."""
        return f"END RequestId: {self.request_id}"

    def report_line(self) -> str:
        """The REPORT line, tab-separated and tab-terminated as Lambda writes it."""
        memory = "n/a" if self.max_memory_used_mb is None else str(self.max_memory_used_mb)
        fields = [
            f"REPORT RequestId: {self.request_id}",
            f"Duration: {self.duration_ms:.2f} ms",
            f"Billed Duration: {self.billed_duration_ms} ms",
            f"Memory Size: {self.memory_size_mb} MB",
            f"Max Memory Used: {memory} MB",
        ]
        if self.init_duration_ms is not None:
            fields.append(f"Init Duration: {self.init_duration_ms:.2f} ms")
        if self.restore_duration_ms is not None:
            fields.append(f"Restore Duration: {self.restore_duration_ms:.2f} ms")
        if self.status is not None:
            fields.append(f"Status: {self.status}")
            if self.error_type is not None and self.status == "error":
                fields.append(f"Error Type: {self.error_type}")
        return "\t".join(fields) + "\t"

    def init_report_line(self) -> str | None:
        """Lambda's ``INIT_REPORT`` line for a failed INIT, or None when INIT did not fail.

        ``INIT_REPORT Init Duration: 1236.04 ms\tPhase: init\tStatus: error\tError Type: ...``
        """
        if self.init_status is None:
            return None
        fields = [
            f"INIT_REPORT Init Duration: {self.init_duration_ms or 0.0:.2f} ms",
            "Phase: init",
            f"Status: {self.init_status}",
        ]
        if self.init_status == "error" and self.error_type is not None:
            fields.append(f"Error Type: {self.error_type}")
        return "\t".join(fields)

    def lines(self) -> list[str]:
        """START, END and REPORT lines (after an INIT_REPORT line when INIT failed)."""
        init_report = self.init_report_line()
        lines = [self.start_line(), self.end_line(), self.report_line()]
        return lines if init_report is None else [init_report, *lines]


@dataclass(frozen=True)
class ImportTiming:
    """One module's line from ``python -X importtime``, in microseconds."""

    module: str
    self_us: int
    cumulative_us: int
    depth: int


@dataclass(frozen=True)
class Invocation:
    """The outcome of one emulated invocation.

    Attributes:
        request_id: The invocation's request id.
        payload: The response body exactly as the runtime posted it; for a function
            error, the error document Lambda returns to the caller.
        content_type: The response's content type as posted by the runtime.
        error: ``errorType`` / ``errorMessage`` / ``stackTrace`` when the function
            failed (handler exception, import error, timeout, crash), else ``None``.
        report: The figures of the REPORT line.
        output: The function's stdout and stderr during the invocation.
        init_output: Its output during INIT (cold starts only; empty otherwise).
        aws_calls: AWS API calls made during the invocation, ``"service.Operation"``
            to count (when the emulator counts calls).
        init_aws_calls: AWS API calls made during INIT (cold starts only).
        imports: ``-X importtime`` figures of INIT, when the emulator profiles imports.
    """

    request_id: str
    payload: bytes
    content_type: str
    error: dict[str, Any] | None
    report: Report
    output: str = ""
    init_output: str = ""
    aws_calls: dict[str, int] = field(default_factory=dict)
    init_aws_calls: dict[str, int] = field(default_factory=dict)
    imports: tuple[ImportTiming, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the function returned a response (no error, no timeout)."""
        return self.error is None

    @property
    def cold(self) -> bool:
        """Whether this invocation was a cold start."""
        return self.report.cold

    def json(self) -> Any:
        """The payload parsed as JSON."""
        return json.loads(self.payload)

    @property
    def log(self) -> str:
        """The invocation's log as CloudWatch Logs would show it."""
        parts: list[str] = []
        if self.init_output:
            parts.append(self.init_output.rstrip("\n"))
        init_report = self.report.init_report_line()
        if init_report is not None:
            parts.append(init_report)
        parts.append(self.report.start_line())
        if self.output:
            parts.append(self.output.rstrip("\n"))
        parts.append(self.report.end_line())
        parts.append(self.report.report_line())
        return "\n".join(parts) + "\n"
