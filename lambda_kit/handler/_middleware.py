"""Middleware: decorators of a Lambda handler, composed around an adapter (internal).

A middleware takes a handler ``(event, context) -> response`` and returns one with
the same signature; :func:`compose` applies a list of them, the first listed
outermost, which is what every adapter's ``middleware=`` argument does::

    handler = sqs(core, middleware=[metrics.log_metrics(capture_cold_start_metric=True),
                                    request_id_logging, timeout_guard(0.5)])

Two ship here: :func:`request_id_logging` (every log record of the invocation carries
``aws_request_id``) and :func:`timeout_guard` (a warning while there is still time to
flush).
"""

from __future__ import annotations

import functools
import logging
import threading

from lambda_kit import lifecycle

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any, TypeAlias, TypeVar

    Handler: TypeAlias = Callable[[Any, Any], Any]
    Middleware: TypeAlias = Callable[[Handler], Handler]
    H = TypeVar("H", bound=Callable[..., Any])

__all__ = ["compose", "request_id_logging", "timeout_guard"]


def compose(handler: H, middleware: Sequence[Middleware] = ()) -> H:
    """Wrap ``handler`` in ``middleware``; the first one listed is the outermost.

    Example:
        >>> def handler(event, context):
        ...     return event
        >>> compose(handler) is handler
        True
    """
    for step in reversed(middleware):
        handler = step(handler)  # type: ignore[assignment]  # a middleware keeps the signature
    return handler


_logging_installed = False
_logging_lock = threading.Lock()


def request_id_logging(handler: H) -> H:
    """Middleware: every log record made during an invocation carries ``aws_request_id``.

    Installs (once) a log-record factory that sets the attribute from
    :func:`lambda_kit.lifecycle.current_request_id`, for JSON formatters and filters.
    """
    global _logging_installed
    with _logging_lock:
        if not _logging_installed:
            previous = logging.getLogRecordFactory()

            def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
                record = previous(*args, **kwargs)
                record.aws_request_id = lifecycle.current_request_id()
                return record

            logging.setLogRecordFactory(factory)
            _logging_installed = True

    @functools.wraps(handler)
    def wrapper(event: Any, context: Any) -> Any:
        token = lifecycle.start_invocation_for(context)
        try:
            return handler(event, context)
        finally:
            lifecycle.end_invocation(token)

    return wrapper  # type: ignore[return-value]  # same signature


def timeout_guard(margin: float = 0.5) -> Middleware:
    """Middleware: log a warning when an invocation is ``margin`` seconds from its timeout.

    Python cannot safely interrupt a running handler, so the guard warns (with the
    request id) while there is still time to flush logs and metrics; pair it with
    deadline-aware clients such as :class:`lambda_kit.http.Session`.

    Args:
        margin: Seconds before the timeout at which to warn (a finite number >= 0).

    Raises:
        ConfigurationError: ``margin`` is negative, not finite or not a number.

    Example:
        >>> guard = timeout_guard(margin=0.5)
    """
    from lambda_kit._config import seconds

    seconds(allow_zero=True).validate("margin", margin)

    def middleware(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def wrapper(event: Any, context: Any) -> Any:
            remaining = getattr(context, "get_remaining_time_in_millis", None)
            timer = None
            if callable(remaining):
                request_id = getattr(context, "aws_request_id", "-")
                delay = max(0.0, remaining() / 1000.0 - margin)
                timer = threading.Timer(delay, _warn_timeout, args=(request_id, margin))
                timer.daemon = True
                timer.start()
            try:
                return handler(event, context)
            finally:
                if timer is not None:
                    timer.cancel()

        return wrapper

    return middleware


def _warn_timeout(request_id: str, margin: float) -> None:
    logging.getLogger("lambda_kit.handler").warning(
        "Invocation %s is within %.2f s of its timeout and still running", request_id, margin
    )
