"""The execution-environment lifecycle that lambda-kit's modules share.

Lambda runs a handler in an *execution environment*: one process that is
initialised once (INIT: the handler module is imported), then serves many
invocations, frozen between them. The first invocation of an environment is its
*cold start*; every later one is warm. With SnapStart, INIT runs once, the memory
is snapshotted, and many environments are *restored* from that snapshot, so
anything unique or connected (random seeds, sockets, credentials) made during INIT
must be rebuilt after a restore.

This module tracks both:

* :func:`is_cold_start` is ``True`` exactly during the first invocation of the
  environment (also when that invocation raises) and ``False`` in every later one.
  Invocations are marked by lambda-kit's handler decorators, or by wrapping the
  handler in :func:`track_invocations` yourself.
* :func:`on_before_snapshot` and :func:`on_after_restore` register hooks. They run
  through ``snapshot_restore_py`` where it is importable (the Lambda Python 3.12+
  runtime ships it) and are kept in a local registry in every case, so tests can
  fire them with :func:`lambda_kit.testing.simulate_snapshot` and
  :func:`lambda_kit.testing.simulate_restore`. lambda-kit's caches and pools use
  these hooks to reset themselves after a restore. After a restore, the next
  invocation counts as a cold start again: it is the first of a new environment.

Example:
    >>> from lambda_kit import lifecycle
    >>> @lifecycle.on_after_restore
    ... def reconnect() -> None:
    ...     ...
    >>> @lifecycle.track_invocations
    ... def handler(event: dict, context: object) -> dict:
    ...     return {"cold": lifecycle.is_cold_start()}
"""

from __future__ import annotations

import _thread  # threading's Lock without importing threading (~1-4 ms)
import contextvars
import itertools
import time

from lambda_kit._util import is_coroutine_function

TYPE_CHECKING = False  # typing costs ~10 ms to import; annotations need none of it
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, Literal, ParamSpec, TypeAlias, TypeVar

    P = ParamSpec("P")
    R = TypeVar("R")
    Hook = TypeVar("Hook", bound=Callable[[], object])
    Phase: TypeAlias = Literal["before_snapshot", "after_restore"]

__all__ = [
    "InvocationToken",
    "current_request_id",
    "end_invocation",
    "is_cold_start",
    "on_after_restore",
    "on_before_snapshot",
    "remaining_time",
    "start_invocation",
    "start_invocation_for",
    "track_invocations",
]

_lock = _thread.allocate_lock()
# The environment's first invocation (its context-variable entry); None until one starts.
# Identity, not the request id: Lambda retries a failed asynchronous invocation with the
# same request id, and a retry in the same environment is a warm invocation.
_first: tuple[str, float | None, object] | None = None  # the first invocation, by identity
# (request id, time.monotonic() deadline or None) of the invocation running in this
# thread / task: Lambda Managed Instances run several invocations in one process.
# One context variable, so starting an invocation is one set() and one reset().
_current: contextvars.ContextVar[tuple[str, float | None, object] | None] = contextvars.ContextVar(
    "lambda_kit_invocation", default=None
)
_anonymous_ids = itertools.count(1)

_hooks: dict[Phase, list[Callable[[], object]]] = {
    "before_snapshot": [],
    "after_restore": [],
}
_runtime_registered = False


if TYPE_CHECKING:
    InvocationToken: TypeAlias = contextvars.Token[tuple[str, float | None, object] | None]
else:
    InvocationToken = contextvars.Token  # what start_invocation returns, end_invocation takes


def start_invocation(request_id: str | None = None, *, remaining_ms: float | None = None) -> InvocationToken:
    """Mark the start of an invocation in the current thread or task.

    The first request id ever started is the environment's cold start. Starting the
    same request id twice (two lambda-kit decorators on one handler) counts once.

    Args:
        request_id: ``context.aws_request_id``; ``None`` (no context, as in some
            unit tests) gets a unique local id.
        remaining_ms: ``context.get_remaining_time_in_millis()`` at the start; it
            sets the deadline that :func:`remaining_time` counts down to.

    Returns:
        A token for :func:`end_invocation`.
    """
    if request_id is None:
        request_id = f"local-{next(_anonymous_ids)}"
    deadline = None if remaining_ms is None else time.monotonic() + remaining_ms / 1000.0
    return _enter((request_id, deadline, None))


def _enter(entry: tuple[str, float | None, object]) -> InvocationToken:
    """Make ``entry`` the current invocation; the first ever entered is the cold start.

    A second lambda-kit decorator on the same handler enters the same request id while
    the first is still current: that is the same invocation, so its entry is reused.
    """
    global _first
    current = _current.get()
    if current is not None and current[0] == entry[0]:
        return _current.set(current)
    if _first is None:  # checked again under the lock; warm invocations skip it
        with _lock:
            if _first is None:
                _first = entry
    return _current.set(entry)


def end_invocation(token: InvocationToken) -> None:
    """Mark the end of the invocation that :func:`start_invocation` returned ``token`` for."""
    _current.reset(token)


def current_request_id() -> str | None:
    """The request id of the invocation running in this thread or task, if any."""
    current = _current.get()
    return None if current is None else current[0]


def remaining_time() -> float | None:
    """Seconds left before the current invocation's deadline, or ``None`` if unknown.

    Known inside a handler wrapped by :func:`track_invocations` (or any lambda-kit
    handler decorator) that received a Lambda context. Never negative.
    """
    current = _current.get()
    if current is None:
        return None
    _, deadline, context = current
    if deadline is not None:
        return max(0.0, deadline - time.monotonic())
    if context is None:
        return None
    try:  # read from the context on demand: most invocations never ask
        value = context.get_remaining_time_in_millis()  # type: ignore[attr-defined]
    except Exception:  # no usable clock on this context: no deadline
        return None
    if not isinstance(value, (int, float)) or value != value:  # not a number, or NaN
        return None
    return max(0.0, value / 1000.0)


def is_cold_start() -> bool:
    """Whether the current invocation is the first of this execution environment.

    Returns ``True`` during INIT and during the first invocation (whether it
    succeeds or raises), ``False`` in every later invocation, and ``False`` in a
    thread that is not running an invocation once the first one has started.
    """
    first = _first
    return first is None or _current.get() is first


def start_invocation_for(context: object) -> InvocationToken:
    """:func:`start_invocation` with the request id and deadline read from a Lambda context.

    Anything without ``aws_request_id`` / ``get_remaining_time_in_millis`` (``None``
    in a unit test, say) is accepted: the invocation then has a local id and no
    deadline.
    """
    global _first
    request_id = getattr(context, "aws_request_id", None)
    if type(request_id) is not str:
        return start_invocation(None)
    # _enter, inlined: this runs on every invocation of every lambda-kit handler.
    current = _current.get()
    if current is not None and current[0] == request_id:
        return _current.set(current)
    entry = (request_id, None, context)  # the deadline is read only when remaining_time() asks
    if _first is None:
        with _lock:
            if _first is None:
                _first = entry
    return _current.set(entry)


def track_invocations(handler: Callable[P, R]) -> Callable[P, R]:
    """Decorate a Lambda handler so that :func:`is_cold_start` knows its invocations.

    lambda-kit's own handler decorators do this already; use it on a plain handler.
    Works on sync and async handlers. Also registers lambda-kit's SnapStart
    dispatcher during INIT, so a restored environment starts cold again.
    """
    return wrap_invocation(handler)


def wrap_invocation(
    handler: Callable[P, R],
    *,
    on_start: Callable[[object], None] | None = None,
    on_finish: Callable[[], None] | None = None,
) -> Callable[P, R]:
    """Wrap a sync or async handler ``(event, context)`` in an invocation (internal building block).

    The invocation starts before ``on_start(context)`` and ends after ``on_finish()``,
    which runs in ``finally`` (also when the handler raises). If ``on_start`` raises,
    the invocation ends and the error propagates without calling the handler.
    """
    import functools

    _ensure_runtime_hooks()

    def start(args: tuple[Any, ...], kwargs: dict[str, Any]) -> InvocationToken:
        context = kwargs.get("context", args[1] if len(args) > 1 else None)
        token = start_invocation_for(context)
        if on_start is not None:
            try:
                on_start(context)
            except BaseException:
                end_invocation(token)
                raise
        return token

    def finish(token: InvocationToken) -> None:
        try:
            if on_finish is not None:
                on_finish()
        finally:
            end_invocation(token)

    if is_coroutine_function(handler):

        @functools.wraps(handler)
        async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
            token = start(args, kwargs)
            try:
                return await handler(*args, **kwargs)  # type: ignore[misc]  # R is an awaitable here
            finally:
                finish(token)

        return async_wrapper  # type: ignore[return-value]  # same signature, async

    @functools.wraps(handler)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        token = start(args, kwargs)
        try:
            return handler(*args, **kwargs)
        finally:
            finish(token)

    return wrapper


def on_before_snapshot(hook: Hook) -> Hook:
    """Register ``hook`` to run before a SnapStart snapshot is taken (a decorator too).

    Hooks run in registration order. Use it to close connections and drop state that
    must not be copied into every restored environment.
    """
    return _register("before_snapshot", hook)


def on_after_restore(hook: Hook) -> Hook:
    """Register ``hook`` to run after an environment is restored from a snapshot.

    Hooks run in registration order, after lambda-kit has reset its cold-start
    tracking. Use it to reconnect, refetch secrets and reseed randomness. On Lambda,
    restore plus all after-restore hooks must finish within 10 seconds.
    """
    return _register("after_restore", hook)


def _register(phase: Phase, hook: Hook) -> Hook:
    if not callable(hook):
        raise TypeError(f"A {phase} hook must be callable, got {type(hook).__name__}.")
    with _lock:
        _hooks[phase].append(hook)
    _ensure_runtime_hooks()
    return hook


def _ensure_runtime_hooks() -> None:
    """Register lambda-kit's two dispatchers with the SnapStart runtime, once."""
    global _runtime_registered
    with _lock:
        if _runtime_registered:
            return
        _runtime_registered = True
    import os

    # Only a SnapStart function ever snapshots; elsewhere importing the module would
    # only cost INIT time (it pulls in typing and re, ~15 ms).
    if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") != "snap-start":
        return
    try:
        import snapshot_restore_py
    except ImportError:  # not on Lambda's SnapStart runtime: the local registry serves
        return
    snapshot_restore_py.register_before_snapshot(_run_hooks, "before_snapshot")
    snapshot_restore_py.register_after_restore(_run_hooks, "after_restore")


def _run_hooks(phase: Phase) -> None:
    """Run every hook of ``phase``; raise :class:`LifecycleHookError` if any failed.

    Every hook runs even when an earlier one raised, so one broken pool cannot stop
    the others from reconnecting.
    """
    global _first
    if phase == "after_restore":
        with _lock:
            _first = None
    with _lock:
        hooks = list(_hooks[phase])
    failures: list[BaseException] = []
    for hook in hooks:
        try:
            hook()
        except Exception as error:  # collected and re-raised below
            failures.append(error)
    if failures:
        from lambda_kit.exceptions import LifecycleHookError  # loaded only when a hook failed

        names = ", ".join(type(error).__name__ for error in failures)
        raise LifecycleHookError(
            f"{len(failures)} of {len(hooks)} {phase} hooks raised ({names}); "
            "every hook must complete for the environment to be usable.",
            phase=phase,
            failures=len(failures),
        ) from failures[0]


def _reset_for_tests() -> None:
    """Forget every invocation and hook (used by lambda_kit.testing)."""
    global _first, _runtime_registered
    with _lock:
        _first = None
        _runtime_registered = False
        for hooks in _hooks.values():
            hooks.clear()
