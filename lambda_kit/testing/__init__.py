"""Helpers for unit-testing Lambda handlers locally, without AWS.

* :class:`FakeContext`: a Lambda context with the real attribute names and a
  remaining-time clock that counts down from a deadline.
* :func:`simulate_snapshot` / :func:`simulate_restore`: fire the SnapStart hooks
  registered through :mod:`lambda_kit.lifecycle`, as the runtime would.
* :func:`reset_lifecycle`: forget every invocation and hook, so each test starts
  in a fresh execution environment.

Example:
    >>> from lambda_kit.testing import FakeContext
    >>> context = FakeContext(function_name="orders", timeout_s=3)
    >>> 0 < context.get_remaining_time_in_millis() <= 3000
    True
"""

from __future__ import annotations

import math
import time
import uuid

from lambda_kit import lifecycle
from lambda_kit._util import lazy_exports

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from lambda_kit.testing._metrics import CapturedMetrics, MetricRecord, capture_metrics, metrics_capture

__all__ = [
    "CapturedMetrics",
    "FakeContext",
    "MetricRecord",
    "capture_metrics",
    "invoke",
    "metrics_capture",
    "reset_lifecycle",
    "simulate_restore",
    "simulate_snapshot",
]

# Loaded on first use (the fixture imports pytest).
__getattr__, __dir__ = lazy_exports(
    __name__,
    dict.fromkeys(
        ("CapturedMetrics", "MetricRecord", "capture_metrics", "metrics_capture"),
        "lambda_kit.testing._metrics",
    ),
)


class FakeContext:
    """A stand-in for the context object the Lambda Python runtime passes a handler.

    Args:
        function_name: ``AWS_LAMBDA_FUNCTION_NAME``.
        memory_mb: The configured memory (``memory_limit_in_mb``).
        timeout_s: Seconds from creation to the deadline.
        request_id: ``aws_request_id``; a fresh UUID by default.
        function_version: ``$LATEST`` or a published version.
        region: Used in ``invoked_function_arn``.
        account_id: Used in ``invoked_function_arn``.
        clock: Returns the current time in seconds since the epoch; inject a fake
            one to make ``get_remaining_time_in_millis`` deterministic.
    """

    def __init__(
        self,
        *,
        function_name: str = "test-function",
        memory_mb: int = 128,
        timeout_s: float = 3.0,
        request_id: str | None = None,
        function_version: str = "$LATEST",
        region: str = "us-east-1",
        account_id: str = "123456789012",
        clock: Callable[[], float] = time.time,
    ) -> None:
        if memory_mb < 128 or memory_mb > 10240:
            raise ValueError(f"memory_mb={memory_mb} is outside Lambda's 128-10240 MB range.")
        if not math.isfinite(timeout_s) or timeout_s <= 0:
            raise ValueError(f"timeout_s={timeout_s} must be a finite number of seconds > 0.")
        self.function_name = function_name
        self.function_version = function_version
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = request_id or str(uuid.uuid4())
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{account_id}:function:{function_name}"
        self.log_group_name = f"/aws/lambda/{function_name}"
        day = time.strftime("%Y/%m/%d", time.gmtime(clock()))
        self.log_stream_name = f"{day}/[{function_version}]{uuid.uuid4().hex}"
        self.identity = None
        self.client_context = None
        self.tenant_id: str | None = None
        self._clock = clock
        self._deadline_ms = clock() * 1000.0 + timeout_s * 1000.0

    @property
    def deadline_ms(self) -> float:
        """The invocation's deadline in milliseconds since the epoch."""
        return self._deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left until the deadline, never below zero."""
        return max(0, int(self._deadline_ms - self._clock() * 1000.0))

    def __repr__(self) -> str:
        return f"FakeContext(function_name={self.function_name!r}, aws_request_id={self.aws_request_id!r})"


def invoke(handler: Callable[[Any, Any], Any], event: Any, context: Any = None, **context_args: Any) -> Any:
    """Call ``handler(event, context)`` as the runtime would, with a :class:`FakeContext`.

    Args:
        handler: The Lambda handler.
        event: The event (see :mod:`lambda_kit.testing.events` for realistic ones).
        context: A context to pass instead of a new :class:`FakeContext`.
        **context_args: Arguments for the new :class:`FakeContext`.

    Example:
        >>> from lambda_kit.testing import events, invoke
        >>> invoke(lambda event, context: context.function_name, events.sqs([]), function_name="jobs")
        'jobs'
    """
    return handler(event, context if context is not None else FakeContext(**context_args))


def simulate_snapshot() -> None:
    """Run the before-snapshot hooks, as SnapStart does before taking the snapshot.

    Raises:
        LifecycleHookError: One or more hooks raised.
    """
    lifecycle._run_hooks("before_snapshot")


def simulate_restore() -> None:
    """Restore: the next invocation is a cold start again, then after-restore hooks run.

    The restore generation moves on (:func:`lambda_kit.lifecycle.restore_generation`):
    sessions drop their pools on first use; ``aws`` clients keep their identity (the
    object a module variable holds) with their connections closed; cached secrets are
    marked stale and refetched; what was warmed with ``preconnect``/``warm()`` is warmed
    again, in parallel and within :data:`lambda_kit.lifecycle.RESTORE_WARM_BUDGET`.

    Raises:
        LifecycleHookError: One or more hooks raised.
    """
    lifecycle._run_hooks("after_restore")


def reset_lifecycle() -> None:
    """Forget all invocations and registered hooks: a fresh execution environment.

    lambda-kit's own sessions, client caches and secrets need no hook (they follow the
    restore generation, which keeps counting), so a later :func:`simulate_restore` still
    renews, refetches and re-warms them.
    """
    lifecycle._reset_for_tests()
