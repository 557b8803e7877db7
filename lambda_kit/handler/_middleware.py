"""Middleware: decorators of a Lambda handler, composed around an adapter (internal).

A middleware takes a handler ``(event, context) -> response`` and returns one with
the same signature; :func:`compose` applies a list of them, the first listed
outermost, which is what every adapter's ``middleware=`` argument does::

    handler = sqs(core, middleware=[metrics.log_metrics(capture_cold_start_metric=True),
                                    request_id_logging, timeout_guard(0.5)])

Two ship here: :func:`request_id_logging` (every log record of the invocation carries
``aws_request_id``) and :func:`timeout_guard` (a warning while there is still time to
flush). Both import ``logging`` / ``threading`` on first use only.
"""

from __future__ import annotations

import _thread  # not threading: `import lambda_kit.handler` must not load it (tests/test_imports.py)

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
_logging_lock = _thread.allocate_lock()


def request_id_logging(handler: H) -> H:
    """Middleware: every log record made during an invocation carries ``aws_request_id``.

    Installs (once) a log-record factory that sets the attribute from
    :func:`lambda_kit.lifecycle.current_request_id`, for JSON formatters and filters.
    """
    global _logging_installed
    import functools
    import logging

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


def timeout_guard(margin_s: float = 0.5) -> Middleware:
    """Middleware: log a warning when an invocation is ``margin_s`` from its timeout.

    Python cannot safely interrupt a running handler, so the guard warns (with the
    request id) while there is still time to flush logs and metrics; pair it with
    deadline-aware clients such as :class:`lambda_kit.http.Session`.

    Raises:
        ConfigurationError: ``margin_s`` is negative or not a number.
    """
    if not margin_s >= 0:
        from lambda_kit.exceptions import ConfigurationError

        raise ConfigurationError(
            f"Invalid margin_s={margin_s}; expected a number of seconds >= 0.", setting="margin_s"
        )

    def middleware(handler: Handler) -> Handler:
        import functools
        import threading

        @functools.wraps(handler)
        def wrapper(event: Any, context: Any) -> Any:
            remaining = getattr(context, "get_remaining_time_in_millis", None)
            timer = None
            if callable(remaining):
                request_id = getattr(context, "aws_request_id", "-")
                delay = max(0.0, remaining() / 1000.0 - margin_s)
                timer = threading.Timer(delay, _warn_timeout, args=(request_id, margin_s))
                timer.daemon = True
                timer.start()
            try:
                return handler(event, context)
            finally:
                if timer is not None:
                    timer.cancel()

        return wrapper

    return middleware


def _warn_timeout(request_id: str, margin_s: float) -> None:
    import logging

    logging.getLogger("lambda_kit.handler").warning(
        "Invocation %s is within %.2f s of its timeout and still running", request_id, margin_s
    )
